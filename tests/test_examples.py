"""Every script in examples/ runs (as a user would run it) and exits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = dict(os.environ, ONETOONE_OUT=str(tmp_path), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert proc.stdout.strip(), f"{script.name} printed nothing"
    if script.name == "demo.py":  # the main job's files: the report and the saved plan
        from onetoone import Plan, load

        assert (tmp_path / "campaign_8.html").stat().st_size > 0
        plan = load(tmp_path / "campaign_8_plan.npz", Plan)
        assert len(plan) > 0
        assert plan.customers.kind == "int"
        assert (tmp_path / "campaign_8_plan.parquet").stat().st_size > 0
        # step 6: the ten households with the most value at risk, and what they are worth
        tail = proc.stdout.split("== 6.")[1]
        assert "lapse risk" in tail and "at risk $" in tail
        assert len(tail.strip().splitlines()) >= 14
        # step 7: the plan's lapsing households, shown in the report with the measured subgroup
        assert "households at risk of lapsing" in proc.stdout.split("== 7.")[1]
        page = (tmp_path / "campaign_8.html").read_text(encoding="utf-8")
        assert "<h2>Lapsing customers in this campaign</h2>" in page
        assert "Measured effect on the at-risk customers" in page
