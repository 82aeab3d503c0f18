"""Latency of a point through a real scan to another process: acquired -> delivered.

A real `loopscan(N, 0, c0..cK)` (simulated diodes, count time 0, table off, publishing on)
runs in this process; a second process follows the session with `walk_events` and, for
every point of the timer's `epoch` channel (the wall-clock time the point was taken),
subtracts it from its own clock when the point arrives (same machine, same clock). The
reader also checks that every channel got every point once and in order.

Each case runs several times; the table gives the median over runs of each run's median,
p99 and max latency, with the lowest and highest run in parentheses.

A component figure follows: DataPublisher.append() alone, 5 channels, in a plain loop
that lets the event loop run every 2 ms as a scan does (no scan engine): the share of
the publisher, Redis and the reader. (This benchmark used to report only such a loop,
with a gevent.sleep(0) per point, and so missed what the engine added.)
Run: .venv/bin/python benchmarks/bench_data_latency.py [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import scanbench

READER = """
import json, sys, time
from beamshell.data.node import Event, get_session_node

walker = get_session_node(sys.argv[1], redis_url=sys.argv[2]).walk_events(
    include_filter=["scan", "channel"])
latencies, counts, in_order = {}, {}, {}
for event, node, data in walker:
    if event == Event.NEW_DATA:
        now = time.time()
        scan = node.db_name.rsplit(":", 2)[0]
        if counts.get(node.db_name, 0) != data.first_index:
            in_order[scan] = False
        counts[node.db_name] = data.first_index + len(data)
        if node.name in ("epoch", "t"):
            latencies.setdefault(scan, []).extend((now - data.data).tolist())
    elif event == Event.END_SCAN:
        scan = node.db_name
        lengths = {n: c for n, c in counts.items() if n.startswith(scan + ":")}
        values = sorted(latencies.pop(scan, []))
        n = len(values)
        print(json.dumps({
            "scan": scan, "points": n, "in_order": in_order.pop(scan, True),
            "channel_points": sorted(set(lengths.values())),
            "median": values[n // 2] if n else None,
            "p99": values[min(n - 1, int(n * 0.99))] if n else None,
            "max": values[-1] if n else None,
        }), flush=True)
        for name in lengths:
            del counts[name]
"""

TARGET_MEDIAN_MS = 10.0
TARGET_P99_MS = 25.0


class Reader:
    """The second process: follows the session, prints one JSON line per ended scan."""

    def __init__(self, url: str, session: str):
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, session, url],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )

    def result(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the reading process ended without a result")
        return json.loads(line)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def run_scan(env, counters, npoints: int, sleep_time: float | None) -> float:
    from beamshell.scanning.scans import loopscan

    scan = loopscan(npoints, 0, *counters, sleep_time=sleep_time, env=env, run=False)
    started = time.perf_counter()
    scan.run()
    return time.perf_counter() - started


def measure_case(env, counters, reader: Reader, npoints, sleep_time, runs) -> list[dict]:
    results = []
    for _ in range(runs):
        seconds = run_scan(env, counters, npoints, sleep_time)
        result = reader.result()
        if result["points"] != npoints or result["channel_points"] != [npoints]:
            raise RuntimeError(f"reader got {result} for {npoints} points")
        if not result["in_order"]:
            raise RuntimeError(f"reader got points out of order: {result}")
        result["rate"] = npoints / seconds
        results.append(result)
    return results


def publisher_alone(url: str, session: str, reader: Reader, npoints: int, number: int) -> dict:
    """Component: DataPublisher.append() of 5 channels at full speed, no scan engine; the
    loop lets others run (sockets polled) every 2 ms, as a scan that never waits does."""
    import gevent
    import numpy as np
    import redis

    from beamshell.data.publish import DataPublisher

    client = redis.Redis.from_url(url)
    pub = DataPublisher(client, flush_delay=0)  # as a scan's publisher: its loop batches
    scan = pub.create_node(f"{session}:tmp:scans:{number}_publisher", "scan", {}, parent=session)
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    t = pub.create_channel(master + ":t", parent=master)
    others = [pub.create_channel(f"{master}:c{i}", parent=master) for i in range(4)]
    next_yield = time.monotonic() + 0.002
    for index in range(npoints):
        t.append(np.array([time.time()]))
        for channel in others:
            channel.append(np.array([float(index)]))
        if time.monotonic() >= next_yield:
            with gevent.Timeout(0.005, False):
                gevent.idle()
            next_yield = time.monotonic() + 0.002
    pub.end_scan(scan)
    pub.close()
    client.close()
    return reader.result()


def main(quick: bool = False) -> None:
    scanbench.ensure_gevent_patched()
    runs = 2 if quick else 3
    cases = [
        ("10 points/s", 20 if quick else 100, 0.1),
        ("1,000 points/s", 200 if quick else 2_000, 0.001),
        ("full speed", 2_000 if quick else 20_000, None),
        ("full speed", 20_000 if quick else 200_000, None),
    ]
    print(scanbench.machine())
    print(
        "point taken in a real loopscan(N, 0, counters) -> delivered by walk_events in another"
        f" process; median of {runs} runs (lowest-highest run)"
    )
    header = (
        f"{'counters':>8} {'rate':<15} {'N':>7} {'points/s':>8} {'median ms':>20}"
        f" {'p99 ms':>20} {'max ms':>20}"
    )
    print(header)
    print("-" * len(header))
    with scanbench.private_redis() as url:
        for ncounters in (5, 20):
            session = f"bench{ncounters}"  # a new reader must not read the last case's scans
            with scanbench.scan_environment(url, ncounters, session=session) as (env, counters):
                reader = Reader(url, session)
                try:
                    run_scan(env, counters, 10, None)  # warm-up: the reader is following
                    reader.result()
                    for label, npoints, sleep_time in cases:
                        results = measure_case(env, counters, reader, npoints, sleep_time, runs)
                        ms = {
                            key: [r[key] * 1000 for r in results]
                            for key in ("median", "p99", "max")
                        }
                        rate = sorted(r["rate"] for r in results)[len(results) // 2]
                        print(
                            f"{ncounters:>8} {label:<15} {npoints:>7} {rate:>8.0f}"
                            f" {scanbench.median_spread(ms['median']):>20}"
                            f" {scanbench.median_spread(ms['p99']):>20}"
                            f" {scanbench.median_spread(ms['max']):>20}",
                            flush=True,
                        )
                    if ncounters == 5:
                        component = [
                            publisher_alone(url, session, reader, 2_000 if quick else 20_000, n)
                            for n in range(runs)
                        ]
                finally:
                    reader.close()
    ms = {key: [r[key] * 1000 for r in component] for key in ("median", "p99")}
    print(
        f"component, DataPublisher.append() alone (no engine), 5 channels, full speed, N ="
        f" {2_000 if quick else 20_000}:"
        f" median {scanbench.median_spread(ms['median'])} ms,"
        f" p99 {scanbench.median_spread(ms['p99'])} ms"
    )
    print(f"targets: median <= {TARGET_MEDIAN_MS:g} ms, p99 <= {TARGET_P99_MS:g} ms")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
