"""`input()` for commands run from the prompt: the toolbar steps aside and the read is cooperative.

The built-in `input()` would block the whole process (every greenlet) in a read, and while
the command's toolbar holds the terminal in raw mode Enter would never end that read. This
one asks the toolbar to step aside, waits for a line with gevent (the scan display and
motors go on), and lets Ctrl-C interrupt it like any command.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from gevent.socket import wait_read


def make_input(release_terminal: Callable[[], AbstractContextManager[Any]]) -> Callable[..., str]:
    def beamshell_input(prompt: object = "") -> str:
        with release_terminal():
            sys.stdout.write(str(prompt))
            sys.stdout.flush()
            stdin = sys.stdin
            wait_read(stdin.fileno())
            line = stdin.readline()
        if not line:
            raise EOFError("end of input")
        return line[:-1] if line.endswith("\n") else line

    beamshell_input.__doc__ = builtins.input.__doc__
    return beamshell_input


@contextmanager
def cooperative_input(
    release_terminal: Callable[[], AbstractContextManager[Any]],
) -> Iterator[None]:
    """Replace builtins.input for the duration of the block."""
    original = builtins.input
    builtins.input = make_input(release_terminal)
    try:
        yield
    finally:
        builtins.input = original
