"""The standard scans: ct, loopscan, timescan, ascan, dscan, a2scan, d2scan, amesh, dmesh,
lookupscan, pointscan. Every argument is checked before anything moves."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from beamshell.scanning import arguments as check
from beamshell.scanning.chain import AcquisitionChain, AcquisitionMaster
from beamshell.scanning.context import ScanEnvironment
from beamshell.scanning.counter_reading import CounterReader, counter_channel_names
from beamshell.scanning.display import format_value
from beamshell.scanning.masters import MotorStepMaster, SoftwareTimerMaster
from beamshell.scanning.scan import Scan
from beamshell.scanning.scan_options import ScanOptions, scan_command

if TYPE_CHECKING:
    from beamshell.hardware.axis import Axis
    from beamshell.hardware.protocols import ScanAxis, ScanCounter

__all__ = [
    "a2scan",
    "amesh",
    "ascan",
    "ct",
    "d2scan",
    "dmesh",
    "dscan",
    "loopscan",
    "lookupscan",
    "pointscan",
    "timescan",
]


def _fmt(value: Any) -> str:
    return format_value(value) if not isinstance(value, str) else value


def add_counter_readers(
    chain: AcquisitionChain,
    master: AcquisitionMaster,
    counters: Sequence[ScanCounter],
    npoints: int | None,
) -> None:
    """One reader per counter controller (or read group of controllers), in the order the
    counters were given."""
    groups: dict[object, list[ScanCounter]] = {}
    for counter in counters:
        controller = counter.controller
        key = getattr(controller, "read_group", None) or id(controller)
        groups.setdefault(key, []).append(counter)
    for members in groups.values():
        chain.add(master, CounterReader(members[0].controller, members, npoints))


def _make_scan(
    kind: str,
    chain: AcquisitionChain,
    title: str,
    counters: Sequence[ScanCounter],
    info: dict[str, Any],
    options: ScanOptions,
) -> Scan:
    """The Scan of a standard scan (run unless `options.run` is False)."""
    full_info = {
        "type": kind,
        "title": options.title or title,
        "counters": [c.name for c in counters],
        **info,
    }
    if options.scan_info:
        if not isinstance(options.scan_info, dict):
            raise TypeError(f"{kind}: scan_info must be a dict, got {options.scan_info!r}")
        full_info.update(options.scan_info)
    scan = Scan(
        chain,
        name=options.name or kind,
        scan_info=full_info,
        save=options.save,
        env=options.environment(),
        display=options.display,
    )
    if options.run:
        scan.run()
    return scan


def _timer_scan(
    kind: str,
    title: str,
    count_time: float,
    counters: Sequence[ScanCounter],
    npoints: int | None,
    sleep_time: float | None,
    options: ScanOptions,
) -> Scan:
    chain = AcquisitionChain()
    timer = SoftwareTimerMaster(count_time, npoints=npoints, sleep_time=sleep_time)
    chain.add(timer)
    add_counter_readers(chain, timer, counters, npoints)
    info: dict[str, Any] = {"npoints": npoints or 0, "count_time": count_time, "axes": []}
    if sleep_time:
        info["sleep_time"] = sleep_time
    return _make_scan(kind, chain, title, counters, info, options)


@scan_command(name="ct", save=False)
def ct(count_time: float = 1.0, *counters: Any, options: ScanOptions) -> Scan:
    """Count once for `count_time` and print each counter's value; returns the scan."""
    env = options.environment()
    count_time = check.count_time("ct", count_time)
    to_read = check.counters("ct", counters, env)
    quiet = replace(options, run=False, display=False)  # ct prints its values, not a table
    scan = _timer_scan("ct", f"ct {_fmt(count_time)}", count_time, to_read, 1, None, quiet)
    if options.run:
        scan.run()
        if env.display if options.display is None else options.display:
            _print_counts(scan, to_read, count_time, env)
    return scan


