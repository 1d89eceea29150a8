"""Scoring customers against items and offers, in bounded-memory blocks of customers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import readonly
from onetoone._optional import import_optional
from onetoone.affinity._model import (
    AffinityModel,
    _check_int,
    _check_num_threads,
    _check_real,
    _is_int,
)
from onetoone.data import IdIndex
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.offers import Offers

__all__ = ["ItemScores", "OfferScores", "score_items", "score_offers"]

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I32 = npt.NDArray[np.int32]
_I64 = npt.NDArray[np.int64]
Aggregate = Literal["max", "mean", "sum"]

#: Cells (customers x columns) scored at once; bounds the working memory (~8 bytes each).
_BLOCK_CELLS = 4_000_000


def _opt_ro(a: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
    return None if a is None else readonly(a)


@attrs.frozen(eq=False, kw_only=True)
class _Scores:
    """Scores of customers (rows) against columns (items or offers): dense or top-k."""

    customers: IdIndex
    method: str
    dense: _F64 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    top_index: _I32 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    top_score: _F64 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    n_cold_customers: int = 0
    elapsed_s: float = 0.0

    def __attrs_post_init__(self) -> None:
        if (self.dense is None) == (self.top_index is None):
            raise ValidationError("give exactly one of dense and top_index", field="dense")
        if (self.top_index is None) != (self.top_score is None):
            raise ValidationError("top_index and top_score go together", field="top_score")
        n = len(self.customers)
        shape = self.dense.shape if self.dense is not None else self.top_index.shape  # type: ignore[union-attr]
        if shape[0] != n:
            raise ValidationError(f"scores have {shape[0]} rows for {n} customers", field="dense")
        if self.top_score is not None and self.top_score.shape != shape:
            raise ValidationError("top_score must match top_index's shape", field="top_score")

    @property
    def _columns(self) -> IdIndex:
        raise NotImplementedError

    @property
    def is_dense(self) -> bool:
        return self.dense is not None

    @property
    def k(self) -> int:
        """Columns kept per customer (all columns when dense)."""
        if self.dense is not None:
            return int(self.dense.shape[1])
        assert self.top_index is not None
        return int(self.top_index.shape[1])

    def to_candidates(self) -> tuple[_I32, _I32, _F64]:
        """``(customer_code, column_code, score)`` of every scored, non-excluded pair.

        Codes index :attr:`customers` and the columns (offers or items); excluded
        pairs (filters, eligibility: score ``-inf``) are left out. Rows are
        ordered by customer, then by decreasing score for top-k results.
        """
        if self.dense is not None:
            r, c = np.nonzero(np.isfinite(self.dense))
            rows: _I32 = r.astype(np.int32)
            return rows, c.astype(np.int32), self.dense[r, c]
        assert self.top_index is not None and self.top_score is not None
        ok = np.isfinite(self.top_score)
        rr: _I32 = np.nonzero(ok)[0].astype(np.int32)
        return rr, self.top_index[ok].astype(np.int32), self.top_score[ok]

    def to_dense(self) -> _F64:
        """A ``(n_customers, n_columns)`` matrix; cells outside the top-k are ``-inf``."""
        if self.dense is not None:
            return np.array(self.dense)
        out = np.full((len(self.customers), len(self._columns)), -np.inf)
        r, c, v = self.to_candidates()
        out[r, c] = v
        return out

    def top_ids(self) -> npt.NDArray[Any]:
        """External ids of each customer's ranked columns (top-k results only)."""
        if self.top_index is None:
            raise ValidationError("these scores are dense; score with top_k=...", field="top_k")
        return self._columns.decode(self.top_index)


@attrs.frozen(eq=False, kw_only=True)
class ItemScores(_Scores):
    """Customer x item scores (see :func:`score_items`).

    Attributes
    ----------
    customers : IdIndex
        Row ``r`` is customer ``customers.values[r]``.
    items : IdIndex
        Column ``j`` is item ``items.values[j]``.
    dense : float64 array or None
        ``(n_customers, n_items)`` scores, ``-inf`` for excluded pairs.
    top_index, top_score : arrays or None
        ``(n_customers, k)`` column codes and scores, best first.
    n_cold_customers : int
        Rows scored with the cold-start fallback (no history at fit time).
    """

    items: IdIndex

    @property
    def _columns(self) -> IdIndex:
        return self.items


