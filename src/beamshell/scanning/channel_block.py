"""ChannelBlock: the scalar channels of one reader in one buffer, a point stored in one go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from beamshell.scanning import buffers
from beamshell.scanning.channel import AcquisitionChannel

_INITIAL_CAPACITY = 64


class PointValueError(ValueError):
    """A value of a point that its channel cannot hold; `row` says whose it was."""

    def __init__(self, row: int, cause: Exception):
        super().__init__(str(cause))
        self.row = row


class ChannelBlock:
    """Scalar channels of one dtype as the rows of one 2-D buffer (row = channel).

    `append(values)` stores one point of every channel with one numpy assignment: a
    counter reader's per-point cost no longer grows by a Python call per counter. Each
    channel's points stay contiguous in its row, so its `data` is an ordinary 1-D array.
    """

    def __init__(
        self,
        names: Sequence[str],
        dtype: Any = float,
        units: Sequence[str | None] | None = None,
        npoints: int | None = None,
    ):
        self.dtype = np.dtype(dtype)
        units = list(units) if units is not None else [None] * len(names)
        self._rows = buffers.empty((len(names), max(npoints or _INITIAL_CAPACITY, 1)), self.dtype)
        self.count = 0
        self.channels = [
            BlockChannel(self, row, name, self.dtype, unit)
            for row, (name, unit) in enumerate(zip(names, units, strict=True))
        ]

    def append(self, values: Sequence[Any]) -> None:
        """Store one point: `values[i]` for channel `i` (as many values as channels)."""
        index = self.count
        rows = self._rows
        if index == rows.shape[1]:
            rows = self._resize(2 * index)
        try:
            rows[:, index] = values
        except (ValueError, TypeError):
            # numpy refuses the row as a whole: store value by value, as separate channels
            # would, to name the bad one.
            for row, value in enumerate(values):
                try:
                    rows[row, index] = value
                except (ValueError, TypeError) as exc:
                    raise PointValueError(row, exc) from None
        self.count = index + 1

    def reserve(self, npoints: int) -> None:
        """Preallocate room for `npoints` points (a scan knows its length in advance)."""
        if npoints > self._rows.shape[1]:
            self._resize(npoints)

    def _resize(self, capacity: int) -> np.ndarray:
        grown = buffers.empty((len(self._rows), capacity), self.dtype)
        grown[:, : self.count] = self._rows[:, : self.count]
        self._rows = grown
        return grown

    def row(self, index: int) -> np.ndarray:
        """Channel `index`'s points so far (a view)."""
        return self._rows[index, : self.count]


class BlockChannel(AcquisitionChannel):
    """A scalar channel whose points live in a ChannelBlock row, appended by the block."""

    def __init__(self, block: ChannelBlock, row: int, name: str, dtype: Any, unit: str | None):
        super().__init__(name, dtype, (), unit, npoints=1)  # its own buffer stays unused
        self._block = block
        self._row = row

    def reserve(self, npoints: int) -> None:
        self._block.reserve(npoints)

    def put(self, value: Any) -> None:
        raise TypeError(f"channel '{self.name}': its points are appended by its block")

    def emit(self, values: Any) -> None:
        raise TypeError(f"channel '{self.name}': its points are appended by its block")

    @property
    def data(self) -> np.ndarray:
        return self._block.row(self._row)

    def __len__(self) -> int:
        return self._block.count
