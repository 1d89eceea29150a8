"""The Hillstrom randomised e-mail experiment: arm figures and Welch exactly as scipy."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from onetoone.data import Transactions
from onetoone.datasets import HILLSTROM_SHA256, hillstrom
from onetoone.measurement import compare_arms, measure_campaign

ROOT = Path(__file__).resolve().parents[1]


def _path() -> Path | None:
    base = os.environ.get("ONETOONE_SHARED_DATA")
    return Path(base) / "hillstrom.csv" if base else None


@functools.cache
def _data() -> dict[str, np.ndarray]:
    t = hillstrom(_path())
    return {
        "segment": t["segment"],
        "history": t["history"],
        "visit": t["visit"].astype(float),
        "conversion": t["conversion"].astype(float),
        "spend": t["spend"],
    }


def test_shipped_copy_is_the_published_file() -> None:
    ref = resources.files("onetoone").joinpath("_data/hillstrom.csv.gz")
    with ref.open("rb") as raw, gzip.open(raw, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == HILLSTROM_SHA256
    shared = ROOT.parent / "shared" / "data" / "hillstrom.csv"
    if shared.exists():  # the workplace copy, when present, is the same file
        assert hashlib.sha256(shared.read_bytes()).hexdigest() == HILLSTROM_SHA256


def test_published_arm_figures() -> None:
    d = _data()
    assert len(d["spend"]) == 64_000
    published = {  # README beside the data: visit, conversion, spend per customer
        "Mens E-Mail": (21_307, 0.183, 0.0125, 1.42),
        "Womens E-Mail": (21_387, 0.151, 0.0088, 1.08),
        "No E-Mail": (21_306, 0.106, 0.0057, 0.65),
    }
    for arm, (n, visit, conv, spend) in published.items():
        sel = d["segment"] == arm
        cmp = compare_arms(d["visit"][sel], d["visit"][~sel])
        assert int(sel.sum()) == n == cmp.n_treated
        assert round(cmp.mean_treated, 3) == visit
        assert round(float(d["conversion"][sel].mean()), 4) == conv
        assert round(float(d["spend"][sel].mean()), 2) == spend


@pytest.mark.parametrize("arm", ["Mens E-Mail", "Womens E-Mail"])
def test_spend_lift_exactly_as_scipy_via_arrays_and_via_a_log(arm: str) -> None:
    d = _data()
    t = d["segment"] == arm
    c = d["segment"] == "No E-Mail"
    cmp = compare_arms(
        d["spend"][t],
        d["spend"][c],
        covariate_treated=d["history"][t],
        covariate_control=d["history"][c],
    )
    ref = scipy.stats.ttest_ind(d["spend"][t], d["spend"][c], equal_var=False)
    ci = ref.confidence_interval(confidence_level=0.95)
    assert (cmp.welch.ci_low, cmp.welch.ci_high) == (ci.low, ci.high)
    assert (cmp.welch.p_value, cmp.welch.df) == (ref.pvalue, ref.df)
    # honest CUPED: past-year spend barely predicts two-week spend here
    assert 0.0 < cmp.variance_reduction < 0.002
    assert abs(cmp.correlation) < 0.05

    # the same experiment as a transaction log: a pre-period row per customer, a row per buyer
    n = len(d["spend"])
    ids = np.arange(n)
    buy = d["spend"] > 0
    tx = Transactions.from_arrays(
        customer=np.r_[ids, ids[buy]],
        item=np.zeros(n + int(buy.sum()), dtype=np.int64),
        timestamp=np.r_[
            np.full(n, "2007-12-01", dtype="datetime64[s]"),
            np.full(int(buy.sum()), "2008-06-02", dtype="datetime64[s]"),
        ],
        value=np.r_[d["history"], d["spend"][buy]],
    )
    res = measure_campaign(
        tx,
        treated=ids[t],
        control=ids[c],
        start="2008-06-01",
        end="2008-06-15",
        pre_period=("2007-06-01", "2008-06-01"),
        cost=0.1 * int(t.sum()),
    )
    assert res.revenue.welch == cmp.welch
    assert res.revenue.cuped == cmp.cuped
    assert res.treated.spend_per_customer == pytest.approx(d["spend"][t].mean(), rel=1e-12)
    assert res.control.visit_rate == pytest.approx(d["conversion"][c].mean(), rel=1e-12)
    assert res.treated.pre_spend_per_customer == pytest.approx(d["history"][t].mean())
