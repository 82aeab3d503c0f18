"""What the plot server holds of a session: scans' points, spectra, history, in bounded memory."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Any

import gevent.event
import numpy as np

# The history the page lists: newest scans only; older ones stay in Redis.
HISTORY_SIZE = 300
# Waterfall of a 1-D channel: at most this many rows (each the mean of `bin` spectra) and
# columns (each the mean of adjacent channels), whatever the number of spectra.
WATERFALL_ROWS = 256
WATERFALL_COLUMNS = 1024
SCAN_KINDS = ("scan", "scan_group")


class SeriesBuffer:
    """The points of a scalar channel, in index order, as float64 (amortised growth)."""

    def __init__(self, capacity: int = 64):
        self._data = np.empty(max(capacity, 16), dtype=np.float64)
        self.length = 0

    def extend(self, first_index: int, values: np.ndarray) -> None:
        """Points `first_index...`; ones already held are skipped (a re-read never duplicates)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        skip = self.length - first_index
        if skip > 0:
            values = values[skip:]
        if not len(values):
            return
        end = self.length + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data)), dtype=np.float64)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length : end] = values
        self.length = end

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.length]


class SpectrumBuffer:
    """A 1-D channel (MCA): its last spectrum and a waterfall of all, binned to a fixed size.

    Row k of the waterfall is the mean of spectra k*bin .. (k+1)*bin - 1; when the rows are
    full, pairs of rows merge and `bin` doubles, so memory stays WATERFALL_ROWS x columns.
    `version` changes at each merge (a page then needs every row again).
    """

    def __init__(self, size: int):
        self.size = int(size)
        self.column_bin = max(1, -(-self.size // WATERFALL_COLUMNS))
        self.columns = -(-self.size // self.column_bin)
        self._sums = np.zeros((WATERFALL_ROWS, self.columns), dtype=np.float64)
        self._counts = np.zeros(WATERFALL_ROWS, dtype=np.int64)
        self.bin = 1
        self.count = 0
        self.version = 0
        self.last: np.ndarray = np.zeros(self.size, dtype=np.float64)

    @property
    def rows(self) -> int:
        return -(-self.count // self.bin) if self.count else 0

    def _reduce_columns(self, spectra: np.ndarray) -> np.ndarray:
        pad = self.columns * self.column_bin - self.size
        if pad:
            spectra = np.pad(spectra, ((0, 0), (0, pad)), constant_values=np.nan)
        reshaped = spectra.reshape(len(spectra), self.columns, self.column_bin)
        reduced: np.ndarray = np.nanmean(reshaped, axis=2) if pad else reshaped.mean(axis=2)
        return reduced

    def extend(self, first_index: int, spectra: np.ndarray) -> None:
        spectra = np.asarray(spectra, dtype=np.float64).reshape(-1, self.size)
        skip = self.count - first_index
        if skip > 0:
            spectra = spectra[skip:]
        if not len(spectra):
            return
        self.last = spectra[-1].copy()
        reduced = self._reduce_columns(spectra)
        for row_values in reduced:
            if self.count // self.bin >= WATERFALL_ROWS:
                self._merge_rows()
            row = self.count // self.bin
            self._sums[row] += row_values
            self._counts[row] += 1
            self.count += 1

    def _merge_rows(self) -> None:
        half = WATERFALL_ROWS // 2
        self._sums[:half] = self._sums[0::2] + self._sums[1::2]
        self._counts[:half] = self._counts[0::2] + self._counts[1::2]
        self._sums[half:] = 0
        self._counts[half:] = 0
        self.bin *= 2
        self.version += 1

    def waterfall(self, first_row: int = 0) -> np.ndarray:
        """Rows first_row.. of the waterfall (the mean of their spectra), float32."""
        rows = self.rows
        counts = np.maximum(self._counts[first_row:rows], 1)[:, None]
        return (self._sums[first_row:rows] / counts).astype(np.float32)


class ScanModel:
    """One scan or group: its info, channels and what it has received."""

    def __init__(self, db_name: str, kind: str, info: dict[str, Any]):
        self.id = db_name
        self.kind = kind  # "scan" or "scan_group"
        self.info = dict(info)
        self.channels: dict[str, dict[str, Any]] = {}  # short name -> {shape, unit, dtype, db}
        self._channel_names: dict[str, str] = {}  # channel db_name -> short name
        self.series: dict[str, SeriesBuffer] = {}
        self.spectra: dict[str, SpectrumBuffer] = {}
        self.members: list[str] = []  # a group's scans, in order
        # Channels whose points are not read: the plot server reads what some page shows.
        self.unread: set[str] = set()
        self.ended = False
        self.info_read_at = time.monotonic()

    def add_channel(
        self, db_name: str, shape: tuple[int, ...], dtype: str, unit: str | None
    ) -> str:
        name = db_name.rsplit(":", 1)[-1]
        if name in self.channels:  # two masters with a channel of one name: keep both
            name = ":".join(db_name.rsplit(":", 2)[-2:])
        self._channel_names[db_name] = name
        npoints = int(self.info.get("npoints") or 0)
        self.channels[name] = {"shape": list(shape), "unit": unit, "dtype": dtype}
        if len(shape) == 0:
            self.series[name] = SeriesBuffer(npoints or 64)
        elif len(shape) == 1:
            self.spectra[name] = SpectrumBuffer(shape[0])
        return name

    def name_of(self, db_name: str) -> str | None:
        """The short name a channel is shown by (None: not kept, e.g. a 2-D channel)."""
        return self._channel_names.get(db_name)

    def db_name_of(self, name: str) -> str:
        return next(db for db, short in self._channel_names.items() if short == name)

    def add_points(self, db_name: str, first_index: int, data: np.ndarray) -> None:
        name = self._channel_names.get(db_name)
        if name in self.series:
            self.series[name].extend(first_index, data)
        elif name in self.spectra:
            self.spectra[name].extend(first_index, data)

    @property
    def points_done(self) -> int:
        """Points every channel read has (the length of the shortest)."""
        unread = self.unread
        lengths = [buffer.length for name, buffer in self.series.items() if name not in unread]
        lengths += [s.count for name, s in self.spectra.items() if name not in unread]
        return min(lengths) if lengths else 0

    def summary(self) -> dict[str, Any]:
        """The scan as the history list shows it."""
        info = self.info
        return {
            "id": self.id,
            "kind": self.kind,
            "nb": info.get("scan_nb"),
            "type": info.get("type"),
            "title": info.get("title") or self.id.rsplit(":", 1)[-1],
            "state": info.get("state"),
            "npoints": info.get("npoints"),
            "done": info.get("npoints_done", self.points_done if self.series else None),
            "start": info.get("start_timestamp"),
            "members": list(self.members),
        }

    def description(self) -> dict[str, Any]:
        """What a page needs to lay out the scan before any point arrives."""
        return {
            "id": self.id,
            "kind": self.kind,
            "info": self.info,
            "channels": self.channels,
            "members": list(self.members),
            "ended": self.ended,
        }


class Broadcast:
    """Wakes every waiting greenlet at each change; a waiter never misses one (no polling)."""

    def __init__(self) -> None:
        self._event = gevent.event.Event()

    def current(self) -> gevent.event.Event:
        """The event to wait on for the next change (take it before looking at the model)."""
        return self._event

    def notify(self) -> None:
        event, self._event = self._event, gevent.event.Event()
        event.set()


class SessionModel:
    """The live scan, the scans being followed, and the history list of one session."""

    def __init__(self, session: str):
        self.session = session
        self.live: ScanModel | None = None  # the scan the pages follow
        self.followed: dict[str, ScanModel] = {}  # scans and groups not ended yet
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()  # oldest first
        # (sequence number, summary) of recent history changes, for pages that are behind.
        self.history_log: deque[tuple[int, dict[str, Any]]] = deque(maxlen=HISTORY_SIZE)
        self.history_seq = 0
        self.error: str | None = None  # why Redis cannot be followed now, if so
        self.changed = Broadcast()
        self.ended = Broadcast()  # a scan ended: pages are sent its last points at once

    # ---- history ---------------------------------------------------------------------------
    def set_history(self, summaries: list[dict[str, Any]]) -> None:
        self.history.clear()
        for summary in summaries[-HISTORY_SIZE:]:
            self.history[summary["id"]] = summary
        self.history_log.clear()
        self.history_seq += 1
        self.history_log.append((self.history_seq, {"reset": True}))

    def record(self, scan: ScanModel) -> None:
        """Put the scan's current summary in the history (new or updated)."""
        summary = scan.summary()
        self.history[scan.id] = summary  # a known scan keeps its place: the order is creation
        while len(self.history) > HISTORY_SIZE:
            self.history.popitem(last=False)
        self.history_seq += 1
        self.history_log.append((self.history_seq, summary))

    def history_since(self, seq: int) -> tuple[int, list[dict[str, Any]] | None]:
        """(latest seq, summaries changed after `seq`), or None for "send the whole list"."""
        if seq == self.history_seq:
            return seq, []
        oldest = self.history_log[0][0] if self.history_log else self.history_seq + 1
        if seq + 1 < oldest or any(
            "reset" in summary for number, summary in self.history_log if number > seq
        ):
            return self.history_seq, None
        return self.history_seq, [summary for number, summary in self.history_log if number > seq]

    # ---- scans -----------------------------------------------------------------------------
    def scan_of(self, db_name: str) -> ScanModel | None:
        """The followed scan (or group) a node belongs to."""
        best = None
        for scan_id, scan in self.followed.items():
            if (db_name == scan_id or db_name.startswith(scan_id + ":")) and (
                best is None or len(scan_id) > len(best.id)
            ):
                best = scan
        return best
