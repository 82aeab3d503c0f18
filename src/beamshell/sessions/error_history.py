"""The errors of a session's commands: one short line when they happen, full tracebacks on request."""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from types import TracebackType

from beamshell.config.redis_access import mask_secrets

_HINT = "( for more details type cmd 'last_error()' )"

# Turns a library's exception into the one-line error the operator should read (a redis-py
# ConnectionError into "Redis not reachable at <url> (...): <what to do>"), or None.
Explain = Callable[[BaseException], BaseException | None]


class ErrorHistory:
    """The latest errors of the session, newest last, for `last_error()`.

    Everything it shows passes through `mask_secrets`: no Redis password reaches the screen.
    """

    def __init__(self, maxlen: int = 20, explain: Explain | None = None):
        self._errors: deque[tuple[type, BaseException, TracebackType | None]] = deque(maxlen=maxlen)
        self._explain = explain

    def record(self, exc_type: type, exc: BaseException, tb: TracebackType | None) -> None:
        self._errors.append((exc_type, exc, tb))

    def __len__(self) -> int:
        return len(self._errors)

    def explain(self, exc: BaseException) -> BaseException:
        """The exception to show for `exc`: its one-line explanation if there is one."""
        if self._explain is not None:
            try:
                explained = self._explain(exc)
            except Exception:  # noqa: BLE001 - showing the original beats hiding it
                explained = None
            if explained is not None:
                return explained
        return exc

    def format_short(self, exc: BaseException, where: str | None = None, hint: bool = True) -> str:
        """The one line an operator sees when a command (or, `where`, a background task) fails
        (`hint`: how to see more, pointless in a process that exits)."""
        shown = self.explain(exc)
        message = str(shown).strip().splitlines()[0] if str(shown).strip() else ""
        text = f"{type(shown).__name__}: {message}" if message else type(shown).__name__
        if where:
            text = f"{where}: {text}"
        line = f"!!! === {text} === !!!"
        return mask_secrets(f"{line} {_HINT}" if hint else line)

    def format_traceback(self, n: int | None = None) -> str:
        """Full traceback of the latest error, or of the n-th latest (`n=1` is the latest)."""
        if not self._errors:
            return "No error recorded in this session."
        index = 1 if n is None else n
        if not 1 <= index <= len(self._errors):
            return f"last_error({n}): only {len(self._errors)} error(s) recorded"
        exc_type, exc, tb = self._errors[-index]
        text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()
        shown = self.explain(exc)
        if shown is not exc:  # end on what the one-line message said
            text += f"\n{type(shown).__name__}: {shown}"
        return mask_secrets(text)

    def last_error(self, n: int | None = None) -> None:
        """Print the full traceback of the latest error (`last_error(2)`: the one before)."""
        print(self.format_traceback(n))
