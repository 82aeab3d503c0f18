"""cen and fwhm: the centre and the width of a peak at half its height, between interpolated
crossings of the half-maximum level.

The height is measured from the background (`peaks.background`) to the top of the peak. The
top and each crossing are refined by a least-squares fit of a parabola to log(y - background)
over the nearby points (the top: points above 70 % of the height; a crossing: the points of
that flank between 25 % and 85 %). A gaussian is a parabola in that space, so a noise-free
gaussian gives its exact centre and width even with few points; on noisy data the fit
averages the noise of several points. Where too few points are there to fit (a sharp slit
edge), the crossing is the straight line between the two points around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from beamshell.analysis.checks import PeakError, clean_xy
from beamshell.analysis.peaks import background, peak_index

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

TOP_SHARE = 0.7
FLANK_LOW = 0.25
FLANK_HIGH = 0.85
MIN_FIT_LEVEL = 0.05  # points closer to the background than this are not fitted in log space


class HalfMax(NamedTuple):
    """Where a peak is at half its height: `position` (cen) is the middle of `left`..`right`."""

    position: float
    fwhm: float
    left: float
    right: float
    height: float
    background: float


def fwhm(x: ArrayLike, y: ArrayLike) -> float:
    """Full width of the peak at half its height (see `cen`)."""
    return cen(x, y).fwhm


def cen(x: ArrayLike, y: ArrayLike) -> HalfMax:
    """Centre and width at half maximum of the highest peak of `y` over `x`."""
    x, y = clean_xy(x, y)
    if x[0] == x[-1]:
        raise PeakError(f"every position is {x[0]:g}: the axis did not move")
    base = background(y)
    top_index = peak_index(y)
    top = _refined_top(x, y, base, top_index)
    height = top - base
    if not height > 0:
        raise PeakError("no peak above the background")
    half = base + height / 2
    left_outer = _first_below(y, top_index, half, -1)
    if left_outer is None:
        raise PeakError(
            f"no crossing at half maximum before the peak: the peak is at the start of the "
            f"scan ({x[0]:g}); scan further"
        )
    right_outer = _first_below(y, top_index, half, +1)
    if right_outer is None:
        raise PeakError(
            f"no crossing at half maximum after the peak: the peak is at the end of the "
            f"scan ({x[-1]:g}); scan further"
        )
    levels = (y - base) / height
    left = _crossing(x, y, levels, half, (left_outer + 1, left_outer), top_index, base)
    right = _crossing(x, y, levels, half, (right_outer - 1, right_outer), top_index, base)
    return HalfMax((left + right) / 2, right - left, left, right, height, base)


def _first_below(y: np.ndarray, start: int, level: float, step: int) -> int | None:
    """Walking from `start` by `step`, the first index whose value is at or below `level`."""
    index = start + step
    while 0 <= index < len(y):
        if y[index] <= level:
            return index
        index += step
    return None


def _refined_top(x: np.ndarray, y: np.ndarray, base: float, index: int) -> float:
    """The height of the top, from a log-parabola through the points near the maximum."""
    highest = y[index]
    share = (y - base) / (highest - base) if highest > base else np.zeros_like(y)
    chosen = _run(share, index, lambda s: s >= TOP_SHARE)
    if len(chosen) < 3:
        chosen = np.arange(max(index - 1, 0), min(index + 2, len(y)))
    fit = _log_parabola(x[chosen], y[chosen], base, x[index])
    if fit is None:
        return float(highest)
    a, b, c, scale = fit
    if not a < 0:
        return float(highest)
    vertex = -b / (2 * a)
    low, high = (x[chosen].min() - x[index]) / scale, (x[chosen].max() - x[index]) / scale
    if not low <= vertex <= high:
        return float(highest)
    return float(base + math.exp(c - b * b / (4 * a)))


def _run(values: np.ndarray, index: int, keep: Callable[[float], bool]) -> np.ndarray:
    """Indices of the contiguous run around `index` where `keep(value)` holds."""
    first = last = index
    while first - 1 >= 0 and keep(values[first - 1]):
        first -= 1
    while last + 1 < len(values) and keep(values[last + 1]):
        last += 1
    return np.arange(first, last + 1)


def _log_parabola(
    x: np.ndarray, y: np.ndarray, base: float, origin: float
) -> tuple[float, float, float, float] | None:
    """(a, b, c, scale): log(y - base) ~ a u^2 + b u + c with u = (x - origin) / scale; None
    when it cannot be fitted (a value at or under the background, fewer than 3 positions)."""
    above = y - base
    if len(x) < 3 or np.any(above <= 0) or len(np.unique(x)) < 3:
        return None
    scale = float(np.ptp(x)) or 1.0
    a, b, c = np.polyfit((x - origin) / scale, np.log(above), 2)
    return float(a), float(b), float(c), scale


def _crossing(
    x: np.ndarray,
    y: np.ndarray,
    levels: np.ndarray,
    half: float,
    bracket: tuple[int, int],
    top: int,
    base: float,
) -> float:
    """Where the flank crosses the half-maximum level between the points of `bracket`:
    (inner, above half; outer, at or below). The fit uses the flank's points between the
    band's levels, on this side of the `top` only."""
    inner, outer = bracket
    step = 1 if outer > inner else -1
    flank = []
    index = outer
    while 0 <= index < len(y) and FLANK_LOW <= levels[index] <= FLANK_HIGH:
        flank.append(index)
        index += step
    index = inner
    while index != top and FLANK_LOW <= levels[index] <= FLANK_HIGH:
        flank.append(index)
        index -= step
    straight = x[inner] + (half - y[inner]) * (x[outer] - x[inner]) / (y[outer] - y[inner])
    origin = (x[inner] + x[outer]) / 2
    if len(flank) < 3:
        flank = _nearest_on_flank(x, levels, origin, top, step)
        if len(flank) < 3:
            return float(straight)
    flank_x, flank_y = x[flank], y[flank]
    fit = _log_parabola(flank_x, flank_y, base, origin)
    if fit is None:
        return float(straight)
    a, b, c, scale = fit
    roots = _quadratic_roots(a, b, c - math.log(half - base))
    gap = abs(x[outer] - x[inner])
    low = (min(flank_x.min(), x[inner], x[outer]) - gap / 2 - origin) / scale
    high = (max(flank_x.max(), x[inner], x[outer]) + gap / 2 - origin) / scale
    inside = [root for root in roots if low <= root <= high]
    if not inside:
        return float(straight)
    return float(origin + min(inside, key=abs) * scale)


def _nearest_on_flank(
    x: np.ndarray, levels: np.ndarray, origin: float, top: int, step: int
) -> list[int]:
    """Few points on the flank (coarse steps): the 3 nearest to `origin`, from the top
    outwards, that stand clear of the background (a sharp edge has none: straight line)."""
    side = np.arange(top, len(x)) if step > 0 else np.arange(0, top + 1)
    side = side[levels[side] >= MIN_FIT_LEVEL]
    return list(side[np.argsort(np.abs(x[side] - origin), kind="stable")[:3]])


def _quadratic_roots(a: float, b: float, c: float) -> list[float]:
    """Real roots of a u^2 + b u + c = 0, computed without cancellation."""
    if abs(a) <= 1e-12 * max(abs(b), abs(c), 1e-300):
        return [-c / b] if b else []
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    roots = [q / a]
    if q:
        roots.append(c / q)
    return roots
