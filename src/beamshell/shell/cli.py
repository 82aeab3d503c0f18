"""The `beamshell` command line: open a session, run a macro, manage the server, listen to data."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from beamshell.errors import BeamshellError

# Type checkers honour this name as they do typing's: the command line does without importing
# `typing`, as `beamshell writer` passes through here before it starts the writer afresh.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def _server_command(args: argparse.Namespace) -> int:
    from beamshell.config.redis_access import mask_secrets
    from beamshell.config.redis_server import EmbeddedRedis, configured_redis_url
    from beamshell.config.static import resolve_config_dir

    config_dir = resolve_config_dir(args.config)
    site_url = configured_redis_url(config_dir)
    shown_url = mask_secrets(site_url or "")
    if site_url and args.action != "status":
        print(
            f"Redis is configured at {shown_url}: beamshell starts no server for this configuration"
        )
        return 1
    server = EmbeddedRedis(config_dir)
    if args.action == "start":
        url = server.start()
        print(
            f"Redis running at {url} (pid {server.pid()}, data in {server.data_dir}, "
            f"log {server.log_file})"
        )
    elif args.action == "stop":
        if server.stop():
            print(f"Redis for {config_dir} stopped")
        else:
            print(f"Redis for {config_dir} was not running")
    else:
        if site_url:
            from beamshell.config.redis_server import connect

            connect(site_url, config_dir=config_dir).close()
            print(f"Redis configured at {shown_url}: reachable")
            return 0
        status = server.status()
        if status["running"]:
            print(
                f"Redis running at {status['url']} (pid {status['pid']}, "
                f"data in {status['data_dir']}, log {status['log']})"
            )
        else:
            print(
                f"Redis for {config_dir} is not running (it would listen at {status['url']}; "
                f"its log: {status['log']})"
            )
            return 3
    return 0


def _plot_command(args: argparse.Namespace) -> int:
    from beamshell.plotting import control

    config_dir = _config_dir(args)
    session_name = args.session or _only_session(config_dir)
    if args.action == "stop":
        stopped = control.stop_plot_server(session_name, config_dir)
        print(
            f"plot server of session '{session_name}' {'stopped' if stopped else 'was not running'}"
        )
        return 0
    if args.action == "status":
        status = control.plot_status(session_name, config_dir)
        if not status.get("url"):
            print(f"plot server of session '{session_name}' is not running (log: {status['log']})")
            return 3
        print(f"plot server of session '{session_name}': {status['url']} (pid {status['pid']})")
        return 0
    status = control.start_plot_server(
        session_name, config_dir, port=args.port, host=args.host, redis_url=None
    )
    verb = "started" if status["started"] else "running"
    print(f"plot server of session '{session_name}' {verb}: {status['url']}")
    opened = "" if args.no_browser else control.open_page(session_name, config_dir, status["url"])
    if opened:
        print(opened)
    return 0


def _patch_gevent() -> None:
    """gevent everywhere, before the session's modules are imported (threads stay real)."""
    from gevent import monkey

    monkey.patch_all(thread=False)


def _config_dir(args: argparse.Namespace) -> Path:
    """The configuration directory, exported so code inside the session resolves the same."""
    from beamshell.config.static import CONFIG_ENV, resolve_config_dir

    config_dir = resolve_config_dir(args.config)
    os.environ[CONFIG_ENV] = str(config_dir)
    return config_dir


def _listen_command(args: argparse.Namespace) -> int:
    _patch_gevent()
    from beamshell.config.redis_server import connect, resolve_redis_url

    config_dir = _config_dir(args)
    session_name = args.session or _only_session(config_dir)
    redis_url = resolve_redis_url(config_dir)
    connect(redis_url, config_dir=config_dir).close()  # one clear line if Redis is not usable
    from beamshell.data.listen import run_listen

    return run_listen(session_name, redis_url, out=sys.stdout)


def _only_session(config_dir: Path) -> str:
    from beamshell.sessions import list_sessions

    names = list_sessions(config_dir)
    if len(names) == 1:
        return names[0]
    raise BeamshellError(
        f"choose a session with --session NAME (sessions in {config_dir}: {', '.join(names) or 'none'})"
    )


def _writer_command(argv: list[str]) -> int:
    """`beamshell writer ...`: the writer's own command line, in a process of its own for `run`."""
    action = next((a for a in argv if not a.startswith("-")), "run")
    if action == "run" and not {"-h", "--help"} & set(argv):
        # The writer imports no shell, hardware or scanning module: start it afresh.
        os.execv(sys.executable, [sys.executable, "-m", "beamshell.writer", *argv])
    from beamshell.writer.process import main as writer_main

    return writer_main(argv)


