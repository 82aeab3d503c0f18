"""Where the plot server listens: the config's `plot:` settings and the loopback rule."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from beamshell.errors import BeamshellError

DEFAULT_HOST = "127.0.0.1"
PLOT_KEYS = frozenset({"host", "port", "allow_remote"})


class PlotSettingsError(BeamshellError):
    """A bad `plot:` setting, or an address the plot server must not listen on."""


@dataclass(frozen=True)
class PlotSettings:
    """`plot:` of the root __init__.yml: host (127.0.0.1), port (0: any), allow_remote."""

    host: str = DEFAULT_HOST
    port: int = 0
    allow_remote: bool = False


def read_settings(config_dir: Path) -> PlotSettings:
    """The `plot:` mapping of `<config_dir>/__init__.yml` (defaults when absent)."""
    init = Path(config_dir) / "__init__.yml"
    if not init.is_file():
        return PlotSettings()
    from beamshell.config.yaml_loader import load_yaml_file

    data = load_yaml_file(str(init)) or {}
    plot = data.get("plot") if isinstance(data, dict) else None
    if plot is None:
        return PlotSettings()
    where = f"{init}: plot"
    if not isinstance(plot, dict):
        raise PlotSettingsError(f"{where}: expected a mapping of {', '.join(sorted(PLOT_KEYS))}")
    unknown = sorted(set(plot) - PLOT_KEYS)
    if unknown:
        raise PlotSettingsError(
            f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(PLOT_KEYS))})"
        )
    host = plot.get("host", DEFAULT_HOST)
    port = plot.get("port", 0)
    allow_remote = plot.get("allow_remote", False)
    if not isinstance(host, str) or not host:
        raise PlotSettingsError(f"{where}.host: expected an address, got {host!r}")
    if not isinstance(allow_remote, bool):
        raise PlotSettingsError(
            f"{where}.allow_remote: expected true or false, got {allow_remote!r}"
        )
    return PlotSettings(
        host=host, port=check_port(port, f"{where}.port"), allow_remote=allow_remote
    )


def check_port(port: object, where: str = "--port") -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise PlotSettingsError(f"{where}: expected a port number 0..65535, got {port!r}")
    return port


def is_loopback(host: str) -> bool:
    """True if every address `host` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise PlotSettingsError(f"plot server address '{host}' cannot be resolved: {exc}") from None
    addresses = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_listen_address(host: str, allow_remote: bool, config_dir: Path | None = None) -> None:
    """Refuse a non-loopback address unless the configuration allows it explicitly."""
    if is_loopback(host) or allow_remote:
        return
    where = f"{Path(config_dir) / '__init__.yml'}" if config_dir else "the root __init__.yml"
    raise PlotSettingsError(
        f"the plot server listens on loopback addresses only, not '{host}': anyone who can "
        f"reach it with the URL could watch the scans; to allow it, set "
        f"'plot: {{allow_remote: true}}' in {where}"
    )
