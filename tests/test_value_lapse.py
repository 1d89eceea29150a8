"""Lapse risk: hand-computed features, point in time, simulated lapsers, errors, persistence."""

from __future__ import annotations

import math
import os
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from scipy.stats import rankdata

import onetoone as oto
from onetoone.data import Transactions
from onetoone.errors import EmptyInputError, FormatError, ValidationError
from onetoone.value import (
    FEATURES,
    LapseModel,
    fit_lapse,
    lapse_features,
    load_lapse,
    save_lapse,
)


def _auc(score: Any, y: Any) -> float:
    r = rankdata(score)
    y = np.asarray(y, dtype=bool)
    n1 = y.sum()
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1)))


def _hand_log() -> Transactions:
    return Transactions.from_arrays(
        customer=["a", "a", "a", "a", "b", "c"],
        item=[1, 2, 1, 1, 1, 1],
        timestamp=[
            "2024-01-01T09:00",
            "2024-01-03T10:00",
            "2024-01-03T18:00",
            "2024-01-07T12:00",
            "2024-01-05T08:00",
            "2024-01-20",  # after as_of: no history at the cut, left out
        ],
        value=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )


def test_hand_computed_features() -> None:
    f = lapse_features(_hand_log(), as_of="2024-01-10", horizon_days=7)
    assert f.customers.to_list() == ["a", "b"]
    assert f.names == FEATURES
    a = dict(zip(f.names, f.values[0], strict=True))
    b = dict(zip(f.names, f.values[1], strict=True))
    # a: shopping days 1, 3, 7 (two lines on the 3rd count once); gaps 2, 4
    assert a["recency_days"] == 3.0 and a["frequency"] == 3.0 and a["tenure_days"] == 9.0
    assert a["mean_gap_days"] == 3.0 and a["sd_gap_days"] == 1.0 and a["recency_ratio"] == 1.0
    assert a["own_gap_survival"] == pytest.approx((1 + 0.5) / (2 + 1))  # one gap >= 3 of 2
    assert a["long_gaps"] == 0.0 and a["one_day"] == 0.0
    # all 3 days in the last 4 weeks, none before: log((3.5/28) / (0.5/28))
    assert a["trend_4w"] == pytest.approx(math.log(7.0))
    # spend 10 in the last 8 weeks, 0 before: log1p(10/56) - log1p(0)
    assert a["spend_trend_8w"] == pytest.approx(math.log1p(10 / 56))
    # S_a(t) = (own gaps >= t + 2 * pooled(t / 3)) / 4, pooled normalised gaps 2/3, 4/3
    # S_a(3) = (1 + 2 * 1/2) / 4 = 1/2; S_a(10) = 0 -> gap survival 0
    assert a["gap_survival"] == 0.0
    # b: one shopping day; shrunk mean gap (0 + 2 * 3) / (0 + 2) = 3
    assert b["recency_days"] == 5.0 and b["frequency"] == 1.0 and b["one_day"] == 1.0
    assert b["mean_gap_days"] == 3.0 and b["recency_ratio"] == pytest.approx(5 / 3)
    assert b["sd_gap_days"] == 0.0 and b["own_gap_survival"] == 0.5
    assert b["gap_survival"] == 1.0  # S_b(5) = 0: beyond every gap seen -> lapse
    assert np.isfinite(f.values).all()


def test_long_gaps_and_survival_ratio() -> None:
    tx = Transactions.from_arrays(
        customer=[1, 1, 1, 1],
        item=[1, 1, 1, 1],
        timestamp=["2024-01-01", "2024-01-21", "2024-01-23", "2024-02-12"],
        value=[1.0, 1.0, 1.0, 1.0],
    )
    f = lapse_features(tx, as_of="2024-02-13", horizon_days=10)
    # gaps 20, 2, 20: two longer than 10; elapsed 1 day
    assert f["long_gaps"].tolist() == [2.0]
    # S(1) = (3 + 2 * 1) / 5 = 1; S(11): own 2 of 3, pooled shape (mean 14):
    # normalised 20/14, 2/14, 20/14 >= 11/14 -> 2/3; (2 + 2 * 2/3) / 5
    assert f["gap_survival"][0] == pytest.approx((2 + 4 / 3) / 5)


