"""The plot server process: holds the session's lock, serves the page, follows Redis."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer

from beamshell.config import logs
from beamshell.config.daemon import DaemonAlreadyRunning, SessionDaemon, signal_ready
from beamshell.errors import BeamshellError
from beamshell.plotting.control import plot_daemon
from beamshell.plotting.follower import SessionFollower
from beamshell.plotting.model import SessionModel
from beamshell.plotting.server import PlotApp
from beamshell.plotting.settings import check_listen_address, check_port, read_settings

log = logging.getLogger("beamshell.plotting")

# The server and its pages serve people watching; a scan on the same machine must not wait
# for them. Lower priority costs viewers a few milliseconds only when the CPU is busy.
NICENESS = 10


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m beamshell.plotting", description=__doc__)
    parser.add_argument("action", choices=["run"])
    parser.add_argument("-s", "--session", required=True)
    parser.add_argument("--config", required=True, metavar="DIR")
    parser.add_argument(
        "--ready-fd", type=int, metavar="N", help="write 'ready' there when serving"
    )
    parser.add_argument("--host", help="address to listen on (default: the config's, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: the config's, else the last one)")
    parser.add_argument("--redis-url", help="the session's Redis (default: as the config says)")
    return parser


def _secret_file(daemon: SessionDaemon) -> Path:
    return daemon.run_dir / f"plot-{daemon.session}.secret"


def load_secret(daemon: SessionDaemon) -> dict[str, Any]:
    """The session's token (and last port), kept so that an open page survives a restart."""
    path = _secret_file(daemon)
    try:
        record = json.loads(path.read_text())
        if (
            isinstance(record, dict)
            and isinstance(record.get("token"), str)
            and len(record["token"]) >= 32
        ):
            return record
    except (OSError, ValueError):
        pass
    return {"token": secrets.token_urlsafe(32)}


def save_secret(daemon: SessionDaemon, record: dict[str, Any]) -> None:
    path = _secret_file(daemon)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out)
    os.replace(tmp, path)


def url_host(host: str) -> str:
    """How the URL names the server: the machine's name for a wildcard address."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def bind(app: PlotApp, host: str, port: int, remembered: int | None) -> WSGIServer:
    """A listening server: on `port`, else on the remembered port if free, else any port."""
    candidates = [port] if port else ([remembered, 0] if remembered else [0])
    for index, candidate in enumerate(candidates):
        server = WSGIServer((host, candidate), app, log=None, error_log=log)
        try:
            server.init_socket()
            return server
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or index == len(candidates) - 1:
                raise BeamshellError(
                    f"plot server cannot listen on {host}:{candidate}: {exc}"
                ) from None
    raise AssertionError("unreachable")


def serve(args: argparse.Namespace, daemon: SessionDaemon) -> None:
    from beamshell.config.redis_server import connect, resolve_redis_url

    config_dir = Path(args.config)
    settings = read_settings(config_dir)
    host = args.host or settings.host
    port = check_port(args.port if args.port is not None else settings.port)
    check_listen_address(host, settings.allow_remote, config_dir)
    with daemon.hold():
        secret = load_secret(daemon)
        redis_url = args.redis_url or resolve_redis_url(config_dir)
        connection = connect(redis_url, config_dir=config_dir)  # its password, key prefix
        model = SessionModel(args.session)
        follower = SessionFollower(model, connection)
        app = PlotApp(model, follower, secret["token"])
        server = bind(app, host, port, secret.get("port"))
        actual_port = server.socket.getsockname()[1]
        save_secret(daemon, {"token": secret["token"], "port": actual_port})
        url = f"http://{url_host(host)}:{actual_port}/?token={secret['token']}"
        daemon.describe({"url": url, "host": host, "port": actual_port, "redis": redis_url})
        stop = gevent.event.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(signum, stop.set)
        follower.start()
        server.start()
        log.info("plot server of session %s serving on %s:%d", args.session, host, actual_port)
        signal_ready(args.ready_fd)
        stop.wait()
        log.info("plot server of session %s stopping", args.session)
        server.stop(timeout=1)
        follower.stop()
        with contextlib.suppress(Exception):
            connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    daemon = plot_daemon(args.session, Path(args.config))
    logs.log_to_file(daemon.log_file)
    try:
        serve(args, daemon)
    except DaemonAlreadyRunning as exc:
        print(f"beamshell plot: {exc}", file=sys.stderr)
        return 4
    except BeamshellError as exc:
        log.error("%s", exc)
        print(f"beamshell plot: {exc}", file=sys.stderr)
        return 2
    return 0
