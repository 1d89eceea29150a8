"""The affinity model: fit once, point in time, from the transaction log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import SECONDS_PER_DAY, TimeLike, readonly, to_datetime64
from onetoone._checks import check_int as _check_int
from onetoone._checks import check_num_threads as _check_num_threads
from onetoone._checks import check_real as _check_real
from onetoone._optional import import_optional
from onetoone._progress import ProgressCallback, check_progress
from onetoone._random import RandomState, check_random_state
from onetoone.data import Catalogue, IdIndex, Transactions, check_transactions
from onetoone.errors import EmptyInputError, ValidationError

__all__ = [
    "METHODS",
    "WEIGHTINGS",
    "AffinityMethod",
    "AffinityModel",
    "fit_affinity",
    "partial_fit",
]

#: The affinity methods, as a type (:data:`METHODS` lists the same names).
AffinityMethod = Literal["hybrid", "als", "bpr", "repeat", "popularity"]
Method = AffinityMethod
Weighting = Literal["bm25", "tfidf", "log", "none"]

_LOG = logging.getLogger("onetoone.affinity")

#: Scoring methods of :func:`fit_affinity`.
METHODS: tuple[str, ...] = ("hybrid", "als", "bpr", "repeat", "popularity")
#: Confidence weightings of the ALS input.
WEIGHTINGS: tuple[str, ...] = ("bm25", "tfidf", "log", "none")

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I32 = npt.NDArray[np.int32]

_DEFAULTS: dict[str, Any] = {
    "factors": 64,
    "regularization": 0.05,
    "iterations": 15,
    "weighting": "bm25",
    "bm25_k1": 100.0,
    "bm25_b": 0.8,
    "alpha": 1.0,
    "learning_rate": 0.01,
    "bpr_iterations": 100,
    "half_life_days": 90.0,
    "repeat_saturation": 1.0,
    "cf_weight": 0.01,
    "popularity_weight": 0.001,
}


#: Accepted range of each numeric option of :func:`fit_affinity`: (low, high, low inclusive).
#: The upper bounds keep every float32 step of the fit and of scoring finite.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "factors": (1, 4096, True),
    "iterations": (1, 10_000, True),
    "bpr_iterations": (1, 100_000, True),
    "regularization": (0.0, 1e6, True),
    "bm25_k1": (0.0, 1e6, False),
    "bm25_b": (0.0, 1.0, True),
    "alpha": (0.0, 1e6, False),
    "learning_rate": (0.0, 10.0, False),
    "half_life_days": (0.0, 1e6, False),
    "repeat_saturation": (0.0, 1e6, False),
    "cf_weight": (0.0, 1e3, True),
    "popularity_weight": (0.0, 1e3, True),
}
_INT_OPTIONS = ("factors", "iterations", "bpr_iterations")
#: Largest magnitude a float32 score may reach (a wide margin below float32's max).
_SCORE_LIMIT = 1e30


def _frozen_params(p: Mapping[str, Any]) -> Mapping[str, Any]:
    missing = sorted(set(_DEFAULTS) - set(p))
    if missing:
        raise ValidationError(f"params lacks {missing}", field="params")
    return MappingProxyType(dict(p))


def _ro(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a`` as a C-contiguous array flagged read-only (a view: the caller's array is untouched)."""
    return readonly(np.ascontiguousarray(a))


def _factors(a: npt.ArrayLike | None) -> _F32 | None:
    """Factors as a read-only C-contiguous float32 matrix (or None)."""
    if a is None:
        return None
    out = np.ascontiguousarray(a, dtype=np.float32)
    if out.ndim != 2:
        raise ValidationError(
            f"factors must be a 2-D (rows x factors) array, got {out.ndim} dimension(s)",
            field="user_factors",
        )
    return readonly(out)


def _freeze_csr(m: sp.csr_array) -> sp.csr_array:
    for a in (m.data, m.indices, m.indptr):
        a.flags.writeable = False
    return m