def _simulate(seed: int, n: int = 600, churn_from: float = 60.0) -> tuple[Transactions, np.ndarray]:
    """Customers with their own rhythm; a third stop for good at a uniform random day."""
    rng = np.random.default_rng(seed)
    mean_gap = rng.choice([3.0, 7.0, 14.0, 28.0], size=n)
    stop = np.where(rng.random(n) < 0.33, rng.uniform(churn_from, 365.0, n), 1e9)
    cust, day = [], []
    t = rng.uniform(0, mean_gap)
    alive = np.ones(n, dtype=bool)
    while alive.any():  # over purchase rounds (vectorised over customers)
        ok = alive & (t < 365) & (t < stop)
        cust.append(np.flatnonzero(ok))
        day.append(t[ok])
        alive = ok
        t = t + rng.gamma(4.0, mean_gap / 4.0)
    c = np.concatenate(cust)
    d = np.concatenate(day)
    ts = np.datetime64("2024-01-01", "s") + (d * 86400).astype("timedelta64[s]")
    tx = Transactions.from_arrays(
        customer=c, item=np.zeros(len(c), dtype=np.int64), timestamp=ts, value=np.ones(len(c))
    )
    return tx, stop


@pytest.mark.parametrize("seed", [0, 1])
def test_simulated_lapsers_ranked_better_than_recency(seed: int) -> None:
    # known lapsers: the customers who stopped for good before as_of (day 274);
    # recency alone confuses them with slow but regular shoppers
    tx, stop = _simulate(seed, churn_from=0.0)
    as_of = np.datetime64("2024-10-01", "s")
    m = fit_lapse(tx, as_of=as_of, horizon_days=60, random_state=0)
    r = m.predict(tx, as_of=as_of)
    gone = stop[r.customers.values] < 274.0
    f = lapse_features(tx, as_of=as_of, horizon_days=60)
    auc_model, auc_rec = _auc(r.risk, gone), _auc(f["recency_days"], gone)
    assert auc_model > 0.98
    assert auc_model > auc_rec + 0.005, (auc_model, auc_rec)


def test_deterministic_and_random_state() -> None:
    tx, _ = _simulate(1, n=300)
    kw: dict[str, Any] = {"as_of": "2024-10-01", "horizon_days": 60}
    m1 = fit_lapse(tx, random_state=3, **kw)
    m2 = fit_lapse(tx, random_state=3, **kw)
    assert m1.coef.tolist() == m2.coef.tolist() and m1.intercept == m2.intercept
    assert m1.cv_logloss.tolist() == m2.cv_logloss.tolist()
    assert m1.fit_as_of == np.datetime64("2024-08-02", "s")
    # point in time: the rows at or after as_of are never read by the fit
    m3 = fit_lapse(tx.between(end="2024-10-01"), random_state=3, **kw)
    assert m3.coef.tolist() == m1.coef.tolist() and m3.intercept == m1.intercept
    assert m1.n_train + 0 == len(lapse_features(tx, as_of="2024-08-02", horizon_days=60).customers)


@st.composite
def _logs(draw: Any) -> tuple[list[int], list[int], list[float]]:
    n = draw(st.integers(2, 25))
    cust = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    secs = draw(st.lists(st.integers(0, 60 * 86400), min_size=n, max_size=n))
    vals = draw(st.lists(st.floats(0.0, 100.0), min_size=n, max_size=n))
    return cust, secs, vals


