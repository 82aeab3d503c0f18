"""Shell responsiveness through a real pseudo-terminal: start-up to the first prompt,
keystroke echo while a fast scan prints its table, and Ctrl-C in a scan back to the prompt.

Runs `beamshell -s demo` (the demo configuration; its embedded Redis is started once, before
timing, or BEAMSHELL_REDIS_URL is used if set). `python benchmarks/bench_shell_startup.py
[--quick]`; `make bench` runs it too.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BEAMSHELL = BIN / "beamshell"
PROMPT = r"DEMO \[(?:\x1b\[[0-9;? ]*[A-Za-z])*{n}(?:\x1b\[[0-9;? ]*[A-Za-z])*\]: "
STARTUP_TARGET_S = 1.0
ECHO_TARGET_MS = 100.0


# The shell tests' pty driver: Popen forks, so it works in a gevent-patched process too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "shell"))
from shell_pty import PtyProcess  # noqa: E402


def open_terminal(args: list[str], env: dict[str, str]) -> PtyProcess:
    """`beamshell ARGS` on a new pseudo-terminal; its screen is `.reader`."""
    terminal = PtyProcess([str(BEAMSHELL), *args], env)
    terminal.reader.timeout = 30
    return terminal


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        BEAMSHELL_HISTORY_DIR=str(home / "history"),
        # A real terminal answers the cursor-position request at once; a pty does not.
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm-256color",
    )
    env.pop("BEAMSHELL_CONFIG", None)
    return env


def time_to_prompt(env: dict[str, str]) -> float:
    started = time.perf_counter()
    terminal = open_terminal(["-s", "demo"], env)
    try:
        terminal.reader.expect(PROMPT.format(n=1))
        return time.perf_counter() - started
    finally:
        terminal.close()


def echo_latencies(
    env: dict[str, str], keys: int, scan_points: int
) -> tuple[list[float], list[float]]:
    """Milliseconds from a key press to its echo: at an idle prompt, then during a scan."""
    terminal = open_terminal(["-s", "demo", "--no-banner"], env)
    screen = terminal.reader
    try:
        screen.expect(PROMPT.format(n=1))
        idle = [_echo(screen) for _ in range(keys)]
        screen.send("\x15")  # Ctrl-U: clear the line
        screen.send(f"loopscan({scan_points}, 0.005, diode)\r")
        screen.expect(r" {4,}20(?: {2,}[-+0-9.e]+)+\r*\n")  # the table is printing
        scanning = []
        for _ in range(keys):
            scanning.append(_echo(screen))
            screen.send("\x7f")  # backspace: the next "~" is the only one on screen
            time.sleep(0.02)
        screen.expect(PROMPT.format(n=2), timeout=120)
        finished = screen.before
        if re.search(r"\n\s*0\s", finished) is None and "Took" not in finished:
            raise RuntimeError("the scan's table was not seen")
        return idle, scanning
    finally:
        terminal.close()


def interrupt_latencies(env: dict[str, str], runs: int) -> list[float]:
    """Seconds from Ctrl-C in the middle of a scan to the next prompt."""
    terminal = open_terminal(["-s", "demo", "--no-banner"], env)
    screen = terminal.reader
    latencies = []
    try:
        screen.expect(PROMPT.format(n=1))
        for count in range(2, runs + 2):
            screen.send("loopscan(100000, 0.01, diode)\r")
            screen.expect(r" {4,}20(?: {2,}[-+0-9.e]+)+\r*\n")
            started = time.perf_counter()
            screen.send("\x03")
            screen.expect(PROMPT.format(n=count))
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        terminal.close()


def _echo(screen) -> float:
    started = time.perf_counter()
    screen.send("~")
    screen.expect("~")
    return (time.perf_counter() - started) * 1000.0


def main(quick: bool = False) -> None:
    runs = 3 if quick else 7
    keys = 10 if quick else 40
    scan_points = 400 if quick else 2000
    with tempfile.TemporaryDirectory() as home:
        env = _environment(Path(home))
        time_to_prompt(env)  # warm-up: starts the demo's embedded Redis, fills file caches
        startups = [time_to_prompt(env) for _ in range(runs)]
        idle, scanning = echo_latencies(env, keys, scan_points)
        interrupts = interrupt_latencies(env, runs)

    def row(name: str, values: list[float], unit: str, target: str) -> str:
        median = statistics.median(values)
        worst = max(values)
        return f"{name:<44} {median:>9.3f} {worst:>9.3f} {unit:<4} {target}"

    print(f"{'measurement':<44} {'median':>9} {'max':>9} {'unit':<4} target")
    print(row(f"start-up to first prompt ({runs} runs)", startups, "s", f"<= {STARTUP_TARGET_S} s"))
    print(row(f"key echo at idle prompt ({keys} keys)", idle, "ms", "-"))
    print(
        row(
            f"key echo during a scan printing ({keys} keys)",
            scanning,
            "ms",
            f"< {ECHO_TARGET_MS:.0f} ms",
        )
    )
    print(row(f"Ctrl-C mid-scan to prompt ({runs} runs)", interrupts, "s", "<= 1 s"))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
