"""move_axes: several axes together, every limit checked first, all stopped on interruption."""

import time

import gevent
import pytest

from beamshell.errors import BeamshellError
from beamshell.hardware.axis import AxisError, AxisLimitError, AxisState
from beamshell.hardware.motion import move_axes, stop_axes, wait_axes
from beamshell.hardware.trajectory import MotionProfile


def test_axes_move_together(motors):
    m1, m2 = motors.get("m1"), motors.get("m2")
    start = time.monotonic()
    move_axes({m1: 3, m2: -3}, wait=False)
    # In parallel, not one after the other: both are on their way before anything waits.
    assert m1.is_moving and m2.is_moving
    wait_axes([m1, m2])
    elapsed = time.monotonic() - start
    slowest = max(
        MotionProfile.trapezoid(0, 3, 10, 50, 0).duration,
        MotionProfile.trapezoid(0, 3, 5, 50, 0).duration,
    )
    assert slowest - 0.005 <= elapsed  # how late, on a busy machine: benchmarks/bench_hardware
    assert (m1.position, m2.position) == (3, -3)


def test_one_bad_target_moves_nothing(motors):
    m1, m2 = motors.get("m1"), motors.get("m2")
    with pytest.raises(AxisLimitError, match=r"m1: target 150 is outside limits \(-100, 100\)"):
        move_axes({m2: 5, m1: 150})
    assert not m2.is_moving and m2.position == 0


def test_a_non_axis_is_refused(motors):
    m1 = motors.get("m1")
    with pytest.raises(BeamshellError, match="'diode' is not an axis"):
        move_axes({m1: 1, FakeNamed("diode"): 2})
    assert m1.position == 0 and not m1.is_moving


class FakeNamed:
    def __init__(self, name):
        self.name = name


def test_no_wait_then_wait_axes(motors):
    m1, m2 = motors.get("m1"), motors.get("m2")
    move_axes({m1: 1, m2: 1}, wait=False)
    assert m1.state is AxisState.MOVING and m2.state is AxisState.MOVING
    wait_axes([m1, m2])
    assert (m1.position, m2.position) == (1, 1)


def test_keyboard_interrupt_stops_every_axis(motors, wait_until_moving):
    m1, m2 = motors.get("m1"), motors.get("m2")
    mover = gevent.spawn(move_axes, {m1: 100, m2: 100})  # 10 s and 20 s to go
    wait_until_moving(m1, m2)
    gevent.sleep(0.3)  # some motion: they stop on their way
    with pytest.raises(KeyboardInterrupt):
        mover.kill(KeyboardInterrupt)
    mover.join()
    assert not m1.is_moving and not m2.is_moving
    where = (m1.position, m2.position)
    assert 0 < where[0] < 100 and 0 < where[1] < 100
    gevent.sleep(0.2)
    assert (m1.position, m2.position) == where


def test_exception_stops_every_axis(motors, wait_until_moving):
    m1, m2 = motors.get("m1"), motors.get("m2")
    mover = gevent.spawn(move_axes, {m1: -100, m2: -100})
    wait_until_moving(m1, m2)
    gevent.sleep(0.2)  # some motion: they stop on their way
    mover.kill(RuntimeError("scan aborted"))
    assert isinstance(mover.exception, RuntimeError)
    assert m1.state is AxisState.READY and m2.state is AxisState.READY
    assert 0 > m1.position > -100 and 0 > m2.position > -100


def test_fault_of_one_axis_is_reported_after_the_others_arrive(motors):
    m1, m2 = motors.get("m1"), motors.get("m2")
    gevent.spawn_later(0.1, m1.controller.simulate_state, m1, "FAULT")
    with pytest.raises(AxisError, match="m1: motor FAULT during the move"):
        move_axes({m1: 100, m2: 2})  # m1 would need 10 s: the fault comes first
    assert m2.position == 2
    assert m1.state is AxisState.FAULT


def test_stop_axes(motors):
    m1, m2 = motors.get("m1"), motors.get("m2")
    move_axes({m1: 100, m2: 100}, wait=False)
    gevent.sleep(0.25)
    stop_axes([m1, m2])
    assert not m1.is_moving and not m2.is_moving
    assert 0 < m1.position < 100 and 0 < m2.position < 100
