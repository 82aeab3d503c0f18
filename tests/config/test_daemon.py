"""Detached per-session processes: one at a time, found by their lock, stopped by their pid."""

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from beamshell.config.daemon import DaemonStartError, SessionDaemon

HERE = Path(__file__).resolve().parent


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PYTHONPATH", str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    config = tmp_path / "config"
    config.mkdir()
    sample = SessionDaemon("sample", "sample_daemon", "demo", config)
    yield sample
    sample.stop()


def test_start_status_stop(daemon):
    assert not daemon.is_running() and daemon.status()["running"] is False
    pid = daemon.start()
    assert daemon.is_running() and daemon.pid() == pid
    status = daemon.status()
    assert status["running"] and status["answer"] == 42 and status["log"] == str(daemon.log_file)
    assert daemon.start() == pid  # already running: nothing started
    assert daemon.stop()
    assert not daemon.is_running() and daemon.pid() is None
    assert not daemon.stop()


def test_a_second_daemon_of_the_same_session_refuses(daemon):
    daemon.start()
    second = subprocess.run(
        [sys.executable, str(HERE / "sample_daemon.py"), "run", "-s", "demo",
         "--config", str(daemon.config_dir)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert second.returncode == 4
    assert "a sample already runs for session 'demo' (pid" in second.stderr


def test_a_killed_daemon_is_not_running_whatever_its_files_say(daemon):
    pid = daemon.start()
    os.kill(pid, signal.SIGKILL)
    assert daemon._wait_released(10)
    assert daemon.info_file.exists()  # stale, and ignored
    assert not daemon.is_running() and daemon.pid() is None
    assert daemon.start() != pid


def test_a_daemon_that_dies_at_start_names_its_log(daemon):
    with pytest.raises(DaemonStartError, match="did not start .exit status 3.: see .*sample-demo"):
        daemon.start(["--fail"])
    assert "failing on purpose" in daemon.log_file.read_text()


def test_start_works_with_descriptors_above_1024_in_use(daemon):
    """The start waited on its pipe with select(), which refuses descriptors from 1024 on:
    a process with many files or sockets open could not start its writer or plot server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if hard != resource.RLIM_INFINITY and hard < wanted + 50:
        pytest.skip(f"this system allows only {hard} open files")
    if soft != resource.RLIM_INFINITY and soft < wanted + 50:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted + 50, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(wanted)]
    try:
        pid = daemon.start()  # its pipe gets a descriptor above 1024
        assert daemon.is_running() and daemon.pid() == pid
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
