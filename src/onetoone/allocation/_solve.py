"""Solvers on an :class:`AllocationProblem`: Lagrangian dual, repair, greedy fill.

Everything here loops over blocks of customers or over solver iterations, never
over customers: each block is a dense ``(n, d)`` slice handed to the pure
per-customer step in :mod:`onetoone.allocation._kernel`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I64, readonly
from onetoone.allocation._kernel import (
    _chosen_index,
    _customer_step,
    _entry_thresholds,
    _room_in_group,
)
from onetoone.allocation._problem import AllocationProblem, _Layout
from onetoone.allocation._search import MAX_PRICE, PriceSearch

_B = npt.NDArray[np.bool_]
_EPS = float(np.finfo(np.float64).eps)


# ------------------------------------------------------- exact sums (the report's)
def exact_sum(a: F64) -> float:
    """The correctly rounded sum of ``a`` (``math.fsum``).

    Every figure an :class:`~onetoone.allocation.Allocation` reports (objective,
    budget spend, offer usage) is such a sum, and feasibility is decided on the
    same sums, so ``budget_spend <= budget_limit`` holds exactly as reported.
    """
    return math.fsum(np.asarray(a, dtype=np.float64).tolist())


def exact_spend(p: AllocationProblem, idx: I64) -> F64:
    """Correctly rounded usage of each budget by the pairs ``idx``."""
    return np.array([exact_sum(p.usage[b][idx]) for b in range(p.n_budgets)], dtype=np.float64)


def exact_use(p: AllocationProblem, idx: I64) -> F64:
    """Correctly rounded cap usage of each offer by the pairs ``idx`` (loops over offers)."""
    if p.cap_usage is None:
        return np.bincount(p.offer[idx], minlength=p.n_offers).astype(np.float64)
    out = np.zeros(p.n_offers)
    off = p.offer[idx]
    order = np.argsort(off, kind="stable")
    w = p.cap_usage[idx][order]
    bounds = np.searchsorted(off[order], np.arange(p.n_offers + 1))
    for o in np.flatnonzero(np.diff(bounds)).tolist():
        out[o] = exact_sum(w[bounds[o] : bounds[o + 1]])
    return out


def exceeds(parts: F64, limit: float) -> bool:
    """Whether the exact (real-number) sum of ``parts`` is above ``limit``.

    ``math.fsum`` of the parts and ``-limit`` is correctly rounded, so its sign is
    the sign of the exact difference. A plan that passes also has its correctly
    rounded sum (the reported figure) ``<= limit``, rounding being monotone.
    """
    if not np.isfinite(limit):
        return False
    return math.fsum([*np.asarray(parts, dtype=np.float64).tolist(), -limit]) > 0.0


def over_caps(p: AllocationProblem, idx: I64) -> I64:
    """Offers whose cap the pairs ``idx`` exceed in exact arithmetic (loops over offers)."""
    if not bool(np.isfinite(p.cap).any()) or not len(idx):
        return np.empty(0, dtype=np.int64)
    off = p.offer[idx]
    w_idx = np.ones(len(idx)) if p.cap_usage is None else p.cap_usage[idx]
    order = np.argsort(off, kind="stable")
    ws = w_idx[order]
    bounds = np.searchsorted(off[order], np.arange(p.n_offers + 1))
    # clear cases by float sums (error <= n eps sum), exact sums near the cap
    tot = np.bincount(off, weights=w_idx, minlength=p.n_offers)
    cnt = np.diff(bounds)
    near = np.isfinite(p.cap) & (tot + (cnt + 2) * _EPS * tot > p.cap)
    out = [
        o for o in np.flatnonzero(near).tolist() if exceeds(ws[bounds[o] : bounds[o + 1]], p.cap[o])
    ]
    return np.array(out, dtype=np.int64)


def _surely_within(parts: F64, limit: float) -> bool:
    """True when the (pairwise, numpy) sum of ``parts`` >= 0 is provably <= ``limit``."""
    if not np.isfinite(limit):
        return True
    n = len(parts)
    s = float(parts.sum())
    return s + (n + 2) * _EPS * s <= limit


def enforce_exact(p: AllocationProblem, chosen: _B, keep_score: F64) -> int:
    """Drop chosen pairs until every budget and cap holds in exact arithmetic.

    The exact sum of the chosen usages is at most the limit (see :func:`exceeds`),
    hence so is the correctly rounded sum that is reported.

    Pairs that are over by rounding only (one ulp) are rare and few, so this drops
    one pair at a time, the lowest ``keep_score`` among those using the row that is
    over. Budgets that are clearly within their limit skip the exact sum. Returns
    the number of pairs dropped.
    """
    dropped = 0
    while True:
        idx = np.flatnonzero(chosen)
        if not len(idx):
            return dropped
        row: F64 | None = None
        for b in range(p.n_budgets):
            u = p.usage[b][idx]
            lim = float(p.budget_limit[b])
            if not _surely_within(u, lim) and exceeds(u, lim):
                row = p.usage[b]
                break
        if row is None:
            over = over_caps(p, idx)
            if len(over):
                w = 1.0 if p.cap_usage is None else p.cap_usage
                row = np.where(p.offer == over[0], w, 0.0)
        if row is None:
            return dropped
        cand = idx[row[idx] > 0]
        chosen[cand[np.argmin(keep_score[cand])]] = False
        dropped += 1


def _fits_alone(p: AllocationProblem, c0: int, c1: int) -> _B:
    """Candidates ``c0:c1`` whose own usage fits every budget and their offer's cap."""
    ok = np.ones(c1 - c0, dtype=bool)
    for b in range(p.n_budgets):
        ok &= p.usage[b][c0:c1] <= p.budget_limit[b]
    w = 1.0 if p.cap_usage is None else p.cap_usage[c0:c1]
    ok &= w <= p.cap[p.offer[c0:c1]]
    return ok


