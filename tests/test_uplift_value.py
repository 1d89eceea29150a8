"""Allocation by incremental margin: the pair value, its economics, and the allocation it feeds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.allocation import AllocationProblem, Budget, allocate
from onetoone.errors import LengthMismatchError, ValidationError
from onetoone.uplift import IncrementalMargin, UpliftModel, fit_uplift, incremental_margin


def _binary_model(b0: list[float]) -> UpliftModel:
    return UpliftModel(
        method="t",
        outcome_type="binary",
        control=0,
        treatments=tuple(range(1, len(b0))),
        outcome_intercept=b0,
        outcome_coef=np.zeros((len(b0), 1)),
    )


def test_hand_computed_two_variants() -> None:
    # margin 20 per purchase; variant a: 10 % off (cost 2), b: 25 % off (cost 5)
    r = incremental_margin(
        [[0.05, 0.20], [0.00, 0.02]],
        margin=20.0,
        redemption_cost=[2.0, 5.0],
        contact_cost=0.1,
        redemption=[[0.4, 0.6], [0.5, 0.5]],
    )
    np.testing.assert_allclose(
        r.value, [[1.0 - 0.8 - 0.1, 4.0 - 3.0 - 0.1], [-1.1, 0.4 - 2.5 - 0.1]]
    )
    np.testing.assert_allclose(r.cost, [[0.9, 3.1], [1.1, 2.6]])
    assert r.group.tolist() == [0, 0]
    assert r.n_unprofitable == 2
    assert r.treatments == (0, 1)


def test_value_equals_profit_difference_with_binary_model() -> None:
    # value = mu_t (m - c) - mu_0 m when every treated purchase redeems
    m = _binary_model([-2.0, -1.0, 0.5])
    r = incremental_margin(m, np.zeros((3, 1)), margin=[8.0, 8.0], redemption_cost=[1.0, 4.0])
    mu = 1 / (1 + np.exp(-np.array([-2.0, -1.0, 0.5])))
    want = mu[1:] * (8.0 - np.array([1.0, 4.0])) - mu[0] * 8.0
    np.testing.assert_allclose(r.value, np.tile(want, (3, 1)))
    np.testing.assert_allclose(r.redemption[0], mu[1:])
    assert r.treatments == (1, 2)


def test_customer_who_buys_anyway_is_money_lost() -> None:
    r = incremental_margin([0.0], margin=10.0, redemption_cost=3.0, redemption=0.9)
    assert r.value.tolist() == [[-2.7]]
    p = AllocationProblem.from_dense(r.value, r.cost, budgets=[Budget("b", 100.0)])
    assert p.n_candidates == 0 and p.n_ineligible == 1


def test_fitted_model_recovers_who_is_moved() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    x = rng.normal(size=(n, 1))
    arm = rng.integers(0, 2, n)
    # only customers with x > 0 are moved; the others buy at the same rate either way
    p = 1 / (1 + np.exp(-(-1.0 + 1.5 * arm * (x[:, 0] > 0) * x[:, 0])))
    y = (rng.random(n) < p).astype(float)
    model = fit_uplift(np.column_stack([x, np.maximum(x, 0)]), arm, y)
    grid = np.array([[-1.0, 0.0], [1.5, 1.5]])
    r = incremental_margin(model, grid, margin=10.0, redemption_cost=1.0)
    assert r.value[0, 0] < 0 < r.value[1, 0]


def test_feeds_allocation_and_group_keeps_one_variant() -> None:
    rng = np.random.default_rng(1)
    n, t = 50, 3
    uplift = rng.uniform(0.0, 0.3, (n, t))
    red = rng.uniform(0.2, 0.8, (n, t))
    r = incremental_margin(uplift, margin=10.0, redemption_cost=[0.5, 1.0, 1.5], redemption=red)
    p = AllocationProblem.from_dense(
        r.value, r.cost, budgets=[Budget("spend", 15.0)], group=r.group, k=t
    )
    for method in ("dual", "exact", "greedy"):
        a = allocate(p, method=method)
        assert np.bincount(a.customer, minlength=n).max() <= 1  # one variant per customer
        assert a.budget_spend[0] <= 15.0
        assert (a.value > 0).all()


def test_two_offers_two_variants_each() -> None:
    r = incremental_margin(
        np.full((4, 4), 0.2), margin=10.0, redemption_cost=0.5, redemption=0.5, group=[0, 0, 1, 1]
    )
    assert r.n_groups == 2
    p = AllocationProblem.from_dense(
        r.value, r.cost, budgets=[Budget("b", 100.0)], group=r.group, k=r.n_groups
    )
    a = allocate(p, method="exact")
    per = np.zeros((4, 2), dtype=int)
    np.add.at(per, (a.customer, r.group[a.offer]), 1)
    assert per.max() == 1 and len(a) == 8  # one variant of each offer for everyone


def _brute_force(value: np.ndarray, cost: np.ndarray, budget: float) -> float:
    n, t = value.shape
    best = 0.0
    for choice in itertools.product(range(-1, t), repeat=n):  # -1: nothing for that customer
        rows = [i for i in range(n) if choice[i] >= 0]
        cols = [choice[i] for i in rows]
        if cost[rows, cols].sum() <= budget + 1e-12:
            best = max(best, float(np.clip(value[rows, cols], 0, None).sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_known_answer_against_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, t = 5, 3
    r = incremental_margin(
        rng.uniform(-0.05, 0.3, (n, t)),
        margin=10.0,
        redemption_cost=rng.uniform(0.5, 3.0, t),
        contact_cost=0.05,
        redemption=rng.uniform(0.1, 0.9, (n, t)),
    )
    budget = float(r.cost.sum() / 4)
    want = _brute_force(r.value, r.cost, budget)
    p = AllocationProblem.from_dense(r.value, r.cost, budgets=[Budget("b", budget)], group=r.group)
    exact = allocate(p, method="exact")
    assert exact.objective == pytest.approx(want, abs=1e-9)
    dual = allocate(p)
    assert dual.objective <= want + 1e-9 and dual.bound >= want - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    u=st.floats(-1, 1, allow_subnormal=True),
    r=st.floats(0, 1),
    m=st.floats(0, 1e6),
    c=st.floats(0, 1e6),
)
def test_value_plus_cost_is_uplift_times_margin(u: float, r: float, m: float, c: float) -> None:
    out = incremental_margin([[u]], margin=m, redemption_cost=c, redemption=r)
    assert out.cost[0, 0] >= 0
    assert out.value[0, 0] + out.cost[0, 0] == pytest.approx(u * m, rel=1e-12, abs=1e-9)


def test_one_row_and_empty() -> None:
    assert incremental_margin(
        np.zeros((0, 2)), margin=1.0, redemption_cost=1.0, redemption=0.5
    ).value.shape == (0, 2)
    assert incremental_margin(
        [0.1], margin=1.0, redemption_cost=0.0, redemption=0.0
    ).value.shape == (1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"margin": np.nan}, ValidationError, "margin holds NaN"),
        ({"margin": -1.0}, ValidationError, "margin must be >= 0"),
        ({"redemption_cost": np.inf}, ValidationError, "redemption_cost holds NaN"),
        ({"redemption_cost": -0.1}, ValidationError, "redemption_cost must be >= 0"),
        ({"contact_cost": -0.1}, ValidationError, "contact_cost must be >= 0"),
        ({"redemption": 1.5}, ValidationError, "redemption must be probabilities"),
        ({"redemption": -0.5}, ValidationError, "redemption must be >= 0"),
        ({"redemption": None}, ValidationError, "redemption is required with an uplift array"),
        ({"margin": [1.0, 2.0, 3.0]}, LengthMismatchError, "margin has shape"),
        ({"margin": "10"}, ValidationError, "margin must be a number"),
        ({"group": [0]}, ValidationError, "group must be an int array"),
        ({"group": [0.0, 1.0]}, ValidationError, "group must be an int array"),
        ({"group": [0, -1]}, ValidationError, "group codes"),
    ],
)
def test_bad_input_arrays(kwargs: dict[str, object], error: type, match: str) -> None:
    base: dict[str, object] = {"margin": 1.0, "redemption_cost": 1.0, "redemption": 0.5}
    base.update(kwargs)
    with pytest.raises(error, match=match):
        incremental_margin([[0.1, 0.2]], **base)  # type: ignore[arg-type]


def test_bad_input_model_path() -> None:
    m = _binary_model([-1.0, 0.0])
    with pytest.raises(ValidationError, match="X is required"):
        incremental_margin(m, margin=1.0, redemption_cost=1.0)
    with pytest.raises(ValidationError, match="feature columns"):
        incremental_margin(m, np.zeros((2, 3)), margin=1.0, redemption_cost=1.0)
    with pytest.raises(ValidationError, match="NaN"):
        incremental_margin(m, np.array([[np.nan]]), margin=1.0, redemption_cost=1.0)
    with pytest.raises(ValidationError, match="X is only used"):
        incremental_margin(
            [[0.1]], np.zeros((1, 1)), margin=1.0, redemption_cost=1.0, redemption=0.5
        )
    with pytest.raises(ValidationError, match="uplift holds NaN"):
        incremental_margin([[np.nan]], margin=1.0, redemption_cost=1.0, redemption=0.5)
    with pytest.raises(ValidationError, match="model must be"):
        incremental_margin("uplift", margin=1.0, redemption_cost=1.0, redemption=0.5)
    cont = UpliftModel(
        method="t",
        outcome_type="continuous",
        control=0,
        treatments=(1,),
        outcome_intercept=[1.0, 2.0],
        outcome_coef=np.zeros((2, 1)),
    )
    with pytest.raises(ValidationError, match="continuous outcome"):
        incremental_margin(cont, np.zeros((1, 1)), margin=0.3, redemption_cost=1.0)
    r = incremental_margin(cont, np.zeros((1, 1)), margin=0.3, redemption_cost=1.0, redemption=0.0)
    assert r.value.tolist() == [[pytest.approx(0.3)]]


def test_result_validates_itself() -> None:
    ok = {
        "value": [[1.0]],
        "cost": [[1.0]],
        "uplift": [[0.1]],
        "redemption": [[0.5]],
        "group": [0],
        "treatments": (1,),
    }
    IncrementalMargin(**ok)
    for field, bad, match in [
        ("cost", [[-1.0]], "cost must be >= 0"),
        ("cost", [[1.0, 1.0]], "cost has shape"),
        ("redemption", [[1.5]], "redemption must be probabilities"),
        ("value", [[np.nan]], "value holds NaN"),
        ("group", [0, 1], "group must hold"),
        ("treatments", (1, 2), "treatments has 2 labels"),
    ]:
        with pytest.raises(ValidationError, match=match):
            IncrementalMargin(**{**ok, field: bad})
    r = IncrementalMargin(**ok)
    assert not r.value.flags.writeable
