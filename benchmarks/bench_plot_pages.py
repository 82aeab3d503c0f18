"""What the live plot page costs a scan, and how the page keeps up.

1. The scan engine's µs per point (loopscan(N, 0, 5 simulated counters), publishing to
   Redis) with no plot server, and with the session's plot server and three pages open in
   headless Chromium, each in a window of its own, measured alternately, side by side
   (target: within 5 %: the median of the rounds' ratios, median against median within a
   round): a browser at normal priority, and one at the priority of the plot window
   `plot_page()` opens (plotting/window.py: nice 19). Both run as an operator's browser
   does, unable to raise their priority (as root, Chromium would put its display
   processes at nice -8, ahead of the scan; this benchmark drops that right). For
   reference, the same scans beside a CPU-bound process at nice 19 and no plot server:
   what any work on the machine's other core costs the scan (see busy_core).
2. A page's drawings per second (target: at least 5), its last drawing's time and the
   points drawn per curve (decimated) for the N points held: during that scan, of the
   slowest of the three pages, and as the only page during loopscan(N, 0) and
   loopscan(N/20, 0.001).
   A scan with count time 0 never yields to its publisher, so its points reach Redis (and
   any reader) in a few large batches: the page can only be as live as Redis.
3. A page left open while many scans run: its JavaScript heap after a garbage collection,
   after the first scans and after all of them (it should not grow).
Needs Debian's chromium and chromium-driver; says so and stops without them.
Run: .venv/bin/python benchmarks/bench_plot_pages.py [--quick]
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all(thread=False)

import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from beamshell.plotting.window import BROWSER_NICENESS  # noqa: E402
from bench_scan_engine import NCOUNTERS, run_once  # noqa: E402
from scanbench import environment, private_redis, scan_environment  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
PAGES = 3
SCANS_PER_ROUND = 3  # of each configuration, in every round
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--disable-dev-shm-usage --window-size=1400,900 --enable-precise-memory-info "
    "--js-flags=--expose-gc"
).split()


def open_browser(niceness: int = 0):
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
    if drop or niceness:  # every process and thread of the browser inherits the niceness
        wrapper = Path(tempfile.mkdtemp(prefix="beamshell-bench-browser-")) / "chromium"
        wrapper.write_text(f'#!/bin/sh\nexec {drop}nice -n {niceness} "{CHROMIUM}" "$@"\n')
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
READER = """
import json, sys, threading, urllib.request
events, view, count, channels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
ready = threading.Barrier(count + 1)
def read():
    with urllib.request.urlopen(events + "&select=1") as stream:
        while not stream.readline().startswith(b"event: hello"):
            pass
        client = json.loads(stream.readline().removeprefix(b"data: "))["client"]
        body = json.dumps({"channels": channels}).encode()
        urllib.request.urlopen(urllib.request.Request(view + client, data=body, method="POST"))
        ready.wait()
        while stream.read1(65536):
            pass
for _ in range(count):
    threading.Thread(target=read, daemon=True).start()
ready.wait()
print("reading", flush=True)
sys.stdin.read()
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


