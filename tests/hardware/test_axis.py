"""Mockup axes: realistic move timing, positions during moves, stop, Ctrl-C, limits, steps."""

import time

import gevent
import pytest

from beamshell.errors import BeamshellError
from beamshell.hardware.axis import AxisError, AxisLimitError, AxisState, AxisValueError
from beamshell.hardware.trajectory import MotionProfile

# Moves may end late by a scheduling delay, never early. How late, on a busy machine, is
# not a property of the code: `benchmarks/bench_hardware.py` measures it. Here an upper
# bound only catches a move that never ends.
HANG_GUARD_S = 5.0
STEP = 1e-3  # m1's position is rounded to whole steps (1000 per mm)


def expected_duration(distance, velocity, acceleration):
    return MotionProfile.trapezoid(0, distance, velocity, acceleration, 0).duration


def timed_move(axis, target):
    start = time.monotonic()
    axis.move(target)
    return time.monotonic() - start


def test_move_duration_follows_velocity_and_acceleration(motors):
    m1 = motors.get("m1")  # v=10, a=50: ramps of 0.2 s over 1 mm each
    elapsed = timed_move(m1, 5)
    assert expected_duration(5, 10, 50) == pytest.approx(0.7)
    assert 0.7 - 0.005 <= elapsed <= 0.7 + HANG_GUARD_S
    assert m1.position == 5
    assert m1.state is AxisState.READY
    assert m1.state == "READY"  # operators may compare with the text


def test_short_move_is_triangular(motors):
    m1 = motors.get("m1")
    elapsed = timed_move(m1, 0.5)  # never reaches 10 mm/s: 0.25 mm = 50/2 * t**2, twice
    assert expected_duration(0.5, 10, 50) == pytest.approx(0.2)
    assert 0.2 - 0.005 <= elapsed <= 0.2 + HANG_GUARD_S


def test_slower_axis_takes_longer(motors):
    m2 = motors.get("m2")  # v=5, a=50
    elapsed = timed_move(m2, -3)
    expected = expected_duration(3, 5, 50)
    assert expected == pytest.approx(0.7)
    assert expected - 0.005 <= elapsed <= expected + HANG_GUARD_S
    assert m2.position == -3


def test_changed_velocity_changes_duration(motors):
    m1 = motors.get("m1")
    m1.velocity = 20
    m1.acceleration = 200
    elapsed = timed_move(m1, 4)
    expected = expected_duration(4, 20, 200)
    assert expected - 0.005 <= elapsed <= expected + HANG_GUARD_S


def test_position_is_interpolated_during_the_move(motors):
    m1 = motors.get("m1")
    before_start = time.monotonic()
    m1.move(5, wait=False)
    after_start = time.monotonic()
    assert m1.is_moving
    assert m1.state is AxisState.MOVING
    readings = []
    for _ in range(5):
        gevent.sleep(0.1)
        before = time.monotonic()
        position = m1.position
        readings.append((before, position, time.monotonic()))
    profile = MotionProfile.trapezoid(0, 5, 10, 50, 0)
    for before, position, after in readings:
        # The move started, and the position was read, within known instants: the reading
        # lies between the profile's positions at the shortest and longest time since start,
        # however long the machine kept this process waiting in between.
        earliest = profile.position(before - after_start)
        latest = profile.position(after - before_start)
        assert earliest - STEP <= position <= latest + STEP
        assert position == round(position, 3)  # whole steps (1000 per mm)
    assert 0 < readings[0][1]
    assert [p for _, p, _ in readings] == sorted(p for _, p, _ in readings)
    m1.wait_move()
    assert m1.position == 5 and not m1.is_moving


def test_stop_decelerates_where_it_is(motors):
    m1 = motors.get("m1")
    m1.move(50, wait=False)  # cruising at 10 mm/s from 0.2 s to 5 s
    gevent.sleep(0.4)
    start = time.monotonic()
    before_stop = m1.position
    m1.stop(wait=False)
    after_stop = m1.position  # braking already: the stop happened between the two readings
    m1.wait_move()
    braking = time.monotonic() - start
    assert m1.state is AxisState.READY and not m1.is_moving
    # Braking from 10 mm/s at 50 mm/s2: 0.2 s over 1 mm.
    assert before_stop + 1.0 - STEP <= m1.position <= after_stop + 1.0 + STEP
    assert 0.2 - 0.01 <= braking <= 0.2 + HANG_GUARD_S
    stopped = m1.position
    gevent.sleep(0.1)
    assert m1.position == stopped


