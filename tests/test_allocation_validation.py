"""Allocation validates itself; offers_for on Allocation (codes) and Plan (ids) (issue 13)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from onetoone import FormatError, IdIndex, Plan, ValidationError
from onetoone.allocation import (
    Allocation,
    AllocationProblem,
    Budget,
    allocate,
    load_plan,
    save_plan,
)
from onetoone.errors import LengthMismatchError, OneToOneDeprecationWarning

_spec = importlib.util.spec_from_file_location(
    "onetoone_fuzz_files", Path(__file__).resolve().parents[1] / "fuzz" / "files.py"
)
assert _spec is not None and _spec.loader is not None
fz = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("onetoone_fuzz_files", fz)
_spec.loader.exec_module(fz)


def _alloc() -> Allocation:
    # customer 0 gets offers 0 and 1, customer 1 gets offer 1, customer 2 nothing
    problem = AllocationProblem.from_dense(
        np.array([[3.0, 2.0], [0.5, 4.0], [0.0, 0.0]]),
        np.ones((3, 2)),
        budgets=[Budget("total", 3.0)],
        k=2,
        cap=[5.0, 5.0],
    )
    return allocate(problem, method="exact")


def test_a_solver_result_is_valid_and_unchanged_by_evolve() -> None:
    a = _alloc()
    assert a.customer.tolist() == [0, 0, 1] and a.offer.tolist() == [0, 1, 1]
    b = attrs.evolve(a)
    np.testing.assert_array_equal(a.offer, b.offer)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (
            {"offer": np.array([0, 1], dtype=np.int32)},
            LengthMismatchError,
            r"offer has 2 entries for 3 chosen pair\(s\)",
        ),
        ({"value": [3.0, 2.0]}, LengthMismatchError, r"value has 2 entries for 3 chosen pair"),
        ({"budget_price": np.zeros(2)}, LengthMismatchError, r"budget_price has 2 entries for 1"),
        ({"cap": np.ones(3)}, LengthMismatchError, r"cap has 3 entries for 2 offer"),
        (
            {"customer": np.array([0, 0, 3])},
            ValidationError,
            r"customer codes must lie in \[0, 3\)",
        ),
        ({"offer": np.array([0, 1, -1])}, ValidationError, r"offer codes must lie in \[0, 2\)"),
        ({"customer": np.array([1, 0, 0])}, ValidationError, "sorted and distinct"),
        ({"customer": np.array([0.0, 0.0, 1.0])}, ValidationError, "customer must be a 1-D int"),
        ({"success": False}, ValidationError, "success=False contradicts status 0"),
        ({"status": 3, "success": False}, ValidationError, "status must be 0, 1 or 2"),
        ({"bound": 8.0}, ValidationError, "bound 8.0 is below the objective 9.0"),
        ({"bound": math.nan}, ValidationError, "bound must be finite or \\+inf"),
        ({"objective": 10.0, "bound": 10.0}, ValidationError, "objective 10.0 differs"),
        ({"objective": math.inf}, ValidationError, "objective must be finite"),
        ({"gap": -0.5}, ValidationError, "gap must be >= 0"),
        ({"value": np.array([3.0, np.nan, 4.0])}, ValidationError, "value holds NaN"),
        ({"budget_spend": np.array([3.5])}, ValidationError, "spends 3.5 over its limit 3.0"),
        ({"budget_limit": np.array([np.nan])}, ValidationError, "budget_limit holds NaN"),
        ({"cap": np.array([5.0, 1.0])}, ValidationError, "offer 1 uses 2.0 of its cap 1.0"),
        ({"offer_count": np.array([1, 1])}, ValidationError, "offer_count differs"),
        ({"budget_names": ["total"]}, ValidationError, "budget_names must be a tuple of str"),
        ({"n_customers": -1}, ValidationError, "n_customers must be an int >= 0"),
        ({"method": ""}, ValidationError, "method must be a non-empty str"),
    ],
)
def test_an_inconsistent_allocation_is_refused(
    changes: dict[str, Any], error: type[Exception], match: str
) -> None:
    a = _alloc()
    assert a.objective == 9.0
    with pytest.raises(error, match=match) as e:
        attrs.evolve(a, **changes)
    assert "build allocations with allocate()" in str(e.value)
    assert isinstance(e.value.field, str)  # type: ignore[attr-defined]


def test_spend_is_checked_exactly_not_within_a_tolerance() -> None:
    a = _alloc()
    with pytest.raises(ValidationError, match="over its limit"):
        attrs.evolve(a, budget_spend=np.array([np.nextafter(3.0, 4.0)]))
    assert attrs.evolve(a, bound=math.inf, gap=1.0).bound == math.inf  # no finite bound: gap 1


def test_gap_must_follow_the_bound_and_the_objective() -> None:
    a = _alloc()
    with pytest.raises(ValidationError, match="gap .* disagrees with the bound"):
        attrs.evolve(a, gap=2.0)
    with pytest.raises(ValidationError, match="1 without a finite bound"):
        attrs.evolve(a, bound=math.inf)


def test_allocation_offers_for_takes_and_returns_codes() -> None:
    a = _alloc()
    assert a.offers_for(0).tolist() == [0, 1]
    assert a.offers_for(np.int64(1)).tolist() == [1]
    assert a.offers_for(2).tolist() == []
    assert a.offers_for(0).dtype == np.int32


@pytest.mark.parametrize(
    ("customer", "match"),
    [
        (3, r"customer code 3 is out of range \[0, 3\)"),
        (-1, "out of range"),
        ("c1", "customer must be an int code, got str; for an external id use Plan.offers_for"),
        (True, "must be an int code"),
        (1.0, "must be an int code"),
    ],
)
def test_allocation_offers_for_refuses_non_codes(customer: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as e:
        _alloc().offers_for(customer)
    assert e.value.field == "customer"


def test_offers_of_is_a_deprecated_alias() -> None:
    a = _alloc()
    with pytest.warns(OneToOneDeprecationWarning, match="offers_of is renamed: use Allocation"):
        assert a.offers_of(0).tolist() == [0, 1]


def test_plan_offers_for_takes_and_returns_ids() -> None:
    plan = Plan(
        _alloc(), customers=IdIndex.from_values([5, 9, 13]), offers=IdIndex.from_values(["A", "B"])
    )
    assert plan.offers_for(5).tolist() == ["A", "B"]
    assert plan.offers_for(13).tolist() == []


def test_load_plan_wraps_the_constructors_check_in_a_format_error(tmp_path: Path) -> None:
    """A file passing the loader's tolerant checks but not the exact invariant is a FormatError."""
    good, bad = tmp_path / "plan.npz", tmp_path / "bad.npz"
    save_plan(
        Plan(
            _alloc(),
            customers=IdIndex.from_values([5, 9, 13]),
            offers=IdIndex.from_values(["A", "B"]),
        ),
        good,
    )

    def edit(h: dict[str, Any]) -> None:
        h["meta"]["bound"] = float(np.nextafter(9.0, 0.0))  # within the loader's tolerance

    fz.rewrite(good, bad, header=edit)
    with pytest.raises(FormatError, match="inconsistent Plan file: .*bound .* below the obj") as e:
        load_plan(bad)
    assert isinstance(e.value.__cause__, ValidationError)


