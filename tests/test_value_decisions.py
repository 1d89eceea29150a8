"""Value in decisions: value features on a profile index, value at risk, the win-back strategy,
and BG/NBD convergence without a penalizer on seeded synthetic populations."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import build_profiles
from onetoone.bench import (
    make_context,
    market_offers,
    one_to_one,
    run_strategies,
    simulate_market,
    win_back,
    win_back_weights,
)
from onetoone.data import IdIndex
from onetoone.datasets import synthetic_transactions
from onetoone.errors import ValidationError
from onetoone.value import (
    VALUE_FEATURES,
    CustomerValue,
    FrequencyModel,
    LapseRisk,
    PurchaseSummary,
    SpendModel,
    ValueFeatures,
    customer_value,
    fit_frequency,
    value_at_risk,
    value_features,
)

AT = np.datetime64("2024-01-01", "s")


def _value(ids: list[int], clv: list[float], alive: list[float] | None = None) -> CustomerValue:
    n = len(ids)
    return CustomerValue(IdIndex.from_values(ids), p_alive=alive or [0.5] * n,
                         expected_purchases=[1.0] * n, expected_spend=[1.0] * n, clv=clv,
                         horizon=52.0, period=1.0, discount_rate=0.0, margin=1.0)


def test_value_features_known_answer_and_alignment() -> None:
    v = _value([1, 2, 3], [100.0, 50.0, 10.0], [0.9, 0.8, 0.1])
    r = LapseRisk(IdIndex.from_values([2, 3, 4]), [0.5, 0.9, 0.2], AT, 28.0)
    f = value_features(IdIndex.from_values([4, 3, 2, 1, 9]), value=v, risk=r)
    assert f.customers.values.tolist() == [1, 2, 3, 4, 9]  # an IdIndex orders its ids
    assert f.has_value.tolist() == [False, True, True, False, False]
    assert f.n_missing == 3
    np.testing.assert_allclose(f.value_at_risk, [0.0, 25.0, 9.0, 0.0, 0.0])
    np.testing.assert_allclose(f.p_alive, [0.0, 0.8, 0.1, 0.0, 0.0])
    np.testing.assert_allclose(f.matrix(["clv", "lapse_risk"]),
                               [[0, 0], [50, 0.5], [10, 0.9], [0, 0], [0, 0]])
    assert f.matrix().shape == (5, len(VALUE_FEATURES))
    assert f.clv_horizon == 52.0 and f.lapse_horizon_days == 28.0
    # value_at_risk defaults to value's customers
    np.testing.assert_allclose(value_at_risk(v, r), [0.0, 25.0, 9.0])


def test_value_features_on_profiles_and_pandas_join() -> None:
    pytest.importorskip("pandas")
    tx = synthetic_transactions(n_customers=200, n_items=20, n_days=150, random_state=1)
    at = tx.period[1]
    profiles = build_profiles(tx, as_of=at)
    ids = profiles.customers.values
    v = _value(ids[:-5].tolist(), np.linspace(0, 100, len(ids) - 5).tolist())
    r = LapseRisk(IdIndex.from_values(ids[3:]), np.full(len(ids) - 3, 0.5), AT, 28.0)
    f = value_features(profiles, value=v, risk=r)
    assert f.customers == profiles.customers and f.n_missing == 8
    x = np.column_stack([profiles.matrix(), f.matrix()])
    assert x.shape == (len(profiles), len(profiles.matrix()[0]) + 4)
    joined = profiles.to_pandas().join(f.to_pandas())
    assert len(joined) == len(profiles)
    assert list(joined.columns[-4:]) == list(VALUE_FEATURES)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": "x"}, "value"),
        ({"risk": 1}, "risk"),
        ({"customers": [1, 2]}, "customers"),
    ],
)
def test_value_features_iv(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "customers": IdIndex.from_values([1]),
        "value": _value([1], [1.0]),
        "risk": LapseRisk(IdIndex.from_values([1]), [0.5], AT, 28.0),
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as e:
        value_features(**args)  # type: ignore[arg-type]
    assert e.value.field == field


def test_value_features_refuses_other_id_kinds_and_bad_columns() -> None:
    r = LapseRisk(IdIndex.from_values(["a"]), [0.5], AT, 28.0)
    with pytest.raises(ValidationError, match="kind"):
        value_at_risk(_value([1], [1.0]), r)
    with pytest.raises(ValidationError) as e:
        ValueFeatures(IdIndex.from_values([1]), has_value=[True], p_alive=[0.5], clv=[-1.0],
                      lapse_risk=[0.1], value_at_risk=[0.0], clv_horizon=1.0,
                      lapse_horizon_days=1.0)
    assert e.value.field == "clv"
    f = value_features(IdIndex.from_values([1]), value=_value([1], [1.0]),
                       risk=LapseRisk(IdIndex.from_values([1]), [0.5], AT, 28.0))
    with pytest.raises(ValidationError):
        f.matrix(["monetary"])


@pytest.fixture(scope="module")
def ctx():  # type: ignore[no-untyped-def]
    m = simulate_market(300, 80, 6, history_weeks=16, random_state=0)
    return make_context(m.history, market_offers(m), as_of=m.campaign_start, budget=15.0,
                        k=1, method="repeat", random_state=0)


def test_win_back_spends_on_value_at_risk(ctx) -> None:  # type: ignore[no-untyped-def]
    w = np.zeros(ctx.n_customers)
    w[:10] = 1000.0  # only ten customers have anything at risk
    plan = win_back(ctx, weights=w, effect=0.5)
    assert plan.budget_spend[0] <= 15.0 + 1e-9
    assert len(plan.customer) > 0 and set(plan.customer.tolist()) <= set(range(10))
    # the value of a pair is effect x weight x p_offer
    np.testing.assert_allclose(
        plan.value, 0.5 * 1000.0 * ctx.p_offer[plan.customer, plan.offer], rtol=1e-12
    )


def test_win_back_learned_weights_and_random_state(ctx) -> None:  # type: ignore[no-untyped-def]
    w1 = win_back_weights(ctx, random_state=3)
    w2 = win_back_weights(ctx, random_state=3)
    np.testing.assert_array_equal(w1, w2)
    assert w1.shape == (ctx.n_customers,) and np.all(np.isfinite(w1) & (w1 >= 0))
    plans = run_strategies(ctx, {"win_back": functools.partial(win_back, effect=0.2),
                                 "one_to_one": one_to_one}, random_state=0)
    assert plans["win_back"].budget_spend[0] <= 15.0 + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"effect": 1.5}, "effect"), ({"effect": float("nan")}, "effect"),
     ({"weights": [1.0]}, "weights"), ({"weights": "neg"}, "weights")],
)
def test_win_back_iv(ctx, kwargs: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    if kwargs.get("weights") == "neg":
        kwargs = {"weights": -np.ones(ctx.n_customers)}
    with pytest.raises(ValidationError) as e:
        win_back(ctx, **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field
    with pytest.raises(ValidationError):
        win_back("ctx")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as e:
        win_back_weights(ctx, method="pareto")
    assert e.value.field == "method"


# ---------------------------------------------------------------- extremes and convergence
@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10**7),
    st.floats(0.0, 1.0),
    st.sampled_from([1e-9, 1e-3, 1.0, 1e6, 1e9]),
    st.sampled_from([0.0, 1e-9, 1.0, 1e9, 1e12]),
    st.sampled_from(["bgnbd", "mbgnbd"]),
)
def test_clv_finite_at_extreme_summaries(
    x: int, frac: float, T: float, monetary: float, method: str
) -> None:
    """Frequency 0, tiny and huge T, huge spend: the CDNOW fit's CLV stays finite and >= 0."""
    s = PurchaseSummary.from_arrays(
        frequency=[x, 0, 1], recency=[frac * T if x else 0.0, 0.0, T],
        T=[T, T, T], monetary=[monetary if x else 0.0, 0.0, monetary])
    m = FrequencyModel(method, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    g = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44})
    v = customer_value(m, g, s, horizon=52.0, period=52 / 12, discount_rate=0.01)
    for col in (v.clv, v.p_alive, v.expected_purchases, v.expected_spend):
        assert np.all(np.isfinite(col)) and np.all(col >= 0)


