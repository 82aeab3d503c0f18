"""Fixtures for hardware tests: a configuration directory written from YAML text."""

import textwrap
from collections.abc import Callable

import pytest

from beamshell.config.static import Config
from beamshell.hardware.axis import Axis

MOTORS_YML = """
controller:
  name: testctrl
  class: mockup
  axes:
    - {name: m1, velocity: 10, acceleration: 50, steps_per_unit: 1000,
       low_limit: -100, high_limit: 100, unit: mm}
    - {name: m2, velocity: 5, acceleration: 50, steps_per_unit: 1000}
    - {name: coarse, velocity: 20, acceleration: 200, steps_per_unit: 100}
"""


@pytest.fixture
def make_config(tmp_path, redis_url) -> Callable[..., Config]:
    """write files {name: yaml text} into a fresh directory and load it; reopen with no args."""
    configs = []

    def make(files: dict[str, str] | None = None) -> Config:
        for filename, text in (files or {}).items():
            (tmp_path / filename).write_text(textwrap.dedent(text))
        config = Config(tmp_path, redis_url=redis_url)
        configs.append(config)
        return config

    yield make
    for config in configs:
        # A failed test may leave a motor moving: stop it before Redis goes away.
        for obj in list(config._objects.values()):
            if isinstance(obj, Axis):
                obj.abort()
        config.close()


@pytest.fixture
def motors(make_config) -> Config:
    return make_config({"motors.yml": MOTORS_YML})
