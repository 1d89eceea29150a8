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

from onetoone._arrays import F64, I64, readonly
from onetoone._checks import is_int, is_real
from onetoone._optional import import_optional
from onetoone.allocation._kernel import _chosen_index
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


def _options(opts: Any, name: str, func: str) -> dict[str, Any]:
    """Keyword options passed through: a mapping of str to values (or None)."""
    if opts is None:
        return {}
    if not isinstance(opts, Mapping) or not all(isinstance(k, str) for k in opts):
        raise ValidationError(
            f"{func}: {name} must be a mapping of keyword arguments (a dict with str keys) "
            f"or None, got {type(opts).__name__}",
            field=name,
        )
    return dict(opts)


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
    opts = _options(ingest, "ingest", "profile_partition")
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
    opts = _options(options, "options", "score_partition")
    s = score_offers(model, ids, offers, top_k=top_k, **opts)
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
#: Largest offer code space of the distributed allocation. Every dual evaluation
#: sends each partition one price per offer and gets one cap usage per offer back
#: (16 bytes per offer), so 2**24 offers are already 256 MiB per partition per
#: evaluation.
MAX_OFFERS = 2**24


def _group_converter(g: Any) -> npt.NDArray[np.int32] | None:
    return None if g is None else readonly(g)


@attrs.frozen(eq=False)
class CandidateBlock:
    """One partition's candidate pairs, laid out for the per-customer step.

    Build it with :func:`candidate_block`. Candidates are grouped by customer and
    the customers by number of candidates ``d``, so each group is a dense
    ``(n, d)`` block handed to the one-machine per-customer step
    (:func:`onetoone.allocation.customer_step`).

    Attributes
    ----------
    customer_ids : array
        External id of each row's customer (block order).
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
    group : int32 array of shape (n_offers,) or None
        Group of each offer: a customer receives at most ``group_max`` offers of
        one group.
    group_max : int

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
    group: npt.NDArray[np.int32] | None = attrs.field(default=None, converter=_group_converter)
    group_max: int = 1

    @property
    def n_candidates(self) -> int:
        """Number of candidate pairs kept."""
        return len(self.value)

    def nbytes(self) -> int:
        """Bytes held by the block's arrays."""
        arrays = (self.offer, self.value, self.usage, self.cap_usage, self.k, self.customer_ids)
        extra = 0 if self.group is None else self.group.nbytes
        return int(sum(a.nbytes for a in arrays) + extra)

    def groups(self, c0: int, c1: int) -> npt.NDArray[np.int32] | None:
        """Group of each candidate ``c0:c1`` (None without groups)."""
        return None if self.group is None else self.group[self.offer[c0:c1]]


#: A budget as the kernels see it: (name, limit, usage column, offer codes or None).
BudgetSpec = tuple[str, float, str, Sequence[int] | None]


def _bad(field: str, msg: str, func: str = "candidate_block") -> ValidationError:
    return ValidationError(f"{func}: {msg}", field=field)


def _n_offers_iv(n_offers: Any, func: str) -> int:
    if not is_int(n_offers) or not 1 <= n_offers <= MAX_OFFERS:
        raise ValidationError(
            f"{func}: n_offers must be an int from 1 to {MAX_OFFERS:,} (each dual evaluation "
            f"sends 16 bytes per offer to and from every partition), got {n_offers!r}; pass "
            "the number of distinct offers, coded 0 .. n_offers - 1 (onetoone.IdIndex)",
            field="n_offers",
        )
    return int(n_offers)


