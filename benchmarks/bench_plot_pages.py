"""What the live plot page costs a scan, and how the page keeps up.

1. The scan engine's µs per point (loopscan(N, 0, 5 simulated counters), publishing to
   Redis) with no plot server, and with the session's plot server and three pages open in
   headless Chromium, each in a window of its own (target: within 5 %): in a browser at
   normal priority, and in one started as the plot window `plot_page()` opens
   (plotting/window.py: Linux's idle class). Both run as an operator's browser does,
   unable to raise their priority (as root, Chromium would put its display processes at
   nice -8, ahead of the scan; this benchmark drops that right). Also: three remote
   viewers' event streams, and for reference no plot server beside a CPU-bound process
   at nice 19 (what any work on the machine's other core costs the scan: see busy_core).
   Side by side: in blocks of one scan of each configuration, in a random order; the
   verdict is the median over the blocks of each scan's ratio to its block's scan with
   no plot server (see engine_cost).
2. A page's drawings per second (target: at least 5), its last drawing's time and the
   points drawn per curve (decimated) for the N points held: during that scan, of the
   slowest of the three pages, and as the only page during loopscan(N, 0) and
   loopscan(N/20, 0.001).
   A scan with count time 0 never yields to its publisher, so its points reach Redis (and
   any reader) in a few large batches: the page can only be as live as Redis.
3. A page left open while many scans run: its JavaScript heap after a garbage collection,
   after the first scans and after all of them (it should not grow).
Needs Debian's chromium and chromium-driver; says so and stops without them.
Run: .venv/bin/python benchmarks/bench_plot_pages.py [--quick] [--blocks N]
(--blocks 150, about 17 minutes: the medians good to about 2.5 %, against 4 % with 60.)
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all(thread=False)

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench_scan_engine import NCOUNTERS, run_once  # noqa: E402
from scanbench import environment, private_redis, scan_environment  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
PAGES = 3
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--disable-dev-shm-usage --window-size=1400,900 --enable-precise-memory-info "
    "--js-flags=--expose-gc"
).split()


# The plot window's own start (plotting/window.py), then Chromium in its place.
PLOT_WINDOW_START = (
    "import os, sys; from beamshell.plotting.window import lower_priority; "
    "lower_priority(); os.execv(sys.argv[1], sys.argv[1:])"
)


def open_browser(plot_window: bool = False):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As an operator's browser, which runs as the operator: without the right to raise its
    # priority. Chromium run by root (CI, this benchmark) would put its browser and GPU
    # processes, which composite every frame, at nice -8, ahead of the scan.
    drop = "setpriv --bounding-set -sys_nice " if os.geteuid() == 0 else ""
    if drop and not shutil.which("setpriv"):
        sys.exit("running as root: setpriv (util-linux) is needed to run Chromium as a user's")
    if drop or plot_window:  # every process and thread of the browser inherits its priority
        start = f"\"{sys.executable}\" -c '{PLOT_WINDOW_START}' " if plot_window else ""
        wrapper = Path(tempfile.mkdtemp(prefix="beamshell-bench-browser-")) / "chromium"
        wrapper.write_text(f'#!/bin/sh\nexec {drop}{start}"{CHROMIUM}" "$@"\n')
        wrapper.chmod(0o755)
        options.binary_location = str(wrapper)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='beamshell-bench-chromium-')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(300)
    return driver


def wait_page(driver, predicate: str) -> dict:
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"window.beamshellPlot.waitFor((s) => ({predicate})).then((s) => done({{"
        "renders: s.draws, updates: s.updates, drawMs: s.drawMs, shown: s.shown, held: s.held,"
        "drawn: s.traces.map((t) => t.x.length)}));"
    )


def open_pages(driver, url: str, count: int) -> list[str]:
    """`count` pages, each in a window of its own, as an operator puts them on screens.

    Not tabs of one window: a browser draws only the tab in front, and throttles the
    others' timers to about once a second, so three tabs cost what one page costs."""
    handles = []
    for index in range(count):
        if index:
            driver.switch_to.new_window("window")
        driver.get(url)
        wait_page(driver, "s.connected")
        handles.append(driver.current_window_handle)
    return handles