@attrs.frozen(eq=False)
class _Derived:
    """Tables derived from an :class:`AffinityModel`'s fields, built once at construction.

    Private to the affinity package: only the scorer (:mod:`onetoone.affinity._score`)
    reads them; the public views are :attr:`AffinityModel.has_history` and
    :attr:`AffinityModel.seen_items`. Every array is read-only. "Groups" are the
    cold-start fallback groups: one per item category (code ``c``) and one for
    all seen items (``global_group``, the last).

    Attributes
    ----------
    seen : bool array (n_items,)
        Items bought before ``as_of``.
    has_history : bool array (n_customers,)
        Customers with a purchase before ``as_of``.
    fallback_group : int32 array (n_items,)
        Group whose mean scores each unseen item (``-1`` for seen items).
    global_group : int
        Index of the all-seen-items group.
    sat : csr_array (n_customers, n_items)
        Saturated repeat signal ``r / (r + repeat_saturation)``.
    sat_group : csr_array (n_customers, n_groups)
        Each customer's mean saturated repeat over a group's items, shrunk
        towards 0 by one pseudo-item.
    pop_group : float64 array (n_groups,)
        Mean popularity of a group's items (same shrinkage).
    v_group : float32 array (n_groups, factors) or None
        Mean item factor of a group (same shrinkage); None without factors.
    """

    seen: npt.NDArray[np.bool_]
    has_history: npt.NDArray[np.bool_]
    fallback_group: _I32
    global_group: int
    sat: sp.csr_array
    sat_group: sp.csr_array
    pop_group: _F64
    v_group: _F32 | None