def _simulate_bgnbd(
    rng: np.random.Generator, n: int, r: float, alpha: float, a: float, b: float
) -> PurchaseSummary:
    """A BG/NBD population: gamma purchase rates, beta drop-out after each repeat purchase."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(26.0, 78.0, n)  # staggered first purchases (weeks)
    alive_for = rng.geometric(np.clip(p, 1e-12, 1.0))  # repeat purchases up to the drop-out
    arrivals = rng.poisson(lam * T)
    x = np.minimum(arrivals, alive_for)
    # time of the x-th of `arrivals` uniform arrivals on (0, T]: T x Beta(x, arrivals - x + 1)
    tx = np.zeros(n)
    k = x > 0
    tx[k] = T[k] * rng.beta(x[k], arrivals[k] - x[k] + 1)
    return PurchaseSummary.from_arrays(frequency=x, recency=tx, T=T)


def test_bgnbd_converges_without_a_penalizer_on_20_populations() -> None:
    """20 seeded populations with diverse parameters: every fit converges (no penalty, no
    starting values given), every parameter lies within 4 standard errors of the truth, and
    the well-identified quantities (r, alpha and the mean drop-out probability a / (a + b))
    within 35 % (a and b alone can be weakly identified: standard errors near 50 %)."""
    seeds = np.random.default_rng(20240601)
    failures = []
    for i in range(20):
        rng = np.random.default_rng(int(seeds.integers(2**31)))
        truth = {
            "r": float(np.exp(rng.uniform(np.log(0.2), np.log(3.0)))),
            "alpha": float(np.exp(rng.uniform(np.log(1.0), np.log(20.0)))),
            "a": float(np.exp(rng.uniform(np.log(0.3), np.log(2.0)))),
            "b": float(np.exp(rng.uniform(np.log(1.0), np.log(10.0)))),
        }
        s = _simulate_bgnbd(rng, 20_000, **truth)
        m = fit_frequency(s)
        assert m.success, (i, truth, m.message)
        for k, t in truth.items():
            est, se = m.params[k], m.std_errors[k]
            if not abs(est - t) <= 4 * se:
                failures.append((i, k, t, est, se))
        est_p = m.params["a"] / (m.params["a"] + m.params["b"])
        true_p = truth["a"] / (truth["a"] + truth["b"])
        for k, t, est in (("r", truth["r"], m.params["r"]),
                          ("alpha", truth["alpha"], m.params["alpha"]),
                          ("a/(a+b)", true_p, est_p)):
            if abs(est / t - 1) > 0.35:
                failures.append((i, k, t, est, 0.35))
    assert not failures, failures
