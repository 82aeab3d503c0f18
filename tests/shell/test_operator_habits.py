"""What a BLISS or SPEC operator types does what they expect, typed in a real terminal."""

from __future__ import annotations

import re
import subprocess

from shell_pty import BEAMSHELL, Shell, strip_escapes


def test_assigning_a_position_redefines_it_and_a_typo_is_named(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("mv(m1, 2.5)")
    out = shell.run("m1.position = 0")
    assert "'m1' position reset from 2.5 to 0 (offset -2.5)" in out
    assert re.search(r"Out \[\d+\]: 2\.5", shell.run("m1.dial"))  # nothing moved
    out = shell.run("m1.postion = 3")
    assert (
        "!!! === DeviceAttributeError: 'm1' has no attribute 'postion'; did you mean "
        "'position'? (nothing was changed) === !!!" in out
    )
    out = shell.run("m1.dial = 1")
    assert "'m1' dial position reset from 2.5 to 1 (user position -1.5, offset -2.5)" in out


def test_the_typing_helper_handles_what_operators_type(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    out = shell.run("wa; ct 0.1")
    assert "Current positions" in out and re.search(r"diode2 =\s+7", out)
    out = shell.run("umv m1 1 slow 0.5")
    assert re.search(r"dial\s+1\.00000\s+0\.50000", out), out
    shell.run("umvr m1 -0.5")
    assert re.search(r"Out \[\d+\]: 0\.5", shell.run("m1.position"))
    out = shell.run("wm m1 slow")
    assert "m1[mm]" in out and "slow[mm]" in out
    out = shell.run("ct -1")  # an argument, not a subtraction from a function
    assert "ValueError: ct: count_time must be" in out and "unsupported operand" not in out
    out = shell.run("sync(); wa")
    assert "Current positions" in out


def test_a_line_that_does_not_parse_is_reported_and_leaves_the_input_empty(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    out = shell.run("umv m1 2)")
    assert "SyntaxError" in out
    # The next command starts on an empty line: nothing is glued to it.
    out = shell.run("6 * 7")
    assert re.search(r"Out \[\d+\]: 42", out), out
    assert "umv m1 2)" not in strip_escapes(out)


def test_moves_and_counts_read_the_way_operators_know(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("m1.offset = 1")
    out = shell.run("umv slow 1 m1 200")  # refused before anything is printed or moves
    lines = [line for line in out.splitlines() if line.strip()]
    assert "target 200 is outside limits" in out
    assert not any(line.split()[:1] in (["user"], ["dial"]) for line in lines), out
    out = shell.run("umv m1 3")
    # The user row is rewritten in place while moving ("\r", removed here), then stays.
    assert re.search(r"^\s+m1\[mm\]\s*\n", out, re.M), out
    assert re.search(r"user\s+3\.00000\s*\ndial\s+2\.00000\s*\n", out), out
    assert re.search(r"Out \[\d+\]: 0\.0\n", shell.run("slow.position"))  # nothing moved
    shell.run("diode.mode = 'STATS'")
    out = shell.run("ct 0.1")
    for name in ("diode", "diode_std", "diode_min", "diode_max", "diode2"):
        assert re.search(rf"^\s+{name} = ", out, re.M), out


def test_the_toolbar_shows_an_axis_moving_in_the_background(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("slow.move(40, wait=False)")  # 1 mm/s: it is still moving for a long while
    shell.expect(r"TEST_SESSION \| moving: slow \d+\.\d{3} mm \|")
    shell.run("slow.stop()")
    shell.expect(r"TEST_SESSION \| idle \|")


def test_a_second_scan_at_once_is_refused_in_one_line(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("import gevent, gevent.event; running = gevent.event.Event()")
    shell.run("first = loopscan(200, 0.05, run=False, display=False)")
    shell.run(
        "first.add_state_callback(lambda s, state: state.name == 'RUNNING' and running.set())"
    )
    shell.run("g = gevent.spawn(first.run)")
    assert "True" in shell.run("running.wait(10)")
    out = shell.run("ct 0.1")
    assert re.search(
        r"!!! === ScanAlreadyRunning: ct: scan \d+ 'loopscan 200 0.05' is running in session "
        r"test_session \(RUNNING, \d+/200 points\): wait for its end or stop it first === !!!",
        out,
    ), out
    shell.run("g.kill(KeyboardInterrupt)")
    assert "ABORTED" in shell.run("first.state")


def test_objects_print_what_they_are(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("s = loopscan(3, 0.01)")
    assert re.search(r"Out \[\d+\]: DONE\n", shell.run("s.state"))
    assert re.search(r"\]: print\(s.state\)\nDONE\n", shell.run("print(s.state)"))
    assert "True" in shell.run("s.state == 5")  # the old numbers still compare
    out = shell.run("s")
    assert re.search(r"Out \[\d+\]: Scan 1 'loopscan 3 0.01' DONE, 3/3 points, data /\S+\.h5", out)
    out = shell.run("s.get_data()")
    assert re.search(r"data of scan 1 'loopscan 3 0.01': \d+ channels", out), out
    assert re.search(r"diode2\s+3\s+\(\)\s+float64", out), out
    out = shell.run("SCANS")
    assert re.search(r"#\s+title\s+state\s+points\s+started", out)
    assert re.search(r"1\s+loopscan 3 0.01\s+DONE\s+3/3\s+\d{4}-\d\d-\d\d", out)


def test_the_output_cache_never_prints_a_warning(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    outputs = [shell.run(f"{n} * 2") for n in range(1, 31)]  # more than the 20 kept
    assert not any("Output cache limit" in out or "Warning" in out for out in outputs)
    assert re.search(r"Out \[30\]: 60", outputs[-1])
    assert "60" in shell.run("_30")
    assert "NameError" in shell.run("_1")  # the oldest results were dropped: memory bounded


def test_listen_reads_naturally(shell_env, config_dir, tmp_path):
    def listen(session: str, log: str) -> Shell:
        args = ["listen", "-s", session, "--config", str(config_dir)]
        return Shell(args, shell_env, tmp_path / log)

    nobody = listen("nosuch", "nosuch.log")
    try:
        nobody.expect("listening to session 'nosuch'")
        nobody.expect("session 'nosuch' has no scans yet: waiting for its first scan")
        nobody.ctrl("c")
        assert nobody.wait() in (0, 130)
    finally:
        nobody.close()
    ran = subprocess.run(
        [str(BEAMSHELL), "-s", "test_session", "--config", str(config_dir), "-c",
         "loopscan(2, 0.01, diode)"],
        env=shell_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    follower = listen("test_session", "follower.log")
    try:
        follower.expect(
            r"last scan of session 'test_session': 1 'loopscan 2 0.01' DONE, ended "
            r"\S+: waiting for the next scan"
        )
        ran = subprocess.run(
            [str(BEAMSHELL), "-s", "test_session", "--config", str(config_dir), "-c",
             "loopscan(3, 0.01, diode)"],
            env=shell_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        follower.expect(r"\d\d:\d\d:\d\d\.\d{3} NEW_NODE\s+test_session:\S+:2_loopscan \(scan\)")
        follower.expect("END_SCAN")
        assert "1_loopscan" not in strip_escapes(follower.child.before)
        follower.ctrl("c")
        assert follower.wait() in (0, 130)
    finally:
        follower.close()


def test_a_pager_has_the_terminal_and_leaves_the_screen_clean(spawn_shell, shell_env):
    shell_env.update(PAGER="less", LESS="", LINES="6")  # a short screen: help texts are paged
    shell_env.pop("MANPAGER", None)
    shell = spawn_shell()
    shell.expect_prompt(1)
    for command, title in [("help(ascan)", "Help on function ascan"), ("ascan?", "Signature")]:
        shell.send(command)
        shell.expect(title)  # shown by less, which has the terminal in its own mode
        shell.expect(r"\(END\)")  # less's prompt: it waits for a key
        assert "ESC[" not in shell.child.before  # colours shown as colours, not as text
        shell.child.send("q")
        shell.expect_prompt()
        screen = strip_escapes(shell.child.before)
        assert "Traceback" not in screen and "Error" not in screen
        # The input starts empty (no stray key or escape sequence left in it) and works.
        out = shell.run("6 * 7")
        assert re.search(r"Out \[\d+\]: 42", out), out
        assert "SyntaxError" not in out
    short = shell.run("len?")  # a text that fits is printed, no pager
    assert "Return the number of items" in short
