"""Moving several axes together: check every limit first, start all, wait all, stop all on error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from beamshell.errors import BeamshellError
from beamshell.hardware.axis import Axis, AxisError, start_moves


def check_moves(targets: Mapping[Axis, float]) -> list[tuple[Axis, float]]:
    """Check every move (axis, limits, state) without starting any; returns the moves
    prepared for `start_moves` (dial targets in steps). Raises on the first bad one."""
    for axis in targets:
        if not isinstance(axis, Axis):
            raise BeamshellError(f"{_describe(axis)} is not an axis, it cannot be moved")
    return [(axis, axis.prepare_move(target)) for axis, target in targets.items()]


def move_axes(targets: Mapping[Axis, float], wait: bool = True) -> None:
    """Move each axis to its user target; nothing moves unless every target is valid.

    With `wait`, returns when all have arrived; an exception or KeyboardInterrupt while
    waiting stops every axis (each decelerates where it is) and is re-raised.
    """
    start_moves(check_moves(targets))
    if wait:
        wait_axes(targets)


def wait_axes(axes: Iterable[Axis]) -> None:
    """Wait until every axis stands still; on an exception or Ctrl-C stop them all and re-raise.

    A fault reported by one axis is raised after the others have finished their moves.
    """
    axes = list(axes)
    faults: list[str] = []
    try:
        for axis in axes:
            try:
                axis.wait_move()
            except AxisError as exc:
                faults.append(str(exc))
    except BaseException:
        stop_axes(axes)
        raise
    if faults:
        raise AxisError("; ".join(faults))


def stop_axes(axes: Iterable[Axis]) -> None:
    """Decelerate every moving axis at once, then wait until all stand still."""
    moving = [axis for axis in axes if axis.is_moving]
    for axis in moving:
        axis.stop(wait=False)
    try:
        for axis in moving:
            axis.stop(wait=True)
    except BaseException:
        for axis in moving:
            axis.abort()
        raise


def _describe(obj: object) -> str:
    name = getattr(obj, "name", None)
    return f"'{name}'" if isinstance(name, str) else repr(obj)
