"""Solvers: feasibility invariants (hypothesis), bounds, known answers vs MILP, edge cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onetoone.allocation import (
    AllocationProblem,
    Budget,
    allocate,
    budget_curve,
    lp_bound,
    random_problem,
)
from test_allocation_helpers import assert_feasible

METHODS = ("dual", "greedy", "exact")


@st.composite
def problems(draw: Any) -> AllocationProblem:
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    integer = draw(st.booleans())  # integer data makes ties common
    if integer:
        value = rng.integers(-2, 6, size=(n, m)).astype(float)
        cost = rng.integers(0, 4, size=(n, m)).astype(float)
    else:
        value = rng.lognormal(0, 1, size=(n, m)) - 0.2
        cost = rng.uniform(0, 1, size=(n, m))
    eligible = rng.random((n, m)) < draw(st.floats(0.3, 1.0))
    k = rng.integers(0, 4, size=n) if draw(st.booleans()) else draw(st.integers(1, 3))
    group = rng.integers(0, 2, size=m) if draw(st.booleans()) else None
    cap = None
    if draw(st.booleans()):
        cap = rng.integers(0, n + 1, size=m).astype(float)
        cap[rng.random(m) < 0.3] = np.inf
    cap_usage = rng.uniform(0.2, 1.5, size=(n, m)) if draw(st.booleans()) else None
    budgets = []
    for b in range(draw(st.integers(0, 2))):
        scale = draw(st.sampled_from([0.0, 0.1, 0.3, 0.7, 10.0]))
        usage = None if b == 0 else rng.uniform(0, 1, size=(n, m))
        total = float(cost.sum() if usage is None else usage.sum())
        budgets.append(Budget(f"b{b}", scale * total, usage=usage))
    return AllocationProblem.from_dense(
        value,
        cost,
        eligible=eligible,
        k=k,
        group=group,
        group_max=draw(st.integers(1, 2)),
        cap=cap,
        cap_usage=cap_usage,
        budgets=budgets,
        min_value=draw(st.sampled_from([None, 0.5])),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_method_is_feasible_and_bounded_by_the_lp(p: AllocationProblem) -> None:
    lp = lp_bound(p)
    assert lp.success
    results = {m: allocate(p, m) for m in METHODS}
    for m, a in results.items():
        assert_feasible(p, a)
        assert a.objective <= lp.value * (1 + 1e-7) + 1e-7, m
        if m != "exact":
            # a Lagrangian dual value bounds the LP relaxation, so the stated gap is honest
            assert a.bound >= lp.value * (1 - 1e-7) - 1e-7, m
            assert (lp.value - a.objective) <= a.gap * a.bound + 1e-7, m
    exact = results["exact"]
    assert exact.status == 0
    assert exact.objective >= results["dual"].objective - 1e-7
    assert exact.objective >= results["greedy"].objective - 1e-7
    assert exact.bound >= exact.objective - 1e-9


@settings(max_examples=30, deadline=None)
@given(problems())
def test_dual_is_deterministic(p: AllocationProblem) -> None:
    a, b = allocate(p), allocate(p)
    assert np.array_equal(a.customer, b.customer) and np.array_equal(a.offer, b.offer)
    assert a.bound == b.bound and np.array_equal(a.budget_price, b.budget_price)


@pytest.mark.parametrize(("n", "k", "seed"), [(400, 1, 0), (400, 3, 1), (1500, 1, 2)])
def test_dual_within_half_a_percent_of_milp(n: int, k: int, seed: int) -> None:
    p = random_problem(n, 20, k=k, random_state=seed)
    exact = allocate(p, "exact", mip_rel_gap=1e-4, time_limit=20)
    dual = allocate(p, "dual")
    greedy = allocate(p, "greedy")
    lp = lp_bound(p)
    assert_feasible(p, dual)
    assert dual.objective >= exact.objective * (1 - 5e-3)
    assert dual.objective >= greedy.objective
    assert lp.value * (1 - 1e-6) <= dual.bound <= lp.value * (1 + 1e-3)
    assert dual.gap < 2e-3
    # the budget's shadow price agrees with the LP dual
    assert dual.budget_price[0] == pytest.approx(lp.budget_price[0], rel=0.05)


def test_known_answer_single_budget() -> None:
    # ratios 4, 3, 2, 1 with unit costs; budget 2.5 -> the two best, 0.5 left unused
    p = AllocationProblem.from_dense(
        np.array([[4.0], [3.0], [2.0], [1.0]]), np.ones((4, 1)), budgets=[Budget("b", 2.5)]
    )
    for m in METHODS:
        a = allocate(p, m)
        assert a.customer.tolist() == [0, 1] and a.objective == 7.0
    lp = lp_bound(p)
    assert lp.value == pytest.approx(8.0) and lp.budget_price[0] == pytest.approx(2.0)
    d = allocate(p)
    assert d.bound == pytest.approx(8.0, rel=1e-4) and d.budget_price[0] == pytest.approx(
        2.0, rel=1e-4
    )


def test_known_answer_caps_and_groups() -> None:
    value = np.array([[5.0, 4.0, 1.0], [5.0, 1.0, 3.0], [5.0, 2.0, 2.0]])
    p = AllocationProblem.from_dense(
        value, np.zeros((3, 3)), k=2, group=np.array([0, 0, 1]), cap=[1, 2, 3]
    )
    # offers 0 and 1 share a group; offer 0 goes to one customer only. Everyone gets
    # offer 2 (6); offer 0 to customer 1 (5) frees offer 1 for customers 0 and 2 (4 + 2).
    for m in METHODS:
        a = allocate(p, m)
        assert_feasible(p, a)
        assert a.objective <= 17.0
    for m in ("exact", "dual"):
        a = allocate(p, m)
        assert a.objective == pytest.approx(17.0)
        assert a.offers_for(1).tolist() == [0, 2]


# ----------------------------------------------------------------- degenerate inputs
@pytest.mark.parametrize("method", METHODS)
def test_zero_budget_gives_only_free_offers(method: str) -> None:
    cost = np.array([[1.0, 0.0], [1.0, 1.0]])
    p = AllocationProblem.from_dense(np.ones((2, 2)), cost, budgets=[Budget("b", 0.0)])
    a = allocate(p, method)
    assert a.customer.tolist() == [0] and a.offer.tolist() == [1]
    assert a.budget_spend[0] == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_all_ineligible(method: str) -> None:
    p = AllocationProblem.from_dense(-np.ones((3, 2)), np.ones((3, 2)), budgets=[Budget("b", 5)])
    a = allocate(p, method)
    assert len(a) == 0 and a.objective == 0.0 and a.bound == 0.0 and a.gap == 0.0
    assert a.success


@pytest.mark.parametrize("method", METHODS)
def test_ties_are_broken_within_budget(method: str) -> None:
    p = AllocationProblem.from_dense(np.ones((10, 3)), np.ones((10, 3)), budgets=[Budget("b", 4)])
    a = allocate(p, method)
    assert_feasible(p, a)
    assert len(a) == 4 and a.objective == 4.0


@pytest.mark.parametrize("method", METHODS)
def test_single_customer(method: str) -> None:
    # k = 2, budget 2: offer 0 alone (3.0) or offers 1 and 2 (2.0 + 1.5 = 3.5, the optimum)
    p = AllocationProblem.from_dense(
        np.array([[3.0, 2.0, 1.5]]), np.array([[2.0, 1.0, 1.0]]), k=2, budgets=[Budget("b", 2)]
    )
    a = allocate(p, method)
    assert_feasible(p, a)
    assert a.customer.tolist() == [0, 0] and a.offer.tolist() == [1, 2]
    assert a.objective == 3.5 and a.budget_spend[0] == 2.0
    assert a.bound >= 3.5 and a.success


@pytest.mark.parametrize("method", METHODS)
def test_single_customer_with_two_optima(method: str) -> None:
    # offer 0 alone and offers 1 + 2 both give 3.0; either is right, nothing less is
    p = AllocationProblem.from_dense(
        np.array([[3.0, 2.0, 1.0]]), np.array([[2.0, 1.0, 1.0]]), k=2, budgets=[Budget("b", 2)]
    )
    a = allocate(p, method)
    assert_feasible(p, a)
    assert a.offer.tolist() in ([0], [1, 2])
    assert a.objective == 3.0 and a.bound >= 3.0


@pytest.mark.parametrize("method", METHODS)
def test_huge_budget_gives_everyone_their_best(method: str) -> None:
    p = random_problem(60, 5, k=2, cap_share=None, budget_share=1e6, random_state=3)
    a = allocate(p, method)
    best = np.sort(p.value.reshape(60, 5), axis=1)[:, -2:].sum()
    assert a.objective == pytest.approx(best)
    assert a.gap == pytest.approx(0.0, abs=1e-12)
    assert a.budget_price[0] == 0.0


def test_no_constraints_at_all() -> None:
    p = AllocationProblem.from_candidates(
        [0, 0, 1], [0, 1, 0], [2.0, 1.0, 5.0], [1.0, 1.0, 1.0], n_customers=3, n_offers=2
    )
    a = allocate(p)
    assert a.objective == 7.0 and a.gap == 0.0 and a.status == 0


def test_blocks_do_not_change_the_answer() -> None:
    p = random_problem(300, 6, k=2, random_state=5)
    a, b = allocate(p, block_size=7), allocate(p)
    assert np.array_equal(a.customer, b.customer) and a.bound == pytest.approx(b.bound)


def test_sampled_warm_start_on_a_larger_problem() -> None:
    p = random_problem(100_000, 5, k=1, random_state=7)
    a = allocate(p)
    assert_feasible(p, a)
    assert a.gap <= 1e-4 and a.status == 0


def test_max_iter_reports_the_limit_honestly() -> None:
    p = random_problem(500, 10, k=1, random_state=4)
    a = allocate(p, max_iter=1, tol=1e-9)
    assert_feasible(p, a)
    assert a.status == 1 and not a.success and "gap" in a.message


def test_exact_time_limit_still_feasible() -> None:
    p = random_problem(300, 10, k=2, random_state=4)
    best = allocate(p).objective  # a feasible plan: every valid bound is above it
    for time_limit in (1e-4, 0.05):
        a = allocate(p, "exact", time_limit=time_limit)
        assert_feasible(p, a)
        assert a.success == (a.status == 0)
        assert np.isfinite(a.bound) and a.bound >= best
        if time_limit == 1e-4:  # too short for HiGHS to prove anything
            assert a.status != 0
        if a.status == 2:  # no plan in time: the empty plan, said so, gap 1
            assert len(a) == 0 and a.objective == 0.0 and a.gap == 1.0
            assert "no plan" in a.message
        elif a.status == 1:  # a plan, not proven: the gap says how good it is
            assert len(a) > 0 and "time limit" in a.message.lower()
            assert a.gap == pytest.approx((a.bound - a.objective) / a.bound)
        else:
            assert a.status == 0 and a.gap <= 1e-6 + 1e-9


# ----------------------------------------------------------------- budget curve
def test_budget_curve_is_monotone_and_warm_started() -> None:
    p = random_problem(2000, 10, k=1, random_state=2)
    lim = float(p.budget_limit[0])
    limits = [lim * s for s in (2.0, 0.25, 0.5, 1.0)]
    c = budget_curve(p, limits)
    assert c.limit.tolist() == sorted(limits)
    assert np.all(np.diff(c.objective) > 0)
    assert np.all(c.spend <= c.limit)  # exactly, not within a tolerance
    assert np.all(np.diff(c.price) <= 1e-9)  # diminishing returns
    assert np.all(c.gap <= 1e-3)
    single = allocate(p.with_budget_limit(0, limits[-1]))
    assert c.objective[2] == pytest.approx(single.objective, rel=1e-3)
    mr = c.marginal_return
    assert np.all(mr[1:] <= mr[:-1] * (1 + 1e-3))