def test_keyboard_interrupt_while_waiting_stops_the_motor(motors):
    m1 = motors.get("m1")
    # Started here, so that the 0.3 s below are all motion (a greenlet would start it later).
    m1.move(100, wait=False)  # 10 s to go: it is interrupted long before
    waiter = gevent.spawn(m1.wait_move)
    gevent.sleep(0.3)
    # gevent hands a KeyboardInterrupt that ends a greenlet on to the main greenlet.
    with pytest.raises(KeyboardInterrupt):
        waiter.kill(KeyboardInterrupt)
    waiter.join()
    assert isinstance(waiter.exception, KeyboardInterrupt)
    assert m1.state is AxisState.READY and not m1.is_moving
    stopped = m1.position
    # At least 0.3 s of motion (2 mm), then 1 mm of braking; far from the target.
    assert 3 - STEP <= stopped < 100
    gevent.sleep(0.2)
    assert m1.position == stopped


def test_keyboard_interrupt_caught_by_the_command(motors, wait_until_moving):
    m1 = motors.get("m1")

    def command():
        try:
            m1.move(-100)
        except KeyboardInterrupt:
            return m1.state, m1.position

    greenlet = gevent.spawn(command)
    wait_until_moving(m1)  # from here on, the 0.25 s below are all motion
    gevent.sleep(0.25)
    greenlet.kill(KeyboardInterrupt, block=False)
    state, position = greenlet.get()
    assert state is AxisState.READY
    assert -100 < position <= -2.5 + STEP  # 0.25 s of motion (1.5 mm), 1 mm of braking


def test_exception_while_waiting_stops_the_motor(motors, wait_until_moving):
    m1 = motors.get("m1")
    mover = gevent.spawn(m1.move, 100)
    wait_until_moving(m1)
    gevent.sleep(0.3)  # some motion: it stops on its way
    mover.kill(RuntimeError("operator gave up"))
    assert isinstance(mover.exception, RuntimeError)
    assert m1.state is AxisState.READY and not m1.is_moving
    stopped = m1.position
    gevent.sleep(0.2)
    assert m1.position == stopped < 100


def test_target_outside_limits_is_refused_before_moving(motors):
    m1 = motors.get("m1")
    with pytest.raises(AxisLimitError, match=r"^m1: target 200 is outside limits \(-100, 100\)$"):
        m1.move(200)
    with pytest.raises(ValueError, match="m1: target -100.5 is outside limits"):
        m1.move(-100.5, wait=False)
    assert not m1.is_moving and m1.state is AxisState.READY
    assert m1.position == 0


def test_limits_follow_offset_and_can_be_changed(motors):
    m1 = motors.get("m1")
    m1.offset = 10
    assert m1.limits == (-90, 110)  # limits protect the mechanics: they are dial limits
    assert m1.dial_limits == (-100, 100)
    m1.limits = (-5, 5)
    assert m1.limits == (-5, 5)
    assert m1.dial_limits == (-15, -5)
    with pytest.raises(AxisLimitError, match=r"m1: target 6 is outside limits \(-5, 5\)"):
        m1.move(6)
    with pytest.raises(AxisValueError, match="m1: low limit 3 is above high limit 2"):
        m1.limits = (3, 2)
    m1.limits = (None, None)
    assert m1.limits == (float("-inf"), float("inf"))


def test_axis_without_limits_moves_anywhere(motors):
    m2 = motors.get("m2")
    m2.check_limits(1e9)
    assert m2.limits == (float("-inf"), float("inf"))


def test_positions_round_to_steps(motors):
    coarse = motors.get("coarse")  # 100 steps per unit
    coarse.move(1.23456)
    assert coarse.position == 1.23
    assert coarse.dial == 1.23
    coarse.move(-0.006)
    assert coarse.position == -0.01
    coarse.move(2, wait=False)
    seen = []
    while coarse.is_moving:
        seen.append(coarse.position)
        gevent.sleep(0.005)
    assert seen and all(abs(p * 100 - round(p * 100)) < 1e-9 for p in seen)


