"""Prompt text, its counter, and the toolbar line: pure functions."""

import time
from types import SimpleNamespace

from beamshell.shell.prompt import continuation_prompt, input_prompt, next_count, output_prompt
from beamshell.shell.toolbar import scan_progress, toolbar_text


def test_prompt_shows_session_in_capitals_and_counter():
    assert input_prompt("demo", 1) == "DEMO [1]: "
    assert input_prompt("test_session", 12) == "TEST_SESSION [12]: "


def test_counter_advances_with_each_input_but_not_blank_lines():
    count = 1
    for line in ["wa", "", "   ", "ct 0.1", "x = 1\ny = 2"]:
        count = next_count(count, line)
    assert count == 4


def test_continuation_prompt_is_right_aligned_to_the_prompt_width():
    width = len(input_prompt("demo", 2))
    assert continuation_prompt(width) == " " * (width - 5) + "...: "
    assert continuation_prompt(2) == "...: "


def test_output_prompt_is_aligned_with_the_input_prompt():
    assert output_prompt(2, len(input_prompt("demo", 2))) == " Out [2]: "
    assert output_prompt(12, 3) == "Out [12]: "


def test_toolbar_idle_shows_session_and_clock():
    now = time.mktime((2026, 1, 2, 14, 3, 4, 0, 0, -1))
    assert toolbar_text("demo", None, now) == " DEMO | idle | 14:03:04 "
    assert toolbar_text("demo", None, now, busy=True) == " DEMO | running | 14:03:04 "


def test_toolbar_shows_running_scan_progress_and_elapsed_time():
    scan = SimpleNamespace(name="loopscan", npoints=100, npoints_done=12, start_time=1000.0)
    assert scan_progress(scan, 1065.5) == "loopscan 12/100 0:01:05"
    text = toolbar_text("demo", scan, 1065.5)
    assert text.startswith(" DEMO | scanning: loopscan 12/100 0:01:05 | ")


def test_toolbar_shows_the_time_left_from_the_scan_estimate():
    scan = SimpleNamespace(
        name="ascan", npoints=41, npoints_done=10, start_time=1000.0, time_left=lambda: 25.4
    )
    assert scan_progress(scan, 1003.0) == "ascan 10/41 0:00:03, 0:00:25 left"
    scan.time_left = lambda: None  # no estimate (a custom chain)
    assert scan_progress(scan, 1003.0) == "ascan 10/41 0:00:03"


def test_toolbar_scan_without_known_total():
    scan = SimpleNamespace(name="timescan", npoints=0, npoints_done=7, start_time=None)
    assert scan_progress(scan, 0) == "timescan 7"


def test_live_line_is_what_a_terminal_shows_of_an_unfinished_line():
    from beamshell.shell.output_above import live_line

    assert live_line("done\n     0.5\r     1.0\r") == "     1.0"
    assert live_line("done\nWaiting for beam") == "Waiting for beam"
    assert live_line("complete line\n") == ""
    assert live_line("") == ""


def test_toolbar_shows_axes_moving_in_the_background():
    now = time.mktime((2026, 1, 2, 14, 3, 4, 0, 0, -1))
    m2 = SimpleNamespace(name="m2", position=12.3456, format_position=lambda v: f"{v:.3f} mm")
    th = SimpleNamespace(name="th", position=-1.5, format_position=lambda v: f"{v:.2f} deg")
    text = toolbar_text("demo", None, now, moving=[m2, th])
    assert text == " DEMO | moving: m2 12.346 mm, th -1.50 deg | 14:03:04 "
    scan = SimpleNamespace(name="ascan", npoints=10, npoints_done=2, start_time=now)
    assert "scanning: ascan 2/10" in toolbar_text("demo", scan, now, moving=[m2])
