"""The writer's command line: run it here, or start, stop and query the detached one."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from beamshell.config.daemon import SessionDaemon

EXIT_ALREADY_RUNNING = 4
EXIT_NOT_RUNNING = 3


def writer_daemon(session: str, config_dir: Path) -> SessionDaemon:
    """The detached writer process of one session."""
    from beamshell.config.daemon import session_daemon

    return session_daemon("writer", session, config_dir)


def build_parser(prog: str = "beamshell writer") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="The HDF5/NeXus writer of a session: 'run' writes in this process, "
        "'start' in a detached one; 'stop' and 'status' act on the detached one.",
    )
    parser.add_argument(
        "action", nargs="?", default="run", choices=["run", "start", "stop", "status"]
    )
    parser.add_argument("-s", "--session", metavar="NAME", required=True)
    parser.add_argument("--config", metavar="DIR", help="configuration directory")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "beamshell writer") -> int:
    args = build_parser(prog).parse_args(argv)
    from beamshell.config.static import resolve_config_dir
    from beamshell.errors import BeamshellError

    try:
        config_dir = resolve_config_dir(args.config)
        if args.action == "run":
            return _run(args.session, config_dir, args.ready_fd)
        return _control(args.action, args.session, config_dir)
    except BeamshellError as exc:
        print(f"beamshell writer: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _control(action: str, session: str, config_dir: Path) -> int:
    daemon = writer_daemon(session, config_dir)
    if action == "start":
        pid = daemon.start()
        print(f"writer of session '{session}' running (pid {pid}, log {daemon.log_file})")
        return 0
    if action == "stop":
        if daemon.stop():
            print(f"writer of session '{session}' stopped")
        else:
            print(f"writer of session '{session}' was not running")
        return 0
    status = daemon.status()
    if status["running"]:
        print(
            f"writer of session '{session}' running (pid {status.get('pid')}, log {status['log']})"
        )
        return 0
    print(f"writer of session '{session}' is not running (log {status['log']})")
    return EXIT_NOT_RUNNING


def _run(session: str, config_dir: Path, ready_fd: int | None) -> int:
    """Write the session's files in this process until SIGTERM, SIGINT or SIGHUP."""
    from gevent import monkey

    monkey.patch_all(thread=False)
    import signal

    import gevent
    import redis

    from beamshell.config.daemon import DaemonAlreadyRunning, signal_ready
    from beamshell.config.logs import log_to_file
    from beamshell.config.redis_server import connect, resolve_redis_url
    from beamshell.data.connection import describe_url
    from beamshell.data.writer_status import STARTED, STOPPED, WriterClaimed, WriterVoice
    from beamshell.writer.service import WriterService

    daemon = writer_daemon(session, config_dir)
    log_to_file(daemon.log_file)
    if sys.stderr.isatty():
        logging.getLogger("beamshell").addHandler(logging.StreamHandler())
    log = logging.getLogger("beamshell.writer")
    # The session that starts the writer passes its Redis in BEAMSHELL_REDIS_URL (never on
    # the command line: it may hold a password); the password and key prefix come from the
    # configuration as for any process.
    connection = connect(resolve_redis_url(config_dir), config_dir=config_dir)
    url = describe_url(connection)
    voice = WriterVoice(connection, session, log=str(daemon.log_file))
    try:
        with daemon.hold({"session": session, "redis": url, "log": str(daemon.log_file)}):
            try:
                voice.claim()
            except WriterClaimed as exc:
                print(f"beamshell writer: {exc}", file=sys.stderr)
                return EXIT_ALREADY_RUNNING
            service = WriterService(session, connection, voice)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                gevent.signal_handler(signum, service.stop)
            log.info("writer of session %s started (pid %d, Redis %s)", session, os.getpid(), url)
            voice.report(STARTED, f"writer started (pid {os.getpid()})")
            signal_ready(ready_fd)
            try:
                service.run()
            finally:
                log.info("writer of session %s stopping", session)
                try:
                    voice.release()
                    voice.report(STOPPED, "writer stopped")
                except (redis.RedisError, OSError) as exc:  # Redis gone: the claim expires
                    log.warning("claim not released: %s", exc)
    except DaemonAlreadyRunning as exc:
        print(f"beamshell writer: {exc}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    return 0
