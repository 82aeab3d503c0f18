"""Open a session with its banner, then run it interactively or as a batch (`-c`, `--script`)."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from beamshell import __version__
from beamshell.shell.background_errors import report_background_failures
from beamshell.shell.interrupt import CommandRunner
from beamshell.shell.typing_helper import apply_typing_helper

EXIT_COMMAND_FAILED = 1
EXIT_INTERRUPTED = 130


def banner_header(config_dir: Path, redis_url: str, key_prefix: str = "") -> list[str]:
    """The banner's first lines: what is running, with which configuration and Redis.

    The Redis URL is shown with its password masked (beamline screens are shared).
    """
    from beamshell.config.redis_access import mask_secrets

    keys = f" (keys under '{key_prefix}')" if key_prefix else ""
    return [
        f"beamshell {__version__}",
        f"configuration: {config_dir}",
        f"Redis: {mask_secrets(redis_url)}{keys}",
        "",
    ]


def open_session(name: str, config_dir: Path, show_banner: bool = True, out: TextIO | None = None):
    """Load session `name`; with the banner, print its header and each loading message live.

    Failures while loading (an object, the setup file) never stop the session; they are
    printed even without the banner, on stderr.
    """
    from beamshell.config.redis_server import connect, resolve_redis_url
    from beamshell.sessions import load_session

    out = out or sys.stdout
    redis_url = resolve_redis_url(config_dir)
    # Unreachable, credentials refused: one line naming the URL, before any banner.
    client = connect(redis_url, config_dir=config_dir)
    key_prefix = client.key_prefix
    client.close()
    if show_banner:
        out.write("\n".join(banner_header(config_dir, redis_url, key_prefix)) + "\n")
        out.flush()
    session = load_session(name, config_dir, redis_url=redis_url, out=out if show_banner else None)
    if not show_banner:
        for line in session.load_report:
            if line.startswith("ERROR"):
                print(line, file=sys.stderr)
    return session


def run_interactive(session: Any) -> int:
    """The prompt, until the operator leaves."""
    from beamshell.shell.history import history_file
    from beamshell.shell.repl import run_repl
    from beamshell.shell.terminal_stream import TerminalStreams

    runner = CommandRunner()
    runner.install()
    restore = report_background_failures(session.error_history)
    try:
        with TerminalStreams():  # no greenlet ever blocks on a terminal that stopped reading
            run_repl(session, str(history_file(session.name)), runner)
    finally:
        restore()
    return 0


def compile_commands(source: str):
    """Code for `-c`: statements run in order, and each expression's value is printed."""
    tree = ast.parse(source, "<-c>")
    return compile(ast.Interactive(body=tree.body), "<-c>", "single")


def _report(session: Any, exc: BaseException) -> None:
    session.error_history.record(type(exc), exc, exc.__traceback__)
    print(session.error_history.format_short(exc), file=sys.stderr, flush=True)


def run_batch(session: Any, script: str | None = None, commands: str | None = None) -> int:
    """Run a macro file or a command string without a prompt; non-zero exit if it fails."""
    runner = CommandRunner()
    runner.install()
    restore = report_background_failures(session.error_history)
    namespace = session.env_dict
    try:
        if script is not None:
            path = Path(script).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"no script file {os.fspath(path)}")
            runner.run(session.user_script_run, path)
        else:
            runner.run(exec, compile_commands(apply_typing_helper(commands, namespace)), namespace)
    except KeyboardInterrupt as exc:
        _report(session, exc)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the macro's own error: one short line, like at the prompt
        _report(session, exc)
        return EXIT_COMMAND_FAILED
    finally:
        restore()
        sys.stdout.flush()
    return 0