def _budget_specs_iv(
    budgets: Any, n_offers: int, func: str = "candidate_block"
) -> list[BudgetSpec]:
    if isinstance(budgets, (str, bytes)) or not isinstance(budgets, Sequence):
        raise _bad(
            "budgets",
            f"budgets must be a sequence of (name, limit, usage column, offer codes or None), "
            f"got {type(budgets).__name__}",
            func,
        )
    out: list[BudgetSpec] = []
    for spec in budgets:
        if not isinstance(spec, (tuple, list)) or len(spec) != 4:
            raise _bad(
                "budgets",
                f"each budget must be a 4-tuple (name, limit, usage column, offer codes or "
                f"None), e.g. ('total', 100.0, 'cost', None); got {spec!r}",
                func,
            )
        name, lim, col, offs = spec
        if not isinstance(name, str) or not isinstance(col, str):
            raise _bad(
                "budgets", f"budget {spec!r}: the name and the usage column must be str", func
            )
        if not is_real(lim) or math.isnan(lim) or lim < 0:
            raise _bad(
                "budgets",
                f"budget {name!r}: limit must be a number >= 0 (math.inf for none), got {lim!r}",
                func,
            )
        codes: list[int] | None = None
        if offs is not None:
            arr = np.asarray(offs)
            if arr.ndim != 1 or (len(arr) and arr.dtype.kind not in "iu"):
                raise _bad(
                    "budgets",
                    f"budget {name!r}: offers must be a 1-D list of int offer codes",
                    func,
                )
            if len(arr) and (int(arr.min()) < 0 or int(arr.max()) >= n_offers):
                raise _bad(
                    "budgets",
                    f"budget {name!r}: offer codes must lie in [0, {n_offers}), got "
                    f"[{int(arr.min())}, {int(arr.max())}]",
                    func,
                )
            codes = [int(o) for o in arr.tolist()]
        out.append((name, float(lim), col, codes))
    return out


def _caps_iv(cap: Any, n_offers: int, func: str = "candidate_block") -> F64:
    if cap is None:
        return np.full(n_offers, np.inf)
    arr = np.asarray(cap)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (n_offers,)):
        raise _bad(
            "cap",
            f"cap must be a number or one number per offer ({n_offers}), got "
            f"{arr.dtype} of shape {arr.shape}",
            func,
        )
    caps = np.full(n_offers, float(arr)) if arr.ndim == 0 else arr.astype(np.float64)
    if bool(np.isnan(caps).any()) or bool((caps < 0).any()):
        raise _bad("cap", "cap must be >= 0 per offer (inf for no cap), not NaN or negative", func)
    return caps


def _group_iv(
    group: Any, group_max: Any, n_offers: int, func: str = "candidate_block"
) -> npt.NDArray[np.int32] | None:
    if not is_int(group_max) or group_max < 1:
        raise _bad("group_max", f"group_max must be an int >= 1, got {group_max!r}", func)
    if group is None:
        return None
    g = np.asarray(group)
    if g.shape != (n_offers,) or g.dtype.kind not in "iu":
        raise _bad(
            "group",
            f"group must be an int array with one group per offer (length {n_offers}), got "
            f"{g.dtype} of shape {g.shape}",
            func,
        )
    if n_offers and (int(g.min()) < 0 or int(g.max()) >= 2**31):
        raise _bad("group", "group codes must lie in [0, 2**31); code the groups 0, 1, ...", func)
    return g.astype(np.int32)


def _k_iv(k: Any, n_offers: int, func: str = "candidate_block") -> int | str:
    if isinstance(k, str):
        return k
    if not is_int(k) or k < 0:
        raise _bad(
            "k",
            f"k must be an int >= 0 (offers per customer) or the name of a column holding "
            f"each customer's k, got {k!r}",
            func,
        )
    return min(int(k), n_offers)


def _k_column(table: Any, name: str, n_offers: int) -> I64:
    a = np.asarray(table.column(name).to_numpy(zero_copy_only=False))
    ok = a.dtype.kind in "iu" or (
        a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a)))
    )
    if not ok:
        raise _bad(
            name,
            f"column {name!r} (k, offers per customer) must hold whole numbers, got {a.dtype}"
            + (" with nulls or fractions" if a.dtype.kind == "f" else ""),
        )
    if len(a) and a.min() < 0:
        raise _bad(name, f"column {name!r} (k, offers per customer) must be >= 0")
    out: I64 = np.minimum(a, n_offers).astype(np.int64)
    return out


