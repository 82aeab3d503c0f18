"""Every scan records every axis of the session (user and dial) at its start and its end."""

import pytest

from beamshell.scanning import scans


@pytest.fixture
def axes_env(quiet_env, devices):
    quiet_env._axes = lambda: [devices.m1, devices.m2]
    return quiet_env


def test_start_and_end_positions_in_scan_info_and_redis(publishing_env, devices, redis_client):
    publishing_env._axes = lambda: [devices.m1, devices.m2]
    devices.m2.move(3)
    devices.m1.offset = 1.0  # user = dial + 1
    scan = scans.ascan(devices.m1, 2, 4, 2, 0, devices.diode)
    positioners = scan.scan_info["positioners"]
    assert positioners["positioners_start"]["m2"] == pytest.approx(3)
    assert positioners["positioners_end"] == pytest.approx({"m1": 4, "m2": 3})
    assert positioners["positioners_dial_end"] == pytest.approx({"m1": 3, "m2": 3})
    assert positioners["positioners_units"] == {"m1": "mm", "m2": None}
    published = scan.node.info["positioners"]  # what other processes read
    assert published == scan.scan_info["positioners"]


class UnreadableAxis:
    """A site axis whose controller stopped answering."""

    name = "ghost"
    unit = "deg"

    @property
    def position(self):
        raise RuntimeError("encoder unplugged")

    dial = position


def test_an_axis_that_cannot_be_read_is_recorded_as_unknown(axes_env, devices, caplog):
    axes_env._axes = lambda: [devices.m1, UnreadableAxis()]
    scan = scans.loopscan(2, 0, devices.diode)
    assert scan.state.name == "DONE"  # a snapshot never stops a scan
    start = scan.scan_info["positioners"]["positioners_dial_start"]
    assert start["ghost"] is None and start["m1"] == pytest.approx(devices.m1.dial)
    assert "axis ghost: position not recorded in the scan (encoder unplugged)" in caplog.text
