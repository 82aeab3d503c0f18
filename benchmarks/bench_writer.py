"""The HDF5 writer against real scans: keeping up, throughput, cost to the scan, file size.

The user's path: a session (load_session) runs loopscan(N, 0, 5 simulated counters), table
off, publishing to a private redis-server; the session's writer is the real detached
process (`python -m beamshell.writer`). Measured:
- catch-up: seconds from the scan's end until the writer reports its entry complete;
- throughput: a writer started after a scan writes it from Redis (points per second);
- cost: µs per point of the same scan with the writer running and stopped, alternated;
- size: the scan's file against the raw size of its channels (float64: 8 bytes a value).
Each figure is the median of several runs, with the spread (min..max).
Run: .venv/bin/python benchmarks/bench_writer.py [--quick]
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all(thread=False)

import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from scanbench import environment  # noqa: E402

NCOUNTERS = 5
SESSION = "bench"
TARGET_CATCH_UP_S = 1.0
TARGET_COST = 0.10
TARGET_SIZE = 1.2


def write_config(root: Path, base: Path) -> None:
    lines = [f"- {{name: c{i}, class: simulation_diode}}" for i in range(NCOUNTERS)]
    lines.append(f"- {{name: {SESSION}, class: Session, scan-saving: {{base_path: {base}}}}}")
    (root / "beamline.yml").write_text("\n".join(lines) + "\n")


def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}..{format(max(values), fmt)})"


class Bench:
    def __init__(self, directory: Path, url: str):
        from beamshell.config.daemon import session_daemon
        from beamshell.sessions import load_session

        self.config = directory / "config"
        self.config.mkdir()
        write_config(self.config, directory / "data")
        self.session = load_session(SESSION, self.config, redis_url=url)
        self.ns = self.session.env_dict
        self.counters = [self.ns[f"c{i}"] for i in range(NCOUNTERS)]
        self.daemon = session_daemon("writer", SESSION, self.config)
        self.redis = self.session.config.redis

    def scan(self, npoints: int):
        started = time.perf_counter()
        scan = self.ns["loopscan"](npoints, 0, *self.counters, display=False)
        return scan, time.perf_counter() - started

    def wait_saved(self, scan, after: str) -> tuple[float, str]:
        """Block on the writer's events until `scan` is saved; (arrival time, last id)."""
        from beamshell.data import writer_status

        while True:
            for event_id, event in writer_status.read_events(self.redis, SESSION, after):
                after = event_id
                if event.get("scan") == scan.node.db_name and event["kind"] in (
                    "saved",
                    "recovered",
                ):
                    return time.perf_counter(), after
                if event["kind"] == "error":
                    raise RuntimeError(event["message"])

    def last_id(self) -> str:
        from beamshell.data import writer_status

        return writer_status.last_event_id(self.redis, SESSION)

    def catch_up(self, npoints: int, runs: int) -> list[float]:
        self.daemon.start()
        seconds = []
        for _ in range(runs):
            after = self.last_id()
            scan, _ = self.scan(npoints)
            ended = time.perf_counter()
            arrived, _ = self.wait_saved(scan, after)
            seconds.append(arrived - ended)
        return seconds

    def throughput(self, npoints: int, runs: int) -> list[float]:
        rates = []
        for _ in range(runs):
            self.daemon.stop()
            scan, _ = self.scan(npoints)
            after = self.last_id()
            started = time.perf_counter()
            self.daemon.start()  # catches the scan up from Redis
            arrived, _ = self.wait_saved(scan, after)
            rates.append(npoints / (arrived - started))
        return rates

    def cost(self, npoints: int, runs: int) -> tuple[list[float], list[float]]:
        with_writer, without = [], []
        for _ in range(runs):
            for running in (True, False):
                (self.daemon.start if running else self.daemon.stop)()
                after = self.last_id()
                scan, seconds = self.scan(npoints)
                (with_writer if running else without).append(seconds / npoints * 1e6)
                if running:
                    self.wait_saved(scan, after)  # the next run starts with an idle writer
        return with_writer, without

    def size(self, npoints: int) -> tuple[int, int]:
        from beamshell.writer.dataset_file import scan_file_path

        self.daemon.start()
        after = self.last_id()
        scan, _ = self.scan(npoints)
        self.wait_saved(scan, after)
        path = scan_file_path(Path(scan.scan_info["filename"]), scan.scan_number)
        raw = sum(channel.data.nbytes for channel in scan.channels)
        return path.stat().st_size, raw

    def close(self) -> None:
        self.daemon.stop()
        self.session.close()


def main(quick: bool = False) -> None:
    from beamshell.config.redis_server import PrivateRedis

    npoints = 10_000 if quick else 100_000
    big = 100_000 if quick else 1_000_000
    runs = 2 if quick else 5
    directory = Path(tempfile.mkdtemp(prefix="beamshell-bench-writer-"))
    try:
        with (
            environment(XDG_STATE_HOME=str(directory / "state")),
            PrivateRedis(directory / "redis") as server,
            environment(BEAMSHELL_REDIS_URL=server.url),  # the session's and its writer's
        ):
            bench = Bench(directory, server.url)
            try:
                bench.scan(1000)  # warm-up
                catch_up = bench.catch_up(npoints, runs)
                rates = bench.throughput(npoints, runs)
                with_writer, without = bench.cost(npoints, runs)
                file_size, raw = bench.size(big)
            finally:
                bench.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    cost = statistics.median(with_writer) / statistics.median(without) - 1
    ratio = file_size / raw
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"loopscan(N, 0, {NCOUNTERS} simulated counters), table off, real writer process;")
    print(f"median (min..max) of {runs} runs")
    rows = [
        (
            f"scan end -> entry complete, N={npoints:,}",
            spread(catch_up, ".3f") + " s",
            f"<= {TARGET_CATCH_UP_S} s",
            statistics.median(catch_up) <= TARGET_CATCH_UP_S,
        ),
        (
            f"writer throughput from Redis, N={npoints:,}",
            spread(rates, ",.0f") + " points/s",
            "-",
            True,
        ),
        (
            f"scan µs/point with writer / without, N={npoints:,}",
            f"{spread(with_writer, '.2f')} / {spread(without, '.2f')} ({cost:+.1%})",
            f"<= +{TARGET_COST:.0%}",
            cost <= TARGET_COST,
        ),
        (
            f"file size / raw data, N={big:,}",
            f"{file_size / 2**20:.1f} MiB / {raw / 2**20:.1f} MiB = {ratio:.3f}",
            f"<= {TARGET_SIZE}",
            ratio <= TARGET_SIZE,
        ),
    ]
    width = max(len(row[0]) for row in rows)
    for label, value, target, ok in rows:
        print(f"{label:<{width}}  {value:<52} {target:>9} {'ok' if ok else 'OVER'}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