def close_pages(driver, handles: list[str]) -> None:
    """The windows `open_pages` opened closed, the first one left blank (the session's)."""
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")


# A page's event stream, as a browser elsewhere opens it: it names the channels it draws
# (POST /api/view, once the stream said hello), then reads every update and drops it.
# Told "sync N" on its input, it answers once every stream has been sent scan number N.
READER = """
import json, sys, threading, urllib.request
events, view, count, channels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
ready = threading.Barrier(count + 1)
seen = threading.Condition()
last = [None] * count
def read(index):
    with urllib.request.urlopen(events + "&select=1") as stream:
        while not stream.readline().startswith(b"event: hello"):
            pass
        client = json.loads(stream.readline().removeprefix(b"data: "))["client"]
        body = json.dumps({"channels": channels}).encode()
        urllib.request.urlopen(urllib.request.Request(view + client, data=body, method="POST"))
        ready.wait()
        scan_follows = False
        for line in stream:
            if scan_follows:
                with seen:
                    last[index] = json.loads(line.removeprefix(b"data: "))["info"]["scan_nb"]
                    seen.notify_all()
            scan_follows = line == b"event: scan\\n"
for index in range(count):
    threading.Thread(target=read, args=(index,), daemon=True).start()
ready.wait()
print("reading", flush=True)
for command in sys.stdin:
    wanted = int(command.split()[1])
    with seen:
        seen.wait_for(lambda: all(nb == wanted for nb in last))
    print("synced", flush=True)
"""


def remote_viewers(page_url: str, count: int, channels: list[str]) -> subprocess.Popen:
    """`count` pages' event streams read (and dropped) by another process, each showing
    `channels`: viewers on other machines."""
    events = page_url.replace("/?token=", "/events?token=")
    view = page_url.replace("/?token=", "/api/view?token=") + "&client="
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, events, view, str(count), *channels],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout.readline().strip() == "reading"
    return reader


def sync_reader(reader: subprocess.Popen, scan_number: int) -> None:
    """Returns once every stream of `reader` has been sent scan `scan_number`."""
    reader.stdin.write(f"sync {scan_number}\n")
    reader.stdin.flush()
    assert reader.stdout.readline().strip() == "synced"


def shown_renders(driver, handles: list[str], scan_number: int, npoints: int) -> list[int]:
    """Each page's drawings so far, once it shows all of scan `scan_number`."""
    renders = []
    for handle in handles:
        driver.switch_to.window(handle)
        renders.append(wait_page(
            driver, f"s.shown && s.shown.nb === {scan_number} && s.shown.ended"
            f" && s.shown.done === {npoints} && Object.values(s.shown.held).length > 0"
            f" && Object.values(s.shown.held).every((n) => n === {npoints})"
        )["renders"])  # fmt: skip
    return renders


# As a window minimised or put back: the page follows the browser's visibilityState.
HIDE = """Object.defineProperty(
  document, 'visibilityState', {configurable: true, get: () => 'hidden'});
document.dispatchEvent(new Event('visibilitychange'));"""
SHOW = """delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange'));"""


def set_visible(driver, handles: list[str], visible: bool) -> None:
    """Pages shown, or hidden as in a minimised window: then sent no points, drawing none."""
    for handle in handles:
        driver.switch_to.window(handle)
        driver.execute_script(SHOW if visible else HIDE)


def slowest_page(driver, handles, scan, npoints: int, seconds: float, before: list[int]) -> dict:
    """Drawings per second during `scan` of the page that drew least: every page must draw
    at least 5 times a second. Counted until it showed the scan's last point: a floor."""
    started = time.perf_counter()
    after = shown_renders(driver, handles, scan.scan_number, npoints)
    catch_up = time.perf_counter() - started
    rate = min(done - was for done, was in zip(after, before, strict=True)) / (seconds + catch_up)
    state = wait_page(driver, "true")
    return {
        "updates_per_s": rate,
        "draw_ms": state["drawMs"],
        "drawn": max(state["drawn"] or [0]),
        "catch_up_s": catch_up,
    }


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from Linux's /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in children.read_text().split()]
            except OSError:  # that thread or process has just ended
                pass
    return found


