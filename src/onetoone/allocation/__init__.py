"""Budget-constrained offer allocation: which offers each customer receives.

Takes value and cost arrays (dense matrices or sparse candidate lists), so any
scorer or ERP can feed it; knows nothing of affinity models.

- :class:`AllocationProblem` (+ :class:`Budget`): validated candidates, budgets,
  per-offer caps, offers per customer, groups, minimum value.
- :func:`allocate`: ``"dual"`` (Lagrangian, scales to millions), ``"exact"``
  (MILP via HiGHS), ``"greedy"`` (value/cost baseline) -> :class:`Allocation`
  with its bound, gap and shadow prices.
- :func:`lp_bound`: the LP relaxation by HiGHS; :func:`budget_curve`: objective
  versus budget.
- :class:`Plan`: an allocation with its customer and offer ids;
  :func:`save_plan` / :func:`load_plan` (``.npz``, versioned, no pickle) and
  :meth:`Plan.to_arrow` (for Parquet).
- :func:`customer_step`: the pure per-customer step on a block (for Dask).
- :func:`random_problem`: the random instances of the benchmarks.
"""

from onetoone.allocation._api import (
    Allocation,
    BudgetCurve,
    LpBound,
    allocate,
    budget_curve,
    lp_bound,
)
from onetoone.allocation._kernel import customer_step, entry_thresholds
from onetoone.allocation._plan import PLAN_FORMAT_VERSION, Plan, load_plan, save_plan
from onetoone.allocation._problem import AllocationProblem, Budget
from onetoone.allocation._synthetic import random_problem

__all__ = [
    "Allocation",
    "AllocationProblem",
    "Budget",
    "BudgetCurve",
    "LpBound",
    "PLAN_FORMAT_VERSION",
    "Plan",
    "allocate",
    "budget_curve",
    "customer_step",
    "entry_thresholds",
    "load_plan",
    "lp_bound",
    "random_problem",
    "save_plan",
]