@settings(max_examples=40, deadline=None)
@given(log=_logs(), later=_logs(), cut=st.integers(1, 60 * 86400))
def test_rows_after_as_of_change_nothing(
    log: tuple[list[int], list[int], list[float]],
    later: tuple[list[int], list[int], list[float]],
    cut: int,
) -> None:
    t0 = np.datetime64("2024-01-01", "s")
    c, s, v = log
    if min(s) >= cut:
        s = [0, *s]
        c, v = [c[0], *c], [v[0], *v]
    as_of = t0 + np.timedelta64(cut, "s")
    lc, ls, lv = later
    base = Transactions.from_arrays(
        customer=c, item=[0] * len(c), timestamp=t0 + np.array(s, dtype="timedelta64[s]"), value=v
    )
    more = Transactions.from_arrays(
        customer=c + [x + 3 for x in lc],  # some new customers too
        item=[0] * (len(c) + len(lc)),
        timestamp=np.concatenate(
            [
                t0 + np.array(s, dtype="timedelta64[s]"),
                as_of + np.array(ls, dtype="timedelta64[s]"),
            ]
        ),
        value=v + lv,
    )
    if base.period[1] + np.timedelta64(30 * 86400, "s") < as_of:
        return  # as_of beyond the log: refused (tested elsewhere)
    f1 = lapse_features(base, as_of=as_of, horizon_days=30)
    f2 = lapse_features(more, as_of=as_of, horizon_days=30)
    assert f1.customers == f2.customers
    np.testing.assert_array_equal(f1.values, f2.values)
    assert np.isfinite(f1.values).all()
    m = LapseModel(
        features=FEATURES,
        profile_features=(),
        intercept=-1.0,
        coef=np.linspace(-1, 1, len(FEATURES)),
        horizon_days=30.0,
        fit_as_of=t0,
        l2=1.0,
        cv_l2=[1.0],
        cv_logloss=[0.5],
        n_train=2,
        n_lapsed=1,
        converged=True,
        elapsed_s=0.0,
    )
    np.testing.assert_array_equal(
        m.predict(base, as_of=as_of).risk, m.predict(more, as_of=as_of).risk
    )


def test_uint64_ids() -> None:
    big = np.array([2**64 - 1, 2**64 - 1, 5], dtype=np.uint64)
    tx = Transactions.from_arrays(
        customer=big,
        item=[1, 1, 1],
        timestamp=["2024-01-01", "2024-01-09", "2024-01-02"],
        value=[1.0, 1.0, 1.0],
    )
    f = lapse_features(tx, as_of="2024-01-10", horizon_days=5)
    assert f.customers.values.tolist() == [5, 2**64 - 1]
    assert f["recency_days"].tolist() == [8.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": -3.0}, "horizon_days"),
        ({"horizon_days": float("nan")}, "horizon_days"),
        ({"horizon_days": float("inf")}, "horizon_days"),
        ({"horizon_days": True}, "horizon_days"),
        ({"as_of": "2023-12-01"}, "as_of"),  # before the log
        ({"as_of": "2025-06-01"}, "as_of"),  # long after the log
        ({"as_of": 20240110}, "as_of"),
        ({"as_of": np.datetime64("NaT")}, "as_of"),
        ({"profile_features": ("nope",)}, "profile_features"),
        ({"profile_features": "monetary"}, "profile_features"),
    ],
)
def test_bad_input_features(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"as_of": "2024-01-10", "horizon_days": 7, **kwargs}
    with pytest.raises(ValidationError) as e:
        lapse_features(_hand_log(), **args)
    assert e.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_folds": 1}, "n_folds"),
        ({"horizon_days": 30}, "horizon_days"),  # training cut before the log
        ({"random_state": -1}, "random_state"),
        ({"n_folds": 21}, "n_folds"),
        ({"profile_features": ["monetary", "monetary"]}, "profile_features"),
    ],
)
def test_bad_input_fit(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"as_of": "2024-01-10", "horizon_days": 3, **kwargs}
    with pytest.raises(ValidationError) as e:
        fit_lapse(_hand_log(), **args)
    assert e.value.field == field


def test_one_class_training_cut_and_not_a_log() -> None:
    tx = Transactions.from_arrays(
        customer=[1, 1, 2, 2],
        item=[1] * 4,
        timestamp=["2024-01-01", "2024-01-09", "2024-01-01", "2024-01-09"],
        value=[1.0] * 4,
    )
    with pytest.raises(ValidationError, match="both outcomes"):
        fit_lapse(tx, as_of="2024-01-10", horizon_days=5)
    with pytest.raises(ValidationError) as e:
        lapse_features([1, 2], as_of="2024-01-10", horizon_days=5)  # type: ignore[arg-type]
    assert e.value.field == "transactions"


def test_empty_log() -> None:
    tx = _hand_log().subset(np.zeros(6, dtype=bool))  # every row filtered out
    with pytest.raises(EmptyInputError) as e:
        lapse_features(tx, as_of="2024-01-10", horizon_days=5)
    assert e.value.field == "transactions"
    with pytest.raises(EmptyInputError):
        fit_lapse(tx, as_of="2024-01-10", horizon_days=5)


