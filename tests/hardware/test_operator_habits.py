"""What a BLISS operator types on a device does what they expect (issue: operator habits).

`m1.position = x` redefines the user position (nothing moves), `m1.dial = x` redefines the
dial; both are persisted and printed. A misspelt attribute is an error naming the near
match, never a silent new attribute.
"""

import pytest
from tests.hardware.conftest import MOTORS_YML

from beamshell.hardware.attributes import DeviceAttributeError
from beamshell.hardware.axis import AxisError, AxisState

COUNTERS_YML = """
- {name: diode, class: simulation_diode}
- {name: fshutter, class: simulation_shutter}
- {name: MG1, class: MeasurementGroup, counters: [$diode]}
"""


def test_assigning_position_redefines_it_and_moves_nothing(motors, make_config, capsys):
    m1 = motors.get("m1")
    m1.move(2.5)
    capsys.readouterr()
    m1.position = 0
    assert capsys.readouterr().out == "'m1' position reset from 2.5 to 0 (offset -2.5)\n"
    assert not m1.is_moving and m1.state is AxisState.READY
    assert (m1.position, m1.dial, m1.offset) == (0, 2.5, -2.5)
    assert m1.limits == (-102.5, 97.5)  # limits are dial limits: they follow the offset
    reopened = make_config().get("m1")  # persisted
    assert (reopened.position, reopened.dial, reopened.offset) == (0, 2.5, -2.5)


def test_assigning_dial_redefines_it_and_the_user_position_follows(motors, make_config, capsys):
    m2 = motors.get("m2")
    m2.move(1)
    m2.offset = 10
    capsys.readouterr()
    m2.dial = 4
    assert capsys.readouterr().out == (
        "'m2' dial position reset from 1 to 4 (user position 14, offset 10)\n"
    )
    assert not m2.is_moving and (m2.dial, m2.position) == (4, 14)
    reopened = make_config().get("m2")
    assert (reopened.dial, reopened.position) == (4, 14)


def test_redefining_while_moving_is_refused(motors):
    m1 = motors.get("m1")
    m1.move(5, wait=False)
    with pytest.raises(AxisError, match="m1: is moving, cannot set the position"):
        m1.position = 0
    with pytest.raises(AxisError, match="m1: is moving, cannot set the dial position"):
        m1.dial = 0
    m1.wait_move()
    assert m1.position == 5 and m1.offset == 0


@pytest.mark.parametrize(
    ("name", "attribute", "near"),
    [
        ("m1", "postion", "position"),
        ("m1", "velocty", "velocity"),
        ("m1", "acceleraton", "acceleration"),
        ("diode", "levl", "level"),
        ("MG1", "enabeld", "enabled"),
        ("fshutter", "moving_tme", "moving_time"),
    ],
)
def test_a_misspelt_attribute_is_an_error_naming_the_near_match(make_config, name, attribute, near):
    config = make_config({"motors.yml": MOTORS_YML, "counters.yml": COUNTERS_YML})
    device = config.get(name)
    with pytest.raises(
        DeviceAttributeError,
        match=rf"^'{name}' has no attribute '{attribute}'; did you mean '{near}'\?",
    ):
        setattr(device, attribute, 3)
    assert not hasattr(device, attribute)
    assert isinstance(DeviceAttributeError(""), AttributeError)


def test_an_attribute_far_from_any_name_is_refused_too(motors):
    m1 = motors.get("m1")
    with pytest.raises(DeviceAttributeError, match=r"^'m1' has no attribute 'zzz' \(nothing"):
        m1.zzz = 1
    m1.velocity = 3  # existing attributes are set as before
    assert m1.velocity == 3