def certified_bound(ctx: _Ctx, lam: F64, mu: F64) -> float:
    """The Lagrangian dual at ``(lam, mu)``, rounded up so it is a proven upper bound.

    Any prices ``>= 0`` give an upper bound (weak duality); floating point can put
    the computed value below the true one, so the value is summed exactly
    (``math.fsum``) and raised by a bound on the rounding of the reduced values
    ``v - lam . a - mu w`` (zero when all prices are zero: then the bound is the
    correctly rounded sum of the customers' best values, comparable with an
    objective summed the same way).
    """
    p = ctx.p
    lam = np.where(np.isfinite(p.budget_limit), lam, 0.0)
    mu = np.where(np.isfinite(p.cap), mu, 0.0)
    if len(ctx.capped):
        keep_mu = np.zeros(p.n_offers, dtype=bool)
        keep_mu[ctx.capped] = True
        mu = np.where(keep_mu, mu, 0.0)
    else:
        mu = np.zeros(p.n_offers)
    priced = bool(np.any(lam != 0.0)) or bool(np.any(mu != 0.0))
    terms: list[float] = []
    mag = 0.0
    k = p.layout.row_k
    for r0, r1, c0, c1, d in ctx.chunks:
        n = r1 - r0
        r = _reduced(ctx, c0, c1, lam, mu)
        # a pair that alone exceeds a limit is in no plan: leaving it out of the
        # customers' maxima keeps the bound valid, and tighter
        possible = _fits_alone(p, c0, c1)
        r = np.where(possible, r, -np.inf)
        sel = _chosen_index(r.reshape(n, d), k[r0:r1], _groups(ctx, c0, c1, n, d), p.group_max)
        terms.extend(r[sel].tolist())
        if priced:
            a = np.abs(p.value[c0:c1]) + np.where(possible, np.abs(r), 0.0)
            for b in range(p.n_budgets):
                if lam[b] != 0.0:
                    a += lam[b] * p.usage[b][c0:c1]
            if len(ctx.capped):
                a += mu[p.offer[c0:c1]] * (1.0 if ctx.w is None else ctx.w[c0:c1])
            mag += float(a.sum())
    fb = np.flatnonzero(lam != 0.0)
    fc = np.flatnonzero(mu != 0.0)
    prod = np.concatenate([lam[fb] * p.budget_limit[fb], mu[fc] * p.cap[fc]])
    terms.extend(prod.tolist())
    mag += float(np.abs(prod).sum())
    total = math.fsum(terms)
    if not priced:
        return total
    # each reduced value is off by <= ~3 eps of its magnitude; the max over a customer's
    # plans by as much; the products lam*B by eps; numpy's partial sums add log2(n) eps
    margin = (16.0 + math.log2(p.n_candidates + 2)) * _EPS * mag
    return math.nextafter(total + margin * (1.0 + 1e-6), math.inf)