def candidate_block(
    table: Any,
    *,
    n_offers: int,
    budgets: Sequence[BudgetSpec] = (),
    customer: str = "customer",
    offer: str = "offer",
    value: str = "value",
    k: int | str = 1,
    group: npt.ArrayLike | None = None,
    group_max: int = 1,
    cap: float | npt.ArrayLike | None = None,
    cap_usage: str | None = None,
) -> CandidateBlock:
    """Lay out one partition's candidate pairs for :func:`dual_step`.

    Parameters
    ----------
    table : pyarrow.Table
        One row per (customer, offer) candidate; every candidate of a customer in
        this partition.
    n_offers : int
        Size of the offer code space; ``offer`` holds codes in ``[0, n_offers)``;
        at most ``2**24`` (each dual evaluation sends 16 bytes per offer to and
        from every partition).
    budgets : sequence of (name, limit, usage column, offer codes or None)
        Each budget's per-pair usage column (e.g. ``"cost"``) and the offers it
        applies to (``None``: all).
    customer, offer, value : str
        Column names.
    k : int or str
        Most offers per customer: one int for every customer, or the name of a
        column holding each customer's own ``k`` (the same on all its rows).
    group : int array of shape (n_offers,), optional
        Group of each offer (as :class:`onetoone.allocation.AllocationProblem`'s
        ``group``): a customer receives at most ``group_max`` offers of a group.
    group_max : int
    cap : float or array of shape (n_offers,), optional
        Per-offer cap (``inf``: none).
    cap_usage : str, optional
        Column of each pair's use of its offer's cap (default: 1 per pair).

    Returns
    -------
    CandidateBlock

    Raises
    ------
    ValidationError
        A missing column, offer codes out of range, a pair listed twice, a
        customer whose ``k`` differs between its rows, non-finite values,
        negative usages, or an argument of the wrong type or size (``n_offers``
        above ``2**24``, a malformed budget, ``cap`` or ``group`` not one
        entry per offer); the message names the column or argument.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer": ["a", "a"], "offer": [0, 1], "value": [3.0, -1.0],
    ...               "cost": [1.0, 1.0]})
    >>> candidate_block(t, n_offers=2, budgets=[("total", 5.0, "cost", None)]).n_ineligible
    1

    Each customer's own ``k`` from a column, and offer groups:

    >>> t = pa.table({"customer": ["a", "a", "a", "b"], "offer": [0, 1, 2, 2],
    ...               "value": [3.0, 2.0, 1.0, 4.0], "k": [2, 2, 2, 0]})
    >>> b = candidate_block(t, n_offers=3, k="k", group=[0, 0, 1])
    >>> b.k.tolist(), dual_step(b, [], [0.0, 0.0, 0.0]).value  # a: offers 0 and 2
    ([0, 2], 4.0)
    """
    table = _as_table(table, "candidate_block")
    n_offers = _n_offers_iv(n_offers, "candidate_block")
    specs = _budget_specs_iv(budgets, n_offers)
    k_arg = _k_iv(k, n_offers)
    grp = _group_iv(group, group_max, n_offers)
    caps = _caps_iv(cap, n_offers)
    if cap_usage is not None and not isinstance(cap_usage, str):
        raise _bad("cap_usage", f"cap_usage must be a column name or None, got {cap_usage!r}")
    need = [customer, offer, value, *[b[2] for b in specs]]
    if cap_usage is not None:
        need.append(cap_usage)
    if isinstance(k_arg, str):
        need.append(k_arg)
    _require_columns(table, list(dict.fromkeys(need)), "candidate_block")
    off = np.asarray(table.column(offer).to_numpy(zero_copy_only=False))
    if off.dtype.kind not in "iu" or (len(off) and (off.min() < 0 or off.max() >= n_offers)):
        raise ValidationError(
            f"candidate_block: column {offer!r} must hold int offer codes in [0, {n_offers})",
            field=offer,
        )
    off = off.astype(np.int64)
    val = _float_column(table, value, allow_negative=True)
    nb = len(specs)
    use = np.zeros((nb, len(val)))
    limits = np.array([b[1] for b in specs], dtype=np.float64)
    for i, (_name, _lim, col, offers_of) in enumerate(specs):
        u = _float_column(table, col, allow_negative=False)
        if offers_of is not None:
            u = np.where(np.isin(off, np.asarray(offers_of, dtype=np.int64)), u, 0.0)
        use[i] = u
    w = np.ones(len(val)) if cap_usage is None else _float_column(table, cap_usage, False)
    kcol = _k_column(table, k_arg, n_offers) if isinstance(k_arg, str) else None
    # customer codes inside the partition (Arrow's hash dictionary: linear time)
    pc = import_optional("pyarrow.compute", purpose="onetoone.distributed")
    enc = pc.dictionary_encode(table.column(customer)).combine_chunks()
    if enc.indices.null_count:
        raise _bad(customer, f"column {customer!r} holds nulls; every candidate needs a customer")
    uniq = enc.dictionary.to_numpy(zero_copy_only=False)
    code = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(code) > 1:  # a pair listed twice, eligible or not: adjacent once sorted
        pair_order = np.lexsort((off, code))
        c_s, o_s = code[pair_order], off[pair_order]
        same_c = c_s[1:] == c_s[:-1]
        if bool(np.any(same_c & (o_s[1:] == o_s[:-1]))):
            raise ValidationError(
                "candidate_block: a (customer, offer) pair is listed twice; list each pair once",
                field=offer,
            )
        if kcol is not None:
            k_s = kcol[pair_order]
            diff = np.flatnonzero(same_c & (k_s[1:] != k_s[:-1]))
            if len(diff):
                who = uniq[c_s[diff[0]]]
                who = who.item() if isinstance(who, np.generic) else who
                raise _bad(
                    k_arg,  # type: ignore[arg-type]
                    f"customer {who!r} has different k on its rows of column {k_arg!r}; "
                    "give each customer one k",
                )
    fits = (val > 0) & (w <= caps[off])
    for i in range(nb):
        fits &= use[i] <= limits[i]
    n_inel = int((~fits).sum())
    code, off, val, use, w = code[fits], off[fits], val[fits], use[:, fits], w[fits]
    if kcol is not None:
        kcol = kcol[fits]
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
    row_k = (
        np.full(len(row_cust), k_arg, dtype=np.int64)
        if kcol is None
        else kcol[order][rows_c].astype(np.int64)
    )
    return CandidateBlock(
        customer_ids=np.asarray(uniq)[row_cust] if len(row_cust) else np.asarray(uniq)[:0],
        offer=off,
        value=val,
        usage=use,
        cap_usage=w,
        k=row_k,
        chunks=tuple(chunks),
        n_offers=int(n_offers),
        n_ineligible=n_inel,
        max_ratio=max_ratio,
        max_cap_ratio=max_cap,
        group=grp,
        group_max=int(group_max),
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
            f"candidate_block: column {name!r} holds NaN or inf (or nulls); pass finite numbers",
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


def _prices_iv(block: CandidateBlock, lam: object, mu: object) -> tuple[F64, F64]:
    nb = block.usage.shape[0]
    out: list[F64] = []
    for name, x, n in (("lam", lam, nb), ("mu", mu, block.n_offers)):
        what = "one budget price per budget" if name == "lam" else "one cap price per offer"
        try:
            a = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"dual_step: {name} must be a 1-D array of numbers ({what}, {n}), got "
                f"{type(x).__name__}",
                field=name,
            ) from exc
        if a.shape != (n,):
            raise ValidationError(
                f"dual_step: {name} must have shape ({n},) ({what}), got {a.shape}", field=name
            )
        if not bool(np.all(np.isfinite(a) & (a >= 0))):  # duals: finite and >= 0
            raise ValidationError(
                f"dual_step: {name} must hold finite prices >= 0 (the duals), got {a.tolist()}",
                field=name,
            )
        out.append(a)
    return out[0], out[1]


