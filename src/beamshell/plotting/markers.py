"""Peak, cen and com of the curves a page shows: the session's own functions (beamshell.analysis).

beamshell.analysis is imported when markers are first asked for: an installation without
it still serves its pages, without markers (the page then shows none).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from beamshell.plotting.model import ScanModel

CACHE_SIZE = 32
# While a scan runs, markers computed this recently are given to every page that asks,
# whatever points came since: each page asks twice a second, and on a 100,000-point scan
# one computation takes milliseconds of the scan's machine. An ended scan's are exact.
RUNNING_REUSE_S = 0.5

# Cached markers: (scan, x, monitor, counter) -> (points, ended, computed at, markers).
_Key = tuple[str, str, str | None, str]
_Found = tuple[int, bool, float, dict[str, Any]]


def curve(scan: ScanModel, x: str, counter: str, monitor: str | None) -> tuple[Any, Any]:
    """(x, y) as the page draws them: `counter` against `x`, divided by `monitor` if given."""
    xs = scan.series[x].values
    ys = scan.series[counter].values
    n = min(len(xs), len(ys))
    if monitor:
        mon = scan.series[monitor].values
        n = min(n, len(mon))
        with np.errstate(divide="ignore", invalid="ignore"):
            ys = np.where(mon[:n] != 0, ys[:n] / mon[:n], np.nan)
    return xs[:n], ys[:n]


def _safely(function: Callable[..., Any], *args: Any) -> Any:
    from beamshell.analysis import PeakError

    try:
        return function(*args)
    except PeakError:  # too few points yet, a flat curve, no half-maximum crossing...
        return None


def counter_markers(xs: np.ndarray, ys: np.ndarray) -> dict[str, Any]:
    """{"peak": {"x", "y"}, "cen": {"x", "fwhm"}, "com": x, "points": n}; None where it
    cannot be said (too few points yet, a flat curve...)."""
    from beamshell.analysis import cen, com, peak

    at_peak = _safely(peak, xs, ys)
    peak_y = None
    if at_peak is not None:
        matches = np.flatnonzero(xs == at_peak)
        peak_y = float(ys[matches[0]]) if len(matches) else None
    half = _safely(cen, xs, ys)
    return {
        "peak": None if at_peak is None else {"x": float(at_peak), "y": peak_y},
        "cen": None if half is None else {"x": float(half.position), "fwhm": float(half.fwhm)},
        "com": _safely(com, xs, ys),
        "points": len(xs),
    }


class MarkerCache:
    """Markers per (scan, x, monitor, counter): computed once however many pages ask, again
    when points came (at most every RUNNING_REUSE_S while the scan runs) and at its end."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache: OrderedDict[_Key, _Found] = OrderedDict()
        self._clock = clock

    def markers(
        self, scan: ScanModel, x: str, counters: list[str], monitor: str | None
    ) -> dict[str, Any]:
        """{"x", "monitor", "counters": {name: markers}} for the counters the scan has."""
        if x not in scan.series:
            raise KeyError(f"scan '{scan.id}' has no channel '{x}'")
        if monitor and monitor not in scan.series:
            raise KeyError(f"scan '{scan.id}' has no channel '{monitor}'")
        result = {}
        for counter in counters:
            if counter not in scan.series or counter in (x, monitor):
                continue
            key = (scan.id, x, monitor, counter)
            points, now = scan.series[counter].length, self._clock()
            found = self._cache.get(key)
            if found is None or not self._still_good(found, points, scan.ended, now):
                found = (
                    points,
                    scan.ended,
                    now,
                    counter_markers(*curve(scan, x, counter, monitor)),
                )
                self._cache[key] = found
                self._cache.move_to_end(key)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            result[counter] = found[3]
        return {"x": x, "monitor": monitor or "", "counters": result}

    @staticmethod
    def _still_good(found: _Found, points: int, ended: bool, now: float) -> bool:
        had_points, had_ended, computed_at, _ = found
        if (had_points, had_ended) == (points, ended):
            return True
        return not ended and now - computed_at < RUNNING_REUSE_S
