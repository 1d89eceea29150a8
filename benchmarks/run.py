"""Run every benchmark in this folder (``make bench``); pass --quick for a smoke run.

Each script prints its machine line, method, raw numbers and the ratio against its
reference measured side by side in the same process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = ["profiles.py", "affinity.py", "allocation.py", "measurement.py", "strategies.py"]


def main() -> int:
    extra = sys.argv[1:]
    failed = []
    for name in SCRIPTS:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n##### {name} {' '.join(extra)}", flush=True)
        if subprocess.run([sys.executable, str(path), *extra]).returncode != 0:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
