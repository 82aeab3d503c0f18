"""The errors of a session's commands: one short line when they happen, full tracebacks on request."""

from __future__ import annotations

import traceback
from collections import deque
from types import TracebackType

_HINT = "( for more details type cmd 'last_error()' )"


class ErrorHistory:
    """The latest errors of the session, newest last, for `last_error()`."""

    def __init__(self, maxlen: int = 20):
        self._errors: deque[tuple[type, BaseException, TracebackType | None]] = deque(maxlen=maxlen)

    def record(self, exc_type: type, exc: BaseException, tb: TracebackType | None) -> None:
        self._errors.append((exc_type, exc, tb))

    def __len__(self) -> int:
        return len(self._errors)

    @staticmethod
    def format_short(exc: BaseException, hint: bool = True) -> str:
        """The one line an operator sees when a command fails (`hint`: how to see more)."""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        line = f"!!! === {text} === !!!"
        return f"{line} {_HINT}" if hint else line

    def format_traceback(self, n: int | None = None) -> str:
        """Full traceback of the latest error, or of the n-th latest (`n=1` is the latest)."""
        if not self._errors:
            return "No error recorded in this session."
        index = 1 if n is None else n
        if not 1 <= index <= len(self._errors):
            return f"last_error({n}): only {len(self._errors)} error(s) recorded"
        exc_type, exc, tb = self._errors[-index]
        return "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()

    def last_error(self, n: int | None = None) -> None:
        """Print the full traceback of the latest error (`last_error(2)`: the one before)."""
        print(self.format_traceback(n))
