"""onetoone.value: summary, BG/NBD, MBG/NBD, Gamma-Gamma, CLV (issue 16).

Known answers: the CDNOW figures of Fader, Hardie & Lee (2005) (asserted by
``lifetimes``' tests too), a hand-made log, a likelihood computed by hand.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import onetoone as oto
from onetoone.data import Transactions
from onetoone.datasets import cdnow
from onetoone.errors import EmptyInputError, FormatError, LengthMismatchError, ValidationError
from onetoone.value import (
    CustomerValue,
    FrequencyModel,
    PurchaseSummary,
    SpendModel,
    customer_value,
    expected_purchases,
    expected_spend,
    fit_frequency,
    fit_spend,
    p_alive,
    purchase_summary,
    unconditional_purchases,
)
from onetoone.value._models import (
    _alive_expectation,
    _alive_expectation_quad,
    _freq_terms,
    _spend_terms,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.exists():  # a worktree under /work/wt/NAME
    SHARED = Path("/work/shared/data")
CAL_END = "1997-10-01"  # exclusive: weeks 1-39 end on 1997-09-30


@pytest.fixture(scope="module")
def tx() -> Transactions:
    return cdnow()


@pytest.fixture(scope="module")
def cal(tx: Transactions) -> PurchaseSummary:
    return purchase_summary(tx, as_of=CAL_END, unit="W")


@pytest.fixture(scope="module")
def bg(cal: PurchaseSummary) -> FrequencyModel:
    return fit_frequency(cal)


@pytest.fixture(scope="module")
def gg(cal: PurchaseSummary) -> SpendModel:
    return fit_spend(cal)


# ---------------------------------------------------------------- CDNOW known answers


@pytest.mark.skipif(not (SHARED / "cdnow_customers_summary.csv").exists(), reason="no shared data")
def test_cdnow_summary_equals_published_table(cal: PurchaseSummary) -> None:
    with open(SHARED / "cdnow_customers_summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert cal.n_customers == len(rows) == 2357
    assert cal.customers.values.tolist() == [int(r["ID"]) for r in rows]
    assert cal.frequency.tolist() == [int(r["frequency"]) for r in rows]
    np.testing.assert_array_equal(np.round(cal.recency, 2), [float(r["recency"]) for r in rows])
    np.testing.assert_array_equal(np.round(cal.T, 2), [float(r["T"]) for r in rows])
    assert cal.n_without_purchase == 0 and cal.unit_days == 7.0


def test_cdnow_monetary_is_fader_hardie(cal: PurchaseSummary) -> None:
    rep = cal.frequency > 0
    assert int(rep.sum()) == 946  # the Gamma-Gamma note's repeat customers
    assert round(float(cal.monetary[rep].mean()), 2) == 35.08  # their mean, $35.08
    # customer 1: repeat purchases 1997-01-18 ($29.73) and 1997-08-02 ($14.96)
    assert cal.monetary[0] == pytest.approx((29.73 + 14.96) / 2)


def test_bgnbd_cdnow_parameters(bg: FrequencyModel) -> None:
    got = [round(bg.params[k], 3) for k in ("r", "alpha", "a", "b")]
    assert got == [0.243, 4.414, 0.793, 2.426]
    assert bg.success and bg.status == 0
    assert bg.log_likelihood == pytest.approx(-9582.43, abs=0.01)  # lifetimes' value
    assert all(0 < v < 1 for v in bg.std_errors.values())


def test_bgnbd_conditional_expectation_published(bg: FrequencyModel) -> None:
    one = PurchaseSummary.from_arrays(frequency=[2], recency=[30.43], T=[38.86])
    assert round(float(expected_purchases(bg, one, 39.0)[0]), 3) == 1.226


def test_mbgnbd_cdnow_parameters(cal: PurchaseSummary) -> None:
    m = fit_frequency(cal, method="mbgnbd")
    # BTYDplus / lifetimes' ModifiedBetaGeoFitter on the same summary
    assert [round(m.params[k], 3) for k in ("r", "alpha", "a", "b")] == [0.525, 6.183, 0.891, 1.614]


def test_gamma_gamma_cdnow_parameters(gg: SpendModel) -> None:
    assert [round(gg.params[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert gg.n_customers == 946 and gg.success


def test_holdout_cumulative_repeat_purchases(tx: Transactions, bg: FrequencyModel) -> None:
    """Weeks 40-78: the cohort's cumulative repeat purchases at week 78 (FHL 2005, fig. 1)."""
    full = purchase_summary(tx, as_of="1998-07-01", unit="W")  # to the end of week 78
    actual = int(full.frequency.sum())
    predicted = float(unconditional_purchases(bg, full.T).sum())
    assert actual == 4339
    assert abs(predicted / actual - 1) < 0.05  # measured: 4,161 (-4.1 %)


