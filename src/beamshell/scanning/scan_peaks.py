"""The peak tools on a scan: which counter and axes, a position for every axis, meshes in 2-D.

The numbers come from `beamshell.analysis`; this module picks the data out of a scan (the
counter asked for, else the first plotselected counter the scan has, else its first
counter) and says the result per axis: a2scan and lookupscan move several axes, so a
position found on one of them (the reference) is carried to the others along the scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from beamshell import analysis
from beamshell.analysis import PeakError

if TYPE_CHECKING:
    from beamshell.scanning.channel import AcquisitionChannel

TOOLS = ("peak", "trough", "com", "cen", "fwhm")
ELAPSED_TIME = "elapsed_time"


@dataclass(frozen=True)
class ScanCurve:
    """A counter's values against the scan's axes (in point order), ready for the tools."""

    label: str  # "scan 12", for messages
    counter: str
    values: np.ndarray
    axes: dict[str, np.ndarray]  # the moved axes; empty for a scan without axis
    reference: str  # the axis the shape is measured against (elapsed_time: no axis)
    x: np.ndarray  # the reference's positions
    mesh: tuple[int, int] | None = None  # (rows, columns) of a mesh
    backnforth: bool = False

    def positions_at(self, index: int) -> dict[str, float]:
        """Where every axis was at point `index`."""
        columns = self.axes or {self.reference: self.x}
        return {name: float(values[index]) for name, values in columns.items()}

    def positions_along(self, position: float) -> dict[str, float]:
        """Every axis where the scan passed `position` of the reference axis."""
        if not self.axes:
            return {self.reference: position}
        order = np.argsort(self.x, kind="stable")
        return {
            name: position
            if name == self.reference
            else float(np.interp(position, self.x[order], values[order]))
            for name, values in self.axes.items()
        }


@dataclass(frozen=True)
class ScanPeak:
    """What one tool found: a position per axis; the width for cen and fwhm."""

    tool: str
    curve: ScanCurve
    positions: dict[str, float]
    widths: dict[str, float] = field(default_factory=dict)

    @property
    def value(self) -> Any:
        """What the tool returns: a number for one axis, {axis: number} for several; cen
        gives (position(s), fwhm)."""
        positions = _single(self.positions)
        widths = _single(self.widths)
        if self.tool == "fwhm":
            return widths
        if self.tool == "cen":
            return positions, widths
        return positions

    def line(self) -> str:
        """`cen diode vs m1: 0.0123 (fwhm 1.002)`; several axes: `cen diode: m1 0.0123,
        m2 0.5 (fwhm 1.002 on m1)`."""
        shown = self.widths if self.tool == "fwhm" else self.positions
        text = f"{self.tool} {self.curve.counter}"
        text += f" vs {next(iter(shown))}: " if len(shown) == 1 else ": "
        text += _numbers(shown)
        if self.widths and self.tool != "fwhm":
            text += f" (fwhm {_numbers(self.widths)}"
            if len(self.widths) == 1 and len(self.positions) > 1:
                text += f" on {next(iter(self.widths))}"
            text += ")"
        return text


def _single(values: dict[str, float]) -> Any:
    return next(iter(values.values())) if len(values) == 1 else dict(values)


def _numbers(values: dict[str, float]) -> str:
    if len(values) == 1:
        return _number(next(iter(values.values())))
    return ", ".join(f"{name} {_number(value)}" for name, value in values.items())


def _number(value: float) -> str:
    """Six significant digits at most, without the last-digit noise of interpolation."""
    return f"{round(value, 5):.6g}"


# -- what a scan holds ---------------------------------------------------------------------
def counter_channels(scan: Any) -> list[AcquisitionChannel]:
    """The scan's counter columns: scalar channels that are neither axes nor timers."""
    return [
        channel
        for channel in scan.channels
        if channel.role is None and channel.displayed and not channel.shape
    ]


def selected_counters(scan: Any) -> list[str]:
    """The plotselected counter names that this scan has, in the order selected."""
    choose = getattr(scan.env, "plotselect", None)
    if choose is None:
        return []
    names = {channel.name for channel in scan.channels}
    return [name for name in choose() if name in names]


def scan_axes(scan: Any) -> dict[str, Any]:
    """{column name: Axis object} of the axes the scan moves, in column order."""
    found: dict[str, Any] = {}
    for channel in scan.channels:
        if channel.role != "axis":
            continue
        device = channel.device
        for axis, axis_channel in zip(
            getattr(device, "axes", ()), getattr(device, "axis_channels", ()), strict=False
        ):
            if axis_channel is channel:
                found[channel.name] = axis
    return found


def planned_positions(scan: Any) -> dict[str, np.ndarray]:
    """{column name: every position the scan will go to} of its axes (a mesh's full grid
    while it runs)."""
    planned: dict[str, np.ndarray] = {}
    for channel in scan.channels:
        device = channel.device
        if channel.role != "axis" or not hasattr(device, "positions"):
            continue
        for axis_channel, positions in zip(device.axis_channels, device.positions, strict=False):
            if axis_channel is channel:
                planned[channel.name] = np.asarray(positions, dtype=float)
    return planned


def _label(scan: Any) -> str:
    number = scan.scan_number
    return f"scan {number}" if number is not None else f"scan '{scan.name}'"


def _counter_name(scan: Any, counter: Any, tool: str) -> str:
    counters = counter_channels(scan)
    names = [channel.name for channel in counters]
    if counter is None:
        selected = [name for name in selected_counters(scan) if name in names]
        if selected:
            return selected[0]
        if not names:
            raise PeakError(f"{tool}: {_label(scan)} has no counter")
        first: str | None = (scan.scan_info.get("counters") or [None])[0]
        return first if first in names else names[0]
    name: str | None = counter if isinstance(counter, str) else getattr(counter, "name", None)
    if name not in names:
        raise PeakError(
            f"{tool}: {_label(scan)} has no counter {name or repr(counter)} "
            f"(counters: {', '.join(names) or 'none'})"
        )
    return name


