"""The `mockup` motor controller: simulated axes that move along trapezoidal profiles in real time.

The simulated hardware lives in Redis (settings hash `mockup:<axis>`: the position at rest
and the profile of the move in progress, with wall-clock times), as a real controller
lives in its crate: every process of a session sees the same motor, moving or not, and a
process can stop a move another one started.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from beamshell.errors import BeamshellError
from beamshell.hardware.axis import Axis, AxisState
from beamshell.hardware.motor_controller import MotorControllerBase
from beamshell.hardware.trajectory import MotionProfile

if TYPE_CHECKING:
    from beamshell.config.settings import HashSetting
    from beamshell.config.static import Config, ConfigNode


class _SimulatedMotor:
    """What the simulated hardware knows about one motor: where it rests, how it moves.

    Both are in Redis (read through the settings cache); `hw_state` (a fault or a limit
    switch injected by `simulate_state`) stays in this process.
    """

    __slots__ = ("state", "hw_state", "steps_per_unit", "_raw_motion", "_profile")

    def __init__(self, state: HashSetting, steps_per_unit: float):
        self.state = state
        self.hw_state: AxisState | None = None  # LIMNEG/LIMPOS/FAULT injected by simulate_state
        self.steps_per_unit = steps_per_unit
        self._raw_motion = None
        self._profile: MotionProfile | None = None

    def rounded(self, value: float) -> float:
        return round(value * self.steps_per_unit) / self.steps_per_unit

    @property
    def rest_position(self) -> float:
        return float(self.state.get("position", 0.0))

    @property
    def profile(self) -> MotionProfile | None:
        raw = self.state.get("motion")
        if raw is None:
            return None
        if raw is not self._raw_motion:  # the cache hands out the same object until it changes
            self._raw_motion = raw
            self._profile = MotionProfile.from_dict(raw)
        return self._profile

    def position(self, now: float) -> float:
        profile = self.profile
        if profile is None:
            return self.rest_position
        return self.rounded(profile.position(now))

    def moving(self, now: float) -> bool:
        profile = self.profile
        return profile is not None and now < profile.end_time

    def set_profile(self, profile: MotionProfile) -> None:
        self.state["motion"] = profile.to_dict()

    def come_to_rest(self, position: float) -> None:
        self.state.update(position=self.rounded(position), motion=None)


class MockupController(MotorControllerBase):
    """Simulated motor controller; builds its configured axes on first request."""

    def __init__(self, name: str, config: Config | None = None):
        super().__init__(name, config)
        self._motors: dict[int, _SimulatedMotor] = {}  # id(axis) -> motor

    @classmethod
    def create(cls, node: ConfigNode, config: Config) -> MockupController:
        return cls(str(node.raw("name") or "mockup"), config)

    def axis_built(self, axis: Axis) -> None:
        # A move or a stop from another process wakes whoever follows the motion here.
        if self._config is not None:
            self._config.settings.on_change(f"mockup:{axis.config_name}", axis._hardware_changed)

    # -- the simulated hardware, as seen by Axis ----------------------------------------
    def attach(self, axis: Axis, dial_position: float) -> None:
        """Give `axis` its simulated motor; one that exists in Redis keeps its position."""
        if self._config is None:
            raise BeamshellError(
                f"controller {self.name}: axis '{axis.name}' needs a configuration"
            )
        state = self._config.settings.mapping(f"mockup:{axis.config_name}")
        motor = _SimulatedMotor(state, axis.steps_per_unit)
        self._motors[id(axis)] = motor
        now = time.time()
        if "position" not in state:
            motor.come_to_rest(dial_position)  # first use: where the axis settings left it
        elif motor.profile is not None and not motor.moving(now):
            motor.come_to_rest(motor.position(now))  # a move whose owner went away

    def read_position(self, axis: Axis) -> float:
        return self._motors[id(axis)].position(time.time())

    def state(self, axis: Axis) -> AxisState:
        motor = self._motors[id(axis)]
        if motor.hw_state is AxisState.FAULT:
            return AxisState.FAULT
        if motor.moving(time.time()):
            return AxisState.MOVING
        return motor.hw_state or AxisState.READY

    def set_position(self, axis: Axis, dial_position: float) -> None:
        self._motors[id(axis)].come_to_rest(dial_position)

    def start_moves(self, moves: list[tuple[Axis, float]]) -> None:
        """Start every (axis, dial target) at the same instant."""
        now = time.time()
        for axis, target in moves:
            motor = self._motors[id(axis)]
            if motor.hw_state in (AxisState.LIMNEG, AxisState.LIMPOS):
                motor.hw_state = None  # moving off the switch releases it
            motor.set_profile(
                MotionProfile.trapezoid(
                    motor.position(now), target, axis.velocity, axis.acceleration, now
                )
            )

    def remaining_time(self, axis: Axis) -> float:
        profile = self._motors[id(axis)].profile
        if profile is None:
            return 0.0
        return profile.end_time - time.time()

    def stop(self, axis: Axis) -> None:
        """Decelerate from the current speed to rest."""
        motor = self._motors[id(axis)]
        profile = motor.profile
        if profile is not None:
            motor.set_profile(profile.stopping(time.time(), axis.acceleration))

    def halt(self, axis: Axis) -> None:
        """Stop dead where the motor is (emergency stop, hardware fault, limit switch)."""
        motor = self._motors[id(axis)]
        profile = motor.profile
        if profile is not None:
            now = time.time()
            motor.set_profile(MotionProfile.at_rest(profile.position(now), now))

    def end_motion(self, axis: Axis) -> None:
        """The move is over (or abandoned): freeze the motor where it is now."""
        motor = self._motors[id(axis)]
        if motor.profile is not None:
            motor.come_to_rest(motor.position(time.time()))

    def simulate_state(self, axis: Axis, state: AxisState | str | None) -> None:
        """Inject a hardware condition (FAULT, LIMNEG, LIMPOS), or None to clear it.

        A fault, or a limit switch hit while moving, stops the motor dead as real hardware does.
        """
        if isinstance(state, str):
            try:
                state = AxisState[state.upper()]
            except KeyError:
                raise BeamshellError(
                    f"{axis.name}: unknown state {state!r} (FAULT, LIMNEG, LIMPOS or None)"
                ) from None
        if state not in (None, AxisState.FAULT, AxisState.LIMNEG, AxisState.LIMPOS):
            raise BeamshellError(f"{axis.name}: cannot simulate state {state}")
        self._motors[id(axis)].hw_state = state
        if state is not None and axis.is_moving:
            axis.abort()
