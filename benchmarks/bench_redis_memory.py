"""Redis memory per scalar point of published scan data (INFO memory before and after).

Two ways a scan fills its streams: at full speed (a few large batches per channel) and at
a slow rate (one entry per point and channel, the worst case: a 10 points/s scan).
Run: .venv/bin/python benchmarks/bench_redis_memory.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _sibling(name: str):
    """A module of this directory (run.py loads benchmarks by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def used_memory(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def main(quick: bool = False) -> None:
    publish = _sibling("bench_data_publish")
    publish.ensure_gevent_patched()
    runs = [
        ("full speed", 10_000 if quick else 100_000, False),
        ("1 entry/point", 1_000 if quick else 10_000, True),
    ]
    nchannels = publish.NCHANNELS
    print(f"Redis memory of published scan data, {nchannels} scalar float64 channels")
    print(f"{'mode':<14} {'N':>8} {'values':>9} {'entries':>8} {'bytes':>11} {'bytes/value':>12}")
    with publish.temporary_redis() as url:
        for scan_nb, (label, npoints, per_point) in enumerate(runs, start=1):
            before = used_memory(url)
            _, entries = publish.publish_scan(url, npoints, scan_nb, flush_every_point=per_point)
            grown = used_memory(url) - before
            values = npoints * nchannels
            print(
                f"{label:<14} {npoints:>8} {values:>9} {entries:>8} {grown:>11}"
                f" {grown / values:>12.1f}"
            )
    print("a float64 value is 8 bytes; the rest is stream entry overhead (and node keys)")


if __name__ == "__main__":
    main()