def _axis_name(axes: dict[str, np.ndarray], axis: Any, scan: Any, tool: str) -> str:
    if axis is None:
        moving = [name for name, values in axes.items() if np.ptp(values) > 0]
        return (moving or list(axes) or [ELAPSED_TIME])[0]
    name = axis if isinstance(axis, str) else getattr(axis, "name", None)
    if name in axes or (name == ELAPSED_TIME and not axes):
        return name
    known = ", ".join(axes) or ELAPSED_TIME
    raise PeakError(
        f"{tool}: {name or repr(axis)} is not an axis of {_label(scan)} (axes: {known})"
    )


def scan_curve(scan: Any, counter: Any = None, axis: Any = None, tool: str = "cen") -> ScanCurve:
    """The data a tool works on: `counter` (object or name) against `axis`."""
    name = _counter_name(scan, counter, tool)
    channels = {channel.name: channel for channel in scan.channels}
    values = np.asarray(channels[name].data, dtype=float)
    axes = {c.name: np.asarray(c.data, dtype=float) for c in scan.channels if c.role == "axis"}
    timer = scan.elapsed_time_channel
    elapsed = np.asarray(timer.data, dtype=float) if timer is not None else np.arange(len(values))
    # An interrupted point may have filled some channels only: keep complete points.
    count = min([len(values), *(len(v) for v in axes.values())] + ([] if axes else [len(elapsed)]))
    values = values[:count]
    axes = {key: positions[:count] for key, positions in axes.items()}
    reference = _axis_name(axes, axis, scan, tool)
    x = axes[reference] if axes else elapsed[:count]
    shape = scan.scan_info.get("shape")
    # (rows, columns): the two numbers a mesh scan records.
    mesh = (
        cast("tuple[int, int]", tuple(int(n) for n in shape)) if shape and len(axes) == 2 else None
    )
    backnforth = bool(scan.scan_info.get("backnforth"))
    return ScanCurve(_label(scan), name, values, axes, reference, x, mesh, backnforth)


# -- the tools -------------------------------------------------------------------------------
def find(scan: Any, tool: str, counter: Any = None, axis: Any = None) -> ScanPeak:
    """Run `tool` (peak, trough, com, cen or fwhm) on a scan; PeakError says why it cannot."""
    if tool not in TOOLS:
        raise ValueError(f"unknown peak tool {tool!r} (tools: {', '.join(TOOLS)})")
    curve = scan_curve(scan, counter, axis, tool)
    try:
        if curve.mesh is not None:
            return _find_in_mesh(curve, curve.mesh, tool)
        return _find_in_line(curve, tool)
    except PeakError as exc:
        raise PeakError(f"{tool} {curve.counter} in {curve.label}: {exc}") from None


def _find_in_line(curve: ScanCurve, tool: str) -> ScanPeak:
    if tool in ("peak", "trough"):
        index = (analysis.peak_index if tool == "peak" else analysis.trough_index)(curve.values)
        return ScanPeak(tool, curve, curve.positions_at(index))
    if tool == "com":
        return ScanPeak(tool, curve, curve.positions_along(analysis.com(curve.x, curve.values)))
    half = analysis.cen(curve.x, curve.values)
    return ScanPeak(tool, curve, curve.positions_along(half.position), {curve.reference: half.fwhm})


def _find_in_mesh(curve: ScanCurve, mesh: tuple[int, int], tool: str) -> ScanPeak:
    (fast_name, fast), (slow_name, slow) = curve.axes.items()
    if tool in ("peak", "trough"):
        index = (analysis.peak_index if tool == "peak" else analysis.trough_index)(curve.values)
        return ScanPeak(tool, curve, curve.positions_at(index))
    image = analysis.mesh_image(fast, slow, curve.values, mesh, curve.backnforth)
    if tool == "com":
        at_fast, at_slow = analysis.mesh_com(image)
        return ScanPeak(tool, curve, {fast_name: at_fast, slow_name: at_slow})
    along_fast, along_slow = analysis.mesh_cen(image)
    positions = {fast_name: along_fast.position, slow_name: along_slow.position}
    return ScanPeak(
        tool, curve, positions, {fast_name: along_fast.fwhm, slow_name: along_slow.fwhm}
    )


def custom(
    scan: Any, function: Callable[..., Any], counter: Any = None, axis: Any = None
) -> ScanPeak:
    """Positions from `function`: `function(x, y)` returns a position on the reference axis
    (the other axes follow along the scan); for a mesh `function(fast, slow, values)`
    returns (fast, slow)."""
    curve = scan_curve(scan, counter, axis, "goto_custom")
    if curve.mesh is not None:
        (fast_name, fast), (slow_name, slow) = curve.axes.items()
        found = function(fast.copy(), slow.copy(), curve.values.copy())
        try:
            at_fast, at_slow = (_finite(value) for value in found)
        except (TypeError, ValueError):
            raise PeakError(
                f"goto_custom: {_describe(function)} must return (fast, slow) positions for a "
                f"mesh, got {found!r}"
            ) from None
        return ScanPeak("custom", curve, {fast_name: at_fast, slow_name: at_slow})
    found = function(curve.x.copy(), curve.values.copy())
    try:
        position = _finite(found)
    except (TypeError, ValueError):
        raise PeakError(
            f"goto_custom: {_describe(function)} must return a finite position, got {found!r}"
        ) from None
    return ScanPeak("custom", curve, curve.positions_along(position))


def _finite(value: Any) -> float:
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(number)
    return number


def _describe(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", None) or repr(function)