class Paused:
    """A process (with all it started) stopped by SIGSTOP while another configuration is
    measured: a stopped process takes no CPU, and keeps its state (pages open, streams
    connected) for its next turn."""

    def __init__(self, pid: int):
        self.pid = pid

    def _signal(self, number: int) -> None:
        for pid in process_tree(self.pid):
            try:
                os.kill(pid, number)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)


CONFIGURATIONS = ("none", "busy core", "remote", "here", "windows")


def engine_cost(env, counters, config_dir, url, drivers, npoints: int, blocks: int) -> dict:
    """µs per point of loopscans in `blocks` blocks of one scan in each configuration, in a
    random order: none (no plot server), busy core (none, and a CPU-bound process at
    nice 19), remote (the plot server and 3 remote viewers), here (it and 3 pages in a
    browser at normal priority), windows (3 pages in a browser started as a plot window).

    A block's scans are seconds apart, so each configuration's ratio to the block's "none"
    cancels the machine's drift (other virtual machines on its host, its clock), which is
    larger than the pages' cost. What a configuration does not run is stopped (SIGSTOP)
    for its scan: the plot server, the busy process, a browser, whose pages are hidden
    first (as in a minimised window: sent no points) and shown again, and drawn the last
    scan, before their own turn. Remote viewers connect for their turn, and have been sent
    the last scan before it. The first block is a warm-up, not counted."""
    from beamshell.plotting import control

    here, windows = drivers
    status = control.start_plot_server("bench", config_dir, redis_url=url)
    # What a page shows of a loopscan: its first counter against elapsed time.
    channels = ["elapsed_time", counters[0].name]
    loop = busy_core()
    processes = {
        "plot server": Paused(status["pid"]),
        "busy core": Paused(loop.pid),
        "here": Paused(here.service.process.pid),
        "windows": Paused(windows.service.process.pid),
    }
    browsers = {}
    costs: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    drawing: dict[str, list[dict]] = {"here": [], "windows": []}
    try:
        browsers["here"] = (here, open_pages(here, status["url"], PAGES))
        browsers["windows"] = (windows, open_pages(windows, status["url"], PAGES))
        _, _, scan = run_once(env, counters, npoints)
        for driver, handles in browsers.values():
            shown_renders(driver, handles, scan.scan_number, npoints)
            set_visible(driver, handles, False)
        for block in range(blocks + 1):
            for name in random.sample(CONFIGURATIONS, len(CONFIGURATIONS)):
                running = {"none": (), "busy core": ("busy core",)}.get(name, ("plot server", name))
                for process, paused in processes.items():
                    if process not in running:
                        paused.stop()
                for process in running:
                    if process in processes:
                        processes[process].resume()
                if name == "remote":
                    reader = remote_viewers(status["url"], PAGES, channels)
                    sync_reader(reader, scan.scan_number)
                if name in browsers:
                    driver, handles = browsers[name]
                    set_visible(driver, handles, True)
                    before = shown_renders(driver, handles, scan.scan_number, npoints)
                seconds, _, scan = run_once(env, counters, npoints)
                if name == "remote":
                    reader.stdin.close()
                    reader.wait()
                if name in browsers:
                    stats = slowest_page(driver, handles, scan, npoints, seconds, before)
                    set_visible(driver, handles, False)
                if block:  # the first: warm-up
                    costs[name].append(seconds / npoints * 1e6)
                    if name in browsers:
                        drawing[name].append(stats)
    finally:  # nothing left stopped nor spinning, whatever happened
        for paused in processes.values():
            paused.resume()
        loop.kill()
        loop.wait()
        for driver, handles in browsers.values():
            close_pages(driver, handles)
        control.stop_plot_server("bench", config_dir)
    return {"costs": costs, "drawing": drawing}


