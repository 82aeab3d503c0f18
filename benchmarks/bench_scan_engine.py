"""What the scan engine costs per point, and the memory a long published scan needs.

- Engine cost: `loopscan(N, 0, 5 simulated diodes)`, count time 0, table off, with and
  without publishing to a private redis-server; µs per point = wall time of `scan.run()`
  divided by N (so publishing's share done in the scan's process is included), and the
  CPU time of this process likewise (less disturbed by the other loads of the machine).
- Inline reference: the same work written as one plain loop (5 gaussian samples, 7 numpy
  stores per point, no engine). Its runs take turns with the engine's, and "x inline" is
  the engine's time over the reference's of the same round, so that a loaded machine
  shows as a slower reference rather than as a slower engine.
- 1-D: `loopscan(N, 0, one 1,024-channel MCA)` without and with publishing, and its
  inline reference (a plain loop storing one spectrum per point in a new buffer: the
  kernel's cost of fresh memory, which varies a lot on a shared virtual machine).
- Memory: `loopscan(1,000,000, 0, 5 diodes)` with publishing, in a fresh process: the
  growth of its peak resident size, and the peak of what it allocates (tracemalloc, a
  second run, plus the channel buffers that are memory maps), each as a multiple of its
  raw data (7 channels x 8 bytes x N).

Each figure is the median of several rounds, the lowest and highest in parentheses.
Run: .venv/bin/python benchmarks/bench_scan_engine.py [--quick]
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc

import scanbench

NCOUNTERS = 5
TARGET_US_PUBLISHING = 4.0
TARGET_POINTS_PER_S = 100_000
TARGET_1D_US = 20.0
TARGET_MEMORY_RATIO = 1.3
INLINE_WHEN_TARGETS_SET_US = 1.55  # the inline loop, on the machine the targets came from


def run_once(env, counters, npoints: int):
    """(wall s, CPU s of this process, scan) of one loopscan(npoints, 0, *counters)."""
    from beamshell.scanning.scans import loopscan

    scan = loopscan(npoints, 0, *counters, env=env, run=False)
    cpu, started = time.process_time(), time.perf_counter()
    scan.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert scan.npoints_done == npoints
    return seconds, cpu, scan


def inline_reference(npoints: int) -> tuple[float, float]:
    """(wall s, CPU s) of the same work as one plain loop: 5 noisy samples and 7 numpy
    stores per point."""
    import numpy as np

    gauss = random.gauss
    columns = [np.empty(npoints) for _ in range(NCOUNTERS + 2)]
    elapsed, epoch = columns[0], columns[1]
    counters = columns[2:]
    perf_counter, now = time.perf_counter, time.time
    cpu, started = time.process_time(), perf_counter()
    origin = perf_counter()
    for index in range(npoints):
        elapsed[index] = perf_counter() - origin
        epoch[index] = now()
        for column in counters:
            column[index] = 100.0 + gauss(0.0, 10.0)
    return perf_counter() - started, time.process_time() - cpu


def inline_reference_1d(mca, npoints: int) -> tuple[float, float]:
    """(wall s, CPU s) of a plain loop storing one simulated spectrum per point in a new
    buffer (with the two timer values): what any engine pays for 1-D data."""
    import numpy as np

    spectra = np.empty((npoints, mca.size), dtype=mca.dtype)
    elapsed, epoch = np.empty(npoints), np.empty(npoints)
    sample, perf_counter, now = mca.simulated_sample, time.perf_counter, time.time
    cpu, started = time.process_time(), perf_counter()
    origin = perf_counter()
    for index in range(npoints):
        elapsed[index] = perf_counter() - origin
        epoch[index] = now()
        spectra[index] = sample()
    return perf_counter() - started, time.process_time() - cpu


def xadd_reference_1d(url: str, mca, npoints: int, per_entry: int = 100) -> tuple[float, float]:
    """(wall s, CPU s) of redis-py alone sending the same spectra to the same server, as
    XADDs of `per_entry` spectra in one field: the transport's share of a 1-D point."""
    import numpy as np
    import redis

    spectra = np.stack([mca.simulated_sample() for _ in range(per_entry)])
    client = redis.Redis.from_url(url)
    key = "bench:xadd_reference_1d"
    try:
        client.delete(key)
        cpu, started = time.process_time(), time.perf_counter()
        for _ in range(npoints // per_entry):
            client.xadd(key, {"data": spectra.tobytes()})
        seconds, used = time.perf_counter() - started, time.process_time() - cpu
        client.delete(key)
    finally:
        client.close()
    return seconds, used


def _peak_rss_kib() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_ratios(npoints: int) -> tuple[float, float, float | None]:
    """(raw data MiB, peak RSS growth / raw, tracemalloc peak / raw) of one published scan,
    measured in a fresh process (in this one, freed memory of earlier runs is reused)."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory", str(npoints)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def _memory_in_this_process(npoints: int) -> None:
    """--memory N: the resident growth of a first scan, then its allocations (tracemalloc)."""
    scanbench.ensure_gevent_patched()
    from beamshell.scanning import buffers

    raw = npoints * (NCOUNTERS + 2) * 8
    with scanbench.private_redis() as url:
        with scanbench.scan_environment(url, NCOUNTERS, True) as (env, counters):
            run_once(env, counters, 200)  # imports, connections
            rss_ratio = None
            with contextlib.suppress(OSError):
                with open("/proc/self/clear_refs", "w") as clear:
                    clear.write("5")  # Linux: the peak resident size starts again from now
                before = _peak_rss_kib()
                run_once(env, counters, npoints)
                after = _peak_rss_kib()
                if before is not None and after is not None:
                    rss_ratio = (after - before) * 1024 / raw
            tracemalloc.start()
            _, _, scan = run_once(env, counters, npoints)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            # Channel buffers of 4 MiB or more are memory maps, which tracemalloc does not
            # see; they are allocated whole when the scan starts and held to its end. The
            # counters of one reader share one (a ChannelBlock's rows): counted once.
            storage = {}
            for channel in scan.channels:
                block = getattr(channel, "_block", None)
                array = block._rows if block is not None else channel._buffer
                storage[id(array)] = array
            peak += sum(a.nbytes for a in storage.values() if a.nbytes >= buffers.LARGE_BYTES)
    print(json.dumps([raw / 2**20, rss_ratio, peak / raw]))


def main(quick: bool = False) -> None:
    scanbench.ensure_gevent_patched()
    runs = 3 if quick else 5
    npoints = 10_000
    npoints_1d = 2_000
    long_scan = 100_000 if quick else 1_000_000
    print(scanbench.machine())
    print(
        f"loopscan(N = {npoints:,}, 0, {NCOUNTERS} simulated diodes), table off; the kinds "
        f"of run take turns, {runs} rounds; median (lowest-highest)"
    )
    labels = {
        "inline": "inline reference (no engine)",
        "off": "engine, publishing off",
        "on": "engine, publishing on",
        "inline1d": "1-D: inline reference (no engine)",
        "xadd1d": "1-D component: redis-py XADD, 100 a time",
        "off1d": "1-D: engine, publishing off",
        "on1d": "1-D: engine, publishing on",
    }
    wall: dict[str, list[float]] = {key: [] for key in labels}
    cpu: dict[str, list[float]] = {key: [] for key in labels}
    ratio: dict[str, list[float]] = {key: [] for key in labels}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scanbench.private_redis())
        envs = {
            "off": stack.enter_context(scanbench.scan_environment(url, NCOUNTERS, False, "off")),
            "on": stack.enter_context(scanbench.scan_environment(url, NCOUNTERS, True, "on")),
            "off1d": stack.enter_context(scanbench.scan_environment(url, 0, False, "off1d", 1)),
            "on1d": stack.enter_context(scanbench.scan_environment(url, 0, True, "on1d", 1)),
        }
        for env, counters in envs.values():
            run_once(env, counters, 200)  # warm-up: imports, first connections
            env.scans = type(env.scans)(1)  # keep no old scan's data alive between runs
        mca = envs["on1d"][1][0]
        for _ in range(runs):
            for key, reference, n in (
                ("inline", lambda: inline_reference(npoints), npoints),
                ("inline1d", lambda: inline_reference_1d(mca, npoints_1d), npoints_1d),
                ("xadd1d", lambda: xadd_reference_1d(url, mca, npoints_1d), npoints_1d),
            ):
                seconds, used = reference()
                wall[key].append(seconds / n * 1e6)
                cpu[key].append(used / n * 1e6)
                base = wall["inline1d"][-1] if key == "xadd1d" else wall[key][-1]
                ratio[key].append(wall[key][-1] / base)
            for key, (env, counters) in envs.items():
                n = npoints_1d if key.endswith("1d") else npoints
                seconds, used, _ = run_once(env, counters, n)
                wall[key].append(seconds / n * 1e6)
                cpu[key].append(used / n * 1e6)
                reference = "inline1d" if key.endswith("1d") else "inline"
                ratio[key].append(wall[key][-1] / wall[reference][-1])
    try:
        memory = memory_ratios(long_scan)
    except Exception as exc:  # noqa: BLE001  (reported in the table)
        memory = exc
    header = (
        f"{'what':<42} {'µs/point (wall)':>20} {'CPU µs/point':>13} {'x inline':>9} {'points/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for key, label in labels.items():
        rate = 1e6 / statistics.median(wall[key])
        print(
            f"{label:<42} {scanbench.median_spread(wall[key], '.2f'):>20}"
            f" {statistics.median(cpu[key]):>13.2f} {statistics.median(ratio[key]):>9.2f}"
            f" {rate:>9.0f}"
        )
    print(
        f"targets: publishing on <= {TARGET_US_PUBLISHING:g} µs/point (the inline loop took "
        f"{INLINE_WHEN_TARGETS_SET_US} µs when they were set: <= "
        f"{TARGET_US_PUBLISHING / INLINE_WHEN_TARGETS_SET_US:.1f} x inline) and >= "
        f"{TARGET_POINTS_PER_S:,} points/s; 1-D <= {TARGET_1D_US:g} µs/point"
    )
    if isinstance(memory, Exception):
        print(f"memory, loopscan({long_scan:,}, 0, {NCOUNTERS} diodes): the scan FAILED: {memory}")
        return
    raw_mib, resident, traced = memory
    rss = f"{resident:.2f} x" if resident is not None else "unknown x"
    print(
        f"memory, loopscan({long_scan:,}, 0, {NCOUNTERS} diodes) publishing on, raw data "
        f"{raw_mib:.0f} MiB, fresh process: peak resident growth {rss} raw, peak allocated "
        f"{traced:.2f} x raw (tracemalloc) (target <= {TARGET_MEMORY_RATIO:g} x)"
    )


if __name__ == "__main__":
    if "--memory" in sys.argv:
        _memory_in_this_process(int(sys.argv[sys.argv.index("--memory") + 1]))
    else:
        main(quick="--quick" in sys.argv)
