"""Helpers for the stop phase: call every stop, keep every error, survive repeated interrupts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import gevent

_T = TypeVar("_T")

# Interrupts that arrive while stopping are deferred; after this many the operator insists,
# and the stop call in progress is abandoned (a preset's stop may loop forever).
MAX_DEFERRED_INTERRUPTS = 3


class StopAbandoned(Exception):
    """Raised into a stop call that the operator interrupted again and again."""


class StopErrors:
    """Errors raised by stop calls, each labelled with what was being stopped."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, BaseException]] = []

    def call(self, what: str, function: Callable[..., object], *args: Any) -> None:
        """Call `function(*args)`; an exception is recorded and the stop sequence goes on."""
        try:
            function(*args)
        except BaseException as exc:  # noqa: BLE001  (every stop must be called whatever happens)
            self.errors.append((what, exc))

    def first(self) -> BaseException | None:
        return self.errors[0][1] if self.errors else None

    def __bool__(self) -> bool:
        return bool(self.errors)


def run_shielded(
    function: Callable[..., _T], deferred: list[BaseException], *args: Any
) -> _T | None:
    """Run `function(*args)` in its own greenlet and wait for it, deferring interrupts.

    Interrupts (KeyboardInterrupt, GreenletExit...) thrown at the waiting greenlet are
    appended to `deferred` (which `function` may look at) and waiting goes on. Every
    MAX_DEFERRED_INTERRUPTS of them, StopAbandoned is raised in the worker: a worker made of
    StopErrors.call steps abandons the step in progress and goes on with the next. Returns the
    worker's result (None if it died of that). The function itself should not raise.
    """
    worker = gevent.spawn(function, *args)
    while not worker.ready():
        try:
            worker.join()
        except BaseException as exc:  # noqa: BLE001  (KeyboardInterrupt, GreenletExit...)
            deferred.append(exc)
            if len(deferred) % MAX_DEFERRED_INTERRUPTS == 0:
                message = f"abandoned after {len(deferred)} interrupts while stopping"
                worker.kill(StopAbandoned(message), block=False)
    if not worker.successful():
        failure = worker.exception
        if isinstance(failure, StopAbandoned):
            return None
        assert isinstance(failure, BaseException)  # not successful: it raised
        raise failure
    return worker.value
