"""What the scan engine costs per point, and the memory a long published scan needs.

- Engine cost: `loopscan(N, 0, 5 simulated diodes)`, count time 0, table off, with and
  without publishing to a private redis-server; µs per point = wall time of `scan.run()`
  divided by N (so publishing's share done in the scan's process is included).
- Inline reference: the same work written as one plain loop (5 gaussian samples, 7 numpy
  stores per point, no engine), measured in the same run, so that a loaded machine shows
  as a slower reference rather than as a slower engine.
- 1-D: `loopscan(N, 0, one 1,024-channel MCA)` with publishing.
- Memory: `loopscan(1,000,000, 0, 5 diodes)` with publishing: the peak of what the scan
  allocates (tracemalloc, a separate run so tracing does not distort the timings) as a
  multiple of its raw data (7 channels x 8 bytes x N).

Each figure is the median of several runs, the lowest and highest in parentheses.
Run: .venv/bin/python benchmarks/bench_scan_engine.py [--quick]
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc

import scanbench

NCOUNTERS = 5
TARGET_US_PUBLISHING = 4.0
TARGET_POINTS_PER_S = 100_000
TARGET_1D_US = 20.0
TARGET_MEMORY_RATIO = 1.3


def run_once(env, counters, npoints: int):
    from beamshell.scanning.scans import loopscan

    scan = loopscan(npoints, 0, *counters, env=env, run=False)
    started = time.perf_counter()
    scan.run()
    seconds = time.perf_counter() - started
    assert scan.npoints_done == npoints
    return seconds, scan


def per_point_us(env, counters, npoints: int, runs: int) -> list[float]:
    run_once(env, counters, 200)  # warm-up: imports, first connections
    return [run_once(env, counters, npoints)[0] / npoints * 1e6 for _ in range(runs)]


def inline_reference_us(npoints: int, runs: int) -> list[float]:
    """The same work as one plain loop: 5 noisy samples and 7 numpy stores per point."""
    import numpy as np

    gauss = random.gauss
    results = []
    for _ in range(runs):
        columns = [np.empty(npoints) for _ in range(NCOUNTERS + 2)]
        elapsed, epoch = columns[0], columns[1]
        counters = columns[2:]
        perf_counter, now = time.perf_counter, time.time
        started = perf_counter()
        origin = perf_counter()
        for index in range(npoints):
            elapsed[index] = perf_counter() - origin
            epoch[index] = now()
            for column in counters:
                column[index] = 100.0 + gauss(0.0, 10.0)
        results.append((perf_counter() - started) / npoints * 1e6)
    return results


def _peak_rss_kib() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_ratios(env, counters, npoints: int) -> tuple[float, float, float | None]:
    """(raw data MiB, tracemalloc peak / raw, peak RSS growth / raw) of one scan."""
    raw = npoints * (NCOUNTERS + 2) * 8
    tracemalloc.start()
    run_once(env, counters, npoints)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Peak resident memory, untraced run: Linux resets the high-water mark on request.
    rss_ratio = None
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _peak_rss_kib()
        run_once(env, counters, npoints)
        after = _peak_rss_kib()
        if before is not None and after is not None:
            rss_ratio = (after - before) * 1024 / raw
    except OSError:
        pass
    return raw / 2**20, peak / raw, rss_ratio


def main(quick: bool = False) -> None:
    scanbench.ensure_gevent_patched()
    runs = 3 if quick else 5
    npoints = 10_000
    long_scan = 100_000 if quick else 1_000_000
    print(scanbench.machine())
    print(
        f"loopscan(N, 0, {NCOUNTERS} simulated diodes), table off; median of {runs} runs "
        "(lowest-highest)"
    )
    rows = [("inline reference (no engine)", inline_reference_us(npoints, runs))]
    with scanbench.private_redis() as url:
        for publishing in (False, True):
            with scanbench.scan_environment(url, NCOUNTERS, publishing) as (env, counters):
                label = f"engine, publishing {'on' if publishing else 'off'}"
                rows.append((label, per_point_us(env, counters, npoints, runs)))
                if publishing:
                    try:
                        memory = memory_ratios(env, counters, long_scan)
                    except Exception as exc:  # noqa: BLE001  (reported in the table)
                        memory = exc
        with scanbench.scan_environment(url, 0, True, session="bench1d", mca=1) as (env, mca):
            rows.append(
                ("1-D: one 1,024-channel MCA, publishing on", per_point_us(env, mca, 2_000, runs))
            )
    header = f"{'what':<44} {'µs/point':>20} {'points/s':>10}"
    print(header)
    print("-" * len(header))
    for label, values in rows:
        rate = 1e6 / sorted(values)[len(values) // 2]
        print(f"{label:<44} {scanbench.median_spread(values, '.2f'):>20} {rate:>10.0f}")
    print(
        f"targets: publishing on <= {TARGET_US_PUBLISHING:g} µs/point and >= "
        f"{TARGET_POINTS_PER_S:,} points/s; 1-D <= {TARGET_1D_US:g} µs/point"
    )
    if isinstance(memory, Exception):
        print(f"memory, loopscan({long_scan:,}, 0, {NCOUNTERS} diodes): the scan FAILED: {memory}")
        return
    raw_mib, traced, resident = memory
    rss = f"{resident:.2f} x" if resident is not None else "unknown"
    print(
        f"memory, loopscan({long_scan:,}, 0, {NCOUNTERS} diodes) publishing on, raw data "
        f"{raw_mib:.0f} MiB: peak allocated during the scan {traced:.2f} x raw (tracemalloc), "
        f"peak resident growth {rss} raw (target <= {TARGET_MEMORY_RATIO:g} x)"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
