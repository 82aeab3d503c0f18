"""What an operator sees of the writer in the shell: its start, its errors, its recovery."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from writer_helpers import SESSION

from beamshell.config.daemon import session_daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shell"))
from shell_pty import Shell, shell_environment, strip_escapes  # noqa: E402


@pytest.fixture
def shell(config_dir, redis_url, tmp_path):
    env = shell_environment(tmp_path / "home", redis_url)
    env.pop("BEAMSHELL_WRITER_AUTOSTART", None)  # as for an operator: the session starts it
    opened = Shell(["-s", SESSION, "--config", str(config_dir)], env, tmp_path / "pty.log")
    yield opened
    opened.close()
    session_daemon("writer", SESSION, config_dir).stop()


def test_the_shell_starts_the_writer_and_shows_its_errors_as_one_line(
    shell, read_only, base_path, config_dir
):
    shell.expect(r"Writer: starting \(pid \d+, log \S+writer-wsession-\w+\.log\)")
    shell.expect_prompt()
    out = shell.run("loopscan(3, 0.01, diode)")
    dataset = f"{base_path}/{SESSION}/inhouse/sample/sample_0001/sample_0001.h5"
    assert "Scan 1 " in out and f" {dataset} {SESSION} user = " in out
    assert f"Saved in {dataset}::/1.1" in out
    error = (
        rf"!!! writer: cannot write {base_path}/{SESSION}: "
        r"(Permission denied|Operation not permitted); "
        r"scan data kept in Redis until \d\d:\d\d (today|tomorrow)\n"
    )
    if not re.search(error, out):  # the writer may be quicker than the scan, or slower
        shell.expect(error.replace("\\n", "\\r?\\n"))
    read_only()  # the operator fixes the permission; the writer retries by itself
    shell.expect(rf"writer: scan 1 saved in {dataset}::/1\.1")
    out = shell.run("SCAN_SAVING")
    assert f"filename       {dataset}" in out
    assert "writer         hdf5 (running, pid " in out
    assert Path(dataset).is_file()
    shell.send("exit()")
    assert shell.wait() == 0
    # The writer outlives the shell that started it.
    assert session_daemon("writer", SESSION, config_dir).is_running()


def test_a_second_shell_finds_the_writer_running(shell, config_dir, redis_url, tmp_path):
    shell.expect_prompt()
    daemon = session_daemon("writer", SESSION, config_dir)
    pid = daemon.start()  # the first shell's writer, once ready
    env = shell_environment(tmp_path / "home2", redis_url)
    env.pop("BEAMSHELL_WRITER_AUTOSTART", None)
    second = Shell(
        ["-s", SESSION, "--config", str(config_dir), "-c", "print('ok')"], env, tmp_path / "2.log"
    )
    try:
        assert second.wait() == 0
        text = strip_escapes(second.child.read())
    finally:
        second.close()
    assert "ok" in text
    assert daemon.pid() == pid  # nothing else started
