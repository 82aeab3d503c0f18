"""Fixtures for the plot server tests: a demo configuration, the server, scans, a real Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import beamshell
from beamshell.plotting import control

HERE = Path(__file__).resolve().parent
DEMO_CONFIG = Path(beamshell.__file__).resolve().parent / "demo_config"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
]
NO_BROWSER = "browser tests SKIPPED: no Chromium found (apt-get install chromium chromium-driver)"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def config_dir(tmp_path, monkeypatch) -> Path:
    """A copy of the demo configuration, with the detached processes' logs in tmp_path."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, root, ignore=shutil.ignore_patterns(".beamshell"))
    return root


@pytest.fixture
def plot_server(config_dir, redis_url):
    """The demo session's plot server, started as the shell starts it; stopped afterwards."""
    status = control.start_plot_server("demo", config_dir)
    yield status
    control.stop_plot_server("demo", config_dir)


class ScanRun:
    """A scan in a real session process (`beamshell -s demo --script scan_driver.py`)."""

    def __init__(self, config_dir: Path, tmp_path: Path, command: str, pause_at=-1, fail_at=-1):
        self.gate = f"plot-test-gate:{uuid.uuid4().hex}"
        self.out = tmp_path / f"scan-{uuid.uuid4().hex[:8]}.json"
        env = dict(
            os.environ,
            PLOT_TEST_SCAN=command,
            PLOT_TEST_PAUSE_AT=str(pause_at),
            PLOT_TEST_FAIL_AT=str(fail_at),
            PLOT_TEST_GATE=self.gate,
            PLOT_TEST_OUT=str(self.out),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "beamshell.shell.cli", "-s", "demo", "--config", str(config_dir),
             "--script", str(HERE / "scan_driver.py")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []

    def wait_for(self, prefix: str) -> str:
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(
            f"the session ended before printing {prefix!r}:\n{''.join(self.lines)}"
        )

    def release(self, redis_client) -> None:
        redis_client.rpush(self.gate, b"go")

    def result(self) -> dict:
        rest, _ = self.process.communicate(timeout=120)
        self.lines.append(rest)
        assert self.process.returncode == 0, "".join(self.lines)
        return json.loads(self.out.read_text())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_scan(config_dir, tmp_path):
    runs: list[ScanRun] = []

    def start(command: str, **kwargs) -> ScanRun:
        run = ScanRun(config_dir, tmp_path, command, **kwargs)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session's browser tests (a new page per test)."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(NO_BROWSER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="beamshell-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(float(os.environ.get("PLOT_TEST_WAIT_S", "90")))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The plot page in Chromium; `wait(js)` waits for a predicate on the page's own state."""

    def __init__(self, driver, url: str):
        self.driver = driver
        driver.get(url)

    def state(self) -> dict:
        return self.driver.execute_script("return window.beamshellPlot.state()")

    def wait(self, predicate: str) -> dict:
        """The page state once `predicate` (JS, of `s`) holds; checked at each drawing."""
        script = (
            "const done = arguments[arguments.length - 1];"
            f"window.beamshellPlot.waitFor((s) => ({predicate})).then(done);"
        )
        from selenium.common.exceptions import TimeoutException

        try:
            return self.driver.execute_async_script(script)
        except TimeoutException:
            raise AssertionError(
                f"the page never reached: {predicate}\npage state: {self.summary()}"
            ) from None

    def summary(self) -> dict:
        """The page state without its arrays (for failure messages)."""
        state = self.state()
        state["traces"] = [
            {"name": t["name"], "type": t["type"], "points": len(t["x"]), "meta": t["meta"]}
            for t in state["traces"]
        ]
        return state

    def call(self, script: str, *args):
        return self.driver.execute_script(script, *args)


@pytest.fixture
def open_page(chromium, request, tmp_path):
    """Open a URL in the shared Chromium; on failure, keep a screenshot and the console."""

    def opener(url: str) -> Page:
        return Page(chromium, url)

    yield opener
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "page-at-failure.png"
        chromium.save_screenshot(str(shot))
        console = "\n".join(str(entry) for entry in chromium.get_log("browser"))
        print(f"\nscreenshot of the page: {shot}\nbrowser console:\n{console}")
    chromium.get("about:blank")
