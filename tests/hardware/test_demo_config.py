"""The demo configuration shipped in the package: every device in it builds and behaves."""

import numpy as np
import pytest

from beamshell.config.static import DEMO_CONFIG_DIR, Config
from beamshell.hardware.axis import Axis
from beamshell.hardware.counters import Counter
from beamshell.hardware.measurement_group import MeasurementGroup
from beamshell.hardware.shutter import SimulationShutter
from beamshell.hardware.trajectory import MotionProfile

HARDWARE_FILES = ("motors.yml", "counters.yml")


@pytest.fixture
def demo(redis_url):
    config = Config(DEMO_CONFIG_DIR, redis_url=redis_url)
    yield config
    config.close()


def hardware_names(config):
    return [
        name
        for name in config.names_list
        if config.get_config(name).filename.endswith(HARDWARE_FILES)
    ]


def test_every_hardware_object_builds(demo):
    assert not demo.file_errors
    names = hardware_names(demo)
    assert {"m1", "m2", "diode", "diode2", "gauss", "beam", "fshutter", "mca", "MG1"} <= set(names)
    for name in names:
        demo.get(name)  # raises with file:line if anything is wrong


def test_demo_devices(demo):
    m1, m2 = demo.get("m1"), demo.get("m2")
    assert isinstance(m1, Axis) and m1.unit == "mm" and m1.limits == (-100, 100)
    for axis in (m1, m2, demo.get("m3")):
        # A move of a few units takes a fraction of a second.
        assert (
            0.2 <= MotionProfile.trapezoid(0, 3, axis.velocity, axis.acceleration, 0).duration <= 1
        )
    assert demo.get("diode2").raw_read == 7
    assert demo.get("gauss").axis is m1
    assert demo.get("gauss").raw_read == pytest.approx(1000, rel=0.1)
    assert demo.get("beam").raw_read == 100
    assert isinstance(demo.get("mca").raw_read, np.ndarray)
    assert isinstance(demo.get("fshutter"), SimulationShutter)
    mg1 = demo.get("MG1")
    assert isinstance(mg1, MeasurementGroup)
    assert [counter.name for counter in mg1.counters] == ["diode", "diode2"]
    assert all(isinstance(counter, Counter) for counter in demo.get("MG2").counters)


def test_session_objects_exist(demo):
    """Every object the demo session lists is defined (the session file is not ours to test)."""
    sessions = [n for n in demo.names_list if demo.get_config(n).raw("class") == "Session"]
    for session in sessions:
        for name in demo.get_config(session).raw("config-objects") or []:
            assert name in demo.names_list, f"session {session} lists missing object {name}"
