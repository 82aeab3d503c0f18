"""Trapezoidal profiles: durations, continuity, and braking."""

import math

import pytest

from beamshell.hardware.trajectory import MotionProfile, move_durations


def test_trapezoid_with_cruise():
    profile = MotionProfile.trapezoid(2, 12, 5, 25, t0=100)
    # Ramps: 0.2 s over 0.5 each; cruise: 9 units at 5/s = 1.8 s.
    assert profile.duration == pytest.approx(2.2)
    assert profile.position(100) == 2
    assert profile.position(100.2) == pytest.approx(2.5)
    assert profile.velocity(101) == pytest.approx(5)
    assert profile.position(102.2) == 12
    assert profile.position(1000) == 12
    assert profile.position(50) == 2  # before the start


def test_triangle_when_too_short_to_reach_speed():
    profile = MotionProfile.trapezoid(0, -1, 10, 4, t0=0)
    assert profile.duration == pytest.approx(2 * math.sqrt(0.5 / 2))
    assert profile.position(profile.duration / 2) == pytest.approx(-0.5)
    assert profile.velocity(profile.duration / 2) == pytest.approx(-4 * math.sqrt(0.25))


def test_positions_are_continuous_and_monotonic():
    profile = MotionProfile.trapezoid(0, 7, 3, 9, t0=0)
    times = [i * profile.duration / 500 for i in range(501)]
    positions = [profile.position(t) for t in times]
    assert positions == sorted(positions)
    assert (
        max(b - a for a, b in zip(positions, positions[1:], strict=False))
        < 3 * profile.duration / 500 + 1e-9
    )


def test_stopping_brakes_at_the_acceleration():
    profile = MotionProfile.trapezoid(0, 100, 10, 20, t0=0)
    stop = profile.stopping(2.0, 20)  # cruising at 10: 0.5 s, 2.5 units
    assert stop.duration == pytest.approx(0.5)
    assert stop.end_position == pytest.approx(profile.position(2.0) + 2.5)
    assert stop.position(2.25) == pytest.approx(profile.position(2.0) + 2.5 - 0.625)


def test_null_move_and_stop_at_rest():
    profile = MotionProfile.trapezoid(3, 3, 1, 1, t0=5)
    assert profile.duration == 0 and profile.position(10) == 3
    assert profile.stopping(6, 1).end_position == 3


def test_move_durations_agree_with_the_profiles_the_motors_follow():
    distances = [0.0, 1e-4, 0.05, 0.5, 0.9999, 1.0, 1.0001, 3.0, -7.5, 250.0]
    for velocity, acceleration in [(5, 25), (10, 50), (200, 4000), (1, 10)]:
        expected = [
            MotionProfile.trapezoid(0.0, d, velocity, acceleration, t0=0.0).duration
            for d in distances
        ]
        got = move_durations(distances, velocity, acceleration)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
