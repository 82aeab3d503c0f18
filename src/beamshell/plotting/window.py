"""Opening the plot page on a desktop: a window of its own, drawn at low priority.

A page drawing a fast scan keeps a browser busy (without a GPU, every drawing is
rasterised and composited on the CPU). On the scan's own computer, a browser at normal
priority takes a core from the scan whenever the scan's process is ready to run: three
pages, each in a window, made a full-speed scan 19 to 43 % slower on 2 cores without a
GPU. So the page opens in a Chromium-family browser started for it, at the lowest
priority (`nice` 19) with a profile of its own (a browser already running would
otherwise take the URL into its own, normal-priority processes), as an app window (no
tabs, no address bar). The scan comes first: three such windows cost it 8 to 30 %
(bench_plot_pages; docs/plotting.md says where that CPU goes), and the page draws with
what the scan leaves. Without such a browser, the desktop's default one opens
the page.
"""

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


def _lower_priority() -> None:  # in the browser's process, before it starts
    os.nice(BROWSER_NICENESS)


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
        preexec_fn=_lower_priority,
    )
