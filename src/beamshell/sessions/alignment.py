"""cen, com, peak, fwhm, trough, goto_* and where: aligning on the last scan from the prompt."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from beamshell.analysis import PeakError
from beamshell.scanning import scan_peaks
from beamshell.sessions.table import format_position, format_table

if TYPE_CHECKING:
    from beamshell.scanning.context import ScansHistory
    from beamshell.scanning.scan_peaks import ScanPeak


class AlignmentCommands:
    """The peak tools of one session, on its last scan (or the scan given with scan=).

    Each tool prints one line and returns its number(s); the goto commands move the scan's
    axes there with `umv` (its display, its limit checks, Ctrl-C stops the move).
    """

    def __init__(self, scans: ScansHistory, umv: Callable[..., None], out: TextIO | None = None):
        self._scans = scans
        self._umv = umv
        self._out = out

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    def _scan(self, scan: Any, command: str) -> Any:
        if scan is not None:
            return scan
        if not len(self._scans):
            raise PeakError(f"{command}: no scan has run in this session yet")
        return self._scans[-1]

    def _tool(self, tool: str, counter: Any, axis: Any, scan: Any) -> Any:
        result = scan_peaks.find(self._scan(scan, tool), tool, counter, axis)
        print(result.line(), file=self.out)
        return result.value

    # -- the tools -----------------------------------------------------------------------------
    def peak(self, counter: Any = None, axis: Any = None, scan: Any = None) -> Any:
        """Position of the maximum of the counter in the last scan."""
        return self._tool("peak", counter, axis, scan)

    def trough(self, counter: Any = None, axis: Any = None, scan: Any = None) -> Any:
        """Position of the minimum of the counter in the last scan."""
        return self._tool("trough", counter, axis, scan)

    def com(self, counter: Any = None, axis: Any = None, scan: Any = None) -> Any:
        """Centre of mass of the counter (background subtracted) in the last scan."""
        return self._tool("com", counter, axis, scan)

    def cen(self, counter: Any = None, axis: Any = None, scan: Any = None) -> Any:
        """(centre, fwhm) of the counter's peak at half maximum in the last scan."""
        return self._tool("cen", counter, axis, scan)

    def fwhm(self, counter: Any = None, axis: Any = None, scan: Any = None) -> Any:
        """Full width at half maximum of the counter's peak in the last scan."""
        return self._tool("fwhm", counter, axis, scan)

    # -- moving there ----------------------------------------------------------------------------
    def goto_peak(self, counter: Any = None, axis: Any = None, scan: Any = None) -> None:
        """Move the scanned axes to the position of the counter's maximum."""
        self._goto("goto_peak", "peak", counter, axis, scan)

    def goto_min(self, counter: Any = None, axis: Any = None, scan: Any = None) -> None:
        """Move the scanned axes to the position of the counter's minimum."""
        self._goto("goto_min", "trough", counter, axis, scan)

    def goto_com(self, counter: Any = None, axis: Any = None, scan: Any = None) -> None:
        """Move the scanned axes to the counter's centre of mass."""
        self._goto("goto_com", "com", counter, axis, scan)

    def goto_cen(self, counter: Any = None, axis: Any = None, scan: Any = None) -> None:
        """Move the scanned axes to the centre of the counter's peak at half maximum."""
        self._goto("goto_cen", "cen", counter, axis, scan)

    def goto_custom(
        self,
        function: Callable[..., Any],
        counter: Any = None,
        axis: Any = None,
        scan: Any = None,
    ) -> None:
        """Move the scanned axes where `function(x, y)` says (x: positions of the axis, y:
        the counter's values; a mesh calls `function(fast, slow, values)` -> (fast, slow))."""
        if not callable(function):
            raise TypeError(f"goto_custom: {function!r} is not a function of (x, y)")
        scan = self._scan(scan, "goto_custom")
        axes = self._axes(scan, "goto_custom")
        result = scan_peaks.custom(scan, function, counter, axis)
        self._move_to("goto_custom", axes, result)

    def _goto(self, command: str, tool: str, counter: Any, axis: Any, scan: Any) -> None:
        scan = self._scan(scan, command)
        axes = self._axes(scan, command)
        result = scan_peaks.find(scan, tool, counter, axis)
        print(result.line(), file=self.out)
        self._move_to(command, axes, result)

    @staticmethod
    def _axes(scan: Any, command: str) -> dict[str, Any]:
        axes = scan_peaks.scan_axes(scan)
        if not axes:
            number = scan.scan_number if scan.scan_number is not None else "-"
            raise PeakError(f"{command}: scan {number} ({scan.name}) has no axis to move")
        return axes

    def _move_to(self, command: str, axes: dict[str, Any], result: ScanPeak) -> None:
        targets = {axes[name]: position for name, position in result.positions.items()}
        for axis, target in targets.items():
            try:  # every target is checked before anything moves or prints
                axis.check_limits(target)
            except ValueError as exc:
                raise ValueError(f"{command}: {exc}") from None
        for axis, target in targets.items():
            print(
                f"{command}: {axis.name} from {format_position(axis.position)} "
                f"to {format_position(target)}",
                file=self.out,
            )
        self._umv(*(item for pair in targets.items() for item in pair))

    # -- where -------------------------------------------------------------------------------------
    def where(self, counter: Any = None, scan: Any = None) -> None:
        """For the last scan: each axis's current position next to peak, cen and com."""
        scan = self._scan(scan, "where")
        axes = self._axes(scan, "where")
        found: dict[str, dict[str, float]] = {}
        problems = []
        counter_name = scan_peaks.scan_curve(scan, counter, tool="where").counter
        for tool in ("peak", "cen", "com"):
            try:
                found[tool] = scan_peaks.find(scan, tool, counter_name).positions
            except PeakError as exc:
                problems.append(str(exc))
        rows = [
            [name, format_position(axis.position)]
            + [format_position(found[tool][name]) if tool in found else "-"
               for tool in ("peak", "cen", "com")]
            for name, axis in axes.items()
        ]  # fmt: skip
        number = scan.scan_number if scan.scan_number is not None else "-"
        print(f"where: {counter_name} in scan {number} ({scan.title})", file=self.out)
        print(format_table(["axis", "current", "peak", "cen", "com"], rows), file=self.out)
        for problem in problems:
            print(problem, file=self.out)