def test_offset_sign_and_user_position(motors):
    m1 = motors.get("m1")
    m1.move(2)
    m1.set_position(12)  # redefine the user position, nothing moves
    assert m1.offset == 10 and m1.dial == 2 and m1.position == 12
    m1.sign = -1  # the user position is kept
    assert m1.position == 12 and m1.dial == 2
    m1.move(11)  # sign -1: the dial goes up by one
    assert m1.dial == pytest.approx(3)
    assert m1.position == pytest.approx(11)
    m1.dial = 0  # redefine the dial; the offset stays
    assert m1.position == pytest.approx(m1.offset)


def test_rmove_is_relative(motors):
    m2 = motors.get("m2")
    m2.move(1)
    m2.rmove(0.5)
    assert m2.position == pytest.approx(1.5)
    m2.rmove(-2)
    assert m2.position == pytest.approx(-0.5)


def test_bad_values_are_refused_with_the_axis_name(motors):
    m1 = motors.get("m1")
    with pytest.raises(AxisValueError, match="m1: target 'abc' is not a number"):
        m1.move("abc")
    with pytest.raises(AxisValueError, match="m1: target is NaN"):
        m1.move(float("nan"))
    with pytest.raises(AxisValueError, match="m1: velocity must be a positive number, got -1"):
        m1.velocity = -1
    with pytest.raises(AxisValueError, match="m1: acceleration 'fast' is not a number"):
        m1.acceleration = "fast"
    with pytest.raises(AxisValueError, match="m1: sign must be 1 or -1, got 2"):
        m1.sign = 2
    assert m1.velocity == 10 and m1.acceleration == 50 and m1.sign == 1


def test_second_move_while_moving_is_refused(motors):
    m1 = motors.get("m1")
    m1.move(3, wait=False)
    with pytest.raises(AxisError, match="m1: is moving, cannot start a new move"):
        m1.move(1)
    with pytest.raises(AxisError, match="m1: is moving"):
        m1.dial = 0
    m1.wait_move()
    assert m1.position == 3


def test_settings_persist_across_a_new_config(motors, make_config):
    m1 = motors.get("m1")
    m1.move(4)
    m1.offset = 1.5
    m1.limits = (-20, 30)
    m1.velocity = 12
    m1.acceleration = 80
    m2 = motors.get("m2")
    m2.move(-1.25)
    m2.sign = -1
    motors.close()

    reopened = make_config()
    m1 = reopened.get("m1")
    assert m1.dial == 4
    assert m1.position == 5.5
    assert m1.offset == 1.5
    assert m1.limits == (-20, 30)
    assert m1.velocity == 12 and m1.acceleration == 80
    m2 = reopened.get("m2")
    assert m2.sign == -1 and m2.dial == -1.25 and m2.position == pytest.approx(-1.25)


def test_position_of_a_stopped_move_persists(motors, make_config):
    m1 = motors.get("m1")
    m1.move(30, wait=False)
    gevent.sleep(0.3)
    m1.stop()
    stopped = m1.position
    assert reopened_position(make_config, "m1") == stopped


def reopened_position(make_config, name):
    return make_config().get(name).position


def test_apply_config_forgets_operator_settings(motors):
    m1 = motors.get("m1")
    m1.velocity = 1
    m1.limits = (0, 1)
    m1.offset = 3
    m1.apply_config()
    assert m1.velocity == 10 and m1.limits == (-100, 100) and m1.offset == 0


def test_hardware_fault_refuses_moves_and_stops_a_move(motors):
    m1 = motors.get("m1")
    m1.controller.simulate_state(m1, "FAULT")
    assert m1.state is AxisState.FAULT
    with pytest.raises(AxisError, match="m1: cannot move, motor is in FAULT state"):
        m1.move(1)
    m1.controller.simulate_state(m1, None)
    assert m1.state is AxisState.READY

    m1.move(100, wait=False)
    gevent.sleep(0.2)
    gevent.spawn_later(0.05, m1.controller.simulate_state, m1, AxisState.FAULT)
    with pytest.raises(AxisError, match=r"m1: motor FAULT during the move, stopped at [\d.]+ mm"):
        m1.wait_move()
    stopped = m1.position
    assert 1.5 - STEP <= stopped < 100  # at least 0.25 s of motion, stopped dead
    gevent.sleep(0.1)
    assert m1.position == stopped
    assert m1.state is AxisState.FAULT


