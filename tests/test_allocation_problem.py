"""AllocationProblem construction, the per-customer kernel, and input validation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.allocation import (
    AllocationProblem,
    Budget,
    allocate,
    budget_curve,
    customer_step,
    entry_thresholds,
    lp_bound,
    random_problem,
)
from onetoone.errors import (
    InfeasibleError,
    LengthMismatchError,
    OneToOneDeprecationWarning,
    ValidationError,
)


# ----------------------------------------------------------------- construction
def test_dense_and_candidates_agree() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(1, 1, size=(7, 4))
    c = rng.uniform(0, 1, size=(7, 4))
    elig = rng.random((7, 4)) < 0.7
    pd_ = AllocationProblem.from_dense(v, c, eligible=elig, budgets=[Budget("b", 2.0)], k=2)
    rows, cols = np.nonzero(elig)
    perm = rng.permutation(len(rows))
    pc = AllocationProblem.from_candidates(
        rows[perm],
        cols[perm],
        v[rows, cols][perm],
        c[rows, cols][perm],
        n_customers=7,
        n_offers=4,
        budgets=[Budget("b", 2.0)],
        k=2,
    )
    for p in (pd_, pc):
        assert p.n_candidates == int(np.sum(elig & (v > 0)))
        assert p.n_ineligible == int(np.sum(elig & (v <= 0)))

    def key(p: AllocationProblem) -> list[tuple[int, int, float]]:
        return sorted(zip(p.customer.tolist(), p.offer.tolist(), p.value.tolist(), strict=True))

    assert key(pd_) == key(pc)
    assert allocate(pd_).objective == pytest.approx(allocate(pc).objective)


def test_layout_blocks_are_contiguous_rows_of_equal_degree() -> None:
    p = AllocationProblem.from_candidates(
        [2, 0, 0, 1, 2, 2], [0, 0, 1, 1, 1, 2], [1.0] * 6, [1.0] * 6, n_customers=4, n_offers=3
    )
    lay = p.layout
    assert lay.deg.tolist() == [1, 2, 3]
    assert lay.row_customer.tolist() == [1, 0, 2]
    assert p.customer.tolist() == [1, 0, 0, 2, 2, 2]
    assert p.offer.tolist() == [1, 0, 1, 0, 1, 2]
    for r0, r1, c0, c1, d in p.iter_chunks(2):
        assert c1 - c0 == (r1 - r0) * d
        assert np.all(p.customer[c0:c1].reshape(-1, d) == lay.row_customer[r0:r1, None])


def test_min_value_and_nonpositive_values_are_ineligible_and_counted() -> None:
    p = AllocationProblem.from_dense(
        np.array([[3.0, 0.5, -1.0, 0.0]]), np.ones((1, 4)), k=4, min_value=1.0
    )
    assert p.n_candidates == 1 and p.n_ineligible == 3
    assert allocate(p).offer.tolist() == [0]


def test_budget_offers_scope_and_custom_usage() -> None:
    v = np.array([[5.0, 4.0], [5.0, 4.0]])
    c = np.array([[1.0, 1.0], [1.0, 1.0]])
    email = Budget("email", 1.0, offers=[1])
    total = Budget("total", 10.0, usage=np.array([[2.0, 0.0], [2.0, 0.0]]))
    p = AllocationProblem.from_dense(v, c, budgets=[email, total], k=2)
    assert p.usage[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert p.usage[1].tolist() == [2.0, 0.0, 2.0, 0.0]
    a = allocate(p, "exact")
    assert a.offer_count.tolist() == [2, 1] and a.objective == 14.0


def test_with_budget_limit_shares_arrays() -> None:
    p = random_problem(50, 4, random_state=0)
    q = p.with_budget_limit("total", 1.0)
    assert q.value is p.value and q.budget_limit[0] == 1.0 and p.budget_limit[0] != 1.0


def test_arrays_are_read_only() -> None:
    p = random_problem(20, 3, random_state=0)
    a = allocate(p)
    for arr in (p.value, p.cost, p.customer, p.k, a.customer, a.budget_price, a.offer_usage):
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0


# ----------------------------------------------------------------- kernel
def _brute_rows(r: np.ndarray, k: np.ndarray, g: np.ndarray | None, gmax: int) -> np.ndarray:
    n, d = r.shape
    best = np.zeros((n, d), dtype=bool)
    for i in range(n):
        top = 0.0
        for size in range(min(k[i], d) + 1):
            for s in itertools.combinations(range(d), size):
                if g is not None:
                    _, cnt = np.unique(g[i, list(s)], return_counts=True)
                    if len(s) and cnt.max() > gmax:
                        continue
                val = float(sum(r[i, j] for j in s))
                if val > top + 1e-12:
                    top = val
                    best[i] = False
                    best[i, list(s)] = True
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.integers(1, 2),
)
def test_customer_step_is_optimal(n: int, d: int, seed: int, grouped: bool, gmax: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 1, size=(n, d))
    k = rng.integers(0, d + 1, size=n)
    g = rng.integers(0, 2, size=(n, d)) if grouped else None
    got = customer_step(r, k, g, gmax)
    want = _brute_rows(r, k, g, gmax)
    assert np.allclose((r * got).sum(1), (r * want).sum(1))
    assert np.all(got.sum(1) <= k) and not np.any(got & (r <= 0))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**32 - 1), st.booleans())
def test_entry_thresholds_are_exact(n: int, d: int, seed: int, grouped: bool) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 1, size=(n, d))
    k = rng.integers(0, d + 1, size=n)
    g = rng.integers(0, 2, size=(n, d)) if grouped else None
    ch = customer_step(r, k, g, 1)
    t = entry_thresholds(r, ch, k, g, 1)
    for i, j in itertools.product(range(n), range(d)):
        if not np.isfinite(t[i, j]):
            assert k[i] == 0
            continue
        for delta, inside in ((1e-7, True), (-1e-7, False)):
            r2 = r.copy()
            r2[i, j] = t[i, j] + delta
            assert bool(customer_step(r2, k, g, 1)[i, j]) == inside


def test_customer_step_ties_and_k_zero() -> None:
    r = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.0]])
    got = customer_step(r, np.array([2, 0]))
    assert got.tolist() == [[True, True, False], [False, False, False]]


# ----------------------------------------------------------------- validation
V = np.ones((2, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"value": np.ones(3)}, ValidationError, "value must be a 2-D"),
        ({"cost": np.ones((2, 3))}, LengthMismatchError, "cost has shape"),
        ({"value": np.array([["a", "b"], ["c", "d"]])}, ValidationError, "value must be numeric"),
        ({"cost": -V}, ValidationError, "cost must be >= 0"),
        ({"cost": V * np.nan}, ValidationError, "cost holds NaN"),
        ({"value": V * np.inf}, ValidationError, "value holds NaN or infinite"),
        ({"eligible": np.ones((2, 2))}, ValidationError, "eligible must be a boolean"),
        ({"k": -1}, ValidationError, "k must be >= 0"),
        ({"k": [1, 2, 3]}, ValidationError, "k must be a scalar or have one entry"),
        ({"k": 1.5}, ValidationError, "k must be an int"),
        ({"group": [0]}, ValidationError, "group must be an int array"),
        ({"group": [0, -1]}, ValidationError, "group codes must be >= 0"),
        ({"group_max": 0}, ValidationError, "group_max must be >= 1"),
        ({"cap": [1.0]}, ValidationError, "cap must be a scalar or have one entry"),
        ({"cap": [np.nan, 1.0]}, ValidationError, "cap holds NaN"),
        ({"cap": [1.0, -1.0]}, InfeasibleError, "cap of offer 1 is -1.0 < 0"),
        ({"cap_usage": -V}, ValidationError, "cap_usage must be >= 0"),
        ({"cap_usage": np.ones(3)}, LengthMismatchError, "cap_usage has shape"),
        ({"min_value": np.nan}, ValidationError, "min_value must be finite"),
        ({"budgets": [Budget("b", -1.0)]}, InfeasibleError, "budget 'b' has limit -1.0 < 0"),
        ({"budgets": [Budget("b", 1), Budget("b", 2)]}, ValidationError, "used twice"),
        ({"budgets": [("b", 1.0)]}, ValidationError, "budgets must be Budget objects"),
        ({"budgets": [Budget("b", 1, usage=-V)]}, ValidationError, "usage must be >= 0"),
        ({"budgets": [Budget("b", 1, usage=np.ones(2))]}, LengthMismatchError, "usage has shape"),
        ({"budgets": [Budget("b", 1, offers=[5])]}, ValidationError, "offers codes must lie"),
    ],
)
def test_from_dense_validation(kwargs: dict, error: type, match: str) -> None:
    args = {"value": V, "cost": V, **kwargs}
    value, cost = args.pop("value"), args.pop("cost")
    with pytest.raises(error, match=match):
        AllocationProblem.from_dense(value, cost, **args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"customer": [0, 5]}, ValidationError, r"customer codes must lie in \[0, 2\)"),
        ({"offer": [0.5, 1.0]}, ValidationError, "offer must hold integer codes"),
        ({"customer": [[0, 1]]}, ValidationError, "customer must be one-dimensional"),
        ({"value": [1.0]}, LengthMismatchError, "value has 1 rows but customer has 2"),
        ({"customer": [0, 0], "offer": [1, 1]}, ValidationError, "listed more than once"),
        ({"n_customers": -1}, ValidationError, "n_customers must be an int from 0 to"),
        ({"n_offers": 2.0}, ValidationError, "n_offers must be an int from 0 to"),
        ({"cap_usage": [1.0]}, LengthMismatchError, "cap_usage has 1 rows"),
        ({"budgets": [Budget("b", 1, usage=[1.0])]}, LengthMismatchError, "usage has 1 rows"),
    ],
)
def test_from_candidates_validation(kwargs: dict, error: type, match: str) -> None:
    args = {
        "customer": [0, 1],
        "offer": [0, 1],
        "value": [1.0, 2.0],
        "cost": [1.0, 1.0],
        "n_customers": 2,
        "n_offers": 2,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        AllocationProblem.from_candidates(
            args.pop("customer"), args.pop("offer"), args.pop("value"), args.pop("cost"), **args
        )


P = AllocationProblem.from_dense(V, V, budgets=[Budget("b", 1.0)])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "magic"}, "method must be one of"),
        ({"tol": 0.0}, r"tol must be a float in \(0, 1\)"),
        ({"max_iter": 0}, "max_iter must be an int >= 1"),
        ({"time_limit": -1.0}, "time_limit must be None or a number of seconds > 0"),
        ({"block_size": 0}, "block_size must be an int >= 1"),
        ({"mip_rel_gap": 1.5}, r"mip_rel_gap must be a float in \[0, 1\)"),
        ({"warm_start": "x"}, "warm_start must be an Allocation"),
    ],
)
def test_allocate_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        allocate(P, **kwargs)


def test_allocate_rejects_non_problem() -> None:
    with pytest.raises(ValidationError, match="problem must be an AllocationProblem"):
        allocate(np.ones((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="problem must be an AllocationProblem"):
        lp_bound("p")  # type: ignore[arg-type]


def test_lp_bound_solver_is_checked() -> None:
    with pytest.raises(ValidationError, match="solver must be one of"):
        lp_bound(P, solver="simplex")  # type: ignore[arg-type]
    assert lp_bound(P, solver="highs-ds").value == pytest.approx(lp_bound(P).value)


def test_warm_start_shape_is_checked() -> None:
    other = allocate(AllocationProblem.from_dense(np.ones((2, 3)), np.ones((2, 3))))
    with pytest.raises(ValidationError, match="warm_start has prices for a different number"):
        allocate(P, warm_start=other)


@pytest.mark.parametrize(
    ("limits", "budget", "match"),
    [
        ([], 0, "limits must be a non-empty 1-D sequence of numbers"),
        ("100", 0, "limits must be a non-empty 1-D sequence of numbers, got '100'"),
        ([[1.0]], 0, r"limits must be .* got float64 of shape \(1, 1\)"),
        ([-1.0], 0, "limits must be finite numbers >= 0"),
        ([1.0, np.nan], 0, "limits must be finite numbers >= 0"),
        ([1.0], "nope", "budget 'nope' is not one of"),
        ([1.0], 3, "budget index 3 is out of range"),
    ],
)
def test_budget_curve_validation(limits: list, budget: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as e:
        budget_curve(P, limits, budget=budget)  # type: ignore[arg-type]
    assert e.value.field == ("budget" if "budget " in match else "limits")


def test_budget_curve_validates_the_solver_arguments_first() -> None:
    with pytest.raises(ValidationError, match="method must be one of") as e:
        budget_curve(P, [1.0], method="fast")  # type: ignore[arg-type]
    assert e.value.field == "method"
    with pytest.raises(ValidationError, match="problem must be an AllocationProblem"):
        budget_curve("p", [1.0])  # type: ignore[arg-type]


def test_budget_curve_budgets_keyword_is_deprecated() -> None:
    new = budget_curve(P, limits=[1.0, 2.0])
    with pytest.warns(OneToOneDeprecationWarning, match=r"budgets=\.\.\.\) is renamed: pass lim"):
        old = budget_curve(P, budgets=[1.0, 2.0])  # type: ignore[call-arg]
    np.testing.assert_array_equal(old.objective, new.objective)
    with pytest.raises(ValidationError, match="got both budgets= .* and limits="):
        budget_curve(P, budgets=[1.0], limits=[1.0])  # type: ignore[call-arg]


def test_budget_curve_needs_a_budget() -> None:
    with pytest.raises(ValidationError, match="problem has no budget to vary"):
        budget_curve(AllocationProblem.from_dense(V, V), [1.0])


def test_random_problem_validation() -> None:
    with pytest.raises(ValidationError, match="n_customers must be an int >= 1"):
        random_problem(0)
    with pytest.raises(ValidationError, match="budget_share must be a number >= 0"):
        random_problem(5, budget_share=-1.0)
