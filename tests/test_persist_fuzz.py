"""A small run of fuzz/files.py (the full run: ``python fuzz/files.py --n 1000``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "onetoone_fuzz_files", Path(__file__).resolve().parents[1] / "fuzz" / "files.py"
)
assert _spec is not None and _spec.loader is not None
fz = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("onetoone_fuzz_files", fz)
_spec.loader.exec_module(fz)


def test_mutated_files_load_or_raise_format_error(tmp_path: Path) -> None:
    """50 mutations per format: each loads as a valid object or raises FormatError."""
    counts = fz.run(50, 12, tmp_path, verbose=False)
    assert set(counts) == set(fz.FORMATS)
    for fmt, c in counts.items():
        assert sum(c.values()) == 51, fmt
        assert {k: c[k] for k in fz.FAILURES} == dict.fromkeys(fz.FAILURES, 0), (fmt, c)
        assert c["ok"] >= 1 and c["format_error"] >= 25, (fmt, c)


def test_harness_reports_every_failure_and_goes_on(tmp_path: Path) -> None:
    """A crash, a hang, a memory blow-up and an error each cost one file, never the batch."""
    kinds = ["crash", "ok", "format", "hang", "error", "memory", "ok", "crash"]
    jobs = []
    for i, k in enumerate(kinds):
        p = tmp_path / f"{i}.txt"
        p.write_text(k if k != "ok" else "")
        jobs.append(("selftest", str(p)))
    results: dict[str, tuple[str, str]] = {}
    fz.run_batch(jobs, results, file_timeout=3.0)
    want = {
        "ok": "ok",
        "format": "format_error",
        "crash": "crash",
        "hang": "timeout",
        "error": "error",
        "memory": "memory",
    }
    assert [results[p][0] for _, p in jobs] == [want[k] for k in kinds]
