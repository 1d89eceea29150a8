"""The per-customer step: pure functions over a dense ``(n, d)`` block of candidates.

Row ``i`` of a block holds the ``d`` candidates of one customer. Given their
reduced values ``r`` (value minus priced usage), a customer's best plan is the
greedy one: take candidates in decreasing ``r`` (ties: lower column first), skip
those with ``r <= 0`` or whose group already holds ``group_max`` chosen ones, stop
at ``k``. The constraints form a laminar matroid, so greedy is optimal and its
LP relaxation is integral; this is what makes the Lagrangian bound equal to the
LP bound at the optimal prices.

These functions touch only their arguments (no globals, no problem object), so a
block can be processed anywhere, e.g. on a Dask partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I64
from onetoone.errors import LengthMismatchError, ValidationError

__all__ = ["customer_step", "entry_thresholds"]

_B = npt.NDArray[np.bool_]
_I = npt.NDArray[np.integer]


def _group_rank(r: F64, groups: _I) -> tuple[I64, I64]:
    """Sort order by (group, -r, column) within each row, and rank inside each group."""
    n, d = r.shape
    order = np.lexsort((-r, groups), axis=-1)
    gs = np.take_along_axis(groups, order, axis=1)
    idx = np.broadcast_to(np.arange(d, dtype=np.int64), (n, d))
    start = np.ones((n, d), dtype=bool)
    start[:, 1:] = gs[:, 1:] != gs[:, :-1]
    first = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
    rank_sorted = idx - first
    rank = np.empty((n, d), dtype=np.int64)
    np.put_along_axis(rank, order, rank_sorted, axis=1)
    return order.astype(np.int64), rank


def _row_topk(r2: F64, k: I64) -> _B:
    """Mask of the top-``k[i]`` finite positive entries of each row (ties: lower column)."""
    n, d = r2.shape
    valid = r2 > 0.0
    if n == 0 or d == 0:
        return valid
    kmin, kmax = int(k.min()), int(k.max())
    if kmin >= d:
        return valid
    if kmax == 0:
        return np.zeros((n, d), dtype=bool)
    if kmin == kmax == 1:
        j = np.argmax(r2, axis=1)
        out = np.zeros((n, d), dtype=bool)
        rows = np.arange(n)
        out[rows, j] = valid[rows, j]
        return out
    if kmin == kmax:
        kk = kmin
        t = np.partition(r2, d - kk, axis=1)[:, d - kk : d - kk + 1]
        gt = r2 > t
        eq = (r2 == t) & valid
        need = kk - gt.sum(axis=1, keepdims=True)
        res: _B = (gt & valid) | (eq & (np.cumsum(eq, axis=1) <= need))
        return res
    order = np.argsort(-r2, axis=1, kind="stable")
    rank = np.empty((n, d), dtype=np.int64)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(d), (n, d)), axis=1)
    return valid & (rank < k[:, None])


def _array(a: object, name: str, func: str) -> npt.NDArray[Any]:
    """``np.asarray(a)``; a ragged nest of lists is refused naming the argument."""
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{func}: {name} must be a rectangular array (every row the same length), got "
            f"{type(a).__name__} that numpy cannot make one array of",
            field=name,
        ) from exc


def _block_iv(
    r: object, k: object, groups: object, group_max: object, func: str
) -> tuple[F64, I64, _I | None, int]:
    """Check a block's arrays for :func:`customer_step` / :func:`entry_thresholds`."""
    ra = _array(r, "r", func)
    if ra.ndim != 2 or ra.dtype.kind not in "iuf":
        raise ValidationError(
            f"{func}: r must be a 2-D numeric array (one row per customer, one column per "
            f"candidate), got {ra.dtype} of shape {ra.shape}",
            field="r",
        )
    ra = ra.astype(np.float64, copy=False)
    if bool(np.isnan(ra).any()):
        raise ValidationError(
            f"{func}: r holds NaN; pass -inf for a candidate that can never be chosen",
            field="r",
        )
    n = ra.shape[0]
    ka = _array(k, "k", func)
    if ka.ndim == 0 and ka.dtype.kind in "iu":
        ka = np.full(n, ka[()], dtype=np.int64)
    if ka.ndim != 1 or ka.dtype.kind not in "iu":
        raise ValidationError(
            f"{func}: k must be an int array with one entry per row, got {ka.dtype} of "
            f"shape {ka.shape}",
            field="k",
        )
    if len(ka) != n:
        raise LengthMismatchError(
            f"{func}: k has {len(ka)} entries but r has {n} rows; pass one k per row",
            field="k",
        )
    if n and int(ka.min()) < 0:
        raise ValidationError(f"{func}: k must be >= 0, got {int(ka.min())}", field="k")
    ga: _I | None = None
    if groups is not None:
        ga = _array(groups, "groups", func)
        if ga.shape != ra.shape or ga.dtype.kind not in "iu":
            raise ValidationError(
                f"{func}: groups must be an int array of r's shape {ra.shape}, got "
                f"{ga.dtype} of shape {ga.shape}",
                field="groups",
            )
    if (
        isinstance(group_max, (bool, np.bool_))
        or not isinstance(group_max, (int, np.integer))
        or group_max < 1
    ):
        raise ValidationError(
            f"{func}: group_max must be an int >= 1, got {group_max!r}", field="group_max"
        )
    return ra, ka.astype(np.int64, copy=False), ga, int(group_max)


