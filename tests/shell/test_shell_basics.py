"""The shell through a real terminal: start-up, errors, typing helper, history, Ctrl-C at idle."""

from __future__ import annotations

import re
import signal
import subprocess

from shell_pty import BEAMSHELL, Shell, strip_escapes


def test_start_up_shows_banner_and_prompt(spawn_shell, config_dir, redis_url):
    shell = spawn_shell()
    shell.expect_prompt(1)
    banner = strip_escapes(shell.child.before)
    assert "beamshell " in banner
    assert f"configuration: {config_dir}" in banner
    assert f"Redis: {redis_url}" in banner
    for name in ("m1", "slow", "diode", "diode2", "MG1"):
        assert f"Initialized {name}" in banner
    assert "SETUP_DONE" not in banner
    assert "True" in shell.run("SETUP_DONE")  # the setup file ran in the namespace
    assert "Out [2]: True" in shell.run("SETUP_DONE")  # output prompt numbered as the input


def test_no_banner(spawn_shell):
    shell = spawn_shell("test_session", "--no-banner")
    shell.expect_prompt(1)
    assert "Initialized" not in shell.child.before
    assert "configuration:" not in shell.child.before


def test_error_is_one_short_line_and_last_error_gives_the_traceback(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run(
        "def check(npoints):\n    if npoints <= 0:\n        raise ValueError('npoints must be > 0')\n"
    )
    output = shell.run("check(0)")
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1] == (
        "!!! === ValueError: npoints must be > 0 === !!! ( for more details type cmd 'last_error()' )"
    )
    assert "Traceback" not in output
    shell.run("1 / 0")
    full = shell.run("last_error(2)")
    assert "Traceback (most recent call last)" in full
    assert "raise ValueError('npoints must be > 0')" in full
    assert "ZeroDivisionError" in shell.run("last_error()")


BREAK_THE_PROMPT = (
    "app = get_ipython().python_input.app; "
    "exec(\"def broken_drawing(_app):\\n {remove}\\n raise RuntimeError('drawing broke')\"); "
    "app.after_render += broken_drawing"
)


