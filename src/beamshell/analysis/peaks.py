"""Position of the maximum and of the minimum, centre of mass, and the background under a peak."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from beamshell.analysis.checks import PeakError, check_values, clean_xy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

# Share of the points at each end of a scan that tell its background level.
EDGE_SHARE = 0.1


def background(y_sorted: ArrayLike) -> float:
    """The level under a peak: the lower of the mean levels at the two ends of the scan.

    The lower end, because an alignment scan often starts or stops on a flank of the peak;
    a mean over several points, so that noise does not pull it down as the minimum would.
    """
    y = np.asarray(y_sorted, dtype=float)
    count = max(1, int(len(y) * EDGE_SHARE))
    return float(min(y[:count].mean(), y[-count:].mean()))


def _plateau_middle(values: np.ndarray, target: float) -> int:
    """Index of the middle of the first run of points equal to `target` (a flat top's centre)."""
    first = int(np.argmax(values == target))
    last = first
    while last + 1 < len(values) and values[last + 1] == target:
        last += 1
    return (first + last) // 2


def peak_index(y: ArrayLike) -> int:
    """Index of the maximum (NaN ignored); on a flat top, the middle of the top."""
    y = np.asarray(y, dtype=float).ravel()
    check_values(y)
    values = np.where(np.isfinite(y), y, -np.inf)
    return _plateau_middle(values, values.max())


def trough_index(y: ArrayLike) -> int:
    """Index of the minimum (NaN ignored); on a flat bottom, the middle of the bottom."""
    y = np.asarray(y, dtype=float).ravel()
    check_values(y)
    values = np.where(np.isfinite(y), y, np.inf)
    return _plateau_middle(values, values.min())


def _position(x: ArrayLike, index: int, count: int) -> float:
    x = np.asarray(x, dtype=float).ravel()
    if len(x) != count:
        raise PeakError(f"{len(x)} positions for {count} values")
    return float(x[index])


def peak(x: ArrayLike, y: ArrayLike) -> float:
    """Position of the maximum of `y` (a measured point, not interpolated)."""
    return _position(x, peak_index(y), np.size(y))


def trough(x: ArrayLike, y: ArrayLike) -> float:
    """Position of the minimum of `y` (a measured point, not interpolated)."""
    return _position(x, trough_index(y), np.size(y))


def interval_weights(x_sorted: np.ndarray) -> np.ndarray:
    """The stretch of x that each point stands for (trapezoid rule), so that uneven steps
    (a pointscan) weigh each point by the ground it covers."""
    x = x_sorted
    widths = np.empty_like(x)
    widths[1:-1] = (x[2:] - x[:-2]) / 2
    widths[0] = (x[1] - x[0]) / 2
    widths[-1] = (x[-1] - x[-2]) / 2
    return widths


def com(x: ArrayLike, y: ArrayLike) -> float:
    """Centre of mass of `y` over `x`, after subtracting the background (see `background`)."""
    x, y = clean_xy(x, y)
    if x[0] == x[-1]:
        raise PeakError(f"every position is {x[0]:g}: the axis did not move")
    weights = (y - background(y)) * interval_weights(x)
    mass = weights.sum()
    if not mass > 0:
        raise PeakError("no signal above the background")
    return float((weights * x).sum() / mass)
