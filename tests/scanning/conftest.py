"""Fixtures for scan tests: real simulated devices from a YAML configuration, a scan environment."""

import textwrap

import pytest

from beamshell.config.static import Config
from beamshell.hardware.axis import Axis
from beamshell.scanning.context import ScanEnvironment, set_default_environment
from beamshell.scanning.saving import ScanSaving

# Scan nodes are named after the base path: demo:tmp:scans:<nb>_<name>, as in BLISS.
SAVING_DEFAULTS = {"base_path": "/tmp/scans"}

DEVICES_YML = """
- controller:
    name: motors
    class: mockup
    axes:
      - {name: m1, velocity: 200, acceleration: 4000, steps_per_unit: 1000,
         low_limit: -100, high_limit: 100, unit: mm}
      - {name: m2, velocity: 200, acceleration: 4000, steps_per_unit: 1000,
         low_limit: -50, high_limit: 50}
- {name: diode, class: simulation_diode}
- {name: diode2, class: simulation_diode, constant: 7}
- {name: diode3, class: simulation_diode, level: 10, noise: 0, unit: mV}
- {name: beam, class: simulation_beam_monitor, value: 100}
- {name: stats, class: simulation_diode, mode: STATS, level: 50, noise: 0.1}
- {name: mca, class: simulation_mca, size: 8}
- {name: MG1, class: MeasurementGroup, counters: [$diode, $diode2]}
- {name: gauss, class: simulation_gaussian, axis: $m1, center: 0.3, fwhm: 1, height: 1000,
   noise: 0.01}
- {name: spot, class: simulation_gaussian, axis: $m2, center: -0.2, fwhm: 0.5, height: 500,
   background: 20}
"""


@pytest.fixture
def config(tmp_path, redis_url):
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "devices.yml").write_text(textwrap.dedent(DEVICES_YML))
    cfg = Config(directory, redis_url=redis_url)
    yield cfg
    for obj in list(cfg._objects.values()):
        if isinstance(obj, Axis):
            obj.abort()  # a failed test may leave a motor moving
    cfg.close()


@pytest.fixture
def devices(config):
    """The configured objects by name, built on first use."""

    class Devices:
        def __getattr__(self, name):
            return config.get(name)

    return Devices()


@pytest.fixture
def env(config):
    """A session-like environment without publishing (scan numbers kept in Redis settings)."""
    environment = ScanEnvironment(
        "demo",
        user="seb",
        settings=config.settings,
        scan_saving=ScanSaving("demo", config.settings, SAVING_DEFAULTS, user="seb"),
        active_mg=lambda: config.get("MG1"),
    )
    set_default_environment(environment)
    yield environment
    set_default_environment(None)


@pytest.fixture
def quiet_env(env):
    env.display = False
    return env


@pytest.fixture
def publishing_env(config):
    """An environment that publishes every scan to the test Redis."""
    environment = ScanEnvironment(
        "demo",
        user="seb",
        redis=config.redis,
        scan_saving=ScanSaving("demo", config.settings, SAVING_DEFAULTS, user="seb"),
        active_mg=lambda: config.get("MG1"),
        display=False,
    )
    set_default_environment(environment)
    yield environment
    set_default_environment(None)
