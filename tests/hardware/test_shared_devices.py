"""Two processes of one session see the same devices: settings and simulated motors in Redis.

Each `Config` here has its own Redis connections and its own invalidation feed, as two
shells would. A test waits for the feed to report the change (`catch_up`), never a delay.
"""

import gevent
import pytest
from tests.hardware.conftest import MOTORS_YML

from beamshell.hardware.axis import AxisError, AxisState

COUNTERS_YML = """
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: fshutter, class: simulation_shutter, moving_time: 0.01}
- {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2]}
"""


@pytest.fixture
def two(make_config):
    files = {"motors.yml": MOTORS_YML, "counters.yml": COUNTERS_YML}
    first = make_config(files)
    second = make_config()
    return first, second


def test_axis_settings_changed_in_one_are_seen_in_the_other(two):
    first, second = two
    here, there = first.get("m1"), second.get("m1")
    assert there.velocity == 10  # read (and cached) before the change
    here.velocity = 3
    here.acceleration = 30
    here.limits = (-5, 5)
    here.sign = -1
    assert second.settings.catch_up()
    assert (there.velocity, there.acceleration, there.sign) == (3, 30, -1)
    assert there.limits == (-5, 5)


def test_a_redefined_position_is_seen_in_the_other(two, capsys):
    first, second = two
    here, there = first.get("m2"), second.get("m2")
    here.move(2)
    assert second.settings.catch_up()
    assert there.position == 2
    here.position = 10
    assert second.settings.catch_up()
    assert (there.position, there.dial, there.offset) == (10, 2, 8)


def test_a_move_in_one_is_seen_moving_in_the_other_and_can_be_stopped_there(two):
    first, second = two
    here, there = first.get("m1"), second.get("m1")
    here.move(50, wait=False)  # 5 s at 10 mm/s
    assert second.settings.catch_up()
    assert there.state is AxisState.MOVING and there.is_moving and not there.moving_here
    assert 0 <= there.position < 50
    with pytest.raises(AxisError, match="m1: is being moved by another process"):
        there.move(1)
    there.stop()  # as with hardware: stopped from anywhere
    assert there.state is AxisState.READY
    with gevent.Timeout(10):
        here.wait_move()  # the mover's follower sees the stop and ends the move
    assert 0 <= here.position < 50  # stopped where it was, not at the target
    assert second.settings.catch_up()
    assert there.position == here.position


def test_a_measurement_group_choice_is_shared(two):
    first, second = two
    here, there = first.get("MG1"), second.get("MG1")
    assert [c.name for c in there.enabled] == ["diode", "diode2"]
    here.disable("diode2")
    assert second.settings.catch_up()
    assert [c.name for c in there.enabled] == ["diode"]
    there.enable_all()
    assert first.settings.catch_up()
    assert [c.name for c in here.disabled] == []


def test_a_shutter_state_is_shared(two):
    first, second = two
    here, there = first.get("fshutter"), second.get("fshutter")
    assert there.is_closed
    here.open()
    assert second.settings.catch_up()
    assert there.is_open
