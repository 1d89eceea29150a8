"""Per-partition kernels: plain functions of Arrow / numpy data, with no Dask in them.

Each kernel takes one partition (a ``pyarrow.Table`` holding whole customers: every
row of a customer is in the same partition) and returns Arrow data or a small
summary. They call the single-machine public API only, so a partition gives
exactly what the one-machine path gives on the same rows. Dask calls them through
:mod:`onetoone.distributed`; a Spark user calls them from ``mapInArrow`` /
``applyInArrow`` (see ``docs/scale.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I64, as_float, readonly
from onetoone._checks import is_int
from onetoone._optional import import_optional
from onetoone.allocation import customer_step
from onetoone.errors import ValidationError

__all__ = [
    "CandidateBlock",
    "StepSummary",
    "candidate_block",
    "dual_step",
    "profile_partition",
    "score_partition",
]

_B = npt.NDArray[np.bool_]
_EPS = float(np.finfo(np.float64).eps)
#: Schema metadata key of :func:`profile_partition`'s ingestion counts.
INGESTION_KEY = b"onetoone.ingestion"


def _pa() -> Any:
    return import_optional("pyarrow", purpose="onetoone.distributed")


def _require_columns(table: Any, names: Sequence[str], func: str) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ValidationError(
            f"{func}: column(s) {missing} missing from the partition (it has "
            f"{table.column_names}); pass the right column names",
            field="table",
        )


# ------------------------------------------------------------------------- profiles
def profile_partition(
    table: Any,
    *,
    as_of: Any,
    since: Any = None,
    customer: str = "customer",
    ingest: Mapping[str, Any] | None = None,
) -> Any:
    """Profiles of the customers of one partition, as an Arrow table.

    The partition must hold every row of each of its customers (hash-partitioned
    by customer). It runs ``Transactions.from_arrow`` then ``build_profiles``, so
    each row equals the one-machine profile of that customer.

    Parameters
    ----------
    table : pyarrow.Table
        One partition of the transaction log.
    as_of, since : time
        As in :func:`onetoone.build_profiles`.
    customer : str
        Name of the customer id column.
    ingest : mapping, optional
        Further keyword arguments of :meth:`onetoone.Transactions.from_arrow`
        (``item=``, ``timestamp=``, ``value=``, ``basket=``, policies ...).

    Returns
    -------
    pyarrow.Table
        One row per customer: ``customer``, ``has_history``, the features of
        :data:`onetoone.profiles.FEATURES`, ``first_purchase``, ``last_purchase``.
        The schema metadata key ``onetoone.ingestion`` holds the partition's
        ingestion counts as JSON (``n_input``, ``n_kept``, ``dropped``).

    Raises
    ------
    ValidationError
        A column is missing, or ingestion refuses a row (see ``from_arrow``).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer": [1, 1, 2], "item": [5, 6, 5],
    ...               "timestamp": ["2024-01-01", "2024-01-03", "2024-01-02"],
    ...               "value": [2.0, 3.0, 4.0]})
    >>> out = profile_partition(t, as_of="2024-01-10")
    >>> out.column("customer").to_pylist(), out.column("monetary").to_pylist()
    ([1, 2], [5.0, 4.0])
    """
    from onetoone.data import Transactions
    from onetoone.profiles import build_profiles

    pa = _pa()
    table = _as_table(table, "profile_partition")
    _require_columns(table, [customer], "profile_partition")
    opts = dict(ingest or {})
    tx = Transactions.from_arrow(table, customer=customer, **opts)
    prof = build_profiles(tx, as_of=as_of, since=since)
    cols = prof.to_dict()
    out = pa.table({name: pa.array(np.asarray(col)) for name, col in cols.items()})
    rep = tx.report
    meta = {
        "n_input": int(rep.n_input),
        "n_kept": int(rep.n_kept),
        "dropped": {str(k): int(v) for k, v in rep.dropped.items()},
    }
    return out.replace_schema_metadata({INGESTION_KEY: json.dumps(meta).encode()})


def _as_table(table: Any, func: str) -> Any:
    pa = _pa()
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if hasattr(table, "columns") and hasattr(table, "dtypes"):  # a pandas partition
        return pa.Table.from_pandas(table, preserve_index=False)
    raise ValidationError(
        f"{func}: expected a pyarrow Table or RecordBatch (or a pandas DataFrame), got "
        f"{type(table).__name__}",
        field="table",
    )


# -------------------------------------------------------------------------- scoring
def score_partition(
    table: Any,
    model: Any,
    offers: Any,
    *,
    customer: str = "customer",
    top_k: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """Offer scores of the distinct customers of one partition, in long form.

    Calls :func:`onetoone.affinity.score_offers` on the partition's customer ids,
    so every score equals the one-machine score of the same pair.

    Parameters
    ----------
    table : pyarrow.Table
        Holds a customer id column (other columns are ignored; a customer may
        appear on several rows).
    model : AffinityModel
        The fitted model (broadcast once to every worker by the Dask adapter).
    offers : Offers
    customer : str
        Name of the customer id column.
    top_k : int, optional
        Keep each customer's ``top_k`` best offers (default: every offer).
    options : mapping, optional
        Further keyword arguments of ``score_offers`` (``aggregate=``,
        ``exclude_recent_days=``, ``unknown_customers=`` ...).

    Returns
    -------
    pyarrow.Table
        Columns ``customer`` (id), ``offer`` (id) and ``score`` (float64), one row
        per scored pair, by customer then offer code; excluded pairs (score
        ``-inf``) are not listed.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from onetoone import Offers, Transactions, fit_affinity
    >>> tx = Transactions.from_arrays(customer=[1, 1, 2], item=[10, 11, 10],
    ...     timestamp=["2024-01-01", "2024-01-02", "2024-01-03"], value=[1.0, 2.0, 3.0])
    >>> model = fit_affinity(tx, method="popularity")
    >>> offers = Offers.from_pairs(["a", "b"], [10, 11], items=tx.items)
    >>> out = score_partition(pa.table({"customer": [2, 1, 2]}), model, offers)
    >>> out.column("customer").to_pylist(), out.column("offer").to_pylist()
    ([1, 1, 2, 2], ['a', 'b', 'a', 'b'])
    """
    from onetoone.affinity import score_offers

    pa = _pa()
    pc = import_optional("pyarrow.compute", purpose="onetoone.distributed")
    table = _as_table(table, "score_partition")
    _require_columns(table, [customer], "score_partition")
    ids = pc.unique(table.column(customer)).to_numpy(zero_copy_only=False)
    s = score_offers(model, ids, offers, top_k=top_k, **dict(options or {}))
    cust = s.customers.values
    off = s.offers.values
    if s.dense is not None:
        n, m = s.dense.shape
        row = np.repeat(np.arange(n), m)
        col = np.tile(np.arange(m), n)
        score = s.dense.ravel()
    else:
        assert s.top_index is not None and s.top_score is not None
        n, kk = s.top_index.shape
        row = np.repeat(np.arange(n), kk)
        col = s.top_index.ravel().astype(np.int64)
        score = s.top_score.ravel()
        ok = col >= 0
        row, col, score = row[ok], col[ok], score[ok]
        order = np.lexsort((col, row))
        row, col, score = row[order], col[order], score[order]
    keep = np.isfinite(score)
    return pa.table(
        {
            "customer": pa.array(cust[row[keep]]),
            "offer": pa.array(off[col[keep]]),
            "score": pa.array(np.asarray(score[keep], dtype=np.float64)),
        }
    )


# ------------------------------------------------------------------------ allocation
@attrs.frozen(eq=False)
class CandidateBlock:
    """One partition's candidate pairs, laid out for the per-customer step.

    Build it with :func:`candidate_block`. Candidates are grouped by customer and
    the customers by number of candidates ``d``, so each group is a dense
    ``(n, d)`` block handed to :func:`onetoone.allocation.customer_step`.

    Attributes
    ----------
    customer_ids : array
        External id of each candidate's customer (block order).
    offer : int64 array
        Offer code of each candidate.
    value : float64 array
    usage : float64 array of shape (n_budgets, n_candidates)
        Each candidate's usage of each budget.
    cap_usage : float64 array
        Each candidate's use of its offer's cap.
    k : int64 array
        Most offers of each row (customer) of the block order.
    chunks : tuple of (row0, row1, c0, c1, d)
        Dense blocks: rows ``row0:row1`` own candidates ``c0:c1``, ``d`` each.
    n_offers : int
    n_ineligible : int
        Input pairs left out: value ``<= 0`` (never worth choosing) or a usage
        that alone exceeds a finite budget limit or the offer's cap (in no
        feasible plan). Counted, not silent.
    max_ratio : float64 array of shape (n_budgets,)
        Largest ``value / usage`` over candidates using each budget (the price
        above which no such candidate is chosen).
    max_cap_ratio : float64 array of shape (n_offers,)
        Largest ``value / cap_usage`` per offer.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer": [7, 7, 8], "offer": [0, 1, 1],
    ...               "value": [3.0, 2.0, 1.0], "cost": [1.0, 1.0, 1.0]})
    >>> b = candidate_block(t, n_offers=2, budgets=[("total", 10.0, "cost", None)])
    >>> b.n_candidates, [c[4] for c in b.chunks]
    (3, [1, 2])
    """

    customer_ids: npt.NDArray[Any] = attrs.field(converter=readonly)
    offer: I64 = attrs.field(converter=readonly)
    value: F64 = attrs.field(converter=readonly)
    usage: F64 = attrs.field(converter=readonly)
    cap_usage: F64 = attrs.field(converter=readonly)
    k: I64 = attrs.field(converter=readonly)
    chunks: tuple[tuple[int, int, int, int, int], ...]
    n_offers: int
    n_ineligible: int
    max_ratio: F64 = attrs.field(converter=readonly)
    max_cap_ratio: F64 = attrs.field(converter=readonly)

    @property
    def n_candidates(self) -> int:
        """Number of candidate pairs kept."""
        return len(self.value)

    def nbytes(self) -> int:
        """Bytes held by the block's arrays."""
        return int(
            sum(a.nbytes for a in (self.offer, self.value, self.usage, self.cap_usage, self.k))
            + self.customer_ids.nbytes
        )


