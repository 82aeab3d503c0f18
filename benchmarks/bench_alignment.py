"""Alignment tools: the time estimate against real scans, the cost of a terminal drawing, and
whether the live plot slows a scan in a real terminal.

`python benchmarks/bench_alignment.py [--quick]`; `make bench` runs it too. The scans run on
the demo configuration's simulated motors (copied to a temporary directory, with a private
Redis); the terminal part drives `beamshell` through a pseudo-terminal.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gevent import monkey

monkey.patch_all(thread=False)

from beamshell.config.daemon import session_daemon  # noqa: E402
from beamshell.config.redis_server import PrivateRedis  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "src" / "beamshell" / "demo_config"
BEAMSHELL = Path(sys.executable).parent / "beamshell"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "shell"))
from shell_pty import PtyProcess  # noqa: E402

PROMPT = r"DEMO \[(?:\x1b\[[0-9;? ]*[A-Za-z])*{n}(?:\x1b\[[0-9;? ]*[A-Za-z])*\]: "
SCANS = {
    "ascan m1 -2 2 40 0.05": lambda ns: ns["ascan"](ns["m1"], -2, 2, 40, 0.05, ns["gauss"],
                                                    run=False, display=False),
    "dscan m2 -1 1 20 0.1": lambda ns: ns["dscan"](ns["m2"], -1, 1, 20, 0.1, ns["diode"],
                                                   run=False, display=False),
    "a2scan m1 0 2 m2 0 1 20 0.05": lambda ns: ns["a2scan"](
        ns["m1"], 0, 2, ns["m2"], 0, 1, 20, 0.05, ns["diode"], run=False, display=False),
    "amesh m1 0 1 5 m2 0 1 5 0.02": lambda ns: ns["amesh"](
        ns["m1"], 0, 1, 5, ns["m2"], 0, 1, 5, 0.02, ns["diode"], run=False, display=False),
}  # fmt: skip


def estimates(config: Path, url: str) -> list[tuple[str, float, float]]:
    """(scan, estimate, real duration) on the demo's simulated motors."""
    from beamshell.sessions import load_session

    session = load_session("demo", config_dir=config, redis_url=url)
    rows = []
    try:
        for title, make in SCANS.items():
            scan = make(session.env_dict)
            estimate = scan.estimate().total
            scan.run()
            rows.append((title, estimate, scan.end_time - scan.start_time))
    finally:
        session.close()
    return rows


def drawing_costs(config: Path, url: str, repeat: int) -> list[tuple[str, float]]:
    """Milliseconds to draw a 41-point line plot and a 21 x 21 mesh at 160 x 40."""
    from beamshell.sessions import load_session
    from beamshell.sessions.terminal_plot import render_scan

    session = load_session("demo", config_dir=config, redis_url=url)
    ns = session.env_dict
    try:
        line = ns["ascan"](ns["m1"], -2, 2, 40, 0, ns["gauss"], display=False)
        mesh = ns["amesh"](ns["m1"], -1, 1, 20, ns["m2"], 0, 1, 20, 0, ns["gauss"], display=False)
        rows = []
        for name, scan in (("line plot, 41 points, markers", line), ("heat map, 21 x 21", mesh)):
            render_scan(scan, 160, 40)  # the first one imports plotext
            started = time.perf_counter()
            for _ in range(repeat):
                render_scan(scan, 160, 40)
            rows.append((name, (time.perf_counter() - started) / repeat * 1000))
        return rows
    finally:
        session.close()


def live_plot_durations(config: Path, url: str, runs: int) -> dict[str, list[float]]:
    """`Took` of the same scan in a 40 x 120 terminal, with the live plot off and on."""
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color",
               BEAMSHELL_REDIS_URL=url, HOME=str(config.parent))  # fmt: skip
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    terminal = PtyProcess([str(BEAMSHELL), "-s", "demo", "--config", str(config)], env, 40, 120)
    screen = terminal.reader
    screen.timeout = 120
    took: dict[str, list[float]] = {"off": [], "on": []}
    count = 1
    try:
        screen.expect(PROMPT.format(n=count))
        for _ in range(runs):
            for mode in ("off", "on"):
                count += 1
                screen.send(f"plot(live={mode == 'on'})\r")
                screen.expect(PROMPT.format(n=count))
                count += 1
                screen.send("ascan(m1, -2, 2, 40, 0.1, gauss)\r")
                screen.expect(r"Took (\d+):(\d\d):(\d\d\.\d+)")
                hours, minutes, seconds = screen.match.groups()
                took[mode].append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
                screen.expect(PROMPT.format(n=count))
        return took
    finally:
        terminal.close()


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as directory, PrivateRedis(Path(directory) / "r") as redis:
        config = Path(directory) / "config"
        shutil.copytree(DEMO, config, ignore=shutil.ignore_patterns(".beamshell"))
        try:
            rows = estimates(config, redis.url)
            costs = drawing_costs(config, redis.url, 5 if quick else 30)
            took = live_plot_durations(config, redis.url, 1 if quick else 3)
        finally:  # the session started its writer, as an operator's does: not left behind
            session_daemon("writer", "demo", config).stop()
    print(f"{'scan (demo motors)':<34} {'estimate':>9} {'real':>9} {'error':>7}   target")
    for title, estimate, real in rows:
        error = (estimate - real) / real * 100
        print(f"{title:<34} {estimate:>8.2f}s {real:>8.2f}s {error:>+6.1f}%   within 10 %")
    print(f"\n{'terminal drawing at 160 x 40':<34} {'ms':>9}")
    for name, cost in costs:
        print(f"{name:<34} {cost:>9.1f}")
    off, on = statistics.median(took["off"]), statistics.median(took["on"])
    print(f"\nascan(m1, -2, 2, 40, 0.1, gauss) in a 40 x 120 terminal ({len(took['on'])} runs):")
    print(f"  live plot off {off:.2f} s, on {on:.2f} s: {(on - off) / off * 100:+.1f} %")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
