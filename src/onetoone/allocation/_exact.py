"""The reference model: MILP through ``scipy.optimize.milp`` and its LP relaxation
through ``scipy.optimize.linprog`` (both HiGHS)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from onetoone._arrays import F64
from onetoone.allocation._problem import AllocationProblem
from onetoone.allocation._solve import _row_of_candidate


@attrs.frozen
class _Model:
    a: sp.csr_array
    ub: F64
    n_rows: int  # customer rows
    n_group_rows: int
    budget_rows: F64  # indices of budget rows in a (float for simplicity)
    cap_rows: F64
    capped: F64


def build_model(p: AllocationProblem) -> _Model:
    """``A x <= ub`` rows: k per customer, group_max per (customer, group), budgets, caps."""
    n = p.n_candidates
    row_of = _row_of_candidate(p)
    n_rows = len(p.layout.row_customer)
    blocks_r: list[Any] = [row_of]
    blocks_c: list[Any] = [np.arange(n)]
    blocks_v: list[Any] = [np.ones(n)]
    ub: list[Any] = [p.layout.row_k.astype(np.float64)]
    nxt = n_rows
    n_group_rows = 0
    if p.group is not None and n:
        key = row_of * (int(p.group.max()) + 1) + p.group[p.offer]
        uniq, inv = np.unique(key, return_inverse=True)
        blocks_r.append(nxt + inv.reshape(-1))
        blocks_c.append(np.arange(n))
        blocks_v.append(np.ones(n))
        ub.append(np.full(len(uniq), float(p.group_max)))
        n_group_rows = len(uniq)
        nxt += len(uniq)
    budget_rows = []
    for b in range(p.n_budgets):
        lim = float(p.budget_limit[b])
        if not np.isfinite(lim):
            continue
        u = p.usage[b]
        nz = np.flatnonzero(u)
        blocks_r.append(np.full(len(nz), nxt))
        blocks_c.append(nz)
        blocks_v.append(u[nz])
        ub.append(np.array([lim]))
        budget_rows.append(b)
        nxt += 1
    capped = np.flatnonzero(np.isfinite(p.cap))
    w = p.cap_weight()
    if len(capped):
        sel = np.isfinite(p.cap[p.offer])
        cols = np.flatnonzero(sel)
        rank = np.full(p.n_offers, -1)
        rank[capped] = np.arange(len(capped))
        blocks_r.append(nxt + rank[p.offer[cols]])
        blocks_c.append(cols)
        blocks_v.append(w[cols])
        ub.append(p.cap[capped])
    n_total = nxt + len(capped)
    a = sp.csr_array(
        (np.concatenate(blocks_v), (np.concatenate(blocks_r), np.concatenate(blocks_c))),
        shape=(n_total, n),
    )
    return _Model(
        a=a,
        ub=np.concatenate(ub).astype(np.float64),
        n_rows=n_rows,
        n_group_rows=n_group_rows,
        budget_rows=np.array(budget_rows, dtype=np.float64),
        cap_rows=np.arange(nxt, n_total, dtype=np.float64),
        capped=capped.astype(np.float64),
    )


@attrs.frozen
class LpOut:
    value: float
    x: F64
    lam: F64
    mu: F64
    status: int
    message: str
    success: bool


def _prices(p: AllocationProblem, m: _Model, marg: F64) -> tuple[F64, F64]:
    lam = np.zeros(p.n_budgets)
    first_budget = m.n_rows + m.n_group_rows
    for i, b in enumerate(m.budget_rows.astype(int).tolist()):
        lam[b] = max(0.0, -float(marg[first_budget + i]))
    mu = np.zeros(p.n_offers)
    if len(m.capped):
        mu[m.capped.astype(int)] = np.maximum(0.0, -marg[m.cap_rows.astype(int)])
    return lam, mu


def solve_lp(p: AllocationProblem, *, time_limit: float | None, solver: str = "highs-ipm") -> LpOut:
    """LP relaxation (HiGHS); prices are the duals of the budget and cap rows."""
    if p.n_candidates == 0:
        return LpOut(
            0.0,
            np.zeros(0),
            np.zeros(p.n_budgets),
            np.zeros(p.n_offers),
            0,
            "no eligible candidates",
            True,
        )
    m = build_model(p)
    opts: dict[str, Any] = {}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    res = linprog(-p.value, A_ub=m.a, b_ub=m.ub, bounds=(0.0, 1.0), method=solver, options=opts)
    if res.x is None:
        return LpOut(
            np.inf,
            np.zeros(p.n_candidates),
            np.zeros(p.n_budgets),
            np.zeros(p.n_offers),
            int(res.status),
            str(res.message),
            False,
        )
    lam, mu = _prices(p, m, np.asarray(res.ineqlin.marginals, dtype=np.float64))
    return LpOut(
        float(-res.fun),
        np.asarray(res.x, dtype=np.float64),
        lam,
        mu,
        int(res.status),
        str(res.message),
        bool(res.status == 0),
    )


@attrs.frozen
class MilpOut:
    x: F64 | None
    objective: float
    dual_bound: float
    status: int
    message: str
    success: bool


def solve_milp(p: AllocationProblem, *, time_limit: float | None, mip_rel_gap: float) -> MilpOut:
    """The integer model through ``scipy.optimize.milp`` (HiGHS branch and bound)."""
    if p.n_candidates == 0:
        return MilpOut(np.zeros(0), 0.0, 0.0, 0, "no eligible candidates", True)
    m = build_model(p)
    opts: dict[str, Any] = {"mip_rel_gap": float(mip_rel_gap)}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    res = milp(
        -p.value,
        constraints=LinearConstraint(m.a, -np.inf, m.ub),
        integrality=np.ones(p.n_candidates),
        bounds=Bounds(0.0, 1.0),
        options=opts,
    )
    dual = getattr(res, "mip_dual_bound", None)
    dual_bound = float(-dual) if dual is not None and np.isfinite(dual) else np.inf
    if res.x is None:
        return MilpOut(None, 0.0, dual_bound, int(res.status), str(res.message), False)
    x = np.asarray(res.x, dtype=np.float64)
    return MilpOut(
        x, float(-res.fun), dual_bound, int(res.status), str(res.message), bool(res.status == 0)
    )