def _customer_step_iv(
    r: object, k: object, groups: object, group_max: object
) -> tuple[F64, I64, _I | None, int]:
    return _block_iv(r, k, groups, group_max, "customer_step")


def _entry_thresholds_iv(
    r: object, chosen: object, k: object, groups: object, group_max: object
) -> tuple[F64, _B, I64, _I | None, int]:
    ra, ka, ga, gm = _block_iv(r, k, groups, group_max, "entry_thresholds")
    ch = _array(chosen, "chosen", "entry_thresholds")
    if ch.shape != ra.shape or ch.dtype != np.bool_:
        raise ValidationError(
            f"entry_thresholds: chosen must be a bool array of r's shape {ra.shape} (from "
            f"customer_step), got {ch.dtype} of shape {ch.shape}",
            field="chosen",
        )
    return ra, ch, ka, ga, gm


def customer_step(r: F64, k: I64, groups: _I | None = None, group_max: int = 1) -> _B:
    """Each customer's best plan for reduced values ``r``: a boolean mask of chosen pairs.

    Parameters
    ----------
    r : float array of shape (n, d)
        Reduced value of each customer's ``d`` candidates.
    k : int array of shape (n,)
        Most offers per customer.
    groups : int array of shape (n, d), optional
        Group of each candidate; at most ``group_max`` chosen per group and row.
    group_max : int

    Returns
    -------
    bool array of shape (n, d)

    Raises
    ------
    ValidationError
        ``r`` is not a 2-D numeric array or holds NaN, ``k`` is not one int
        ``>= 0`` per row, ``groups`` is not an int array of ``r``'s shape, or
        ``group_max < 1``; the message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[3.0, -1.0, 2.0], [1.0, 5.0, 4.0]])
    >>> customer_step(r, np.array([2, 1])).astype(int).tolist()
    [[1, 0, 1], [0, 1, 0]]
    >>> customer_step(r, np.array([2, 2]), np.array([[0, 0, 0], [1, 1, 2]])).astype(int).tolist()
    [[1, 0, 0], [0, 1, 1]]
    """
    return _customer_step(*_customer_step_iv(r, k, groups, group_max))


def _customer_step(r: F64, k: I64, groups: _I | None = None, group_max: int = 1) -> _B:
    """:func:`customer_step` without the checks (the solvers' hot path)."""
    r2 = np.where(r > 0.0, r, -np.inf)
    if groups is not None and r.shape[1] > 1:
        _, grank = _group_rank(r2, groups)
        r2 = np.where(grank < group_max, r2, -np.inf)
    return _row_topk(r2, k)


def entry_thresholds(
    r: F64, chosen: _B, k: I64, groups: _I | None = None, group_max: int = 1
) -> F64:
    """The reduced value each candidate needs to be chosen, the others held fixed.

    For a candidate ``e`` of row ``i`` this is ``t_e >= 0`` such that ``e`` is in
    the row's greedy plan iff ``r_e > t_e`` (up to ties). By the matroid exchange
    property: if ``e`` is not chosen, ``t_e`` is the smallest chosen value of its
    group when the group is full, else the smallest chosen value of the row when
    the row is full, else 0; if ``e`` is chosen, ``t_e`` is the best unchosen value
    that could take its place (same group, or any group that is not full).

    Parameters
    ----------
    r, k, groups, group_max
        As in :func:`customer_step`.
    chosen : bool array of shape (n, d)
        The rows' plans, as :func:`customer_step` returns them.

    Returns
    -------
    float array of shape (n, d)
        Each candidate's threshold, ``>= 0``.

    Raises
    ------
    ValidationError
        As :func:`customer_step`, or ``chosen`` is not a bool array of ``r``'s
        shape.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[3.0, 1.0, 2.0]])
    >>> ch = customer_step(r, np.array([1]))
    >>> ch.tolist()
    [[True, False, False]]
    >>> entry_thresholds(r, ch, np.array([1])).tolist()
    [[2.0, 3.0, 3.0]]
    """
    return _entry_thresholds(*_entry_thresholds_iv(r, chosen, k, groups, group_max))


