"""Run one command at a time in its own greenlet; Ctrl-C (SIGINT) interrupts that greenlet only;
SIGTERM and SIGHUP interrupt it the same way, then make the shell leave.

Python would raise KeyboardInterrupt in whatever greenlet happens to run when the signal
arrives (the hub, a motor's, the scan display's), which could kill the wrong one or leave a
scan half-stopped. So the process's SIGINT handler never raises: while a command runs it
throws KeyboardInterrupt into the command's greenlet once, and later presses during the stop
only say so (a second interrupt inside the stop code could leave a motor moving). At an idle
prompt the terminal is in raw mode and Ctrl-C is an ordinary key that clears the line; a
SIGINT from elsewhere is ignored there.

SIGTERM and SIGHUP (`kill`, the terminal closed, the ssh link dropped) would otherwise end
the process at once: no preset's `stop` (the shutter stays open), the scan left RUNNING in
Redis without END_SCAN. Here they interrupt the running command like Ctrl-C, with
`TerminatedBySignal` (a KeyboardInterrupt, so every abort path runs as for Ctrl-C), and
`terminated` tells the shell to leave once the command has stopped. At the idle prompt,
`on_idle_terminate` ends the prompt; before the shell runs (session loading) the
exception is raised where the process is.
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


TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class TerminatedBySignal(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop what runs as Ctrl-C does, then leave with status 128 + signum."""

    def __init__(self, signum: int):
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(f"{name} received: the command was stopped and the session closes")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _capture(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, Any]:
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
        self._greenlet: gevent.Greenlet[..., tuple[bool, Any]] | None = None
        self._interrupted_at: float | None = None
        self.terminated: int | None = None  # the SIGTERM/SIGHUP received, if any
        self.on_idle_terminate: Callable[[], object] | None = None  # set by the prompt

    def install(self) -> None:
        """Make this runner the process's SIGINT, SIGTERM and SIGHUP handler (main thread)."""
        signal.signal(signal.SIGINT, self._on_sigint)
        for signum in TERMINATING_SIGNALS:
            signal.signal(signum, self._on_terminate)

    @property
    def exit_status(self) -> int | None:
        """128 + the terminating signal's number once one was received, else None."""
        return None if self.terminated is None else 128 + self.terminated

    @property
    def busy(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def run(
        self,
        func: Callable[..., Any],
        *args: Any,
        show: Callable[[gevent.Greenlet[..., Any]], object] | None = None,
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

    def interrupt(self, exception: BaseException | type[BaseException] = KeyboardInterrupt) -> bool:
        """What Ctrl-C does while a command runs (safe to call from a signal handler).

        Returns False when no command runs.
        """
        greenlet = self._greenlet
        if greenlet is None or greenlet.dead:
            return False
        now = time.monotonic()
        if self._interrupted_at is None or now - self._interrupted_at > REINTERRUPT_AFTER_S:
            self._interrupted_at = now
            greenlet.kill(exception, block=False)
        else:
            # Printing inside a signal handler could re-enter a write in progress.
            gevent.spawn(self._say, "Stopping, please wait...")
        return True

    def _say(self, message: str) -> None:
        out = self._out or sys.stderr
        try:
            print(message, file=out, flush=True)
        except (OSError, ValueError, RuntimeError):
            pass  # a message about stopping must never break the stop

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupt()

    def _on_terminate(self, signum: int, frame: Any) -> None:
        first = self.terminated is None
        if first:
            self.terminated = signum
        if self.interrupt(TerminatedBySignal(signum)):
            return  # the command stops; the shell leaves afterwards
        if self.on_idle_terminate is not None:
            self.on_idle_terminate()
        elif first:
            raise TerminatedBySignal(signum)  # loading, or between two commands
