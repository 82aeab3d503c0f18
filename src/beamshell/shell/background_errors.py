"""Failures of background greenlets: one line each on the terminal, the traceback for last_error().

gevent prints the whole traceback of a greenlet that dies with an exception, followed by
`<Greenlet ...> failed with ...`: some forty lines for a Redis server that went away while
a motor was moving. In the shell such a failure is reported like a command's: one line
(a Redis failure naming the URL and what to do), the traceback kept for `last_error()`.
A greenlet that someone is waiting for (a command joining its motor's move) is not
reported here: the waiter receives the exception and reports it, once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import gevent

if TYPE_CHECKING:
    from beamshell.sessions.error_history import ErrorHistory


def _task_name(context: Any) -> str:
    function = getattr(context, "_run", None)  # what gevent.spawn was given
    name = getattr(function, "__qualname__", None) or getattr(context, "name", None)
    return f"background task {name}" if name else "background task"


def report_background_failures(error_history: ErrorHistory) -> Callable[[], None]:
    """Report failed greenlets of this thread's hub through `error_history`; returns the undo."""
    hub = gevent.get_hub()
    previous = hub.__dict__.get("print_exception")
    gevent_print = hub.print_exception

    def print_exception(
        context: object | None,
        exc_type: type[BaseException] | None,
        value: BaseException | str | None,
        tb: TracebackType | None,
    ) -> None:
        # gevent passes sys.exc_info(): a type always comes with an exception.
        if exc_type is None or not (
            isinstance(value, Exception) and isinstance(context, gevent.Greenlet)
        ):
            gevent_print(context, exc_type, value, tb)  # KeyboardInterrupt, loop errors
            return
        if context.has_links():
            return  # someone waits for this greenlet: they get the exception and report it
        try:
            error_history.record(exc_type, value, tb)
            line = error_history.format_short(value, where=_task_name(context))
            print(line, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - must not raise inside the hub: gevent's own report
            gevent_print(context, exc_type, value, tb)

    # This hub only: the hubs of other threads keep gevent's report.
    hub.__dict__["print_exception"] = print_exception

    def restore() -> None:
        if previous is None:
            hub.__dict__.pop("print_exception", None)
        else:
            hub.__dict__["print_exception"] = previous

    return restore