@attrs.frozen(eq=False, kw_only=True)
class OfferScores(_Scores):
    """Customer x offer scores (see :func:`score_offers`).

    Attributes
    ----------
    customers : IdIndex
        Row ``r`` is customer ``customers.values[r]``.
    offers : IdIndex
        Column ``k`` is offer ``offers.values[k]`` (the codes of the scored
        :class:`~onetoone.offers.Offers`, so ``offers.cost[k]`` lines up).
    aggregate : str
        How item scores were combined per offer.
    dense, top_index, top_score
        As in :class:`ItemScores`.
    n_unknown_items : int
        Offer-item pairs ignored because the item is unknown to the model.
    n_cold_offers : int
        Offers with no item known to the model, scored with the fallback.
    """

    offers: IdIndex
    aggregate: str = "max"
    n_unknown_items: int = 0
    n_cold_offers: int = 0

    @property
    def _columns(self) -> IdIndex:
        return self.offers


# --------------------------------------------------------------------------- validation
def _customers_iv(
    model: AffinityModel, customers: Any, unknown_customers: str
) -> tuple[IdIndex, _I32, int]:
    if unknown_customers not in ("raise", "cold"):
        raise ValidationError(
            f"unknown_customers must be 'raise' or 'cold'; got {unknown_customers!r}",
            field="unknown_customers",
        )
    if customers is None:
        idx = model.customers
        codes = np.arange(len(idx), dtype=np.int32)
    else:
        idx = (
            customers
            if isinstance(customers, IdIndex)
            else IdIndex.from_values(customers, name="customers")
        )
        if len(idx) and idx.kind != model.customers.kind:
            raise ValidationError(
                f"customers are {idx.kind}s but the model's customers are "
                f"{model.customers.kind}s; pass ids of the model's type",
                field="customers",
            )
        codes = model.customers.encode(idx.values, unknown="mask", field="customers")
        if unknown_customers == "raise" and bool((codes < 0).any()):
            bad = idx.values[codes < 0]
            raise UnknownIdError(
                f"customers: {len(bad)} id(s) unknown to the model, e.g. {bad[:3].tolist()}; "
                "pass unknown_customers='cold' to score them with the cold-start fallback, "
                "or add them with partial_fit",
                field="customers",
            )
    if len(idx) == 0:
        raise EmptyInputError("customers is empty; give at least one customer", field="customers")
    hist = model.has_history
    n_cold = int(((codes < 0) | ~hist[np.maximum(codes, 0)]).sum())
    return idx, codes, n_cold


def _common_iv(
    model: AffinityModel,
    top_k: int | None,
    exclude_recent_days: float | None,
    block_size: int | None,
    num_threads: int,
    max_dense_cells: int,
) -> int:
    """Check the shared options; return the number of threads to use."""
    _check_num_threads(num_threads)
    if not isinstance(model, AffinityModel):
        raise ValidationError(
            f"model must be an AffinityModel (from fit_affinity), got {type(model).__name__}",
            field="model",
        )
    if top_k is not None and (not _is_int(top_k) or top_k < 1):
        raise ValidationError(f"top_k must be None or an int >= 1, got {top_k!r}", field="top_k")
    if exclude_recent_days is not None:
        _check_real(
            exclude_recent_days,
            "exclude_recent_days",
            0.0,
            1e6,
            low_inclusive=False,
            what="must be None or a number > 0 and <= 1e6 (days)",
        )
    if block_size is not None and (not _is_int(block_size) or block_size < 1):
        raise ValidationError(
            f"block_size must be None or an int >= 1, got {block_size!r}", field="block_size"
        )
    _check_int(max_dense_cells, "max_dense_cells", 1, hint="; or pass top_k=... for a top-k result")
    return int(num_threads) or (os.cpu_count() or 1)