def test_holdout_conditional_expectation_tracks_actual(
    tx: Transactions, cal: PurchaseSummary, bg: FrequencyModel
) -> None:
    full = purchase_summary(tx, as_of="1998-07-01", unit="W")
    actual = full.frequency - cal.frequency  # repeat purchases in weeks 40-78 (same customers)
    pred = expected_purchases(bg, cal, 39.0)
    assert abs(pred.sum() / actual.sum() - 1) < 0.15  # measured 1,653 vs 1,882
    # ranking: customers predicted to buy more do buy more
    assert np.corrcoef(pred, actual)[0, 1] > 0.5


# ---------------------------------------------------------------- hand-made log


def _hand_log() -> Transactions:
    return Transactions.from_arrays(
        customer=["a", "a", "a", "a", "a", "b", "c", "c"],
        item=[1, 2, 1, 1, 3, 1, 1, 2],
        timestamp=["2024-01-01", "2024-01-01 20:00", "2024-01-08 09:00", "2024-01-08 17:00",
                   "2024-01-22", "2024-01-10", "2024-01-03", "2024-02-01"],
        value=[5.0, 1.0, 2.0, 4.0, 9.0, 7.0, 3.0, 100.0],
    )


def test_hand_made_summary() -> None:
    s = purchase_summary(_hand_log(), as_of="2024-01-29", unit="D")
    # a: days 1, 8, 22 -> x = 2, t_x = 21, T = 28 - 1 = 27; repeat spend (6 + 9) / 2
    # b: day 10 -> x = 0, T = 18; c: day 3 (day 32 is after as_of) -> x = 0, T = 25
    assert s.customers.to_list() == ["a", "b", "c"]
    assert s.frequency.tolist() == [2, 0, 0]
    assert s.recency.tolist() == [21.0, 0.0, 0.0]
    assert s.T.tolist() == [27.0, 18.0, 25.0]
    assert s.monetary.tolist() == [7.5, 0.0, 0.0]
    w = purchase_summary(_hand_log(), as_of="2024-01-29", unit="W")
    np.testing.assert_allclose(w.recency, s.recency / 7)
    f = purchase_summary(_hand_log(), as_of="2024-01-29", unit=0.5)
    np.testing.assert_allclose(f.T, s.T * 2)


def test_as_of_with_a_time_of_day_includes_that_day() -> None:
    s = purchase_summary(_hand_log(), as_of="2024-01-22 12:00", unit="D")
    assert s.frequency[0] == 2 and s.recency[0] == 21.0 and s.T[0] == 21.0


