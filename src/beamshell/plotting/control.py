"""Starting, finding and stopping a session's plot server (from the shell or a terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beamshell.config.daemon import SessionDaemon
from beamshell.plotting.settings import check_listen_address, check_port, read_settings

MODULE = "beamshell.plotting"


def plot_daemon(session: str, config_dir: Path) -> SessionDaemon:
    """The detached plot server of one session of one configuration."""
    return SessionDaemon(kind="plot", module=MODULE, session=session, config_dir=Path(config_dir))


def start_plot_server(
    session: str,
    config_dir: Path,
    *,
    port: int | None = None,
    host: str | None = None,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Start the session's plot server unless it runs; its status (with `url`) once ready.

    `started` in the answer says whether this call started it. A non-loopback `host` is
    refused here, before anything starts, unless the configuration allows it.
    """
    daemon = plot_daemon(session, config_dir)
    status = daemon.status()
    if status.get("url"):
        return {**status, "started": False}
    settings = read_settings(config_dir)
    check_listen_address(host or settings.host, settings.allow_remote, config_dir)
    args: list[str] = []
    if host:
        args += ["--host", host]
    if port is not None:
        args += ["--port", str(check_port(port))]
    if redis_url:
        args += ["--redis-url", redis_url]
    daemon.start(args)
    return {**daemon.status(), "started": True}


def plot_status(session: str, config_dir: Path) -> dict[str, Any]:
    """`running`, and while it runs `url`, `pid`, `log`."""
    return plot_daemon(session, config_dir).status()


def stop_plot_server(session: str, config_dir: Path) -> bool:
    """Stop it; False if it was not running."""
    return plot_daemon(session, config_dir).stop()


OPENED = {
    "window": "opened in a plot window (its browser runs at low priority: a scan on this "
    "computer keeps its cores)",
    "browser": "opened in your browser",
}


def open_page(session: str, config_dir: Path, url: str) -> str:
    """Open the session's page on this desktop, if there is one; what to tell the operator
    (empty if nothing was opened). See plotting/window.py."""
    from beamshell.plotting.window import open_plot_window

    profile = plot_daemon(session, config_dir).run_dir / "plot-browser"
    return OPENED.get(open_plot_window(url, profile), "")
