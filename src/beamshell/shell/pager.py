"""Long help texts (`help(ascan)`, `ascan?`) in a pager that has the terminal to itself.

A pager started while the command's toolbar holds the terminal in raw mode fights it for
the keys and the screen, and leaves the prompt drawn over what it displayed. Here the
toolbar steps aside first (as for `input()`), the pager runs in the terminal's ordinary
mode while greenlets go on (the wait is gevent's), and the toolbar and prompt are drawn
afresh once it has quit. A text that fits on the screen is simply printed.
"""

from __future__ import annotations

import os
import pydoc
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

# The prompt and the toolbar stay visible under a text this much shorter than the screen.
_ROOM_FOR_THE_PROMPT = 3
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")
_RAW_CONTROL_OPTION = re.compile(r"(?:^|\s)-\w*[rR]")


def pager_command() -> str | None:
    """`$MANPAGER` or `$PAGER` if set, else `less -R` if installed; None: print instead."""
    for variable in ("MANPAGER", "PAGER"):
        command = os.environ.get(variable, "").strip()
        if command:
            return command
    return "less -R" if shutil.which("less") else None


def for_pager(command: str, text: str) -> tuple[str, str]:
    """The command and text to run: IPython's help is coloured. `less` is asked to show the
    colours (-R, unless the operator chose -r/-R already); any other pager gets the text
    without colour codes, which it would show as stray `ESC[31m`."""
    try:
        program = os.path.basename(shlex.split(command)[0])
    except (ValueError, IndexError):
        program = ""
    if program == "less":
        chosen = _RAW_CONTROL_OPTION.search(command) or "r" in os.environ.get("LESS", "").lower()
        return (command if chosen else f"{command} -R"), text
    return command, _COLOURS.sub("", text)


def _fits_on_screen(text: str) -> bool:
    """Would `text` show whole, long lines wrapped, with the prompt still in view?"""
    columns, rows = shutil.get_terminal_size(fallback=(80, 24))
    plain = pydoc.plain(text)
    needed = sum(max(1, -(-len(line) // max(columns, 1))) for line in plain.split("\n"))
    return needed <= rows - _ROOM_FOR_THE_PROMPT


def _to_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def make_pager(
    release_terminal: Callable[[], AbstractContextManager[object]],
) -> Callable[..., None]:
    """A replacement for `pydoc.pager(text, title="")` (also used for IPython's `obj?`)."""

    def page(text: str, title: str = "") -> None:
        command = pager_command()
        if command is None or _fits_on_screen(text) or not _to_terminal():
            print(pydoc.plain(text))
            return
        command, text = for_pager(command, text)
        with release_terminal():
            sys.stdout.flush()
            # The pager draws on the terminal itself; it reads the text from a pipe. The
            # command string comes from the operator's own environment, as for pydoc.
            process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE)
            try:
                process.communicate(text.encode(errors="replace"))
            except BrokenPipeError:
                pass  # quit before reading everything: nothing more to show
            except BaseException:
                process.kill()  # Ctrl-C in the command: the pager goes with it
                process.wait()
                raise

    return page


@contextmanager
def paged_help(release_terminal: Callable[[], AbstractContextManager[object]]) -> Iterator[None]:
    """Replace pydoc's pager (what `help(obj)` uses) for the duration of the block."""
    original = pydoc.pager
    pydoc.pager = make_pager(release_terminal)
    try:
        yield
    finally:
        pydoc.pager = original