def test_limit_switch_allows_moving_away_only(motors):
    m2 = motors.get("m2")
    m2.controller.simulate_state(m2, AxisState.LIMNEG)
    assert m2.state is AxisState.LIMNEG
    with pytest.raises(AxisError, match="m2: on the negative limit switch"):
        m2.move(-1)
    m2.move(0.5)
    assert m2.state is AxisState.READY
    with pytest.raises(BeamshellError, match="m2: unknown state 'BROKEN'"):
        m2.controller.simulate_state(m2, "BROKEN")


def test_name_is_an_alias_and_config_name_stays(motors, redis_client):
    m1 = motors.get("m1")
    m1.name = "th"
    with pytest.raises(AxisLimitError, match="^th: target 500"):
        m1.move(500)
    m1.offset = 2
    assert m1.config_name == "m1"
    assert redis_client.hget("settings:axis:m1", "offset") == b"2.0"
    assert "th" in repr(m1)


def test_repr_shows_name_position_state_limits(motors):
    m1 = motors.get("m1")
    m1.move(1.5)
    assert repr(m1) == "<Axis m1: position 1.500 mm, READY, limits (-100, 100)>"
    info = m1.__info__()
    for text in ("AXIS m1", "READY", "1.500 mm", "(-100, 100)", "10 mm/s", "50 mm/s2", "1000"):
        assert text in info


def test_reading_position_does_not_touch_redis(motors, redis_client):
    m1 = motors.get("m1")
    m1.move(1)
    # The move's own writes come back as invalidations (Redis tracks every client's
    # writes); once heard and the values read again, reading costs nothing.
    assert motors.settings.catch_up()
    _ = (m1.position, m1.state)
    before = redis_client.info("stats")["total_commands_processed"]
    readings = [(m1.position, m1.state) for _ in range(100)]
    after = redis_client.info("stats")["total_commands_processed"]
    assert after - before == 1  # only the INFO call itself
    assert set(readings) == {(1, AxisState.READY)}


def test_abort_stops_dead_without_braking(motors):
    m1 = motors.get("m1")
    before_start = time.monotonic()
    m1.move(50, wait=False)
    gevent.sleep(0.4)  # cruising at 10 mm/s
    # Braking would now take 10 s over 50 mm: an abort that braked could not return soon,
    # nor stop anywhere near where the motor was.
    m1.acceleration = 1
    start = time.monotonic()
    m1.abort()
    after_abort = time.monotonic()
    assert after_abort - start < HANG_GUARD_S
    at_abort = m1.position
    profile = MotionProfile.trapezoid(0, 50, 10, 50, 0)
    assert at_abort <= profile.position(after_abort - before_start) + STEP
    gevent.sleep(0.1)
    assert m1.position == at_abort and m1.state is AxisState.READY


def test_stop_from_another_greenlet_ends_the_move_normally(motors, wait_until_moving):
    m2 = motors.get("m2")
    mover = gevent.spawn(m2.move, 100)  # 20 s at 5 mm/s
    wait_until_moving(m2)
    gevent.sleep(0.3)  # some motion: it stops on its way
    m2.stop()
    mover.get()  # a requested stop is not an error for whoever waits
    assert 0 < m2.position < 100 and m2.state is AxisState.READY


def test_controller_close_stops_every_axis_and_saves(motors, make_config):
    m1, m2 = motors.get("m1"), motors.get("m2")
    m1.move(20, wait=False)
    m2.move(-20, wait=False)
    gevent.sleep(0.2)
    m1.controller.close()
    assert not m1.is_moving and not m2.is_moving
    where = (m1.position, m2.position)
    reopened = make_config()
    assert (reopened.get("m1").position, reopened.get("m2").position) == where


def test_sync_hard_persists_the_controller_position(motors, redis_client):
    m1 = motors.get("m1")
    m1.controller.set_position(m1, 7.5)  # the hardware was moved behind our back
    assert m1.sync_hard() == 7.5
    assert redis_client.hget("settings:axis:m1", "dial_position") == b"7.5"
