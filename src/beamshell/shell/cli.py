"""The `beamshell` command line: open a session, run a macro, manage the server, listen to data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from beamshell.errors import BeamshellError


def _server_command(args: argparse.Namespace) -> int:
    from beamshell.config.redis_server import EmbeddedRedis, configured_redis_url
    from beamshell.config.static import resolve_config_dir

    config_dir = resolve_config_dir(args.config)
    site_url = configured_redis_url(config_dir)
    if site_url and args.action != "status":
        print(
            f"Redis is configured at {site_url}: beamshell starts no server for this configuration"
        )
        return 1
    server = EmbeddedRedis(config_dir)
    if args.action == "start":
        url = server.start()
        print(f"Redis running at {url} (pid {server.pid()}, data in {server.data_dir})")
    elif args.action == "stop":
        if server.stop():
            print(f"Redis for {config_dir} stopped")
        else:
            print(f"Redis for {config_dir} was not running")
    else:
        if site_url:
            from beamshell.config.redis_server import connect

            connect(site_url).close()
            print(f"Redis configured at {site_url}: reachable")
            return 0
        status = server.status()
        if status["running"]:
            print(
                f"Redis running at {status['url']} (pid {status['pid']}, data in {status['data_dir']})"
            )
        else:
            print(f"Redis for {config_dir} is not running (it would listen at {status['url']})")
            return 3
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beamshell", description=__doc__)
    parser.add_argument(
        "--config",
        metavar="DIR",
        help="configuration directory (default: $BEAMSHELL_CONFIG, else the demo)",
    )
    sub = parser.add_subparsers(dest="command")
    server = sub.add_parser("server", help="start, stop or query the embedded Redis server")
    server.add_argument("action", choices=["start", "stop", "status"])
    server.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS)
    server.set_defaults(handler=_server_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except BeamshellError as exc:
        print(f"beamshell: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
