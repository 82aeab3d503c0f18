"""The simulated shutter: realistic opening/closing time, state, persistence."""

import time

import gevent
import pytest

from beamshell.errors import ConfigError
from beamshell.hardware.shutter import ShutterState

FILES = {
    "shutters.yml": "- {name: fshutter, class: simulation_shutter}\n"
    "- {name: slow, class: simulation_shutter, moving_time: 1}\n"
}


@pytest.fixture
def config(make_config):
    return make_config(FILES)


def wait_until_moving(shutter, timeout: float = 10.0) -> None:
    """Until the shutter's own state says MOVING (the opener reads its setting first, and
    the movement lasts 1 s: only a stall that long misses it); the timeout guards hangs."""
    with gevent.Timeout(timeout, AssertionError(f"{shutter.name} never started moving")):
        while shutter.state is not ShutterState.MOVING:
            gevent.sleep(0.001)


def test_open_and_close_take_the_moving_time(config):
    shutter = config.get("fshutter")
    assert shutter.state is ShutterState.CLOSED
    start = time.monotonic()
    shutter.open()
    assert 0.03 <= time.monotonic() - start  # how much later, on a busy machine: not its job
    assert shutter.state is ShutterState.OPEN and shutter.is_open
    assert shutter.state == "OPEN"
    shutter.close()
    assert shutter.is_closed
    slow = config.get("slow")  # 1 s to move
    slow.open()
    start = time.monotonic()
    slow.open()  # already open: at once (only a stall as long as a movement could miss it)
    assert time.monotonic() - start < slow.moving_time


def test_state_is_moving_meanwhile(config):
    slow = config.get("slow")
    opener = gevent.spawn(slow.open)
    wait_until_moving(slow)
    closer = gevent.spawn(slow.close)  # waits for the opening to finish
    opener.join()
    assert slow.state in (ShutterState.OPEN, ShutterState.MOVING)
    closer.join()
    assert slow.state is ShutterState.CLOSED


def test_interrupted_opening_leaves_it_closed(config):
    slow = config.get("slow")
    opener = gevent.spawn(slow.open)
    wait_until_moving(slow)
    opener.kill(RuntimeError("cancelled"))
    assert slow.state is ShutterState.CLOSED


def test_state_persists(config, make_config):
    config.get("fshutter").open()
    config.close()
    assert make_config().get("fshutter").state is ShutterState.OPEN


def test_repr(config):
    assert repr(config.get("fshutter")) == "<SimulationShutter fshutter: CLOSED>"


def test_bad_keys(make_config):
    config = make_config(
        {
            "s.yml": "- {name: s, class: simulation_shutter, delay: 1}\n"
            "- {name: t, class: simulation_shutter, moving_time: -1}\n"
        }
    )
    with pytest.raises(
        ConfigError, match=r"s.yml:1: object 's': unknown key 'delay' \(known keys: moving_time\)"
    ):
        config.get("s")
    with pytest.raises(ConfigError, match=r"s.yml:2: object 't': 'moving_time' must be 0 or more"):
        config.get("t")