@attrs.define
class _Ctx:
    """Per-solve cached views of a problem."""

    p: AllocationProblem
    chunks: list[tuple[int, int, int, int, int]]
    w: F64 | None  # cap usage (None: all ones)
    capped: I64  # offers whose cap could bind
    offer_perm: npt.NDArray[np.int32] | None = None  # candidates grouped by offer
    offer_ptr: I64 | None = None
    passes: int = 0
    _row_of: I64 | None = None

    def row_of(self) -> I64:
        """Internal row of each candidate (cached)."""
        if self._row_of is None:
            self._row_of = _row_of_candidate(self.p)
        return self._row_of

    @classmethod
    def build(cls, p: AllocationProblem, block_size: int) -> _Ctx:
        w = p.cap_usage
        finite = np.isfinite(p.cap)
        capped = np.empty(0, dtype=np.int64)
        if bool(finite.any()) and p.n_candidates:
            wt = np.ones(p.n_candidates) if w is None else w
            tot = np.bincount(p.offer, weights=wt, minlength=p.n_offers)
            capped = np.flatnonzero(finite & (tot > p.cap)).astype(np.int64)
        ctx = cls(p=p, chunks=p.layout.chunks(block_size), w=w, capped=capped)
        if len(capped):
            key = p.offer.astype(np.int16) if p.n_offers < 2**15 else p.offer
            ctx.offer_perm = np.argsort(key, kind="stable").astype(np.int32)
            ctx.offer_ptr = np.concatenate(
                [[0], np.cumsum(np.bincount(p.offer, minlength=p.n_offers))]
            ).astype(np.int64)
        return ctx


@attrs.frozen
class _Eval:
    lagr: float  # sum over customers of the best plan's reduced value
    spend: F64  # per budget
    use: F64  # per offer (cap usage)
    chosen: _B | None


# ------------------------------------------------------------------ evaluation
def _reduced(ctx: _Ctx, c0: int, c1: int, lam: F64, mu: F64) -> F64:
    p = ctx.p
    r = np.array(p.value[c0:c1], dtype=np.float64)
    tmp = np.empty_like(r)
    for b in range(p.n_budgets):
        if lam[b] != 0.0:
            np.multiply(p.usage[b][c0:c1], lam[b], out=tmp)
            r -= tmp
    if len(ctx.capped):
        np.take(mu, p.offer[c0:c1], out=tmp)
        if ctx.w is not None:
            tmp *= ctx.w[c0:c1]
        r -= tmp
    return r


def _groups(ctx: _Ctx, c0: int, c1: int, n: int, d: int) -> npt.NDArray[np.int32] | None:
    g = ctx.p.group
    if g is None:
        return None
    return g[ctx.p.offer[c0:c1]].reshape(n, d)


def _evaluate(ctx: _Ctx, lam: F64, mu: F64, *, want_chosen: bool = False) -> _Eval:
    """Solve every customer's subproblem at prices (lam, mu)."""
    p = ctx.p
    ctx.passes += 1
    lagr = 0.0
    spend = np.zeros(p.n_budgets)
    use = np.zeros(p.n_offers)
    chosen = np.zeros(p.n_candidates, dtype=bool) if want_chosen else None
    k = p.layout.row_k
    for r0, r1, c0, c1, d in ctx.chunks:
        n = r1 - r0
        r = _reduced(ctx, c0, c1, lam, mu)
        sel = _chosen_index(r.reshape(n, d), k[r0:r1], _groups(ctx, c0, c1, n, d), p.group_max)
        lagr += float(r[sel].sum())
        gsel = c0 + sel
        for b in range(p.n_budgets):
            spend[b] += float(p.usage[b][gsel].sum())
        if len(ctx.capped):
            wt = None if ctx.w is None else ctx.w[gsel]
            use += np.bincount(p.offer[gsel], weights=wt, minlength=p.n_offers)
        if chosen is not None:
            chosen[gsel] = True
    return _Eval(lagr, spend, use, chosen)