def test_hand_computed_bgnbd_likelihood() -> None:
    """FHL 2005 eq. 6 with plain gamma functions for x = 2, t_x = 21, T = 27."""
    r, alpha, a, b = 0.5, 3.0, 0.8, 2.5
    x, tx, T = 2, 21.0, 27.0
    B = special.beta
    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    lik = (B(a, b + x) / B(a, b) * common / (alpha + T) ** (r + x)
           + B(a + 1, b + x - 1) / B(a, b) * common / (alpha + tx) ** (r + x))
    ll, _ = _freq_terms("bgnbd", np.array([r, alpha, a, b]), np.array([2.0]), np.array([tx]),
                        np.array([T]), grad=False)
    assert ll[0] == pytest.approx(math.log(lik), rel=1e-12)
    # x = 0: only the first term
    ll0, _ = _freq_terms("bgnbd", np.array([r, alpha, a, b]), np.zeros(1), np.zeros(1),
                         np.array([T]), grad=False)
    assert ll0[0] == pytest.approx(math.log((alpha / (alpha + T)) ** r), rel=1e-12)


def test_hand_computed_mbgnbd_and_gamma_gamma_likelihoods() -> None:
    r, alpha, a, b = 0.5, 3.0, 0.8, 2.5
    B = special.beta
    # MBG/NBD, x = 0: alive throughout with no purchase, or gone right after the first one
    T = 10.0
    lik = (B(a, b + 1) * (alpha / (alpha + T)) ** r + B(a + 1, b)) / B(a, b)
    ll, _ = _freq_terms("mbgnbd", np.array([r, alpha, a, b]), np.zeros(1), np.zeros(1),
                        np.array([T]), grad=False)
    assert ll[0] == pytest.approx(math.log(lik), rel=1e-12)
    # Gamma-Gamma: mean m of x purchases, z_bar ~ Gamma(px, nu x), nu ~ Gamma(q, gamma)
    p, q, g, x, m = 6.0, 3.5, 15.0, 3.0, 40.0
    dens = (math.gamma(p * x + q) / (math.gamma(p * x) * math.gamma(q)) * g**q
            * m ** (p * x - 1) * x ** (p * x) / (g + m * x) ** (p * x + q))
    ll, _ = _spend_terms(np.array([p, q, g]), np.array([x]), np.array([m]), grad=False)
    assert ll[0] == pytest.approx(math.log(dens), rel=1e-10)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("method", ["bgnbd", "mbgnbd"])
def test_frequency_gradient_matches_finite_differences(
    method: str, cal: PurchaseSummary
) -> None:
    x = cal.frequency.astype(float)
    for theta in ([0.24, 4.4, 0.79, 2.4], [1.7, 0.3, 3.0, 0.6]):
        th = np.array(theta)
        _, g = _freq_terms(method, th, x, cal.recency, cal.T, grad=True)
        assert g is not None
        for j in range(4):
            h = 1e-6 * th[j]
            up, dn = th.copy(), th.copy()
            up[j] += h
            dn[j] -= h
            fd = (_freq_terms(method, up, x, cal.recency, cal.T, grad=False)[0].sum()
                  - _freq_terms(method, dn, x, cal.recency, cal.T, grad=False)[0].sum()) / (2 * h)
            assert g[j].sum() == pytest.approx(fd, rel=1e-5, abs=1e-4)


def test_spend_gradient_matches_finite_differences(cal: PurchaseSummary) -> None:
    rep = cal.frequency > 0
    x, m = cal.frequency[rep].astype(float), cal.monetary[rep]
    th = np.array([6.0, 3.0, 12.0])
    _, g = _spend_terms(th, x, m, grad=True)
    assert g is not None
    for j in range(3):
        h = 1e-6 * th[j]
        up, dn = th.copy(), th.copy()
        up[j] += h
        dn[j] -= h
        fd = (_spend_terms(up, x, m, grad=False)[0].sum()
              - _spend_terms(dn, x, m, grad=False)[0].sum()) / (2 * h)
        assert g[j].sum() == pytest.approx(fd, rel=1e-5)


# ---------------------------------------------------------------- point in time


def test_rows_after_as_of_change_nothing(tx: Transactions, cal: PurchaseSummary) -> None:
    early = tx.between(end=CAL_END)
    again = purchase_summary(early, as_of=CAL_END, unit="W")
    for name in ("frequency", "recency", "T", "monetary"):
        np.testing.assert_array_equal(getattr(again, name), getattr(cal, name))
    assert again.customers == cal.customers


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60), st.floats(0.0, 50.0)),
                min_size=1, max_size=30),
       st.integers(1, 70))
