"""plot(): the last scan (or one given) drawn in the terminal; plot(live=True) follows scans."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING, Any, TextIO

from beamshell.analysis import PeakError
from beamshell.sessions.live_plot import LivePlot

if TYPE_CHECKING:
    from beamshell.scanning.context import ScansHistory

# Lines kept free: the command above the plot, and under it the prompt's area (its input
# takes at least 6 lines, then the toolbar), so that all of it shows on one screen.
ROWS_LEFT_FREE = 8


def terminal_size() -> tuple[int, int]:
    """(columns, rows) of the terminal (COLUMNS/LINES win, as for every program)."""
    size = shutil.get_terminal_size()
    return size.columns, size.lines


class PlotCommand:
    """`plot(scan=None, counter=None, live=None)` of one session."""

    def __init__(self, scans: ScansHistory, live: LivePlot, out: TextIO | None = None):
        self._scans = scans
        self.live = live
        self._out = out

    def plot(self, scan: Any = None, counter: Any = None, live: bool | None = None) -> None:
        """Draw a scan in the terminal (default: the last one; its plotselected counters,
        else its first): a line plot with peak, cen and com marked, a mesh as a heat map.
        plot(live=True) draws every scan above the toolbar while it runs; live=False stops."""
        out = self._out or sys.stdout
        if live is not None:
            if live:
                self.live.start()
                print("live plot on: scans are drawn above the toolbar as they run "
                      "(plot(live=False) to stop)", file=out)  # fmt: skip
            else:
                self.live.stop()
                print("live plot off", file=out)
            if scan is None and counter is None:
                return
        scan = self._find(scan)
        from beamshell.sessions.terminal_plot import render_scan

        columns, rows = terminal_size()
        # One column short of the width: a line that fills the last column would make some
        # terminals wrap an empty line after it.
        text = render_scan(scan, columns - 1, rows - ROWS_LEFT_FREE, counter=counter)
        print(text, file=out)

    def _find(self, scan: Any) -> Any:
        if scan is None:
            if not len(self._scans):
                raise PeakError("plot: no scan has run in this session yet")
            return self._scans[-1]
        if isinstance(scan, int) and not isinstance(scan, bool):
            for candidate in self._scans:
                if candidate.scan_number == scan:
                    return candidate
            raise PeakError(f"plot: scan {scan} is not among the recent scans (SCANS)")
        if not hasattr(scan, "channels"):
            raise TypeError(f"plot: {scan!r} is not a scan (give a scan or a scan number)")
        return scan
