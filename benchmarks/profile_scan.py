"""Where a fast scan's time goes: cProfile of loopscan(10,000, 0, 5 diodes) with publishing.

Not part of `make bench` (a profiler inflates every Python call): it shows the share of
each function in the per-point path, for the README's before/after profile.
Run: .venv/bin/python benchmarks/profile_scan.py [N]
"""

from __future__ import annotations

import cProfile
import pstats
import sys

import scanbench


def main() -> None:
    scanbench.ensure_gevent_patched()
    from beamshell.scanning.scans import loopscan

    npoints = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with scanbench.private_redis() as url:
        with scanbench.scan_environment(url, 5) as (env, counters):
            loopscan(200, 0, *counters, env=env)  # warm-up
            scan = loopscan(npoints, 0, *counters, env=env, run=False)
            profile = cProfile.Profile()
            profile.enable()
            scan.run()
            profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt
    print(f"loopscan({npoints}, 0, 5 diodes), publishing on, under cProfile: {total:.3f} s")
    print("own time of each function (callees excluded), largest first")
    print(f"{'share':>6} {'seconds':>8} {'calls/point':>11}  function")
    rows = []
    for (filename, line, name), (_, ncalls, tottime, _, _) in stats.stats.items():
        where = filename.split("src/beamshell/")[-1].split("site-packages/")[-1]
        label = f"{where}:{line}({name})" if line else name
        rows.append((tottime, ncalls, label))
    for tottime, ncalls, label in sorted(rows, reverse=True)[:15]:
        print(f"{tottime / total:>6.0%} {tottime:>8.3f} {ncalls / npoints:>11.2f}  {label}")


if __name__ == "__main__":
    main()
