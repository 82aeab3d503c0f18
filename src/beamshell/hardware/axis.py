"""A motor axis: user/dial positions, limits, persisted settings, moves that run in a greenlet."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from beamshell.errors import BeamshellError
from beamshell.hardware.attributes import StrictAttributes

if TYPE_CHECKING:
    from beamshell.config.settings import HashSetting
    from beamshell.hardware.protocols import MotorController


class AxisState(enum.StrEnum):
    """Compares equal to its text too: `state == "READY"`."""

    READY = "READY"
    MOVING = "MOVING"
    LIMNEG = "LIMNEG"  # on the negative (dial) limit switch
    LIMPOS = "LIMPOS"  # on the positive (dial) limit switch
    FAULT = "FAULT"


_STOPPED_BY_HARDWARE = {
    AxisState.FAULT: "motor FAULT",
    AxisState.LIMNEG: "negative limit switch hit",
    AxisState.LIMPOS: "positive limit switch hit",
}


class AxisError(BeamshellError):
    """A move or a setting was refused, or the motor failed; the message names the axis."""


class AxisLimitError(AxisError, ValueError):
    """A target outside the axis limits (refused before anything moved)."""


class AxisValueError(AxisError, ValueError):
    """A value that is not a valid position, speed, sign or limit."""


def _as_float(axis_name: str, what: str, value: Any) -> float:
    if isinstance(value, bool):
        raise AxisValueError(f"{axis_name}: {what} {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AxisValueError(f"{axis_name}: {what} {value!r} is not a number") from None
    if math.isnan(number):
        raise AxisValueError(f"{axis_name}: {what} is NaN")
    return number


def _short(value: float, decimals: int) -> str:
    """A position with at most `decimals` decimals and no trailing zeros: 2.5, 0, -0.125."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(value: float | None, decimals: int | None = None) -> str:
    if value is None:
        return "None"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if decimals is None:
        return f"{value:g}"
    return f"{value:.{decimals}f}"


