"""Every benchmark still loads: `make bench` is not part of the suite, so a helper renamed
under it (as once happened to bench_plot_pages) would otherwise go unnoticed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

LOAD_ALL = """
import importlib.util, sys
from pathlib import Path
here = Path(sys.argv[1])
sys.path.insert(0, str(here))
for path in sorted(here.glob("bench_*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main(quick=...)"
    print(path.stem)
"""


def test_every_benchmark_loads_and_has_a_main():
    # In a fresh process, as benchmarks/run.py loads them (they patch with gevent at import).
    done = subprocess.run(
        [sys.executable, "-c", LOAD_ALL, str(BENCHMARKS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert loaded == sorted(path.stem for path in BENCHMARKS.glob("bench_*.py"))
