"""Opening the plot page on a desktop: a window of its own, drawn on idle cores only.

A page drawing a fast scan keeps a browser busy (without a GPU, every drawing is
rasterised and composited on the CPU). On the scan's own computer, a browser at normal
priority takes a core from the scan whenever the scan's process is ready to run. So the
page opens in a Chromium-family browser started for it, in Linux's idle scheduling class
(it runs only on a core no other process wants; elsewhere at `nice` 19), with a profile
of its own (a browser already running would otherwise take the URL into its own,
normal-priority processes), as an app window (no tabs, no address bar). The scan comes
first: the page draws with what the scan leaves (docs/plotting.md gives what three such
windows cost a scan, bench_plot_pages measures it). Without such a browser, the
desktop's default one opens the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from beamshell.errors import BeamshellError

BROWSER_NICENESS = 19
# Chromium-family browsers (they all take --app and --user-data-dir), most likely first.
CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "brave-browser",
)
BROWSER_VARIABLE = "BEAMSHELL_PLOT_BROWSER"  # a browser to use instead (path or name)


def has_display() -> bool:
    """Whether a browser window could open here (a desktop, not an SSH login or a test)."""
    if sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def find_chromium() -> str | None:
    """The browser for plot windows: $BEAMSHELL_PLOT_BROWSER, else a Chromium on PATH."""
    chosen = os.environ.get(BROWSER_VARIABLE)
    if chosen:
        found = shutil.which(chosen)
        if found is None:  # said, not silently replaced by another browser
            raise BeamshellError(f"{BROWSER_VARIABLE}={chosen}: no such browser (on PATH)")
        return found
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def lower_priority() -> None:
    """The calling process, and all it starts, at the lowest priority: Linux's idle class.

    A process of the idle class (SCHED_IDLE) runs only on a core no other process wants;
    at `nice` 19 it would still get a slice of a busy core, and the scheduler would not
    count its core as free when it places redis-server, woken by the scan's publishing.
    Where the idle class is missing or refused, `nice` 19 stays.
    """
    os.nice(BROWSER_NICENESS)
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass


def open_plot_window(url: str, profile_dir: Path) -> str:
    """Open the page where the operator sits; how it was opened, for the message:
    "window" (a low-priority browser of its own), "browser" (the desktop's), or ""."""
    if not has_display():
        return ""
    browser = find_chromium()
    if browser is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        try:
            _start_browser(browser, url, profile_dir)
        except OSError as exc:  # found, but it cannot run (broken install, bad interpreter)
            reason = exc.strerror or str(exc)
            raise BeamshellError(f"cannot start {browser} for the plot window: {reason}") from None
        return "window"
    import webbrowser

    try:
        return "browser" if webbrowser.open(url, new=2) else ""
    except webbrowser.Error:
        return ""


def _start_browser(browser: str, url: str, profile_dir: Path) -> None:
    subprocess.Popen(
        [
            browser,
            f"--user-data-dir={profile_dir}",
            f"--app={url}",
            "--no-first-run",
            "--no-default-browser-check",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not killed by the shell's Ctrl-C, nor its exit
        preexec_fn=lower_priority,  # in the browser's process, before it runs
    )
