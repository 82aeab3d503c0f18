"""The live table: printed by its own greenlet, as points arrive, never holding up the scan."""

import fcntl
import os
import re
import time

import gevent

from beamshell.scanning import scans
from beamshell.scanning.display import FOOTER_WAIT_S, HEADER_WAIT_S
from beamshell.scanning.scan import ScanState

from .helpers import (
    ESTIMATE_RE,
    HEADER_RE,
    NUMBER,
    SAVED_RE,
    TOOK_RE,
    RecordingStream,
    assert_lines_match,
    lines_of,
)


def test_rows_appear_while_the_scan_runs(env, devices):
    # What the scan had done when each piece of the table was written.
    stream = RecordingStream(progress=lambda: env.current_scan and env.current_scan.npoints_done)
    env.output = stream
    scan = scans.loopscan(6, 0.1, devices.diode)
    assert scan.state is ScanState.DONE
    rows = [(done, text) for done, text in stream.progress_at if re.match(r"\s+\d+\s", text)]
    # Rows come one by one as points are taken, not all at the end: the first while the
    # scan still had points to take (it is woken by the point's end, and runs while the
    # scan counts the next one).
    assert len(rows) >= 5
    progress = [done for done, _ in rows]
    assert progress[0] is not None and progress[0] < 6
    assert progress == sorted(progress)
    lines = lines_of(stream.text)
    assert re.fullmatch(HEADER_RE, lines[0]) and lines[1] == "loopscan 6 0.1"
    assert re.fullmatch(TOOK_RE, lines[-2])
    assert re.fullmatch(SAVED_RE, lines[-1])
    assert len(lines) == 3 + 6 + 2


def test_table_layout_units_aliases_and_one_dimensional_channels(env, devices):
    stream = RecordingStream()
    env.output = stream
    devices.diode2.name = "a_long_alias_for_diode2"  # what a session alias does
    scans.ascan(devices.m1, 0, 1, 2, 0, devices.diode2, devices.mca, devices.diode3)
    lines = lines_of(stream.text)
    assert lines[1] == "ascan m1 0 1 2 0"
    assert re.fullmatch(ESTIMATE_RE, lines[2])  # a step scan's time estimate, under its title
    header = lines[3]
    assert header.split() == ["#", "dt[s]", "m1[mm]", "a_long_alias_for_diode2", "diode3[mV]"]
    rows = lines[4:7]
    for index, row in enumerate(rows):
        assert re.fullmatch(rf"\s+{index}(\s+{NUMBER}){{4}}", row)
        assert len(row) == len(header)  # aligned: every column right-aligned to its width
    for label in ("a_long_alias_for_diode2", "diode3[mV]"):
        end = header.index(label) + len(label)
        assert all(row[end - 1] != " " and (end == len(row) or row[end] == " ") for row in rows)
    assert [row.split()[2] for row in rows] == ["0", "0.5", "1"]


def test_header_warns_of_moves_below_the_motor_resolution(env, devices):
    stream = RecordingStream()
    env.output = stream
    scans.dscan(devices.m1, 0, 0.0002, 4, 0, devices.diode)
    lines = lines_of(stream.text)
    assert lines[1] == "dscan m1 0 0.0002 4 0"
    assert re.fullmatch(ESTIMATE_RE, lines[2])
    assert lines[3] == (
        "Warning: 4 of 4 moves of m1 are below its resolution (0.001 mm): "
        "for those the motor stays put"
    )
    assert lines[4].split()[:3] == ["#", "dt[s]", "m1[mm]"]

    env.output = stream = RecordingStream()  # a macro's own warning, as one sentence
    scans.loopscan(1, 0, devices.diode, scan_info={"warnings": "no beam\x1b[2J"})
    assert lines_of(stream.text)[2] == "Warning: no beam\\x1b[2J"


def test_display_can_be_turned_off(env, devices, capsys):
    scans.loopscan(2, 0, devices.diode, display=False)
    assert capsys.readouterr().out == ""
    env.display = False
    scans.loopscan(2, 0, devices.diode)
    scans.ct(0.01, devices.diode)
    assert capsys.readouterr().out == ""
    scans.loopscan(2, 0, devices.diode, display=True)  # per scan wins over the setting
    assert "Took" in capsys.readouterr().out


def test_fast_scan_table_is_complete(env, devices):
    stream = RecordingStream()
    env.output = stream
    scans.loopscan(500, 0, devices.diode)
    lines = lines_of(stream.text)
    assert_lines_match(lines[3:-2], [rf"\s+{index}\s+{NUMBER}\s+{NUMBER}" for index in range(500)])


def test_a_terminal_that_stops_reading_does_not_stop_the_scan(env, devices):
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETFL, os.O_NONBLOCK)
    try:  # fill the pipe, as a terminal that no longer reads (Ctrl-S)
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    fcntl.fcntl(write_end, fcntl.F_SETFL, 0)
    stream = os.fdopen(write_end, "w")
    env.output = stream
    started = time.monotonic()
    scan = scans.loopscan(20, 0.01, devices.diode)
    took = time.monotonic() - started
    assert scan.state is ScanState.DONE and scan.npoints_done == 20
    # The scan waited for the table only at its two bounded points (header, footer); the
    # margin is for a busy machine (a scan waiting on the terminal would never end).
    assert took < HEADER_WAIT_S + FOOTER_WAIT_S + 10
    # Once the terminal reads again, the table comes out, complete.
    received = b""
    deadline = time.monotonic() + 10
    os.set_blocking(read_end, False)
    while b"Took" not in received and time.monotonic() < deadline:
        try:
            received += os.read(read_end, 1 << 16)
        except BlockingIOError:
            gevent.sleep(0.01)
    text = received.replace(b"x", b"").decode()
    assert "loopscan 20 0.01" in text and "Took" in text
    assert len([line for line in lines_of(text) if re.fullmatch(r"\s+\d+\s+.*", line)]) == 20
    stream.close()
    os.close(read_end)


def test_stats_counter_shows_its_mean_only(env, devices):
    stream = RecordingStream()
    env.output = stream
    scans.loopscan(2, 0.02, devices.stats)
    assert lines_of(stream.text)[2].split() == ["#", "dt[s]", "stats"]