def _count_rows(
    scan: Scan, counters: Sequence[ScanCounter], count_time: float
) -> list[tuple[str, str]]:
    """(label, value text) for every channel a scan of these counters would fill: the value
    and its rate, std/min/max of a STATS counter, the sum of a 1-D counter (a spectrum)."""
    data = scan.get_data()
    rows: list[tuple[str, str]] = []

    def rate(value: float) -> str:
        return f" ({value / count_time:>12g}/s)" if count_time > 0 else ""

    for counter in counters:
        unit = f"[{counter.unit}]" if counter.unit else ""
        values = data[counter]
        if not len(values):
            continue
        first = values[0]
        if np.ndim(first) == 1:
            total = float(np.sum(first))
            rows.append((f"{counter.name}{unit}", f"{total:>12g}{rate(total)} sum of {len(first)}"))
            continue
        value = float(first)
        rows.append((f"{counter.name}{unit}", f"{value:>12g}{rate(value)}"))
        for name in counter_channel_names(counter)[1:]:  # name_std, name_min, name_max
            rows.append((f"{name}{unit}", f"{float(data[name][0]):>12g}"))
    return rows


def _print_counts(
    scan: Scan, counters: Sequence[ScanCounter], count_time: float, env: ScanEnvironment
) -> None:
    rows = _count_rows(scan, counters, count_time)
    width = max((len(label) for label, _ in rows), default=0)
    lines = [time.ctime(scan.start_time), ""]
    lines += [f"  {label:>{width}} = {text}" for label, text in rows]
    env.stream.write("\n".join(lines) + "\n\n")
    env.stream.flush()


@scan_command()
def loopscan(
    npoints: int,
    count_time: float,
    *counters: Any,
    sleep_time: float | None = None,
    options: ScanOptions,
) -> Scan:
    """`npoints` points of `count_time` each (sleep_time between points)."""
    npoints = check.positive_int("loopscan", "npoints", npoints)
    count_time = check.count_time("loopscan", count_time)
    sleep_time = check.optional_time("loopscan", "sleep_time", sleep_time)
    to_read = check.counters("loopscan", counters, options.environment())
    title = f"loopscan {npoints} {_fmt(count_time)}"
    return _timer_scan("loopscan", title, count_time, to_read, npoints, sleep_time, options)


@scan_command()
def timescan(
    count_time: float,
    *counters: Any,
    npoints: int = 0,
    sleep_time: float | None = None,
    options: ScanOptions,
) -> Scan:
    """Count `count_time` again and again: `npoints` times, or until interrupted (0)."""
    count_time = check.count_time("timescan", count_time)
    npoints = check.positive_int("timescan", "npoints", npoints, allow_zero=True)
    sleep_time = check.optional_time("timescan", "sleep_time", sleep_time)
    to_read = check.counters("timescan", counters, options.environment())
    title = f"timescan {_fmt(count_time)}"
    return _timer_scan("timescan", title, count_time, to_read, npoints or None, sleep_time, options)


def _step_scan(
    kind: str,
    title: str,
    axes: Sequence[ScanAxis],
    positions: Sequence[np.ndarray],
    count_time: float,
    counters: Sequence[ScanCounter],
    options: ScanOptions,
) -> Scan:
    """A motor step master moving `axes` through `positions`, a timer, then the counters."""
    warnings: list[str] = []
    for axis, values in zip(axes, positions, strict=True):
        check.within_limits(kind, axis, values)
        if warning := check.resolution_warning(axis, values):
            warnings.append(warning)
    check.distinct_axes(kind, axes)
    chain = AcquisitionChain()
    motors = MotorStepMaster(axes, positions)
    npoints = motors.npoints
    timer = SoftwareTimerMaster(count_time, npoints=None)
    chain.add(motors, timer)
    add_counter_readers(chain, timer, counters, npoints)
    info: dict[str, Any] = {
        "npoints": npoints,
        "count_time": count_time,
        "axes": [a.name for a in axes],
    }
    if warnings:
        info["warnings"] = warnings
    return _make_scan(kind, chain, title, counters, info, options)


def _linear(
    kind: str,
    args: Sequence[Any],
    start_name: str,
    stop_name: str,
    intervals: int,
    offset: float = 0.0,
) -> np.ndarray:
    start = check.position(kind, start_name, args[0]) + offset
    stop = check.position(kind, stop_name, args[1]) + offset
    return np.linspace(start, stop, intervals + 1)


