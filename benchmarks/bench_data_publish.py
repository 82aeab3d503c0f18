"""Publishing cost per point of DataPublisher: a scan-like loop of 5 scalar channels.

Also home of `temporary_redis()`, the private redis-server the data benchmarks run against.
Run: .venv/bin/python benchmarks/bench_data_publish.py
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator

NCHANNELS = 5


def ensure_gevent_patched() -> None:
    """beamshell processes run monkey-patched: sockets must yield to the scan's greenlets."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all(thread=False)


@contextlib.contextmanager
def temporary_redis(appendonly: bool = False) -> Iterator[str]:
    """A private redis-server on a temp Unix socket; yields its URL, stops it by PID."""
    from beamshell.config.redis_server import PrivateRedis

    directory = tempfile.mkdtemp(prefix="beamshell-bench-")
    try:
        with PrivateRedis(directory, appendonly=appendonly) as server:
            yield server.url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def publish_scan(url: str, npoints: int, scan_nb: int = 1, flush_every_point: bool = False):
    """Publish a loopscan-like scan at full speed; return (seconds, publisher stats)."""
    import gevent
    import numpy as np
    import redis

    from beamshell.data.publish import DataPublisher

    client = redis.Redis.from_url(url)
    pub = DataPublisher(client)
    scan = pub.create_node(f"bench:tmp:scans:{scan_nb}_loopscan", "scan", {}, parent="bench")
    master = pub.create_node(scan + ":timer", "master", {}, parent=scan)
    channels = [
        pub.create_channel(f"{master}:c{i}", parent=master, dtype="float64")
        for i in range(NCHANNELS)
    ]
    values = [np.array([float(i)]) for i in range(NCHANNELS)]
    start = time.perf_counter()
    for _ in range(npoints):
        for channel, value in zip(channels, values, strict=True):
            channel.append(value)
        if flush_every_point:
            pub.flush()
        gevent.sleep(0)  # a scan yields at every point (counters integrate with gevent.sleep)
    pub.end_scan(scan)
    elapsed = time.perf_counter() - start
    entries = sum(client.xlen(f"{c.db_name}_data") for c in channels)
    pub.close()
    client.close()
    return elapsed, entries


def baseline_loop(npoints: int) -> float:
    """The same loop without publishing: what the scan costs anyway."""
    import gevent
    import numpy as np

    start = time.perf_counter()
    for _ in range(npoints):
        for i in range(NCHANNELS):
            np.array([float(i)])
        gevent.sleep(0)
    return time.perf_counter() - start


def main(quick: bool = False) -> None:
    ensure_gevent_patched()
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    print(f"DataPublisher, {NCHANNELS} scalar float64 channels, points appended at full speed")
    print(
        f"{'N':>8} {'total s':>9} {'us/point':>9} {'publish us/pt':>14} {'points/s':>10} {'XADDs':>7}"
    )
    with temporary_redis() as url:
        for scan_nb, npoints in enumerate(sizes, start=1):
            elapsed, entries = publish_scan(url, npoints, scan_nb)
            base = baseline_loop(npoints)
            per_point = elapsed / npoints * 1e6
            publishing = (elapsed - base) / npoints * 1e6
            print(
                f"{npoints:>8} {elapsed:>9.3f} {per_point:>9.2f} {publishing:>14.2f}"
                f" {npoints / elapsed:>10.0f} {entries:>7}"
            )
    print("us/point: whole loop incl. gevent.sleep(0); publish us/pt: minus the loop alone")


if __name__ == "__main__":
    main()
