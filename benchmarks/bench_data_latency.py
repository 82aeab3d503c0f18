"""Latency from a point's append() to its delivery by walk_events in a separate process.

Each point's value on channel `t` is the wall-clock time of its append(); the reading
process subtracts it from the time it receives the point (same machine, same clock).
Run: .venv/bin/python benchmarks/bench_data_latency.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

READER = """
import json, sys, time
from beamshell.data.node import Event, get_session_node
walker = get_session_node(sys.argv[1], redis_url=sys.argv[2]).walk_events(
    include_filter="channel", stop_on_end=True)
print("READY", flush=True)
latencies = []
for event, node, data in walker:
    if event == Event.NEW_DATA and node.name == "t":
        now = time.time()
        latencies.extend(now - float(v) for v in data.data)
print(json.dumps(latencies), flush=True)
"""


def _sibling(name: str):
    """A module of this directory (run.py loads benchmarks by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_scan(url: str, session: str, npoints: int, period: float) -> list[float]:
    """Publish one scan of 5 channels (t = append time) while a reader process follows it."""
    import gevent
    import numpy as np
    import redis

    from beamshell.data.publish import DataPublisher

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, session, url],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert reader.stdout.readline().strip() == "READY"
    client = redis.Redis.from_url(url)
    pub = DataPublisher(client)
    scan = pub.create_node(f"{session}:tmp:scans:1_loopscan", "scan", {}, parent=session)
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    t = pub.create_channel(master + ":t", parent=master)
    others = [pub.create_channel(f"{master}:c{i}", parent=master) for i in range(4)]
    gevent.sleep(0.2)  # let the reader reach its blocking read
    for index in range(npoints):
        gevent.sleep(period)
        t.append(np.array([time.time()]))
        for channel in others:
            channel.append(np.array([float(index)]))
    pub.end_scan(scan)
    pub.close()
    client.close()
    out, _ = reader.communicate(timeout=60)
    latencies = json.loads(out.strip().splitlines()[-1])
    if len(latencies) != npoints:
        raise RuntimeError(f"reader got {len(latencies)} points of {npoints}")
    return latencies


def main(quick: bool = False) -> None:
    publish = _sibling("bench_data_publish")
    publish.ensure_gevent_patched()
    import numpy as np

    from beamshell.data.publish import DEFAULT_FLUSH_DELAY_S

    runs = [
        ("10 points/s", 20 if quick else 100, 0.1),
        ("full speed", 2_000 if quick else 20_000, 0),
    ]
    print(
        f"append() -> walk_events in another process; 5 scalar channels;"
        f" flush delay {DEFAULT_FLUSH_DELAY_S * 1000:.0f} ms"
    )
    print(f"{'rate':<12} {'N':>7} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
    with publish.temporary_redis() as url:
        for number, (label, npoints, period) in enumerate(runs):
            ms = np.array(run_scan(url, f"bench{number}", npoints, period)) * 1000
            print(
                f"{label:<12} {npoints:>7} {np.median(ms):>10.2f} {np.percentile(ms, 99):>8.2f}"
                f" {ms.max():>8.2f}"
            )
    print("targets: median <= 10 ms, p99 <= 25 ms")


if __name__ == "__main__":
    main()
