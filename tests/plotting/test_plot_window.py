"""Opening the page on a desktop: a browser of its own, at low priority, in a new session."""

import json
import os
import socket
import stat
import sys

import pytest

from beamshell.errors import BeamshellError
from beamshell.plotting import control
from beamshell.plotting.window import BROWSER_NICENESS

URL = "http://127.0.0.1:8123/?token=abc"

# Stands in for Chromium: reports how it was started to the test's socket, then exits.
FAKE_BROWSER = """#!{python}
import json, os, socket, sys
report = {{"nice": os.nice(0), "argv": sys.argv[1:], "own_session": os.getsid(0) == os.getpid()}}
if hasattr(os, "sched_getscheduler"):
    report["idle_class"] = os.sched_getscheduler(0) == os.SCHED_IDLE
with socket.socket(socket.AF_UNIX) as connection:
    connection.connect({path!r})
    connection.sendall(json.dumps(report).encode())
"""


@pytest.fixture
def fake_browser(tmp_path, monkeypatch):
    """(listening socket): the browser the page opens in reports to it."""
    path = str(tmp_path / "b.sock")  # short: a socket path has at most 107 bytes
    script = tmp_path / "fake-chromium"
    script.write_text(FAKE_BROWSER.format(python=sys.executable, path=path))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BEAMSHELL_PLOT_BROWSER", str(script))
    monkeypatch.setenv("DISPLAY", ":0")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(60)  # a guard: the browser reports as soon as it starts
        yield listener


def test_the_page_opens_in_a_low_priority_window_of_its_own(fake_browser, tmp_path):
    expected_nice = min(os.nice(0) + BROWSER_NICENESS, 19)
    message = control.open_page("demo", tmp_path, URL)
    assert message.startswith("opened in a plot window")
    connection, _ = fake_browser.accept()
    with connection:
        report = json.loads(connection.makefile().read())
    assert report["nice"] == expected_nice
    if sys.platform == "linux":  # the scan's machine: the browser runs on idle cores only
        assert report["idle_class"]
    assert report["own_session"]  # not killed by the shell's Ctrl-C or exit
    profile = control.plot_daemon("demo", tmp_path).run_dir / "plot-browser"
    assert f"--app={URL}" in report["argv"]
    assert f"--user-data-dir={profile}" in report["argv"]  # not the user's own browser
    assert profile.is_dir()


def test_nothing_opens_without_a_desktop(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert control.open_page("demo", tmp_path, URL) == ""


def test_a_browser_variable_naming_no_browser_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BEAMSHELL_PLOT_BROWSER", "no-such-chromium")
    monkeypatch.setenv("DISPLAY", ":0")
    with pytest.raises(BeamshellError) as info:
        control.open_page("demo", tmp_path, URL)
    assert str(info.value) == "BEAMSHELL_PLOT_BROWSER=no-such-chromium: no such browser (on PATH)"


def test_a_browser_that_cannot_start_is_a_one_line_error(tmp_path, monkeypatch):
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/nonexistent/interpreter\n")  # found on PATH, but exec fails
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BEAMSHELL_PLOT_BROWSER", str(broken))
    monkeypatch.setenv("DISPLAY", ":0")
    with pytest.raises(BeamshellError) as info:
        control.open_page("demo", tmp_path, URL)
    assert str(info.value) == (
        f"cannot start {broken} for the plot window: No such file or directory"
    )


def test_plot_page_at_the_prompt_opens_the_window(fake_browser, config_dir, redis_url):
    """Through the shell, as an operator on a desktop: URL printed, then the window."""
    import subprocess

    try:
        shell = subprocess.run(
            [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config",
             str(config_dir), "-c", "plot_page()"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert shell.returncode == 0, shell.stdout + shell.stderr
        url = shell.stdout.split("(started): ", 1)[1].split()[0]
        assert "Opened in a plot window (its browser runs at low priority" in shell.stdout
        connection, _ = fake_browser.accept()
        with connection:
            report = json.loads(connection.makefile().read())
        assert f"--app={url}" in report["argv"] and report["own_session"]
    finally:
        control.stop_plot_server("demo", config_dir)