def _entry_thresholds(
    r: F64, chosen: _B, k: I64, groups: _I | None = None, group_max: int = 1
) -> F64:
    """:func:`entry_thresholds` without the checks (the solvers' hot path)."""
    n, d = r.shape
    inf = np.inf
    cnt_row = chosen.sum(axis=1)
    min_row = np.where(chosen, r, inf).min(axis=1) if d else np.full(n, inf)
    if groups is None or d <= 1:
        max_ns = np.where(chosen, -inf, r).max(axis=1) if d else np.full(n, -inf)
        t_out = np.where(cnt_row >= k, min_row, 0.0)[:, None]
        t_in = max_ns[:, None]
        t = np.where(chosen, t_in, t_out)
        return np.maximum(t, 0.0)
    order = np.lexsort((-r, groups), axis=-1)
    gs = np.take_along_axis(groups, order, axis=1)
    rs = np.take_along_axis(r, order, axis=1)
    cs = np.take_along_axis(chosen, order, axis=1)
    start = np.ones((n, d), dtype=bool)
    start[:, 1:] = gs[:, 1:] != gs[:, :-1]
    flat_start = start.ravel()
    starts = np.flatnonzero(flat_start)
    run_of = np.cumsum(flat_start) - 1
    cnt_run = np.add.reduceat(cs.ravel().astype(np.int64), starts)
    min_run = np.minimum.reduceat(np.where(cs, rs, inf).ravel(), starts)
    max_ns_run = np.maximum.reduceat(np.where(cs, -inf, rs).ravel(), starts)
    full_run = cnt_run >= group_max
    row_of_run = starts // d
    row_starts = np.flatnonzero(np.r_[True, row_of_run[1:] != row_of_run[:-1]])
    best_nonfull = np.maximum.reduceat(np.where(full_run, -inf, max_ns_run), row_starts)
    own = run_of.reshape(n, d)
    t_in = np.maximum(max_ns_run[own], best_nonfull[:, None])
    row_full = (cnt_row >= k)[:, None]
    t_out = np.where(full_run[own], min_run[own], np.where(row_full, min_row[:, None], 0.0))
    ts = np.where(cs, t_in, t_out)
    t = np.empty((n, d), dtype=np.float64)
    np.put_along_axis(t, order, ts, axis=1)
    return np.maximum(t, 0.0)


def _chosen_index(r2: F64, k: I64, groups: _I | None, gmax: int) -> I64:
    """Flat indices (within the block) of the customers' best plans.

    The per-customer step of every engine (one machine and each partition of a
    cluster): :func:`_customer_step`, with a fast path for one offer per customer
    and no groups.
    """
    n, d = r2.shape
    if groups is None and n and int(k.min()) == int(k.max()) == 1:
        j = np.argmax(r2, axis=1)
        flat = np.arange(n, dtype=np.int64) * d + j
        out: I64 = flat[r2.ravel()[flat] > 0.0]
        return out
    return np.flatnonzero(_customer_step(r2, k, groups, gmax))


def _room_in_group(
    row_chosen: I64, group_chosen: _I, row_pool: I64, group_pool: _I, group_max: int
) -> _B:
    """Whether each pool pair's (customer row, group) holds fewer than ``group_max`` chosen."""
    if not len(row_chosen):
        return np.ones(len(row_pool), dtype=bool)
    base = int(max(int(group_chosen.max()), int(group_pool.max()) if len(group_pool) else 0)) + 1
    keys, counts = np.unique(row_chosen.astype(np.int64) * base + group_chosen, return_counts=True)
    q = row_pool.astype(np.int64) * base + group_pool
    pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
    have = np.where(keys[pos] == q, counts[pos], 0)
    return np.asarray(have < group_max)
