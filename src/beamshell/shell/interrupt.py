"""Run one command at a time in its own greenlet; Ctrl-C (SIGINT) interrupts that greenlet only.

Python would raise KeyboardInterrupt in whatever greenlet happens to run when the signal
arrives (the hub, a motor's, the scan display's), which could kill the wrong one or leave a
scan half-stopped. So the process's SIGINT handler never raises: while a command runs it
throws KeyboardInterrupt into the command's greenlet once, and later presses during the stop
only say so (a second interrupt inside the stop code could leave a motor moving). At an idle
prompt the terminal is in raw mode and Ctrl-C is an ordinary key that clears the line; a
SIGINT from elsewhere is ignored there.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import gevent

# If the command is still running this long after its interrupt, it ignored it (a macro that
# swallows KeyboardInterrupt): a further Ctrl-C then interrupts it again.
REINTERRUPT_AFTER_S = 5.0
SHOW_AFTER_S = 0.05


def _capture(func: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """Call `func`, returning (failed, result or exception): a greenlet that dies of an
    exception is reported by gevent itself, and a KeyboardInterrupt one is re-thrown into
    the main greenlet, which must not happen for a command the operator interrupted."""
    try:
        return False, func(*args, **kwargs)
    except BaseException as exc:  # handed to the caller, which decides how to report it
        return True, exc


class CommandRunner:
    """Runs commands in a greenlet and routes SIGINT to the running one."""

    def __init__(self, out: TextIO | None = None):
        self._out = out
        self._greenlet: gevent.Greenlet | None = None
        self._interrupted_at: float | None = None

    def install(self) -> None:
        """Make this runner the process's SIGINT handler (main thread only)."""
        signal.signal(signal.SIGINT, self._on_sigint)

    @property
    def busy(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def run(
        self,
        func: Callable[..., Any],
        *args: Any,
        show: Callable[[gevent.Greenlet], Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run `func` in a new greenlet, wait for it, return its result or raise its exception.

        If it is still running after a moment, `show(greenlet)` is called to display
        something (the toolbar) until it ends; a quick command shows nothing.
        """
        greenlet = gevent.spawn(_capture, func, args, kwargs)
        self._greenlet = greenlet
        self._interrupted_at = None
        try:
            greenlet.join(timeout=SHOW_AFTER_S)
            if show is not None and not greenlet.dead:
                try:
                    show(greenlet)
                except KeyboardInterrupt:
                    self.interrupt()  # escaped from some other greenlet: it is the command's
            while True:
                try:
                    greenlet.join()
                    break
                except KeyboardInterrupt:
                    # The hub re-raises a KeyboardInterrupt that escaped some other greenlet
                    # in the one waiting here: it belongs to the command.
                    self.interrupt()
        finally:
            self._greenlet = None
            self._interrupted_at = None
        failed, value = greenlet.get()
        if failed:
            raise value
        return value

    def interrupt(self) -> None:
        """What Ctrl-C does while a command runs (safe to call from a signal handler)."""
        greenlet = self._greenlet
        if greenlet is None or greenlet.dead:
            return
        now = time.monotonic()
        if self._interrupted_at is None or now - self._interrupted_at > REINTERRUPT_AFTER_S:
            self._interrupted_at = now
            greenlet.kill(KeyboardInterrupt, block=False)
        else:
            # Printing inside a signal handler could re-enter a write in progress.
            gevent.spawn(self._say, "Stopping, please wait...")

    def _say(self, message: str) -> None:
        out = self._out or sys.stderr
        try:
            print(message, file=out, flush=True)
        except (OSError, ValueError, RuntimeError):
            pass  # a message about stopping must never break the stop

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupt()