def test_point_in_time_property(rows: list[tuple[int, int, float]], cut: int) -> None:
    day0 = np.datetime64("2024-01-01")
    cust = [c for c, _, _ in rows]
    ts = [day0 + np.timedelta64(d, "D") for _, d, _ in rows]
    val = [v for _, _, v in rows]
    as_of = day0 + np.timedelta64(cut, "D")
    full = Transactions.from_arrays(customer=cust, item=[0] * len(rows), timestamp=ts, value=val)
    keep = [i for i, t in enumerate(ts) if t < as_of]
    if not keep:
        with pytest.raises(EmptyInputError):
            purchase_summary(full, as_of=as_of, unit="D")
        return
    part = Transactions.from_arrays(customer=[cust[i] for i in keep], item=[0] * len(keep),
                                    timestamp=[ts[i] for i in keep], value=[val[i] for i in keep])
    a = purchase_summary(full, as_of=as_of, unit="D")
    b = purchase_summary(part, as_of=as_of, unit="D")
    assert a.customers == b.customers
    for name in ("frequency", "recency", "T", "monetary"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # same-day purchases count once: frequency + 1 = distinct purchase days
    days = {(cust[i], ts[i]) for i in keep}
    assert int(a.frequency.sum()) + a.n_customers == len(days)


# ---------------------------------------------------------------- predictions


def test_p_alive_and_predictions_are_sane(bg: FrequencyModel, cal: PurchaseSummary) -> None:
    pa = p_alive(bg, cal)
    assert np.all((pa >= 0) & (pa <= 1))
    assert np.all(pa[cal.frequency == 0] == 1.0)  # BG/NBD: no repeat purchase, never died
    e1, e2 = expected_purchases(bg, cal, 10.0), expected_purchases(bg, cal, 20.0)
    assert np.all(e2 >= e1) and np.all(e1 >= 0)
    assert np.all(expected_purchases(bg, cal, 0.0) == 0)


def test_quadrature_agrees_with_closed_form(bg: FrequencyModel) -> None:
    x = np.array([0.0, 1.0, 5.0, 40.0])
    T = np.array([5.0, 20.0, 38.0, 38.0])
    closed = _alive_expectation(bg, x, T, 39.0)
    r, alpha, a, b = (bg.params[k] for k in ("r", "alpha", "a", "b"))
    quad = _alive_expectation_quad(a, b + x, r + x, alpha + T, 39.0)
    np.testing.assert_allclose(closed, quad, rtol=1e-8)


def test_a_equal_one_uses_quadrature() -> None:
    m = FrequencyModel("bgnbd", {"r": 0.5, "alpha": 4.0, "a": 1.0, "b": 2.0})
    s = PurchaseSummary.from_arrays(frequency=[0, 3], recency=[0.0, 10.0], T=[20.0, 20.0])
    e = expected_purchases(m, s, 30.0)
    assert np.all(np.isfinite(e)) and np.all(e > 0)
    near = FrequencyModel("bgnbd", {"r": 0.5, "alpha": 4.0, "a": 1.01, "b": 2.0})
    np.testing.assert_allclose(e, expected_purchases(near, s, 30.0), rtol=1e-2)


def test_expected_spend_shrinks_to_population_mean(gg: SpendModel, cal: PurchaseSummary) -> None:
    e = expected_spend(gg, cal)
    pop = gg.mean_spend
    assert np.all(e[cal.frequency == 0] == pytest.approx(pop))
    rep = cal.frequency > 0
    own = cal.monetary[rep]
    lo, hi = np.minimum(own, pop), np.maximum(own, pop)
    assert np.all((e[rep] >= lo - 1e-9) & (e[rep] <= hi + 1e-9))


def test_customer_value_formula(bg: FrequencyModel, gg: SpendModel, cal: PurchaseSummary) -> None:
    v = customer_value(bg, gg, cal, horizon=12.0, period=4.0, discount_rate=0.1, margin=0.3)
    e = [expected_purchases(bg, cal, t) for t in (0.0, 4.0, 8.0, 12.0)]
    want = 0.3 * expected_spend(gg, cal) * sum(
        (e[k] - e[k - 1]) / 1.1**k for k in (1, 2, 3)
    )
    np.testing.assert_allclose(v.clv, want, rtol=1e-10)
    np.testing.assert_allclose(v.expected_purchases, e[3], rtol=1e-12)
    undiscounted = customer_value(bg, gg, cal, horizon=12.0, period=5.0)  # 5, 10, 12
    np.testing.assert_allclose(undiscounted.clv, expected_spend(gg, cal) * e[3], rtol=1e-10)
    assert v.customers == cal.customers


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10**6),
    st.floats(0.0, 1.0),
    st.floats(1e-6, 1e6),
    st.floats(1e-3, 1e7),
    st.sampled_from(["bgnbd", "mbgnbd"]),
    st.tuples(*(st.floats(1e-4, 1e4) for _ in range(4))),
    st.floats(0.0, 1e4),
)
def test_clv_never_nan_or_negative(
    x: int, frac: float, T: float, monetary: float, method: str,
    params: tuple[float, float, float, float], horizon: float,
) -> None:
    tx = frac * T if x > 0 else 0.0
    s = PurchaseSummary.from_arrays(frequency=[x, 0], recency=[tx, 0.0], T=[T, T],
                                    monetary=[monetary if x else 0.0, 0.0])
    m = FrequencyModel(method, dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    g = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44})
    v = customer_value(m, g, s, horizon=horizon, period=max(horizon / 20, 1e-3),
                       discount_rate=0.01)
    for col in (v.clv, v.p_alive, v.expected_purchases, v.expected_spend):
        assert np.all(np.isfinite(col)) and np.all(col >= 0)
    assert np.all(v.p_alive <= 1)


