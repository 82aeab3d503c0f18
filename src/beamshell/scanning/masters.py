"""Standard top masters: a software timer and a motor step master."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import gevent
import numpy as np

from beamshell.hardware.protocols import ScanAxis
from beamshell.scanning.chain import AcquisitionMaster
from beamshell.scanning.channel import AcquisitionChannel


class SoftwareTimerMaster(AcquisitionMaster):
    """Counts `count_time` per point, `npoints` times (None: until stopped).

    Its channels: `elapsed_time` (s since the first point, the table's dt[s]) and `epoch`.
    `sleep_time` waits between points.
    """

    def __init__(
        self,
        count_time: float,
        npoints: int | None = 1,
        sleep_time: float | None = None,
        name: str = "timer",
    ):
        super().__init__(name)
        self.count_time = float(count_time)
        self.npoints = npoints
        self.sleep_time = sleep_time or 0.0
        reserve = npoints if npoints is not None else None
        self.elapsed_time = self.add_channel(
            AcquisitionChannel("elapsed_time", float, (), unit="s", npoints=reserve)
        )
        self.epoch = self.add_channel(
            AcquisitionChannel("epoch", float, (), unit="s", npoints=reserve)
        )
        self.elapsed_time.role = "elapsed_time"
        self.epoch.displayed = False
        self._origin: float | None = None

    def prepare(self) -> None:
        self._origin = None

    def trigger(self, index: int) -> None:
        if self.sleep_time and self._origin is not None:
            gevent.sleep(self.sleep_time)
        now = time.perf_counter()  # steady clock: a wall-clock jump cannot bend dt[s]
        if self._origin is None:
            self._origin = now
        self.elapsed_time.put(now - self._origin)
        self.epoch.put(time.time())
        self.trigger_children(index)


class MotorStepMaster(AcquisitionMaster):
    """Moves several axes together to the next point, waits, then triggers its children.

    `positions` holds one sequence of positions per axis, all of the same length. Each axis
    has a channel named after the axis (its display name) holding the positions reached.
    """

    moves = True
    npoints: int  # known from the positions

    def __init__(
        self,
        axes: Sequence[ScanAxis],
        positions: Sequence[Sequence[float] | np.ndarray],
        name: str = "axis",
    ):
        super().__init__(name)
        if len(axes) != len(positions):
            raise ValueError("MotorStepMaster: one list of positions per axis is needed")
        self.axes = list(axes)
        self.positions = [np.asarray(p, dtype=float) for p in positions]
        lengths = {len(p) for p in self.positions}
        if len(lengths) != 1:
            raise ValueError(f"MotorStepMaster: positions of different lengths {sorted(lengths)}")
        self.npoints = lengths.pop()
        self.axis_channels = [
            self.add_channel(
                AcquisitionChannel(axis.name, float, (), unit=axis.unit, npoints=self.npoints)
            )
            for axis in self.axes
        ]
        for channel in self.axis_channels:
            channel.role = "axis"
        self._move_axes: Callable[..., None] | None = None

    def prepare(self) -> None:
        # Lazy: the hardware package is only needed once a motor scan runs.
        from beamshell.hardware.motion import move_axes

        self._move_axes = move_axes

    def prepare_iteration(self, index: int) -> None:
        assert self._move_axes is not None, "prepare() comes first"
        self._move_axes(
            {
                axis: float(positions[index])
                for axis, positions in zip(self.axes, self.positions, strict=True)
            }
        )

    def trigger(self, index: int) -> None:
        for axis, channel in zip(self.axes, self.axis_channels, strict=True):
            channel.put(axis.position)
        self.trigger_children(index)

    def stop(self) -> None:
        for axis in self.axes:
            if axis.is_moving:
                axis.stop()
