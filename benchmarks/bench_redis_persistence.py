"""Cost of persistence for scan data: publisher throughput with appendonly yes vs no.

beamshell's embedded Redis keeps settings with appendonly yes (fsync every second). If scan
data share that server, every XADD also goes to the append-only file. This measures the
publisher against both kinds of server, to decide between one persistent server for both
and a separate non-persistent server for scan data.
Run: .venv/bin/python benchmarks/bench_redis_persistence.py
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


def measure(publish, appendonly: bool, runs: list) -> list[tuple[float, float]]:
    """(points/s, XADD/s) for each run against one fresh server."""
    results = []
    with publish.temporary_redis(appendonly=appendonly) as url:
        for scan_nb, (_, npoints, per_point) in enumerate(runs, start=1):
            best = None
            for repeat in range(3):  # best of 3: the fsync thread makes runs noisy
                elapsed, entries = publish.publish_scan(
                    url, npoints, scan_nb * 10 + repeat, flush_every_point=per_point
                )
                rate = (npoints / elapsed, entries / elapsed)
                best = rate if best is None or rate[0] > best[0] else best
            results.append(best)
    return results


def main(quick: bool = False) -> None:
    publish = _sibling("bench_data_publish")
    publish.ensure_gevent_patched()
    runs = [
        ("batched, full speed", 10_000 if quick else 100_000, False),
        ("1 transaction/point", 1_000 if quick else 10_000, True),
    ]
    off = measure(publish, False, runs)
    on = measure(publish, True, runs)
    print(f"DataPublisher, {publish.NCHANNELS} scalar channels; appendonly yes = fsync everysec")
    header = f"{'mode':<21} {'N':>7} {'aof no pts/s':>13} {'aof yes pts/s':>14}"
    print(f"{header} {'aof no XADD/s':>14} {'aof yes XADD/s':>15} {'yes/no':>7}")
    for (label, npoints, _), (p_off, x_off), (p_on, x_on) in zip(runs, off, on, strict=True):
        print(
            f"{label:<21} {npoints:>7} {p_off:>13.0f} {p_on:>14.0f} {x_off:>14.0f}"
            f" {x_on:>15.0f} {p_on / p_off:>7.2f}"
        )


if __name__ == "__main__":
    main()