def _nscan(
    kind: str,
    relative: bool,
    motor_args: tuple[tuple[Any, Any, Any], ...],
    intervals: int,
    count_time: float,
    counters: Sequence[Any],
    options: ScanOptions,
) -> Scan:
    """ascan/dscan/a2scan/d2scan: (axis, start, stop) triplets, then the common arguments."""
    intervals = check.positive_int(kind, "intervals", intervals)
    count_time = check.count_time(kind, count_time)
    axes: list[Axis] = []
    positions: list[np.ndarray] = []
    words: list[str] = []
    for number, (axis, start, stop) in enumerate(motor_args, start=1):
        suffix = str(number) if len(motor_args) > 1 else ""
        axis = check.axis(kind, f"motor{suffix}", axis)
        origin = axis.position if relative else 0.0
        positions.append(
            _linear(kind, (start, stop), f"start{suffix}", f"stop{suffix}", intervals, origin)
        )
        axes.append(axis)
        words += [axis.name, _fmt(start), _fmt(stop)]
    counters = check.counters(kind, counters, options.environment())
    title = " ".join([kind, *words, str(intervals), _fmt(count_time)])
    later = replace(options, run=False)
    scan = _step_scan(kind, title, axes, positions, count_time, counters, later)
    if relative:
        _return_to_start(scan, axes)
    if options.run:
        scan.run()
    return scan


def _return_to_start(scan: Scan, axes: list[Axis]) -> None:
    """A relative scan brings its axes back where they were, after success or abort."""
    origins = {axis: axis.position for axis in axes}
    scan.return_positions = origins  # the time estimate counts this move

    def move_back() -> None:
        from beamshell.hardware.motion import move_axes

        move_axes(origins)

    scan.add_cleanup("moving " + ", ".join(a.name for a in axes) + " back to start", move_back)


@scan_command()
def ascan(
    axis: Any,
    start: float,
    stop: float,
    intervals: int,
    count_time: float,
    *counters: Any,
    options: ScanOptions,
) -> Scan:
    """`intervals`+1 points of `axis` from `start` to `stop` (absolute positions)."""
    motor_args = ((axis, start, stop),)
    return _nscan("ascan", False, motor_args, intervals, count_time, counters, options)


@scan_command()
def dscan(
    axis: Any,
    start: float,
    stop: float,
    intervals: int,
    count_time: float,
    *counters: Any,
    options: ScanOptions,
) -> Scan:
    """Like ascan, relative to the current position; the axis returns there at the end."""
    motor_args = ((axis, start, stop),)
    return _nscan("dscan", True, motor_args, intervals, count_time, counters, options)


@scan_command()
def a2scan(
    axis1: Any,
    start1: float,
    stop1: float,
    axis2: Any,
    start2: float,
    stop2: float,
    intervals: int,
    count_time: float,
    *counters: Any,
    options: ScanOptions,
) -> Scan:
    """Two axes moved together, each from its start to its stop, in `intervals` steps."""
    motor_args = ((axis1, start1, stop1), (axis2, start2, stop2))
    return _nscan("a2scan", False, motor_args, intervals, count_time, counters, options)


@scan_command()
def d2scan(
    axis1: Any,
    start1: float,
    stop1: float,
    axis2: Any,
    start2: float,
    stop2: float,
    intervals: int,
    count_time: float,
    *counters: Any,
    options: ScanOptions,
) -> Scan:
    """Like a2scan, relative to the current positions; both axes return at the end."""
    motor_args = ((axis1, start1, stop1), (axis2, start2, stop2))
    return _nscan("d2scan", True, motor_args, intervals, count_time, counters, options)


