"""Point-in-time customer profiles: one row of behaviour per customer.

:func:`build_profiles` reads only the rows strictly before ``as_of`` (and on or
after ``since``, if given), so a profile never sees the future it is later used
to predict. Every feature is a vectorised reduction over the log's
(customer, basket, time) order: ``np.bincount`` and ``reduceat``, no Python
loop over customers or rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import SECONDS_PER_DAY, TimeLike, readonly, to_datetime64
from onetoone._checks import check_num_threads
from onetoone._deprecation import renamed_kwargs
from onetoone._optional import import_optional
from onetoone.data import (
    Catalogue,
    IdIndex,
    Transactions,
    _Pool,
    check_transactions,
    distinct_per_row_start,
    grouped_csr,
)
from onetoone.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FEATURES", "Profiles", "build_profiles"]

#: Names of the per-customer numeric features, in :meth:`Profiles.matrix` order.
FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_basket_value",
    "avg_basket_size",
    "avg_basket_lines",
    "ipi_mean_days",
    "ipi_std_days",
    "ipi_cv",
    "tenure_days",
    "discount_share",
    "promo_line_share",
    "distinct_items",
    "n_lines",
    "units",
)

_F64 = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class Profiles:
    """Per-customer features at a point in time, aligned to ``customers``.

    Row ``i`` of every array describes customer code ``i`` of :attr:`customers`
    (the transaction log's index), so profiles line up with every other stage.
    Customers with no purchase in the window have ``has_history == False``,
    zero counts and NaN for features that are undefined without a purchase
    (recency, tenure, averages); ``ipi_*`` are NaN below two baskets.

    Attributes
    ----------
    customers : IdIndex
    as_of : numpy.datetime64
        Rows strictly before this time were used.
    since : numpy.datetime64 or None
        Rows on or after this time were used (None: from the start of the log).
    has_history : bool array
        At least one line in the window.
    recency_days : float array
        Days from the last line to ``as_of``.
    frequency : float array
        Number of baskets (visits).
    monetary : float array
        Amount paid (net of discount and of kept returns).
    avg_basket_value, avg_basket_size, avg_basket_lines : float arrays
        Amount, units and lines per basket.
    ipi_mean_days, ipi_std_days, ipi_cv : float arrays
        Inter-purchase interval between consecutive baskets: mean, population
        standard deviation, and coefficient of variation (std / mean; low means
        regular). ``ipi_mean_days`` equals ``(last - first basket) / (frequency - 1)``.
    tenure_days : float array
        Days from the first line to ``as_of``.
    discount_share : float array
        Discount received / (amount paid + discount): promotion sensitivity by money.
    promo_line_share : float array
        Share of lines bought with a discount: promotion sensitivity by count.
    distinct_items : float array
        Distinct items bought.
    n_lines, units : float arrays
        Lines and units bought.
    first_purchase, last_purchase : datetime64[s] arrays
        NaT without history.
    category_mix : scipy.sparse.csr_array or None
        ``(n_customers, n_categories)`` share of each customer's spend per
        category (rows sum to 1 over catalogued spend), when a catalogue was given.
    categories : IdIndex or None
    category_coverage : float array or None
        Share of each customer's spend on items with a known category.

    Examples
    --------
    >>> from onetoone import Transactions, build_profiles
    >>> tx = Transactions.from_arrays(customer=["ann", "bob", "ann"], item=[1, 1, 2],
    ...     timestamp=["2024-01-01", "2024-01-02", "2024-01-08"], value=[3.0, 4.0, 5.0])
    >>> p = build_profiles(tx, as_of="2024-01-10")
    >>> p.customers.to_list(), p.frequency.tolist(), p.n_active
    (['ann', 'bob'], [2.0, 1.0], 2)
    >>> p.matrix(["monetary", "recency_days"]).tolist()
    [[8.0, 2.0], [4.0, 8.0]]
    >>> p.select(["bob"]).tolist()
    [1]
    """

    customers: IdIndex
    as_of: np.datetime64
    since: np.datetime64 | None
    has_history: npt.NDArray[np.bool_] = attrs.field(converter=readonly)
    recency_days: _F64 = attrs.field(converter=readonly)
    frequency: _F64 = attrs.field(converter=readonly)
    monetary: _F64 = attrs.field(converter=readonly)
    avg_basket_value: _F64 = attrs.field(converter=readonly)
    avg_basket_size: _F64 = attrs.field(converter=readonly)
    avg_basket_lines: _F64 = attrs.field(converter=readonly)
    ipi_mean_days: _F64 = attrs.field(converter=readonly)
    ipi_std_days: _F64 = attrs.field(converter=readonly)
    ipi_cv: _F64 = attrs.field(converter=readonly)
    tenure_days: _F64 = attrs.field(converter=readonly)
    discount_share: _F64 = attrs.field(converter=readonly)
    promo_line_share: _F64 = attrs.field(converter=readonly)
    distinct_items: _F64 = attrs.field(converter=readonly)
    n_lines: _F64 = attrs.field(converter=readonly)
    units: _F64 = attrs.field(converter=readonly)
    first_purchase: npt.NDArray[np.datetime64] = attrs.field(converter=readonly)
    last_purchase: npt.NDArray[np.datetime64] = attrs.field(converter=readonly)
    category_mix: sp.csr_array | None = None
    categories: IdIndex | None = None
    category_coverage: _F64 | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customers, IdIndex):
            raise ValidationError(
                "Profiles.customers must be an IdIndex; build profiles with build_profiles",
                field="customers",
            )
        n = len(self.customers)
        for name in ("has_history", *FEATURES, "first_purchase", "last_purchase"):
            if len(getattr(self, name)) != n:
                raise ValidationError(
                    f"Profiles.{name} has {len(getattr(self, name))} rows for {n} customers",
                    field=name,
                )
        if self.category_mix is not None and self.category_mix.shape[0] != n:
            raise ValidationError(
                "category_mix must have one row per customer", field="category_mix"
            )

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def n_active(self) -> int:
        """Customers with at least one line in the window."""
        return int(self.has_history.sum())

    def matrix(self, features: Sequence[str] = FEATURES) -> npt.NDArray[np.float64]:
        """Dense ``(n_customers, len(features))`` float array of the named features."""
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise ValidationError(
                f"unknown feature(s) {unknown}; choose from {list(FEATURES)}", field="features"
            )
        if not features:
            return np.zeros((len(self), 0))
        return np.column_stack([getattr(self, f) for f in features])

    @renamed_kwargs(customers="customer_ids")
    def select(self, customer_ids: Any) -> npt.NDArray[np.int32]:
        """Row codes of external ``customer_ids`` (raises for unknown ids).

        The keyword ``customers=`` is deprecated: pass ``customer_ids``.

        Raises
        ------
        UnknownIdError
            An id without a profile row.
        """
        return self.customers.encode(customer_ids, field="customer_ids")

    def to_dict(self) -> dict[str, npt.NDArray[Any]]:
        """Columns as a dict: ``customer`` (external ids), the features and dates."""
        out: dict[str, npt.NDArray[Any]] = {
            "customer": self.customers.values,
            "has_history": self.has_history,
        }
        for f in FEATURES:
            out[f] = getattr(self, f)
        out["first_purchase"] = self.first_purchase
        out["last_purchase"] = self.last_purchase
        if self.category_coverage is not None:
            out["category_coverage"] = self.category_coverage
        return out

    def to_pandas(self) -> pd.DataFrame:
        """The features as a DataFrame indexed by customer id (needs pandas)."""
        pandas = import_optional("pandas", purpose="Profiles.to_pandas")
        frame: pd.DataFrame = pandas.DataFrame(self.to_dict()).set_index("customer")
        return frame

    def summary(self) -> str:
        """A short text table: quantiles of the main features over active customers."""
        act = self.has_history
        lines = [
            f"profiles of {len(self):,} customers as of {self.as_of} "
            f"({self.n_active:,} with history"
            + (f" since {self.since}" if self.since is not None else "")
            + ")",
            f"{'feature':<18}{'p10':>10}{'median':>10}{'p90':>10}{'mean':>10}",
        ]
        for f in (
            "recency_days",
            "frequency",
            "monetary",
            "avg_basket_value",
            "avg_basket_size",
            "ipi_mean_days",
            "ipi_cv",
            "tenure_days",
            "discount_share",
            "promo_line_share",
            "distinct_items",
        ):
            v = getattr(self, f)[act]
            v = v[np.isfinite(v)]
            if len(v) == 0:
                continue
            p10, med, p90 = np.percentile(v, [10, 50, 90])
            lines.append(f"{f:<18}{p10:>10.2f}{med:>10.2f}{p90:>10.2f}{v.mean():>10.2f}")
        if self.category_mix is not None and self.categories is not None:
            nnz = np.diff(self.category_mix.indptr)[act]
            lines.append(
                f"category mix over {len(self.categories):,} categories: median "
                f"{np.median(nnz):.0f} categories per customer"
            )
        return "\n".join(lines)


def _safe_div(num: npt.NDArray[Any], den: npt.NDArray[Any]) -> _F64:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _build_profiles_iv(
    transactions: Any, as_of: Any, since: Any, catalogue: Any
) -> tuple[np.datetime64, np.datetime64 | None]:
    check_transactions(transactions)
    if catalogue is not None and not isinstance(catalogue, Catalogue):
        raise ValidationError(
            f"catalogue must be a Catalogue or None, got {type(catalogue).__name__}; build "
            "one with Catalogue.from_arrays or Catalogue.from_pandas",
            field="catalogue",
        )
    as_of64 = to_datetime64(as_of, "as_of")
    since64 = None if since is None else to_datetime64(since, "since")
    if since64 is not None and not since64 < as_of64:
        raise ValidationError(f"since ({since64}) must be before as_of ({as_of64})", field="since")
    if catalogue is not None and catalogue.items.kind != transactions.items.kind:
        raise ValidationError(
            f"catalogue item ids are {catalogue.items.kind}s but the log's are "
            f"{transactions.items.kind}s; build both with the same id type",
            field="catalogue",
        )
    return as_of64, since64


def build_profiles(
    transactions: Transactions,
    *,
    as_of: TimeLike,
    since: TimeLike | None = None,
    catalogue: Catalogue | None = None,
    num_threads: int = 0,
) -> Profiles:
    """Compute each customer's behavioural profile from rows before ``as_of``.

    Parameters
    ----------
    transactions : Transactions
        The log; profiles are aligned to ``transactions.customers``.
    as_of : time
        Point in time: only rows with ``timestamp < as_of`` are read, so adding
        rows at or after ``as_of`` changes nothing. Recency and tenure are
        measured to ``as_of``.
    since : time, optional
        Only rows with ``timestamp >= since`` are read (a look-back window).
    catalogue : Catalogue, optional
        Item -> category; adds the sparse category mix (share of spend).
    num_threads : int, default 0
        Threads for the distinct-items count, which runs block by block beside
        the other features (0: every core, 1: the calling thread only). The
        result does not depend on it.

    Returns
    -------
    Profiles

    Raises
    ------
    ValidationError
        ``since`` not before ``as_of``, a catalogue whose item ids have
        another type than the log's, or a bad ``num_threads``.

    Notes
    -----
    Rows are sorted by (customer, basket, time) once, at ingestion, so a
    customer is a contiguous run and a basket starts where the basket code
    changes. Per-customer sums, first and last times are ``ufunc.reduceat``
    over customer runs; interval statistics are ``np.bincount`` over the
    baskets' gaps; distinct items come from one counting sort by item (CSR to
    CSC), after which repeated (customer, item) pairs are adjacent; the
    category mix sums (customer, category) pairs in blocks of customers. Cost
    is O(rows) with no comparison sort (baskets are re-sorted only when the
    window cuts a basket), and memory stays below the input columns' size.

    Examples
    --------
    >>> from onetoone import Transactions, build_profiles
    >>> tx = Transactions.from_arrays(
    ...     customer=[1, 1, 1, 2], item=["a", "b", "a", "a"],
    ...     timestamp=["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"],
    ...     value=[2.0, 1.0, 2.0, 4.0], basket=[10, 10, 11, 12])
    >>> p = build_profiles(tx, as_of="2024-01-21")
    >>> p.frequency.tolist(), p.monetary.tolist(), p.recency_days.tolist()
    ([2.0, 1.0], [5.0, 4.0], [10.0, 16.0])
    >>> p.ipi_mean_days.tolist()[0], p.avg_basket_value.tolist()[0]
    (10.0, 2.5)
    """
    as_of64, since64 = _build_profiles_iv(transactions, as_of, since, catalogue)
    threads = check_num_threads(num_threads)
    tx = transactions.between(since64, as_of64)
    with _Pool(threads, tx.n_rows) as pool:
        return _profiles(tx, as_of64, since64, catalogue, pool)


def _profiles(
    tx: Transactions,
    as_of64: np.datetime64,
    since64: np.datetime64 | None,
    catalogue: Catalogue | None,
    pool: _Pool,
) -> Profiles:
    """The body of :func:`build_profiles`, on the rows of the window."""
    n_c = tx.n_customers
    c = tx.customer
    # the distinct items per customer, the longest step, run on the pool meanwhile
    distinct_result = distinct_per_row_start(c, tx.item, (n_c, tx.n_items), pool)
    ts = tx.timestamp.view(np.int64)
    as_of_s = int(as_of64.astype(np.int64))

    # customer runs (rows are sorted by customer): sums by reduceat, not scatter-add
    cstart = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])[: tx.n_rows]
    ccode = c[cstart]

    def per_customer(
        ufunc: np.ufunc, values: npt.NDArray[Any], fill: Any, dtype: Any = None
    ) -> npt.NDArray[Any]:
        out = np.full(n_c, fill, dtype=dtype or values.dtype)
        if len(cstart):
            out[ccode] = ufunc.reduceat(values, cstart, dtype=dtype)
        return out

    n_lines = np.zeros(n_c)
    n_lines[ccode] = np.diff(np.r_[cstart, tx.n_rows])
    has = n_lines > 0
    monetary = per_customer(np.add, tx.value, 0.0)
    units = per_customer(np.add, tx.quantity, 0.0)
    disc = per_customer(np.add, tx.discount, 0.0)
    # promotional lines: counted between the customers' first rows (no cast of a mask)
    promo = np.zeros(n_c)
    promo[ccode] = np.diff(
        np.searchsorted(np.flatnonzero(tx.discount > 0), np.r_[cstart, tx.n_rows])
    )
    first_t = per_customer(np.minimum, ts, np.iinfo(np.int64).min)
    last_t = per_customer(np.maximum, ts, np.iinfo(np.int64).min)

    # baskets: runs of equal basket code; a basket's time is its first line in the window
    bstart = np.flatnonzero(np.r_[True, tx.basket[1:] != tx.basket[:-1]])[: tx.n_rows]
    bcust = c[bstart]
    btime = ts[bstart]
    frequency = np.bincount(bcust, minlength=n_c).astype(np.float64)
    same = bcust[1:] == bcust[:-1]
    if bool(np.any(same & (btime[1:] < btime[:-1]))):  # only when the window cut a basket
        border = np.lexsort((btime, bcust))
        bcust, btime = bcust[border], btime[border]
        same = bcust[1:] == bcust[:-1]
    gaps = (btime[1:] - btime[:-1])[same] / SECONDS_PER_DAY
    gcust = bcust[1:][same]
    n_gaps = np.bincount(gcust, minlength=n_c).astype(np.float64)
    ipi_mean = _safe_div(np.bincount(gcust, weights=gaps, minlength=n_c), n_gaps)
    dev = gaps - ipi_mean[gcust]
    ipi_std = np.sqrt(_safe_div(np.bincount(gcust, weights=dev * dev, minlength=n_c), n_gaps))
    ipi_cv = _safe_div(ipi_std, ipi_mean)

    nat = np.datetime64("NaT", "s")
    first_dt = np.where(has, first_t.view("datetime64[s]"), nat)
    last_dt = np.where(has, last_t.view("datetime64[s]"), nat)
    recency = np.where(has, (as_of_s - last_t) / SECONDS_PER_DAY, np.nan)
    tenure = np.where(has, (as_of_s - first_t) / SECONDS_PER_DAY, np.nan)

    distinct = distinct_result().astype(np.float64)

    mix = None
    categories = None
    coverage = None
    if catalogue is not None:
        # unknown categories go to an extra last column, dropped after the sums
        n_cat = len(catalogue.categories)
        cat_of_item = catalogue.category_codes(tx.items)
        cat_of_item[cat_of_item < 0] = n_cat
        m = grouped_csr(c, cat_of_item[tx.item], tx.value, (n_c, n_cat + 1))
        known = m.indices < n_cat
        row_of = np.repeat(np.arange(n_c), np.diff(m.indptr))
        spend_known = np.bincount(row_of, weights=np.where(known, m.data, 0.0), minlength=n_c)
        share = _safe_div(m.data, spend_known[row_of])
        keep = known & (share > 0)
        indptr = np.zeros(n_c + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of[keep], minlength=n_c), out=indptr[1:])
        mix = sp.csr_array((share[keep], m.indices[keep], indptr), shape=(n_c, n_cat))
        categories = catalogue.categories
        coverage = _safe_div(spend_known, monetary)

    return Profiles(
        customers=tx.customers,
        as_of=as_of64,
        since=since64,
        has_history=has,
        recency_days=recency,
        frequency=frequency,
        monetary=monetary,
        avg_basket_value=_safe_div(monetary, frequency),
        avg_basket_size=_safe_div(units, frequency),
        avg_basket_lines=_safe_div(n_lines, frequency),
        ipi_mean_days=ipi_mean,
        ipi_std_days=ipi_std,
        ipi_cv=ipi_cv,
        tenure_days=tenure,
        discount_share=_safe_div(disc, monetary + disc),
        promo_line_share=_safe_div(promo, n_lines),
        distinct_items=distinct,
        n_lines=n_lines,
        units=units,
        first_purchase=first_dt,
        last_purchase=last_dt,
        category_mix=mix,
        categories=categories,
        category_coverage=coverage,
    )
