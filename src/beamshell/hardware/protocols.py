"""What beamshell asks of devices, as Protocols: implement these to bring real hardware in.

A site writes controllers, not scans: a counter controller (`CounterReadout`, usually a
subclass of `hardware.counters.CounterController`, which provides everything but
`read_samples`) and a motor controller (`MotorController`, usually a subclass of
`hardware.motor_controller.MotorControllerBase`, which builds the axes from YAML). The scan
engine reads counters and axes only through `ScanCounter` and `ScanAxis`; docs/hardware.md
shows a minimal real-hardware pair that type-checks against these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from beamshell.hardware.axis import Axis, AxisState


@runtime_checkable
class CounterReadout(Protocol):
    """What a scan asks of the controller of its counters: once per scan, once per point."""

    name: str
    # Controllers sharing a read group are read with one `read_all` call per point.
    read_group: str | None

    def prepare(self, count_time: float) -> None:
        """Before the scan starts (arm the device for this count time)."""

    def start(self) -> None:
        """Just before the first point."""

    # `counters` are the controller's own counter objects (or those of its read group),
    # given back in the order of the scan: typed Any so that a controller names its class.
    def read_all(self, counters: Sequence[Any], count_time: float) -> Sequence[Any]:
        """Count for `count_time` (cooperatively: gevent.sleep, never time.sleep) and return
        one value per counter, in order: a float, a 1-D numpy array, or a CounterStats."""
        ...

    def stop(self) -> None:
        """After the scan, also after an error or Ctrl-C: leave the device idle."""


@runtime_checkable
class ScanCounter(Protocol):
    """What a scan reads of a counter to make its data channel."""

    name: str
    unit: str | None
    dtype: np.dtype[Any]
    shape: tuple[int, ...]  # () for a number per point, (n,) for a spectrum

    @property
    def controller(self) -> CounterReadout: ...


@runtime_checkable
class MotorController(Protocol):
    """What an Axis asks of the controller that drives its motor (positions in dial units).

    Every call must return quickly: a move is started by `start_moves` and followed by the
    axis, which asks `remaining_time` and `state` until the motor is at rest.
    """

    name: str

    def attach(self, axis: Axis, dial_position: float) -> None:
        """The axis is built; `dial_position` is where it was last seen (persisted)."""

    def read_position(self, axis: Axis) -> float:
        """The motor's dial position now (during a move too)."""
        ...

    def state(self, axis: Axis) -> AxisState:
        """READY, MOVING, LIMNEG, LIMPOS or FAULT."""
        ...

    def set_position(self, axis: Axis, dial_position: float) -> None:
        """Redefine the dial position without moving (`axis.dial = x`)."""

    def start_moves(self, moves: list[tuple[Axis, float]]) -> None:
        """Start every (axis, dial target) of this controller together; do not wait."""

    def remaining_time(self, axis: Axis) -> float:
        """Seconds until the move ends (0 or less when at rest): the axis sleeps that long."""
        ...

    def stop(self, axis: Axis) -> None:
        """Decelerate to rest (Ctrl-C, the end of a scan)."""

    def halt(self, axis: Axis) -> None:
        """Stop dead (emergency stop, fault)."""

    def end_motion(self, axis: Axis) -> None:
        """The move is over or abandoned: the motor is where it is."""


@runtime_checkable
class ScanAxis(Protocol):
    """What a scan reads of an axis; its moves go through `hardware.motion.move_axes`."""

    name: str
    unit: str | None

    @property
    def position(self) -> float: ...

    @property
    def dial(self) -> float: ...

    @property
    def velocity(self) -> float: ...

    @property
    def acceleration(self) -> float: ...

    @property
    def is_moving(self) -> bool: ...

    def check_limits(self, target: float) -> None:
        """Raise ValueError naming the axis, the target and the limits if it is outside."""

    def stop(self, wait: bool = True) -> None:
        """Decelerate to rest; with `wait`, return once it is at rest."""