@attrs.frozen(eq=False)
class AffinityModel:
    """A fitted, immutable affinity model (see :func:`fit_affinity`).

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    customers, items : IdIndex
        The log's indexes; scores refer to these codes.
    as_of : numpy.datetime64
        Only rows strictly before this time were used.
    params : Mapping[str, float | int | str]
        Hyperparameters in force (see :func:`fit_affinity`).
    repeat : scipy.sparse.csr_array
        ``(n_customers, n_items)`` recency-decayed count of distinct baskets
        containing the item: ``sum_b 0.5 ** (age_b / half_life_days)``.
    last_days : float64 array
        Days from the last purchase to ``as_of``, aligned with ``repeat.data``.
    popularity : float64 array
        Share of customers (with history) who bought each item.
    item_category : int32 array
        Category code per item (``-1`` unknown) used by the cold-start fallback.
    item_baskets : float64 array
        Distinct baskets containing each item (the ALS input's column sums),
        kept so new customers can be weighted exactly as at fit time.
    user_factors, item_factors : float32 arrays or None
        Collaborative-filtering factors (methods ``"als"``, ``"bpr"``, ``"hybrid"``).
    fit_seconds : float
        Wall time of the fit.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> model = fit_affinity(synthetic_transactions(30, 20, random_state=0), method="repeat")
    >>> model.repeat.shape == (model.n_customers, model.n_items)
    True
    >>> model.repeat.data.flags.writeable  # immutable: safe to share between threads
    False
    """

    method: str
    customers: IdIndex
    items: IdIndex
    as_of: np.datetime64
    params: Mapping[str, Any] = attrs.field(converter=_frozen_params)
    repeat: sp.csr_array = attrs.field(repr=False)
    last_days: _F64 = attrs.field(converter=_ro, repr=False)
    popularity: _F64 = attrs.field(converter=_ro, repr=False)
    item_category: _I32 = attrs.field(converter=_ro, repr=False)
    item_baskets: _F64 = attrs.field(converter=_ro, repr=False)
    user_factors: _F32 | None = attrs.field(default=None, converter=_factors, repr=False)
    item_factors: _F32 | None = attrs.field(default=None, converter=_factors, repr=False)
    fit_seconds: float = 0.0
    #: Tables for scoring and the cold-start fallback, built once in __attrs_post_init__.
    _derived: _Derived = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        n_c, n_i = len(self.customers), len(self.items)
        if self.method not in METHODS:
            raise ValidationError(
                f"method must be one of {', '.join(map(repr, METHODS))}; got {self.method!r}",
                field="method",
            )
        if self.repeat.shape != (n_c, n_i):
            raise ValidationError(
                f"repeat has shape {self.repeat.shape}, expected ({n_c}, {n_i})", field="repeat"
            )
        if self.last_days.shape != self.repeat.data.shape:
            raise ValidationError("last_days must align with repeat.data", field="last_days")
        for name, arr in (
            ("popularity", self.popularity),
            ("item_category", self.item_category),
            ("item_baskets", self.item_baskets),
        ):
            if arr.shape != (n_i,):
                raise ValidationError(f"{name} must hold one value per item", field=name)
        uses_cf = self.method in ("als", "bpr", "hybrid")
        if uses_cf:
            if self.user_factors is None or self.item_factors is None:
                raise ValidationError(
                    f"method {self.method!r} needs user_factors and item_factors",
                    field="user_factors",
                )
            if self.user_factors.shape[0] != n_c or self.item_factors.shape[0] != n_i:
                raise ValidationError(
                    "factor rows must match the customer and item indexes", field="user_factors"
                )
            if self.user_factors.shape[1] != self.item_factors.shape[1]:
                raise ValidationError("user and item factors differ in width", field="item_factors")
            self._check_score_bound()
        elif self.user_factors is not None or self.item_factors is not None:
            raise ValidationError(
                f"method {self.method!r} has no factors; pass user_factors=None and "
                "item_factors=None",
                field="user_factors",
            )
        _freeze_csr(self.repeat)
        object.__setattr__(self, "_derived", self._derive())

    def _check_score_bound(self) -> None:
        """Guarantee finite scores: factors finite, ``|score|`` bounded in float32.

        ``|u . v| <= max ||u|| * max ||v||`` (Cauchy-Schwarz); the hybrid score
        adds ``cf_weight`` times that to a saturated repeat signal below 1 and
        ``popularity_weight`` times a share below 1.
        """
        assert self.user_factors is not None and self.item_factors is not None
        for name, f in (("user_factors", self.user_factors), ("item_factors", self.item_factors)):
            if not bool(np.all(np.isfinite(f))):
                raise ValidationError(
                    f"{name} holds NaN or inf (the factorisation diverged); lower learning_rate "
                    "or raise regularization",
                    field=name,
                )

        def norm(f: _F32) -> float:
            return float(np.sqrt(np.max(np.sum(np.square(f, dtype=np.float64), axis=1), initial=0)))

        cf = norm(self.user_factors) * norm(self.item_factors)
        weight = float(self.params["cf_weight"]) if self.method == "hybrid" else 1.0
        pop = float(self.params["popularity_weight"]) if self.method == "hybrid" else 0.0
        bound = weight * cf + pop + 1.0
        if not bound <= _SCORE_LIMIT:
            raise ValidationError(
                f"scores could reach {bound:.3g} (cf_weight {weight:g} x factor norms {cf:.3g}), "
                f"beyond the finite range guaranteed ({_SCORE_LIMIT:g}); lower cf_weight",
                field="cf_weight",
            )

    # ------------------------------------------------------------------ derived state
    def _derive(self) -> _Derived:
        """Cold-start fallback groups and the arrays scoring needs (cheap: O(nnz + items))."""
        n_i = len(self.items)
        seen = self.popularity > 0
        cat = self.item_category
        n_cat = int(cat.max()) + 1 if n_i and int(cat.max()) >= 0 else 0
        glob = n_cat  # the "all seen items" group
        # membership of seen items: own category (if known) and the global group
        j_seen = np.flatnonzero(seen)
        j_cat = j_seen[cat[j_seen] >= 0]
        rows = np.concatenate([j_cat, j_seen])
        cols = np.concatenate([cat[j_cat], np.full(len(j_seen), glob, dtype=np.int32)])
        member = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n_i, n_cat + 1)).tocsc()
        counts = np.asarray(member.sum(axis=0)).ravel()
        # item x group averaging, shrunk towards 0 by one pseudo-item (the unseen item
        # itself, of unknown appeal): a new item never outranks the habit it resembles
        mean_of = member @ sp.diags_array(1.0 / (counts + 1.0))
        # fallback group of each unseen item: its category if it has seen items, else global
        group = np.where((cat >= 0) & (counts[np.maximum(cat, 0)] > 0), cat, glob)
        group = np.where(seen, -1, group).astype(np.int32)
        k = float(self.params["repeat_saturation"])
        sat = self.repeat.copy()
        sat.data = sat.data / (sat.data + k)
        v_group = None
        if self.item_factors is not None:
            v_group = np.asarray(mean_of.T @ self.item_factors.astype(np.float64), dtype=np.float32)
        return _Derived(
            seen=readonly(seen),
            has_history=readonly(np.diff(self.repeat.indptr) > 0),
            fallback_group=readonly(group),
            global_group=glob,
            sat=_freeze_csr(sp.csr_array(sat)),
            sat_group=_freeze_csr(sp.csr_array(sat @ mean_of)),
            pop_group=readonly(np.asarray(mean_of.T @ self.popularity, dtype=np.float64)),
            v_group=None if v_group is None else readonly(v_group),
        )

    @property
    def n_customers(self) -> int:
        """Customers of the model (rows of :attr:`repeat`)."""
        return len(self.customers)

    @property
    def n_items(self) -> int:
        """Items of the model (columns of :attr:`repeat`)."""
        return len(self.items)

    @property
    def has_history(self) -> npt.NDArray[np.bool_]:
        """Customers with at least one purchase before :attr:`as_of`."""
        return self._derived.has_history

    @property
    def seen_items(self) -> npt.NDArray[np.bool_]:
        """Items bought at least once before :attr:`as_of`."""
        return self._derived.seen


