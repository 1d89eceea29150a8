"""AllocationSummary validates itself and fills from an Allocation's real fields."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from onetoone import ValidationError
from onetoone.allocation import AllocationProblem, Budget, allocate
from onetoone.report import AllocationSummary


def test_filled_from_an_allocation() -> None:
    p = AllocationProblem.from_dense(
        np.array([[4.0, 3.0], [3.0, 1.0]]), np.ones((2, 2)), budgets=[Budget("total", 1.0)]
    )
    a = allocate(p)
    s = AllocationSummary(
        spend=a.budget_spend[0],
        budget=a.budget_limit[0],
        expected_return=a.objective,
        shadow_price=a.budget_price[0],
        gap=a.gap,
        n_customers=len(np.unique(a.customer)),
        n_offers=len(a.offer),
        status=a.message,
    )
    assert (s.spend, s.budget, s.expected_return, s.n_customers) == (1.0, 1.0, 4.0, 1)


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"spend": -1.0}, "spend", "spend must be a finite number >= 0"),
        ({"spend": float("nan")}, "spend", "spend must be a finite number >= 0"),
        ({"budget": float("inf")}, "budget", "budget must be a finite number >= 0"),
        ({"expected_return": float("nan")}, "expected_return", "must be finite"),
        ({"gap": 1.5}, "gap", r"gap must lie in \[0, 1\]"),
        ({"n_offers": -2}, "n_offers", "n_offers must be a finite number >= 0"),
        ({"status": 3}, "status", "status must be a str or None"),
    ],
    ids=repr,
)
def test_validates_itself(over: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        AllocationSummary(**({"spend": 1.0} | over))
    assert info.value.field == field
    with pytest.raises(ValidationError, match=match):
        AllocationSummary.from_mapping({"spend": 1.0} | over)