def test_customer_value_reindex(bg: FrequencyModel, gg: SpendModel, cal: PurchaseSummary) -> None:
    v = customer_value(bg, gg, cal, horizon=52.0)
    other = oto.IdIndex.from_values([3, 1, 99999])
    r = v.reindex(other, fill=0.0)
    assert r.customers == other
    assert r.clv.tolist() == [v.clv[0], v.clv[2], 0.0]
    assert isinstance(r, CustomerValue)


def test_unit_invariance(tx: Transactions, cal: PurchaseSummary, bg: FrequencyModel) -> None:
    days = purchase_summary(tx, as_of=CAL_END, unit="D")
    m = fit_frequency(days)
    assert m.params["alpha"] == pytest.approx(7 * bg.params["alpha"], rel=1e-4)
    for k in ("r", "a", "b"):
        assert m.params[k] == pytest.approx(bg.params[k], rel=1e-4)
    np.testing.assert_allclose(p_alive(m, days), p_alive(bg, cal), rtol=1e-4)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"monetary": [-1.0, 0.0]}, "monetary", "monetary must be >= 0"),
        ({"recency": [9.0, 0.0]}, "recency", "recency must be <= T"),
        ({"frequency": [0, 0]}, "recency", "must be 0 when frequency is 0"),
        ({"T": [float("nan"), 5.0]}, "T", "T must be finite"),
        ({"recency": [1.0, float("inf")]}, "recency", "recency must be finite"),
        ({"frequency": [1.5, 0]}, "frequency", "whole numbers"),
        ({"frequency": [-1, 0]}, "frequency", "whole numbers"),
        ({"monetary": [5.0, 3.0]}, "monetary", "must be 0 when frequency is 0"),
    ],
)
def test_summary_validation(kwargs: dict[str, object], field: str, match: str) -> None:
    base: dict[str, object] = {"frequency": [2, 0], "recency": [3.0, 0.0], "T": [8.0, 5.0],
                               "monetary": [10.0, 0.0]}
    base.update(kwargs)
    with pytest.raises(ValidationError, match=match) as info:
        PurchaseSummary.from_arrays(**base)  # type: ignore[arg-type]
    assert info.value.field == field


