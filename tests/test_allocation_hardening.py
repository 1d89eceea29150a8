"""Issue 12 regressions: exact optimality, valid bounds, limits at the ulp, typed errors.

Feasibility is checked in exact arithmetic (``math.fsum`` of the usages and
``-limit`` has the sign of the exact difference) and against brute force over
every plan (the fuzz harness's, ``fuzz/allocation.py``, run here on 300 problems).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import onetoone.allocation._exact as exact_module
from onetoone.allocation import Allocation, AllocationProblem, Budget, allocate, lp_bound
from onetoone.errors import ValidationError
from test_allocation_helpers import assert_feasible, candidate_index

METHODS = ("dual", "greedy", "exact")
_FUZZ = Path(__file__).resolve().parents[1] / "fuzz" / "allocation.py"


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_allocation", _FUZZ)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_allocation"] = mod
    spec.loader.exec_module(mod)
    return mod


FUZZ = _fuzz()


def exact_over(parts: np.ndarray, limit: float) -> bool:
    """The exact (real-number) sum of ``parts`` is above ``limit``."""
    return bool(np.isfinite(limit)) and math.fsum([*parts.tolist(), -limit]) > 0


def assert_within_limits_exactly(p: AllocationProblem, a: Allocation) -> None:
    """Reported spends are exact sums, <= their limits in float64 and in exact arithmetic."""
    idx = candidate_index(p, a)
    for b in range(p.n_budgets):
        u = p.usage[b][idx]
        assert a.budget_spend[b] == math.fsum(u.tolist()), (a.method, "spend is not fsum")
        assert a.budget_spend[b] <= a.budget_limit[b], (a.method, "reported spend > limit")
        assert not exact_over(u, float(p.budget_limit[b])), (a.method, "exact spend > limit")
    w = p.cap_weight()
    for o in range(p.n_offers):
        wo = w[idx[p.offer[idx] == o]]
        assert a.offer_usage[o] == math.fsum(wo.tolist()), (a.method, "usage is not fsum")
        assert a.offer_usage[o] <= a.cap[o], (a.method, "reported usage > cap")
        assert not exact_over(wo, float(p.cap[o])), (a.method, "exact usage > cap")
    assert a.objective == math.fsum(p.value[idx].tolist())


# ----------------------------------------------------- defect 2: exact is optimal
def test_exact_is_optimal_when_the_milp_plan_is_over_by_one_ulp() -> None:
    # 0.1 + 0.2 > 0.3 in float64: HiGHS' tolerance accepts {0, 1} (value 10); the
    # plan that fits is {2} (value 9), not the repaired {0} (value 5)
    p = AllocationProblem.from_dense(
        [[5.0], [5.0], [9.0]], [[0.1], [0.2], [0.3]], budgets=[Budget("t", 0.3)]
    )
    a = allocate(p, "exact")
    assert a.customer.tolist() == [2] and a.objective == 9.0
    assert a.status == 0 and a.success and a.gap <= 1e-6
    assert a.bound >= 9.0
    assert_within_limits_exactly(p, a)


def test_exact_takes_the_free_offer_under_a_zero_budget() -> None:
    # offer 1 (10.0) uses 1e-12 of a zero budget: within HiGHS' tolerance, not allowed
    p = AllocationProblem.from_dense([[1.0, 10.0]], [[0.0, 1e-12]], budgets=[Budget("t", 0.0)])
    for method in METHODS:
        a = allocate(p, method)
        assert a.offer.tolist() == [0] and a.objective == 1.0, method
        assert a.bound >= 1.0
    a = allocate(p, "exact")
    assert a.success and a.bound == 1.0 and a.gap == 0.0


def test_exact_says_when_it_cannot_prove_the_repaired_plan(monkeypatch: Any) -> None:
    p = AllocationProblem.from_dense(
        [[5.0], [5.0], [9.0]], [[0.1], [0.2], [0.3]], budgets=[Budget("t", 0.3)]
    )
    monkeypatch.setattr(exact_module, "MAX_ROUNDS", 1)  # no second MILP: repair instead
    a = allocate(p, "exact")
    assert_within_limits_exactly(p, a)
    assert a.status == 1 and not a.success
    assert "not proven" in a.message
    assert a.bound >= 9.0 and a.gap == pytest.approx((a.bound - a.objective) / a.bound)


# ------------------------------------------------ defect 3: bounds at tiny scales
def test_bounds_are_valid_at_tiny_scales() -> None:
    p = AllocationProblem.from_dense([[5e-9, 1e-9]], [[1e-12, 0.0]])
    assert lp_bound(p).value >= 5e-9
    for method in METHODS:
        a = allocate(p, method)
        assert a.objective == 5e-9, method
        assert a.bound >= 5e-9, method


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-12, 1e-9, 1e-7, 1e-6, 1.0, 1e60]),
    n_budgets=st.integers(0, 2),
)
def test_every_bound_is_at_least_the_brute_force_optimum(
    seed: int, scale: float, n_budgets: int
) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    value = rng.uniform(0, 1, (n, m)) * scale * 10.0 ** rng.integers(-3, 1, (n, m))
    cost = rng.uniform(0, 1, (n, m)) * scale
    budgets = [Budget(f"b{b}", float(rng.uniform(0, 1) * cost.sum())) for b in range(n_budgets)]
    p = AllocationProblem.from_dense(value, cost, budgets=budgets, k=int(rng.integers(1, 3)))
    opt = FUZZ.brute_force(p)
    assert lp_bound(p).value >= opt
    for method in METHODS:
        a = allocate(p, method)
        assert a.bound >= opt, method
        assert a.objective <= opt, method
        if method == "exact":
            assert a.success and a.objective >= opt * (1 - 1e-6)


# --------------------------------------------- defect 4: never over by one ulp
@pytest.mark.parametrize("method", METHODS)
def test_budget_is_not_exceeded_by_one_ulp(method: str) -> None:
    # 0.4 + 0.2 + 0.1 = 0.7000000000000001 in float64, one ulp over 0.7
    p = AllocationProblem.from_dense(
        [[5, 5], [5, 0.0]], [[0.4, 0.2], [0.1, 0.0]], budgets=[Budget("t", 0.7)], k=2
    )
    a = allocate(p, method)
    assert a.budget_spend[0] <= 0.7
    assert_within_limits_exactly(p, a)
    assert a.objective == 10.0  # two of the three pairs fit exactly (0.6 or 0.5)


@pytest.mark.parametrize("method", METHODS)
def test_cap_is_not_exceeded_by_one_ulp(method: str) -> None:
    # cap usages 0.1 + 0.1 + 0.4 = 0.6000000000000001 > 0.6
    p = AllocationProblem.from_dense(
        [[1.0], [2.0], [3.0]], np.zeros((3, 1)), cap=0.6, cap_usage=[[0.1], [0.1], [0.4]]
    )
    a = allocate(p, method)
    assert a.offer_usage[0] <= 0.6
    assert_within_limits_exactly(p, a)
    assert a.objective == 5.0  # all three would be 0.6000000000000001


_DEC = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 1.1, 0.05]


@st.composite
def decimal_problems(draw: Any) -> AllocationProblem:
    """Decimal usages; limits that are decimals, exact subset sums, or one ulp off them."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    cells = st.lists(st.sampled_from(_DEC), min_size=n * m, max_size=n * m)
    value = np.array(
        draw(st.lists(st.sampled_from([1.0, 2.0, 5.0, 0.3, 9.0]), min_size=n * m, max_size=n * m))
    ).reshape(n, m)
    cost = np.array(draw(cells)).reshape(n, m)

    def limit(usage: np.ndarray) -> float:
        kind = draw(st.sampled_from(["decimal", "sum", "up", "down"]))
        if kind == "decimal":
            return float(draw(st.sampled_from([0.3, 0.6, 0.7, 1.0, 1.3])))
        mask = np.array(draw(st.lists(st.booleans(), min_size=usage.size, max_size=usage.size)))
        s = math.fsum(usage.ravel()[mask].tolist())
        if kind == "up":
            return math.nextafter(s, math.inf)
        return max(0.0, math.nextafter(s, -math.inf)) if kind == "down" else s

    budgets = [Budget("cost", limit(cost))]
    if draw(st.booleans()):
        u2 = np.array(draw(cells)).reshape(n, m)
        budgets.append(Budget("second", limit(u2), usage=u2))
    cap = None
    cap_usage = None
    if draw(st.booleans()):
        cap_usage = np.array(draw(cells)).reshape(n, m)
        cap = np.array([limit(cap_usage[:, j]) for j in range(m)])
    return AllocationProblem.from_dense(
        value, cost, budgets=budgets, k=draw(st.integers(1, 3)), cap=cap, cap_usage=cap_usage
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decimal_problems())
def test_limits_hold_exactly_at_the_ulp_level(p: AllocationProblem) -> None:
    opt = FUZZ.brute_force(p)
    for method in METHODS:
        a = allocate(p, method)
        assert_feasible(p, a)
        assert_within_limits_exactly(p, a)
        assert a.bound >= opt >= a.objective, method
        if method == "exact":
            assert a.success and a.objective >= opt * (1 - 1e-6)