def test_a_fault_of_the_prompt_itself_does_not_end_the_session(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("x = 42")
    # The next prompt fails once as it is drawn (as prompt_toolkit did on typed-ahead keys).
    shell.send(BREAK_THE_PROMPT.format(remove="app.after_render -= broken_drawing"))
    shell.expect(r"!!! === the prompt failed: RuntimeError: drawing broke === !!!")
    shell.expect_prompt()
    assert "Out [3]: 43" in shell.run("x + 1")  # the namespace is intact
    assert "in broken_drawing\nRuntimeError: drawing broke" in shell.run("last_error()")

    # A prompt that fails every time cannot be used: the shell leaves after the third.
    shell.send(BREAK_THE_PROMPT.format(remove="pass"))
    for _ in range(2):
        shell.expect(r"the prompt failed: RuntimeError: drawing broke")
    assert shell.wait() != 0
    assert "RuntimeError: drawing broke" in strip_escapes(shell.child.read())


def test_typing_helper_calls_commands(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("def show(*args):\n    print('called with', args)\n")
    assert "called with (2, 'x', 0.5)" in shell.run("show 2 'x' 0.5")
    assert "called with ()" in shell.run("show")
    output = shell.run("wa")
    assert "m1" in output and "slow" in output
    shell.run("umv m1 1.5")
    assert "Out [6]: 1.5" in shell.run("m1.position")
    # Python that merely starts with a command name stays Python
    assert "called with (3,)" in shell.run("show(3)")


def test_ipython_help_and_magics(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    assert "Docstring" in shell.run("len?")
    assert re.search(r"loops? each", shell.run("%timeit -n 3 -r 1 sum(range(10))"))


def test_history_is_kept_per_session_across_restarts(spawn_shell, shell_env):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("remembered_value = 4242")
    shell.ctrl("d")
    shell.expect("exit")
    shell.child.send("y")
    assert shell.wait() == 0

    again = spawn_shell()
    again.expect_prompt(1)
    again.child.send("\x1b[A")  # arrow up: the previous session's last command
    again.expect(r"remembered_value\S* \S*=\S* \S*4242")  # coloured
    again.child.send("\r")
    again.count += 1
    again.expect_prompt()
    assert "4242" in again.run("remembered_value")


def test_ctrl_d_asks_before_leaving(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.ctrl("d")
    shell.expect("Do you really want to exit")
    shell.child.send("n")  # any other key cancels
    assert "2" in shell.run("1 + 1")
    shell.ctrl("d")
    shell.expect("Do you really want to exit")
    shell.child.send("y")
    assert shell.wait() == 0


def test_ctrl_c_at_idle_prompt_clears_line_and_never_kills(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.child.send("this_is_not_run = 1")
    for _ in range(30):
        shell.ctrl("c")
    shell.signal(signal.SIGINT)  # a SIGINT from outside, as when the terminal is not in raw mode
    shell.signal(signal.SIGINT)
    assert "2" in shell.run("1 + 1")
    assert "NameError" in shell.run("this_is_not_run")
    assert shell.isalive()


def test_session_whose_setup_raises_still_gives_a_prompt(spawn_shell):
    shell = spawn_shell("broken_setup")
    shell.expect_prompt(1)
    banner = strip_escapes(shell.child.before)
    assert "Initialized m1" in banner
    assert re.search(
        r"ERROR in setup file .*broken_setup\.py:2: RuntimeError: setup deliberately broken", banner
    )
    assert "1" in shell.run("value")  # what ran before the error is there
    assert "setup deliberately broken" in shell.run("last_error()")


def _run(args, env, timeout=60):
    return subprocess.run(
        [str(BEAMSHELL), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_commands_option_exit_codes(shell_env, config_dir):
    ok = _run(["-s", "test_session", "--config", str(config_dir), "-c", "x = 20\nx + 1"], shell_env)
    assert ok.returncode == 0, ok.stderr
    assert "21" in ok.stdout
    helper = _run(["-s", "test_session", "--config", str(config_dir), "-c", "wm m1"], shell_env)
    assert helper.returncode == 0 and "m1" in helper.stdout
    failed = _run(
        [
            "-s",
            "test_session",
            "--config",
            str(config_dir),
            "-c",
            "raise ValueError('bad value 3')",
        ],
        shell_env,
    )
    assert failed.returncode == 1
    error_line, *trace = failed.stderr.strip().splitlines()
    # No prompt follows: where it failed, then the whole traceback, no last_error() hint.
    assert error_line == "!!! === ValueError: bad value 3 === !!! at <-c>:1"
    assert trace[0] == "Traceback (most recent call last):"
    assert trace[-1] == "ValueError: bad value 3"
    assert "last_error" not in failed.stderr


def test_script_option_exit_codes(shell_env, config_dir, write_macro):
    good = write_macro("good.py", "print('position', m1.position)\n")
    ok = _run(["-s", "test_session", "--config", str(config_dir), "--script", str(good)], shell_env)
    assert ok.returncode == 0, ok.stderr
    assert "position" in ok.stdout
    bad = write_macro(
        "bad.py",
        """\
        def go(target):
            umv(m1, target)

        print("before")
        go(1000)
        print("never")
        """,
    )
    failed = _run(
        ["-s", "test_session", "--config", str(config_dir), "--script", str(bad)], shell_env
    )
    assert failed.returncode == 1
    assert "before" in failed.stdout and "never" not in failed.stdout
    error_line, *trace = failed.stderr.strip().splitlines()
    assert error_line == (
        f"!!! === AxisLimitError: m1: target 1000 is outside limits (-100, 100) === !!! at {bad}:2"
    )
    assert trace[0] == "Traceback (most recent call last):"
    assert f'File "{bad}", line 5, in <module>' in failed.stderr
    assert f'File "{bad}", line 2, in go' in failed.stderr
    assert trace[-1].startswith("beamshell.hardware.axis.AxisLimitError: m1: target 1000")
    assert "last_error" not in failed.stderr
    missing = _run(
        ["-s", "test_session", "--config", str(config_dir), "--script", "/nonexistent.py"],
        shell_env,
    )
    assert missing.returncode == 1
    assert "no script file /nonexistent.py" in missing.stderr


def test_unknown_session_is_one_line(shell_env, config_dir):
    result = _run(["-s", "nope", "--config", str(config_dir), "-c", "1"], shell_env)
    assert result.returncode == 2
    assert "nope" in result.stderr and "test_session" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_sessions(shell_env, config_dir):
    result = _run(["--list-sessions", "--config", str(config_dir)], shell_env)
    assert result.returncode == 0
    assert sorted(result.stdout.split()) == ["broken_setup", "test_session"]


def test_redis_unreachable_is_one_line(shell_env, config_dir, tmp_path):
    url = f"unix://{tmp_path}/no-redis-here.sock"
    env = dict(shell_env, BEAMSHELL_REDIS_URL=url)
    result = _run(["-s", "test_session", "--config", str(config_dir)], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # The URL came from BEAMSHELL_REDIS_URL: the advice is about that, not the embedded server.
    assert url in lines[0] and "fix BEAMSHELL_REDIS_URL" in lines[0]
    assert result.stdout.count("Traceback") == 0


def test_help_and_server_status_do_not_import_the_shell(shell_env, config_dir):
    python = BEAMSHELL.parent / "python"
    for args in (["--help"], ["server", "status", "--config", str(config_dir)]):
        code = (
            "import sys\n"
            "from beamshell.shell.cli import main\n"
            f"try:\n    status = main({args!r})\nexcept SystemExit as exc:\n    status = exc.code\n"
            "heavy = [m for m in ('IPython', 'ptpython', 'numpy', 'prompt_toolkit', 'gevent')"
            " if m in sys.modules]\n"
            "print('status:', status, 'heavy:', heavy)\n"
        )
        result = subprocess.run(
            [str(python), "-c", code], env=shell_env, capture_output=True, text=True
        )
        assert "status: 0 heavy: []" in result.stdout, result.stdout + result.stderr


def test_sigint_from_outside_interrupts_the_running_command(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    # The command says when it runs (the marker is built so that its echo does not match).
    shell.send("import gevent; print('long command' + ' running'); gevent.sleep(30)")
    shell.expect("long command running")
    shell.signal(signal.SIGINT)
    shell.expect_prompt()
    assert "!!! === KeyboardInterrupt === !!!" in strip_escapes(shell.child.before)
    assert "4" in shell.run("2 + 2")


def test_leaving_keeps_the_embedded_redis_running(shell_env, config_dir):
    env = dict(shell_env)
    env.pop("BEAMSHELL_REDIS_URL")  # the configuration's own embedded server
    try:
        shell = Shell(
            ["-s", "test_session", "--config", str(config_dir)], env, config_dir / "pty.log"
        )
        try:
            shell.expect_prompt(1)
            shell.run("x = 1")
            shell.ctrl("d")
            shell.expect("exit")
            shell.child.send("y")
            assert shell.wait() == 0
        finally:
            shell.close()
        status = _run(["server", "status", "--config", str(config_dir)], env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "Redis running at" in status.stdout
    finally:
        _run(["server", "stop", "--config", str(config_dir)], env)


def test_listen_prints_the_scans_of_a_session(shell_env, config_dir, tmp_path):
    listener = Shell(
        ["listen", "--session", "test_session", "--config", str(config_dir)],
        shell_env,
        tmp_path / "listen.log",
    )
    try:
        listener.expect("listening to session 'test_session'")
        scan = _run(
            ["-s", "test_session", "--config", str(config_dir), "-c", "loopscan(3, 0.01, diode)"],
            shell_env,
        )
        assert scan.returncode == 0, scan.stderr
        listener.expect(r"test_session:\S*:1_loopscan")
        listener.expect("END_SCAN")
        listener.ctrl("c")  # SIGINT: the listener is not in raw mode
        assert listener.wait() in (0, 130)
    finally:
        listener.close()


def test_tab_completes_attributes_and_device_names_in_calls(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.child.send("m1.posi\t")
    shell.expect("tion")  # the line now reads m1.position
    shell.child.send("\r")
    shell.count += 1
    shell.expect_prompt()
    assert "Out [1]:" in strip_escapes(shell.child.before)
    shell.child.send("loopscan(2, 0.01, dio\t")
    shell.expect("de")
    shell.child.send(")\r")
    shell.count += 1
    shell.expect_prompt()
    assert "Took" in strip_escapes(shell.child.before)


def test_exit_command_leaves_and_closes_the_session(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.child.sendline("exit")
    assert shell.wait() == 0


def test_listen_needs_a_session_when_there_are_several(shell_env, config_dir):
    result = _run(["listen", "--config", str(config_dir)], shell_env)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith(
        f"beamshell: choose a session with --session NAME (sessions in {config_dir}: "
    )
    assert "test_session" in message and "broken_setup" in message
    assert len(message.splitlines()) == 1


def test_demo_session_starts_to_its_prompt(shell_env, tmp_path):
    shell = Shell(["-s", "demo"], shell_env, tmp_path / "demo.log")  # the shipped demo config
    try:
        shell.expect_prompt(1)
        banner = strip_escapes(shell.child.before)
        assert "demo_config" in banner
        assert "Initialized m1" in banner and "Alias th -> m3" in banner
        assert "ERROR" not in banner
        assert "m1" in shell.run("wa")
    finally:
        shell.close()


def test_config_dir_is_exported_to_the_session(shell_env, config_dir):
    result = _run(
        [
            "-s",
            "test_session",
            "--config",
            str(config_dir),
            "-c",
            "import os; os.environ['BEAMSHELL_CONFIG']",
        ],
        shell_env,
    )
    assert result.returncode == 0, result.stderr
    assert repr(str(config_dir)) in result.stdout


def test_prompt_runs_no_worker_threads(spawn_shell):
    """Completion, suggestions and history run in the main thread: gevent objects must not
    be touched from another thread. Only the terminal writer thread exists."""
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.child.send("m1.posi\t")
    shell.expect("tion")
    shell.child.send("\x15")  # Ctrl-U: clear the line
    output = shell.run("import threading; sorted(t.name for t in threading.enumerate())")
    assert "Out [1]: ['MainThread', 'terminal-writer']" in output


def test_input_in_a_command_reads_a_line_and_ctrl_c_interrupts_it(spawn_shell):
    shell = spawn_shell()
    shell.expect_prompt(1)
    shell.run("import gevent")
    shell.run("ask = lambda delay: (gevent.sleep(delay), input('continue? '))[1]")
    for delay in (0, 0.5):  # before and after the command's toolbar shows up
        shell.send(f"ask({delay})")
        shell.expect("continue\\? ")
        shell.child.send("yes please\r")
        assert "'yes please'" in _prompt_output(shell)
    shell.send("ask(0.5)")
    shell.expect("continue\\? ")
    shell.ctrl("c")  # the terminal is in line mode: a SIGINT
    assert "!!! === KeyboardInterrupt === !!!" in _prompt_output(shell)
    assert "3" in shell.run("1 + 2")


def _prompt_output(shell) -> str:
    shell.expect_prompt()
    return strip_escapes(shell.child.before)


def test_loading_errors_are_shown_even_without_the_banner(spawn_shell):
    shell = spawn_shell("broken_setup", "--no-banner")
    shell.expect_prompt(1)
    before = strip_escapes(shell.child.before)
    assert "Initialized" not in before
    assert "ERROR in setup file" in before and "setup deliberately broken" in before
