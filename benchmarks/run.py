"""Run every benchmark in this folder (``make bench``); pass --quick for a smoke run.

Each script prints its machine line, method, raw numbers and the ratio against its
reference measured side by side in the same process.

Optional benchmarks need packages that are not onetoone dependencies; each runs only
when its package is importable by this interpreter and is otherwise skipped with a
message (uplift_hillstrom.py: scikit-uplift, in a separate venv, see its docstring;
scale.py: polars and DuckDB, the references of the ingestion benchmark).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    "profiles.py",
    "affinity.py",
    "allocation.py",
    "measurement.py",
    "strategies.py",
    "lapse.py",
    "customer_value.py",
]
#: script -> the modules it needs that onetoone does not depend on
OPTIONAL = {"uplift_hillstrom.py": ("sklift",), "scale.py": ("polars", "duckdb")}


def main() -> int:
    extra = sys.argv[1:]
    failed = []
    for name in [*SCRIPTS, *OPTIONAL]:
        path = HERE / name
        if not path.exists():
            continue
        needs = OPTIONAL.get(name)
        absent = [m for m in needs or () if importlib.util.find_spec(m) is None]
        if absent:
            print(
                f"\n##### {name}: skipped, {', '.join(absent)} not importable here "
                f"(a benchmark-only package: see the script's docstring)",
                flush=True,
            )
            continue
        print(f"\n##### {name} {' '.join(extra)}", flush=True)
        if subprocess.run([sys.executable, str(path), *extra]).returncode != 0:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
