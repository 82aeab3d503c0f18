"""SIGTERM, SIGHUP and kill -9 of a real shell in a real pty, mid-scan and mid-move.

A signal that can be handled stops the scan through its normal abort path (the preset's
stop closes the shutter, the scan ends ABORTED with END_SCAN in Redis), closes the session
and exits with 128 + signum. kill -9 runs no handler: the scan's lease in Redis expires, and
a follower, or the next session that opens, ends the scan KILLED.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from shell_pty import Shell, strip_escapes

from beamshell.data.node import Event, get_session_node

LEASE_S = 2
ROW_3 = r"\s3\s+[\d.e+-]+\s+[\d.e+-]+\r"  # point 3 of the table: `3  0.156  100.2`

SETUP = """\
class CloseShutter(ScanPreset):
    def prepare(self, scan):
        fshutter.open()

    def stop(self, scan):
        print("closing the shutter after", scan.npoints_done, "points")
        fshutter.close()


def long_scan():
    scan = loopscan(100000, 0.05, diode, run=False)
    scan.add_preset(CloseShutter())
    scan.run()
"""


@pytest.fixture
def signals_config(config_dir):
    """The shell tests' configuration, plus a shutter, a short scan lease, a session using both."""
    (config_dir / "__init__.yml").write_text(f"scan_lease_time: {LEASE_S}\n")
    (config_dir / "shutter.yml").write_text("- {name: fshutter, class: simulation_shutter}\n")
    sessions = config_dir / "sessions" / "sessions.yml"
    sessions.write_text(
        sessions.read_text()
        + "- name: signals\n  class: Session\n  setup-file: ./signals_setup.py\n"
        + "  config-objects: [slow, diode, fshutter]\n"
    )
    (config_dir / "sessions" / "signals_setup.py").write_text(SETUP)
    return config_dir


@pytest.fixture
def spawn(shell_env, signals_config, tmp_path):
    shells: list[Shell] = []

    def start(*extra: str) -> Shell:
        args = ["-s", "signals", "--config", str(signals_config), *extra]
        shell = Shell(args, shell_env, tmp_path / f"signals-{len(shells)}.log")
        shells.append(shell)
        return shell

    yield start
    for shell in shells:
        shell.close()


def start_long_scan(shell: Shell) -> None:
    shell.expect_prompt(1)
    shell.send("long_scan()")
    shell.expect(ROW_3)  # the table's fourth row: the scan is running


def the_scan(redis_url: str):
    (scan,) = list(get_session_node("signals", redis_url=redis_url).walk("scan", wait=False))
    return scan


def has_ended(redis_client, db_name: str) -> bool:
    last = redis_client.xrevrange(db_name + "_children", count=1)
    return bool(last) and last[0][1].get(b"e") == b"end"


