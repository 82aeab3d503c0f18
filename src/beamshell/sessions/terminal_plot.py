"""A scan drawn as text for the terminal (plotext): counters against the scan's axis, with the
peak, cen and com marked; a mesh as a heat map."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from beamshell.analysis import PeakError, mesh_image
from beamshell.scanning import scan_peaks

if TYPE_CHECKING:
    from beamshell.scanning.scan_peaks import ScanCurve

# Where the markers are, and in which colour plotext draws them.
MARKERS = (("peak", "red"), ("cen", "green"), ("com", "blue"))
# A perceptually even colour scale for heat maps (viridis' ends and three stops between).
HEAT_COLOURS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float
)
HEAT_OVERSAMPLING = 1.2  # cells drawn per character, so that the map has no gaps
MIN_WIDTH, MIN_HEIGHT = 30, 8
TITLE_MARGIN = 10


def _plotext() -> Any:  # plotext ships no type information
    import plotext  # imported on first plot: the shell starts without it

    return plotext


def plotted_counters(scan: Any, counter: Any = None) -> list[str]:
    """The counter asked for, else the plotselected ones the scan has, else its first."""
    if counter is not None:
        return [scan_peaks.scan_curve(scan, counter, tool="plot").counter]
    selected = scan_peaks.selected_counters(scan)
    names = [channel.name for channel in scan_peaks.counter_channels(scan)]
    chosen = [name for name in selected if name in names]
    return chosen or [scan_peaks.scan_curve(scan, tool="plot").counter]


def render_scan(
    scan: Any, width: int, height: int, counter: Any = None, markers: bool = True
) -> str:
    """The scan as coloured text of `width` x `height` characters: the plot, and under it a
    line saying where the markers are (or what the heat map's colours mean)."""
    width, height = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    counters = plotted_counters(scan, counter)
    curve = scan_peaks.scan_curve(scan, counters[0], tool="plot")
    if curve.mesh is not None:
        planned = scan_peaks.planned_positions(scan)
        return _plot(width, height - 1, scan, curve, lambda plt: _draw_heat_map(
            plt, curve, planned, width, height - 1))  # fmt: skip
    found = _markers(scan, curve) if markers else []
    return _plot(
        width, height - 1 if found else height, scan, curve,
        lambda plt: _draw_lines(plt, scan, counters, curve, found),
    )  # fmt: skip


def _plot(width: int, height: int, scan: Any, curve: ScanCurve, draw: Callable[[Any], str]) -> str:
    """Draw with plotext on `height` lines, then the caption `draw` returns, if any."""
    plt = _plotext()
    plt.clear_figure()
    plt.limitsize(False, False)
    plt.plotsize(width, height)
    plt.theme("clear")  # the terminal's own background: readable on dark and light ones
    caption = draw(plt)
    title = f"{curve.label}: {scan.title}"
    limit = width - TITLE_MARGIN  # plotext leaves out a title that does not fit
    plt.title(title if len(title) <= limit else title[: limit - 3] + "...")
    text = plt.build().rstrip("\n")
    return f"{text}\n{caption[: width - 1]}" if caption else text


def _markers(scan: Any, curve: ScanCurve) -> list[tuple[str, str, float]]:
    """(tool, colour, position on the reference axis) of peak, cen and com, when found."""
    found: list[tuple[str, str, float]] = []
    for tool, colour in MARKERS:
        try:
            position = scan_peaks.find(scan, tool, curve.counter, curve.reference).positions
        except PeakError:
            continue  # bad data: the curve is drawn without this marker
        found.append((tool, colour, position[curve.reference]))
    return found


def _draw_lines(
    plt: Any,
    scan: Any,
    counters: list[str],
    curve: ScanCurve,
    markers: list[tuple[str, str, float]],
) -> str:
    for name in counters:
        line = scan_peaks.scan_curve(scan, name, curve.reference, tool="plot")
        usable = np.isfinite(line.x) & np.isfinite(line.values)
        if usable.any():
            plt.plot(line.x[usable].tolist(), line.values[usable].tolist(), label=name)
    plt.xlabel(curve.reference)
    for _tool, colour, position in markers:
        plt.vline(position, colour)
    if not markers:
        return ""
    where = ", ".join(f"{tool} {position:.5g} ({colour})" for tool, colour, position in markers)
    return f"{curve.counter}: {where}"


def _draw_heat_map(
    plt: Any, curve: ScanCurve, planned: dict[str, np.ndarray], width: int, height: int
) -> str:
    (fast_name, fast), (slow_name, slow) = curve.axes.items()
    fast, slow = planned.get(fast_name, fast), planned.get(slow_name, slow)
    assert curve.mesh is not None  # only a mesh is drawn as a heat map (render_scan)
    mesh = mesh_image(fast, slow, curve.values, curve.mesh, curve.backnforth)
    columns = _cell_edges(mesh.fast)
    rows = _cell_edges(mesh.slow)
    finite = mesh.image[np.isfinite(mesh.image)]
    if columns is None or rows is None or not len(finite):
        return f"{curve.counter}: no point yet"
    low, high = float(finite.min()), float(finite.max())
    nx = int((width - 10) * HEAT_OVERSAMPLING)
    ny = int((height - 5) * HEAT_OVERSAMPLING)
    grid_x = np.linspace(columns[0], columns[-1], nx)
    grid_y = np.linspace(rows[0], rows[-1], ny)
    column = np.clip(np.searchsorted(columns, grid_x, side="right") - 1, 0, len(mesh.fast) - 1)
    row = np.clip(np.searchsorted(rows, grid_y, side="right") - 1, 0, len(mesh.slow) - 1)
    values = mesh.image[row][:, column]
    drawn = np.isfinite(values)
    xs, ys = np.meshgrid(grid_x, grid_y)
    colours = _heat_colours(values[drawn], low, high)
    plt.scatter(xs[drawn].tolist(), ys[drawn].tolist(), marker="sd", color=colours)
    plt.xlabel(fast_name)
    plt.ylabel(slow_name)
    return f"{curve.counter}: {low:.4g} (dark) .. {high:.4g} (yellow)"


def _cell_edges(centres: np.ndarray) -> np.ndarray | None:
    """Boundaries between the cells of a mesh axis (midway between positions), ascending."""
    known = np.isfinite(centres)
    if not known.any():
        return None
    index = np.arange(len(centres))
    if known.sum() == 1:
        step = 1.0
        centres = centres[known][0] + (index - index[known][0]) * step
    else:
        centres = np.interp(index, index[known], centres[known])  # a row not reached yet
        slope = np.polyfit(index[known], centres[known], 1)[0]
        centres = np.where(known, centres, centres[known][0] + (index - index[known][0]) * slope)
    if centres[0] > centres[-1]:
        centres = centres[::-1]
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middles = (centres[1:] + centres[:-1]) / 2
    return np.concatenate(
        [[centres[0] - (middles[0] - centres[0])], middles,
         [centres[-1] + (centres[-1] - middles[-1])]]
    )  # fmt: skip


def _heat_colours(values: np.ndarray, low: float, high: float) -> list[tuple[int, int, int]]:
    share = (values - low) / (high - low) if high > low else np.zeros_like(values)
    position = share * (len(HEAT_COLOURS) - 1)
    below = np.clip(np.floor(position).astype(int), 0, len(HEAT_COLOURS) - 2)
    blend = (position - below)[:, None]
    rgb = HEAT_COLOURS[below] * (1 - blend) + HEAT_COLOURS[below + 1] * blend
    return [(int(red), int(green), int(blue)) for red, green, blue in rgb.round()]
