"""`beamshell writer start|status|stop`, as an operator types them."""

from __future__ import annotations

import subprocess
import sys

from writer_helpers import SESSION


def beamshell(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beamshell", *args], capture_output=True, text=True, timeout=60
    )


def test_start_status_stop(config_dir, redis_url):
    where = ["-s", SESSION, "--config", str(config_dir)]
    status = beamshell("writer", "status", *where)
    assert status.returncode == 3
    assert status.stdout.startswith(f"writer of session '{SESSION}' is not running (log ")
    started = beamshell("writer", "start", *where)
    try:
        assert started.returncode == 0, started.stderr
        assert f"writer of session '{SESSION}' running (pid " in started.stdout
        pid = started.stdout.split("(pid ")[1].split(",")[0]
        again = beamshell("writer", "start", *where)  # one runs: nothing started
        assert f"(pid {pid}," in again.stdout
        status = beamshell("writer", "status", *where)
        assert status.returncode == 0 and f"running (pid {pid}, log " in status.stdout
    finally:
        stopped = beamshell("writer", "stop", *where)
    assert stopped.stdout == f"writer of session '{SESSION}' stopped\n"
    assert beamshell("writer", "status", *where).returncode == 3


def test_bad_arguments_are_one_line(config_dir, tmp_path):
    missing = beamshell("writer", "status")
    assert missing.returncode == 2 and "the following arguments are required: -s" in missing.stderr
    nowhere = beamshell("writer", "status", "-s", SESSION, "--config", str(tmp_path / "nope"))
    assert nowhere.returncode == 2
    assert (
        nowhere.stderr
        == f"beamshell writer: configuration directory not found: {tmp_path / 'nope'}\n"
    )