def shutter_state(redis_client) -> str:
    return json.loads(redis_client.get("settings:shutter:fshutter"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_scan_aborts_it_properly_and_leaves(spawn, redis_url, redis_client, signum):
    shell = spawn()
    start_long_scan(shell)
    assert shutter_state(redis_client) == "OPEN"
    shell.signal(signum)
    shell.expect("closing the shutter after")
    name = signal.Signals(signum).name
    shell.expect(f"{name} received: the command was stopped and the session closes")
    assert shell.wait() == 128 + signum
    scan = the_scan(redis_url)
    assert scan.info["state"] == "ABORTED"
    assert has_ended(redis_client, scan.db_name)  # END_SCAN: followers are released
    assert shutter_state(redis_client) == "CLOSED"
    assert not redis_client.exists(scan.db_name + "_lease")


def test_terminal_closed_mid_scan_hangs_up_and_the_scan_ends_properly(
    spawn, redis_url, redis_client
):
    shell = spawn()
    start_long_scan(shell)
    shell.process.hang_up()  # the terminal goes away: the kernel sends SIGHUP
    assert shell.wait() == 128 + signal.SIGHUP
    scan = the_scan(redis_url)
    assert scan.info["state"] == "ABORTED" and has_ended(redis_client, scan.db_name)
    assert shutter_state(redis_client) == "CLOSED"


def test_sigterm_mid_move_stops_the_motor_and_leaves(spawn, redis_client):
    shell = spawn()
    shell.expect_prompt(1)
    shell.send("umv(slow, 50)")  # 1 mm/s: a long move
    # umv prints its header before it starts the move (which takes a few Redis round trips
    # since the motor's state is in Redis): wait for a live position that is not 0.
    shell.expect(r"slow\[mm\]\r")
    shell.expect(r"user\s+0\.\d*[1-9]")  # it moves
    shell.signal(signal.SIGTERM)
    shell.expect(r"slow stopped at \d")  # Ctrl-C's path: stopped, and where
    shell.expect("SIGTERM received")
    assert shell.wait() == 128 + signal.SIGTERM
    saved = redis_client.hgetall("settings:axis:slow")
    dial = json.loads(saved[b"dial_position"])
    assert 0 < dial < 50  # stopped on its way, and saved


def test_sigterm_at_the_idle_prompt_leaves(spawn):
    shell = spawn()
    shell.expect_prompt(1)
    shell.run("x = 1")
    shell.signal(signal.SIGTERM)
    shell.expect("SIGTERM received")
    assert shell.wait() == 128 + signal.SIGTERM


def test_sigterm_at_the_prompt_aborts_a_scan_running_in_the_background(
    spawn, redis_url, redis_client
):
    shell = spawn()
    shell.expect_prompt(1)
    shell.run("import gevent")
    shell.run("background = gevent.spawn(long_scan)")
    shell.expect(ROW_3)  # printed above the idle prompt
    shell.signal(signal.SIGTERM)
    shell.expect("closing the shutter after")  # the session's close aborts it
    assert shell.wait() == 128 + signal.SIGTERM
    scan = the_scan(redis_url)
    assert scan.info["state"] == "ABORTED" and has_ended(redis_client, scan.db_name)
    assert shutter_state(redis_client) == "CLOSED"


@pytest.mark.parametrize("option", ["-c", "--script"])
def test_sigterm_mid_scan_in_a_batch_run(spawn, redis_url, redis_client, tmp_path, option):
    macro = tmp_path / "macro.py"
    macro.write_text("long_scan()\n")
    shell = spawn(option, "long_scan()" if option == "-c" else str(macro))
    shell.expect(ROW_3)
    shell.signal(signal.SIGTERM)
    shell.expect("closing the shutter after")
    shell.expect("SIGTERM received: the command was stopped and the session closes")
    assert shell.wait() == 128 + signal.SIGTERM
    assert "Traceback" not in strip_escapes(shell.child.before)
    scan = the_scan(redis_url)
    assert scan.info["state"] == "ABORTED" and has_ended(redis_client, scan.db_name)
    assert shutter_state(redis_client) == "CLOSED"


def test_kill_9_mid_scan_a_follower_ends_the_scan_killed(spawn, redis_url):
    shell = spawn()
    start_long_scan(shell)
    scan = the_scan(redis_url)
    follower = scan.walk_events(include_filter="channel", timeout=30)  # timeout: a hang guard
    pid = shell.process.process.pid
    shell.signal(signal.SIGKILL)
    assert shell.wait() == -signal.SIGKILL
    started = time.monotonic()
    events = [event for event, _, _ in follower]
    assert events[-1] is Event.END_SCAN  # the follower was released...
    assert time.monotonic() - started < 30  # ...by the lease, not by its guard timeout
    info = scan.info
    assert info["state"] == "KILLED"
    assert f"pid {pid}" in info["end_reason"] and "was killed" in info["end_reason"]
    assert Event.NEW_DATA in events  # the data published before the kill are all there


def test_kill_9_mid_scan_the_next_session_ends_the_scan_killed(
    spawn, signals_config, redis_url, redis_client
):
    shell = spawn()
    start_long_scan(shell)
    scan = the_scan(redis_url)
    shell.signal(signal.SIGKILL)
    shell.wait()
    assert scan.info["state"] == "RUNNING" and not has_ended(redis_client, scan.db_name)
    lease = scan.db_name + "_lease"
    guard = time.monotonic() + 30
    while redis_client.exists(lease) and time.monotonic() < guard:
        # The event here is Redis expiring the lease: wait for what it says is left of it.
        time.sleep(max(redis_client.pttl(lease), 1) / 1000)
    from beamshell.sessions import load_session

    session = load_session("signals", config_dir=signals_config, redis_url=redis_url)
    try:
        assert (
            f"Scan {scan.db_name} was left running by a process that died: ended KILLED"
            in session.load_report
        )
    finally:
        session.close()
    assert scan.info["state"] == "KILLED" and has_ended(redis_client, scan.db_name)


def test_scans_of_a_live_shell_are_left_alone(spawn, signals_config, redis_url, redis_client):
    shell = spawn()
    start_long_scan(shell)
    scan = the_scan(redis_url)
    assert 0 < redis_client.pttl(scan.db_name + "_lease") <= LEASE_S * 1000
    from beamshell.sessions import load_session

    session = load_session("signals", config_dir=signals_config, redis_url=redis_url)
    session.close()
    assert scan.info["state"] == "RUNNING" and not has_ended(redis_client, scan.db_name)
    shell.signal(signal.SIGTERM)
    assert shell.wait() == 128 + signal.SIGTERM
    assert scan.info["state"] == "ABORTED"