def _margins(ctx: _Ctx, lam: F64, mu: F64) -> tuple[F64, _Eval]:
    """Per candidate, the largest own-offer price at which it is still chosen."""
    p = ctx.p
    ctx.passes += 1
    q = np.empty(p.n_candidates)
    lagr = 0.0
    spend = np.zeros(p.n_budgets)
    use = np.zeros(p.n_offers)
    k = p.layout.row_k
    for r0, r1, c0, c1, d in ctx.chunks:
        n = r1 - r0
        r = _reduced(ctx, c0, c1, lam, mu)
        r2 = r.reshape(n, d)
        g = _groups(ctx, c0, c1, n, d)
        ch = _customer_step(r2, k[r0:r1], g, p.group_max)
        t = _entry_thresholds(r2, ch, k[r0:r1], g, p.group_max).ravel()
        flat = ch.ravel()
        lagr += float(r[flat].sum())
        for b in range(p.n_budgets):
            spend[b] += float(p.usage[b][c0:c1][flat].sum())
        wt = None if ctx.w is None else ctx.w[c0:c1]
        use += np.bincount(
            p.offer[c0:c1][flat], weights=None if wt is None else wt[flat], minlength=p.n_offers
        )
        mu_c = mu[p.offer[c0:c1]]
        if wt is None:
            q[c0:c1] = r + mu_c - t
        else:
            num = r + mu_c * wt - t
            with np.errstate(divide="ignore", invalid="ignore"):
                q[c0:c1] = np.where(
                    wt > 0, num / np.where(wt > 0, wt, 1.0), np.where(num > 0, np.inf, -np.inf)
                )
    return q, _Eval(lagr, spend, use, None)


def _cap_price(q: F64, w: F64 | None, cap: float) -> float:
    """Smallest price >= 0 at which the candidates with margin ``q`` fit under ``cap``."""
    pos = q[q > 0]
    if w is None:
        if len(pos) <= cap:
            return 0.0
        m = int(np.floor(cap + 1e-9))
        kth = len(pos) - m - 1
        return float(max(0.0, np.partition(pos, kth)[kth]))
    wp = w[q > 0]
    if float(wp.sum()) <= cap:
        return 0.0
    order = np.argsort(-pos, kind="stable")
    cum = np.cumsum(wp[order])
    m = int(np.searchsorted(cum, cap, side="right"))
    return float(max(0.0, pos[order[m]])) if m < len(order) else 0.0


# ------------------------------------------------------------------ dual solver
@attrs.define
class _LocalOracle:
    """The price search's oracle on one machine: sums over blocks of customers."""

    ctx: _Ctx
    _top: dict[int, float] = attrs.Factory(dict)

    def evaluate(self, lam: F64, mu: F64) -> _Eval:
        return _evaluate(self.ctx, lam, mu)

    def cap_targets(self, lam: F64, mu: F64, offers: I64) -> tuple[F64, _Eval]:
        q, ev = _margins(self.ctx, lam, mu)
        return _cap_targets(self.ctx, q, offers), ev

    def budget_top(self, b: int) -> float:
        if b not in self._top:
            p = self.ctx.p
            a = p.usage[b]
            pos = a > 0
            self._top[b] = float(np.max(p.value[pos] / a[pos])) if bool(pos.any()) else 0.0
        return self._top[b]


def _cap_targets(ctx: _Ctx, q: F64, offers: I64) -> F64:
    p = ctx.p
    assert ctx.offer_perm is not None and ctx.offer_ptr is not None
    out = np.zeros(len(offers))
    for i, o in enumerate(offers.tolist()):
        idx = ctx.offer_perm[ctx.offer_ptr[o] : ctx.offer_ptr[o + 1]]
        w = None if ctx.w is None else ctx.w[idx]
        out[i] = _cap_price(q[idx], w, float(p.cap[o]))
    return out