#: A budget as the kernels see it: (name, limit, usage column, offer codes or None).
BudgetSpec = tuple[str, float, str, Sequence[int] | None]


def candidate_block(
    table: Any,
    *,
    n_offers: int,
    budgets: Sequence[BudgetSpec] = (),
    customer: str = "customer",
    offer: str = "offer",
    value: str = "value",
    k: int = 1,
    cap: npt.ArrayLike | None = None,
    cap_usage: str | None = None,
) -> CandidateBlock:
    """Lay out one partition's candidate pairs for :func:`dual_step`.

    Parameters
    ----------
    table : pyarrow.Table
        One row per (customer, offer) candidate; every candidate of a customer in
        this partition.
    n_offers : int
        Size of the offer code space; ``offer`` holds codes in ``[0, n_offers)``.
    budgets : sequence of (name, limit, usage column, offer codes or None)
        Each budget's per-pair usage column (e.g. ``"cost"``) and the offers it
        applies to (``None``: all).
    customer, offer, value : str
        Column names.
    k : int
        Most offers per customer.
    cap : array of shape (n_offers,), optional
        Per-offer cap (``inf``: none).
    cap_usage : str, optional
        Column of each pair's use of its offer's cap (default: 1 per pair).

    Returns
    -------
    CandidateBlock

    Raises
    ------
    ValidationError
        A missing column, offer codes out of range, a pair listed twice,
        non-finite values or negative usages; the message names the column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer": ["a", "a"], "offer": [0, 1], "value": [3.0, -1.0],
    ...               "cost": [1.0, 1.0]})
    >>> candidate_block(t, n_offers=2, budgets=[("total", 5.0, "cost", None)]).n_ineligible
    1
    """
    table = _as_table(table, "candidate_block")
    if not is_int(n_offers) or n_offers < 1:
        raise ValidationError(
            f"candidate_block: n_offers must be an int >= 1, got {n_offers!r}", field="n_offers"
        )
    if not is_int(k) or k < 0:
        raise ValidationError(f"candidate_block: k must be an int >= 0, got {k!r}", field="k")
    need = [customer, offer, value, *[b[2] for b in budgets]]
    if cap_usage is not None:
        need.append(cap_usage)
    _require_columns(table, list(dict.fromkeys(need)), "candidate_block")
    off = np.asarray(table.column(offer).to_numpy(zero_copy_only=False))
    if off.dtype.kind not in "iu" or (len(off) and (off.min() < 0 or off.max() >= n_offers)):
        raise ValidationError(
            f"candidate_block: column {offer!r} must hold int offer codes in [0, {n_offers})",
            field=offer,
        )
    off = off.astype(np.int64)
    val = _float_column(table, value, allow_negative=True)
    nb = len(budgets)
    use = np.zeros((nb, len(val)))
    limits = np.array([float(b[1]) for b in budgets])
    for i, (_name, _lim, col, offers_of) in enumerate(budgets):
        u = _float_column(table, col, allow_negative=False)
        if offers_of is not None:
            u = np.where(np.isin(off, np.asarray(list(offers_of), dtype=np.int64)), u, 0.0)
        use[i] = u
    w = np.ones(len(val)) if cap_usage is None else _float_column(table, cap_usage, False)
    caps = np.full(n_offers, np.inf) if cap is None else np.asarray(cap, dtype=np.float64)
    if caps.shape != (n_offers,):
        raise ValidationError(
            f"candidate_block: cap must have one entry per offer ({n_offers})", field="cap"
        )
    # customer codes inside the partition (Arrow's hash dictionary: linear time)
    pc = import_optional("pyarrow.compute", purpose="onetoone.distributed")
    enc = pc.dictionary_encode(table.column(customer)).combine_chunks()
    uniq = enc.dictionary.to_numpy(zero_copy_only=False)
    code = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(code) > 1:  # a pair listed twice, eligible or not: adjacent once sorted
        pair_order = np.lexsort((off, code))
        c_s, o_s = code[pair_order], off[pair_order]
        if bool(np.any((c_s[1:] == c_s[:-1]) & (o_s[1:] == o_s[:-1]))):
            raise ValidationError(
                "candidate_block: a (customer, offer) pair is listed twice; list each pair once",
                field=offer,
            )
    fits = (val > 0) & (w <= caps[off])
    for i in range(nb):
        fits &= use[i] <= limits[i]
    n_inel = int((~fits).sum())
    code, off, val, use, w = code[fits], off[fits], val[fits], use[:, fits], w[fits]
    # group by customer, customers by degree
    deg = np.bincount(code, minlength=len(uniq))
    order = np.lexsort((off, code, deg[code]))
    code, off, val, use, w = code[order], off[order], val[order], use[:, order], w[order]
    rows_c = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else np.empty(0, int)
    row_cust = code[rows_c]
    row_deg = deg[row_cust]
    chunks: list[tuple[int, int, int, int, int]] = []
    if len(row_deg):
        starts = np.flatnonzero(np.r_[True, row_deg[1:] != row_deg[:-1]])
        ends = np.r_[starts[1:], len(row_deg)]
        for r0, r1 in zip(starts.tolist(), ends.tolist(), strict=True):
            d = int(row_deg[r0])
            c0 = int(rows_c[r0])
            chunks.append((r0, r1, c0, c0 + (r1 - r0) * d, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        max_ratio = np.array(
            [float(np.max(val / use[i], where=use[i] > 0, initial=0.0)) for i in range(nb)]
        )
        ratio_c = np.where(w > 0, val / np.where(w > 0, w, 1.0), 0.0)
    max_cap = np.zeros(n_offers)
    np.maximum.at(max_cap, off, ratio_c)
    return CandidateBlock(
        customer_ids=np.asarray(uniq)[row_cust] if len(row_cust) else np.asarray(uniq)[:0],
        offer=off,
        value=val,
        usage=use,
        cap_usage=w,
        k=np.full(len(row_cust), k, dtype=np.int64),
        chunks=tuple(chunks),
        n_offers=int(n_offers),
        n_ineligible=n_inel,
        max_ratio=max_ratio,
        max_cap_ratio=max_cap,
    )


def _float_column(table: Any, name: str, allow_negative: bool) -> F64:
    a = table.column(name).to_numpy(zero_copy_only=False)
    if np.asarray(a).dtype.kind not in "iuf":
        raise ValidationError(
            f"candidate_block: column {name!r} must be numeric, got {np.asarray(a).dtype}",
            field=name,
        )
    a = np.asarray(a, dtype=np.float64)
    if not bool(np.isfinite(a).all()):
        raise ValidationError(
            f"candidate_block: column {name!r} holds NaN or inf; pass finite numbers",
            field=name,
        )
    if not allow_negative and bool((a < 0).any()):
        raise ValidationError(f"candidate_block: column {name!r} must be >= 0", field=name)
    return a


@attrs.frozen(eq=False)
class StepSummary:
    """What one partition sends back per dual iteration: a few numbers per budget/offer.

    Attributes
    ----------
    lagr : float
        Sum over the partition's customers of their best plan's reduced value
        (correctly rounded, ``math.fsum``).
    magnitude : float
        Sum of the magnitudes entering ``lagr`` (for the rounding margin of the bound).
    spend : float64 array of shape (n_budgets,)
        Usage of each budget by the customers' plans (``math.fsum`` per budget).
    use : float64 array of shape (n_offers,)
        Cap usage of each offer by the plans.
    value : float
        Value of the plans (``math.fsum``).
    chosen : bool array or None
        The chosen candidates (block order), when asked for.

    Examples
    --------
    >>> s = StepSummary(1.0, 1.0, np.array([2.0]), np.array([1.0, 0.0]), 3.0)
    >>> s.nbytes()
    48
    """

    lagr: float
    magnitude: float
    spend: F64
    use: F64
    value: float
    chosen: _B | None = None

    def nbytes(self) -> int:
        """Bytes of the reduced figures (what travels to the scheduler per iteration)."""
        return 8 * (3 + len(self.spend) + len(self.use))


def _fsum(a: F64) -> float:
    return math.fsum(a.tolist())


def _float_sum(a: F64) -> float:
    return float(a.sum())


def dual_step(
    block: CandidateBlock, lam: npt.ArrayLike, mu: npt.ArrayLike, *, want_chosen: bool = False
) -> StepSummary:
    """Every customer's best plan at budget prices ``lam`` and cap prices ``mu``.

    The reduced value of a pair is ``value - lam . usage - mu[offer] * cap_usage``;
    each customer takes its top-``k`` positive reduced values
    (:func:`onetoone.allocation.customer_step` on each dense block). Only the
    partition's sums travel back: the Lagrangian term, the spend of each budget
    and the cap usage of each offer.

    Parameters
    ----------
    block : CandidateBlock
    lam : float array of shape (n_budgets,)
        Budget prices, ``>= 0``.
    mu : float array of shape (n_offers,)
        Cap prices, ``>= 0``.
    want_chosen : bool
        Also return the chosen mask (the primal plan at these prices).

    Returns
    -------
    StepSummary

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer": [7, 7, 8], "offer": [0, 1, 1],
    ...               "value": [3.0, 2.0, 1.0], "cost": [1.0, 1.0, 1.0]})
    >>> b = candidate_block(t, n_offers=2, budgets=[("total", 10.0, "cost", None)])
    >>> s = dual_step(b, [1.5], [0.0, 0.0])
    >>> s.lagr, s.spend.tolist(), s.use.tolist()
    (1.5, [1.0], [1.0, 0.0])
    """
    if not isinstance(block, CandidateBlock):
        raise ValidationError(
            f"dual_step: block must be a CandidateBlock (from candidate_block), got "
            f"{type(block).__name__}",
            field="block",
        )
    lam_a = as_float(lam, "lam") if np.ndim(lam) else np.asarray(lam, dtype=np.float64)
    mu_a = as_float(mu, "mu") if np.ndim(mu) else np.asarray(mu, dtype=np.float64)
    for name, a in (("lam", lam_a), ("mu", mu_a)):  # duals: finite and >= 0
        if not bool(np.all(np.isfinite(a) & (a >= 0))):
            raise ValidationError(
                f"dual_step: {name} must hold finite prices >= 0 (the duals), got {a.tolist()}",
                field=name,
            )
    nb = block.usage.shape[0]
    if lam_a.shape != (nb,) or mu_a.shape != (block.n_offers,):
        raise ValidationError(
            f"dual_step: lam must have shape ({nb},) and mu ({block.n_offers},), got "
            f"{lam_a.shape} and {mu_a.shape}",
            field="lam",
        )
    r = block.value.copy()
    for b in range(nb):
        if lam_a[b] != 0.0:
            r -= lam_a[b] * block.usage[b]
    priced_caps = bool(np.any(mu_a != 0.0))
    if priced_caps:
        r -= mu_a[block.offer] * block.cap_usage
    chosen = np.zeros(len(r), dtype=bool)
    for r0, r1, c0, c1, d in block.chunks:
        ch = customer_step(r[c0:c1].reshape(r1 - r0, d), block.k[r0:r1])
        chosen[c0:c1] = ch.ravel()
    sel = np.flatnonzero(chosen)
    # iterations use numpy sums (the bound's margin covers their rounding); the
    # final plan (want_chosen) is summed exactly, as the one-machine report is
    total = _fsum if want_chosen else _float_sum
    lagr = total(r[sel])
    mag = float(np.abs(block.value[sel]).sum() + np.abs(r[sel]).sum())
    for b in range(nb):
        if lam_a[b] != 0.0:
            mag += float(lam_a[b] * block.usage[b][sel].sum())
    if priced_caps:
        mag += float((mu_a[block.offer[sel]] * block.cap_usage[sel]).sum())
    spend = np.array([total(block.usage[b][sel]) for b in range(nb)], dtype=np.float64)
    use = np.bincount(block.offer[sel], weights=block.cap_usage[sel], minlength=block.n_offers)
    return StepSummary(
        lagr=lagr,
        magnitude=mag,
        spend=spend,
        use=use.astype(np.float64),
        value=total(block.value[sel]),
        chosen=chosen if want_chosen else None,
    )