def test_summary_empty_and_lengths() -> None:
    with pytest.raises(EmptyInputError) as info:
        PurchaseSummary.from_arrays(frequency=[], recency=[], T=[])
    assert info.value.field == "frequency"
    with pytest.raises(LengthMismatchError) as info2:
        PurchaseSummary.from_arrays(frequency=[1, 0], recency=[1.0], T=[2.0, 2.0])
    assert info2.value.field == "recency"
    with pytest.raises(ValidationError, match="duplicate") as info3:
        PurchaseSummary.from_arrays(frequency=[0, 0], recency=[0.0, 0.0], T=[1.0, 1.0],
                                    customer_ids=[5, 5])
    assert info3.value.field == "customer_ids"


def test_summary_from_arrays_orders_by_id() -> None:
    s = PurchaseSummary.from_arrays(frequency=[1, 0], recency=[2.0, 0.0], T=[3.0, 4.0],
                                    customer_ids=["z", "a"])
    assert s.customers.to_list() == ["a", "z"] and s.T.tolist() == [4.0, 3.0]
    assert not s.T.flags.writeable


def test_purchase_summary_iv(tx: Transactions) -> None:
    with pytest.raises(ValidationError, match="unit must be") as info:
        purchase_summary(tx, as_of=CAL_END, unit="M")
    assert info.value.field == "unit"
    with pytest.raises(ValidationError) as info2:
        purchase_summary(tx, as_of=CAL_END, unit=-7.0)
    assert info2.value.field == "unit"
    with pytest.raises(ValidationError) as info3:
        purchase_summary(tx, as_of=19971001, unit="W")
    assert info3.value.field == "as_of"
    with pytest.raises(EmptyInputError) as info4:
        purchase_summary(tx, as_of="1990-01-01")
    assert info4.value.field == "as_of"
    with pytest.raises(ValidationError) as info5:
        purchase_summary("log", as_of=CAL_END)  # type: ignore[arg-type]
    assert info5.value.field == "transactions"


def test_negative_net_spend_is_refused() -> None:
    log = Transactions.from_arrays(
        customer=[1, 1, 1], item=[1, 1, 2], timestamp=["2024-01-01", "2024-01-05", "2024-01-05"],
        value=[5.0, 2.0, -9.0], quantity=[1, 1, -1], returns="keep")
    with pytest.raises(ValidationError, match="negative net spend") as info:
        purchase_summary(log, as_of="2024-02-01")
    assert info.value.field == "monetary"


def test_fit_iv(cal: PurchaseSummary) -> None:
    with pytest.raises(ValidationError, match="method must be") as info:
        fit_frequency(cal, method="pareto")  # type: ignore[arg-type]
    assert info.value.field == "method"
    with pytest.raises(ValidationError) as info2:
        fit_frequency("summary")  # type: ignore[arg-type]
    assert info2.value.field == "summary"
    zero = PurchaseSummary.from_arrays(frequency=[1, 2, 3], recency=[1.0, 2.0, 3.0],
                                       T=[5.0] * 3, monetary=[1.0, 0.0, 2.0])
    with pytest.raises(ValidationError, match="monetary must be > 0") as info3:
        fit_spend(zero)
    assert info3.value.field == "monetary"
    with pytest.raises(ValidationError, match="horizon") as info4:
        customer_value(fit_frequency(cal), fit_spend(cal), cal, horizon=-1.0)
    assert info4.value.field == "horizon"
    with pytest.raises(ValidationError, match="q = ") as info5:
        expected_spend(SpendModel({"p": 1.0, "q": 0.9, "gamma": 1.0}), cal)
    assert info5.value.field == "model"


