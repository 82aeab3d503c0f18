"""Open a session with its banner, then run it interactively or as a batch (`-c`, `--script`)."""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from beamshell import __version__
from beamshell.shell.background_errors import report_background_failures
from beamshell.shell.interrupt import CommandRunner, TerminatedBySignal
from beamshell.shell.typing_helper import apply_typing_helper

if TYPE_CHECKING:
    from types import CodeType

    from beamshell.sessions import Session

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


def open_session(
    name: str, config_dir: Path, show_banner: bool = True, out: TextIO | None = None
) -> Session:
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


def install_runner() -> CommandRunner:
    """The command runner, handling SIGINT, SIGTERM and SIGHUP from now on (main thread)."""
    runner = CommandRunner()
    runner.install()
    return runner


def run_interactive(session: Any, runner: CommandRunner | None = None) -> int:
    """The prompt, until the operator leaves (or a SIGTERM/SIGHUP: then 128 + signum)."""
    from beamshell.shell.history import history_file
    from beamshell.shell.repl import run_repl
    from beamshell.shell.terminal_stream import TerminalStreams

    runner = runner or install_runner()
    restore = report_background_failures(session.error_history)
    try:
        with TerminalStreams():  # no greenlet ever blocks on a terminal that stopped reading
            run_repl(session, str(history_file(session.name)), runner)
    finally:
        restore()
    if runner.exit_status is not None:
        _say_terminated(runner.terminated)
        return runner.exit_status
    return 0


def _say_terminated(signum: int | None) -> None:
    if signum is None:
        return
    try:  # the terminal may be gone (SIGHUP): nobody to tell then
        print(f"beamshell: {TerminatedBySignal(signum)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def compile_commands(source: str) -> CodeType:
    """Code for `-c`: statements run in order, and each expression's value is printed."""
    tree = ast.parse(source, "<-c>")
    return compile(ast.Interactive(body=tree.body), "<-c>", "single")


def macro_location(exc: BaseException, script: Path | None) -> str | None:
    """`file:line` of the macro code where `exc` was raised: the deepest frame outside
    beamshell and the Python installation (the script, a macro it loaded, `<-c>`)."""
    library_dirs = _library_dirs()
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if filename == "<-c>" or (script is not None and filename == str(script)):
            found = f"{filename}:{lineno}"
        elif not filename.startswith("<") and not filename.startswith(library_dirs):
            found = f"{filename}:{lineno}"
    if found is None and isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        found = f"{exc.filename}:{exc.lineno}"
    return found


def _library_dirs() -> tuple[str, ...]:
    import beamshell

    paths = sysconfig.get_paths()
    dirs = {str(Path(beamshell.__file__).parent)}
    dirs |= {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(os.path.join(d, "") for d in dirs)


def _report(session: Any, exc: BaseException, script: Path | None = None) -> None:
    """No prompt follows, so no `last_error()`: one line saying where, then the traceback.

    A Redis failure (server away, credentials or ACL refused) is the one line only: the
    line says all there is to fix, and the traceback would be redis-py's socket code.
    """
    from beamshell.errors import RedisAccessDenied, RedisUnreachable

    history = session.error_history
    history.record(type(exc), exc, exc.__traceback__)
    line = history.format_short(exc, hint=False)
    where = macro_location(exc, script)
    if where is not None:
        line = f"{line} at {where}"
    print(line, file=sys.stderr, flush=True)
    if not isinstance(history.explain(exc), RedisUnreachable | RedisAccessDenied):
        print(history.format_traceback(), file=sys.stderr, flush=True)


def run_batch(
    session: Any,
    script: str | None = None,
    commands: str | None = None,
    runner: CommandRunner | None = None,
) -> int:
    """Run a macro file or a command string without a prompt; non-zero exit if it fails
    (1; 130 after Ctrl-C; 128 + signum after SIGTERM or SIGHUP)."""
    runner = runner or install_runner()
    restore = report_background_failures(session.error_history)
    namespace = session.env_dict
    path = None
    try:
        if script is not None:
            path = Path(script).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"no script file {os.fspath(path)}")
            path = path.resolve()
            runner.run(session.user_script_run, path)
        elif commands is not None:
            runner.run(exec, compile_commands(apply_typing_helper(commands, namespace)), namespace)
    except TerminatedBySignal as exc:
        _say_terminated(exc.signum)  # no traceback: nothing went wrong in the macro
        return exc.exit_status
    except KeyboardInterrupt as exc:
        if runner.exit_status is not None:  # a signal landed while it was stopping
            _say_terminated(runner.terminated)
            return runner.exit_status
        _report(session, exc, path)
        return EXIT_INTERRUPTED
    except FileNotFoundError as exc:
        if path is None or not path.is_file():
            print(f"beamshell: {exc}", file=sys.stderr)  # no macro ran: nothing to trace
            return EXIT_COMMAND_FAILED
        _report(session, exc, path)
        return EXIT_COMMAND_FAILED
    except Exception as exc:  # the macro's own error
        _report(session, exc, path)
        return EXIT_COMMAND_FAILED
    finally:
        restore()
        runner.on_idle_terminate = lambda: None  # done: a late signal only sets the status
        sys.stdout.flush()
    return runner.exit_status or 0
