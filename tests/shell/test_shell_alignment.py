"""Aligning through a real terminal: scan, goto_cen, the terminal plot and the live plot."""

from __future__ import annotations

import re

from shell_pty import strip_escapes


def _value(output: str) -> str:
    match = re.search(r"Out \[\d+\]: (.*)", output)
    assert match, output
    return match.group(1).strip()


def test_dscan_then_goto_cen_puts_the_motor_on_the_peak(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    out = shell.run("dscan m1 -2 2 40 0.01 gauss", timeout=60)
    # the time estimate is printed under the title
    assert re.search(r"dscan m1 -2 2 40 0\.01\n+Total 41 points, 0:00:0\d\.\d \(motion", out)
    out = shell.run("goto_cen")
    assert re.search(r"cen gauss vs m1: 0\.[67]\d* \(fwhm (0\.9|1\.0)\d*\)", out), out
    assert re.search(r"goto_cen: m1 from 0\.00000 to 0\.[67]\d{4}", out), out
    position = float(_value(shell.run("m1.position")))
    assert abs(position - 0.7) < 0.02  # the configured centre, within 2 % of the fwhm
    out = shell.run("where")
    assert re.search(r"m1\s+0\.[67]\d{4}\s+0\.[67]\d{4}\s+0\.[67]\d{4}\s+0\.[67]\d{4}", out), out


def test_goto_after_a_scan_without_axis_says_why_and_moves_nothing(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("loopscan 3 0 gauss")
    out = shell.run("goto_peak")
    assert re.search(r"PeakError: goto_peak: scan \d+ \(loopscan\) has no axis to move", out)
    assert _value(shell.run("m1.position")) == "0.0"


def test_plot_fills_the_terminal_it_is_drawn_in(spawn_shell, shell_env):
    env = {key: value for key, value in shell_env.items() if key not in ("COLUMNS", "LINES")}
    shell = spawn_shell(size=(30, 100), env=env)  # the size comes from the terminal itself
    shell.expect_prompt(1)
    shell.run("ascan(m1, -1, 2.5, 35, 0, gauss)", timeout=60)
    lines = shell.run("plot()").split("\n")
    title = next(i for i, line in enumerate(lines) if re.search(r"scan \d+: ascan m1", line))
    # The noisy peak is at 0.7 or, when the noise says so, a neighbouring point.
    caption = next(i for i, line in enumerate(lines) if re.match(r"gauss: peak 0\.[678]", line))
    drawing = lines[title : caption + 1]
    assert len(drawing) == 30 - 8  # the command, the prompt and the toolbar stay in view
    assert max(len(line) for line in drawing) == 99
    assert any("┌" in line for line in drawing) and any("└" in line for line in drawing)


def test_live_plot_is_drawn_while_the_scan_runs(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    assert "live plot on" in shell.run("plot(live=True)")
    shell.send("ascan(m1, -2, 3, 25, 0.1, gauss)")
    # The panel above the toolbar shows the scan before its table has ended.
    shell.expect(r"scan \d+: ascan m1 -2 3 25 0\.1", timeout=30)
    shell.expect(r"Took \d", timeout=60)
    # Once it has ended, its final drawing stays in the output, with the markers.
    # The peak is the highest point: 0.6 and 0.8 are as close to the centre (0.7), the
    # noise chooses.
    shell.expect(r"gauss: peak 0\.[68]\d* \(red\), cen 0\.[67]\d* \(green\)", timeout=20)
    shell.expect_prompt()
    assert "live plot off" in shell.run("plot(live=False)")
    out = shell.run("ascan(m1, 0, 1, 5, 0, gauss)")
    assert "Took" in out and "(green)" not in out and "┌" not in out  # no drawing


def test_ctrl_c_stops_a_goto_like_umv(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("ascan(slow, 0, 0.2, 2, 0, diode)", timeout=30)
    shell.send("goto_custom(lambda x, y: 8)")  # slow goes at 1 mm/s: 8 s of motion
    shell.expect(r"goto_custom: slow from 0\.20000 to 8\.00000")
    shell.expect(r" {3,}(?:0\.[3-9]|[1-7]\.)\d*")  # umv's live position: it is moving
    shell.ctrl("c")
    shell.expect_prompt()  # how fast: benchmarks/bench_shell_startup.py
    out = strip_escapes(shell.child.before)
    assert re.search(r"slow stopped at \d\.\d{5}", out) and "KeyboardInterrupt" in out
    assert _value(shell.run("slow.is_moving")) == "False"
    assert 0.2 < float(_value(shell.run("slow.position"))) < 8
