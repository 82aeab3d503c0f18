"""Shared by the scan benchmarks: a private Redis, simulated counters, the machine, run statistics.

Every figure of these benchmarks is the median of several runs; the spread (lowest and
highest run) is printed next to it, with the machine's description and load, because the
machine they run on is shared and one run says little.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (the session processes a benchmark starts read
    them), then restore them: `make bench` runs every benchmark in one process."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ensure_gevent_patched() -> None:
    """beamshell processes run monkey-patched: sockets must yield to the scan's greenlets."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all(thread=False)


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server on a temporary Unix socket; yields its URL, stopped by its PID."""
    from beamshell.config.redis_server import PrivateRedis

    directory = tempfile.mkdtemp(prefix="beamshell-bench-scan-")
    try:
        with PrivateRedis(directory) as server:
            yield server.url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def scan_environment(
    url: str,
    ncounters: int,
    publishing: bool = True,
    session: str = "bench",
    mca: int = 0,
    config_dir: Path | None = None,
):
    """(env, counters): `ncounters` simulated diodes (and `mca` spectra of 1,024 channels).

    The counters are configured in `config_dir` when given (a caller that starts session
    processes on it, such as the plot server, owns and removes it), else in a temporary one.
    """
    from beamshell.config.static import Config
    from beamshell.scanning.context import ScanEnvironment

    lines = [f"- {{name: c{i}, class: simulation_diode}}" for i in range(ncounters)]
    lines += [f"- {{name: mca{i}, class: simulation_mca, size: 1024}}" for i in range(mca)]
    owned = config_dir is None
    if config_dir is None:
        config_dir = Path(tempfile.mkdtemp(prefix="beamshell-bench-config-"))
    (config_dir / "counters.yml").write_text("\n".join(lines) + "\n")
    config = Config(config_dir, redis_url=url)
    try:
        counters = [config.get(f"c{i}") for i in range(ncounters)]
        counters += [config.get(f"mca{i}") for i in range(mca)]
        env = ScanEnvironment(
            session,
            user="bench",
            redis=config.redis if publishing else None,
            settings=config.settings,
            display=False,
        )
        yield env, counters
    finally:
        config.close()
        if owned:
            shutil.rmtree(config_dir, ignore_errors=True)


def machine() -> str:
    """One line: CPU model, cores, load average, Python and redis-server versions."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    from beamshell.config.redis_server import find_redis_server_binary

    try:
        version = subprocess.run(
            [find_redis_server_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.split()
        redis_version = next((w.split("=")[1] for w in version if w.startswith("v=")), "?")
    except Exception:  # noqa: BLE001  (a description line must not fail the benchmark)
        redis_version = "?"
    return (
        f"machine: {model}, {os.cpu_count()} cores, load average {load}; "
        f"Python {platform.python_version()}, redis-server {redis_version}"
    )


def median_spread(values: Sequence[float], fmt: str = ".1f") -> str:
    """'median (lowest-highest)' of several runs."""
    if len(values) == 1:
        return format(values[0], fmt)
    low, high = min(values), max(values)
    return f"{statistics.median(values):{fmt}} ({low:{fmt}}-{high:{fmt}})"
