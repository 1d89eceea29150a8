"""Scoring customers against items and offers, in bounded-memory blocks of customers."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import as_id_column, readonly
from onetoone._checks import check_int as _check_int
from onetoone._checks import check_num_threads as _check_num_threads
from onetoone._checks import check_real as _check_real
from onetoone._checks import is_int as _is_int
from onetoone._deprecation import policy_value, renamed_kwargs
from onetoone._optional import import_optional
from onetoone._progress import ProgressCallback, check_progress
from onetoone.affinity._model import METHODS, AffinityModel
from onetoone.data import IdIndex, UnknownPolicy
from onetoone.errors import EmptyInputError, LengthMismatchError, UnknownIdError, ValidationError
from onetoone.offers import Offers

_LOG = logging.getLogger("onetoone.affinity")

__all__ = ["ItemScores", "OfferScores", "score_items", "score_offers"]

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I32 = npt.NDArray[np.int32]
_I64 = npt.NDArray[np.int64]
_I8 = npt.NDArray[np.int8]
Aggregate = Literal["max", "mean", "sum"]

#: Cells (customers x columns) scored at once; bounds the working memory (~8 bytes each).
_BLOCK_CELLS = 4_000_000


def _opt_ro(a: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
    return None if a is None else readonly(a)


def _count(inst: Any, attribute: Any, value: object) -> None:
    if not (_is_int(value) and int(value) >= 0):  # type: ignore[call-overload]
        raise ValidationError(
            f"{attribute.name} must be an int >= 0, got {value!r}", field=attribute.name
        )


@attrs.frozen(eq=False, kw_only=True)
class _Scores:
    """Scores of customers (rows) against columns (items or offers): dense or top-k."""

    customers: IdIndex
    method: str
    dense: _F64 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    top_index: _I32 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    top_score: _F64 | None = attrs.field(default=None, converter=_opt_ro, repr=False)
    n_cold_customers: int = attrs.field(default=0, validator=_count)
    n_unknown_customers: int = attrs.field(default=0, validator=_count)
    elapsed_s: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customers, IdIndex):
            raise ValidationError(
                f"customers must be an IdIndex, got {type(self.customers).__name__}",
                field="customers",
            )
        if not isinstance(self._columns, IdIndex):
            raise ValidationError(
                f"columns must be an IdIndex, got {type(self._columns).__name__}", field="dense"
            )
        if self.method not in METHODS:
            raise ValidationError(
                f"method must be one of {', '.join(map(repr, METHODS))}; got {self.method!r}",
                field="method",
            )
        if (self.dense is None) == (self.top_index is None):
            raise ValidationError("give exactly one of dense and top_index", field="dense")
        if (self.top_index is None) != (self.top_score is None):
            raise ValidationError("top_index and top_score go together", field="top_score")
        n, m = len(self.customers), len(self._columns)
        if self.dense is not None:
            if self.dense.shape != (n, m):
                raise ValidationError(
                    f"dense has shape {self.dense.shape}, expected ({n}, {m}) "
                    "(customers x columns)",
                    field="dense",
                )
            if bool(np.isnan(self.dense).any()):
                raise ValidationError("dense holds NaN; -inf marks an excluded pair", field="dense")
            return
        assert self.top_index is not None and self.top_score is not None
        shape = self.top_index.shape
        if len(shape) != 2 or shape[0] != n or shape[1] > m:
            raise ValidationError(
                f"top_index has shape {shape}, expected ({n}, k) with k <= {m}", field="top_index"
            )
        if shape[1] and (int(self.top_index.min()) < 0 or int(self.top_index.max()) >= m):
            raise ValidationError(f"top_index codes must lie in [0, {m})", field="top_index")
        if self.top_score.shape != shape:
            raise ValidationError("top_score must match top_index's shape", field="top_score")

    @property
    def _columns(self) -> IdIndex:
        raise NotImplementedError

    @property
    def is_dense(self) -> bool:
        """True for a dense result (:attr:`dense` set), False for a top-k one."""
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
        ordered by customer, then by column for dense results and by decreasing
        score for top-k results.

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> ids = IdIndex.from_values
        >>> s = ItemScores(customers=ids([7]), items=ids(["a", "b"]), method="repeat",
        ...                dense=np.array([[0.5, -np.inf]]))
        >>> [a.tolist() for a in s.to_candidates()]
        [[0], [0], [0.5]]
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
        """A ``(n_customers, n_columns)`` matrix; cells outside the top-k are ``-inf``.

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> ids = IdIndex.from_values
        >>> s = ItemScores(customers=ids([7]), items=ids(["a", "b"]), method="repeat",
        ...                top_index=np.array([[1]]), top_score=np.array([[0.9]]))
        >>> s.to_dense().tolist()
        [[-inf, 0.9]]
        """
        if self.dense is not None:
            return np.array(self.dense)
        out = np.full((len(self.customers), len(self._columns)), -np.inf)
        r, c, v = self.to_candidates()
        out[r, c] = v
        return out

    def top_ids(self) -> npt.NDArray[Any]:
        """External ids of each customer's ranked columns (top-k results only).

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> ids = IdIndex.from_values
        >>> s = ItemScores(customers=ids([7]), items=ids(["a", "b"]), method="repeat",
        ...                top_index=np.array([[1, 0]]), top_score=np.array([[0.9, 0.1]]))
        >>> s.top_ids().tolist()
        [['b', 'a']]
        """
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
    method : str
        The model's method (one of :data:`~onetoone.affinity.METHODS`).
    dense : float64 array or None
        ``(n_customers, n_items)`` scores, ``-inf`` for excluded pairs.
    top_index, top_score : arrays or None
        ``(n_customers, k)`` column codes and scores, best first.
    n_cold_customers : int
        Rows scored with the cold-start fallback (no history at fit time, or
        unknown to the model under ``unknown_customers="keep"``).
    n_unknown_customers : int
        Customer ids unknown to the model: left out under
        ``unknown_customers="drop"``, scored cold under ``"keep"``.
    elapsed_s : float
        Wall time of the scoring.

    Examples
    --------
    >>> from onetoone.data import IdIndex
    >>> s = ItemScores(customers=IdIndex.from_values([7, 8]), items=IdIndex.from_values(["a"]),
    ...                method="popularity", dense=np.array([[0.5], [0.5]]))
    >>> s.is_dense, s.k
    (True, 1)
    """

    items: IdIndex

    @property
    def _columns(self) -> IdIndex:
        return self.items