def _list_sessions_command(args: argparse.Namespace) -> int:
    from beamshell.sessions import list_sessions

    for name in list_sessions(_config_dir(args)):
        print(name)
    return 0


def _session_command(args: argparse.Namespace) -> int:
    _patch_gevent()
    from beamshell.shell.session_runner import (
        install_runner,
        open_session,
        run_batch,
        run_interactive,
    )

    config_dir = _config_dir(args)
    batch = args.script is not None or args.commands is not None
    presence = None
    if not batch:  # -c and --script may run beside an open shell
        from beamshell.config.redis_server import resolve_redis_url
        from beamshell.shell.presence import announce_shell

        presence = announce_shell(resolve_redis_url(config_dir), args.session, force=args.force)
        if presence.unchecked:
            print(f"beamshell: {presence.unchecked}", file=sys.stderr, flush=True)
        presence.keep()
    try:
        # From here on SIGTERM and SIGHUP stop what runs properly (scans end ABORTED,
        # presets' stop runs) instead of ending the process where it stands.
        runner = install_runner()
        session = open_session(args.session, config_dir, show_banner=not (args.no_banner or batch))
        try:
            if batch:
                return run_batch(session, script=args.script, commands=args.commands, runner=runner)
            return run_interactive(session, runner)
        finally:
            runner.on_idle_terminate = lambda: None  # closing: a late signal must not cut it
            session.close()  # the embedded Redis keeps running for other clients
    finally:
        if presence is not None:
            presence.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beamshell",
        description=__doc__,
        epilog="Examples: beamshell -s demo | beamshell -s demo -c 'wa' | beamshell server status",
    )
    parser.add_argument("-s", "--session", metavar="NAME", help="open this session's shell")
    parser.add_argument(
        "--config",
        metavar="DIR",
        help="configuration directory (default: $BEAMSHELL_CONFIG, else the demo)",
    )
    parser.add_argument(
        "--no-banner", action="store_true", help="start without the banner and loading messages"
    )
    parser.add_argument(
        "--list-sessions", action="store_true", help="print the configuration's sessions and exit"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="open the shell even if the session is open in another interactive shell",
    )
    run = parser.add_mutually_exclusive_group()
    run.add_argument("--script", metavar="FILE", help="run a macro file in the session, then exit")
    run.add_argument(
        "-c",
        dest="commands",
        metavar="COMMANDS",
        help="run these commands in the session, then exit",
    )
    sub = parser.add_subparsers(dest="command")
    server = sub.add_parser("server", help="start, stop or query the embedded Redis server")
    server.add_argument("action", choices=["start", "stop", "status"])
    server.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS)
    server.set_defaults(handler=_server_command)
    listen = sub.add_parser("listen", help="print the scans of a session as they are published")
    listen.add_argument("-s", "--session", metavar="NAME", default=argparse.SUPPRESS)
    listen.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS)
    listen.set_defaults(handler=_listen_command)
    writer = sub.add_parser(
        "writer",
        help="the HDF5 writer of a session: run|start|stop|status -s NAME [--config DIR]",
        add_help=False,
    )
    writer.add_argument("writer_args", nargs=argparse.REMAINDER)
    plot = sub.add_parser(
        "plot", help="the session's live plot page: start its server, or its status, or stop it"
    )
    plot.add_argument("action", nargs="?", choices=["start", "status", "stop"], default="start")
    plot.add_argument("-s", "--session", metavar="NAME", default=argparse.SUPPRESS)
    plot.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS)
    plot.add_argument("--port", type=int, help="port to listen on (default: any free one)")
    plot.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    plot.add_argument("--no-browser", action="store_true", help="only print the URL")
    plot.set_defaults(handler=_plot_command)
    return parser


def _choose_handler(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> Callable[[argparse.Namespace], int] | None:
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is not None:
        return handler
    if args.list_sessions:
        return _list_sessions_command
    if args.session:
        return _session_command
    if args.script is not None or args.commands is not None:
        parser.error("--script and -c need a session: -s NAME")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["writer"]:  # its own options and help: passed through whole
        return _writer_command(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = _choose_handler(parser, args)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except BeamshellError as exc:
        print(f"beamshell: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # SIGTERM or SIGHUP while the session was loading: 128 + signum, like a shell's kill.
        status: int = getattr(exc, "exit_status", 130)
        return status


if __name__ == "__main__":
    sys.exit(main())