def _mesh(
    kind: str,
    relative: bool,
    fast: tuple[Any, Any, Any, Any],
    slow: tuple[Any, Any, Any, Any],
    count_time: float,
    counters: Sequence[Any],
    backnforth: bool,
    options: ScanOptions,
) -> Scan:
    """amesh/dmesh: (axis, start, stop, intervals) for the fast and the slow axis."""
    count_time = check.count_time(kind, count_time)
    axis1 = check.axis(kind, "motor1", fast[0])
    axis2 = check.axis(kind, "motor2", slow[0])
    intervals1 = check.positive_int(kind, "intervals1", fast[3])
    intervals2 = check.positive_int(kind, "intervals2", slow[3])
    origin1 = axis1.position if relative else 0.0
    origin2 = axis2.position if relative else 0.0
    line = _linear(kind, fast[1:3], "start1", "stop1", intervals1, origin1)
    rows = _linear(kind, slow[1:3], "start2", "stop2", intervals2, origin2)
    fast_positions = np.concatenate(
        [line[::-1] if backnforth and row % 2 else line for row in range(len(rows))]
    )
    slow_positions = np.repeat(rows, len(line))
    counters = check.counters(kind, counters, options.environment())
    words = [axis1.name, _fmt(fast[1]), _fmt(fast[2]), str(intervals1),
             axis2.name, _fmt(slow[1]), _fmt(slow[2]), str(intervals2)]  # fmt: skip
    title = " ".join([kind, *words, _fmt(count_time)])
    positions = [fast_positions, slow_positions]
    later = replace(options, run=False)
    scan = _step_scan(kind, title, [axis1, axis2], positions, count_time, counters, later)
    scan.scan_info.update(shape=[len(rows), len(line)], backnforth=backnforth)
    if relative:
        _return_to_start(scan, [axis1, axis2])
    if options.run:
        scan.run()
    return scan


@scan_command()
def amesh(
    axis1: Any,
    start1: float,
    stop1: float,
    intervals1: int,
    axis2: Any,
    start2: float,
    stop2: float,
    intervals2: int,
    count_time: float,
    *counters: Any,
    backnforth: bool = False,
    options: ScanOptions,
) -> Scan:
    """A grid: `axis1` (fast) sweeps each line, `axis2` (slow) steps between lines;
    backnforth sweeps every other line backwards."""
    fast, slow = (axis1, start1, stop1, intervals1), (axis2, start2, stop2, intervals2)
    return _mesh("amesh", False, fast, slow, count_time, counters, backnforth, options)


@scan_command()
def dmesh(
    axis1: Any,
    start1: float,
    stop1: float,
    intervals1: int,
    axis2: Any,
    start2: float,
    stop2: float,
    intervals2: int,
    count_time: float,
    *counters: Any,
    backnforth: bool = False,
    options: ScanOptions,
) -> Scan:
    """Like amesh, relative to the current positions; both axes return at the end."""
    fast, slow = (axis1, start1, stop1, intervals1), (axis2, start2, stop2, intervals2)
    return _mesh("dmesh", True, fast, slow, count_time, counters, backnforth, options)


@scan_command()
def lookupscan(
    motor_positions: Sequence[Any], count_time: float, *counters: Any, options: ScanOptions
) -> Scan:
    """Axes moved together through given positions: [(axis, positions), (axis, positions)]."""
    kind = "lookupscan"
    if not isinstance(motor_positions, list | tuple) or not motor_positions:
        raise ValueError(f"{kind}: motor_positions must be a list of (axis, positions) pairs")
    axes: list[Axis] = []
    positions: list[np.ndarray] = []
    for number, pair in enumerate(motor_positions, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{kind}: motor_positions item {number} must be (axis, positions)")
        axes.append(check.axis(kind, f"motor_positions item {number}", pair[0]))
        positions.append(check.positions(kind, f"positions of {pair[0].name}", pair[1]))
    lengths = {len(p) for p in positions}
    if len(lengths) != 1:
        raise ValueError(f"{kind}: every axis needs as many positions, got {sorted(lengths)}")
    count_time = check.count_time(kind, count_time)
    to_read = check.counters(kind, counters, options.environment())
    title = f"{kind} {' '.join(a.name for a in axes)} {lengths.pop()} {_fmt(count_time)}"
    return _step_scan(kind, title, axes, positions, count_time, to_read, options)


@scan_command()
def pointscan(
    axis: Any, positions: Sequence[float], count_time: float, *counters: Any, options: ScanOptions
) -> Scan:
    """One axis through a list of positions."""
    kind = "pointscan"
    axis = check.axis(kind, "motor", axis)
    values = check.positions(kind, "positions", positions)
    count_time = check.count_time(kind, count_time)
    to_read = check.counters(kind, counters, options.environment())
    title = f"{kind} {axis.name} {len(values)} {_fmt(count_time)}"
    return _step_scan(kind, title, [axis], [values], count_time, to_read, options)