def pages_during_scans(
    env, counters, driver, page_url: str, npoints: int, scans: int
) -> tuple[list[float], list[dict]]:
    """(µs per point of each scan, drawing figures of each) of `scans` scans with 3 pages
    open; the figures are the slowest page's: every page must draw at least 5 times a
    second.

    A page opened shows the session's last scan: each scan is measured once every page has
    drawn all of the one before (pages open and idle, not loading nor catching up)."""
    handles = open_pages(driver, page_url, PAGES)
    costs, stats = [], []
    for _ in range(scans):
        before = {}
        for handle in handles:
            driver.switch_to.window(handle)
            before[handle] = wait_page(
                driver, "!s.shown || (s.shown.ended && s.shown.done === s.shown.npoints)"
            )["renders"]
        seconds, _, scan = run_once(env, counters, npoints)
        started = time.perf_counter()
        pages = []
        for handle in handles:
            driver.switch_to.window(handle)
            after = wait_page(
                driver, f"s.shown && s.shown.nb === {scan.scan_number} && s.shown.ended"
                f" && s.shown.done === {npoints}"
            )  # fmt: skip
            pages.append((after, time.perf_counter() - started))
        costs.append(seconds / npoints * 1e6)
        # The last page reached, in the time all of them took: its drawings/s are a floor.
        catch_up = max(waited for _, waited in pages)
        stats.append(min(
            ({
                "updates_per_s": (after["renders"] - before[handle]) / (seconds + catch_up),
                "draw_ms": after["drawMs"],
                "drawn": max(after["drawn"] or [0]),
                "catch_up_s": catch_up,
            } for handle, (after, _) in zip(handles, pages, strict=True)),
            key=lambda page: page["updates_per_s"],
        ))  # fmt: skip
    close_pages(driver, handles)
    return costs, stats


BUSY = "print('busy', flush=True)\nwhile True: pass"


def busy_core() -> subprocess.Popen:
    """A CPU-bound process at the lowest priority, running when this returns.

    The scan takes one core; with the other one busy, the scheduler wakes redis-server (which
    the scan's publishing keeps busy) on the scan's core, whatever the other work's priority.
    """
    busy = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True
    )
    assert busy.stdout.readline().strip() == "busy"
    return busy


def engine_cost(env, counters, config_dir, url, drivers, npoints: int, rounds: int) -> dict:
    """µs per point of SCANS_PER_ROUND scans of each configuration in turn, `rounds` times:
    no plot server, a busy process at nice 19, 3 remote viewers, 3 pages on this machine in
    a browser at normal priority, 3 in one at a plot window's."""
    from beamshell.plotting import control

    driver, low_driver = drivers
    without, busy, remote, with_pages, page_stats, low, low_stats = [], [], [], [], [], [], []
    for _ in range(rounds):
        for _ in range(SCANS_PER_ROUND):
            seconds, _, _ = run_once(env, counters, npoints)
            without.append(seconds / npoints * 1e6)
        loop = busy_core()
        try:
            for _ in range(SCANS_PER_ROUND):
                seconds, _, _ = run_once(env, counters, npoints)
                busy.append(seconds / npoints * 1e6)
        finally:  # never left spinning after the benchmark, whatever happened
            loop.kill()
            loop.wait()
        status = control.start_plot_server("bench", config_dir, redis_url=url)
        # What a page shows of a loopscan: its first counter against elapsed time.
        reader = remote_viewers(status["url"], PAGES, ["elapsed_time", counters[0].name])
        for _ in range(SCANS_PER_ROUND):
            seconds, _, _ = run_once(env, counters, npoints)
            remote.append(seconds / npoints * 1e6)
        reader.stdin.close()
        reader.wait()
        for browser, costs, stats in (
            (driver, with_pages, page_stats),
            (low_driver, low, low_stats),
        ):
            scan_costs, drawing = pages_during_scans(
                env, counters, browser, status["url"], npoints, SCANS_PER_ROUND
            )
            costs.extend(scan_costs)
            stats.append(drawing[-1])
        control.stop_plot_server("bench", config_dir)
    return {
        "without": without,
        "busy": busy,
        "remote": remote,
        "with": with_pages,
        "pages": page_stats,
        "low": low,
        "low_pages": low_stats,
    }


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


def main(quick: bool = False) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        print("skipped: no chromium / chromedriver (apt-get install chromium chromium-driver)")
        return
    npoints = 20_000 if quick else 100_000
    rounds = 2 if quick else 10
    state = tempfile.mkdtemp(prefix="beamshell-bench-state-")
    driver = open_browser()
    low_driver = open_browser(BROWSER_NICENESS)
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
                        env, counters, config_dir, url, (driver, low_driver), npoints, rounds
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
        low_driver.quit()
        shutil.rmtree(state, ignore_errors=True)
    report(cost, alone, npoints, first, last, held, 40 if quick else 200)


