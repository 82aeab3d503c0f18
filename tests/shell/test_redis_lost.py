"""Redis lost at the prompt: one line per command or background task, and back when it is."""

from __future__ import annotations

import subprocess

import pexpect
import redis
from shell_pty import BEAMSHELL, strip_escapes

from beamshell.config.redis_server import PrivateRedis

REACHABLE_AGAIN = "commands work again once it answers"


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "!!! ===" in line]


def test_redis_lost_at_the_prompt_gives_one_line_and_the_session_comes_back(
    spawn_shell, shell_env, tmp_path
):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        shell_env["BEAMSHELL_REDIS_URL"] = server.url
        shell = spawn_shell()
        shell.expect_prompt()
        assert "!!!" not in shell.run("umv(m1, 0.5)")

        # A background task nobody waits for reports its own failure, once, in one line: a
        # move started in the background cannot read its simulated motor (kept in Redis)
        # when it ends. Redis is killed by the command that starts the move, before its end.
        shell.run("import os, signal")
        output = shell.run(f"slow.move(2, wait=False); os.kill({server.pid}, signal.SIGKILL)")
        assert error_lines(output) == []
        shell.expect(
            r"!!! === background task Axis\._follow_motion: RedisUnreachable: "
            r"Redis not reachable at "
        )
        output = shell.run("last_error()")
        assert "Traceback (most recent call last)" in output
        assert output.rstrip().splitlines()[-1].startswith("RedisUnreachable: Redis not reachable")

        # A command: refused in one line before it prints or moves anything (the simulated
        # motor's state is in Redis, as a real controller's would be out of reach).
        output = shell.run("umv(m1, 1)")
        assert "Traceback" not in output and "failed with" not in output
        [line] = error_lines(output)
        assert f"RedisUnreachable: Redis not reachable at {server.url} (" in line
        assert "fix BEAMSHELL_REDIS_URL" in line and REACHABLE_AGAIN in line
        assert "m1[mm]" not in output

        [line] = error_lines(shell.run("ct(0.01)"))
        assert f"Redis not reachable at {server.url}" in line

        # The same server comes back: the next commands work without restarting anything.
        server.start()
        output = shell.run("umv(m1, 3)")
        assert error_lines(output) == [] and "Traceback" not in output
        output = shell.run("ct(0.01)")
        assert error_lines(output) == [] and "diode" in output
        client = redis.Redis.from_url(server.url)
        assert client.hget("settings:axis:m1", "dial_position") == b"3.0"
        client.close()
    finally:
        server.kill()


def test_redis_lost_in_a_batch_run_is_one_line(spawn_shell, shell_env, tmp_path, write_macro):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        shell_env["BEAMSHELL_REDIS_URL"] = server.url
        macro = write_macro(
            "lose_redis.py",
            f"""
            import os, signal
            os.kill({server.pid}, signal.SIGKILL)
            mv(m1, 1)
            """,
        )
        shell = spawn_shell("test_session", "--script", str(macro))
        shell.expect(pexpect.EOF)
        output = strip_escapes(shell.child.before)
        assert shell.wait() == 1
        assert "Traceback" not in output and "failed with" not in output
        [line] = error_lines(output)
        assert f"RedisUnreachable: Redis not reachable at {server.url}" in line
        assert line.endswith(f"=== !!! at {macro}:4")  # where the macro was (issue 10)
    finally:
        server.kill()


def test_embedded_server_stopped_at_the_prompt_says_how_to_start_it(
    spawn_shell, shell_env, config_dir
):
    """The case an operator meets: `beamshell server stop` while a shell is open."""

    def server(action: str) -> str:
        result = subprocess.run(
            [str(BEAMSHELL), "server", action, "--config", str(config_dir)],
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    del shell_env["BEAMSHELL_REDIS_URL"]
    try:
        shell = spawn_shell()
        shell.expect_prompt()
        assert "stopped" in server("stop")
        [line] = error_lines(shell.run("umv(m1, 1)"))
        assert "RedisUnreachable: Redis not reachable at unix://" in line
        assert (
            f"start the embedded server with 'beamshell server start --config {config_dir}'" in line
        )
        assert REACHABLE_AGAIN in line
        server("start")
        output = shell.run("umv(m1, 2)")
        assert error_lines(output) == [] and "Traceback" not in output
        assert "2.00000" in shell.run("wm(m1)")
    finally:
        server("stop")
