"""Allocate offers under a budget and per-offer caps, with a certificate and a return curve.

Synthetic data: 3 000 customers x 20 offers, lognormal expected values, uniform expected
costs, one budget at 10 % of the maximum spend, per-offer caps. Runs in a few seconds:

    python examples/allocation_budget.py
"""

from __future__ import annotations

import numpy as np

from onetoone.allocation import allocate, budget_curve, lp_bound, random_problem


def main() -> None:
    problem = random_problem(3_000, 20, k=1, random_state=42)
    limit = float(problem.budget_limit[0])
    print(f"{problem.n_customers} customers x {problem.n_offers} offers, budget {limit:,.1f}")

    dual = allocate(problem)  # Lagrangian dual + repair + greedy fill
    greedy = allocate(problem, method="greedy")
    lp = lp_bound(problem)  # HiGHS LP relaxation: the reference bound
    print(dual.summary())
    print(f"greedy objective {greedy.objective:,.2f}; HiGHS LP bound {lp.value:,.2f}")

    # the plan is feasible, certified, and at least as good as the greedy baseline
    assert dual.budget_spend[0] <= limit
    assert np.all(dual.offer_count <= problem.cap)
    assert np.all(np.bincount(dual.customer, minlength=problem.n_customers) <= 1)
    assert dual.objective <= lp.value * (1 + 1e-9) <= dual.bound * (1 + 1e-9)
    assert dual.gap < 1e-3
    assert dual.objective >= greedy.objective
    # the shadow price agrees with the LP's dual price of the budget
    assert abs(dual.budget_price[0] / lp.budget_price[0] - 1) < 0.05

    # the return of the next euro: objective versus budget, warm-started
    curve = budget_curve(problem, limit * np.array([0.5, 1.0, 1.5, 2.0]))
    print("budget      objective   shadow price   marginal return")
    mr = np.r_[np.nan, curve.marginal_return]
    for b, obj, price, m in zip(curve.limit, curve.objective, curve.price, mr, strict=True):
        print(f"{b:9.1f} {obj:12.2f} {price:12.3f} {m:14.3f}")
    assert np.all(np.diff(curve.objective) > 0)  # more budget, more value
    assert np.all(np.diff(curve.price) <= 1e-9)  # ... at a falling rate
    print("ok")


if __name__ == "__main__":
    main()
