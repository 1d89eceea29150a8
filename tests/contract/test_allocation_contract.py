"""One contract for every allocation method: the same promises, whatever the solver.

Parametrised over every method :func:`onetoone.allocate` accepts; a new method
joins by being added to ``METHODS`` below (the test fails if one is missing).
"""

from __future__ import annotations

import typing
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onetoone as oto
from onetoone.allocation import Allocation, Budget, budget_curve
from onetoone.allocation._api import Method

METHODS = ("dual", "greedy", "exact")


def test_every_method_is_under_contract() -> None:
    assert set(typing.get_args(Method)) == set(METHODS)


def _problem(seed: int, n: int = 30, m: int = 4, k: int = 2) -> oto.AllocationProblem:
    rng = np.random.default_rng(seed)
    value = np.round(rng.uniform(0, 10, (n, m)), 1)
    cost = np.round(rng.uniform(0.1, 1.0, (n, m)), 1)
    return oto.AllocationProblem.from_dense(
        value, cost, k=k, budgets=[Budget("spend", float(cost.sum()) / 5)], cap=n / 3
    )


@pytest.mark.parametrize("method", METHODS)
def test_deterministic(method: str) -> None:
    p = _problem(0)
    a, b = oto.allocate(p, method=method), oto.allocate(p, method=method)  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.customer, b.customer)
    np.testing.assert_array_equal(a.offer, b.offer)
    assert a.objective == b.objective


@pytest.mark.parametrize("method", METHODS)
def test_result_shapes_and_certificate(method: str) -> None:
    p = _problem(1)
    a = oto.allocate(p, method=method)  # type: ignore[arg-type]
    assert a.method == method
    assert a.customer.shape == a.offer.shape == a.value.shape == a.cost.shape
    assert a.budget_spend.shape == a.budget_limit.shape == a.budget_price.shape == (1,)
    assert a.offer_usage.shape == a.cap.shape == (p.n_offers,)
    assert np.bincount(a.customer, minlength=p.n_customers).max() <= 2
    assert a.objective == pytest.approx(float(a.value.sum()))
    assert a.bound >= a.objective
    assert a.success == (a.status == 0)


@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_refused(method: str) -> None:
    with pytest.raises(oto.ValidationError, match="method"):
        oto.allocate(_problem(2), method=method + "x")  # type: ignore[arg-type]
    with pytest.raises(oto.ValidationError):
        oto.allocate("not a problem", method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None)
@given(
    usages=st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.7, 1.1, 0.05]), min_size=6, max_size=6),
    limit=st.sampled_from([0.3, 0.6, 0.7, 1.0, 1.3, 0.1 + 0.2]),
)
def test_never_over_budget_even_by_one_ulp(method: str, usages: list[float], limit: float) -> None:
    cost = np.asarray(usages).reshape(3, 2)
    p = oto.AllocationProblem.from_dense(
        np.full((3, 2), 5.0), cost, k=2, budgets=[Budget("t", limit)]
    )
    a = oto.allocate(p, method=method)  # type: ignore[arg-type]
    assert a.budget_spend[0] <= limit
    assert float(np.sum(a.cost)) <= limit or np.isclose(np.sum(a.cost), limit)


@pytest.mark.parametrize("method", METHODS)
def test_never_over_budget_on_the_reported_decimal_case(method: str) -> None:
    p = oto.AllocationProblem.from_dense(
        [[5.0, 5.0], [5.0, 0.0]], [[0.4, 0.2], [0.1, 0.0]], budgets=[Budget("t", 0.7)], k=2
    )
    a = oto.allocate(p, method=method)  # type: ignore[arg-type]
    assert a.budget_spend[0] <= 0.7


@pytest.mark.parametrize("method", METHODS)
def test_offers_for_agrees_with_the_pairs(method: str) -> None:
    p = _problem(3)
    a = oto.allocate(p, method=method)  # type: ignore[arg-type]
    assert len(a) > 0
    customers = oto.IdIndex.from_values([f"c{i:02d}" for i in range(p.n_customers)])
    offers = oto.IdIndex.from_values([100 + j for j in range(p.n_offers)])
    plan = oto.Plan(a, customers=customers, offers=offers)
    seen = 0
    for c in range(p.n_customers):
        codes = a.offers_for(c)
        np.testing.assert_array_equal(codes, np.sort(a.offer[a.customer == c]))
        ids = plan.offers_for(customers.values[c])
        np.testing.assert_array_equal(ids, offers.decode(codes))
        seen += len(codes)
    assert seen == len(a)


@pytest.mark.parametrize("method", METHODS)
def test_a_plan_round_trips_through_save_and_load(method: str, tmp_path: Path) -> None:
    p = _problem(4)
    a = oto.allocate(p, method=method)  # type: ignore[arg-type]
    plan = oto.Plan(
        a,
        customers=oto.IdIndex.from_values(np.arange(p.n_customers) * 3 + 7),
        offers=oto.IdIndex.from_values([f"offer-{j}" for j in range(p.n_offers)]),
    )
    oto.save(plan, tmp_path / "plan.npz")
    back = oto.load(tmp_path / "plan.npz", oto.Plan)
    assert back.allocation.method == method
    for f in attrs.fields(Allocation):
        x, y = getattr(a, f.name), getattr(back.allocation, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name
    for k, v in plan.columns().items():
        np.testing.assert_array_equal(back.columns()[k], v, err_msg=k)


@pytest.mark.parametrize("method", METHODS)
def test_every_result_is_a_valid_allocation(method: str) -> None:
    """The result passes the Allocation's own checks, also when rebuilt field by field."""
    a = oto.allocate(_problem(5), method=method)  # type: ignore[arg-type]
    b = Allocation(**{f.name: getattr(a, f.name) for f in attrs.fields(Allocation)})
    np.testing.assert_array_equal(a.offer, b.offer)


@pytest.mark.parametrize("method", METHODS)
def test_budget_curve_never_over_any_limit(method: str) -> None:
    p = _problem(6, n=12)
    full = float(p.budget_limit[0])
    c = budget_curve(p, [full * 0.25, full, full * 0.5], budget="spend", method=method)  # type: ignore[arg-type]
    assert c.limit.tolist() == sorted([full * 0.25, full, full * 0.5])
    assert bool(np.all(c.spend <= c.limit)) and bool(np.all(c.bound >= c.objective))
