"""Scans, their states, data and the history print what they are (issue: operator habits)."""

import re

import gevent
import gevent.event
import pytest

from beamshell.scanning import scans
from beamshell.scanning.scan import ScanState


def test_a_state_shows_its_name_and_still_compares_with_numbers():
    state = ScanState.ABORTED
    assert repr(state) == "ABORTED" and str(state) == "ABORTED" and f"{state}" == "ABORTED"
    assert f"[{state:>8}]" == "[ ABORTED]"
    assert state == 6 and state == ScanState.ABORTED and int(state) == 6
    assert ScanState.DONE < state


def test_a_scan_shows_number_title_state_points_and_its_data_file(quiet_env, devices):
    scan = scans.loopscan(3, 0, devices.diode, run=False)
    assert repr(scan) == "Scan 'loopscan 3 0' IDLE, 0/3 points"
    scan.run()
    number = scan.scan_number
    file = scan.scan_info["filename"]
    assert repr(scan) == f"Scan {number} 'loopscan 3 0' DONE, 3/3 points, data {file}"
    counted = scans.ct(0, devices.diode)  # ct saves nothing: no file
    assert repr(counted) == f"Scan {counted.scan_number} 'ct 0' DONE, 1/1 points"


def test_get_data_shows_its_channels_and_lengths(quiet_env, devices):
    scan = scans.loopscan(4, 0, devices.diode, devices.mca)
    text = repr(scan.get_data())
    lines = text.splitlines()
    assert lines[0] == f"data of scan {scan.scan_number} 'loopscan 4 0': 4 channels"
    assert lines[1].split() == ["channel", "points", "shape", "dtype", "unit"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["diode"][:3] == ["4", "()", "float64"]
    assert rows["mca"][:3] == ["4", "(8,)", "uint32"]
    assert rows["elapsed_time"][:2] == ["4", "()"]


def test_scans_shows_a_short_table_of_the_recent_scans(quiet_env, devices):
    assert repr(quiet_env.scans) == "SCANS: no scan has run in this session yet"
    done = scans.loopscan(2, 0, devices.diode)
    stopped = scans.timescan(0.01, devices.diode, run=False)
    running = gevent.event.Event()
    stopped.add_state_callback(lambda _s, state: state is ScanState.RUNNING and running.set())
    runner = gevent.spawn(stopped.run)  # it runs until interrupted
    assert running.wait(10)
    with pytest.raises(KeyboardInterrupt):
        runner.kill(KeyboardInterrupt)
    lines = repr(quiet_env.scans).splitlines()
    assert lines[0].split() == ["#", "title", "state", "points", "started"]
    assert re.match(
        rf"\s*{done.scan_number}  loopscan 2 0\s+DONE\s+2/2  \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d$",
        lines[1],
    ), lines[1]
    assert re.match(rf"\s*{stopped.scan_number}  timescan 0.01\s+ABORTED\s+\d+  ", lines[2])