# ------------------------------------------------ defect 9: typed errors
V = np.ones((2, 2))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Budget("t", None), "Budget limit must be a real number"),
        (lambda: Budget("t", "abc"), r"Budget limit must be a real number .* got 'abc' \(str\)"),
        (lambda: Budget("t", True), "Budget limit must be a real number"),
        (lambda: Budget("t", np.nan), "budget 't' limit is NaN"),
        (lambda: Budget("", 1.0), "every Budget needs a non-empty str name"),
        (lambda: Budget(3, 1.0), "every Budget needs a non-empty str name"),  # type: ignore[arg-type]
    ],
)
def test_budget_validates_itself(make: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as e:
        make()
    assert e.value.field in ("limit", "budgets")


def test_budget_limit_beyond_float_is_no_limit() -> None:
    assert Budget("t", 10**400).limit == math.inf
    assert Budget("t", np.int64(3)).limit == 3.0


@pytest.mark.parametrize(
    ("kwargs", "match", "field"),
    [
        ({"budgets": Budget("t", 1.0)}, r"got a single Budget .*pass budgets=\[Budget", "budgets"),
        ({"budgets": "t"}, "budgets must be a sequence", "budgets"),
        ({"budgets": 5}, "budgets must be a sequence", "budgets"),
        ({"min_value": "x"}, "min_value must be a finite number or None", "min_value"),
        ({"min_value": True}, "min_value must be a finite number or None", "min_value"),
        ({"k": True}, "k must be an int", "k"),
        ({"k": -1e308}, "k must be >= 0", "k"),
        ({"value": np.full((2, 2), 1e308)}, "value holds a magnitude of 1e[+]308", "value"),
        ({"cost": np.full((2, 2), 1e101)}, "cost holds a magnitude", "cost"),
        (
            {"budgets": [Budget("t", 1.0, usage=np.full((2, 2), 1e200))]},
            "budget 't' usage holds a magnitude",
            "budget 't' usage",
        ),
        ({"cap": 1.0, "cap_usage": np.full((2, 2), 1e150)}, "cap_usage holds a magnitude", None),
    ],
)
def test_problem_inputs_raise_typed_errors(kwargs: dict, match: str, field: Any) -> None:
    args = {"value": V, "cost": V, **kwargs}
    value, cost = args.pop("value"), args.pop("cost")
    with pytest.raises(ValidationError, match=match) as e:
        AllocationProblem.from_dense(value, cost, **args)
    if field is not None:
        assert e.value.field == field


def test_budgets_must_be_a_sequence_in_from_candidates() -> None:
    with pytest.raises(ValidationError, match="got a single Budget"):
        AllocationProblem.from_candidates(
            [0],
            [0],
            [1.0],
            [1.0],
            n_customers=1,
            n_offers=1,
            budgets=Budget("t", 1.0),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("k", [1e308, 2**70, np.array([1e308, 1.0])])
def test_huge_k_means_no_limit(k: Any) -> None:
    p = AllocationProblem.from_dense(np.ones((2, 3)), np.ones((2, 3)), k=k)
    assert p.k[0] == 3  # as many offers as there are
    a = allocate(p)
    assert np.bincount(a.customer).tolist() == p.k.tolist()


def test_with_budget_limit_refuses_a_non_number() -> None:
    p = AllocationProblem.from_dense(V, V, budgets=[Budget("t", 1.0)])
    with pytest.raises(ValidationError, match="Budget limit must be a real number"):
        p.with_budget_limit("t", "abc")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
def test_largest_accepted_values_give_a_finite_result(method: str) -> None:
    # 1e100 is the largest magnitude accepted; sums, prices and bounds stay finite
    p = AllocationProblem.from_dense(
        np.full((3, 2), 1e100), np.full((3, 2), 1e100), budgets=[Budget("t", 2.5e100)]
    )
    a = allocate(p, method)
    assert a.objective == 2e100 and np.isfinite(a.bound) and a.bound >= 2e100
    assert_within_limits_exactly(p, a)


@pytest.mark.parametrize("method", METHODS)
def test_subnormal_limit_and_tiny_usage_do_not_overflow(method: str) -> None:
    # a limit one ulp above 0 and usages of 1e-300: ratios overflow, results do not
    p = AllocationProblem.from_dense(
        [[3.0, 2.0], [1e100, 1.0]],
        [[1e-300, 0.0], [4e90, 0.0]],
        budgets=[Budget("t", 5e-324)],
    )
    a = allocate(p, method)
    assert a.objective == 3.0 and a.offer.tolist() == [1, 1]
    assert np.isfinite(a.bound) and a.bound >= 3.0


# ------------------------------------------------ the fuzz harness, quick
def test_fuzz_quick_run_has_no_violation() -> None:
    violations, checks, info = FUZZ.run(300, seed=12, verbose=False)
    assert checks > 15_000
    assert not violations, dict(violations)
    assert info["exact status 0"] == 300


def test_problem_constructor_refuses_inconsistent_arrays() -> None:
    import attrs

    p = AllocationProblem.from_dense(V, V, budgets=[Budget("t", 1.0)])
    with pytest.raises(ValidationError, match="cost has 1 entries but value has 4"):
        attrs.evolve(p, cost=np.ones(1))
    with pytest.raises(ValidationError, match="budget limits and caps must not be NaN"):
        attrs.evolve(p, budget_limit=np.array([np.nan]))
    with pytest.raises(ValidationError, match="1 budget name"):
        attrs.evolve(p, budget_limit=np.ones(2))
    with pytest.raises(ValidationError, match="value holds a magnitude"):
        attrs.evolve(p, value=np.full(4, 1e300))
    assert attrs.evolve(p, budget_limit=np.array([2.0])).budget_limit[0] == 2.0
