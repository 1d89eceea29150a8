"""The reference model: MILP through ``scipy.optimize.milp`` and its LP relaxation
through ``scipy.optimize.linprog`` (both HiGHS).

HiGHS works to absolute tolerances (feasibility 1e-7, MIP gap 1e-6), so the model
it sees is scaled first: the objective by a power of two that brings the largest
value into ``[1, 2)`` (the MILP: the LP bound near ``2**20``), and each budget and
cap row by a power of two that brings its largest coefficient there (exact: powers
of two do not round), then loosened by ``_RHS_SLACK`` so plans at a limit exactly
are not at the edge of HiGHS' tolerances. Pairs that alone exceed a limit are
fixed to 0. A MILP answer is then checked in exact arithmetic; one over a limit
is cut off (no superset of its pairs on that row can fit either) and the MILP
solved again, so the plan returned is HiGHS' optimum over the plans that fit.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from onetoone._arrays import F64, I64
from onetoone.allocation._problem import AllocationProblem
from onetoone.allocation._solve import (
    _Ctx,
    _row_of_candidate,
    certified_bound,
    exceeds,
    over_caps,
)

#: Most MILP solves when answers keep exceeding a limit by rounding.
MAX_ROUNDS = 25
#: Added to each scaled budget and cap row (largest coefficient in [1, 2)): a plan at
#: its limit exactly is then well inside HiGHS' tolerances, which its presolve can
#: otherwise misjudge (it dropped such a plan, the optimum, in the fuzz). Plans the
#: slack lets in are over the limit in exact arithmetic, and are cut off.
_RHS_SLACK = 1e-6
#: HiGHS' absolute MIP gap (1e-6) plus its feasibility tolerance, in scaled units:
#: HiGHS' dual bound can sit this far below the optimum of the scaled model.
_HIGHS_ABS_SLACK = 2e-6


#: The largest power-of-two exponent a scale may take either way: a subnormal usage
#: (5e-324) would otherwise need 2**1074, which overflows float64.
_MAX_SCALE_EXP = 600


def _pow2_scale(top: float) -> float:
    """A power of two ``s`` with ``top * s`` in ``[1, 2)`` (1 for ``top <= 0``).

    The exponent is clipped to ``[-600, 600]``, so a scale never overflows; rows
    whose usages are that tiny are barely constraining and are checked exactly
    after HiGHS anyway.
    """
    if not top > 0 or not np.isfinite(top):
        return 1.0
    e = float(np.clip(-np.floor(np.log2(top)), -_MAX_SCALE_EXP, _MAX_SCALE_EXP))
    return float(2.0**e)


@attrs.frozen
class _Model:
    a: sp.csr_array
    ub: F64
    c: F64  # scaled objective (minimise): -value * vscale
    vscale: float
    row_scale: F64  # per row of a
    upper: F64  # per candidate: 0 for pairs that alone exceed a limit
    n_rows: int  # customer rows
    n_group_rows: int
    budget_rows: F64  # indices of budget rows in a (float for simplicity)
    cap_rows: F64
    capped: F64


def build_model(p: AllocationProblem, value_scale: float | None = None) -> _Model:
    """``A x <= ub`` rows: k per customer, group_max per (customer, group), budgets, caps.

    ``value_scale`` (a power of two) multiplies the objective; by default the one
    that brings the largest value of a pair that can be chosen into ``[1, 2)``.
    """
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
    scales: list[Any] = [np.ones(nxt)]
    upper = np.ones(n)
    budget_rows = []
    for b in range(p.n_budgets):
        lim = float(p.budget_limit[b])
        if not np.isfinite(lim):
            continue
        u = p.usage[b]
        upper[u > lim] = 0.0
        nz = np.flatnonzero(u)
        s = _pow2_scale(float(u.max()) if n else 0.0)
        blocks_r.append(np.full(len(nz), nxt))
        blocks_c.append(nz)
        blocks_v.append(u[nz] * s)
        ub.append(np.array([lim * s + _RHS_SLACK]))
        scales.append(np.array([s]))
        budget_rows.append(b)
        nxt += 1
    capped = np.flatnonzero(np.isfinite(p.cap))
    w = p.cap_weight()
    if len(capped):
        upper[w > p.cap[p.offer]] = 0.0
        sel = np.isfinite(p.cap[p.offer])
        cols = np.flatnonzero(sel)
        rank = np.full(p.n_offers, -1)
        rank[capped] = np.arange(len(capped))
        top = np.zeros(len(capped))
        np.maximum.at(top, rank[p.offer[cols]], w[cols])
        cs = np.array([_pow2_scale(float(t)) for t in top.tolist()])
        blocks_r.append(nxt + rank[p.offer[cols]])
        blocks_c.append(cols)
        blocks_v.append(w[cols] * cs[rank[p.offer[cols]]])
        ub.append(p.cap[capped] * cs + _RHS_SLACK)
        scales.append(cs)
    n_total = nxt + len(capped)
    a = sp.csr_array(
        (np.concatenate(blocks_v), (np.concatenate(blocks_r), np.concatenate(blocks_c))),
        shape=(n_total, n),
    )
    upper[p.layout.row_k[row_of] == 0] = 0.0
    if value_scale is None:
        can = upper > 0
        value_scale = _pow2_scale(float(p.value[can].max()) if bool(can.any()) else 0.0)
    return _Model(
        a=a,
        ub=np.concatenate(ub).astype(np.float64),
        c=np.where(upper > 0, -p.value * value_scale, 0.0),
        vscale=value_scale,
        row_scale=np.concatenate(scales).astype(np.float64),
        upper=upper,
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
    # marginals of the scaled rows -> prices of the original ones
    marg = marg * m.row_scale / m.vscale
    lam = np.zeros(p.n_budgets)
    first_budget = m.n_rows + m.n_group_rows
    for i, b in enumerate(m.budget_rows.astype(int).tolist()):
        lam[b] = max(0.0, -float(marg[first_budget + i]))
    mu = np.zeros(p.n_offers)
    if len(m.capped):
        mu[m.capped.astype(int)] = np.maximum(0.0, -marg[m.cap_rows.astype(int)])
    return lam, mu


def solve_lp(p: AllocationProblem, *, time_limit: float | None, solver: str = "highs-ipm") -> LpOut:
    """LP relaxation (HiGHS); prices are the duals of the budget and cap rows.

    The value returned is the Lagrangian dual at those prices, computed by
    :func:`certified_bound`: equal to the LP optimum up to HiGHS' tolerance, and
    a proven upper bound on every plan whatever that tolerance did.
    """
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
    res = linprog(
        m.c,
        A_ub=m.a,
        b_ub=m.ub,
        bounds=np.column_stack([np.zeros(p.n_candidates), m.upper]),
        method=solver,
        options=opts,
    )
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
    value = certified_bound(_Ctx.build(p, 1 << 20), lam, mu)
    return LpOut(
        value,
        np.asarray(res.x, dtype=np.float64),
        lam,
        mu,
        int(res.status),
        str(res.message),
        bool(res.status == 0),
    )


@attrs.frozen
class MilpOut:
    """The MILP's plan (``chosen``; None if HiGHS found none) and its certificate.

    ``fits`` says whether the plan meets every limit in the correctly rounded
    sums; when it does not (rounds ran out), the caller repairs it and the
    MILP's optimality claim does not carry over.
    """

    chosen: npt.NDArray[np.bool_] | None
    dual_bound: float
    status: int
    message: str
    success: bool
    fits: bool
    rounds: int


def _over_rows(p: AllocationProblem, chosen: npt.NDArray[np.bool_]) -> list[tuple[I64, int]]:
    """Cuts for the limits the plan exceeds in exact arithmetic: ``(pairs, most)``,
    at most ``most`` of ``pairs`` in any plan that fits.

    Per limit exceeded, with ``S`` the chosen pairs that use it: ``S`` itself (no
    plan holds all of ``S``), and every pair whose usage is at least ``S``'s
    largest (no plan holds ``|S|`` of them: they would use at least as much as
    ``S``). The second covers the many equal-usage copies of ``S`` (decimal
    usages, ties) in one cut.
    """
    idx = np.flatnonzero(chosen)
    rows: list[F64] = []
    for b in range(p.n_budgets):
        if exceeds(p.usage[b][idx], float(p.budget_limit[b])):
            rows.append(p.usage[b])
    w = p.cap_weight()
    for o in over_caps(p, idx).tolist():
        rows.append(np.where(p.offer == o, w, 0.0))
    out: list[tuple[I64, int]] = []
    for row in rows:
        sel = idx[row[idx] > 0]
        out.append((sel, len(sel) - 1))
        dom = np.flatnonzero(row >= row[sel].max())
        if len(dom) > len(sel):
            out.append((dom, len(sel) - 1))
    return out


def solve_milp(
    p: AllocationProblem,
    *,
    time_limit: float | None,
    mip_rel_gap: float,
    upper_bound: float = np.inf,
) -> MilpOut:
    """The integer model through ``scipy.optimize.milp`` (HiGHS branch and bound).

    Solved on the scaled model; a plan over a limit in the correctly rounded sums
    gets a cut ``sum(x[S]) <= |S| - 1`` on its pairs ``S`` that use the limit, and
    the MILP is solved again (at most :data:`MAX_ROUNDS` times).

    HiGHS stops at an absolute gap of 1e-6 of the objective it sees, which is
    scaled so that ``upper_bound`` (a bound on the optimum, e.g. the LP's) is
    about ``2**20``: the absolute gap is then about 1e-12 of the optimum. The
    dual bound returned is HiGHS' raised by that absolute gap (and its
    tolerances), in the problem's units.
    """
    if p.n_candidates == 0:
        return MilpOut(np.zeros(0, dtype=bool), 0.0, 0, "no eligible candidates", True, True, 0)
    scale = None
    if np.isfinite(upper_bound) and upper_bound > 0:
        scale = _pow2_scale(upper_bound) * 2.0**20
    m = build_model(p, scale)
    opts: dict[str, Any] = {"mip_rel_gap": float(mip_rel_gap)}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    cut_r: list[I64] = []
    cut_c: list[I64] = []
    cut_ub: list[float] = []
    chosen: npt.NDArray[np.bool_] | None = None
    dual_bound = np.inf
    status, message, success = 0, "", False
    for rounds in range(1, MAX_ROUNDS + 1):
        cons = [LinearConstraint(m.a, -np.inf, m.ub)]
        if cut_ub:
            cuts = sp.csr_array(
                (
                    np.ones(sum(len(c) for c in cut_c)),
                    (np.concatenate(cut_r), np.concatenate(cut_c)),
                ),
                shape=(len(cut_ub), p.n_candidates),
            )
            cons.append(LinearConstraint(cuts, -np.inf, np.array(cut_ub)))
        res = milp(
            m.c,
            constraints=cons,
            integrality=np.ones(p.n_candidates),
            bounds=Bounds(0.0, m.upper),
            options=opts,
        )
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            dual_bound = min(dual_bound, (float(-dual) + _HIGHS_ABS_SLACK) / m.vscale)
        status, message = int(res.status), str(res.message)
        success = status == 0
        if res.x is None:
            return MilpOut(None, dual_bound, status, message, False, False, rounds)
        chosen = np.asarray(res.x, dtype=np.float64) > 0.5
        over = _over_rows(p, chosen)
        if not over:
            return MilpOut(chosen, dual_bound, status, message, success, True, rounds)
        for sel, most in over:
            cut_r.append(np.full(len(sel), len(cut_ub), dtype=np.int64))
            cut_c.append(sel.astype(np.int64))
            cut_ub.append(float(most))
    return MilpOut(chosen, dual_bound, status, message, False, False, MAX_ROUNDS)