def test_persistence_round_trip(tmp_path: Any) -> None:
    tx, _ = _simulate(2, n=300)
    m = fit_lapse(
        tx,
        as_of="2024-10-01",
        horizon_days=60,
        profile_features=("avg_basket_value",),
        random_state=0,
    )
    path = os.path.join(tmp_path, "lapse.npz")
    oto.save(m, path)
    m2 = oto.load(path, LapseModel)
    assert m2.features == m.features and m2.profile_features == m.profile_features
    assert m2.coef.tolist() == m.coef.tolist() and m2.fit_as_of == m.fit_as_of
    assert m2.cv_l2.tolist() == m.cv_l2.tolist() and m2.l2 == m.l2
    np.testing.assert_array_equal(
        m.predict(tx, as_of="2024-10-01").risk, m2.predict(tx, as_of="2024-10-01").risk
    )
    save_lapse(m, path)
    assert load_lapse(path).n_lapsed == m.n_lapsed
    bad = os.path.join(tmp_path, "bad.npz")
    np.savez(bad, coef=np.ones(2))
    with pytest.raises(FormatError):
        load_lapse(bad)
    with pytest.raises(ValidationError):
        save_lapse("model", path)  # type: ignore[arg-type]


@pytest.mark.slow
def test_complete_journey_development_cut_beats_recency(cj: Any) -> None:
    tx = cj.transactions
    cut = np.datetime64("2017-07-01", "s")
    h = 92.0  # 13.1 weeks to 2017-10-01
    f = lapse_features(tx, as_of=cut, horizon_days=h)
    assert len(f.customers) == 2393
    w = (tx.timestamp >= cut) & (tx.timestamp < np.datetime64("2017-10-01", "s"))
    bought = np.zeros(tx.n_customers, dtype=bool)
    bought[tx.customer[w]] = True
    y = ~bought[tx.customers.encode(f.customers.values)]
    assert int(y.sum()) == 126
    assert _auc(f["recency_days"], y) == pytest.approx(0.871, abs=5e-4)
    r = fit_lapse(tx, as_of=cut, horizon_days=h, random_state=0).predict(tx, as_of=cut)
    assert _auc(r.risk, y) > 0.89


def test_load_refuses_tampered_files(tmp_path: Any) -> None:
    from onetoone._persist import save_npz

    path = os.path.join(tmp_path, "m.npz")
    meta = {
        "features": ["recency_days"],
        "profile_features": [],
        "intercept": 0.0,
        "horizon_days": 7.0,
        "fit_as_of": "2024-01-01T00:00:00",
        "l2": 1.0,
        "n_train": 10,
        "n_lapsed": 2,
        "converged": True,
        "elapsed_s": 0.0,
    }
    arrays = {"coef": np.array([1.0]), "cv_l2": np.array([1.0]), "cv_logloss": np.array([0.3])}
    save_npz(path, kind="LapseModel", version=1, arrays=arrays, meta=meta)
    assert load_lapse(path).features == ("recency_days",)
    for bad_meta, bad_arrays in [
        ({**meta, "features": ["rm -rf"]}, arrays),  # unknown feature
        ({**meta, "fit_as_of": "yesterday"}, arrays),  # not a time
        ({**meta, "horizon_days": -1.0}, arrays),
        (meta, {**arrays, "coef": np.array([np.nan])}),
        (meta, {**arrays, "coef": np.array([1.0, 2.0])}),  # one coefficient per feature
    ]:
        save_npz(path, kind="LapseModel", version=1, arrays=bad_arrays, meta=bad_meta)
        with pytest.raises(FormatError):
            load_lapse(path)
    save_npz(path, kind="LapseModel", version=2, arrays=arrays, meta=meta)
    with pytest.raises(FormatError, match="format_version"):
        oto.load(path)


def test_one_row_log() -> None:
    tx = Transactions.from_arrays(
        customer=[9], item=[1], timestamp=["2024-03-01T10:00"], value=[2.5]
    )
    f = lapse_features(tx, as_of="2024-03-03", horizon_days=14)
    assert f.customers.to_list() == [9]
    assert f["recency_days"].tolist() == [2.0] and f["one_day"].tolist() == [1.0]
    assert np.isfinite(f.values).all()
    with pytest.raises(ValidationError):  # the training cut is before the only row
        fit_lapse(tx, as_of="2024-03-03", horizon_days=14)
