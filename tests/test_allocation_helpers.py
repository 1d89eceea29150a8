"""Shared checks for the allocation tests (not a test module)."""

from __future__ import annotations

import math

import numpy as np

from onetoone.allocation import Allocation, AllocationProblem


def _exceeds(parts: np.ndarray, limit: float) -> bool:
    """The exact (real-number) sum of ``parts`` is above ``limit`` (fsum's sign is exact)."""
    return bool(np.isfinite(limit)) and math.fsum([*parts.tolist(), -limit]) > 0


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
    # limits hold exactly: in the reported (correctly rounded) sums and in exact arithmetic
    w = p.cap_weight()[idx]
    for o in range(p.n_offers):
        wo = w[a.offer == o]
        assert a.offer_usage[o] == math.fsum(wo.tolist()), "offer usage is not the exact sum"
        assert a.offer_usage[o] <= p.cap[o], f"cap of offer {o} exceeded"
        assert not _exceeds(wo, float(p.cap[o])), f"cap of offer {o} exceeded (exact sum)"
    for b in range(p.n_budgets):
        u = p.usage[b][idx]
        assert a.budget_spend[b] == math.fsum(u.tolist()), "budget spend is not the exact sum"
        assert a.budget_spend[b] <= p.budget_limit[b], f"budget {b} exceeded"
        assert not _exceeds(u, float(p.budget_limit[b])), f"budget {b} exceeded (exact sum)"
    assert a.objective == math.fsum(p.value[idx].tolist())
    assert np.array_equal(np.lexsort((a.offer, a.customer)), np.arange(len(a)))
    assert a.bound >= a.objective
    if a.bound > 0:
        assert np.isclose(a.gap, (a.bound - a.objective) / a.bound, rtol=1e-9, atol=1e-12)
    assert np.all(a.budget_price >= 0) and np.all(a.cap_price >= 0)
