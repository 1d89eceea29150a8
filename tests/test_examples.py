"""Every script in examples/ runs (as a user would run it) and exits cleanly."""

from __future__ import annotations

import math
import os
import re
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
    if script.name == "uplift_loop.py":
        _check_uplift_loop(proc.stdout)


_NUM = r"([+-]?[\d.]+)"
_CI = rf"{_NUM} \[{_NUM}, {_NUM}\]"


def _check_uplift_loop(out: str) -> None:
    """The loop's key figures, loosely: a measured pilot, a feasible plan, finite estimates."""
    # 1. the pilot: both e-mails measured, sample ratio checked, lift and ROI with intervals
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        line = next(ln for ln in out.splitlines() if ln.startswith(arm))
        assert "sample ratio ok" in line
        nums = re.search(rf"lift \${_CI}", line)
        assert nums, line
        est, lo, hi = (float(g) for g in nums.groups())
        assert lo < est < hi and 0.0 < est < 2.0, line  # published: +0.77 / +0.43 per customer
        assert re.search(r"ROI [+-]\d+% \[[+-]\d+%, [+-]\d+%\]", line), line
    # 3. the plan: within the budget (30 % of the next half), at most one e-mail per customer
    m = re.search(r"budget 'e-mails': spend ([\d,.]+) of ([\d,.]+)", out)
    assert m, out
    spend, limit = (float(g.replace(",", "")) for g in m.groups())
    assert spend <= limit
    m = re.search(r"allocation \(\w+\): (\d+) offers to (\d+) customers", out)
    assert m and m.group(1) == m.group(2), "one e-mail per customer"
    m = re.search(r"e-mails: ([\d,]+) of ([\d,]+) customers", out)
    assert m, out
    sent, n = (int(g.replace(",", "")) for g in m.groups())
    assert 0 < sent <= 0.3 * n + 1
    # 4. measured again: the policy's value and both differences, finite, with intervals
    m = re.search(rf"allocated policy, value +IPS {_CI}", out)
    assert m, out
    est, lo, hi = (float(g) for g in m.groups())
    assert all(math.isfinite(v) for v in (est, lo, hi)) and lo < est < hi
    assert -1.0 < est < 1.0  # dollars of profit per customer
    diffs = re.findall(rf"allocated minus .+ IPS {_CI} p=[\d.]+; DR {_CI} p=[\d.]+", out)
    assert len(diffs) == 2, out
    for d in diffs:
        v = [float(g) for g in d]
        assert all(math.isfinite(x) for x in v)
        assert v[1] < v[0] < v[2] and v[4] < v[3] < v[5]
