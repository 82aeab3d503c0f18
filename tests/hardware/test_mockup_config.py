"""The mockup controller's configuration: keys, defaults, errors at file:line, settings vs file."""

import pytest

from beamshell.errors import BeamshellError, ConfigError
from beamshell.hardware.axis import Axis
from beamshell.hardware.mockup import MockupController

GOOD_AND_BAD = """\
controller:
  class: mockup
  axes:
    - name: good
      velocity: 2
    - name: typo
      velocty: 2
    - name: slow
      velocity: fast
    - name: flipped
      sign: 2
    - name: crossed
      low_limit: 5
      high_limit: -5
    - name: zero
      steps_per_unit: 0
"""


@pytest.fixture
def config(make_config):
    return make_config({"motors.yml": GOOD_AND_BAD})


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        (
            "typo",
            7,
            "unknown key 'velocty' (known keys: acceleration, high_limit, low_limit, "
            "offset, sign, steps_per_unit, unit, velocity)",
        ),
        ("slow", 9, "'velocity' must be a number, got 'fast'"),
        ("flipped", 11, "'sign' must be 1 or -1, got 2"),
        ("crossed", 13, "low_limit 5 is above high_limit -5"),
        ("zero", 16, "'steps_per_unit' must be greater than 0, got 0"),
    ],
)
def test_bad_axis_keys_name_file_and_line(config, name, line, message):
    with pytest.raises(ConfigError) as info:
        config.get(name)
    assert str(info.value) == f"{config.root_dir / 'motors.yml'}:{line}: object '{name}': {message}"


def test_a_bad_axis_does_not_break_the_others(config):
    with pytest.raises(ConfigError):
        config.get("typo")
    good = config.get("good")
    assert isinstance(good, Axis) and good.velocity == 2


def test_defaults(config):
    good = config.get("good")
    assert good.acceleration == 100 and good.steps_per_unit == 1000
    assert good.sign == 1 and good.offset == 0 and good.unit is None
    assert good.limits == (float("-inf"), float("inf"))
    assert good.position == 0


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "controller:\n  class: mockup\n  speed: 3\n  axes: [{name: a1}]\n",
            3,
            "unknown key 'speed'",
        ),
        (
            "controller:\n  class: mockup\n  name: a1\n  axes: []\n",
            4,
            "needs at least one item in 'axes'",
        ),
        ("controller:\n  class: mockup\n  axes: {name: a1}\n", 3, "'axes' must be a list"),
        (
            "controller:\n  class: mockup\n  axes:\n    - {name: a1}\n    - {velocity: 3}\n",
            5,
            "every axis needs a 'name'",
        ),
    ],
)
def test_bad_controller_config(make_config, text, line, message):
    config = make_config({"motors.yml": text})
    with pytest.raises(ConfigError) as info:
        config.get("a1")
    assert f"motors.yml:{line}: " in str(info.value)
    assert message in str(info.value)


def test_controller_hands_out_its_axes(make_config):
    config = make_config(
        {"motors.yml": "- {name: ctrl, class: mockup, axes: [{name: a1}, {name: a2}]}\n"}
    )
    controller = config.get("ctrl")
    assert isinstance(controller, MockupController)
    assert controller.get_object("a1") is config.get("a1")
    assert list(controller.axes) == ["a1", "a2"]
    with pytest.raises(BeamshellError, match="controller ctrl has no axis 'a3'"):
        controller.get_object("a3")
    assert repr(controller) == "<MockupController ctrl: axes a1, a2>"


def test_settings_win_over_the_file_only_once_set(make_config):
    first = "- {name: ctrl, class: mockup, axes: [{name: a1, velocity: 2, acceleration: 30}]}\n"
    config = make_config({"motors.yml": first})
    config.get("a1").velocity = 4  # the operator's choice is kept...
    config.close()
    edited = "- {name: ctrl, class: mockup, axes: [{name: a1, velocity: 3, acceleration: 60}]}\n"
    a1 = make_config({"motors.yml": edited}).get("a1")
    assert a1.velocity == 4
    assert a1.acceleration == 60  # ...while what was never changed follows the file
