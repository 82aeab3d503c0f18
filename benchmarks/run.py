"""Run every benchmark (benchmarks/bench_*.py) and print its table: `make bench`.

`python benchmarks/run.py --quick` uses small sizes (a smoke run); `-k NAME` picks benchmarks.
"""

from gevent import monkey

monkey.patch_all(thread=False)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("-k", dest="select", default="", help="run benchmarks whose name has this")
    args = parser.parse_args()
    failures = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if args.select not in path.stem:
            continue
        print(f"\n=== {path.stem} ===", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            module.main(quick=args.quick)
        except Exception:
            failures += 1
            traceback.print_exc()
        print(f"({path.stem}: {time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