def test_lp_bound_and_budget_curve_validate_themselves() -> None:
    from onetoone.allocation import BudgetCurve, LpBound, budget_curve, lp_bound

    p = AllocationProblem.from_dense([[4.0], [3.0]], [[1.0], [1.0]], budgets=[Budget("t", 1.0)])
    lp = lp_bound(p)
    with pytest.raises(ValidationError, match="LpBound: budget_price must be finite and >= 0"):
        attrs.evolve(lp, budget_price=np.array([-1.0]))
    with pytest.raises(ValidationError, match="LpBound: value must be a number or \\+inf"):
        attrs.evolve(lp, value=math.nan)
    with pytest.raises(ValidationError, match="success=False contradicts status 0"):
        attrs.evolve(lp, success=False)
    assert isinstance(attrs.evolve(lp, value=math.inf), LpBound)
    c = budget_curve(p, [1.0, 2.0])
    with pytest.raises(LengthMismatchError, match="BudgetCurve: spend has 1 entries, expected 2"):
        attrs.evolve(c, spend=np.array([1.0]))
    with pytest.raises(ValidationError, match="limit must be ascending"):
        attrs.evolve(c, limit=np.array([2.0, 1.0]), spend=np.array([1.0, 1.0]))
    with pytest.raises(ValidationError, match="a spend exceeds its limit"):
        attrs.evolve(c, spend=np.array([1.5, 2.0]))
    with pytest.raises(ValidationError, match="every bound must be >= its objective"):
        attrs.evolve(c, bound=np.array([0.0, 0.0]))
    assert isinstance(attrs.evolve(c), BudgetCurve)


@pytest.mark.parametrize(
    ("args", "field", "match"),
    [
        ((np.ones(3), np.ones(1, int)), "r", r"customer_step: r must be a 2-D numeric array"),
        ((np.array([["a"]]), np.ones(1, int)), "r", "r must be a 2-D numeric array"),
        ((np.array([[np.nan]]), np.ones(1, int)), "r", "r holds NaN; pass -inf"),
        ((np.ones((2, 2)), np.ones(3, int)), "k", "k has 3 entries but r has 2 rows"),
        ((np.ones((2, 2)), np.ones(2)), "k", "k must be an int array"),
        ((np.ones((2, 2)), np.array([1, -1])), "k", "k must be >= 0"),
        ((np.ones((2, 2)), np.ones(2, int), np.ones((2, 3), int)), "groups", "groups must be"),
        ((np.ones((2, 2)), np.ones(2, int), None, 0), "group_max", "group_max must be an int"),
    ],
)
def test_customer_step_validates_first(args: tuple[Any, ...], field: str, match: str) -> None:
    from onetoone.allocation import customer_step

    with pytest.raises(ValidationError, match=match) as e:
        customer_step(*args)
    assert e.value.field == field


def test_entry_thresholds_validates_first() -> None:
    from onetoone.allocation import customer_step, entry_thresholds

    r, k = np.array([[3.0, 1.0]]), np.array([1])
    assert customer_step(r, 1).tolist() == [[True, False]]  # a scalar k applies to every row
    with pytest.raises(ValidationError, match="entry_thresholds: chosen must be a bool") as e:
        entry_thresholds(r, np.ones((1, 2)), k)
    assert e.value.field == "chosen"
    with pytest.raises(ValidationError, match="entry_thresholds: k has 2 entries"):
        entry_thresholds(r, customer_step(r, k), np.array([1, 1]))
    assert entry_thresholds(r, customer_step(r, k), k).tolist() == [[1.0, 3.0]]


@pytest.mark.parametrize("path", [123, None, b"plan.npz"])
def test_save_and_load_plan_validate_the_path_first(tmp_path: Path, path: Any) -> None:
    plan = Plan(
        _alloc(), customers=IdIndex.from_values([5, 9, 13]), offers=IdIndex.from_values(["A", "B"])
    )
    with pytest.raises(ValidationError, match="save_plan: path must be a") as e:
        save_plan(plan, path)
    assert e.value.field == "path"
    with pytest.raises(ValidationError, match="load_plan: path must be a") as e:
        load_plan(path)
    assert e.value.field == "path"
