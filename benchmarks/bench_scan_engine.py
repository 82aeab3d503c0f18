"""Scan engine overhead per point: loopscan(N, 0, 5 simulated counters), table off.

Without publishing, then publishing to a private redis-server. Prints µs per point, points
per second, and the memory the scan allocated beyond its numpy data (tracemalloc, separate
run so that tracing does not distort the timing).
Run: .venv/bin/python benchmarks/bench_scan_engine.py [--quick]
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all(thread=False)

import contextlib  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

NCOUNTERS = 5
COUNTERS_YML = "\n".join(
    f"- {{name: c{i}, class: simulation_diode, level: 100, noise: 0.1}}" for i in range(NCOUNTERS)
)
TARGET_US = {False: 30.0, True: 50.0}


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server on a temporary Unix socket; yields its URL, stopped by its PID."""
    from beamshell.config.redis_server import PrivateRedis

    directory = tempfile.mkdtemp(prefix="beamshell-bench-scan-")
    try:
        with PrivateRedis(directory) as server:
            yield server.url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def make_environment(url: str, publishing: bool):
    from beamshell.config.static import Config
    from beamshell.scanning.context import ScanEnvironment

    config_dir = Path(tempfile.mkdtemp(prefix="beamshell-bench-config-"))
    (config_dir / "counters.yml").write_text(COUNTERS_YML + "\n")
    config = Config(config_dir, redis_url=url)
    counters = [config.get(f"c{i}") for i in range(NCOUNTERS)]
    env = ScanEnvironment(
        "bench",
        user="bench",
        redis=config.redis if publishing else None,
        settings=config.settings,
        display=False,
    )
    return env, counters, config_dir


def run_once(env, counters, npoints: int) -> tuple[float, object]:
    from beamshell.scanning.scans import loopscan

    scan = loopscan(npoints, 0, *counters, env=env, run=False, save=False)
    started = time.perf_counter()
    scan.run()
    return time.perf_counter() - started, scan


def numpy_bytes(scan) -> int:
    return sum(channel._buffer.nbytes for channel in scan.channels)


def measure(env, counters, npoints: int) -> dict:
    run_once(env, counters, 200)  # warm-up: imports, first connections
    seconds, scan = run_once(env, counters, npoints)
    assert scan.npoints_done == npoints
    tracemalloc.start()
    _, traced = run_once(env, counters, npoints)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "us_per_point": seconds / npoints * 1e6,
        "points_per_s": npoints / seconds,
        "numpy_kib": numpy_bytes(traced) / 1024,
        "extra_kib": (peak - numpy_bytes(traced)) / 1024,
    }


def main(quick: bool = False) -> None:
    sizes = [1_000, 10_000] if quick else [1_000, 100_000]
    rows = []
    with private_redis() as url:
        for publishing in (False, True):
            env, counters, config_dir = make_environment(url, publishing)
            try:
                for npoints in sizes:
                    rows.append((publishing, npoints, measure(env, counters, npoints)))
            finally:
                shutil.rmtree(config_dir, ignore_errors=True)
    header = (
        f"{'publishing':>10} {'points':>8} {'µs/point':>9} {'points/s':>10} "
        f"{'numpy KiB':>10} {'extra KiB':>10} {'target':>8}"
    )
    print(f"loopscan(N, 0, {NCOUNTERS} simulated counters), table off")
    print(header)
    print("-" * len(header))
    for publishing, npoints, r in rows:
        target = TARGET_US[publishing]
        verdict = "ok" if r["us_per_point"] <= target else "OVER"
        print(
            f"{'on' if publishing else 'off':>10} {npoints:>8} {r['us_per_point']:>9.1f} "
            f"{r['points_per_s']:>10.0f} {r['numpy_kib']:>10.0f} {r['extra_kib']:>10.0f} "
            f"{f'<={target:g} ' + verdict:>8}"
        )
    print("extra KiB: tracemalloc peak during the scan minus its numpy channel buffers")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
