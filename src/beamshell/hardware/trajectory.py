"""Trapezoidal motion profiles: where a motor is, and how fast it goes, at any instant of a move."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


@dataclass(frozen=True, slots=True)
class Phase:
    """A stretch of constant acceleration starting at `t0` from position `x0` at speed `v0`."""

    t0: float
    x0: float
    v0: float
    a: float

    def position(self, t: float) -> float:
        dt = t - self.t0
        return self.x0 + self.v0 * dt + 0.5 * self.a * dt * dt

    def velocity(self, t: float) -> float:
        return self.v0 + self.a * (t - self.t0)


class MotionProfile:
    """Piecewise constant-acceleration motion from `phases[0].t0` to `end_time`, then at rest."""

    __slots__ = ("phases", "end_time", "end_position")

    def __init__(self, phases: list[Phase], end_time: float, end_position: float):
        self.phases = phases
        self.end_time = end_time
        self.end_position = end_position

    @classmethod
    def at_rest(cls, position: float, t: float) -> MotionProfile:
        return cls([], t, position)

    @classmethod
    def trapezoid(
        cls, start: float, end: float, velocity: float, acceleration: float, t0: float
    ) -> MotionProfile:
        """Accelerate, cruise at `velocity`, decelerate; a triangle when the move is too short."""
        distance = abs(end - start)
        if distance == 0:
            return cls.at_rest(end, t0)
        direction = 1.0 if end > start else -1.0
        ramp_time = velocity / acceleration
        ramp_distance = 0.5 * velocity * ramp_time
        if 2 * ramp_distance >= distance:
            # Never reaches full speed: accelerate over half the distance, then decelerate.
            ramp_time = math.sqrt(distance / acceleration)
            peak = acceleration * ramp_time
            cruise_time = 0.0
            ramp_distance = distance / 2
        else:
            peak = velocity
            cruise_time = (distance - 2 * ramp_distance) / velocity
        a = direction * acceleration
        v = direction * peak
        t_cruise = t0 + ramp_time
        t_decel = t_cruise + cruise_time
        phases = [
            Phase(t0, start, 0.0, a),
            Phase(t_cruise, start + direction * ramp_distance, v, 0.0),
            Phase(t_decel, end - direction * ramp_distance, v, -a),
        ]
        return cls(phases, t_decel + ramp_time, end)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (kept in Redis so that every process sees the same move)."""
        return {
            "phases": [[p.t0, p.x0, p.v0, p.a] for p in self.phases],
            "end_time": self.end_time,
            "end_position": self.end_position,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MotionProfile:
        phases = [Phase(*(float(value) for value in phase)) for phase in data["phases"]]
        return cls(phases, float(data["end_time"]), float(data["end_position"]))

    @property
    def duration(self) -> float:
        return self.end_time - self.phases[0].t0 if self.phases else 0.0

    def _phase_at(self, t: float) -> Phase | None:
        if not self.phases or t >= self.end_time:
            return None
        current = self.phases[0]
        for phase in self.phases[1:]:
            if t < phase.t0:
                break
            current = phase
        return current

    def position(self, t: float) -> float:
        phase = self._phase_at(t)
        if phase is None:
            return self.end_position if t >= self.end_time or not self.phases else self.phases[0].x0
        if t < phase.t0:
            return phase.x0
        return phase.position(t)

    def velocity(self, t: float) -> float:
        phase = self._phase_at(t)
        if phase is None or t < phase.t0:
            return 0.0
        return phase.velocity(t)

    def stopping(self, t: float, acceleration: float) -> MotionProfile:
        """The profile that decelerates at `acceleration` from the state at `t` to rest."""
        x = self.position(t)
        v = self.velocity(t)
        if v == 0.0:
            return MotionProfile.at_rest(x, t)
        braking_time = abs(v) / acceleration
        a = -math.copysign(acceleration, v)
        end = x + 0.5 * v * braking_time
        return MotionProfile([Phase(t, x, v, a)], t + braking_time, end)

    def __repr__(self) -> str:
        return f"<MotionProfile to {self.end_position:g} in {self.duration:.3f} s>"


def move_durations(distances: ArrayLike, velocity: float, acceleration: float) -> np.ndarray:
    """How long `MotionProfile.trapezoid` takes to travel each of `distances` (numpy array):
    accelerate, cruise, decelerate; a triangle when a move is too short to reach `velocity`."""
    distance = np.abs(np.asarray(distances, dtype=float))
    ramp_time = velocity / acceleration
    with_cruise = distance / velocity + ramp_time
    triangle = 2 * np.sqrt(distance / acceleration)
    durations: np.ndarray = np.where(distance >= velocity * ramp_time, with_cruise, triangle)
    return durations
