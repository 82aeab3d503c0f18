"""AcquisitionChannel: one named data stream of a scan, kept in a growing numpy buffer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from beamshell.scanning import buffers
from beamshell.text import has_unprintable

if TYPE_CHECKING:
    from beamshell.hardware.protocols import ScanCounter
    from beamshell.scanning.chain import AcquisitionDevice, AcquisitionMaster

_INITIAL_CAPACITY = 64


class AcquisitionChannel:
    """Points of one quantity (scalar, or 1-D of a fixed length) in a numpy buffer.

    `emit(values)` takes one point (a scalar, or a 1-D array for a 1-D channel) or several
    (a list/array with one more dimension). With a publisher hook (a sequence's custom
    channels) the new points are handed on as one numpy batch per emit. A scan's channels
    have none: the scan's observers read new points from the buffer in batches.
    """

    def __init__(
        self,
        name: str,
        dtype: Any = float,
        shape: tuple[int, ...] = (),
        unit: str | None = None,
        npoints: int | None = None,
    ):
        if not isinstance(name, str) or not name or ":" in name or has_unprintable(name):
            raise ValueError(
                "channel name must be a non-empty string without ':' or control characters,"
                f" got {name!r}"
            )
        self.name = name
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) > 1:
            raise ValueError(f"channel '{name}': only scalar and 1-D points, got shape {shape}")
        self.unit = unit
        # The AcquisitionMaster whose iterations fill it (set by the chain).
        self.master: AcquisitionMaster | None = None
        self.device: AcquisitionDevice | None = None  # the device that emits it
        self.counter: ScanCounter | None = None  # the counter it holds data of (get_data)
        self.role: str | None = None  # "elapsed_time" or "axis" for the table's first columns
        self.displayed = len(self.shape) == 0  # a column of the live table
        self._buffer = buffers.empty(
            (max(npoints or _INITIAL_CAPACITY, 1), *self.shape), self.dtype
        )
        self._count = 0
        self._publish: Callable[[np.ndarray], None] | None = None

    # -- writing ---------------------------------------------------------------------------
    def reserve(self, npoints: int) -> None:
        """Preallocate room for `npoints` points (a scan knows its length in advance)."""
        if npoints > len(self._buffer):
            self._resize(npoints)

    def _resize(self, capacity: int) -> None:
        grown = buffers.empty((capacity, *self.shape), self.dtype)
        grown[: self._count] = self._buffer[: self._count]
        self._buffer = grown

    def put(self, value: Any) -> None:
        """Append one point (the scan's per-point path: no checks beyond numpy's)."""
        index = self._count
        try:
            self._buffer[index] = value
        except IndexError:  # full (rare: a scan reserves its length when it knows it)
            if index < len(self._buffer):
                raise
            self._resize(2 * index)
            self._buffer[index] = value
        self._count = index + 1

    def emit(self, values: Any) -> None:
        """Append one or several points and hand them to the publisher hook."""
        points = np.asarray(values, dtype=self.dtype)
        if points.ndim == len(self.shape):
            points = points.reshape((1, *points.shape))
        if points.ndim != len(self.shape) + 1 or points.shape[1:] != self.shape:
            expected = (
                "a scalar or a 1-D list" if not self.shape else f"arrays of shape {self.shape}"
            )
            raise ValueError(
                f"channel '{self.name}': cannot emit data of shape {np.shape(values)}, "
                f"expected {expected}"
            )
        count = len(points)
        end = self._count + count
        if end > len(self._buffer):
            self._resize(max(end, 2 * len(self._buffer)))
        start = self._count
        self._buffer[start:end] = points
        self._count = end
        if self._publish is not None:
            self._publish(self._buffer[start:end])

    # -- publishing ------------------------------------------------------------------------
    def set_publisher(self, hook: Callable[[np.ndarray], None] | None) -> None:
        """`hook(batch)` receives the points of every later `emit()` as one numpy array."""
        self._publish = hook

    # -- reading ---------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """Every point so far (a view: copy it if you keep it while the scan runs)."""
        return self._buffer[: self._count]

    def __len__(self) -> int:
        return self._count

    @property
    def fullname(self) -> str:
        return f"{self.master.name}:{self.name}" if self.master is not None else self.name

    def __repr__(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        return f"<{type(self).__name__} {self.name}{unit} {self.dtype} {self.shape} {len(self)} points>"