BUSY = "print('busy', flush=True)\nwhile True: pass"


def busy_core() -> subprocess.Popen:
    """A CPU-bound process at nice 19, running when this returns.

    The scan takes one core; with the other one busy, the scheduler wakes redis-server (which
    the scan's publishing keeps busy) on the scan's core, whatever the other work's niceness
    (a core running only idle-class work, as a plot window's browser, counts as free).
    """
    busy = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True
    )
    assert busy.stdout.readline().strip() == "busy"
    return busy


def page_alone(env, counters, config_dir, url, driver, npoints: int, count_time: float) -> dict:
    """One page (the browser's only work) during loopscan(npoints, count_time): the page's
    drawings per second. A scan with count time 0 never yields to its publisher, so its
    points reach Redis in a few large batches: the page can only be as live as Redis."""
    from beamshell.plotting import control
    from beamshell.scanning.scans import loopscan

    status = control.start_plot_server("bench", config_dir, redis_url=url)
    try:
        (handle,) = open_pages(driver, status["url"], 1)
        first = wait_page(driver, "s.connected")
        scan = loopscan(npoints, count_time, *counters, env=env, run=False, save=False)
        started = time.perf_counter()
        scan.run()
        seconds = time.perf_counter() - started
        after = wait_page(
            driver, f"s.shown && s.shown.nb === {scan.scan_number} && s.shown.ended"
            f" && s.shown.done === {npoints}"
        )  # fmt: skip
        catch_up = time.perf_counter() - started - seconds
        close_pages(driver, [handle])
        return {
            "updates_per_s": (after["renders"] - first["renders"]) / (seconds + catch_up),
            "draw_ms": after["drawMs"],
            "drawn": max(after["drawn"] or [0]),
            "catch_up_s": catch_up,
            "scan": f"loopscan({npoints}, {count_time:g})",
        }
    finally:
        control.stop_plot_server("bench", config_dir)


def page_memory(env, counters, config_dir, url, driver, scans: int) -> tuple[float, float, dict]:
    """JS heap (MiB, after GC) once 10 scans were shown, and after `scans` scans."""
    from beamshell.plotting import control

    status = control.start_plot_server("bench", config_dir, redis_url=url)
    try:
        (handle,) = open_pages(driver, status["url"], 1)
        heaps = []
        for index in range(scans):
            _, _, scan = run_once(env, counters, 1000)
            if index + 1 in (10, scans):
                state = wait_page(
                    driver, f"s.shown && s.shown.nb === {scan.scan_number} && s.shown.ended"
                )
                driver.execute_script("window.gc()")
                heaps.append(
                    driver.execute_script("return performance.memory.usedJSHeapSize") / 2**20
                )
        close_pages(driver, [handle])
        return heaps[0], heaps[-1], state["held"]
    finally:
        control.stop_plot_server("bench", config_dir)


