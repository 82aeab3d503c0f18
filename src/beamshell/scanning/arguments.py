"""Checking the arguments of the standard scans before anything moves: one-line errors."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from beamshell.scanning.context import ScanEnvironment

if TYPE_CHECKING:
    from beamshell.hardware.axis import Axis
    from beamshell.hardware.counters import Counter
    from beamshell.hardware.protocols import ScanAxis


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def count_time(scan: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{scan}: count_time must be a number >= 0 (seconds), got {value!r}")
    return float(value)


def optional_time(scan: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{scan}: {name} must be a number >= 0 (seconds) or None, got {value!r}")
    return float(value)


def positive_int(scan: str, name: str, value: Any, allow_zero: bool = False) -> int:
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
        kind = "an integer >= 0" if allow_zero else "a positive integer"
        raise ValueError(f"{scan}: {name} must be {kind}, got {value!r}")
    return int(value)


def position(scan: str, name: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{scan}: {name} must be a finite number, got {value!r}")
    return float(value)


def positions(scan: str, name: str, values: Any) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{scan}: {name} must be a list of numbers, got {values!r}") from None
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{scan}: {name} must be a non-empty 1-D list of positions")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{scan}: {name} holds a value that is not a finite number")
    return array


def axis(scan: str, name: str, value: Any) -> Axis:
    from beamshell.hardware.axis import Axis

    if not isinstance(value, Axis):
        label = getattr(value, "name", value)
        raise TypeError(f"{scan}: {name} must be an axis (motor), got {label!r}")
    return value


def distinct_axes(scan: str, axes: Sequence[ScanAxis]) -> None:
    names = [a.name for a in axes]
    for index, axis_obj in enumerate(axes):
        if any(axis_obj is other for other in axes[:index]):
            raise ValueError(f"{scan}: axis {axis_obj.name} is given twice ({', '.join(names)})")


def within_limits(scan: str, axis_obj: ScanAxis, values: np.ndarray) -> None:
    """Every position inside the axis's limits (checking the extremes is enough)."""
    for target in (float(values.min()), float(values.max())):
        try:
            axis_obj.check_limits(target)
        except ValueError as exc:
            raise ValueError(f"{scan}: {exc}") from None


def resolution_warning(axis_obj: ScanAxis, values: np.ndarray) -> str | None:
    """A sentence when moves asked of a motor are smaller than its step, so that points the
    operator meant to be apart land where the point before them was; None otherwise."""
    from beamshell.hardware.axis import Axis

    if not isinstance(axis_obj, Axis) or len(values) < 2:
        return None
    resolution = 1.0 / axis_obj.steps_per_unit
    # Rounded in dial steps, as the controller rounds them (sign and offset are the user's).
    steps = np.round((values - axis_obj.offset) * axis_obj.sign * axis_obj.steps_per_unit)
    asked = np.abs(np.diff(values)) > resolution * 1e-6  # a repeat that was asked is fine
    lost = int(np.count_nonzero(asked & (np.diff(steps) == 0)))
    if not lost:
        return None
    unit = f" {axis_obj.unit}" if axis_obj.unit else ""
    moves = int(np.count_nonzero(asked))
    verb = "is" if lost == 1 else "are"
    return (
        f"{lost} of {moves} moves of {axis_obj.name} {verb} below its resolution "
        f"({resolution:g}{unit}): for those the motor stays put"
    )


def counters(scan: str, given: Iterable[Any], env: ScanEnvironment) -> list[Counter]:
    """The counters to read: the arguments (measurement groups expand to their enabled
    counters), or the active measurement group's enabled counters when none is given."""
    from beamshell.hardware.counters import Counter
    from beamshell.hardware.measurement_group import MeasurementGroup

    given = list(given)
    if not given:
        group = env.active_mg()
        if group is None:
            raise ValueError(f"{scan}: no counter given and no active measurement group")
        given = [group]
    found: list[Counter] = []
    for position_index, item in enumerate(given, start=1):
        if isinstance(item, MeasurementGroup):
            members = item.enabled
            if not members:
                raise ValueError(f"{scan}: measurement group {item.name} has no enabled counter")
        elif isinstance(item, Counter):
            members = [item]
        else:
            label = getattr(item, "name", None) or repr(item)
            raise TypeError(
                f"{scan}: counter argument {position_index} ({label}) is not a counter "
                "or a measurement group"
            )
        found.extend(member for member in members if member not in found)
    return found