def _subsample(p: AllocationProblem, n_rows: int) -> AllocationProblem:
    """A systematic sample of ``n_rows`` customers with limits scaled to its share."""
    lay = p.layout
    total_rows = len(lay.row_customer)
    step = max(1, total_rows // n_rows)
    rows = np.arange(0, total_rows, step, dtype=np.int64)
    frac = len(rows) / total_rows
    blk = np.searchsorted(lay.row0, rows, side="right") - 1
    d = lay.deg[blk]
    start = lay.cand0[blk] + (rows - lay.row0[blk]) * d
    cum = np.cumsum(d)
    rel = np.arange(int(cum[-1]), dtype=np.int64) - np.repeat(cum - d, d)
    cand = np.repeat(start, d) + rel
    change = np.flatnonzero(np.diff(d)) + 1
    row0 = np.concatenate([[0], change]).astype(np.int64)
    nrows = np.diff(np.concatenate([row0, [len(rows)]])).astype(np.int64)
    deg = d[row0]
    cand0 = np.concatenate([[0], np.cumsum(deg * nrows)[:-1]]).astype(np.int64)
    layout = _Layout(
        row_customer=readonly(lay.row_customer[rows]),
        row_k=readonly(lay.row_k[rows]),
        deg=readonly(deg),
        row0=readonly(row0),
        cand0=readonly(cand0),
        nrows=readonly(nrows),
    )
    cost = p.cost[cand]
    usage = tuple(cost if u is p.cost else u[cand] for u in p.usage)
    return attrs.evolve(
        p,
        customer=p.customer[cand],
        offer=p.offer[cand],
        value=p.value[cand],
        cost=cost,
        usage=usage,
        budget_limit=p.budget_limit * frac,
        cap=p.cap * frac,
        cap_usage=None if p.cap_usage is None else p.cap_usage[cand],
        layout=layout,
    )


@attrs.frozen
class DualResult:
    lam: F64
    mu: F64
    bound: float
    chosen: _B
    objective: float
    sweeps: int
    evals: int
    converged: bool


def solve_dual(
    p: AllocationProblem,
    *,
    tol: float,
    max_iter: int,
    block_size: int,
    lam0: F64 | None = None,
    mu0: F64 | None = None,
    sample_rows: int = 20_000,
    primal: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> DualResult:
    """Lagrangian dual of budgets and caps by coordinate minimisation, then repair + fill."""
    ctx = _Ctx.build(p, block_size)
    lam = np.zeros(p.n_budgets) if lam0 is None else np.array(lam0, dtype=np.float64)
    mu = np.zeros(p.n_offers) if mu0 is None else np.array(mu0, dtype=np.float64)
    mu[np.isin(np.arange(p.n_offers), ctx.capped, invert=True)] = 0.0
    lam[~np.isfinite(p.budget_limit)] = 0.0
    n_rows = len(p.layout.row_customer)
    if lam0 is None and mu0 is None and sample_rows and n_rows > 4 * sample_rows:
        warm = solve_dual(
            _subsample(p, sample_rows),
            tol=tol,
            max_iter=max_iter,
            block_size=block_size,
            sample_rows=0,
            primal=False,
        )
        lam, mu = warm.lam.copy(), warm.mu.copy()
        mu[np.isin(np.arange(p.n_offers), ctx.capped, invert=True)] = 0.0
    active_b = [b for b in range(p.n_budgets) if np.isfinite(p.budget_limit[b])]
    st = PriceSearch(
        oracle=_LocalOracle(ctx),
        limits=p.budget_limit,
        caps=p.cap,
        budgets=np.array(active_b, dtype=np.int64),
        capped=ctx.capped,
        box_scale=1e-3 * float(np.mean(p.value)) if p.n_candidates else 1.0,
        lam=lam,
        mu=mu,
    )
    chosen = np.zeros(p.n_candidates, dtype=bool)
    objective = 0.0
    converged = False
    sweeps = 0
    prev_bound = np.inf
    box_mode = False
    certified = False
    for sweeps in range(1, max_iter + 1):
        if progress is not None and sweeps > 1:
            progress(sweeps - 1, max_iter)
        certified = st.step(box_mode, tol)
        gain = prev_bound - st.bound if np.isfinite(prev_bound) else np.inf
        small = gain <= 0.02 * tol * max(abs(st.bound), 1e-300)
        prev_bound = st.bound
        if primal:
            assert st.best_lam is not None and st.best_mu is not None
            cand_chosen = primal_from_prices(ctx, st.best_lam, st.best_mu)
            obj = float(p.value[cand_chosen].sum())
            if obj >= objective:
                chosen, objective = cand_chosen, obj
            gap = (st.bound - objective) / max(abs(st.bound), 1e-300)
            if gap <= tol or st.bound <= 0.0:
                converged = True
                break
        if certified or (box_mode and small):
            converged = certified or not primal
            break
        if small:
            box_mode = True
    if progress is not None:
        progress(sweeps, sweeps)
    assert st.best_lam is not None and st.best_mu is not None
    if primal and not converged and p.n_budgets:
        # polish: near the optimal prices the plan changes in jumps; nearby prices
        # can give a better plan after repair and fill (small problems mostly)
        for f in (0.99, 0.995, 0.999, 1.001, 1.005, 1.01):
            cand_chosen = primal_from_prices(ctx, st.best_lam * f, st.best_mu)
            obj = float(p.value[cand_chosen].sum())
            if obj > objective:
                chosen, objective = cand_chosen, obj
        converged = (st.bound - objective) <= tol * max(abs(st.bound), 1e-300)
    bound = st.bound
    if primal:
        # the reported bound: exact sums plus a rounding margin (a proven bound)
        bound = certified_bound(ctx, st.best_lam, st.best_mu)
        objective = exact_sum(p.value[chosen])
    return DualResult(
        lam=st.best_lam,
        mu=st.best_mu,
        bound=bound,
        chosen=chosen,
        objective=objective,
        sweeps=sweeps,
        evals=ctx.passes,
        converged=converged,
    )


# ------------------------------------------------------------------ primal side
def _ratio_score(p: AllocationProblem, idx: I64 | None = None) -> F64:
    """Value per unit of (limit-normalised) usage of the budgets that can bind.

    Pairs that use none of them rank first, by value; budgets that cannot bind
    (all candidates together fit) do not change the order.
    """
    sel = slice(None) if idx is None else idx
    v = np.asarray(p.value[sel], dtype=np.float64)
    u = np.zeros(len(v))
    scale = np.inf
    for b in range(p.n_budgets):
        lim = float(p.budget_limit[b])
        if np.isfinite(lim) and lim > 0 and float(p.usage[b].sum()) > lim:  # can bind
            u += p.usage[b][sel] / lim
            ub = p.usage[b]
            # smallest positive usage over the whole problem keeps the order global
            scale = min(scale, float(ub[ub > 0].min()) / lim if bool((ub > 0).any()) else np.inf)
    if not np.isfinite(scale):
        return v
    return v / np.maximum(u, scale * 1e-9)


def _row_of_candidate(p: AllocationProblem) -> I64:
    lay = p.layout
    counts = np.repeat(lay.deg, lay.nrows)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _drop_to_fit(p: AllocationProblem, chosen: _B, keep_score: F64, w: F64) -> None:
    """Drop chosen pairs (lowest ``keep_score`` first) until every cap and budget holds."""
    # caps: per offer, keep the best pairs that fit
    idx = np.flatnonzero(chosen)
    use = np.bincount(p.offer[idx], weights=w[idx], minlength=p.n_offers)
    over = use > p.cap
    if bool(over.any()):
        sub = idx[over[p.offer[idx]]]
        order = np.lexsort((-keep_score[sub], p.offer[sub]))
        s = sub[order]
        off = p.offer[s]
        cw = np.cumsum(w[s])
        first = np.r_[True, off[1:] != off[:-1]]
        base = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
        prior = np.where(base > 0, cw[base - 1], 0.0)
        within = cw - prior
        chosen[s[within > p.cap[off]]] = False
    # budgets: drop the least efficient pairs until all fit
    for _ in range(3):
        idx = np.flatnonzero(chosen)
        spend = np.array([float(p.usage[b][idx].sum()) for b in range(p.n_budgets)])
        over_b = np.flatnonzero(spend > p.budget_limit)
        if not len(over_b):
            break
        load = np.zeros(len(idx))
        for b in over_b.tolist():
            lim = float(p.budget_limit[b])
            load += p.usage[b][idx] / lim if lim > 0 else np.where(p.usage[b][idx] > 0, np.inf, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(load > 0, keep_score[idx] / load, np.inf)
        eff = np.where(np.isinf(load), -np.inf, eff)
        order = np.argsort(eff, kind="stable")
        need = 0
        for b in over_b.tolist():
            cum = np.cumsum(p.usage[b][idx[order]])
            excess = spend[b] - float(p.budget_limit[b])
            need = max(need, int(np.searchsorted(cum, excess, side="left")) + 1)
        chosen[idx[order[: min(need, len(order))]]] = False
    # rounding: the correctly rounded sums decide, as in the report
    enforce_exact(p, chosen, keep_score)


def _segment_rank(key: npt.NDArray[np.integer]) -> I64:
    """Position of each element inside its run of equal ``key`` (``key`` sorted)."""
    n = len(key)
    first = np.ones(n, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    pos = np.arange(n, dtype=np.int64)
    return pos - np.maximum.accumulate(np.where(first, pos, 0))


def fill(ctx: _Ctx, chosen: _B, score_fn: Callable[[I64], F64]) -> int:
    """Greedy: add feasible pairs in decreasing score while anything fits.

    The pairs that fit on their own are sorted once by score and scanned in
    windows of growing size. Inside a window, rounds offer each customer's best
    pairs (up to its free slots; one per round when groups apply), keep per offer
    those that fit under the cap, and accept the longest score-ordered prefix that
    fits every budget; a window ends when nothing in it fits. Slack only
    decreases, so a pair that does not fit now never will. This is the sequential
    greedy up to one difference: a pair held back in a round (its customer's
    better pair was turned away by a cap, or one-per-group) comes back next round,
    after lower-scored pairs of the same round. Returns the number of rounds.
    """
    p = ctx.p
    w_all = ctx.w
    row_of = ctx.row_of()
    k = p.layout.row_k
    idx = np.flatnonzero(chosen)
    row_cnt = np.bincount(row_of[idx], minlength=len(k))
    cap_slack = p.cap - np.bincount(
        p.offer[idx], weights=None if w_all is None else w_all[idx], minlength=p.n_offers
    )
    slack = p.budget_limit - np.array([float(p.usage[b][idx].sum()) for b in range(p.n_budgets)])
    parts = []
    for r0, r1, c0, c1, d in ctx.chunks:
        ok = ~chosen[c0:c1] & np.repeat(k[r0:r1] - row_cnt[r0:r1] > 0, d)
        w = 1.0 if w_all is None else w_all[c0:c1]
        ok &= cap_slack[p.offer[c0:c1]] >= w
        for b in range(p.n_budgets):
            ok &= p.usage[b][c0:c1] <= slack[b]
        parts.append(c0 + np.flatnonzero(ok))
    pool = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    score = score_fn(pool)
    order = np.argsort(-score, kind="stable")
    pool, score = pool[order], score[order]
    grouped = p.group is not None
    capped = bool(np.isfinite(cap_slack).any())
    rounds = 0
    start, width = 0, 4096
    while start < len(pool):
        win = pool[start : start + width]
        start += width
        width = min(2 * width, 1 << 18)
        while len(win):
            prow = row_of[win]
            pw = np.ones(len(win)) if w_all is None else w_all[win]
            ok = (k[prow] - row_cnt[prow] > 0) & (cap_slack[p.offer[win]] >= pw)
            for b in range(p.n_budgets):
                ok &= p.usage[b][win] <= slack[b]
            if grouped:
                ok &= _group_room(ctx, chosen, row_of, win)
            win, prow = win[ok], prow[ok]
            if not len(win):
                break
            rounds += 1
            by_row = np.argsort(prow, kind="stable")  # stable: best first inside a row
            rank = np.empty(len(win), dtype=np.int64)
            rank[by_row] = _segment_rank(prow[by_row])
            limit = 1 if grouped else k[prow] - row_cnt[prow]
            cand = win[rank < limit]  # still in score order
            if capped:
                oo = np.argsort(p.offer[cand], kind="stable")
                s_o = cand[oo]
                off = p.offer[s_o]
                cw = np.cumsum(np.ones(len(s_o)) if w_all is None else w_all[s_o])
                seg0 = np.arange(len(s_o)) - _segment_rank(off)
                prior = np.where(seg0 > 0, cw[np.maximum(seg0 - 1, 0)], 0.0)
                fits = np.empty(len(cand), dtype=bool)
                fits[oo] = (cw - prior) <= cap_slack[off]
                cand = cand[fits]
            m = len(cand)
            for b in range(p.n_budgets):
                cum = np.cumsum(p.usage[b][cand])
                m = min(m, int(np.searchsorted(cum, slack[b], side="right")))
            acc = cand[: max(m, 1)]
            chosen[acc] = True
            row_cnt += np.bincount(row_of[acc], minlength=len(k))
            cap_slack -= np.bincount(
                p.offer[acc],
                weights=None if w_all is None else w_all[acc],
                minlength=p.n_offers,
            )
            for b in range(p.n_budgets):
                slack[b] -= float(p.usage[b][acc].sum())
            win = win[~chosen[win]]
    return rounds


def _group_room(ctx: _Ctx, chosen: _B, row_of: I64, pool: I64) -> _B:
    p = ctx.p
    assert p.group is not None
    idx = np.flatnonzero(chosen)
    return _room_in_group(
        row_of[idx], p.group[p.offer[idx]], row_of[pool], p.group[p.offer[pool]], p.group_max
    )


def primal_from_prices(ctx: _Ctx, lam: F64, mu: F64) -> _B:
    """The customers' plans at prices (lam, mu), made feasible, then filled greedily."""
    p = ctx.p
    ev = _evaluate(ctx, lam, mu, want_chosen=True)
    assert ev.chosen is not None
    chosen = ev.chosen
    w = np.ones(p.n_candidates) if ctx.w is None else ctx.w
    keep = np.empty(p.n_candidates)
    for r0, r1, c0, c1, _d in ctx.chunks:
        del r0, r1
        keep[c0:c1] = _reduced(ctx, c0, c1, lam, mu) + (
            mu[p.offer[c0:c1]] * w[c0:c1] if len(ctx.capped) else 0.0
        )
    _drop_to_fit(p, chosen, keep, w)
    fill(ctx, chosen, lambda i: _ratio_score(p, i))
    _drop_to_fit(p, chosen, keep, w)
    return chosen


def solve_greedy(p: AllocationProblem, *, block_size: int) -> tuple[_B, int]:
    """Value/cost-ratio greedy from the empty plan."""
    ctx = _Ctx.build(p, block_size)
    chosen = np.zeros(p.n_candidates, dtype=bool)
    rounds = fill(ctx, chosen, lambda i: _ratio_score(p, i))
    score = _ratio_score(p)
    _drop_to_fit(p, chosen, score, np.ones(p.n_candidates) if ctx.w is None else ctx.w)
    return chosen, rounds


def greedy_bound(p: AllocationProblem, chosen: _B, *, block_size: int) -> tuple[float, F64, F64]:
    """A cheap valid upper bound for a greedy plan: the dual at its critical ratio."""
    ctx = _Ctx.build(p, block_size)
    lam = np.zeros(p.n_budgets)
    mu = np.zeros(p.n_offers)
    best = np.inf
    best_lam = lam.copy()
    score = _ratio_score(p)
    finite = [b for b in range(p.n_budgets) if np.isfinite(p.budget_limit[b])]
    cands: list[float] = [0.0]
    if finite and bool((~chosen).any()):
        un = score[~chosen]
        cands += [float(np.max(un)), float(np.min(score[chosen])) if chosen.any() else 0.0]
    for rho in cands:
        lam = np.zeros(p.n_budgets)
        for b in finite:
            lim = float(p.budget_limit[b])
            lam[b] = min(rho / lim, MAX_PRICE) if lim > 0 else 0.0
        if not bool(np.all(np.isfinite(lam))):
            continue
        val = certified_bound(ctx, lam, mu)
        if val < best:
            best, best_lam = val, lam
    return best, best_lam, mu
