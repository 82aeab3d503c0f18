"""The live per-point table of a scan, printed by its own greenlet from the scan's memory."""

from __future__ import annotations

import datetime
import os
import stat
import time
from typing import TYPE_CHECKING, Any, TextIO, cast

import gevent
import gevent.event
import gevent.socket
import numpy as np

from beamshell.scanning.observers import DataBatch, ScanObserver
from beamshell.scanning.scan import ScanState
from beamshell.text import printable

if TYPE_CHECKING:
    from beamshell.scanning.channel import AcquisitionChannel
    from beamshell.scanning.scan import Scan

MIN_COLUMN_WIDTH = 12
COLUMN_SEPARATOR = "  "
ROWS_PER_WRITE = 64
# The scan waits this long at most for the header before its presets run, and for the last
# rows and the footer before its presets' stop: a blocked terminal delays them, no more.
HEADER_WAIT_S = 1.0
FOOTER_WAIT_S = 2.0


def format_value(value: Any) -> str:
    if isinstance(value, int | np.integer):
        return str(value)
    return f"{float(value):g}"


def saved_line(scan: Scan) -> str:
    """Where the scan went: its file and entry, or why it was not saved."""
    info = scan.scan_info
    if not info.get("save"):
        reason = "writer is null" if info.get("writer") == "null" else "save=False"
        return f"Not saved ({reason})"
    where = f"{info['filename']}::/{info['scan_nb']}.1"
    state = scan.env.writer_state() if scan.env.writer_state is not None else "not running"
    if state == "running":
        return f"Saved in {where}"
    if state == "starting":
        return f"Saved in {where} (the writer is starting: it catches up)"
    return f"Not saved yet: no writer runs for session {scan.env.session_name} ({where})"


def format_duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=max(seconds, 0.0)))


def _label(name: str, unit: str | None) -> str:
    return printable(f"{name}[{unit}]" if unit else name)


class _Column:
    __slots__ = ("label", "channel", "width")

    def __init__(self, label: str, channel: AcquisitionChannel | None):
        self.label = label
        self.channel = channel
        self.width = max(MIN_COLUMN_WIDTH, len(label))


def table_columns(scan: Scan) -> list[_Column]:
    """`#`, dt[s], the axes, then every other scalar channel marked for display."""
    columns = [_Column("#", None)]
    timer = scan.elapsed_time_channel
    if timer is not None:
        columns.append(_Column("dt[s]", timer))
    axes = [c for c in scan.channels if c.role == "axis"]
    others = [c for c in scan.channels if c.displayed and c.role is None]
    columns += [_Column(_label(c.name, c.unit), c) for c in axes + others]
    return columns


def _estimate_line(scan: Scan) -> str:
    """`Total 21 points, 0:00:03.2 (motion ..., count ...)` and a newline, for a step scan."""
    from beamshell.scanning.estimate import is_step_scan

    estimate = scan.estimate() if is_step_scan(scan) else None
    return f"{estimate}\n" if estimate is not None else ""


def _warning_lines(scan: Scan) -> str:
    """`Warning: ...` lines for what the scan found odd in its own arguments (scan_info)."""
    warnings = scan.scan_info.get("warnings") or []
    if isinstance(warnings, str):  # one given by hand in scan_info
        warnings = [warnings]
    return "".join(f"Warning: {printable(str(text))}\n" for text in warnings)


def _blocking_stream(stream: TextIO) -> int | None:
    """The file descriptor of a terminal/pipe/socket stream (writes to those may block)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return fd
    return None


class ScanDisplay(ScanObserver):
    """Prints header, rows as points arrive, and footer, from a greenlet of its own.

    A scan observer: the header when the scan starts preparing, rows after each data batch,
    the footer when the acquisition ends (before the presets' stop). The rows come from the
    scan's channel buffers, never from Redis. Before each write to a terminal or pipe the
    greenlet waits (cooperatively) until it is writable, so a terminal that stops reading
    makes the table lag while the acquisition goes on.
    """

    def __init__(self, scan: Scan):
        self.scan = scan
        self.columns = table_columns(scan)
        self.wake = gevent.event.Event()
        self._header_written = gevent.event.Event()
        self._finished = False
        self._took: float | None = None
        self._printed = 0
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self.error: BaseException | None = None

    # -- as an observer --------------------------------------------------------------------
    def on_state(self, scan: Scan, state: ScanState) -> None:
        if state is ScanState.PREPARING:
            self.start()

    def on_data(self, scan: Scan, batch: DataBatch) -> None:
        self.wake.set()

    def on_end(self, scan: Scan) -> None:
        self.finish(scan.elapsed)

    # -- called by the scan ----------------------------------------------------------------
    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)
        self._header_written.wait(timeout=HEADER_WAIT_S)

    def finish(self, took: float) -> None:
        """The chain has stopped: print the remaining rows and the footer (bounded wait)."""
        self._took = took
        self._finished = True
        self.wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout=FOOTER_WAIT_S)

    # -- the display greenlet --------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._write(self._header())
            self._header_written.set()
            while True:
                self.wake.wait()
                self.wake.clear()
                self._print_new_rows()
                if self._finished:
                    self._print_new_rows()
                    took = format_duration(self._took or 0.0)
                    self._write(f"Took {took}\n{saved_line(self.scan)}\n")
                    return
        except Exception as exc:  # noqa: BLE001  (a broken terminal must not fail the scan)
            self.error = exc
        finally:
            self._header_written.set()

    def _header(self) -> str:
        scan = self.scan
        env = scan.env
        started = time.ctime(scan.start_time or time.time())
        filename = scan.scan_info.get("filename") or "not saved"
        header = COLUMN_SEPARATOR.join(f"{col.label:>{col.width}}" for col in self.columns)
        return (
            f"\nScan {scan.scan_number} {started} {filename} {env.session_name} "
            f"user = {env.user}\n{printable(scan.title)}\n{_estimate_line(scan)}"
            f"{_warning_lines(scan)}\n{header}\n"
        )

    def _available_rows(self) -> int:
        channels = [col.channel for col in self.columns if col.channel is not None]
        return min((len(ch) for ch in channels), default=self.scan.npoints_done)

    def _print_new_rows(self) -> None:
        while True:
            available = self._available_rows()
            if available <= self._printed:
                return
            end = min(available, self._printed + ROWS_PER_WRITE)
            self._write(self._rows(self._printed, end))
            self._printed = end

    def _rows(self, start: int, end: int) -> str:
        columns = self.columns[1:]
        # Every column but the first (#) shows a channel.
        data = [cast("AcquisitionChannel", col.channel).data[start:end] for col in columns]
        index_width = self.columns[0].width
        lines = []
        for offset, index in enumerate(range(start, end)):
            cells = [f"{index:>{index_width}}"]
            cells += [
                f"{format_value(values[offset]):>{col.width}}"
                for col, values in zip(columns, data, strict=True)
            ]
            lines.append(COLUMN_SEPARATOR.join(cells))
        return "\n".join(lines) + "\n"

    def _write(self, text: str) -> None:
        stream = self.scan.env.stream
        fd = _blocking_stream(stream)
        if fd is not None:
            gevent.socket.wait_write(fd)
        stream.write(text)
        stream.flush()