def round_ratios(values: list[float], without: list[float]) -> list[float]:
    """Each round's median µs per point against that round's with no plot server.

    The machine's own speed drifts by several per cent from minute to minute (other
    virtual machines on its host, its clock): a ratio within a round, whose scans are
    seconds apart, cancels that drift, which a median over the whole run would add to the
    pages' cost."""
    n = SCANS_PER_ROUND
    return [
        statistics.median(values[i : i + n]) / statistics.median(without[i : i + n])
        for i in range(0, len(without), n)
    ]


def report(
    cost: dict, alone: list, npoints: int, first: float, last: float, held: dict, scans: int
) -> None:
    # The pages' cost is itself random (a scan that happens to miss the drawings is not
    # slowed), so the verdict compares medians, round by round; best against best is shown
    # beside it.
    none_best = min(cost["without"])
    print(
        f"loopscan({npoints}, 0, {NCOUNTERS} simulated counters), publishing, table off: "
        f"{len(cost['without'])} scans of each configuration, alternated"
    )
    header = (
        f"{'plot pages':>12} {'µs/point: best':>15} {'median':>7} {'worst':>6} "
        f"{'ratio: median':>14} {'quartiles':>11} {'best':>5} {'target':>11}"
    )
    print(header)
    print("-" * len(header))
    for label, key in (
        ("none", "without"),
        ("busy core", "busy"),
        (f"{PAGES} remote", "remote"),
        (f"{PAGES} here", "with"),
        (f"{PAGES} windows", "low"),
    ):
        values = cost[key]
        ratios = round_ratios(values, cost["without"])
        ratio = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4)
        verdict = {"without": "", "busy": "reference"}.get(
            key, "<=1.05 " + ("ok" if ratio <= 1.05 else "OVER")
        )
        print(
            f"{label:>12} {min(values):>15.2f} {statistics.median(values):>7.2f} "
            f"{max(values):>6.2f} {ratio:>14.3f} {f'{low:.2f}-{high:.2f}':>11} "
            f"{min(values) / none_best:>5.2f} {verdict:>11}"
        )
    print(
        f"ratio: the median of the rounds' ratios, each round's median against the same round's "
        f"scans with no plot server\n(quartiles: of those ratios; best: best against best). "
        f"busy core: no plot server, "
        f"a CPU-bound process at nice 19\n(any work on the other core: redis-server, which the "
        f"scan keeps busy, then runs on the scan's core). remote: the plot server "
        f"with {PAGES} pages' event streams\n(each showing 2 channels) read by another process "
        f"(viewers on other machines); here: the plot server and {PAGES} Chromium pages\n"
        f"(a window each) drawing on this machine's cores too, the browser at normal priority "
        f"as a user runs it; windows: the same in a\nbrowser at nice {BROWSER_NICENESS}, as the "
        f"plot window plot_page() opens"
    )
    print()
    print(f"a page during a scan ({NCOUNTERS} counters; 'alone': the only page open):")
    rows = [(f"alone, {a['scan']}", a) for a in alone]
    rows += [(f"slowest of {PAGES}, loopscan({npoints}, 0)", p) for p in cost["pages"]]
    rows += [(f"slowest of {PAGES} windows, loopscan({npoints}, 0)", p) for p in cost["low_pages"]]
    for label, stats in rows:
        print(
            f"  {label:>41}: {stats['updates_per_s']:5.1f} drawings/s (target >= 5), last drawing "
            f"{stats['draw_ms']:.0f} ms, {stats['drawn']} points drawn per curve, "
            f"last point on the page {stats['catch_up_s']:.2f} s after the scan ended"
        )
    print()
    print(
        f"a page left open over {scans} scans of 1000 points: JS heap after GC "
        f"{first:.1f} MiB after 10 scans, {last:.1f} MiB after {scans}; "
        f"scans held: {held['scans']}, history rows: {held['historyRows']}"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
