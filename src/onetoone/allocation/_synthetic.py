"""Random allocation instances (the benchmark family of the allocation issue)."""

from __future__ import annotations

import numpy as np

from onetoone._random import RandomState, check_random_state
from onetoone.allocation._problem import AllocationProblem, Budget
from onetoone.errors import ValidationError

__all__ = ["random_problem"]


def _random_problem_iv(
    n_customers: object, n_offers: object, k: object, budget_share: object, cap_share: object
) -> None:
    for name, v in (("n_customers", n_customers), ("n_offers", n_offers), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValidationError(f"{name} must be an int >= 1, got {v!r}", field=name)
    for name, s in (("budget_share", budget_share), ("cap_share", cap_share)):
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float)) or not s >= 0):
            raise ValidationError(f"{name} must be a number >= 0, got {s!r}", field=name)


def random_problem(
    n_customers: int,
    n_offers: int = 20,
    *,
    k: int = 1,
    budget_share: float = 0.10,
    cap_share: float | None = 0.25,
    random_state: RandomState = None,
) -> AllocationProblem:
    """A random dense instance: lognormal values, uniform costs, one budget, caps.

    Values are ``lognormal(0, 1)``, costs ``uniform(0.1, 1)``, independently per
    pair. The budget is ``budget_share`` of the maximum spend (the cost of giving
    every customer its ``k`` most valuable offers). Each offer's cap is
    ``cap_share`` times its fair share of all ``n_customers * k`` assignments, times a
    ``uniform(0.5, 1.5)`` factor, so the caps of popular offers bind;
    ``cap_share=None`` gives no caps.

    Examples
    --------
    >>> p = random_problem(100, 5, k=2, random_state=0)
    >>> p.n_candidates, p.budget_names
    (500, ('total',))
    """
    _random_problem_iv(n_customers, n_offers, k, budget_share, cap_share)
    rng = check_random_state(random_state)
    value = rng.lognormal(0.0, 1.0, size=(n_customers, n_offers))
    cost = rng.uniform(0.1, 1.0, size=(n_customers, n_offers))
    kk = min(k, n_offers)
    top = np.argpartition(-value, kk - 1, axis=1)[:, :kk]
    max_spend = float(np.take_along_axis(cost, top, axis=1).sum())
    limit = budget_share * max_spend
    cap = None
    if cap_share is not None:
        expected = n_customers * kk / n_offers
        cap = np.ceil(cap_share * expected * rng.uniform(0.5, 1.5, size=n_offers))
    return AllocationProblem.from_dense(value, cost, budgets=[Budget("total", limit)], k=k, cap=cap)