def test_no_repeat_purchases_is_refused() -> None:
    s = PurchaseSummary.from_arrays(frequency=[0] * 50, recency=[0.0] * 50,
                                    T=np.linspace(1, 30, 50))
    with pytest.raises(ValidationError, match="no customer in the summary has a repeat") as info:
        fit_frequency(s)
    assert info.value.field == "summary"


def test_jacobi_rule_matches_scipy() -> None:
    from onetoone.value._models import _jacobi_rule

    for al, be in ((0.5, -0.3), (3.0, 2.0), (-0.5, 0.5), (40.0, 0.2)):
        s, w = _jacobi_rule(20, al, be)
        s0, w0 = special.roots_jacobi(20, al, be)
        np.testing.assert_allclose(s, s0, atol=1e-10)
        np.testing.assert_allclose(w, w0 / w0.sum(), atol=1e-10)


# ---------------------------------------------------------------- persistence


def test_save_load_round_trip(tmp_path: Path, bg: FrequencyModel, gg: SpendModel) -> None:
    for model in (bg, gg):
        path = tmp_path / f"{type(model).__name__}.npz"
        oto.save(model, path)
        back = oto.load(path, type(model))
        assert back == model
    with pytest.raises(FormatError, match="not a FrequencyModel"):
        oto.load(tmp_path / "SpendModel.npz", FrequencyModel)


def test_load_refuses_bad_parameters(tmp_path: Path) -> None:
    from onetoone._persist import save_npz

    path = os.path.join(tmp_path, "bad.npz")
    save_npz(path, kind="SpendModel", version=1, arrays={"params": np.array([1.0, -2.0, 3.0])},
             meta={"log_likelihood": None, "n_customers": 1, "success": True, "status": 0,
                   "message": "", "iterations": 0, "elapsed_s": 0.0})
    with pytest.raises(FormatError):
        oto.load(path)


def test_bundled_cdnow_is_the_raw_file() -> None:
    import gzip
    import hashlib
    from importlib import resources

    from onetoone.datasets import CDNOW_SHA256

    raw = resources.files("onetoone").joinpath("_data/cdnow_sample.csv.gz").read_bytes()
    text = gzip.decompress(raw)
    assert hashlib.sha256(text).hexdigest() == CDNOW_SHA256
    if (SHARED / "CDNOW_sample.txt").exists():
        with open(SHARED / "CDNOW_sample.txt") as f:
            want = [line.split() for line in f]
        assert [r.split(",") for r in text.decode().splitlines()[1:]] == want


@pytest.mark.parametrize("method", ["bgnbd", "mbgnbd"])
def test_fast_sum_equals_per_customer_terms(method: str, cal: PurchaseSummary) -> None:
    from onetoone.value._models import _freq_sum

    x = cal.frequency.astype(float)
    ux, inv = np.unique(x, return_inverse=True)
    th = np.array([0.3, 4.0, 0.8, 2.0])
    total, g = _freq_sum(method, th, ux, inv, cal.recency, cal.T, grad=True)
    ll, g2 = _freq_terms(method, th, x, cal.recency, cal.T, grad=True)
    assert g2 is not None
    assert total == pytest.approx(ll.sum(), rel=1e-13)
    np.testing.assert_allclose(g, g2.sum(axis=1), rtol=1e-10)


def test_uint64_ids_and_one_row() -> None:
    big = np.array([2**64 - 1, 2**64 - 1, 5], dtype=np.uint64)
    log = Transactions.from_arrays(customer=big, item=[1, 1, 1],
                                   timestamp=["2024-01-01", "2024-01-03", "2024-01-02"],
                                   value=[1.0, 2.0, 3.0])
    s = purchase_summary(log, as_of="2024-01-04", unit="D")
    assert s.customers.values.dtype == np.uint64
    assert s.customers.to_list() == [5, 2**64 - 1]
    assert s.frequency.tolist() == [0, 1] and s.monetary.tolist() == [0.0, 2.0]
    one = purchase_summary(log, as_of="2024-01-02", unit="D")  # only the first row
    assert one.n_customers == 1 and one.T.tolist() == [0.0] and one.n_without_purchase == 1


