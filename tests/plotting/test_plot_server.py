"""The plot server process: started detached, found, stopped; token and loopback rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from beamshell.plotting import control
from beamshell.plotting.settings import PlotSettingsError, check_listen_address, read_settings

FORBIDDEN_PACKAGES = (
    "beamshell.shell",
    "beamshell.sessions",
    "beamshell.scanning",
    "beamshell.hardware",
)


def beamshell_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beamshell.shell.cli", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def split(url: str) -> tuple[str, str]:
    """(base URL, token) of the URL the server prints."""
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    return f"{parts.scheme}://{parts.netloc}", token


def test_start_status_stop_from_the_command_line(config_dir, redis_url):
    config = str(config_dir)
    status = beamshell_cli("plot", "status", "-s", "demo", "--config", config)
    assert status.returncode == 3 and "is not running" in status.stdout
    started = beamshell_cli("plot", "-s", "demo", "--config", config, "--no-browser")
    assert started.returncode == 0, started.stderr
    assert "plot server of session 'demo' started: http://127.0.0.1:" in started.stdout
    url = started.stdout.split(": ", 1)[1].strip()
    again = beamshell_cli("plot", "-s", "demo", "--config", config)
    assert again.stdout.strip() == f"plot server of session 'demo' running: {url}"
    status = beamshell_cli("plot", "status", "-s", "demo", "--config", config)
    assert status.returncode == 0 and url in status.stdout
    assert get(url)[0] == 200
    stopped = beamshell_cli("plot", "stop", "-s", "demo", "--config", config)
    assert stopped.stdout.strip() == "plot server of session 'demo' stopped"
    assert not control.plot_daemon("demo", config_dir).is_running()
    status = beamshell_cli("plot", "status", "-s", "demo", "--config", config)
    assert status.returncode == 3


def test_restarted_server_keeps_its_url(config_dir, redis_url):
    """A page left open reconnects to a restarted server: same port if free, same token."""
    first = control.start_plot_server("demo", config_dir)["url"]
    control.stop_plot_server("demo", config_dir)
    try:
        second = control.start_plot_server("demo", config_dir)["url"]
        assert second == first
    finally:
        control.stop_plot_server("demo", config_dir)


def test_every_request_needs_the_token(plot_server):
    base, token = split(plot_server["url"])
    for path in (
        "/",
        "/events",
        "/static/plot.js",
        "/static/plotly-cartesian.min.js",
        "/static/uPlot.iife.min.js",
        "/static/curves.js",
        "/api/health",
    ):
        status, body = get(base + path)
        assert status == 403, path
        assert b"needs its token" in body
        assert get(f"{base}{path}?token=not-{token}")[0] == 403, path
    status, body = get(f"{base}/?token={token}")
    assert status == 200 and b"beamshell" in body and token.encode() in body
    assert get(f"{base}/static/plot.js?token={token}")[0] == 200
    assert get(f"{base}/nowhere?token={token}")[0] == 404


def test_a_page_names_its_channels_with_a_post(plot_server):
    """POST /api/view: for a connected page only, with a list of names, never by GET."""
    base, token = split(plot_server["url"])
    view = f"{base}/api/view?token={token}&client="

    def post(client: str, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(view + client, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    assert get(view + "nobody")[0] == 405
    assert post("nobody", b'{"channels": ["diode"]}')[0] == 404
    with urllib.request.urlopen(f"{base}/events?token={token}&select=1", timeout=30) as stream:
        assert stream.readline() == b"retry: 2000\n"
        stream.readline()
        assert stream.readline() == b"event: hello\n"
        client = json.loads(stream.readline().removeprefix(b"data: "))["client"]
        for bad in (b"", b"not json", b'{"channels": "diode"}', b'{"channels": [1]}', b"[]"):
            status, body = post(client, bad)
            assert status == 400 and b"expected" in body, bad
        assert post(client, b'{"channels": ["diode", "m1", "diode"]}') == (
            200,
            b'{"channels":["diode","m1"]}',
        )


def test_the_server_imports_no_shell_hardware_or_scanning(plot_server):
    base, token = split(plot_server["url"])
    status, body = get(f"{base}/api/health?token={token}")
    health = json.loads(body)
    assert status == 200 and health["session"] == "demo"
    modules = health["beamshell_modules"]
    assert "beamshell.plotting.server" in modules and "beamshell.data.walk" in modules
    assert [m for m in modules if m.startswith(FORBIDDEN_PACKAGES)] == []


def test_the_server_runs_below_the_scans_priority(plot_server):
    """Pages drawing on the scan's own machine must not take its CPU: the server is niced."""
    pid = plot_server["pid"]
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) >= min(ours + 10, 19)


