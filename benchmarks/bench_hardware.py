"""Cost of reading simulated counters and axes, and how closely moves follow their profile.

Target: reading 5 scalar counters (one read_all per controller, count time 0) <= 30 us per point.
Run: .venv/bin/python benchmarks/bench_hardware.py
"""

from __future__ import annotations

import contextlib
import tempfile
import textwrap
import time
from pathlib import Path

from gevent import monkey

monkey.patch_all(thread=False)


from beamshell.config.redis_server import PrivateRedis  # noqa: E402
from beamshell.config.static import Config  # noqa: E402
from beamshell.hardware.motion import move_axes  # noqa: E402
from beamshell.hardware.trajectory import MotionProfile  # noqa: E402

CONFIG = {
    "motors.yml": """
        controller:
          class: mockup
          axes:
            - {name: m1, velocity: 10, acceleration: 50, steps_per_unit: 1000}
            - {name: m2, velocity: 5, acceleration: 50, steps_per_unit: 1000}
            - {name: m3, velocity: 20, acceleration: 100, steps_per_unit: 100}
    """,
    "counters.yml": """
        - {name: diode, class: simulation_diode}
        - {name: diode2, class: simulation_diode, constant: 7}
        - {name: gauss, class: simulation_gaussian, axis: $m1, fwhm: 1, height: 1000, noise: 0.01}
        - {name: beam, class: simulation_beam_monitor, value: 100}
        - {name: diode3, class: simulation_diode, mode: STATS}
        - {name: mca, class: simulation_mca, size: 1024}
    """,
}


@contextlib.contextmanager
def temporary_redis():
    with tempfile.TemporaryDirectory() as directory, PrivateRedis(directory) as server:
        yield server.url


def per_call_us(function, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat * 1e6


def main(quick: bool = False) -> None:
    repeat = 2_000 if quick else 50_000
    with temporary_redis() as url, tempfile.TemporaryDirectory() as directory:
        for filename, text in CONFIG.items():
            (Path(directory) / filename).write_text(textwrap.dedent(text))
        config = Config(directory, redis_url=url)
        scalars = [config.get(n) for n in ("diode", "diode2", "gauss", "beam", "diode3")]
        mca = config.get("mca")
        m1, m2, m3 = (config.get(n) for n in ("m1", "m2", "m3"))

        def read_point():
            for counter in scalars:
                counter.controller.read_all([counter], 0)

        rows = [
            (
                "5 scalar counters, read_all x5, count time 0",
                per_call_us(read_point, repeat),
                "<= 30",
            ),
            ("diode.raw_read", per_call_us(lambda: scalars[0].raw_read, repeat), ""),
            (
                "mca (1024) read_all, count time 0",
                per_call_us(lambda: mca.controller.read_all([mca], 0), repeat),
                "",
            ),
            ("axis.position, at rest", per_call_us(lambda: m1.position, repeat), ""),
        ]
        m1.move(50, wait=False)
        rows.append(("axis.position, moving", per_call_us(lambda: m1.position, repeat), ""))
        m1.stop()
        start_cost = []
        for _ in range(5 if quick else 20):
            started = time.perf_counter()
            move_axes({m1: m1.position + 1, m2: m2.position + 1, m3: m3.position + 1}, wait=False)
            start_cost.append((time.perf_counter() - started) * 1e6)
            for axis in (m1, m2, m3):
                axis.abort()
        rows.append(
            ("move_axes start, 3 axes (no wait)", sorted(start_cost)[len(start_cost) // 2], "")
        )

        print(f"{'operation':<48} {'us/call':>10} {'target':>8}")
        for label, cost, target in rows:
            print(f"{label:<48} {cost:>10.2f} {target:>8}")

        print(
            f"\n{'move (m1: v=10, a=50)':<28} {'expected s':>10} {'measured s':>10} {'late ms':>8}"
        )
        for distance in (0.2, 1, 3, 10):
            expected = MotionProfile.trapezoid(
                0, distance, m1.velocity, m1.acceleration, 0
            ).duration
            started = time.perf_counter()
            m1.rmove(distance)
            measured = time.perf_counter() - started
            late = (measured - expected) * 1e3
            print(f"{f'{distance:g} mm':<28} {expected:>10.3f} {measured:>10.3f} {late:>8.1f}")
        config.close()


if __name__ == "__main__":
    main()