def _check_aggregate(inst: Any, attribute: Any, value: object) -> None:
    if value not in ("max", "mean", "sum"):
        raise ValidationError(
            f"aggregate must be 'max', 'mean' or 'sum'; got {value!r}", field="aggregate"
        )


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
    method, dense, top_index, top_score, n_cold_customers, n_unknown_customers, elapsed_s
        As in :class:`ItemScores`.
    n_unknown_items : int
        Offer-item pairs whose item is unknown to the model (dropped under
        ``unknown_items="drop"``, scored as never-bought items under ``"keep"``).
    n_cold_offers : int
        Offers with no item known to the model, scored with the global fallback.

    Examples
    --------
    >>> from onetoone.data import IdIndex
    >>> s = OfferScores(customers=IdIndex.from_values([7, 8]),
    ...                 offers=IdIndex.from_values(["o1", "o2"]), method="repeat",
    ...                 dense=np.array([[0.9, 0.1], [0.0, 0.4]]))
    >>> s.outcome_matrix([8, 7], ["o2", "o1"]).tolist()
    [[1, 0], [0, 1]]
    """

    offers: IdIndex
    aggregate: str = attrs.field(default="max", validator=_check_aggregate)
    n_unknown_items: int = attrs.field(default=0, validator=_count)
    n_cold_offers: int = attrs.field(default=0, validator=_count)

    @property
    def _columns(self) -> IdIndex:
        return self.offers

    def outcome_matrix(
        self, customer_ids: Any, offer_ids: Any, *, unknown: UnknownPolicy = "raise"
    ) -> _I8:
        """The 0/1 outcome of every scored pair, from (customer id, offer id) events.

        Builds the ``outcomes`` of :func:`~onetoone.affinity.fit_response` from a
        campaign's redemptions in one call: cell ``[r, k]`` is 1 when customer
        ``customers.values[r]`` redeemed offer ``offers.values[k]`` (at least
        once: duplicate events count once), else 0. The result is aligned with
        :attr:`dense` and :meth:`to_dense` (rows: :attr:`customers`, columns:
        :attr:`offers`).

        Parameters
        ----------
        customer_ids, offer_ids : array-like
            External ids of the events (e.g. redemptions), one pair per row.
        unknown : {"raise", "drop"}
            Events whose customer or offer is not among the scored ones: raise
            :class:`~onetoone.errors.UnknownIdError` naming them (default), or
            leave them out (e.g. redemptions by customers who were not
            targeted). ``"keep"`` is refused: the matrix has no cell for them.

        Returns
        -------
        int8 array
            ``(n_customers, n_offers)`` of 0 and 1.

        Raises
        ------
        UnknownIdError
            An event outside the scores under ``unknown="raise"``.
        ValidationError, LengthMismatchError
            Ids of the wrong type, unequal lengths, a bad policy.

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> s = OfferScores(customers=IdIndex.from_values([1, 2, 3]),
        ...                 offers=IdIndex.from_values(["a", "b"]), method="repeat",
        ...                 dense=np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]))
        >>> y = s.outcome_matrix([2, 1, 2, 9], ["b", "a", "b", "a"], unknown="drop")
        >>> y.tolist()
        [[1, 0], [0, 1], [0, 0]]
        >>> from onetoone.affinity import fit_response
        >>> fit_response(s.dense, y).n_positive
        2
        """
        rows, cols = _outcome_matrix_iv(self, customer_ids, offer_ids, unknown)
        out = np.zeros((len(self.customers), len(self.offers)), dtype=np.int8)
        out[rows, cols] = 1
        return out


def _outcome_matrix_iv(
    scores: OfferScores, customer_ids: Any, offer_ids: Any, unknown: object
) -> tuple[_I32, _I32]:
    """Codes of the events inside the scores (validated, unknown ones handled)."""
    policy = policy_value(unknown, "unknown", _POLICIES, func="OfferScores.outcome_matrix")
    if policy == "keep":
        raise ValidationError(
            "outcome_matrix cannot keep events outside the scores (the matrix has no cell for "
            "them); pass unknown='drop' to leave them out, or unknown='raise'",
            field="unknown",
        )
    c = as_id_column(customer_ids, "customer_ids")
    o = as_id_column(offer_ids, "offer_ids")
    if len(c) != len(o):
        raise LengthMismatchError(
            f"offer_ids has {len(o)} ids but customer_ids has {len(c)}; give one "
            "(customer id, offer id) pair per event",
            field="offer_ids",
        )
    rows = _lookup(scores.customers, c, "customer_ids")
    cols = _lookup(scores.offers, o, "offer_ids")
    inside = (rows >= 0) & (cols >= 0)
    if policy == "raise" and not bool(inside.all()):
        bad_c = list(dict.fromkeys(c[rows < 0].tolist()))
        bad_o = list(dict.fromkeys(o[cols < 0].tolist()))
        what = []
        if bad_c:
            what.append(
                f"{len(bad_c)} customer id(s) not among the scored customers, e.g. {bad_c[:3]}"
            )
        if bad_o:
            what.append(f"{len(bad_o)} offer id(s) not among the scored offers, e.g. {bad_o[:3]}")
        raise UnknownIdError(
            f"outcome_matrix: {int((~inside).sum())} event(s) fall outside the scores: "
            f"{'; '.join(what)}; pass unknown='drop' to leave them out (e.g. redemptions by "
            "customers who were not scored)",
            field="customer_ids" if bad_c else "offer_ids",
        )
    return rows[inside], cols[inside]


# --------------------------------------------------------------------------- validation
_POLICIES: tuple[str, ...] = ("raise", "drop", "keep")


def _lookup(index: IdIndex, ids: Any, field: str) -> _I32:
    """Codes of ``ids`` in ``index``, ``-1`` for an id not in it (the one lookup here)."""
    return index.encode(ids, unknown="keep", field=field)


def _customers_iv(
    model: AffinityModel, customer_ids: Any, unknown_customers: object, func: str
) -> tuple[IdIndex, _I32, int, int]:
    """Rows of the result: their index, model codes (-1: cold), #cold, #unknown."""
    policy = policy_value(
        unknown_customers, "unknown_customers", _POLICIES, renamed={"cold": "keep"}, func=func
    )
    n_unknown = 0
    if customer_ids is None:
        idx = model.customers
        codes = np.arange(len(idx), dtype=np.int32)
    else:
        idx = (
            customer_ids
            if isinstance(customer_ids, IdIndex)
            else IdIndex.from_values(customer_ids, name="customer_ids")
        )
        if len(idx) and idx.kind != model.customers.kind:
            raise ValidationError(
                f"customer_ids are {idx.kind}s but the model's customers are "
                f"{model.customers.kind}s; pass ids of the model's type",
                field="customer_ids",
            )
        codes = _lookup(model.customers, idx.values, "customer_ids")
        unknown = codes < 0
        n_unknown = int(unknown.sum())
        if n_unknown and policy == "raise":
            bad = idx.values[unknown]
            raise UnknownIdError(
                f"customer_ids: {n_unknown} id(s) unknown to the model, e.g. "
                f"{bad[:3].tolist()}; pass unknown_customers='keep' to score them with the "
                "cold-start fallback, unknown_customers='drop' to leave them out, or add them "
                "with partial_fit",
                field="customer_ids",
            )
        if n_unknown and policy == "drop":
            if n_unknown == len(idx):
                raise EmptyInputError(
                    f"customer_ids: all {n_unknown} id(s) are unknown to the model, e.g. "
                    f"{idx.values[:3].tolist()}, so unknown_customers='drop' leaves no one to "
                    "score; pass unknown_customers='keep' to score them cold",
                    field="customer_ids",
                )
            idx = IdIndex(idx.values[~unknown])
            codes = codes[~unknown]
    if len(idx) == 0:
        raise EmptyInputError(
            "customer_ids is empty; give at least one customer", field="customer_ids"
        )
    hist = model.has_history
    n_cold = int(((codes < 0) | ~hist[np.maximum(codes, 0)]).sum())
    return idx, codes, n_cold, n_unknown