def _check_dense(n_rows: int, n_cols: int, top_k: int | None, max_dense_cells: int) -> None:
    if top_k is None and n_rows * n_cols > max_dense_cells:
        raise ValidationError(
            f"a dense result would hold {n_rows:,} x {n_cols:,} scores (more than "
            f"max_dense_cells={max_dense_cells:,}); pass top_k=... for a sparse top-k result",
            field="top_k",
        )


# --------------------------------------------------------------------------- core
class _Scorer:
    """Item scores of a block of customers over a fixed set of columns.

    ``cols`` holds model item codes, or ``-1`` for a virtual item unknown to the
    model (scored as an unseen item without category: the global fallback).
    """

    def __init__(self, model: AffinityModel, cols: _I64, exclude_recent_days: float | None):
        d = model._derived
        self.model = model
        self.method = model.method
        known = cols >= 0
        c0 = np.where(known, cols, 0)
        seen_col = known & d.seen[c0]
        group = np.where(known, d.fallback_group[c0], d.global_group).astype(np.int64)
        self.seen_pos = np.flatnonzero(seen_col)
        self.unseen_pos = np.flatnonzero(~seen_col)
        self.unseen_group = group[~seen_col]
        k = len(cols)
        self.k = k
        sel_items = cols[self.seen_pos]
        # selection matrix: model item -> position among the seen columns
        self.select = sp.csr_array(
            (np.ones(len(sel_items)), (sel_items, np.arange(len(sel_items)))),
            shape=(model.n_items, len(sel_items)),
        )
        pop = np.empty(k)
        pop[self.seen_pos] = model.popularity[sel_items]
        pop[self.unseen_pos] = d.pop_group[self.unseen_group]
        self.pop = pop
        self.pop32 = pop.astype(np.float32)
        self.v: npt.NDArray[np.float32] | None = None
        if model.item_factors is not None and d.v_group is not None:
            v = np.empty((k, model.item_factors.shape[1]), dtype=np.float32)
            v[self.seen_pos] = model.item_factors[sel_items]
            v[self.unseen_pos] = d.v_group[self.unseen_group]
            self.vt = np.ascontiguousarray(v.T)
            self.v = v
        self.recent: sp.csr_array | None = None
        if exclude_recent_days is not None:
            rep = model.repeat
            flag = model.last_days < exclude_recent_days
            row_of = np.repeat(np.arange(rep.shape[0]), np.diff(rep.indptr))
            rec = sp.csr_array(
                (np.ones(int(flag.sum())), (row_of[flag], rep.indices[flag])), shape=rep.shape
            )
            # recent purchases of items among the columns (unseen items were never bought)
            col_of_item = sp.csr_array(
                (np.ones(len(sel_items)), (sel_items, self.seen_pos)), shape=(model.n_items, k)
            )
            self.recent = sp.csr_array(rec @ col_of_item)

    def _repeat(self, warm: _I32) -> _F32:
        out = np.zeros((len(warm), self.k), dtype=np.float32)
        self._add_repeat(out, warm)
        return out

    def _add_repeat(self, out: _F32, warm: _I32) -> None:
        """``out += `` the saturated repeat signal (sparse scatter, plus unseen fallbacks)."""
        d = self.model._derived
        if len(self.seen_pos):
            r = (d.sat[warm] @ self.select).tocoo()
            out[r.row, self.seen_pos[r.col]] += r.data.astype(np.float32)
        if len(self.unseen_pos):
            # customer x group means are small and dense: gather them per unseen column
            g = d.sat_group[warm].toarray().astype(np.float32)
            out[:, self.unseen_pos] += g[:, self.unseen_group]

    def _cf(self, warm: _I32) -> _F32:
        assert self.model.user_factors is not None
        out: _F32 = self.model.user_factors[warm] @ self.vt
        return out

    def cf_topk(self, codes: _I32, k: int, ti: _I32, ts: _F64, num_threads: int) -> None:
        """Top-k of a pure factor model through implicit's threaded top-k (same kernel).

        Warm rows go to ``implicit.cpu.topk.topk`` with the fallback-filled item
        factors (and the recent-purchase filter); cold rows take popularity's top-k.
        """
        m = self.model
        assert m.user_factors is not None and self.v is not None
        warm_mask = (codes >= 0) & m.has_history[np.maximum(codes, 0)]
        if not bool(warm_mask.all()):
            pi, pv = _topk(self.pop32[None, :], k)
            ti[~warm_mask] = pi[0]
            ts[~warm_mask] = pv[0]
        if not bool(warm_mask.any()):
            return
        warm = codes[warm_mask]
        topk_mod = import_optional("implicit", purpose="score_items").cpu.topk
        filt = None
        if self.recent is not None:
            filt = sp.csr_matrix(self.recent[warm], dtype=np.float32)
        threadpoolctl = import_optional("threadpoolctl", purpose="score_items")
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            ids, vals = topk_mod.topk(
                self.v,
                np.ascontiguousarray(m.user_factors[warm]),
                k,
                filter_query_items=filt,
                num_threads=num_threads,
            )
        vals = vals.astype(np.float64)
        vals[vals <= -np.finfo(np.float32).max] = -np.inf
        # implicit's selection does not order ties; order them like _topk (lower column first)
        order = np.lexsort((ids, -vals), axis=1)
        ti[warm_mask] = np.take_along_axis(ids, order, axis=1)
        ts[warm_mask] = np.take_along_axis(vals, order, axis=1)

    def block(self, codes: _I32) -> _F32:
        """Scores ``(len(codes), k)`` in float32; ``codes`` are model customer codes or -1.

        Scores are computed in single precision (like implicit's), which is ample
        for ranking; results are stored as float64.
        """
        m = self.model
        hist = m.has_history
        warm_mask = (codes >= 0) & hist[np.maximum(codes, 0)]
        if self.method == "popularity" or not bool(warm_mask.any()):
            return np.broadcast_to(self.pop32, (len(codes), self.k)).copy()
        all_warm = bool(warm_mask.all())
        warm = codes if all_warm else codes[warm_mask]
        p = m.params
        if self.method == "repeat":
            s = self._repeat(warm)
        elif self.method in ("als", "bpr"):
            s = self._cf(warm)
        else:  # hybrid
            s = self._cf(warm)
            s *= np.float32(p["cf_weight"])
            s += np.float32(p["popularity_weight"]) * self.pop32
            self._add_repeat(s, warm)
        if all_warm:
            out = s
        else:
            out = np.empty((len(codes), self.k), dtype=np.float32)
            out[~warm_mask] = self.pop32  # cold rows: popularity
            out[warm_mask] = s
        if self.recent is not None:
            rows = np.flatnonzero(warm_mask)
            rec = self.recent[warm].tocoo()
            out[rows[rec.row], rec.col] = -np.inf
        return out


