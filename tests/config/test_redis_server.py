"""The embedded Redis server: one per configuration, shared, stoppable, and clear when absent."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from beamshell.config.redis_server import EmbeddedRedis, connect, resolve_redis_url
from beamshell.errors import RedisUnreachable

BEAMSHELL = [sys.executable, "-m", "beamshell"]


def run_cli(*args, env=None):
    environment = dict(os.environ)
    environment.pop("BEAMSHELL_REDIS_URL", None)
    environment.update(env or {})
    return subprocess.run(
        BEAMSHELL + list(args), capture_output=True, text=True, timeout=30, env=environment
    )


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("BEAMSHELL_REDIS_URL", raising=False)
    yield tmp_path
    EmbeddedRedis(tmp_path).stop()


def test_two_concurrent_starts_give_one_server(config_dir):
    starters = [
        subprocess.Popen(
            BEAMSHELL + ["server", "start", "--config", str(config_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "BEAMSHELL_REDIS_URL"},
        )
        for _ in range(2)
    ]
    outputs = [starter.communicate(timeout=30) for starter in starters]
    assert all(starter.returncode == 0 for starter in starters), outputs
    server = EmbeddedRedis(config_dir)
    pid = server.pid()
    assert pid is not None
    assert all(f"pid {pid}" in out for out, _ in outputs)
    ps = subprocess.run(["pgrep", "-f", str(server.socket_path)], capture_output=True, text=True)
    assert ps.stdout.split() == [str(pid)]


def test_server_listens_only_on_its_unix_socket(config_dir):
    server = EmbeddedRedis(config_dir)
    url = server.start()
    assert url == f"unix://{server.socket_path}"
    client = connect(url)
    assert client.config_get("port")["port"] == "0"
    assert client.config_get("appendonly")["appendonly"] == "yes"
    client.close()


def test_status_after_stop(config_dir):
    assert run_cli("server", "start", "--config", str(config_dir)).returncode == 0
    status = run_cli("server", "status", "--config", str(config_dir))
    assert status.returncode == 0 and "running at unix://" in status.stdout
    stop = run_cli("server", "stop", "--config", str(config_dir))
    assert stop.returncode == 0 and "stopped" in stop.stdout
    status = run_cli("server", "status", "--config", str(config_dir))
    assert status.returncode == 3 and "not running" in status.stdout
    assert not EmbeddedRedis(config_dir).is_running()


def test_server_outlives_the_process_that_started_it(config_dir):
    run_cli("server", "start", "--config", str(config_dir))
    assert EmbeddedRedis(config_dir).is_running()


def test_configured_url_means_nothing_is_started(config_dir):
    (config_dir / "__init__.yml").write_text("redis_url: unix:///nonexistent/redis.sock\n")
    assert resolve_redis_url(config_dir) == "unix:///nonexistent/redis.sock"
    assert EmbeddedRedis(config_dir).pid() is None
    result = run_cli("server", "start", "--config", str(config_dir))
    assert result.returncode == 1 and "configured at unix:///nonexistent" in result.stdout


def test_unreachable_redis_is_one_line_naming_the_url():
    with pytest.raises(RedisUnreachable) as info:
        connect("unix:///nonexistent/redis.sock")
    message = str(info.value)
    assert "\n" not in message
    assert "unix:///nonexistent/redis.sock" in message
    assert "beamshell server start" in message


def test_unreachable_redis_from_the_command_line(config_dir):
    (config_dir / "__init__.yml").write_text("redis_url: redis://127.0.0.1:1\n")
    result = run_cli("server", "status", "--config", str(config_dir))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "redis://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_long_config_path_still_gets_a_short_socket(tmp_path, monkeypatch):
    monkeypatch.delenv("BEAMSHELL_REDIS_URL", raising=False)
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    server = EmbeddedRedis(deep)
    try:
        assert len(str(server.socket_path)) <= 100
        assert server.run_dir == deep / ".beamshell"
        assert Path(server.start()[len("unix://") :]).exists()
    finally:
        server.stop()


def test_environment_url_wins_over_the_configured_one(config_dir, monkeypatch):
    from beamshell.config.static import Config

    (config_dir / "__init__.yml").write_text("redis_url: unix:///from/config.sock\n")
    assert Config(config_dir).redis_url == "unix:///from/config.sock"
    monkeypatch.setenv("BEAMSHELL_REDIS_URL", "unix:///from/environment.sock")
    assert Config(config_dir).redis_url == "unix:///from/environment.sock"
    assert EmbeddedRedis(config_dir).pid() is None


def test_embedded_server_logs_under_the_state_directory_and_status_says_where(
    config_dir, tmp_path, monkeypatch
):
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    server = EmbeddedRedis(config_dir)
    assert server.log_file.parent == state / "beamshell"
    started = run_cli("server", "start", "--config", str(config_dir))
    assert started.returncode == 0, started.stderr
    assert f"log {server.log_file})" in started.stdout
    assert "Redis is starting" in server.log_file.read_text()  # its own words
    status = run_cli("server", "status", "--config", str(config_dir))
    assert status.returncode == 0
    assert f"log {server.log_file})" in status.stdout
    assert not (server.run_dir / "redis.log").exists()
    server.stop()
    stopped = run_cli("server", "status", "--config", str(config_dir))
    assert stopped.returncode == 3 and f"its log: {server.log_file})" in stopped.stdout


def test_embedded_server_log_is_rotated_when_large(config_dir, tmp_path, monkeypatch):
    from beamshell.config import logs

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 4096)
    server = EmbeddedRedis(config_dir)
    server.log_file.write_text("an old line of a long log\n" * 200)  # over the limit
    server.start()
    rotated = server.log_file.with_name(server.log_file.name + ".1")
    assert rotated.read_text().startswith("an old line")
    # The running server goes on writing to a fresh file, which the next start rotates too.
    client = connect(server.url)
    client.execute_command("DEBUG", "LOG", "written after the rotation")
    client.close()
    fresh = server.log_file.read_text()
    assert "written after the rotation" in fresh and "an old line" not in fresh
    server.log_file.write_text("x" * 5000)
    server.start()  # already running: the log is rotated all the same
    assert rotated.read_text() == "x" * 5000
    assert server.log_file.with_name(server.log_file.name + ".2").read_text().startswith("an old")


def test_server_that_cannot_start_says_why_and_where_its_log_is(config_dir, tmp_path, monkeypatch):
    from beamshell.config import redis_server

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    failing = tmp_path / "redis-server"
    failing.write_text("#!/bin/sh\necho '*** FATAL CONFIG FILE ERROR: Bad directive' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(redis_server, "find_redis_server_binary", lambda: str(failing))
    server = EmbeddedRedis(config_dir)
    with pytest.raises(RedisUnreachable) as info:
        server.start()
    message = str(info.value)
    assert "embedded server did not start: *** FATAL CONFIG FILE ERROR: Bad directive" in message
    assert f"see its log {server.log_file}" in message
    assert "\n" not in message