def main(quick: bool = False, blocks: int | None = None) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        print("skipped: no chromium / chromedriver (apt-get install chromium chromium-driver)")
        return
    npoints = 20_000 if quick else 100_000
    if blocks is None:
        blocks = 3 if quick else 60
    state = tempfile.mkdtemp(prefix="beamshell-bench-state-")
    driver = open_browser()
    window_driver = open_browser(plot_window=True)
    try:
        with (
            environment(XDG_STATE_HOME=state),
            private_redis() as url,
            environment(BEAMSHELL_REDIS_URL=url),  # the plot server's
        ):
            config_dir = Path(tempfile.mkdtemp(prefix="beamshell-bench-config-"))
            try:
                with scan_environment(url, NCOUNTERS, config_dir=config_dir) as (env, counters):
                    run_once(env, counters, 500)  # warm-up
                    cost = engine_cost(
                        env, counters, config_dir, url, (driver, window_driver), npoints, blocks
                    )
                    alone = [
                        page_alone(env, counters, config_dir, url, driver, npoints, 0),
                        page_alone(env, counters, config_dir, url, driver, npoints // 20, 0.001),
                    ]
                    first, last, held = page_memory(
                        env, counters, config_dir, url, driver, 40 if quick else 200
                    )
            finally:
                shutil.rmtree(config_dir, ignore_errors=True)
    finally:
        driver.quit()
        window_driver.quit()
        shutil.rmtree(state, ignore_errors=True)
    report(cost, alone, npoints, first, last, held, 40 if quick else 200)


def report(
    cost: dict, alone: list, npoints: int, first: float, last: float, held: dict, scans: int
) -> None:
    costs = cost["costs"]
    none = costs["none"]
    print(
        f"loopscan({npoints}, 0, {NCOUNTERS} simulated counters), publishing, table off: "
        f"{len(none)} blocks of one scan of each configuration, in a random order"
    )
    header = (
        f"{'plot pages':>12} {'µs/point: best':>15} {'median':>7} {'worst':>6} "
        f"{'ratio: median':>14} {'quartiles':>11} {'target':>11}"
    )
    print(header)
    print("-" * len(header))
    for name in CONFIGURATIONS:
        values = costs[name]
        ratios = [value / alone_ for value, alone_ in zip(values, none, strict=True)]
        ratio = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4)
        verdict = {"none": "", "busy core": "reference"}.get(
            name, "<=1.05 " + ("ok" if ratio <= 1.05 else "OVER")
        )
        label = name if name in ("none", "busy core") else f"{PAGES} {name}"
        print(
            f"{label:>12} {min(values):>15.2f} {statistics.median(values):>7.2f} "
            f"{max(values):>6.2f} {ratio:>14.3f} {f'{low:.2f}-{high:.2f}':>11} {verdict:>11}"
        )
    print(
        "ratio: the median over the blocks of a scan's µs per point against the same block's "
        "with no plot server (quartiles: of\nthose ratios). busy core: no plot server, a "
        "CPU-bound process at nice 19 (any work on the other core: redis-server,\nwhich the "
        f"scan keeps busy, then runs on the scan's core). remote: the plot server with {PAGES} "
        "pages' event streams (each\nshowing 2 channels) read by another process (viewers on "
        f"other machines); here: the plot server and {PAGES} Chromium pages (a\nwindow each) "
        "drawing on this machine's cores too, the browser at normal priority as a user runs "
        "it; windows: the\nsame in a browser started as plot_page() starts its plot window "
        "(Linux's idle class, nice 19)"
    )
    print()
    print(f"a page during a scan ({NCOUNTERS} counters; 'alone': the only page open):")
    for stats in alone:
        print(
            f"  {'alone, ' + stats['scan']:>41}: {stats['updates_per_s']:4.1f} drawings/s "
            f"(target >= 5), last drawing {stats['draw_ms']:.0f} ms, {stats['drawn']} points "
            f"drawn per curve, last point on the page {stats['catch_up_s']:.2f} s after the end"
        )
    for name, label in (("here", ""), ("windows", " windows")):
        pages = cost["drawing"][name]
        rates = [page["updates_per_s"] for page in pages]
        print(
            f"  {f'slowest of {PAGES}{label}, loopscan({npoints}, 0)':>41}: "
            f"{statistics.median(rates):4.1f} drawings/s (median; least {min(rates):.1f}, below 5 "
            f"in {sum(rate < 5 for rate in rates)} of {len(rates)} scans), last point on the page "
            f"{statistics.median(page['catch_up_s'] for page in pages):.2f} s after the end"
        )
    print()
    print(
        f"a page left open over {scans} scans of 1000 points: JS heap after GC "
        f"{first:.1f} MiB after 10 scans, {last:.1f} MiB after {scans}; "
        f"scans held: {held['scans']}, history rows: {held['historyRows']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--blocks", type=int, help="blocks of scans (default 60; 3 if --quick)")
    arguments = parser.parse_args()
    main(quick=arguments.quick, blocks=arguments.blocks)
