"""The distributed dual's oracle: evaluations at given prices, summed over partitions.

The price search itself is the one-machine solver's
(:class:`onetoone.allocation._search.PriceSearch`); this module gives it an
oracle whose every evaluation maps :func:`~onetoone.distributed.dual_step` over
the partitions and reduces only the per-budget spend, the per-offer cap usage
and the Lagrangian term to the client. The cap prices' targets come from each
candidate's margin (the own-offer price at which it is still chosen), computed
on the workers with the one-machine per-customer step and kept there, sorted per
offer; the client finds each offer's price by a binary search over them, then
sets it exactly from the few margins left in the bracket.

A partition is a :class:`~onetoone.distributed._store.StoredBlock` (in memory or
on disk): the per-block functions run piece by piece (``_s_*``) and the pieces'
figures are combined in order, so both storages give the same answers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np

from onetoone._arrays import F64, I64
from onetoone._optional import import_optional
from onetoone.allocation._kernel import _customer_step, _entry_thresholds
from onetoone.allocation._search import Figures
from onetoone.distributed._kernels import (
    CandidateBlock,
    StepSummary,
    _reduced,
    _summarise,
    dual_step,
)
from onetoone.distributed._store import StoredBlock, TailsFile, load_tails, remove_file

#: Most margins gathered to the client to set the cap prices exactly (16 bytes each).
_BRACKET_MAX = 200_000


# ---------------------------------------------------------------- on the workers
def _margins(block: CandidateBlock, lam: F64, mu: F64) -> tuple[F64, StepSummary]:
    """Per candidate, the largest own-offer cap price at which it is still chosen.

    Also the partition's figures at (lam, mu): the margins come from the same
    per-customer step as :func:`dual_step`.
    """
    r = _reduced(block, lam, mu)
    q = np.empty(block.n_candidates)
    parts = [np.empty(0, dtype=np.int64)]
    gmax = block.group_max
    for r0, r1, c0, c1, d in block.chunks:
        n = r1 - r0
        r2 = r[c0:c1].reshape(n, d)
        g = block.groups(c0, c1)
        g2 = None if g is None else g.reshape(n, d)
        k = block.k[r0:r1]
        ch = _customer_step(r2, k, g2, gmax)
        q[c0:c1] = (r2 - _entry_thresholds(r2, ch, k, g2, gmax)).ravel()
        parts.append(c0 + np.flatnonzero(ch))
    summary = _summarise(block, lam, mu, r, np.concatenate(parts), exact=False)
    w = block.cap_usage
    num = q + mu[block.offer] * w
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = np.where(
            w > 0, num / np.where(w > 0, w, 1.0), np.where(num > 0, np.inf, -np.inf)
        )
    return out, summary


def _margin_tails(
    block: CandidateBlock, lam: F64, mu: F64, offers: I64
) -> tuple[list[tuple[F64, F64]], StepSummary]:
    """Per offer of ``offers``: its positive margins, sorted, and the cap usage at or above each.

    Computed once per cap step and kept on the worker; :func:`_cap_counts` then
    answers each grid round by binary search. Also the partition's figures at
    (lam, mu).
    """
    q, summary = _margins(block, lam, mu)
    out: list[tuple[F64, F64]] = []
    for o in offers.tolist():  # loops over offers, not customers
        sel = (block.offer == o) & (q > 0)
        qo = q[sel]
        order = np.argsort(qo, kind="stable")
        tail = np.concatenate([np.cumsum(block.cap_usage[sel][order][::-1])[::-1], [0.0]])
        out.append((qo[order], tail))
    return out, summary


def _cap_counts(tails: list[tuple[F64, F64]], grid: F64) -> F64:
    """Per offer, cap usage (``[0]``) and number (``[1]``) of its candidates with margin
    above each grid point."""
    out = np.zeros((2, *grid.shape))
    for i, (qs, tail) in enumerate(tails):
        at = np.searchsorted(qs, grid[i], side="right")
        out[0, i] = tail[at]
        out[1, i] = len(qs) - at
    return out


def _bracket(tails: list[tuple[F64, F64]], lo: F64, hi: F64) -> list[tuple[F64, F64]]:
    """Per offer, the margins in ``(lo, hi]`` and their cap usage."""
    out: list[tuple[F64, F64]] = []
    for i, (qs, tail) in enumerate(tails):
        a, b = np.searchsorted(qs, [lo[i], hi[i]], side="right").tolist()
        w = tail[a:b] - tail[a + 1 : b + 1]
        out.append((qs[a:b].copy(), w))
    return out


# ------------------------------------------------- on the workers, per stored block
def _combine_steps(steps: list[StepSummary], exact: bool, nb: int, n_offers: int) -> StepSummary:
    """The partition's summary from its pieces' (one piece: that piece's, unchanged)."""

    def add(xs: list[float]) -> float:
        return math.fsum(xs) if exact else float(sum(xs))

    if not steps:
        return StepSummary(0.0, 0.0, np.zeros(nb), np.zeros(n_offers), 0.0)
    return StepSummary(
        lagr=add([s.lagr for s in steps]),
        magnitude=float(sum(s.magnitude for s in steps)),
        spend=np.array([add([float(s.spend[b]) for s in steps]) for b in range(nb)]),
        use=np.sum([s.use for s in steps], axis=0),
        value=add([s.value for s in steps]),
    )


def _s_step(store: StoredBlock, lam: F64, mu: F64, exact: bool = False) -> StepSummary:
    """:func:`dual_step` over the pieces; ``exact``: exact sums (the reported bound)."""
    steps = [dual_step(b, lam, mu, want_chosen=exact) for _, b in store.blocks()]
    return _combine_steps(steps, exact, store.n_budgets, store.n_offers)


def _s_margin_tails(
    store: StoredBlock, lam: F64, mu: F64, offers: I64
) -> tuple[list[Any] | TailsFile, StepSummary]:
    """Each piece's sorted margins per offer (:func:`_margin_tails`), kept (memory) or
    written (disk) once per cap step, and the partition's figures at (lam, mu)."""
    steps: list[StepSummary] = []

    def tails() -> Iterator[list[tuple[F64, F64]]]:
        for _, b in store.blocks():
            t, step = _margin_tails(b, lam, mu, offers)
            steps.append(step)
            yield t

    kept = store.save_tails(tails())  # consumes every piece
    return kept, _combine_steps(steps, False, store.n_budgets, store.n_offers)


def _s_cap_counts(tails: list[Any] | TailsFile, grid: F64) -> F64:
    out = np.zeros((2, *grid.shape))
    for piece in load_tails(tails):
        out += _cap_counts(piece, grid)
    return out


def _s_bracket(tails: list[Any] | TailsFile, lo: F64, hi: F64) -> list[tuple[F64, F64]]:
    pieces = [_bracket(piece, lo, hi) for piece in load_tails(tails)]
    if len(pieces) == 1:
        return pieces[0]
    return [
        (
            np.concatenate([p[i][0] for p in pieces]) if pieces else np.zeros(0),
            np.concatenate([p[i][1] for p in pieces]) if pieces else np.zeros(0),
        )
        for i in range(len(lo))
    ]


def _figures(steps: list[StepSummary], nb: int) -> Figures:
    return Figures(
        lagr=float(sum(s.lagr for s in steps)),
        spend=np.sum([s.spend for s in steps], axis=0) if nb else np.zeros(0),
        use=np.sum([s.use for s in steps], axis=0),
    )


# ------------------------------------------------------------------ on the client
@attrs.define
class DaskOracle:
    """:class:`~onetoone.allocation._search.PriceOracle` over a cluster's blocks.

    ``blocks`` are futures of :class:`~onetoone.distributed._store.StoredBlock`;
    ``top_b`` (per budget) and ``top_c`` (per offer) the largest value per unit of
    usage over all blocks; ``disk``: the blocks are on the workers' disks (each cap
    step's margins files are removed once the step is done).
    """

    client: Any
    blocks: list[Any]
    caps: F64
    top_b: F64
    top_c: F64
    disk: bool = False

    def evaluate(self, lam: F64, mu: F64) -> Figures:
        cl = self.client
        steps = cl.gather(cl.map(_s_step, self.blocks, lam=lam, mu=mu, pure=False))
        return _figures(steps, len(lam))

    def budget_top(self, b: int) -> float:
        return float(self.top_b[b])

    def cap_targets(self, lam: F64, mu: F64, offers: I64) -> tuple[F64, Figures]:
        # margins stay on the workers, sorted once per offer with their cap-usage
        # tails; each round trip sends a grid of thresholds per offer and gets the
        # cap usage above each back (257 x 8 bytes per offer): a binary search only
        cl, caps = self.client, self.caps
        pairs = cl.map(_s_margin_tails, self.blocks, lam=lam, mu=mu, offers=offers, pure=False)
        qs = cl.map(operator.itemgetter(0), pairs)
        ev = _figures(cl.gather(cl.map(operator.itemgetter(1), pairs)), len(lam))
        del pairs
        lo = np.zeros(len(offers))
        hi = np.maximum(self.top_c[offers], 1e-300)
        grid_n = 256
        rows = np.arange(len(offers))
        use_hi = np.zeros(len(offers))
        for _ in range(8):
            grid = np.concatenate(
                [
                    np.zeros((len(offers), 1)),
                    lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid_n + 1)[None, 1:],
                ],
                axis=1,
            )
            counts = np.sum(cl.gather(cl.map(_s_cap_counts, qs, grid=grid, pure=False)), axis=0)
            use, num = counts[0], counts[1]  # (len(offers), grid_n + 1), non-increasing
            fits = use <= caps[offers][:, None]
            first = np.argmax(fits, axis=1)  # the last point (hi) always fits
            prev = np.maximum(first - 1, 0)
            new_lo = np.where(first > 0, grid[rows, prev], 0.0)
            lo, hi, use_hi = new_lo, grid[rows, first], use[rows, first]
            inside = np.where(first > 0, num[rows, prev] - num[rows, first], 0.0)
            if float(inside.sum()) <= _BRACKET_MAX:
                # few margins left between lo and hi: gather them, the price is exact
                brackets = cl.gather(cl.map(_s_bracket, qs, lo=lo, hi=hi, pure=False))
                for i in np.flatnonzero(first > 0).tolist():  # offers, not customers
                    q = np.concatenate([b[i][0] for b in brackets])
                    w = np.concatenate([b[i][1] for b in brackets])
                    order = np.argsort(q, kind="stable")
                    q, w = q[order], w[order]
                    tail = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])
                    at = use_hi[i] + tail[np.searchsorted(q, q, side="right")]
                    ok = np.flatnonzero(at <= caps[offers[i]])
                    if len(ok):
                        hi[i] = q[ok[0]]
                break
            if bool(np.all(hi - lo <= 1e-10 * np.maximum(hi, 1e-300))):
                break
        if self.disk:  # this step's sorted margins are not needed any more
            distributed = import_optional("distributed", purpose="onetoone.distributed.allocate")
            distributed.fire_and_forget(cl.map(remove_file, qs))
        out: F64 = np.asarray(hi, dtype=np.float64)
        return out, ev
