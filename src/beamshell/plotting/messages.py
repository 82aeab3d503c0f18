"""What one page is sent: only what it has not had yet (new points, changed rows, news)."""

from __future__ import annotations

import base64
import json
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from beamshell.plotting.model import ScanModel, SeriesBuffer, SessionModel, SpectrumBuffer


def pack_bytes(values: np.ndarray) -> bytes:
    """Little-endian raw bytes in base64: exact values, a third of JSON's size."""
    little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return base64.b64encode(little.tobytes())


# The last encoding of each channel's points, by (first, end) index: the pages following a
# scan are woken together and mostly lack the same points, so they share one encoding.
# Points once held never change, hence the indices say what the bytes hold.
_last_packed: weakref.WeakKeyDictionary[SeriesBuffer, tuple[tuple[int, int], bytes]] = (
    weakref.WeakKeyDictionary()
)


def packed_points(buffer: SeriesBuffer, first: int) -> bytes:
    """`pack_bytes` of a channel's points from index `first` on, encoded once for all pages."""
    span = (first, buffer.length)
    last = _last_packed.get(buffer)
    if last is None or last[0] != span:
        last = _last_packed[buffer] = (span, pack_bytes(buffer.values[first:]))
    return last[1]


def pack(values: np.ndarray) -> str:
    """`pack_bytes` as text, for a JSON document."""
    return pack_bytes(values).decode()


def sse(
    event: str, payload: dict[str, Any], series: dict[str, tuple[int, bytes]] | None = None
) -> bytes:
    """One Server-Sent Event (JSON on a single data line).

    `series` ({channel: (first index, pack_bytes)}) becomes the payload's "series" member,
    {channel: {"first": ..., "values": ...}}, spliced in as it is: base64 never needs
    escaping, and passing megabytes of it through json.dumps was a third of the plot
    server's work during a full-speed scan.
    """
    parts = [
        b"event: ",
        event.encode(),
        b"\ndata: ",
        json.dumps(finite(payload), separators=(",", ":"), allow_nan=False).encode(),
    ]
    if series:
        parts[-1] = parts[-1][:-1]  # reopens the object: the payload always has a member
        parts.append(b',"series":{')
        for number, (name, (first, values)) in enumerate(series.items()):
            key = json.dumps(name).encode()
            parts += [
                b"," if number else b"",
                key,
                b':{"first":%d,"values":"' % first,
                values,
                b'"}',
            ]
        parts.append(b"}}")
    parts.append(b"\n\n")
    return b"".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def scan_data(scan: ScanModel) -> dict[str, Any]:
    """A scan whole, for a page that asks for it (history, overlay)."""
    return {
        **scan.description(),
        "series": {name: pack(buf.values) for name, buf in scan.series.items()},
        "spectra": {name: spectrum_delta(s, None) for name, s in scan.spectra.items()},
    }


def spectrum_delta(spectrum: SpectrumBuffer, sent: tuple[int, int] | None) -> dict[str, Any]:
    """The last spectrum and the waterfall rows a page lacks (all of them after a merge)."""
    version, rows_sent = sent if sent is not None else (-1, 0)
    first_row = 0 if version != spectrum.version else max(rows_sent - 1, 0)  # last may grow
    return {
        "count": spectrum.count,
        "size": spectrum.size,
        "last": pack(spectrum.last),
        "version": spectrum.version,
        "bin": spectrum.bin,
        "column_bin": spectrum.column_bin,
        "columns": spectrum.columns,
        "first_row": first_row,
        "rows": pack(spectrum.waterfall(first_row)),
    }