def _common_iv(
    model: AffinityModel,
    top_k: int | None,
    exclude_recent_days: float | None,
    block_size: int | None,
    num_threads: int,
    max_dense_cells: int,
) -> int:
    """Check the shared options; return the number of threads to use."""
    if not isinstance(model, AffinityModel):
        raise ValidationError(
            f"model must be an AffinityModel (from fit_affinity), got {type(model).__name__}",
            field="model",
        )
    _check_num_threads(num_threads)
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
    return int(num_threads) or _all_cores()


def _all_cores() -> int:
    """Cores this process may run on (``num_threads=0``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
        # Some OpenBLAS kernels raise the FPU's "invalid" flag on small products of
        # finite inputs (padding lanes), which numpy reports as a RuntimeWarning. The
        # factors are validated finite and bounded (AffinityModel), so the product is
        # finite by construction; check the result instead of trusting the flag.
        with np.errstate(invalid="ignore"):
            out: _F32 = self.model.user_factors[warm] @ self.vt
        if not np.isfinite(out).all():  # pragma: no cover - excluded by the factor bound
            raise FloatingPointError("collaborative-filtering scores are not finite")
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


def _run_blocks(
    work: Callable[[int], None],
    n: int,
    bs: int,
    num_threads: int,
    progress: ProgressCallback | None = None,
) -> None:
    """Run ``work(start)`` for every block, on ``num_threads`` threads.

    Blocks write disjoint rows of the result, so threads need no locking; numpy
    releases the GIL in the heavy steps (products, partitions). With more than
    one block BLAS is limited to one thread, whatever ``num_threads``: the
    threads here are the only parallelism (no oversubscription), and each block
    is computed by the same single-threaded kernel, so results do not depend on
    ``num_threads``. At most ``num_threads`` blocks are in flight, so memory
    stays bounded.
    """
    starts = range(0, n, bs)
    total = len(starts)
    if total <= 1:
        for start in starts:
            work(start)
        if progress is not None:
            progress(total, total)
        return
    threadpoolctl = import_optional("threadpoolctl", purpose="scoring in blocks")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        if num_threads <= 1:
            for i, start in enumerate(starts, 1):
                work(start)
                if progress is not None:
                    progress(i, total)
            return
        with ThreadPoolExecutor(max_workers=min(num_threads, len(starts))) as ex:
            for i, _ in enumerate(ex.map(work, starts), 1):
                if progress is not None:  # called from this thread, in block order
                    progress(i, total)


# --------------------------------------------------------------------------- items
@attrs.frozen
class _Request:
    """Validated arguments shared by :func:`score_items` and :func:`score_offers`."""

    customers: IdIndex
    codes: _I32
    n_cold: int
    n_unknown: int
    num_threads: int


def _score_items_iv(
    model: AffinityModel,
    customer_ids: Any,
    item_ids: Any,
    top_k: int | None,
    exclude_recent_days: float | None,
    unknown_customers: object,
    block_size: int | None,
    max_dense_cells: int,
    num_threads: int,
) -> tuple[_Request, IdIndex, _I64]:
    threads = _common_iv(
        model, top_k, exclude_recent_days, block_size, num_threads, max_dense_cells
    )
    cust, codes, n_cold, n_unknown = _customers_iv(
        model, customer_ids, unknown_customers, "score_items"
    )
    if item_ids is None:
        item_idx = model.items
        cols = np.arange(len(item_idx), dtype=np.int64)
    else:
        item_idx = (
            item_ids
            if isinstance(item_ids, IdIndex)
            else IdIndex.from_values(item_ids, name="item_ids")
        )
        if len(item_idx) == 0:
            raise EmptyInputError("item_ids is empty; give at least one item", field="item_ids")
        cols = model.items.encode(item_idx.values, field="item_ids").astype(np.int64)
    _check_dense(len(codes), len(cols), top_k, max_dense_cells)
    return _Request(cust, codes, n_cold, n_unknown, threads), item_idx, cols


@renamed_kwargs(customers="customer_ids", items="item_ids")
def score_items(
    model: AffinityModel,
    customer_ids: Any = None,
    *,
    item_ids: Any = None,
    top_k: int | None = None,
    exclude_recent_days: float | None = None,
    unknown_customers: UnknownPolicy = "raise",
    block_size: int | None = None,
    max_dense_cells: int = 50_000_000,
    num_threads: int = 0,
) -> ItemScores:
    """Score customers against items.

    Parameters
    ----------
    model : AffinityModel
    customer_ids : array-like of ids or IdIndex, optional
        Customers to score (default: every customer of the model). Rows of the
        result follow the sorted ids (an :class:`~onetoone.data.IdIndex`).
    item_ids : array-like of ids or IdIndex, optional
        Items to score (default: all of the model's). Every id must be known to
        the model.
    top_k : int, optional
        Keep each customer's ``top_k`` best items (sparse result). Default: a
        dense matrix, refused above ``max_dense_cells``.
    exclude_recent_days : float, optional
        Exclude (score ``-inf``) items the customer bought in the last this many
        days before ``model.as_of``.
    unknown_customers : {"raise", "drop", "keep"}
        Customer ids unknown to the model: raise
        :class:`~onetoone.errors.UnknownIdError` (default), leave them out of
        the result (which then lists only known customers), or keep them,
        scored with the cold-start fallback (popularity). Both are counted in
        :attr:`ItemScores.n_unknown_customers`. (``"cold"``, the old spelling
        of ``"keep"``, is deprecated.)
    block_size : int, optional
        Customers per block (default: about 4 million cells per block).
    max_dense_cells : int
        Largest dense result allowed.
    num_threads : int
        Blocks scored in parallel (0, the default: all cores, as in
        :func:`fit_affinity`). Results do not depend on it.

    Returns
    -------
    ItemScores

    Raises
    ------
    ValidationError
        A bad option (the message names it), or a dense result larger than
        ``max_dense_cells``.
    UnknownIdError
        An unknown customer under ``unknown_customers="raise"``, or an item
        unknown to the model.
    EmptyInputError
        No customer or item to score.

    Notes
    -----
    Cold start: customers without history at fit time (and unknown customers
    under ``"keep"``) get the items' popularity; items never bought before
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
    >>> s = score_items(m, [1, 99], unknown_customers="drop")
    >>> s.customers.to_list(), s.n_unknown_customers
    ([1], 1)
    """
    t0 = time.perf_counter()
    req, item_idx, cols = _score_items_iv(
        model,
        customer_ids,
        item_ids,
        top_k,
        exclude_recent_days,
        unknown_customers,
        block_size,
        max_dense_cells,
        num_threads,
    )
    codes = req.codes
    scorer = _Scorer(model, cols, exclude_recent_days)
    bs = _block_size(len(codes), len(cols), block_size)
    dense = np.empty((len(codes), len(cols))) if top_k is None else None
    k = 0 if top_k is None else min(int(top_k), len(cols))
    ti = np.empty((len(codes), k), dtype=np.int32) if top_k is not None else None
    ts = np.empty((len(codes), k)) if top_k is not None else None

    if top_k is not None and model.method in ("als", "bpr"):
        assert ti is not None and ts is not None
        scorer.cf_topk(codes, k, ti, ts, req.num_threads)
    else:

        def work(start: int) -> None:
            s = scorer.block(codes[start : start + bs])
            _store(s, start, dense, ti, ts, k)

        _run_blocks(work, len(codes), bs, req.num_threads)
    return ItemScores(
        customers=req.customers,
        items=item_idx,
        method=model.method,
        dense=dense,
        top_index=ti,
        top_score=ts,
        n_cold_customers=req.n_cold,
        n_unknown_customers=req.n_unknown,
        elapsed_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- offers
def _offers_iv(
    model: AffinityModel, offers: Offers, aggregate: object, unknown_items: object
) -> tuple[sp.csr_array, _I64, int, int]:
    """Offer incidence over local columns, the columns' model item codes, counts.

    A column of code ``-1`` is the virtual never-bought item (the global
    fallback): the unknown items under ``"keep"``, and the only item of offers
    left with no known item under ``"drop"``.
    """
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
    policy = policy_value(
        unknown_items, "unknown_items", _POLICIES, renamed={"ignore": "drop"}, func="score_offers"
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
    to_model[used] = _lookup(model.items, offers.items.values[used], "offers.items")
    mcode = to_model[inc.col]
    unknown = mcode < 0
    n_unknown = int(unknown.sum())
    if n_unknown and policy == "raise":
        bad = offers.items.values[inc.col[unknown]]
        raise UnknownIdError(
            f"offers: {n_unknown} offer-item pair(s) name items unknown to the model, e.g. "
            f"{np.unique(bad)[:3].tolist()}; pass unknown_items='drop' to score offers on "
            "their known items (offers with none get the cold-start fallback), or "
            "unknown_items='keep' to score unknown items as never-bought ones",
            field="offers",
        )
    keep_pairs = np.ones(len(mcode), dtype=bool) if policy == "keep" else ~unknown
    row, mc = inc.row[keep_pairs], mcode[keep_pairs]
    has_known = np.bincount(inc.row[~unknown], minlength=offers.n_offers) > 0
    n_cold = int((~has_known).sum())
    cold = np.flatnonzero(np.bincount(row, minlength=offers.n_offers) == 0)
    if len(cold):  # the virtual column (global fallback) for offers left with no item
        row = np.concatenate([row, cold])
        mc = np.concatenate([mc, np.full(len(cold), -1, dtype=np.int64)])
    cols, local = np.unique(mc, return_inverse=True)
    cols = cols.astype(np.int64)
    local = local.reshape(-1)
    a = sp.csr_array((np.ones(len(row)), (row, local)), shape=(offers.n_offers, len(cols)))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a, cols, n_unknown, n_cold


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


def _score_offers_iv(
    model: AffinityModel,
    customer_ids: Any,
    offers: Offers,
    top_k: int | None,
    aggregate: object,
    exclude_recent_days: float | None,
    respect_eligibility: object,
    unknown_items: object,
    unknown_customers: object,
    block_size: int | None,
    max_dense_cells: int,
    num_threads: int,
) -> tuple[_Request, sp.csr_array, _I64, int, int]:
    threads = _common_iv(
        model, top_k, exclude_recent_days, block_size, num_threads, max_dense_cells
    )
    if not isinstance(respect_eligibility, (bool, np.bool_)):
        raise ValidationError(
            f"respect_eligibility must be True or False, got {respect_eligibility!r}",
            field="respect_eligibility",
        )
    a, cols, n_unknown_items, n_cold_offers = _offers_iv(model, offers, aggregate, unknown_items)
    cust, codes, n_cold, n_unknown = _customers_iv(
        model, customer_ids, unknown_customers, "score_offers"
    )
    _check_dense(len(codes), offers.n_offers, top_k, max_dense_cells)
    return (
        _Request(cust, codes, n_cold, n_unknown, threads),
        a,
        cols,
        n_unknown_items,
        n_cold_offers,
    )


@renamed_kwargs(customers="customer_ids")
def score_offers(
    model: AffinityModel,
    customer_ids: Any,
    offers: Offers,
    *,
    top_k: int | None = None,
    aggregate: Aggregate = "max",
    exclude_recent_days: float | None = None,
    respect_eligibility: bool = True,
    unknown_items: UnknownPolicy = "raise",
    unknown_customers: UnknownPolicy = "raise",
    block_size: int | None = None,
    max_dense_cells: int = 50_000_000,
    num_threads: int = 0,
    progress: ProgressCallback | None = None,
) -> OfferScores:
    """Score customers against offers: item scores aggregated over each offer's items.

    Parameters
    ----------
    model : AffinityModel
    customer_ids : array-like of ids, IdIndex or None
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
    unknown_items : {"raise", "drop", "keep"}
        Offer items unknown to the model (counted in
        :attr:`OfferScores.n_unknown_items`): raise
        :class:`~onetoone.errors.UnknownIdError` (default); drop those
        offer-item pairs, so an offer is scored on its known items; or keep
        them, each scored as an item never bought (the global cold-start
        fallback). Under both, an offer with no known item is scored with the
        global fallback (counted in ``n_cold_offers``). (``"ignore"``, the old
        spelling of ``"drop"``, is deprecated.)
    unknown_customers : {"raise", "drop", "keep"}
        As in :func:`score_items`.
    block_size : int, optional
        Customers per block; working memory is O(block_size x (items covered +
        offer-item pairs)), independent of the number of customers.
    max_dense_cells : int
        Largest dense result allowed.
    num_threads : int
        Blocks scored in parallel (0, the default: all cores, as in
        :func:`fit_affinity`). Results do not depend on it.
    progress : callable, optional
        Called as ``progress(blocks_done, n_blocks)`` after each block of
        customers (see :mod:`onetoone._progress`; the command line draws a bar).

    Returns
    -------
    OfferScores
        Build the 0/1 outcomes of a past campaign for :func:`fit_response`
        with :meth:`OfferScores.outcome_matrix`.

    Raises
    ------
    ValidationError
        A bad option (the message names it), or a dense result larger than
        ``max_dense_cells``.
    UnknownIdError
        An unknown customer or offer item under the ``"raise"`` policies.
    EmptyInputError
        No customer to score.

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
    >>> promo = Offers.from_pairs(["ox", "oq"], ["x", "q"])  # q: never sold
    >>> s = score_offers(m, [1, 2], promo, unknown_items="drop")
    >>> s.n_unknown_items, s.n_cold_offers
    (1, 1)
    """
    t0 = time.perf_counter()
    req, a, cols, n_unknown_items, n_cold_offers = _score_offers_iv(
        model,
        customer_ids,
        offers,
        top_k,
        aggregate,
        exclude_recent_days,
        respect_eligibility,
        unknown_items,
        unknown_customers,
        block_size,
        max_dense_cells,
        num_threads,
    )
    codes = req.codes
    n_off = offers.n_offers
    elig = offers.eligible_mask(req.customers) if respect_eligibility else None
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

    _run_blocks(work, len(codes), bs, req.num_threads, check_progress(progress))
    _LOG.info(
        "score_offers(%s): %d customers x %d offers in %.3fs",
        model.method, len(codes), n_off, time.perf_counter() - t0,
    )
    return OfferScores(
        customers=req.customers,
        offers=offers.ids,
        method=model.method,
        aggregate=aggregate,
        dense=dense,
        top_index=ti,
        top_score=ts,
        n_cold_customers=req.n_cold,
        n_unknown_customers=req.n_unknown,
        n_unknown_items=n_unknown_items,
        n_cold_offers=n_cold_offers,
        elapsed_s=time.perf_counter() - t0,
    )
