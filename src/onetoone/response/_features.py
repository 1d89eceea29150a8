"""Offer features: what a (customer, offer) pair looked like at a point in time.

:func:`offer_features` reads only the rows strictly before ``as_of`` and returns
one row of features per (customer, offer) pair, computed in customer blocks:
sums are sparse products of the customer x item matrices with the offer x item
incidence, maxima a gather over the offer-item pairs reduced with
``np.maximum.reduceat``. No Python loop runs over customers, offers or rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import SECONDS_PER_DAY, TimeLike, as_id_column, readonly, to_datetime64
from onetoone._checks import check_int, check_real, check_same_length
from onetoone._deprecation import policy_value
from onetoone.affinity import AffinityModel, score_offers
from onetoone.data import (
    Catalogue,
    IdIndex,
    Transactions,
    UnknownPolicy,
    check_transactions,
    customer_item_matrix,
)
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.offers import Offers
from onetoone.profiles import build_profiles

__all__ = ["FEATURES", "OfferFeatures", "offer_features"]

_F64 = npt.NDArray[np.float64]
_I32 = npt.NDArray[np.int32]
_I64 = npt.NDArray[np.int64]

#: Every feature :func:`offer_features` can compute, in column order. A result
#: holds the first eight always, ``affinity`` with ``model=``, ``category_share``
#: with ``catalogue=`` and the last three with ``redemptions=``.
FEATURES: tuple[str, ...] = (
    "count_sum",
    "count_max",
    "count_recency",
    "breadth",
    "days_since",
    "popularity",
    "size",
    "discount_share",
    "affinity",
    "category_share",
    "offer_redemption_rate",
    "customer_redemptions",
    "redeemed_before",
)

_POLICIES = ("raise", "drop", "keep")
_BLOCK_CELLS = 1 << 22  # cells of one block's largest temporary array (32 MiB of float64)


def _f64_matrix(a: Any) -> _F64:
    out: _F64 = readonly(np.asarray(a, dtype=np.float64))
    return out


def _names(v: Any) -> tuple[str, ...]:
    return tuple(v)


@attrs.frozen(eq=False)
class OfferFeatures:
    """Features of every (customer, offer) pair at a point in time (see :func:`offer_features`).

    Attributes
    ----------
    customers : IdIndex
        The customers, in the order of their codes (sorted ids).
    offers : IdIndex
        The offers (the :attr:`Offers.ids <onetoone.offers.Offers.ids>` scored).
    names : tuple of str
        Feature names, the columns of :attr:`values` (a subsequence of :data:`FEATURES`).
    values : float64 array
        ``(n_customers * n_offers, len(names))``, read-only. Rows are
        customer-major: row ``r * n_offers + k`` is customer code ``r`` with offer
        code ``k`` (:meth:`pair_codes` gives both per row), so
        ``values.reshape(n_customers, n_offers, -1)`` is the 3-D view.
    as_of : numpy.datetime64
        Only rows (and redemptions) strictly before this time were read.
    n_unknown_customers : int
        Requested customers not in the log (left out under ``unknown="drop"``,
        kept as customers who bought nothing under ``"keep"``).
    elapsed_s : float
        Wall time of the computation.

    Examples
    --------
    >>> from onetoone.data import IdIndex
    >>> f = OfferFeatures(customers=IdIndex.from_values([1, 2]),
    ...                   offers=IdIndex.from_values(["a"]), names=("count_sum",),
    ...                   values=np.array([[3.0], [0.0]]), as_of=np.datetime64("2024-02-01"))
    >>> f.to_dict()["count_sum"].tolist()
    [[3.0], [0.0]]
    >>> [c.tolist() for c in f.pair_codes()]
    [[0, 1], [0, 0]]
    """

    customers: IdIndex
    offers: IdIndex
    names: tuple[str, ...] = attrs.field(converter=_names)
    values: _F64 = attrs.field(converter=_f64_matrix, repr=False)
    as_of: np.datetime64
    n_unknown_customers: int = 0
    elapsed_s: float = 0.0

    def __attrs_post_init__(self) -> None:
        for field in ("customers", "offers"):
            if not isinstance(getattr(self, field), IdIndex):
                raise ValidationError(
                    f"{field} must be an IdIndex, got {type(getattr(self, field)).__name__}",
                    field=field,
                )
        unknown = [n for n in self.names if n not in FEATURES]
        if unknown or len(set(self.names)) != len(self.names):
            raise ValidationError(
                f"names must be distinct names of FEATURES, got {list(self.names)}",
                field="names",
            )
        shape = (len(self.customers) * len(self.offers), len(self.names))
        if self.values.shape != shape:
            raise ValidationError(
                f"values has shape {self.values.shape}, expected {shape} "
                "(n_customers * n_offers, n_features)",
                field="values",
            )

    @property
    def n_pairs(self) -> int:
        """Number of (customer, offer) pairs: rows of :attr:`values`."""
        return int(self.values.shape[0])

    def pair_codes(self) -> tuple[_I32, _I32]:
        """Customer code and offer code of every row of :attr:`values`.

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> f = OfferFeatures(customers=IdIndex.from_values([7]),
        ...                   offers=IdIndex.from_values(["a", "b"]), names=("size",),
        ...                   values=np.ones((2, 1)), as_of=np.datetime64("2024-01-01"))
        >>> [c.tolist() for c in f.pair_codes()]
        [[0, 0], [0, 1]]
        """
        n_o = len(self.offers)
        rows = np.arange(self.n_pairs, dtype=np.int64)
        return (rows // max(n_o, 1)).astype(np.int32), (rows % max(n_o, 1)).astype(np.int32)

    def matrix(self, names: Sequence[str] | None = None) -> _F64:
        """The ``(n_pairs, len(names))`` feature matrix (default: every column).

        Raises
        ------
        ValidationError
            A name that is not a column of this result.

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> f = OfferFeatures(customers=IdIndex.from_values([7]),
        ...                   offers=IdIndex.from_values(["a"]), names=("size", "breadth"),
        ...                   values=np.array([[2.0, 0.5]]), as_of=np.datetime64("2024-01-01"))
        >>> f.matrix(["breadth"]).tolist()
        [[0.5]]
        """
        if names is None:
            return self.values
        if isinstance(names, str):
            names = [names]
        missing = [n for n in names if n not in self.names]
        if missing:
            raise ValidationError(
                f"names: {missing} not among this result's features {list(self.names)}",
                field="names",
            )
        cols = [self.names.index(n) for n in names]
        out: _F64 = self.values[:, cols]
        return out

    def to_dict(self) -> dict[str, _F64]:
        """Each feature as a ``(n_customers, n_offers)`` array (read-only views).

        Examples
        --------
        >>> from onetoone.data import IdIndex
        >>> f = OfferFeatures(customers=IdIndex.from_values([7, 8]),
        ...                   offers=IdIndex.from_values(["a"]), names=("size",),
        ...                   values=np.array([[2.0], [2.0]]), as_of=np.datetime64("2024-01-01"))
        >>> f.to_dict()["size"].shape
        (2, 1)
        """
        cube = self.values.reshape(len(self.customers), len(self.offers), len(self.names))
        return {n: cube[:, :, j] for j, n in enumerate(self.names)}


# --------------------------------------------------------------------------- validation
@attrs.frozen
class _Args:
    customers: IdIndex
    codes: _I32  # log code per result customer, -1 unknown (kept)
    n_unknown: int
    as_of: np.datetime64
    half_life_days: float
    block_size: int | None
    redemptions: tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.datetime64]] | None


def _redemption_columns(
    redemptions: Any,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.datetime64]]:
    fix = (
        "pass (customer_ids, offer_ids, timestamps) of earlier redemptions, or an object with "
        "customer_ids, offer_ids and timestamp columns (e.g. measurement.Redemptions)"
    )
    if isinstance(redemptions, tuple):
        if len(redemptions) != 3:
            raise ValidationError(
                f"redemptions must have 3 columns, got a tuple of {len(redemptions)}; {fix}",
                field="redemptions",
            )
        cust, off, ts = redemptions
    elif all(hasattr(redemptions, a) for a in ("customer_ids", "offer_ids", "timestamp")):
        cust, off, ts = redemptions.customer_ids, redemptions.offer_ids, redemptions.timestamp
        if off is None:
            raise ValidationError(
                "redemptions has no offer_ids; the offer of each redemption is needed",
                field="redemptions",
            )
    else:
        raise ValidationError(
            f"redemptions must be a tuple or a Redemptions, got {type(redemptions).__name__}; "
            + fix,
            field="redemptions",
        )
    c = as_id_column(cust, "redemptions customer_ids")
    o = as_id_column(off, "redemptions offer_ids")
    t_raw = np.asarray(ts)
    if t_raw.ndim != 1 or t_raw.dtype.kind in "biufc":
        raise ValidationError(
            "redemptions timestamps must be a 1-D column of times (ISO strings or "
            f"datetime64), got dtype {t_raw.dtype} and shape {t_raw.shape}",
            field="redemptions",
        )
    try:
        t = t_raw.astype("datetime64[s]")
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            "redemptions timestamps do not parse as times; pass ISO strings or datetime64",
            field="redemptions",
        ) from exc
    if bool(np.isnat(t).any()):
        raise ValidationError(
            "redemptions timestamps hold NaT; pass real times", field="redemptions"
        )
    check_same_length(
        len(c),
        "redemptions customer_ids",
        {"redemptions offer_ids": o, "redemptions timestamps": t},
        per="redemption",
    )
    return c, o, t


def _customers(
    transactions: Transactions, customer_ids: Any, unknown: str
) -> tuple[IdIndex, _I32, int]:
    if customer_ids is None:
        idx = transactions.customers
        return idx, np.arange(len(idx), dtype=np.int32), 0
    idx = (
        customer_ids
        if isinstance(customer_ids, IdIndex)
        else IdIndex.from_values(customer_ids, name="customer_ids")
    )
    if len(idx) == 0:
        raise EmptyInputError(
            "customer_ids is empty; give at least one customer", field="customer_ids"
        )
    if idx.kind != transactions.customers.kind:
        raise ValidationError(
            f"customer_ids are {idx.kind}s but the log's customers are "
            f"{transactions.customers.kind}s; pass ids of the log's type",
            field="customer_ids",
        )
    codes = transactions.customers.encode(idx.values, unknown="keep", field="customer_ids")
    miss = codes < 0
    n_unknown = int(miss.sum())
    if n_unknown and unknown == "raise":
        raise UnknownIdError(
            f"customer_ids: {n_unknown} id(s) not in the log, e.g. "
            f"{idx.values[miss][:3].tolist()}; pass unknown='keep' to treat them as customers "
            "who bought nothing, or unknown='drop' to leave them out",
            field="customer_ids",
        )
    if n_unknown and unknown == "drop":
        if n_unknown == len(idx):
            raise EmptyInputError(
                f"customer_ids: all {n_unknown} id(s) are not in the log, so unknown='drop' "
                "leaves no one; pass unknown='keep' to treat them as customers who bought "
                "nothing",
                field="customer_ids",
            )
        idx, codes = IdIndex(idx.values[~miss]), codes[~miss]
    return idx, codes, n_unknown


def _offer_features_iv(
    transactions: Any,
    offers: Any,
    customer_ids: Any,
    as_of: Any,
    catalogue: Any,
    model: Any,
    redemptions: Any,
    half_life_days: Any,
    block_size: Any,
    unknown: Any,
) -> _Args:
    check_transactions(transactions)
    if not isinstance(offers, Offers):
        raise ValidationError(
            f"offers must be an Offers, got {type(offers).__name__}; build it with "
            "Offers.from_pairs or Offers.from_rules",
            field="offers",
        )
    if offers.items.kind != transactions.items.kind:
        raise ValidationError(
            f"offers cover items with {offers.items.kind} ids but the log's items are "
            f"{transactions.items.kind}s; build both with the same id type",
            field="offers",
        )
    as_of64 = to_datetime64(as_of, "as_of")
    if catalogue is not None:
        if not isinstance(catalogue, Catalogue):
            raise ValidationError(
                f"catalogue must be a Catalogue or None, got {type(catalogue).__name__}; build "
                "one with Catalogue.from_arrays or Catalogue.from_pandas",
                field="catalogue",
            )
        if catalogue.items.kind != transactions.items.kind:
            raise ValidationError(
                f"catalogue item ids are {catalogue.items.kind}s but the log's are "
                f"{transactions.items.kind}s; build both with the same id type",
                field="catalogue",
            )
    if model is not None:
        if not isinstance(model, AffinityModel):
            raise ValidationError(
                f"model must be an AffinityModel or None, got {type(model).__name__}; fit one "
                "with fit_affinity",
                field="model",
            )
        if model.as_of > as_of64:
            raise ValidationError(
                f"model was fitted on rows up to {model.as_of}, after as_of={as_of64}: its "
                "scores would leak the future; fit it with as_of at or before the features' "
                "as_of",
                field="model",
            )
        if model.customers.kind != transactions.customers.kind:
            raise ValidationError(
                f"model customers are {model.customers.kind}s but the log's are "
                f"{transactions.customers.kind}s; fit the model on this log",
                field="model",
            )
    hl = check_real(
        half_life_days,
        "half_life_days",
        0.0,
        low_inclusive=False,
        hint="; e.g. 90 for a three-month half-life",
    )
    bs = (
        None
        if block_size is None
        else check_int(
            block_size, "block_size", 1, hint=" (customers per block) or None for automatic"
        )
    )
    policy = policy_value(unknown, "unknown", _POLICIES, func="offer_features")
    red = None if redemptions is None else _redemption_columns(redemptions)
    idx, codes, n_unknown = _customers(transactions, customer_ids, policy)
    if red is not None:  # ids of the wrong type raise here, naming the column
        idx.encode(red[0], unknown="keep", field="redemptions customer_ids")
        offers.ids.encode(red[1], unknown="keep", field="redemptions offer_ids")
    return _Args(idx, codes, n_unknown, as_of64, hl, bs, red)


# --------------------------------------------------------------------------- algorithm
def offer_features(
    transactions: Transactions,
    offers: Offers,
    customer_ids: Any = None,
    *,
    as_of: TimeLike,
    catalogue: Catalogue | None = None,
    model: AffinityModel | None = None,
    redemptions: Any = None,
    half_life_days: float = 90.0,
    block_size: int | None = None,
    unknown: UnknownPolicy = "raise",
) -> OfferFeatures:
    """Features of every (customer, offer) pair from the rows strictly before ``as_of``.

    Parameters
    ----------
    transactions : Transactions
        The log. Only rows with ``timestamp < as_of`` are read.
    offers : Offers
        The offers; their items are matched to the log's by id (an item never
        sold before ``as_of`` counts in ``size`` and is never bought).
    customer_ids : array-like of ids, IdIndex or None
        Customers to describe (None: every customer of the log). Result rows
        follow the sorted distinct ids.
    as_of : time
        The decision time.
    catalogue : Catalogue, optional
        Adds ``category_share``.
    model : AffinityModel, optional
        Adds ``affinity``, the model's :func:`~onetoone.affinity.score_offers`
        score (offer items unknown to the model dropped, customers unknown to it
        scored cold). It must be fitted with ``as_of`` at or before this one.
    redemptions : (customer_ids, offer_ids, timestamps) or Redemptions, optional
        Redemptions of earlier campaigns (or an object with ``customer_ids``,
        ``offer_ids`` and ``timestamp`` columns, e.g.
        ``onetoone.measurement.Redemptions``); only those strictly before
        ``as_of`` are read. Adds ``offer_redemption_rate``,
        ``customer_redemptions`` and ``redeemed_before``.
    half_life_days : float
        Half-life of ``count_recency``'s weights (> 0; default 90, as
        :func:`~onetoone.affinity.fit_affinity`).
    block_size : int, optional
        Customers per block (default: chosen so one block's largest temporary
        array holds about 4 million cells). The result does not depend on it.
    unknown : {"raise", "drop", "keep"}
        Requested customers not in the log: raise
        :class:`~onetoone.errors.UnknownIdError` (default), leave them out, or
        keep them as customers who bought nothing. Counted in
        :attr:`OfferFeatures.n_unknown_customers`.

    Returns
    -------
    OfferFeatures
        ``values`` is ``(n_customers * n_offers, n_features)``, customer-major.

    Raises
    ------
    ValidationError
        A bad argument; the message names it.
    UnknownIdError
        A customer not in the log under ``unknown="raise"``.
    EmptyInputError
        No customer to describe, or no row before ``as_of``.

    Notes
    -----
    With ``L[c, i]`` the lines of customer ``c`` with item ``i`` before
    ``as_of``, ``I(o)`` the items of offer ``o`` and ``age`` a line's age in days:

    * ``count_sum`` = ``sum_{i in I(o)} L[c, i]`` (the repeat-sum of issue 14
      without its popularity tie-break); ``count_max`` = ``max_{i in I(o)} L[c, i]``;
    * ``count_recency`` = ``sum`` over the lines of ``c`` with an item of ``o`` of
      ``0.5 ** (age / half_life_days)``;
    * ``breadth`` = ``#{i in I(o): L[c, i] > 0} / |I(o)|``;
    * ``days_since`` = days from the last line of ``c`` with an item of ``o`` to
      ``as_of``; when ``c`` never bought one, the history's length (days from the
      log's first line to ``as_of``), the largest value a purchase can have;
    * ``popularity`` = share of the customers with a line before ``as_of`` who
      bought an item of ``o``; ``size`` = ``|I(o)|``;
    * ``discount_share`` = the customer's
      :attr:`Profiles.discount_share <onetoone.profiles.Profiles.discount_share>`
      (0 without history);
    * ``category_share`` = share of the customer's lines whose item's category is
      one of the categories of ``o``'s items (0 without history);
    * ``offer_redemption_rate`` = customers who redeemed ``o`` / customers who
      redeemed any offer (all before ``as_of``; 0 if none);
      ``customer_redemptions`` = distinct offers ``c`` redeemed;
      ``redeemed_before`` = 1 if ``c`` redeemed ``o``, else 0.

    Memory: the result is ``8 * n_customers * n_offers * n_features`` bytes; the
    work per block is ``O(block_size * (offer-item pairs + n_offers))``. For
    populations whose result does not fit, call it on chunks of
    ``customer_ids``: a pair's features do not depend on which other customers
    are requested.

    Examples
    --------
    >>> from onetoone.data import Transactions
    >>> from onetoone.offers import Offers
    >>> tx = Transactions.from_arrays(
    ...     customer=[1, 1, 1, 2], item=["x", "x", "y", "y"],
    ...     timestamp=["2024-01-01", "2024-01-21", "2024-01-11", "2024-01-31"],
    ...     value=[1.0] * 4)
    >>> offers = Offers.from_pairs(["o1", "o1", "o2"], ["x", "y", "z"])
    >>> f = offer_features(tx, offers, as_of="2024-01-31", half_life_days=10)
    >>> d = f.to_dict()
    >>> d["count_sum"].tolist(), d["count_max"].tolist()
    ([[3.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]])
    >>> d["count_recency"][0].tolist(), d["breadth"][0].tolist(), d["days_since"][0].tolist()
    ([0.875, 0.0], [1.0, 0.0], [10.0, 30.0])
    >>> d["popularity"].tolist()[0], d["size"].tolist()[0]
    ([1.0, 0.0], [2.0, 1.0])
    """
    t0 = time.perf_counter()
    args = _offer_features_iv(
        transactions,
        offers,
        customer_ids,
        as_of,
        catalogue,
        model,
        redemptions,
        half_life_days,
        block_size,
        unknown,
    )
    tx = transactions.between(end=args.as_of)
    if tx.n_rows == 0:
        raise EmptyInputError(
            f"transactions has no row before as_of={args.as_of}; pass a later as_of",
            field="transactions",
        )
    n_c, n_o = len(args.customers), offers.n_offers
    names: list[str] = list(FEATURES[:8])
    if model is not None:
        names.append("affinity")
    if catalogue is not None:
        names.append("category_share")
    if args.redemptions is not None:
        names += ["offer_redemption_rate", "customer_redemptions", "redeemed_before"]
    values = np.empty((n_c * n_o, len(names)))
    cube = values.reshape(n_c, n_o, len(names))
    col = {n: j for j, n in enumerate(names)}

    # offer x log-item incidence (items never in the log have no column)
    size = offers.sizes.astype(np.float64)
    inc = offers.incidence.tocoo()
    item_code = transactions.items.encode(offers.items.values, unknown="keep", field="offers")
    known = item_code[inc.col] >= 0
    n_items = tx.n_items
    a_off = sp.csr_array(
        (np.ones(int(known.sum())), (inc.row[known], item_code[inc.col[known]])),
        shape=(n_o, n_items),
    )
    a_off.sum_duplicates()
    a_t = a_off.T.tocsr()  # item x offer

    # customer x item matrices of the history; a zero row at n_customers for the unknown
    lines = customer_item_matrix(tx, weight="lines")
    age = (args.as_of.astype(np.int64) - tx.timestamp.astype(np.int64)) / SECONDS_PER_DAY
    t_first = tx.timestamp.min()
    history_days = float((args.as_of - t_first) / np.timedelta64(1, "D"))
    decay = sp.csr_array(
        (np.exp2(-age / args.half_life_days), (tx.customer, tx.item)),
        shape=(tx.n_customers, n_items),
    )
    decay.sum_duplicates()
    # last time per (customer, covered item) as "days after the first line + 1" (0: never)
    covered = np.unique(a_off.indices)
    col_of = np.full(n_items, -1, dtype=np.int64)
    col_of[covered] = np.arange(len(covered))
    on = col_of[tx.item] >= 0
    fresh = (history_days - age[on]) + 1.0
    key = tx.customer[on].astype(np.int64) * max(len(covered), 1) + col_of[tx.item[on]]
    uniq, inv = np.unique(key, return_inverse=True)
    last = np.zeros(len(uniq))
    np.maximum.at(last, inv, fresh)
    last_m = sp.csr_array(
        (last, (uniq // max(len(covered), 1), uniq % max(len(covered), 1))),
        shape=(tx.n_customers, len(covered)),
    )
    lines_cov = lines[:, covered]

    def pad(m: sp.csr_array) -> sp.csr_array:
        return sp.csr_array(sp.vstack([m, sp.csr_array((1, m.shape[1]))], format="csr"))

    lines_p, decay_p, last_p, lines_cov_p = pad(lines), pad(decay), pad(last_m), pad(lines_cov)
    rows = np.where(args.codes >= 0, args.codes, tx.n_customers).astype(np.int64)

    # gather plan: the offer-item pairs over the covered columns, offer by offer
    pair_col = np.searchsorted(covered, a_off.indices)
    starts = a_off.indptr[:-1]
    has_pairs = np.diff(a_off.indptr) > 0
    n_pairs = len(pair_col)

    # per-customer and per-offer features
    has_hist = np.diff(lines.indptr) > 0
    bought_any = np.zeros(n_o)
    binary = lines.copy()
    binary.data = np.ones_like(binary.data)
    width_all = max(n_o, 1)
    pop_bs = max(1, _BLOCK_CELLS // width_all)
    for lo in range(0, tx.n_customers, pop_bs):  # a loop over blocks, not customers
        prod = (binary[lo : lo + pop_bs] @ a_t).tocsr()
        bought_any += np.bincount(prod.indices[prod.data > 0], minlength=n_o)
    popularity = bought_any / max(int(has_hist.sum()), 1)
    profiles = build_profiles(transactions, as_of=args.as_of)
    disc = np.nan_to_num(np.asarray(profiles.discount_share), nan=0.0)
    disc_p = np.r_[disc, 0.0][rows]

    if model is not None:
        scores = score_offers(
            model,
            args.customers,
            offers,
            unknown_items="drop",
            unknown_customers="keep",
            respect_eligibility=False,
        )
        cube[:, :, col["affinity"]] = scores.to_dense()
    if catalogue is not None:
        cube[:, :, col["category_share"]] = _category_share(
            catalogue, transactions, offers, lines, rows, tx.n_customers
        )
    if args.redemptions is not None:
        _redemption_features(args, offers, cube, col)

    width = max(n_pairs + len(covered), 6 * n_o, 1)
    bs = args.block_size or max(1, _BLOCK_CELLS // width)
    for lo in range(0, n_c, bs):  # a loop over blocks of customers
        r = rows[lo : lo + bs]
        blk = cube[lo : lo + len(r)]
        blk[:, :, col["count_sum"]] = (lines_p[r] @ a_t).toarray()
        blk[:, :, col["count_recency"]] = (decay_p[r] @ a_t).toarray()
        bin_r = lines_p[r]
        bin_r.data = (bin_r.data > 0).astype(np.float64)
        blk[:, :, col["breadth"]] = (bin_r @ a_t).toarray() / size
        cnt = np.zeros((len(r), n_o))
        fr = np.zeros((len(r), n_o))
        if n_pairs:
            dense_cnt = lines_cov_p[r].toarray()[:, pair_col]
            dense_last = last_p[r].toarray()[:, pair_col]
            cnt[:, has_pairs] = np.maximum.reduceat(dense_cnt, starts[has_pairs], axis=1)
            fr[:, has_pairs] = np.maximum.reduceat(dense_last, starts[has_pairs], axis=1)
        blk[:, :, col["count_max"]] = cnt
        blk[:, :, col["days_since"]] = np.where(fr > 0, history_days - (fr - 1.0), history_days)
    cube[:, :, col["popularity"]] = popularity
    cube[:, :, col["size"]] = size
    cube[:, :, col["discount_share"]] = disc_p[:, None]
    return OfferFeatures(
        customers=args.customers,
        offers=offers.ids,
        names=tuple(names),
        values=values,
        as_of=args.as_of,
        n_unknown_customers=args.n_unknown,
        elapsed_s=time.perf_counter() - t0,
    )


def _category_share(
    catalogue: Catalogue,
    transactions: Transactions,
    offers: Offers,
    lines: sp.csr_array,
    rows: _I64,
    n_customers: int,
) -> _F64:
    """Share of each customer's lines in the categories of each offer's items."""
    n_cat = len(catalogue.categories)
    item_cat = catalogue.category_codes(transactions.items)
    ok = item_cat >= 0
    ic = sp.csr_array(
        (np.ones(int(ok.sum())), (np.flatnonzero(ok), item_cat[ok])),
        shape=(transactions.n_items, max(n_cat, 1)),
    )
    cust_cat = (lines @ ic).tocsr()  # customer x category lines
    off_item_cat = catalogue.category_codes(offers.items)
    inc = offers.incidence.tocoo()
    cats = off_item_cat[inc.col]
    good = cats >= 0
    oc = sp.csr_array(
        (np.ones(int(good.sum())), (cats[good], inc.row[good])),
        shape=(max(n_cat, 1), offers.n_offers),
    )
    oc.sum_duplicates()
    oc.data = np.ones_like(oc.data)  # an offer's categories, each once
    in_cats = (cust_cat @ oc).toarray()  # customer x offer lines in the offer's categories
    total = np.asarray(lines.sum(axis=1)).ravel()
    share = np.zeros_like(in_cats)
    np.divide(in_cats, total[:, None], out=share, where=total[:, None] > 0)
    share = np.vstack([share, np.zeros((1, offers.n_offers))])
    out: _F64 = share[np.minimum(rows, n_customers)]
    return out


def _redemption_features(args: _Args, offers: Offers, cube: _F64, col: dict[str, int]) -> None:
    """Offer redemption rate, customer redemptions and redeemed-before, before ``as_of``."""
    assert args.redemptions is not None
    cust, off, ts = args.redemptions
    before = ts < args.as_of
    cust, off = cust[before], off[before]
    n_c, n_o = len(args.customers), offers.n_offers
    rate = np.zeros(n_o)
    per_customer = np.zeros(n_c)
    done = np.zeros((n_c, n_o))
    if len(cust):
        c_idx, c_all = IdIndex.factorize(cust, name="redemptions customer_ids")
        o_idx, o_all = IdIndex.factorize(off, name="redemptions offer_ids")
        pair = np.unique(c_all.astype(np.int64) * len(o_idx) + o_all)
        pc, po = pair // len(o_idx), pair % len(o_idx)
        n_redeemers = len(np.unique(pc))
        # the offer codes of the redeemed ids; the result customer of each redeemer
        o_code = offers.ids.encode(o_idx.values, unknown="keep", field="redemptions offer_ids")
        c_code = args.customers.encode(
            c_idx.values, unknown="keep", field="redemptions customer_ids"
        )
        ko = o_code[po]
        rate = np.bincount(ko[ko >= 0], minlength=n_o) / n_redeemers
        kc = c_code[pc]
        per_customer = np.bincount(kc[kc >= 0], minlength=n_c).astype(np.float64)
        both = (kc >= 0) & (ko >= 0)
        done[kc[both], ko[both]] = 1.0
    cube[:, :, col["offer_redemption_rate"]] = rate
    cube[:, :, col["customer_redemptions"]] = per_customer[:, None]
    cube[:, :, col["redeemed_before"]] = done
