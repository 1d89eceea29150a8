"""One line describing the machine and library versions, printed by every benchmark."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def _mem_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def machine_line(packages: tuple[str, ...] = ("numpy", "scipy", "pandas", "implicit")) -> str:
    versions = []
    for p in ("onetoone", *packages):
        try:
            versions.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{p} -")
    return (
        f"machine: {platform.machine()} {os.cpu_count()} cpus, {_mem_gib():.0f} GiB, "
        f"python {platform.python_version()}; " + ", ".join(versions)
    )