# --------------------------------------------------------------------------- fitting
@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while implicit runs (its own OpenMP pool does the work).

    implicit warns when OpenBLAS/MKL use several threads, because nested
    threading makes ALS many times slower; limiting BLAS for the duration of
    the fit is the fix it recommends, and it restores the caller's setting.
    """
    threadpoolctl = import_optional("threadpoolctl", purpose="fit_affinity (with implicit)")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield


def _confidence(x: sp.csr_array, p: Mapping[str, Any]) -> sp.csr_array:
    """Confidence weights of the customer x item basket counts for ALS."""
    w = p["weighting"]
    if w == "none":
        return x
    if w == "log":
        out = x.copy()
        out.data = 1.0 + np.log1p(out.data)
        return out
    nn = import_optional("implicit", purpose="fit_affinity").nearest_neighbours
    # implicit's weightings treat rows as documents and columns as terms; following its
    # examples, items are the documents and customers the terms, hence the transposes.
    if w == "bm25":
        wt = nn.bm25_weight(x.T, K1=float(p["bm25_k1"]), B=float(p["bm25_b"]))
    else:
        wt = nn.tfidf_weight(x.T)
    return sp.csr_array(wt.T.tocsr())


def _cf_factors(
    x: sp.csr_array,
    p: Mapping[str, Any],
    kind: str,
    seed: int,
    num_threads: int,
    progress: ProgressCallback | None = None,
) -> tuple[_F32, _F32]:
    implicit = import_optional("implicit", purpose="fit_affinity")
    implicit_cpu_als, implicit_cpu_bpr = implicit.cpu.als, implicit.cpu.bpr
    with _single_threaded_blas():
        if kind == "bpr":
            model = implicit_cpu_bpr.BayesianPersonalizedRanking(
                factors=int(p["factors"]),
                learning_rate=float(p["learning_rate"]),
                regularization=float(p["regularization"]),
                iterations=int(p["bpr_iterations"]),
                num_threads=num_threads,
                random_state=seed,
            )
            mat = sp.csr_matrix(x, dtype=np.float32)
        else:
            model = implicit_cpu_als.AlternatingLeastSquares(
                factors=int(p["factors"]),
                regularization=float(p["regularization"]),
                alpha=float(p["alpha"]),
                iterations=int(p["iterations"]),
                num_threads=num_threads,
                random_state=seed,
            )
            mat = sp.csr_matrix(_confidence(x, p), dtype=np.float32)
        total = int(p["bpr_iterations"] if kind == "bpr" else p["iterations"])

        def callback(iteration: int, *stats: float) -> None:
            # implicit passes (iteration, elapsed, loss) for ALS and (epoch, elapsed,
            # correct, skipped) for BPR, counting from 0
            assert progress is not None
            progress(int(iteration) + 1, total)

        model.fit(mat, show_progress=False, callback=None if progress is None else callback)
    return (
        np.ascontiguousarray(model.user_factors, dtype=np.float32),
        np.ascontiguousarray(model.item_factors, dtype=np.float32),
    )


def _pair_stats(
    tx: Transactions, as_of: np.datetime64, half_life_days: float
) -> tuple[sp.csr_array, _F64, sp.csr_array]:
    """Per (customer, item): decayed basket count, days since last purchase, basket count.

    Returns ``(repeat, last_days, baskets)``: ``repeat`` sums
    ``0.5 ** (age / half_life_days)`` over the distinct baskets containing the
    item (each basket aged by its first line), ``last_days`` (aligned with
    ``repeat.data``) is the age of the latest line with the item, and
    ``baskets`` counts the distinct baskets (the same matrix as
    ``customer_item_matrix(tx, weight="baskets")``). Two stable sorts of
    nearly sorted int64 keys, then ``reduceat`` over the groups.
    """
    n_c, n_i = tx.n_customers, tx.n_items
    if tx.n_rows == 0:
        return sp.csr_array((n_c, n_i)), np.zeros(0), sp.csr_array((n_c, n_i))
    age = (as_of.astype(np.int64) - tx.timestamp.astype(np.int64)) / SECONDS_PER_DAY
    # one row per distinct (basket, item); basket codes already increase along the rows
    key_bi = tx.basket.astype(np.int64) * n_i + tx.item
    order = np.argsort(key_bi, kind="stable")
    kb = key_bi[order]
    first = np.ones(len(kb), dtype=bool)
    first[1:] = kb[1:] != kb[:-1]
    rows = order[first]
    c, i, a = tx.customer[rows], tx.item[rows], age[rows]
    youngest = np.minimum.reduceat(age[order], np.flatnonzero(first))  # per (basket, item)
    # group by (customer, item); the log is sorted by customer, so keys come in long runs
    key = c.astype(np.int64) * n_i + i
    o2 = np.argsort(key, kind="stable")
    k2 = key[o2]
    head = np.ones(len(k2), dtype=bool)
    head[1:] = k2[1:] != k2[:-1]
    starts = np.flatnonzero(head)
    a2 = a[o2]
    decayed = np.add.reduceat(np.exp2(-a2 / half_life_days), starts)
    last = np.minimum.reduceat(youngest[o2], starts)
    count = np.diff(np.append(starts, len(k2))).astype(np.float64)
    uc, ui = c[o2][starts], i[o2][starts].astype(np.int32)
    indptr = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(uc, minlength=n_c), out=indptr[1:])
    repeat = sp.csr_array((decayed, ui, indptr), shape=(n_c, n_i))
    baskets = sp.csr_array((count, ui.copy(), indptr.copy()), shape=(n_c, n_i))
    return repeat, last, baskets


def _fit_affinity_iv(
    transactions: Transactions,
    as_of: TimeLike | None,
    method: str,
    catalogue: Catalogue | None,
    num_threads: int,
    params: dict[str, Any],
) -> tuple[np.datetime64, dict[str, Any]]:
    check_transactions(transactions)
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}",
            field="method",
        )
    if catalogue is not None and not isinstance(catalogue, Catalogue):
        raise ValidationError(
            f"catalogue must be a Catalogue or None, got {type(catalogue).__name__}",
            field="catalogue",
        )
    _check_num_threads(num_threads)
    p = dict(_DEFAULTS)
    for k, v in params.items():
        if k not in _DEFAULTS:
            raise ValidationError(f"unknown option {k!r}", field=k)
        if v is not None:
            p[k] = v
    if not (isinstance(p["weighting"], str) and p["weighting"] in WEIGHTINGS):
        raise ValidationError(
            f"weighting must be one of {', '.join(map(repr, WEIGHTINGS))}; got {p['weighting']!r}",
            field="weighting",
        )
    for k, (low, high, inclusive) in _RANGES.items():
        if k in _INT_OPTIONS:
            p[k] = _check_int(p[k], k, int(low), int(high))
        else:
            what = "must lie in [0, 1]" if k == "bm25_b" else None
            p[k] = _check_real(p[k], k, low, high, low_inclusive=inclusive, what=what)
    if as_of is None:
        if transactions.n_rows == 0:
            raise EmptyInputError("transactions has no rows", field="transactions")
        t = transactions.period[1] + np.timedelta64(1, "s")
    else:
        t = to_datetime64(as_of, "as_of")
    return t, p


def fit_affinity(
    transactions: Transactions,
    *,
    as_of: TimeLike | None = None,
    method: Method = "hybrid",
    catalogue: Catalogue | None = None,
    factors: int | None = None,
    regularization: float | None = None,
    iterations: int | None = None,
    weighting: Weighting | None = None,
    bm25_k1: float | None = None,
    bm25_b: float | None = None,
    alpha: float | None = None,
    learning_rate: float | None = None,
    bpr_iterations: int | None = None,
    half_life_days: float | None = None,
    repeat_saturation: float | None = None,
    cf_weight: float | None = None,
    popularity_weight: float | None = None,
    num_threads: int = 0,
    random_state: RandomState = None,
    progress: ProgressCallback | None = None,
) -> AffinityModel:
    """Fit a customer x item affinity model on the rows strictly before ``as_of``.

    Parameters
    ----------
    transactions : Transactions
    as_of : time, optional
        Point in time: only rows with ``timestamp < as_of`` are read (default:
        just after the last row). Recency is measured from ``as_of``.
    method : {"hybrid", "als", "bpr", "repeat", "popularity"}
        ``"repeat"``: the customer's own recency-decayed purchase counts;
        ``"popularity"``: share of customers buying each item (the same for
        everyone); ``"als"`` / ``"bpr"``: implicit-feedback matrix factorisation
        through :mod:`implicit`; ``"hybrid"`` (default): saturated repeat plus
        ``cf_weight`` x ALS plus ``popularity_weight`` x popularity, so items the
        customer already buys rank first and CF, then popularity, order the rest.
    catalogue : Catalogue, optional
        Item categories for the cold-start fallback of items never bought before
        ``as_of`` (they score as the customer's mean over bought items of their
        category); without it, the mean over all bought items.
    factors, regularization, iterations : optional
        Matrix-factorisation size (64, at most 4096), L2 penalty (0.05, in
        ``[0, 1e6]``) and ALS sweeps (15, at most 10,000).
    weighting : {"bm25", "tfidf", "log", "none"}, optional
        Confidence weighting of the distinct-basket counts for ALS (default
        ``"bm25"`` with ``bm25_k1=100`` in ``(0, 1e6]``, ``bm25_b=0.8`` in
        ``[0, 1]``); ``alpha`` (1.0, in ``(0, 1e6]``) scales the confidences.
    learning_rate, bpr_iterations : optional
        BPR's SGD step (0.01, in ``(0, 10]``) and epochs (100, at most 100,000).
    half_life_days : float, optional
        Half-life of the repeat signal's recency decay (90 days, in ``(0, 1e6]``).
    repeat_saturation : float, optional
        ``k`` in the saturation ``r / (r + k)`` of decayed counts (1.0, in ``(0, 1e6]``).
    cf_weight, popularity_weight : float, optional
        Hybrid blend weights (0.01 and 0.001, each in ``[0, 1000]``): small on
        purpose, so the customer's own repeat signal orders what they buy and
        CF, then popularity, order the rest (chosen on campaigns 8 and 27, see
        ``docs/affinity.md``). Scores are guaranteed finite: a fit whose
        factors could push ``|score|`` beyond 1e30 raises.
    num_threads : int
        Threads for implicit (0: all cores, at most 1024). BPR is only
        deterministic with 1: with more threads its Hogwild updates race, so
        ``random_state`` alone does not fix the result.
    random_state : int, numpy.random.Generator or None
        Seeds the factor initialisation (and BPR's sampling).
    progress : callable, optional
        ``"als"``, ``"bpr"``, ``"hybrid"``: called as ``progress(iteration,
        iterations)`` after each factorisation sweep (see :mod:`onetoone._progress`;
        the command line draws a bar).

    Returns
    -------
    AffinityModel

    Raises
    ------
    ValidationError
        A bad option (the message names it and its range), or a factorisation
        that diverged (NaN factors).
    EmptyInputError
        No rows before ``as_of``.

    Notes
    -----
    See ``docs/affinity.md`` for the maths. The customer x item input to the
    factorisation counts distinct baskets (:func:`~onetoone.data.customer_item_matrix`
    with ``weight="baskets"``), which is robust to multi-unit lines.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> tx = synthetic_transactions(60, 40, random_state=0)
    >>> model = fit_affinity(tx, method="repeat", as_of="2024-12-01")
    >>> model.method, model.repeat.shape == (tx.n_customers, tx.n_items)
    ('repeat', True)
    """
    t0 = time.perf_counter()
    opts = {
        "factors": factors,
        "regularization": regularization,
        "iterations": iterations,
        "weighting": weighting,
        "bm25_k1": bm25_k1,
        "bm25_b": bm25_b,
        "alpha": alpha,
        "learning_rate": learning_rate,
        "bpr_iterations": bpr_iterations,
        "half_life_days": half_life_days,
        "repeat_saturation": repeat_saturation,
        "cf_weight": cf_weight,
        "popularity_weight": popularity_weight,
    }
    t, p = _fit_affinity_iv(transactions, as_of, method, catalogue, num_threads, opts)
    report = check_progress(progress)
    rng = check_random_state(random_state)
    tx = transactions.between(None, t)
    if tx.n_rows == 0:
        raise EmptyInputError(
            f"no transactions before as_of={t}; choose a later as_of", field="as_of"
        )
    repeat, last, x = _pair_stats(tx, t, float(p["half_life_days"]))
    buyers = np.bincount(repeat.indices, minlength=tx.n_items).astype(np.float64)
    n_active = max(int((np.diff(repeat.indptr) > 0).sum()), 1)
    popularity = buyers / n_active
    if catalogue is not None:
        item_cat = catalogue.category_codes(tx.items)
    else:
        item_cat = np.full(tx.n_items, -1, dtype=np.int32)
    item_baskets = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    user_f = item_f = None
    if method in ("als", "bpr", "hybrid"):
        seed = int(rng.integers(0, 2**31 - 1))
        kind = "bpr" if method == "bpr" else "als"
        user_f, item_f = _cf_factors(x, p, kind, seed, num_threads, report)
    _LOG.info(
        "fit_affinity(%s): %d customers x %d items, %d rows in %.3fs",
        method, tx.n_customers, tx.n_items, tx.n_rows, time.perf_counter() - t0,
    )
    return AffinityModel(
        method=method,
        customers=tx.customers,
        items=tx.items,
        as_of=t,
        params=p,
        repeat=repeat,
        last_days=last,
        popularity=popularity,
        item_category=item_cat,
        item_baskets=item_baskets,
        user_factors=user_f,
        item_factors=item_f,
        fit_seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- partial fit
def partial_fit(
    model: AffinityModel,
    transactions: Transactions,
    *,
    as_of: TimeLike | None = None,
    num_threads: int = 0,
) -> AffinityModel:
    """Refresh (or add) the customers present in ``transactions`` without refitting items.

    Item-side state (item factors, popularity, categories) stays fixed; each
    customer in ``transactions`` gets a new repeat row and, for the CF
    methods, a new user factor: ALS solves the customer's least-squares
    problem against the fixed item factors (implicit's ``recalculate_user``);
    BPR, which implicit cannot fold in, uses the mean factor of the items the
    customer bought (an approximation, documented in ``docs/affinity.md``).

    Parameters
    ----------
    model : AffinityModel
    transactions : Transactions
        History of the customers to refresh (all of it, not only new rows).
        Items unknown to the model are ignored.
    as_of : time, optional
        Point in time (default ``model.as_of``).
    num_threads : int
        Threads for implicit (0: all cores).

    Returns
    -------
    AffinityModel
        A new model over the union of the old and new customer ids.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> tx = synthetic_transactions(40, 30, random_state=1)
    >>> m = fit_affinity(tx, method="repeat")
    >>> new = Transactions.from_arrays(customer=[999, 999], item=tx.items.values[:2],
    ...                                timestamp=["2024-06-01", "2024-06-02"], value=[1.0, 1.0])
    >>> m2 = partial_fit(m, new)
    >>> 999 in m2.customers and m2.n_customers == m.n_customers + 1
    True
    """
    t = _partial_fit_iv(model, transactions, as_of, num_threads)
    tx = transactions.between(None, t)
    if tx.n_rows == 0:
        raise EmptyInputError(f"no transactions before as_of={t}", field="transactions")
    # new customer index: union; rows of refreshed customers replaced
    touched_ids = tx.customers.values[np.unique(tx.customer)]
    union = IdIndex.from_values(np.concatenate([model.customers.values, touched_ids]))
    old_pos = union.encode(model.customers.values)
    new_pos = union.encode(touched_ids)
    # map the log's item codes to the model's; unknown items dropped
    item_map = model.items.encode(tx.items.values, unknown="keep")
    keep_rows = item_map[tx.item] >= 0
    sub = tx.subset(keep_rows)
    sub = attrs.evolve(sub, item=item_map[sub.item].astype(np.int32), items=model.items)
    rep_new, last_new, x_all = _pair_stats(sub, t, float(model.params["half_life_days"]))
    cust_rows = np.unique(tx.customer)  # codes in tx's index, sorted like touched_ids
    rep_new = rep_new[cust_rows]
    # positions of rows: keep old customers not touched, then place refreshed ones
    n = len(union)
    touched_mask = np.zeros(n, dtype=bool)
    touched_mask[new_pos] = True
    keep_old = ~touched_mask[old_pos]
    old_rep = model.repeat[np.flatnonzero(keep_old)]
    old_last_csr = sp.csr_array(
        (model.last_days, model.repeat.indices, model.repeat.indptr), shape=model.repeat.shape
    )[np.flatnonzero(keep_old)]
    last_csr_new = sp.csr_array((last_new, rep_new.indices, rep_new.indptr), shape=rep_new.shape)
    order = np.concatenate([old_pos[keep_old], new_pos])
    perm = np.argsort(order, kind="stable")
    stacked = sp.vstack([old_rep, rep_new], format="csr")[perm]
    stacked_last = sp.vstack([old_last_csr, last_csr_new], format="csr")[perm]
    stacked.sort_indices()
    stacked_last.sort_indices()
    user_f = None
    if model.user_factors is not None and model.item_factors is not None:
        x_new = x_all[cust_rows]
        f_new = _fold_in(model, sp.csr_array(x_new), num_threads)
        f_old = model.user_factors[np.flatnonzero(keep_old)]
        user_f = np.concatenate([f_old, f_new])[perm]
    return attrs.evolve(
        model,
        customers=union,
        as_of=t,
        repeat=sp.csr_array(stacked),
        last_days=np.asarray(stacked_last.data, dtype=np.float64),
        user_factors=user_f,
    )


def _partial_fit_iv(model: Any, transactions: Any, as_of: Any, num_threads: Any) -> np.datetime64:
    if not isinstance(model, AffinityModel):
        raise ValidationError(
            f"model must be an AffinityModel (from fit_affinity), got {type(model).__name__}",
            field="model",
        )
    check_transactions(transactions)
    _check_num_threads(num_threads)
    if transactions.customers.kind != model.customers.kind or (
        transactions.items.kind != model.items.kind
    ):
        raise ValidationError(
            "transactions' id types differ from the model's (ints vs strings)", field="transactions"
        )
    return model.as_of if as_of is None else to_datetime64(as_of, "as_of")


def _fold_in(model: AffinityModel, x: sp.csr_array, num_threads: int) -> _F32:
    assert model.item_factors is not None
    p = model.params
    if model.method == "bpr":
        # mean item factor over bought items; keep the bias slot (last column) at 1
        rows = sp.diags_array(1.0 / np.maximum(np.diff(x.indptr), 1)) @ (x > 0).astype(np.float64)
        f = np.asarray(rows @ model.item_factors.astype(np.float64), dtype=np.float32)
        f[:, -1] = 1.0
        return f
    implicit_cpu_als = import_optional("implicit", purpose="partial_fit").cpu.als
    with _single_threaded_blas():
        als = implicit_cpu_als.AlternatingLeastSquares(
            factors=int(model.item_factors.shape[1]),
            regularization=float(p["regularization"]),
            alpha=float(p["alpha"]),
            iterations=int(p["iterations"]),
            num_threads=num_threads,
        )
        als.item_factors = np.array(model.item_factors, dtype=np.float32)
        conf = sp.csr_matrix(_confidence_rows(model, x), dtype=np.float32)
        f = als.recalculate_user(np.arange(x.shape[0]), conf)
    return np.ascontiguousarray(f, dtype=np.float32)


def _confidence_rows(model: AffinityModel, x: sp.csr_array) -> sp.csr_array:
    """Confidence weights for new customer rows, exactly as :func:`_confidence` at fit time.

    implicit's bm25 / tf-idf weight (item, customer) cells with an idf per
    customer (from the customer's own row) and, for bm25, a length norm per item
    (from the training column sums, kept in ``model.item_baskets``).
    """
    p = model.params
    w = p["weighting"]
    out = sp.csr_array(x, dtype=np.float64, copy=True)
    if w == "none":
        return out
    if w == "log":
        out.data = 1.0 + np.log1p(out.data)
        return out
    n_items = float(model.n_items)
    per_row = np.diff(out.indptr)
    idf = np.log(n_items) - np.log1p(per_row)
    row_of = np.repeat(np.arange(out.shape[0]), per_row)
    if w == "tfidf":
        out.data = np.sqrt(out.data) * idf[row_of]
        return out
    k1, b = float(p["bm25_k1"]), float(p["bm25_b"])
    length = model.item_baskets
    norm = (1.0 - b) + b * length / max(float(length.mean()), 1e-300)
    d = out.data
    out.data = d * (k1 + 1.0) / (k1 * norm[out.indices] + d) * idf[row_of]
    return out
