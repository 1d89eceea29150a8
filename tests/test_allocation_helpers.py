"""Shared checks for the allocation tests (not a test module)."""

from __future__ import annotations

import numpy as np

from onetoone.allocation import Allocation, AllocationProblem

REL = 1e-9


def candidate_index(p: AllocationProblem, a: Allocation) -> np.ndarray:
    """Index in the problem's candidate arrays of each chosen pair (asserts it exists)."""
    key = p.customer.astype(np.int64) * max(p.n_offers, 1) + p.offer
    order = np.argsort(key)
    want = a.customer.astype(np.int64) * max(p.n_offers, 1) + a.offer
    pos = np.searchsorted(key[order], want)
    assert np.all(pos < len(key)), "a chosen pair is not an eligible candidate"
    idx = order[pos]
    assert np.array_equal(key[idx], want), "a chosen pair is not an eligible candidate"
    return idx


def assert_feasible(p: AllocationProblem, a: Allocation) -> None:
    """Every hard constraint holds, recomputed from scratch."""
    idx = candidate_index(p, a)
    assert len(np.unique(idx)) == len(idx), "a pair is chosen twice"
    assert np.all(p.value[idx] > 0)
    assert np.all(p.value[idx] >= p.min_value)
    per_c = np.bincount(a.customer, minlength=p.n_customers)
    assert np.all(per_c <= p.k), "more offers than k for a customer"
    if p.group is not None and len(idx):
        g = p.group[a.offer]
        _, counts = np.unique(a.customer.astype(np.int64) * (g.max() + 1) + g, return_counts=True)
        assert counts.max() <= p.group_max, "group_max exceeded"
    w = p.cap_weight()[idx]
    use = np.bincount(a.offer, weights=w, minlength=p.n_offers)
    assert np.all(use <= p.cap * (1 + REL) + 1e-12), "a cap is exceeded"
    for b in range(p.n_budgets):
        spend = float(np.sum(p.usage[b][idx]))
        assert spend <= p.budget_limit[b] * (1 + REL) + 1e-12, f"budget {b} exceeded"
        assert np.isclose(spend, a.budget_spend[b], rtol=1e-9, atol=1e-12)
    assert np.isclose(a.objective, float(p.value[idx].sum()), rtol=1e-12, atol=1e-12)
    assert np.array_equal(np.lexsort((a.offer, a.customer)), np.arange(len(a)))
    assert a.bound >= a.objective * (1 - 1e-12) - 1e-12
    if a.bound > 0:
        assert np.isclose(a.gap, (a.bound - a.objective) / a.bound, rtol=1e-9, atol=1e-12)
    assert np.all(a.budget_price >= 0) and np.all(a.cap_price >= 0)
