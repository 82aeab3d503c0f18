"""The time estimate: printed under a step scan's title, recorded, and never beaten by the scan.

How close it is to the real duration (issue target: within 10 %) depends on the machine's
load, so `benchmarks/bench_alignment.py` measures it, not a test.
"""

import re

import numpy as np
import pytest

from beamshell.scanning import scans
from beamshell.scanning.estimate import ScanEstimate, format_time

from .helpers import ESTIMATE_RE, RecordingStream, lines_of


@pytest.fixture
def realistic_motors(devices):
    """The demo's motor speeds: moves take a good part of each point."""
    devices.m1.velocity, devices.m1.acceleration = 10, 50
    devices.m2.velocity, devices.m2.acceleration = 5, 50
    devices.m1.move(0)
    devices.m2.move(0)
    return devices


SCANS = {
    "ascan": lambda d: scans.ascan(d.m1, 0, 1, 5, 0.2, d.diode, run=False),
    "dscan": lambda d: scans.dscan(d.m1, -0.5, 0.5, 5, 0.2, d.diode, d.beam, run=False),
    "a2scan": lambda d: scans.a2scan(d.m1, 0, 1, d.m2, 0, -0.5, 5, 0.2, d.diode, run=False),
    "amesh": lambda d: scans.amesh(d.m1, 0, 0.4, 2, d.m2, 0, 0.2, 1, 0.2, d.diode, run=False),
}


@pytest.mark.parametrize("kind", list(SCANS))
def test_estimate_counts_moves_and_counting_and_the_scan_never_beats_it(
    quiet_env, realistic_motors, kind
):
    scan = SCANS[kind](realistic_motors)
    estimate = scan.estimate()
    assert estimate.motion > 0.3 and estimate.count == pytest.approx(6 * 0.2, rel=0.05)
    assert estimate.total == pytest.approx(estimate.motion + estimate.count)  # returns in motion
    scan.run()
    real = scan.end_time - scan.start_time  # dscan: its return to the start included
    # Moves and counts never end early; how late they end is the machine's load.
    assert real >= 0.9 * estimate.total, (estimate, real)
    assert scan.scan_info["estimated_time"] == pytest.approx(estimate.total, rel=0.01)


def test_estimate_is_printed_under_the_title(env, devices):
    stream = RecordingStream()
    env.output = stream
    scan = scans.ascan(devices.m1, 0, 2, 20, 0.01, devices.diode, run=False)
    before = str(scan.estimate())
    scan.run()
    lines = lines_of(stream.text)
    assert lines[1] == "ascan m1 0 2 20 0.01"
    assert lines[2] == before == str(scan.estimate())
    match = re.fullmatch(ESTIMATE_RE, lines[2])
    assert match and lines[2].startswith("Total 21 points, 0:00:0")


def test_timer_scans_have_an_estimate_but_do_not_print_it(env, devices):
    stream = RecordingStream()
    env.output = stream
    scan = scans.loopscan(4, 0.05, devices.diode, sleep_time=0.1)
    assert "Total" not in stream.text  # the seeds' loopscan output has no such line
    assert scan.estimate().count == pytest.approx(4 * 0.05 + 3 * 0.1, abs=0.02)
    assert scan.estimate().motion == 0
    assert scans.timescan(0.01, devices.diode, run=False).estimate() is None  # endless


def test_estimate_is_published_with_the_scan(publishing_env, devices):
    scan = scans.ascan(devices.m1, 0, 1, 4, 0.01, devices.diode)
    info = scan.node.info
    assert info["estimated_time"] == pytest.approx(scan.estimate().total)


def test_time_left_follows_the_pace_of_the_scan():
    estimate = ScanEstimate(np.array([1.0, 2.0, 3.0, 4.0]), motion=2.0, count=2.0, after=0.5)
    assert estimate.total == 4.5
    assert estimate.time_left(0, 0.2) == pytest.approx(4.3)
    assert estimate.time_left(2, 2.0) == pytest.approx(2.5)
    assert estimate.time_left(2, 4.0) == pytest.approx(5.0)  # twice as slow as estimated
    assert estimate.time_left(4, 4.0) == pytest.approx(0.5)  # the return move is still to come


def test_time_format():
    assert format_time(3.24) == "0:00:03.2"
    assert format_time(3725.96) == "1:02:06.0"
    assert format_time(-1) == "0:00:00.0"