def _reduced(block: CandidateBlock, lam: F64, mu: F64) -> F64:
    """``value - lam . usage - mu[offer] * cap_usage`` per candidate."""
    r = block.value.copy()
    for b in range(block.usage.shape[0]):
        if lam[b] != 0.0:
            r -= lam[b] * block.usage[b]
    if bool(np.any(mu != 0.0)):
        r -= mu[block.offer] * block.cap_usage
    return r


def _best_plans(block: CandidateBlock, r: F64) -> I64:
    """Indices of every customer's best plan at reduced values ``r`` (the one-machine step)."""
    parts = [np.empty(0, dtype=np.int64)]
    for r0, r1, c0, c1, d in block.chunks:
        g = block.groups(c0, c1)
        n = r1 - r0
        sel = _chosen_index(
            r[c0:c1].reshape(n, d),
            block.k[r0:r1],
            None if g is None else g.reshape(n, d),
            block.group_max,
        )
        parts.append(c0 + sel)
    return np.concatenate(parts)


def _summarise(
    block: CandidateBlock, lam: F64, mu: F64, r: F64, sel: I64, *, exact: bool
) -> StepSummary:
    """The partition's figures for the plans ``sel`` at prices (lam, mu)."""
    # iterations use numpy sums (the bound's margin covers their rounding); the
    # final plan (exact) is summed exactly, as the one-machine report is
    total = _fsum if exact else _float_sum
    nb = block.usage.shape[0]
    lagr = total(r[sel])
    mag = float(np.abs(block.value[sel]).sum() + np.abs(r[sel]).sum())
    for b in range(nb):
        if lam[b] != 0.0:
            mag += float(lam[b] * block.usage[b][sel].sum())
    if bool(np.any(mu != 0.0)):
        mag += float((mu[block.offer[sel]] * block.cap_usage[sel]).sum())
    spend = np.array([total(block.usage[b][sel]) for b in range(nb)], dtype=np.float64)
    use = np.bincount(block.offer[sel], weights=block.cap_usage[sel], minlength=block.n_offers)
    return StepSummary(
        lagr=lagr,
        magnitude=mag,
        spend=spend,
        use=use.astype(np.float64),
        value=total(block.value[sel]),
    )


def dual_step(
    block: CandidateBlock, lam: npt.ArrayLike, mu: npt.ArrayLike, *, want_chosen: bool = False
) -> StepSummary:
    """Every customer's best plan at budget prices ``lam`` and cap prices ``mu``.

    The reduced value of a pair is ``value - lam . usage - mu[offer] * cap_usage``;
    each customer takes its best plan: its positive reduced values in decreasing
    order, at most ``group_max`` per offer group, at most its ``k`` (the
    one-machine solver's per-customer step,
    :func:`onetoone.allocation.customer_step`, on each dense block). Only the
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

    Raises
    ------
    ValidationError
        ``block`` is not a :class:`CandidateBlock`, or ``lam`` / ``mu`` is not a
        1-D array of finite numbers ``>= 0`` of the right length.

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
    lam_a, mu_a = _prices_iv(block, lam, mu)
    r = _reduced(block, lam_a, mu_a)
    sel = _best_plans(block, r)
    out = _summarise(block, lam_a, mu_a, r, sel, exact=bool(want_chosen))
    if not want_chosen:
        return out
    chosen = np.zeros(block.n_candidates, dtype=bool)
    chosen[sel] = True
    return attrs.evolve(out, chosen=chosen)