def test_a_non_loopback_address_is_refused_unless_configured(config_dir, redis_url):
    refused = beamshell_cli("plot", "-s", "demo", "--config", str(config_dir), "--host", "0.0.0.0")
    assert refused.returncode == 2
    assert "listens on loopback addresses only, not '0.0.0.0'" in refused.stderr
    assert "allow_remote: true" in refused.stderr
    assert not control.plot_daemon("demo", config_dir).is_running()
    # The process itself refuses too, whoever starts it.
    direct = subprocess.run(
        [sys.executable, "-m", "beamshell.plotting", "run", "-s", "demo", "--config",
         str(config_dir), "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert direct.returncode == 2 and "loopback addresses only" in direct.stderr
    # Configured: the address is accepted (not bound here: tests listen on loopback only).
    (config_dir / "__init__.yml").write_text("plot: {host: 0.0.0.0, allow_remote: true}\n")
    settings = read_settings(config_dir)
    assert settings.host == "0.0.0.0" and settings.allow_remote
    check_listen_address(settings.host, settings.allow_remote, config_dir)
    check_listen_address("localhost", False)
    check_listen_address("::1", False)


def test_bad_plot_settings_name_the_file_and_key(config_dir):
    init = config_dir / "__init__.yml"
    init.write_text("plot: {hots: 127.0.0.1}\n")
    with pytest.raises(PlotSettingsError, match=r"__init__.yml: plot: unknown key 'hots'"):
        read_settings(config_dir)
    init.write_text("plot: {port: 99999}\n")
    with pytest.raises(PlotSettingsError, match=r"plot.port: expected a port number"):
        read_settings(config_dir)
    init.write_text("plot: {allow_remote: yes please}\n")
    with pytest.raises(PlotSettingsError, match=r"plot.allow_remote: expected true or false"):
        read_settings(config_dir)


def test_plot_page_at_the_prompt_starts_the_server_once(config_dir, redis_url):
    config = str(config_dir)
    try:
        first = beamshell_cli("-s", "demo", "--config", config, "-c", "url = plot_page()")
        assert first.returncode == 0, first.stdout + first.stderr
        line = [ln for ln in first.stdout.splitlines() if ln.startswith("Live plot")]
        assert line and "(started): http://127.0.0.1:" in line[0]
        url = line[0].split(": ", 1)[1]
        assert get(url)[0] == 200
        again = beamshell_cli(
            "-s", "demo", "--config", config, "-c", "print(plot_page() == " + repr(url) + ")"
        )
        assert f"Live plot of session 'demo' (running): {url}" in again.stdout
        assert "True" in again.stdout.splitlines()
    finally:
        control.stop_plot_server("demo", config_dir)


@pytest.mark.parametrize("kept", ["[1, 2]", '{"token": 7}', '{"token": "short"}', "not json"])
def test_a_kept_token_that_is_not_one_is_replaced(config_dir, kept):
    """The token file holds what a restart keeps; anything else there gives a new token."""
    from beamshell.plotting.process import _secret_file, load_secret

    daemon = control.plot_daemon("demo", config_dir)
    _secret_file(daemon).write_text(kept)
    record = load_secret(daemon)
    assert isinstance(record["token"], str) and len(record["token"]) >= 32
