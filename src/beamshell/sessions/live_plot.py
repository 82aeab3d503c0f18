"""plot(live=True): the running scan drawn in a panel above the shell's toolbar, a few times a
second at most, and its final drawing printed once it has ended."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from beamshell.analysis import PeakError

if TYPE_CHECKING:
    from beamshell.scanning.context import ScanEnvironment
    from beamshell.scanning.scan import Scan

MIN_INTERVAL_S = 0.3  # between two drawings
# A drawing costs the hub some milliseconds during which the scan's greenlet waits: the next
# one comes no sooner than this many times that cost, so drawing takes at most ~5 % of the
# time whatever the terminal's size.
COST_FACTOR = 20


class LivePlot:
    """Follows `scan_env.current_scan`; the shell asks `panel(width, height)` for the text
    to show (empty when there is nothing to draw) each time it redraws its toolbar."""

    def __init__(self, scan_env: ScanEnvironment, out: TextIO | None = None):
        self._scan_env = scan_env
        self._out = out
        self.enabled = False
        self._scan: Scan | None = None
        self._text = ""
        self._size: tuple[int, int] = (0, 0)
        self._drawn_points = -1
        self._next_drawing = 0.0

    def start(self) -> None:
        self.enabled = True

    def stop(self) -> None:
        self.enabled = False
        self._scan, self._text = None, ""

    def panel(self, width: int, height: int) -> str:
        """The drawing of the running scan at this size (redrawn when due), else ''."""
        if not self.enabled:
            return ""
        scan = self._scan_env.current_scan
        if scan is not self._scan:
            self._finish_previous()
            self._scan, self._text, self._drawn_points = scan, "", -1
        if scan is None:
            return ""
        now = time.monotonic()
        points = scan.npoints_done
        changed = points != self._drawn_points or (width, height) != self._size
        if changed and now >= self._next_drawing:
            self._text = self._draw(scan, width, height, markers=False)
            cost = time.monotonic() - now
            self._next_drawing = now + max(MIN_INTERVAL_S, COST_FACTOR * cost)
            self._size, self._drawn_points = (width, height), points
        return self._text

    def _finish_previous(self) -> None:
        """The scan followed so far has ended: leave its final drawing in the output."""
        scan, size = self._scan, self._size
        if scan is None or size == (0, 0):
            return
        text = self._draw(scan, *size, markers=True)
        if text:
            print(text, file=self._out or sys.stdout, flush=True)

    @staticmethod
    def _draw(scan: Scan, width: int, height: int, markers: bool) -> str:
        from beamshell.sessions.terminal_plot import render_scan

        if scan.npoints_done == 0:
            return ""
        try:
            return render_scan(scan, width, height, markers=markers)
        except PeakError:  # no counter to draw: nothing to show
            return ""
