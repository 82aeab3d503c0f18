"""Several processes on one session, typed as operators do: one interactive shell at a time
(unless --force), and every process sees the same settings and the same simulated motors."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import gevent
import redis
from shell_pty import BEAMSHELL, strip_escapes

from beamshell.config.redis_server import PrivateRedis


def _run(args, env, timeout=60):
    return subprocess.run(
        [str(BEAMSHELL), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_a_second_interactive_shell_is_refused_in_one_line(spawn_shell, shell_env, config_dir):
    first = spawn_shell()
    first.expect_prompt(1)
    pid = first.process.process.pid
    second = spawn_shell()
    second.expect(r"beamshell: session 'test_session' is already open in an interactive shell")
    second.expect(r"\n")
    line = second.child.before
    assert re.search(rf"on host \S+, pid {pid}, terminal /dev/pts/\d+, since \d{{4}}-", line)
    assert "--force" in line
    assert second.wait() == 2
    # -c and --script are not interactive shells: they run beside it.
    batch = _run(["-s", "test_session", "--config", str(config_dir), "-c", "wa"], shell_env)
    assert batch.returncode == 0, batch.stderr
    # --force opens a second shell anyway.
    forced = spawn_shell("test_session", "--force")
    forced.expect_prompt(1)
    assert "42" in forced.run("6 * 7")


def test_a_shell_opened_with_force_is_announced_to_the_open_one(spawn_shell, redis_client):
    first = spawn_shell()
    first.expect_prompt(1)
    # What does not name a shell of this session is ignored; control characters are escaped.
    stream = "shell_presence:test_session"
    for fields in (
        {"shell": "garbage"},
        {"other": "field"},
        {"shell": b"\xff\xfe"},
        {"shell": "beamshell-shell:other_session:lab9:7:tty:0"},
        {"shell": "beamshell-shell:test_session:ev%1Bil:1:tty:0"},
    ):
        redis_client.xadd(stream, fields)
    first.expect(r"opened session 'test_session' with --force, on host ev\\x1bil, pid 1,")
    forced = spawn_shell("test_session", "--force")
    forced.expect_prompt(1)
    pid = forced.process.process.pid
    first.expect(
        r"beamshell: another interactive shell opened session 'test_session' with --force, "
        rf"on host \S+, pid {pid}, terminal /dev/pts/\d+, since \d{{4}}-[^:]+:\d\d:\d\d: "
        r"both now drive the same session"
    )
    assert "42" in first.run("6 * 7")  # the line came above the prompt, which still works
    first.log.flush()
    told = strip_escapes(Path(first.log.name).read_text()).count("another interactive shell")
    assert told == 2  # the forged entry and the forced shell, nothing for the garbage
    # The forced shell is not told about itself, and a third shell tells both.
    third = spawn_shell("test_session", "--force")
    third.expect_prompt(1)
    third_pid = third.process.process.pid
    for shell in (first, forced):
        shell.expect(rf"opened session 'test_session' with --force, on host \S+, pid {third_pid},")
    forced.log.flush()
    transcript = strip_escapes(Path(forced.log.name).read_text())
    notices = [line for line in transcript.splitlines() if "with --force, on host" in line]
    assert notices and all(f"pid {third_pid}," in line for line in notices), notices


def test_the_session_is_free_again_once_the_shell_has_left(spawn_shell):
    first = spawn_shell()
    first.expect_prompt(1)
    first.send("exit")
    assert first.wait() == 0
    again = spawn_shell()
    again.expect_prompt(1)


def test_a_change_made_in_another_process_is_seen_at_once(spawn_shell, shell_env, config_dir):
    shell = spawn_shell()
    shell.expect_prompt(1)
    assert "10.0" in shell.run("m1.velocity")
    assert "diode2" in shell.run("MG1.enabled")
    changes = "; ".join(
        [
            "m1.velocity = 2.5",
            "m1.limits = (-7, 7)",
            "MG1.disable('diode2')",
            "SCAN_SAVING.base_path = '/tmp/elsewhere'",
            "mv(m1, 3)",
            "m1.position = 10",
        ]
    )
    other = _run(["-s", "test_session", "--config", str(config_dir), "-c", changes], shell_env)
    assert other.returncode == 0, other.stderr
    assert "'m1' position reset from 3 to 10 (offset 7)" in other.stdout
    assert "2.5" in shell.run("m1.velocity")
    assert "(0.0, 14.0)" in shell.run("m1.limits")  # dial (-7, 7) plus offset 7
    enabled = shell.run("MG1.enabled")
    assert "diode" in enabled and "diode2" not in enabled
    assert "/tmp/elsewhere" in shell.run("SCAN_SAVING.base_path")
    output = shell.run("wa")
    assert re.search(r"m1\s+mm\s+10\.00000\s+3\.00000", output), output


def test_a_motor_moved_by_one_shell_is_seen_moving_by_the_other(spawn_shell):
    mover = spawn_shell()
    mover.expect_prompt(1)
    mover.run("slow.move(50, wait=False)")  # 1 mm/s: it moves for a long time
    watcher = spawn_shell("test_session", "--force")
    watcher.expect_prompt(1)
    assert "MOVING" in watcher.run("slow.state")
    assert "is being moved by another process" in watcher.run("mv(slow, 1)")
    watcher.run("slow.stop()")
    assert "READY" in watcher.run("slow.state")
    assert "READY" in mover.run("slow.state")
    seen = re.search(r"Out \[\d+\]: ([0-9.]+)", watcher.run("slow.position"))
    here = re.search(r"Out \[\d+\]: ([0-9.]+)", mover.run("slow.position"))
    assert seen and here and seen.group(1) == here.group(1)
    assert 0 < float(here.group(1)) < 50


def _shell_announced(url: str, pid: int) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return any(f":{pid}:" in (entry.get("name") or "") for entry in client.client_list())
    finally:
        client.close()


def test_a_shell_is_announced_again_when_redis_restarts(spawn_shell, shell_env, tmp_path):
    # A restart of Redis drops the connection whose name announces the shell: without a
    # new one, a second shell would open unrefused beside the first.
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        shell_env["BEAMSHELL_REDIS_URL"] = server.url
        first = spawn_shell()
        first.expect_prompt(1)
        pid = first.process.process.pid
        assert _shell_announced(server.url, pid)
        server.kill()
        server.start()
        # The state this waits for is in Redis: the first shell's named connection is back.
        with gevent.Timeout(30, AssertionError("the first shell was not announced again")):
            while not _shell_announced(server.url, pid):
                gevent.sleep(0.05)
        second = spawn_shell()
        second.expect(r"beamshell: session 'test_session' is already open in an interactive shell")
        assert second.wait() == 2
        assert "42" in first.run("6 * 7")  # the first shell did not notice
    finally:
        server.kill()