class Axis(StrictAttributes):
    """One motor. Reading `position` costs no I/O; settings are written when they change.

    The settings (offset, sign, limits, velocity, acceleration) are read through the
    session's settings store, which caches them and drops a value as soon as another
    process changes it: two shells on one session see the same motor.
    """

    def __init__(
        self,
        name: str,
        controller: MotorController,
        settings: HashSetting,
        *,
        unit: str | None = None,
        steps_per_unit: float = 1000.0,
        velocity: float = 10.0,
        acceleration: float = 100.0,
        low_limit: float | None = None,
        high_limit: float | None = None,
        sign: int = 1,
        offset: float = 0.0,
    ):
        self.name = name  # display name: a session alias may change it
        self.config_name = name  # settings key: fixed
        self.controller = controller
        self.unit = unit
        self.steps_per_unit = float(steps_per_unit)
        self._configured: dict[str, Any] = {
            "velocity": float(velocity),
            "acceleration": float(acceleration),
            "low_limit": low_limit,
            "high_limit": high_limit,
            "sign": int(sign),
            "offset": float(offset),
        }
        # Persisted values win over the configuration (they are what the operator last
        # set); a value never set follows the file.
        settings.defaults = dict(self._configured)
        self._settings = settings
        self._motion: gevent.Greenlet[[], str | None] | None = None
        self._motion_changed = gevent.event.Event()
        controller.attach(self, float(settings.get("dial_position", 0.0)))

    # -- persisted values, read through the (coherent) settings cache ----------------------
    @property
    def _sign(self) -> int:
        return int(self._settings["sign"])

    @property
    def _offset(self) -> float:
        return float(self._settings["offset"])

    @property
    def _dial_low(self) -> float | None:
        low: float | None = self._settings["low_limit"]
        return low

    @property
    def _dial_high(self) -> float | None:
        high: float | None = self._settings["high_limit"]
        return high

    # -- positions -----------------------------------------------------------------------
    @property
    def dial(self) -> float:
        """Position in controller units (what the hardware counts), rounded to steps."""
        return self.controller.read_position(self)

    @dial.setter
    def dial(self, value: float) -> None:
        """Redefine the dial position without moving; the offset stays, the user position
        follows (as in BLISS). Persisted, and printed."""
        self.set_dial(value)

    def set_dial(self, dial_position: float) -> float:
        """Redefine the dial position without moving; returns the new dial position."""
        self._refuse_while_moving("set the dial position")
        dial = _as_float(self.name, "dial position", dial_position)
        if math.isinf(dial):
            raise AxisValueError(
                f"{self.name}: dial position must be finite, got {dial_position!r}"
            )
        dial = self.round_to_steps(dial)
        previous = self.dial
        self.controller.set_position(self, dial)
        self._save(dial_position=dial)
        decimals = self._decimals
        print(
            f"'{self.name}' dial position reset from {_short(previous, decimals)} to "
            f"{_short(dial, decimals)} (user position {_short(self.position, decimals)}, "
            f"offset {_short(self._offset, decimals)})"
        )
        return dial

    @property
    def position(self) -> float:
        """User position: sign * dial + offset."""
        return self._sign * self.controller.read_position(self) + self._offset

    @position.setter
    def position(self, new_position: float) -> None:
        """Redefine the user position WITHOUT moving (as in BLISS): the offset changes.
        To move, use `move()`, `mv` or `umv`."""
        self.set_position(new_position)

    def set_position(self, user_position: float) -> float:
        """Redefine the user position as `user_position` without moving, by changing the
        offset (persisted); prints the change. Returns the new offset."""
        self._refuse_while_moving("set the position")
        user = _as_float(self.name, "position", user_position)
        if math.isinf(user):
            raise AxisValueError(f"{self.name}: position must be finite, got {user_position!r}")
        previous = self.position
        self.offset = user - self._sign * self.dial
        decimals = self._decimals
        print(
            f"'{self.name}' position reset from {_short(previous, decimals)} to "
            f"{_short(user, decimals)} (offset {_short(self._offset, decimals)})"
        )
        return self._offset

    @property
    def offset(self) -> float:
        return self._offset

    @offset.setter
    def offset(self, value: float) -> None:
        offset = _as_float(self.name, "offset", value)
        if math.isinf(offset):
            raise AxisValueError(f"{self.name}: offset must be finite, got {value!r}")
        self._save(offset=offset)

    @property
    def sign(self) -> int:
        return self._sign

    @sign.setter
    def sign(self, value: int) -> None:
        """Change the sign, keeping the user position (the offset absorbs the change)."""
        if value not in (1, -1) or isinstance(value, bool):
            raise AxisValueError(f"{self.name}: sign must be 1 or -1, got {value!r}")
        user = self.position
        self._save(sign=int(value), offset=user - int(value) * self.dial)

    def round_to_steps(self, dial: float) -> float:
        return round(dial * self.steps_per_unit) / self.steps_per_unit

    def user_to_dial(self, user: float) -> float:
        return (user - self._offset) / self._sign

    def dial_to_user(self, dial: float) -> float:
        return self._sign * dial + self._offset

    # -- limits --------------------------------------------------------------------------
    @property
    def dial_limits(self) -> tuple[float, float]:
        low = -math.inf if self._dial_low is None else self._dial_low
        high = math.inf if self._dial_high is None else self._dial_high
        return (low, high)

    @property
    def limits(self) -> tuple[float, float]:
        """(low, high) in user units; +-inf where there is no limit."""
        low, high = (self.dial_to_user(value) for value in self.dial_limits)
        return (low, high) if low <= high else (high, low)

    @limits.setter
    def limits(self, value: Iterable[float | None]) -> None:
        try:
            low, high = value
        except (TypeError, ValueError):
            raise AxisValueError(
                f"{self.name}: limits must be a (low, high) pair, got {value!r}"
            ) from None
        low = -math.inf if low is None else _as_float(self.name, "low limit", low)
        high = math.inf if high is None else _as_float(self.name, "high limit", high)
        if low > high:
            raise AxisValueError(
                f"{self.name}: low limit {_fmt(low)} is above high limit {_fmt(high)}"
            )
        dials = sorted(self.user_to_dial(limit) for limit in (low, high))
        self._save(
            low_limit=None if math.isinf(dials[0]) else dials[0],
            high_limit=None if math.isinf(dials[1]) else dials[1],
        )

    @property
    def low_limit(self) -> float:
        return self.limits[0]

    @low_limit.setter
    def low_limit(self, value: float | None) -> None:
        self.limits = (value, self.limits[1])

    @property
    def high_limit(self) -> float:
        return self.limits[1]

    @high_limit.setter
    def high_limit(self, value: float | None) -> None:
        self.limits = (self.limits[0], value)

    def check_limits(self, target: float) -> None:
        """Raise AxisLimitError (a ValueError) if `target` (user units) is outside the limits."""
        low, high = self.limits
        if not low <= target <= high:
            raise AxisLimitError(
                f"{self.name}: target {_fmt(target)} is outside limits ({_fmt(low)}, {_fmt(high)})"
            )

    # -- speed -----------------------------------------------------------------------------
    @property
    def velocity(self) -> float:
        return float(self._settings["velocity"])

    @velocity.setter
    def velocity(self, value: float) -> None:
        self._save(velocity=self._positive("velocity", value))

    @property
    def acceleration(self) -> float:
        return float(self._settings["acceleration"])

    @acceleration.setter
    def acceleration(self, value: float) -> None:
        self._save(acceleration=self._positive("acceleration", value))

    def _positive(self, what: str, value: Any) -> float:
        number = _as_float(self.name, what, value)
        if not 0 < number < math.inf:
            raise AxisValueError(f"{self.name}: {what} must be a positive number, got {value!r}")
        return number

    # -- state and motion ----------------------------------------------------------------
    @property
    def state(self) -> AxisState:
        return self.controller.state(self)

    @property
    def is_moving(self) -> bool:
        """True while the motor moves, whichever process started the move."""
        return self.moving_here or self.controller.state(self) is AxisState.MOVING

    @property
    def moving_here(self) -> bool:
        """True while a move started by this process is in progress."""
        return self._motion is not None and not self._motion.dead

    def prepare_move(self, target: float) -> float:
        """Check a move to user `target` without starting it; return the dial target in steps."""
        user = _as_float(self.name, "target", target)
        self._refuse_while_moving("start a new move")
        self.check_limits(user)
        dial = self.round_to_steps(self.user_to_dial(user))
        state = self.state
        if state is AxisState.FAULT:
            raise AxisError(f"{self.name}: cannot move, motor is in FAULT state")
        current = self.dial
        if state is AxisState.LIMNEG and dial < current:
            raise AxisError(
                f"{self.name}: on the negative limit switch, cannot move further negative"
            )
        if state is AxisState.LIMPOS and dial > current:
            raise AxisError(
                f"{self.name}: on the positive limit switch, cannot move further positive"
            )
        return dial

    def move(self, target: float, wait: bool = True) -> None:
        """Move to user position `target`; with wait, return when it arrives (Ctrl-C stops it)."""
        start_moves([(self, self.prepare_move(target))])
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        """Move by `delta` user units from the current position."""
        step = _as_float(self.name, "relative move", delta)
        self.move(self.position + step, wait=wait)

    def wait_move(self) -> None:
        """Wait for the current move; on an exception or Ctrl-C stop the motor, then re-raise."""
        motion = self._motion
        if motion is None:
            return
        try:
            fault = motion.get()
        except BaseException:
            self.stop(wait=True)
            raise
        if isinstance(fault, str):  # a killed follower returns GreenletExit: not a fault
            raise AxisError(fault)

    def stop(self, wait: bool = True) -> None:
        """Decelerate to rest where the motor is; with wait, return once it stands still.

        Like real hardware, this also stops a move started by another process."""
        motion = self._motion
        if motion is None or motion.dead:
            if self.controller.state(self) is AxisState.MOVING:
                self.controller.stop(self)
                if wait:
                    self._wait_until_still()
            return
        self.controller.stop(self)
        self._motion_changed.set()
        if wait:
            try:
                motion.join()
            except BaseException:
                # Interrupted again while braking: stop dead rather than leave it moving.
                self.abort()
                raise

    def abort(self) -> None:
        """Stop at once, without deceleration (emergency stop)."""
        motion = self._motion
        if motion is None or motion.dead:
            return
        self.controller.halt(self)
        self._motion_changed.set()
        motion.join()

    def _wait_until_still(self) -> None:
        """Wait for the end of a move this process does not follow (another one started it)."""
        while (remaining := self.controller.remaining_time(self)) > 0:
            self._motion_changed.wait(remaining)
            self._motion_changed.clear()

    def _hardware_changed(self) -> None:
        """The controller's state changed (maybe in another process): re-check the motion."""
        self._motion_changed.set()

    def sync_hard(self) -> float:
        """Re-read the position from the controller and persist it; returns the user position."""
        if not self.is_moving:
            self._save(dial_position=self.dial)
        return self.position

    def apply_config(self) -> None:
        """Forget what the operator set: back to the configuration's speed, limits, sign, offset."""
        self._refuse_while_moving("apply the configuration")
        self._save(**self._configured)

    def _begin_motion(self) -> None:
        """Follow the move the controller just started (called by start_moves)."""
        self._motion_changed.clear()
        self._motion = gevent.spawn(self._follow_motion)

    def _follow_motion(self) -> str | None:
        """Sleep until the controller's motion ends (stop/halt wake it early); returns a fault."""
        try:
            while True:
                remaining = self.controller.remaining_time(self)
                if remaining <= 0:
                    break
                self._motion_changed.wait(remaining)
                self._motion_changed.clear()
        finally:
            self.controller.end_motion(self)
            self._save(dial_position=self.controller.read_position(self))
        state = self.controller.state(self)
        if state in _STOPPED_BY_HARDWARE:
            where = self.format_position(self.position)
            return f"{self.name}: {_STOPPED_BY_HARDWARE[state]} during the move, stopped at {where}"
        return None

    def _refuse_while_moving(self, action: str) -> None:
        if self.moving_here:
            raise AxisError(f"{self.name}: is moving, cannot {action} (stop it or wait)")
        if self.controller.state(self) is AxisState.MOVING:
            raise AxisError(
                f"{self.name}: is being moved by another process, cannot {action} (stop it or wait)"
            )

    def _save(self, **fields: Any) -> None:
        self._settings.update(fields)

    def close(self) -> None:
        """Stop any move at once and persist where the motor is."""
        self.abort()

    # -- display ---------------------------------------------------------------------------
    @property
    def _decimals(self) -> int:
        return max(0, math.ceil(math.log10(self.steps_per_unit) - 1e-9))

    def format_position(self, value: float) -> str:
        """`12.346 mm`: a position with the axis's step decimals and unit."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{_fmt(value, self._decimals)}{unit}"

    def __repr__(self) -> str:
        low, high = self.limits
        return (
            f"<Axis {self.name}: position {self.format_position(self.position)}, {self.state}, "
            f"limits ({_fmt(low)}, {_fmt(high)})>"
        )

    def __info__(self) -> str:
        unit = self.unit or "unit"
        low, high = self.limits
        dlow, dhigh = self.dial_limits
        controller = getattr(self.controller, "name", type(self.controller).__name__)
        rows = [
            f"AXIS {self.name}  (controller {controller})",
            f"  state         {self.state}",
            f"  position      {self.format_position(self.position)}",
            f"  dial          {_fmt(self.dial, self._decimals)}   offset {_fmt(self._offset)}"
            f"   sign {self._sign}",
            f"  limits        ({_fmt(low)}, {_fmt(high)})   dial ({_fmt(dlow)}, {_fmt(dhigh)})",
            f"  velocity      {_fmt(self.velocity)} {unit}/s"
            f"   acceleration {_fmt(self.acceleration)} {unit}/s2",
            f"  steps/unit    {_fmt(self.steps_per_unit)}",
        ]
        if self.config_name != self.name:
            rows.insert(1, f"  config name   {self.config_name}")
        return "\n".join(rows)


def start_moves(moves: list[tuple[Axis, float]]) -> None:
    """Start prepared moves (axis, dial target), one start call per controller."""
    by_controller: dict[int, list[tuple[Axis, float]]] = {}
    for axis, dial in moves:
        by_controller.setdefault(id(axis.controller), []).append((axis, dial))
    for group in by_controller.values():
        group[0][0].controller.start_moves(group)
    for axis, _ in moves:
        axis._begin_motion()
