"""Scans, moves and Ctrl-C in the shell through a real terminal."""

from __future__ import annotations

import re
import time

from shell_pty import strip_escapes

from beamshell.data.node import Event, get_session_node

PRESET_MACRO = """\
class Preset(ScanPreset):
    def prepare(self, scan):
        print(f"Preparing scan {scan.name}\\n")

    def start(self, scan):
        print(f"Starting scan {scan.name}")
        print("Opening the shutter")

    def stop(self, scan):
        print(f"{scan.name} scan is stopped")
        print("Closing the shutter")
"""

SLOW_STOP_MACRO = """\
import gevent

class SlowStop(ScanPreset):
    def stop(self, scan):
        print("stop begins")
        gevent.sleep(0.5)
        print("stop finished")
"""


def _row(index: int) -> str:
    """A table row of point `index`: the point number, then numbers."""
    return rf" {{4,}}{index}(?: {{2,}}[-+0-9.e]+)+\r*\n"


def _value(output: str) -> str:
    match = re.search(r"Out \[\d+\]: (.*)", output)
    assert match, output
    return match.group(1).strip()


def test_loopscan_rows_appear_while_it_runs(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.send("loopscan(12, 0.2, diode)")
    shell.expect(_row(2))
    # The toolbar under the table shows the scan's progress while it runs: drawn after row
    # 2, it shows that the row came while the scan was running (not all rows at the end).
    shell.expect(
        r"TEST_SESSION \| scanning: loopscan \d+/12 0:00:0\d, 0:00:0\d left \| \d\d:\d\d:\d\d"
    )
    shell.expect_prompt()
    output = strip_escapes(shell.child.before)
    assert re.search(_row(11), output)
    assert _value(shell.run("SCANS[-1].state.name")) == "'DONE'"


def test_scan_preset_from_a_macro_file_prints_in_the_seed_order(spawn_shell, write_macro):
    macro = write_macro("presets.py", PRESET_MACRO)
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run(f"user_script_run('{macro}')")
    shell.run("p = Preset()")
    shell.run("s = loopscan(2, 0.1, diode, run=False)")
    shell.run("s.add_preset(p)")
    output = shell.run("s.run()")
    expected_order = [
        "loopscan 2 0.1",
        "Preparing scan loopscan",
        "Starting scan loopscan",
        "Opening the shutter",
        _row(0),
        _row(1),
        "loopscan scan is stopped",
        "Closing the shutter",
    ]
    positions = []
    for pattern in expected_order:
        match = re.search(pattern if pattern.startswith(" {") else re.escape(pattern), output)
        assert match, f"{pattern!r} not in output:\n{output}"
        positions.append(match.start())
    assert positions == sorted(positions), output
    assert re.search(r"#\s+dt\[s\]\s+diode", output)


def test_ctrl_c_mid_scan_aborts_it_and_the_prompt_returns(spawn_shell, write_macro):
    macro = write_macro("presets.py", PRESET_MACRO)
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run(f"user_script_run('{macro}')")
    shell.run("s = loopscan(100, 0.1, diode, run=False)")
    shell.run("s.add_preset(Preset())")
    shell.send("s.run()")
    shell.expect(_row(3))
    shell.ctrl("c")
    shell.expect_prompt()  # how fast: benchmarks/bench_shell_startup.py
    output = strip_escapes(shell.child.before)
    assert "loopscan scan is stopped" in output
    assert "Closing the shutter" in output
    assert "!!! === KeyboardInterrupt === !!!" in output
    assert not re.search(_row(99), output)
    assert _value(shell.run("SCANS[-1].state.name")) == "'ABORTED'"
    assert _value(shell.run("s.state.name")) == "'ABORTED'"
    assert "Out [" in shell.run("21 * 2") and "42" in shell.run("6 * 7")


def test_second_ctrl_c_while_stopping_lets_the_stop_finish(spawn_shell, write_macro):
    macro = write_macro("slow_stop.py", SLOW_STOP_MACRO)
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run(f"user_script_run('{macro}')")
    shell.run("s = ascan(slow, 0, 20, 40, 0.1, diode, run=False)")
    shell.run("s.add_preset(SlowStop())")
    shell.send("s.run()")
    shell.expect(_row(1))
    shell.ctrl("c")
    shell.expect("stop begins")
    shell.ctrl("c")  # during the preset's stop
    shell.ctrl("c")
    shell.expect_prompt()
    output = strip_escapes(shell.child.before)
    assert "stop finished" in output
    assert "Stopping, please wait..." in output
    assert _value(shell.run("s.state.name")) == "'ABORTED'"
    assert _value(shell.run("slow.is_moving")) == "False"
    first = float(_value(shell.run("slow.position")))
    time.sleep(0.3)
    assert float(_value(shell.run("slow.position"))) == first


def test_ctrl_c_mid_move_stops_the_motor(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("mv(slow, 0)")
    shell.send("umv(slow, 50)")  # 1 mm/s: 50 s of motion, interrupted long before
    shell.expect(r" {3,}(?:0\.[1-9]|1\.)\d*")  # the position, live, while it moves
    shell.ctrl("c")
    shell.expect_prompt()  # how fast: benchmarks/bench_shell_startup.py
    assert "KeyboardInterrupt" in strip_escapes(shell.child.before)
    assert _value(shell.run("slow.is_moving")) == "False"
    position = float(_value(shell.run("slow.position")))
    assert 0 < position < 50
    time.sleep(0.3)
    assert float(_value(shell.run("slow.position"))) == position


def _scan_ended_in_redis(redis_url: str, session: str = "test_session") -> bool:
    """Until the session's next scan has ended, as Redis says (the terminal is not read);
    False if nothing happened there for 60 s."""
    walker = get_session_node(session, redis_url=redis_url).walk_events(
        include_filter="scan", stop_on_end=True, timeout=60
    )
    return any(event is Event.END_SCAN for event, _, _ in walker)


def test_a_terminal_that_stops_reading_does_not_stop_the_scan(spawn_shell, redis_url):
    shell = spawn_shell()
    shell.expect_prompt(1)
    # 300 kB of output during the scan, so the pseudo-terminal's buffer fills while
    # nobody reads it
    shell.run("import gevent")
    shell.send(
        "flood = gevent.spawn_later(0.3, print, ('x' * 99 + '\\n') * 3000, end=''); "
        "s = loopscan(40, 0.05, diode)"
    )
    # The test (the terminal) reads nothing until the scan has ended: a scan held up by
    # the unread terminal would not end, however long this waited.
    assert _scan_ended_in_redis(redis_url), "the scan did not end while the terminal was unread"
    stall_ended = time.time()
    shell.expect_prompt(timeout=60)
    # The last point (about 2 s of points) was acquired while nobody read the terminal,
    # not held up until it was read again (the scan may wait a bounded time for its
    # table's end, not for its points). `epoch` is each point's wall-clock time.
    last_point = float(_value(shell.run("float(s.get_data()['epoch'][-1])")))
    assert last_point < stall_ended
    assert _value(shell.run("s.state.name")) == "'DONE'"


def test_keys_typed_during_a_command_start_the_next_input(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.send("loopscan(8, 0.1, diode)")
    shell.expect(_row(1))
    shell.child.send("6 * 7")  # typed while the scan runs, no Enter: kept, not run
    shell.expect_prompt()
    shell.child.send("\r")
    shell.count += 1
    shell.expect_prompt()
    assert "Out [2]: 42" in strip_escapes(shell.child.before)


def test_lines_entered_during_a_command_run_after_it(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    # 3 s of scan: the lines typed after row 1 arrive while it runs, however busy the
    # machine (only a hang would make them wait for the prompt).
    shell.send("loopscan(30, 0.1, diode)")
    shell.expect(_row(1))
    shell.child.send("6 * 7\r")
    shell.child.send("SCANS[-1].state.name\r")
    shell.expect(r"queued: 6 \* 7; SCANS\[-1\]\.state\.name")  # shown while it runs
    shell.expect(_row(29))
    shell.count += 2  # both queued lines run, each on its own prompt line, in order
    shell.expect_prompt()
    output = strip_escapes(shell.child.before)
    assert re.search(r"\[2\]: 6 \* 7\s", output) and "Out [2]: 42" in output
    assert re.search(r"\[3\]: SCANS\[-1\]\.state\.name\s", output)
    assert "Out [3]: 'DONE'" in output
    assert output.index("Out [2]") < output.index("Out [3]")


def test_a_block_typed_line_by_line_during_a_command_runs_as_one_input(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.send("loopscan(30, 0.1, diode)")  # 3 s: as in the test above
    shell.expect(_row(1))
    lines = [
        *("for i in range(2):", "    print('pass', i)", ""),  # closed by a blank line
        *("def twice(x):", "    return 2 * x", "twice(21)"),  # closed by a dedented line
        *("if True:", "    print('fini' + 'shed')"),  # not closed yet
    ]
    for line in lines:
        shell.child.send(line + "\r")
    shell.expect(r"queued: for i in range\(2\):;     print\('pass', i\); def twice")
    shell.expect(_row(29))
    shell.count += 2  # the loop, then the function with its call
    shell.expect_prompt()
    output = strip_escapes(shell.child.before)
    assert re.search(r"pass 0\s+pass 1\s", output) and "Out [3]: 42" in output
    assert "Error" not in output
    # The unfinished block waits on the prompt, its next line ready: Enter closes it.
    shell.expect("'shed'")  # (coloured: a token at a time)
    shell.child.send("\r")
    shell.count += 1
    shell.expect_prompt()
    assert "finished" in strip_escapes(shell.child.before)


def test_keys_typed_as_a_command_ends_run_after_its_queued_lines(
    spawn_shell, shell_env, redis_client
):
    """A terminal that is slow to answer prompt_toolkit's cursor position requests (an SSH
    link): keys typed while the command's display ends wait for that answer, and are held
    for the next prompt. The queued line shown there runs first, then theirs (they had been
    appended to it, and their Enter made the shell exit on an internal error)."""
    env = dict(shell_env)
    env.pop("PROMPT_TOOLKIT_NO_CPR")  # this terminal never answers: the display waits 1 s
    shell = spawn_shell(env=env)
    shell.expect_prompt(1)
    shell.run("import os, redis; client = redis.Redis.from_url(os.environ['BEAMSHELL_REDIS_URL'])")
    shell.send("client.blpop('test:go', 30)")  # runs until the test says
    shell.expect(rf"{shell.session} \| ")  # its toolbar: the display runs
    shell.child.send("print('queued' + '!')\r")
    shell.expect(r"queued: print\('queued' \+ '!'\)")
    redis_client.rpush("test:go", 1)
    shell.expect(r"Out \[2\]: \(b'test:go'")  # its last act: the command ends
    shell.child.send("print('late' + '!')\r")
    shell.count += 2
    shell.expect_prompt()
    output = strip_escapes(shell.child.before)
    assert "queued!" in output and "late!" in output
    assert output.index("queued!") < output.index("late!")
    assert "not run" not in output and "Error" not in output
    assert shell.process.isalive()


def test_queued_lines_are_dropped_after_ctrl_c_or_an_error(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.send("loopscan(50, 0.1, diode)")
    shell.expect(_row(1))
    shell.child.send("marker_a = 1\r")
    shell.ctrl("c")
    shell.expect_prompt()
    assert "'ABORTED'" in shell.run("SCANS[-1].state.name")
    assert "NameError" in shell.run("marker_a")  # the queued line never ran

    shell.send("loopscan(30, 0.1, diode); 1 / 0")  # still running when marker_b arrives
    shell.expect(_row(1))
    shell.child.send("marker_b = 2\r")
    shell.expect(r"not run after the error: marker_b = 2")
    shell.expect_prompt()
    assert "NameError" in shell.run("marker_b")


def test_background_scan_prints_above_the_idle_prompt(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("import gevent")
    shell.run("g = gevent.spawn(loopscan, 10, 0.2, diode)")
    shell.expect(r"TEST_SESSION \| scanning: loopscan \d+/10")  # toolbar at the idle prompt
    shell.expect(_row(9), timeout=30)
    # The last row is printed before the scan has finished stopping: get() waits for it.
    output = shell.run("g.get().state.name")
    assert "'DONE'" in output