def finite(value: Any) -> Any:
    """`value` with NaN and infinities made None: the page's JSON parser refuses them."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return _plain(value) if isinstance(value, np.generic) else value


class PageCursor:
    """What one connected page has been sent; `updates()` gives the rest as SSE events.

    A page that selects (`select=True`) is sent the points of the channels it names with
    `show_channels` only (none until it does), so a page costs its browser and its network
    what it draws, not what the scan records; a channel it starts showing is sent from the
    scan's first point. Any other reader of the stream gets every channel.

    Each update of a running scan also says how long it has run (`elapsed`, by `clock`,
    this machine's: the scan's, or one kept in step with it), which the page's header
    counts on from; a viewer's own clock may be wrong.
    """

    def __init__(
        self,
        model: SessionModel,
        client_id: str,
        select: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.model = model
        self.client_id = client_id
        self._clock = clock
        self._shown: frozenset[str] | None = frozenset() if select else None  # None: all
        self._scan_id: str | None = None
        self._sent_points: dict[str, int] = {}
        self._sent_spectra: dict[str, tuple[int, int, int]] = {}
        self._sent_info: str | None = None
        self._sent_channels = 0
        self._sent_done = -1
        self._history_seq = -1
        self._error: str | None = None
        self._started = False

    def show_channels(self, names: Iterable[str] | None) -> None:
        """Send from now on the points of these channels only (None: of every channel)."""
        self._shown = None if names is None else frozenset(names)

    @property
    def shown(self) -> frozenset[str] | None:
        """The channels whose points this page is sent (None: every channel)."""
        return self._shown

    def _shows(self, name: str) -> bool:
        return self._shown is None or name in self._shown

    def updates(self) -> list[bytes]:
        model = self.model
        events: list[bytes] = []
        if not self._started:
            self._started = True
            events.append(sse("hello", {"client": self.client_id, "session": model.session}))
        if model.error != self._error:
            self._error = model.error
            events.append(sse("status", {"error": model.error}))
        seq, changed = model.history_since(self._history_seq)
        if changed is None:
            events.append(sse("history", {"reset": True, "scans": list(model.history.values())}))
        elif changed:
            events.append(sse("history", {"reset": False, "scans": changed}))
        self._history_seq = seq
        live = model.live
        if live is None:
            return events
        if live.id != self._scan_id:
            self._scan_id = live.id
            self._sent_points = {}
            self._sent_spectra = {}
            self._sent_info = None
            self._sent_done = -1
            self._sent_channels = len(live.channels)
            events.append(sse("scan", live.description()))
        events.extend(self._data(live))
        return events

    def _data(self, scan: ScanModel) -> list[bytes]:
        payload: dict[str, Any] = {"id": scan.id}
        if len(scan.channels) != self._sent_channels:  # channels appear after their scan
            self._sent_channels = len(scan.channels)
            payload["channels"] = scan.channels
        series: dict[str, tuple[int, bytes]] = {}
        for name, buffer in scan.series.items():
            if not self._shows(name):
                continue
            sent = self._sent_points.get(name, 0)
            if buffer.length > sent:
                series[name] = (sent, packed_points(buffer, sent))
                self._sent_points[name] = buffer.length
        spectra = {}
        for name, spectrum in scan.spectra.items():
            if not self._shows(name):
                continue
            had = self._sent_spectra.get(name)  # (version, rows, count) last sent
            if had is not None and had[2] == spectrum.count:
                continue
            spectra[name] = spectrum_delta(spectrum, had[:2] if had else None)
            self._sent_spectra[name] = (spectrum.version, spectrum.rows, spectrum.count)
        info_text = json.dumps([scan.info, scan.ended], sort_keys=True, default=_plain)
        if info_text != self._sent_info:
            self._sent_info = info_text
            payload["info"] = finite(scan.info)
            payload["ended"] = scan.ended
        if spectra:
            payload["spectra"] = spectra
        done = scan.points_done
        if len(payload) == 1 and not series and done == self._sent_done:
            return []
        self._sent_done = payload["done"] = done  # the progress, even of channels not shown
        start = scan.info.get("start_timestamp")
        if not scan.ended and isinstance(start, int | float):
            payload["elapsed"] = round(max(0.0, self._clock() - start), 3)
        return [sse("data", payload, series)]