def _block_size(n_rows: int, width: int, block_size: int | None) -> int:
    if block_size is not None:
        return int(block_size)
    return max(1, min(n_rows, _BLOCK_CELLS // max(width, 1)))


def _topk(s: npt.NDArray[np.floating[Any]], k: int) -> tuple[_I32, _F64]:
    """Each row's ``k`` largest entries, best first (ties: lower column first).

    For wide rows a threshold pass avoids a full partition: the k-th largest of
    a strided subset of columns is a lower bound ``t`` of each row's k-th
    largest, so the top k are the entries above ``t`` plus, if those are fewer
    than k, the lowest-column entries equal to ``t``; only those few are sorted.
    Ties (many cold-start items share a score) therefore cost nothing extra.
    ``argpartition`` is the fallback when too many entries exceed ``t``.
    """
    n = s.shape[1]
    k = min(k, n)
    step = n // (64 * k)
    if k < n and step >= 2:
        sub = s[:, ::step]
        m = sub.shape[1]
        thr = np.partition(sub, m - k, axis=1)[:, m - k][:, None]
        gt = s > thr
        cnt_gt = np.count_nonzero(gt, axis=1)
        if int(cnt_gt.sum()) <= max(s.size // 16, k * s.shape[0]):
            r, c = np.nonzero(gt)
            need = k - cnt_gt
            short = np.flatnonzero(need > 0)
            if len(short):
                r2, c2 = np.nonzero(s[short] == thr[short])
                pos = np.arange(len(r2)) - np.searchsorted(r2, r2, side="left")
                keep = pos < need[short][r2]
                r = np.concatenate([r, short[r2[keep]]])
                c = np.concatenate([c, c2[keep]])
            v = s[r, c]
            order = np.lexsort((c, -v, r))
            cnt = np.bincount(r, minlength=s.shape[0])
            first = np.cumsum(cnt) - cnt
            pick = order[first[:, None] + np.arange(k)]
            return c[pick].astype(np.int32), v[pick].astype(np.float64)
    if k < n:
        part = np.argpartition(s, n - k, axis=1)[:, n - k :]
    else:
        part = np.broadcast_to(np.arange(n), s.shape).copy()
    vals = np.take_along_axis(s, part, axis=1)
    order2 = np.lexsort((part, -vals), axis=1) if k > 1 else np.zeros_like(part)
    return (
        np.take_along_axis(part, order2, axis=1).astype(np.int32),
        np.take_along_axis(vals, order2, axis=1).astype(np.float64),
    )


def _store(
    s: npt.NDArray[np.floating[Any]],
    start: int,
    dense: _F64 | None,
    ti: _I32 | None,
    ts: _F64 | None,
    k: int,
) -> None:
    """Write one block's scores (or its top-k) into the preallocated result."""
    stop = start + s.shape[0]
    if dense is not None:
        dense[start:stop] = s
    else:
        assert ti is not None and ts is not None
        ti[start:stop], ts[start:stop] = _topk(s, k)


def _run_blocks(work: Callable[[int], None], n: int, bs: int, num_threads: int) -> None:
    """Run ``work(start)`` for every block, on ``num_threads`` threads.

    Blocks write disjoint rows of the result, so threads need no locking; numpy
    releases the GIL in the heavy steps (products, partitions). With several
    threads BLAS is limited to one thread to avoid oversubscription. At most
    ``num_threads`` blocks are in flight, so memory stays bounded.
    """
    starts = range(0, n, bs)
    if num_threads <= 1 or len(starts) <= 1:
        for start in starts:
            work(start)
        return
    threadpoolctl = import_optional("threadpoolctl", purpose="multi-threaded scoring")
    with (
        threadpoolctl.threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=num_threads) as ex,
    ):
        for _ in ex.map(work, starts):
            pass


# --------------------------------------------------------------------------- items
def score_items(
    model: AffinityModel,
    customers: Any = None,
    *,
    items: Any = None,
    top_k: int | None = None,
    exclude_recent_days: float | None = None,
    unknown_customers: Literal["raise", "cold"] = "raise",
    block_size: int | None = None,
    max_dense_cells: int = 50_000_000,
    num_threads: int = 1,
) -> ItemScores:
    """Score customers against items.

    Parameters
    ----------
    model : AffinityModel
    customers : array-like of ids or IdIndex, optional
        Customers to score (default: every customer of the model). Rows of the
        result follow the sorted ids (an :class:`~onetoone.data.IdIndex`).
    items : array-like of ids or IdIndex, optional
        Items to score (default: all of the model's). Every id must be known to
        the model.
    top_k : int, optional
        Keep each customer's ``top_k`` best items (sparse result). Default: a
        dense matrix, refused above ``max_dense_cells``.
    exclude_recent_days : float, optional
        Exclude (score ``-inf``) items the customer bought in the last this many
        days before ``model.as_of``.
    unknown_customers : {"raise", "cold"}
        Ids unknown to the model: raise, or score them with the cold-start
        fallback (popularity).
    block_size : int, optional
        Customers per block (default: about 4 million cells per block).
    max_dense_cells : int
        Largest dense result allowed.
    num_threads : int
        Blocks scored in parallel (0: all cores). Results do not depend on it.

    Returns
    -------
    ItemScores

    Notes
    -----
    Cold start: customers without history at fit time (and unknown customers
    under ``"cold"``) get the items' popularity; items never bought before
    ``as_of`` score as the customer's mean over bought items of the same
    category (or of all items). Scores are never NaN; ``-inf`` marks exclusion.

    Examples
    --------
    >>> from onetoone.data import Transactions
    >>> tx = Transactions.from_arrays(
    ...     customer=[1, 1, 1, 2, 2], item=["x", "x", "y", "y", "z"],
    ...     timestamp=["2024-01-01", "2024-01-08", "2024-01-09", "2024-01-02", "2024-01-03"],
    ...     value=[1.0] * 5)
    >>> from onetoone.affinity import fit_affinity
    >>> m = fit_affinity(tx, method="repeat", as_of="2024-02-01")
    >>> score_items(m, [1], top_k=1).top_ids().tolist()
    [['x']]
    """
    t0 = time.perf_counter()
    num_threads = _common_iv(
        model, top_k, exclude_recent_days, block_size, num_threads, max_dense_cells
    )
    cust_idx, codes, n_cold = _customers_iv(model, customers, unknown_customers)
    if items is None:
        item_idx = model.items
        cols = np.arange(len(item_idx), dtype=np.int64)
    else:
        item_idx = items if isinstance(items, IdIndex) else IdIndex.from_values(items, name="items")
        if len(item_idx) == 0:
            raise EmptyInputError("items is empty; give at least one item", field="items")
        cols = model.items.encode(item_idx.values, field="items").astype(np.int64)
    _check_dense(len(codes), len(cols), top_k, max_dense_cells)
    scorer = _Scorer(model, cols, exclude_recent_days)
    bs = _block_size(len(codes), len(cols), block_size)
    dense = np.empty((len(codes), len(cols))) if top_k is None else None
    k = 0 if top_k is None else min(int(top_k), len(cols))
    ti = np.empty((len(codes), k), dtype=np.int32) if top_k is not None else None
    ts = np.empty((len(codes), k)) if top_k is not None else None

    if top_k is not None and model.method in ("als", "bpr"):
        assert ti is not None and ts is not None
        scorer.cf_topk(codes, k, ti, ts, num_threads)
    else:

        def work(start: int) -> None:
            s = scorer.block(codes[start : start + bs])
            _store(s, start, dense, ti, ts, k)

        _run_blocks(work, len(codes), bs, num_threads)
    return ItemScores(
        customers=cust_idx,
        items=item_idx,
        method=model.method,
        dense=dense,
        top_index=ti,
        top_score=ts,
        n_cold_customers=n_cold,
        elapsed_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- offers
def _offers_iv(
    model: AffinityModel, offers: Offers, aggregate: str, unknown_items: str
) -> tuple[sp.csr_array, _I64, int, int]:
    """Offer incidence over local columns, the columns' model item codes, counts."""
    if not isinstance(offers, Offers):
        raise ValidationError(
            f"offers must be an Offers (Offers.from_pairs / from_rules), got "
            f"{type(offers).__name__}",
            field="offers",
        )
    if aggregate not in ("max", "mean", "sum"):
        raise ValidationError(
            f"aggregate must be 'max', 'mean' or 'sum'; got {aggregate!r}", field="aggregate"
        )
    if unknown_items not in ("raise", "ignore"):
        raise ValidationError(
            f"unknown_items must be 'raise' or 'ignore'; got {unknown_items!r}",
            field="unknown_items",
        )
    if offers.items.kind != model.items.kind:
        raise ValidationError(
            f"offers cover {offers.items.kind} item ids but the model's items are "
            f"{model.items.kind}s",
            field="offers",
        )
    inc = offers.incidence.tocoo()
    used = np.unique(inc.col)
    to_model = np.full(len(offers.items), -1, dtype=np.int64)
    to_model[used] = model.items.encode(offers.items.values[used], unknown="mask")
    mcode = to_model[inc.col]
    unknown = mcode < 0
    n_unknown = int(unknown.sum())
    if n_unknown and unknown_items == "raise":
        bad = offers.items.values[inc.col[unknown]]
        raise UnknownIdError(
            f"offers: {n_unknown} offer-item pair(s) name items unknown to the model, e.g. "
            f"{np.unique(bad)[:3].tolist()}; pass unknown_items='ignore' to score offers on "
            "their known items (offers with none get the cold-start fallback)",
            field="offers",
        )
    row, mc = inc.row[~unknown], mcode[~unknown]
    has = np.bincount(row, minlength=offers.n_offers) > 0
    cold = np.flatnonzero(~has)
    cols, local = np.unique(mc, return_inverse=True)
    cols = cols.astype(np.int64)
    local = local.reshape(-1)
    if len(cold):  # one virtual column (global fallback) for offers with no known item
        cols = np.append(cols, -1)
        row = np.concatenate([row, cold])
        local = np.concatenate([local, np.full(len(cold), len(cols) - 1)])
    a = sp.csr_array((np.ones(len(row)), (row, local)), shape=(offers.n_offers, len(cols)))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a, cols, n_unknown, len(cold)


class _MaxPlan:
    """Precomputed gathers for the per-offer max of item scores.

    Offers are sorted by size; slot ``j`` holds the ``j``-th item of every offer
    with more than ``j`` items, so the max is ``max_slots`` vectorised passes of
    ``np.maximum`` over contiguous rows of the transposed block (one pass per
    slot, not per offer or customer). Items beyond ``max_slots`` in very large
    offers (category rules) are reduced with ``np.maximum.reduceat``.
    """

    def __init__(self, a: sp.csr_array, max_slots: int = 32):
        sizes = np.diff(a.indptr)
        self.order = np.argsort(-sizes, kind="stable")
        sz = sizes[self.order]
        start = a.indptr[:-1][self.order]
        self.slots: list[tuple[int, _I64]] = []
        for j in range(min(int(sz.max()), max_slots)):
            act = int(np.count_nonzero(sz > j))
            self.slots.append((act, a.indices[start[:act] + j].astype(np.int64)))
        big = np.flatnonzero(sz > max_slots)
        self.big = big
        if len(big):
            tails = [
                a.indices[start[o] + max_slots : start[o] + sz[o]].astype(np.int64) for o in big
            ]
            self.tail_idx = np.concatenate(tails)
            lens = sz[big] - max_slots
            self.tail_ptr = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)

    def apply(self, s: _F32) -> _F32:
        st = np.ascontiguousarray(s.T)
        cols0 = self.slots[0][1]
        res = st[cols0]
        for act, cols in self.slots[1:]:
            np.maximum(res[:act], st[cols], out=res[:act])
        if len(self.big):
            tail = np.maximum.reduceat(st[self.tail_idx], self.tail_ptr, axis=0)
            np.maximum(res[self.big], tail, out=tail)
            res[self.big] = tail
        out = np.empty((s.shape[0], len(self.order)), dtype=s.dtype)
        out[:, self.order] = res.T
        return out


def _aggregate(
    s: _F32, a: sp.csr_array, how: str, plan: _MaxPlan | None
) -> npt.NDArray[np.floating[Any]]:
    if how == "max":
        assert plan is not None
        return plan.apply(s)
    valid = np.isfinite(s)
    s0 = np.where(valid, s, 0.0)
    sums = np.asarray((a @ s0.T).T)
    cnt = np.asarray((a @ valid.T.astype(np.float64)).T)
    if how == "sum":
        return np.where(cnt > 0, sums, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, sums / np.maximum(cnt, 1.0), -np.inf)


def score_offers(
    model: AffinityModel,
    customers: Any,
    offers: Offers,
    *,
    top_k: int | None = None,
    aggregate: Aggregate = "max",
    exclude_recent_days: float | None = None,
    respect_eligibility: bool = True,
    unknown_items: Literal["raise", "ignore"] = "raise",
    unknown_customers: Literal["raise", "cold"] = "raise",
    block_size: int | None = None,
    max_dense_cells: int = 50_000_000,
    num_threads: int = 1,
) -> OfferScores:
    """Score customers against offers: item scores aggregated over each offer's items.

    Parameters
    ----------
    model : AffinityModel
    customers : array-like of ids, IdIndex or None
        Customers to score (None: every customer of the model).
    offers : Offers
    top_k : int, optional
        Keep each customer's ``top_k`` best offers; default dense (refused
        above ``max_dense_cells``).
    aggregate : {"max", "mean", "sum"}
        Offer score from its items' scores: best item (default), mean or sum.
        Excluded items are left out; an offer with every item excluded is
        excluded.
    exclude_recent_days : float, optional
        Leave out items the customer bought in this many days before ``as_of``.
    respect_eligibility : bool
        With ``offers.eligibility`` set, ineligible pairs score ``-inf``.
    unknown_items : {"raise", "ignore"}
        Offer items unknown to the model: raise, or ignore them (counted in
        :attr:`OfferScores.n_unknown_items`); an offer left with no item is
        scored with the global fallback (counted in ``n_cold_offers``).
    unknown_customers : {"raise", "cold"}
        As in :func:`score_items`.
    block_size : int, optional
        Customers per block; working memory is O(block_size x (items covered +
        offer-item pairs)), independent of the number of customers.
    max_dense_cells : int
        Largest dense result allowed.
    num_threads : int
        Blocks scored in parallel (0: all cores). Results do not depend on it.

    Returns
    -------
    OfferScores

    Examples
    --------
    >>> from onetoone.data import Transactions
    >>> tx = Transactions.from_arrays(
    ...     customer=[1, 1, 2], item=["x", "x", "y"],
    ...     timestamp=["2024-01-01", "2024-01-08", "2024-01-02"], value=[1.0] * 3)
    >>> from onetoone.affinity import fit_affinity
    >>> m = fit_affinity(tx, method="repeat", as_of="2024-02-01")
    >>> offers = Offers.from_pairs(["ox", "oy"], ["x", "y"], items=m.items)
    >>> score_offers(m, [1, 2], offers, top_k=1).top_ids().tolist()
    [['ox'], ['oy']]
    """
    t0 = time.perf_counter()
    num_threads = _common_iv(
        model, top_k, exclude_recent_days, block_size, num_threads, max_dense_cells
    )
    if not isinstance(respect_eligibility, (bool, np.bool_)):
        raise ValidationError(
            f"respect_eligibility must be True or False, got {respect_eligibility!r}",
            field="respect_eligibility",
        )
    a, cols, n_unknown, n_cold_offers = _offers_iv(model, offers, aggregate, unknown_items)
    cust_idx, codes, n_cold = _customers_iv(model, customers, unknown_customers)
    n_off = offers.n_offers
    _check_dense(len(codes), n_off, top_k, max_dense_cells)
    elig = offers.eligible_mask(cust_idx) if respect_eligibility else None
    scorer = _Scorer(model, cols, exclude_recent_days)
    plan = _MaxPlan(a) if aggregate == "max" else None
    width = 2 * len(cols) + 2 * n_off
    bs = _block_size(len(codes), width, block_size)
    dense = np.empty((len(codes), n_off)) if top_k is None else None
    k = 0 if top_k is None else min(int(top_k), n_off)
    ti = np.empty((len(codes), k), dtype=np.int32) if top_k is not None else None
    ts = np.empty((len(codes), k)) if top_k is not None else None

    def work(start: int) -> None:
        block_codes = codes[start : start + bs]
        s = _aggregate(scorer.block(block_codes), a, aggregate, plan)
        if elig is not None:
            ok = elig[start : start + len(block_codes)].toarray()
            s[~ok.astype(bool)] = -np.inf
        _store(s, start, dense, ti, ts, k)

    _run_blocks(work, len(codes), bs, num_threads)
    return OfferScores(
        customers=cust_idx,
        offers=offers.ids,
        method=model.method,
        aggregate=aggregate,
        dense=dense,
        top_index=ti,
        top_score=ts,
        n_cold_customers=n_cold,
        n_unknown_items=n_unknown,
        n_cold_offers=n_cold_offers,
        elapsed_s=time.perf_counter() - t0,
    )