def test_frequency_model_validates() -> None:
    with pytest.raises(ValidationError, match="params must be a mapping") as info:
        FrequencyModel("bgnbd", {"r": 1.0})
    assert info.value.field == "params"
    with pytest.raises(ValidationError) as info2:
        FrequencyModel("bgnbd", {"r": 1.0, "alpha": -1.0, "a": 1.0, "b": 1.0})
    assert info2.value.field == "params['alpha']"
    with pytest.raises(ValidationError) as info3:
        FrequencyModel("bgnbd", {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, unit_days=0.0)
    assert info3.value.field == "unit_days"


@pytest.mark.slow
def test_complete_journey_beats_the_naive_rate(cj: object) -> None:
    """Issue 16's development cut: calibrate before 2017-07-01, predict to 2017-10-01."""
    tx = cj.transactions  # type: ignore[attr-defined]
    cal = purchase_summary(tx, as_of="2017-07-01", unit="W")
    full = purchase_summary(tx, as_of="2017-10-01", unit="W")
    hold = full.frequency[full.customers.encode(cal.customers.values)] - cal.frequency
    assert cal.n_customers == 2393 and int((hold == 0).sum()) == 126
    horizon = 92 / 7
    naive = np.divide(cal.frequency, cal.T, out=np.zeros(len(cal.T)), where=cal.T > 0) * horizon
    mae_naive = float(np.abs(naive - hold).mean())
    for method in ("bgnbd", "mbgnbd"):
        m = fit_frequency(cal, method=method)  # type: ignore[arg-type]
        mae = float(np.abs(expected_purchases(m, cal, horizon) - hold).mean())
        assert m.success
        assert mae < mae_naive - 0.04  # measured 4.556 / 4.555 vs 4.613


@pytest.mark.parametrize("method", ["bgnbd", "mbgnbd"])
def test_unconditional_purchases_closed_form(method: str) -> None:
    """FHL 2005 eq. 9 (BG/NBD) and lifetimes' ModifiedBetaGeoFitter expression (MBG/NBD)."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    m = FrequencyModel(method, {"r": r, "alpha": alpha, "a": a, "b": b})  # type: ignore[arg-type]
    t = np.array([0.0, 1.0, 39.0, 78.0, 500.0])
    z = t / (alpha + t)
    if method == "bgnbd":
        want = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                        * special.hyp2f1(r, b, a + b - 1, z))
    else:
        want = b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z))
    np.testing.assert_allclose(unconditional_purchases(m, t), want, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValidationError) as info:
        unconditional_purchases(m, [-1.0])
    assert info.value.field == "t"
    with pytest.raises(ValidationError):
        unconditional_purchases(m, "soon")


def test_basket_crossing_midnight_counts_days_not_baskets() -> None:
    # basket 1 starts at 23:00 on day 1 with a line after midnight; basket 2 at 23:30 on day 1
    log = Transactions.from_arrays(
        customer=["a", "a", "a"], item=[1, 2, 3], basket=[1, 1, 2],
        timestamp=["2024-01-01 23:00", "2024-01-02 01:00", "2024-01-01 23:30"],
        value=[1.0, 10.0, 100.0])
    assert log.timestamp.astype("datetime64[D]").tolist() != sorted(
        log.timestamp.astype("datetime64[D]").tolist())  # the log's order is not by day
    s = purchase_summary(log, as_of="2024-01-05", unit="D")
    assert s.frequency.tolist() == [1] and s.recency.tolist() == [1.0]
    assert s.monetary.tolist() == [10.0] and s.T.tolist() == [3.0]
