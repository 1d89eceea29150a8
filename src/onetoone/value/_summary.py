"""The per-customer purchase summary (frequency, recency, T, monetary) of the BTYD models."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import TimeLike, as_1d, as_float, to_datetime64
from onetoone._checks import check_real, is_real
from onetoone.data import IdIndex, Transactions, check_transactions
from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError

__all__ = ["UNITS", "PurchaseSummary", "purchase_summary"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Named time units of a summary, in days (a float number of days is accepted too).
UNITS: dict[str, float] = {"D": 1.0, "W": 7.0}
_DAY_S = 86_400


def _f64(values: Any, name: str) -> F64:
    a = np.array(as_float(values, name), dtype=np.float64)  # a private copy, then frozen
    a.flags.writeable = False
    return a


def _recency(values: Any) -> F64:
    return _f64(values, "recency")


def _age(values: Any) -> F64:
    return _f64(values, "T")


def _monetary(values: Any) -> F64:
    return _f64(values, "monetary")


def _i64(values: Any) -> I64:
    a = as_float(values, "frequency")
    # <= 2**53: whole numbers float64 holds exactly (larger ones wrapped negative in int64)
    bad = ~np.isfinite(a) | (a < 0) | (a != np.floor(a)) | (a > 2.0**53)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"frequency must be whole numbers in [0, 2**53] (repeat purchases), got {a[i]!r} at "
            f"position {i} ({int(bad.sum())} bad value(s))",
            field="frequency",
        )
    out = a.astype(np.int64)
    out.flags.writeable = False
    return out


def _first_bad(name: str, bad: npt.NDArray[np.bool_], what: str, values: F64) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"{name} {what}: {int(bad.sum())} customer(s), first at position {i} "
            f"({name}={float(values[i])!r})",
            field=name,
        )


@attrs.frozen(eq=False)
class PurchaseSummary:
    """Per-customer purchase summary, the input of the BTYD models.

    The conventions are those of Fader, Hardie & Lee (2005) and ``lifetimes``:
    only the customer's *repeat* purchases are counted, and purchases on the
    same day count once.

    Attributes
    ----------
    customers : IdIndex
        One id per customer (row); join other per-customer outputs on it.
    frequency : int64 array
        Repeat purchases ``x``: purchase days after the first one.
    recency : float64 array
        ``t_x``: time from the first to the last purchase (0 if ``x == 0``).
    T : float64 array
        Age: time from the first purchase to the end of the observation.
    monetary : float64 array
        Mean spend of the repeat purchase days (0 if ``x == 0``).
    unit_days : float or None
        Length of one time unit in days (7.0 for weeks); ``None`` if unknown.
    as_of : numpy.datetime64 or None
        End of the observation (exclusive) when built from a log.
    n_without_purchase : int
        Customers of the log's index with no purchase before ``as_of``
        (they have no summary and are not in :attr:`customers`).

    Raises
    ------
    ValidationError
        NaN or infinite values, negative values, fractional frequency,
        ``recency > T``, ``frequency == 0`` with ``recency > 0`` or
        ``monetary > 0``, ``frequency > 0`` with ``monetary == 0``
        (``field`` names the attribute).
    LengthMismatchError
        Arrays of different lengths.
    EmptyInputError
        No customers.

    Examples
    --------
    >>> s = PurchaseSummary.from_arrays(frequency=[2, 0], recency=[30.43, 0.0],
    ...                                 T=[38.86, 38.86], monetary=[20.0, 0.0])
    >>> s.n_customers, s.customers.to_list()
    (2, [0, 1])
    >>> PurchaseSummary.from_arrays(frequency=[1], recency=[5.0], T=[4.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onetoone.errors.ValidationError: recency must be <= T: 1 customer(s), first at ...
    """

    customers: IdIndex
    frequency: I64 = attrs.field(converter=_i64)
    recency: F64 = attrs.field(converter=_recency)
    T: F64 = attrs.field(converter=_age)
    monetary: F64 = attrs.field(converter=_monetary)
    unit_days: float | None = None
    as_of: np.datetime64 | None = None
    n_without_purchase: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customers, IdIndex):
            raise ValidationError(
                f"customers must be an IdIndex, got {type(self.customers).__name__}",
                field="customers",
            )
        n = len(self.frequency)
        if n == 0:
            raise EmptyInputError(
                "the summary has no customers; pass at least one", field="frequency"
            )
        for name in ("recency", "T", "monetary"):
            if len(getattr(self, name)) != n:
                raise LengthMismatchError(
                    f"{name} has {len(getattr(self, name))} entries but frequency has {n}; "
                    "one per customer",
                    field=name,
                )
        if len(self.customers) != n:
            raise LengthMismatchError(
                f"customers has {len(self.customers)} ids but frequency has {n}; one per customer",
                field="customers",
            )
        for name in ("recency", "T", "monetary"):
            v = getattr(self, name)
            _first_bad(name, ~np.isfinite(v), "must be finite (no NaN or inf)", v)
            _first_bad(name, v < 0, "must be >= 0", v)
        f = self.frequency.astype(np.float64)
        _first_bad("recency", self.recency > self.T, "must be <= T", self.recency)
        _first_bad("recency", (f == 0) & (self.recency > 0), "must be 0 when frequency is 0",
                   self.recency)
        _first_bad("monetary", (f == 0) & (self.monetary > 0), "must be 0 when frequency is 0",
                   self.monetary)
        if self.unit_days is not None:
            check_real(self.unit_days, "unit_days", 0.0, low_inclusive=False)

    @classmethod
    def from_arrays(
        cls,
        *,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary: Any = None,
        customer_ids: Any = None,
        unit_days: float | None = None,
    ) -> PurchaseSummary:
        """A summary from arrays a user already has (e.g. a ``lifetimes`` summary table).

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases, time of the last purchase and age, per customer
            (recency and T in one time unit).
        monetary : array-like, optional
            Mean spend of the repeat purchases (0 for ``frequency == 0``); zeros
            if omitted (then only the frequency models can use the summary).
        customer_ids : array-like, optional
            The customers' ids; ``0 .. n-1`` if omitted.
        unit_days : float, optional
            Length of the time unit in days, if known.

        Examples
        --------
        >>> s = PurchaseSummary.from_arrays(frequency=[1, 0], recency=[2.0, 0.0], T=[5.0, 3.0],
        ...                                 customer_ids=["ann", "bob"])
        >>> s.customers.to_list(), s.monetary.tolist()
        (['ann', 'bob'], [0.0, 0.0])
        """
        freq = as_1d(frequency, "frequency")
        n = len(freq)
        mon = np.zeros(n) if monetary is None else monetary
        if customer_ids is None:
            return cls(IdIndex(np.arange(n, dtype=np.int64)), freq, recency, T, mon,
                       unit_days=unit_days)
        customers, codes = IdIndex.factorize_unique(
            customer_ids, name="customer_ids", fix="give one row per customer", what="customer"
        )
        if len(codes) != n:
            raise LengthMismatchError(
                f"customer_ids has {len(codes)} ids but frequency has {n}; one per customer",
                field="customer_ids",
            )
        order = np.argsort(codes)  # rows in code (sorted id) order
        cols = {"frequency": freq, "recency": recency, "T": T, "monetary": mon}
        arrays = {k: as_1d(v, k) for k, v in cols.items()}
        for k, v in arrays.items():
            if len(v) != n:
                raise LengthMismatchError(
                    f"{k} has {len(v)} entries but frequency has {n}; one per customer", field=k
                )
        return cls(
            customers,
            arrays["frequency"][order],
            arrays["recency"][order],
            arrays["T"][order],
            arrays["monetary"][order],
            unit_days=unit_days,
        )

    @property
    def n_customers(self) -> int:
        return len(self.frequency)

    def __len__(self) -> int:
        return self.n_customers


def _unit_iv(unit: object) -> float:
    if isinstance(unit, str):
        if unit not in UNITS:
            raise ValidationError(
                f"unit must be one of {sorted(UNITS)} or a number of days, got {unit!r}",
                field="unit",
            )
        return UNITS[unit]
    if is_real(unit):
        return check_real(unit, "unit", 0.0, low_inclusive=False, hint=" (days per time unit)")
    raise ValidationError(
        f"unit must be 'D', 'W' or a positive number of days, got {type(unit).__name__}",
        field="unit",
    )


def _purchase_summary_iv(transactions: Any, as_of: Any, unit: Any) -> tuple[np.datetime64, float]:
    check_transactions(transactions)
    return to_datetime64(as_of, "as_of"), _unit_iv(unit)


def purchase_summary(
    transactions: Transactions, *, as_of: TimeLike, unit: str | float = "W"
) -> PurchaseSummary:
    """Summarise each customer's purchases before ``as_of`` for the BTYD models.

    Parameters
    ----------
    transactions : Transactions
        The log. Rows at or after ``as_of`` are ignored, so adding them changes
        nothing.
    as_of : time
        End of the calibration period (exclusive). The last day observed is
        the day of ``as_of - 1 second``: ``as_of="1997-10-01"`` observes up to
        and including 30 September 1997.
    unit : {"W", "D"} or float
        Time unit of recency and T: weeks, days, or a number of days.

    Returns
    -------
    PurchaseSummary
        One row per customer with a purchase before ``as_of``, in the order of
        the log's customer codes.

    Notes
    -----
    Time is counted in whole days (``lifetimes``' convention with
    ``observation_period_end`` = the last day observed): the purchases of a
    customer on one day are one purchase whose spend is the day's total;
    ``frequency`` = purchase days - 1; ``recency`` = last purchase day - first;
    ``T`` = last day observed - first purchase day; ``monetary`` = mean spend
    of the purchase days after the first (0 if none). Computed with a
    ``bincount`` / ``reduceat`` pass over the customer-ordered log.

    Raises
    ------
    EmptyInputError
        No purchase before ``as_of``.
    ValidationError
        A customer whose repeat purchase days net to a negative spend (return
        lines kept with ``returns="keep"``).

    Examples
    --------
    >>> from onetoone import Transactions
    >>> tx = Transactions.from_arrays(
    ...     customer=["a", "a", "a", "a", "b"], item=[1, 2, 1, 1, 1],
    ...     timestamp=["2024-01-01", "2024-01-08 10:00", "2024-01-08 18:00", "2024-01-15",
    ...                "2024-01-10"],
    ...     value=[5.0, 2.0, 4.0, 9.0, 1.0])
    >>> s = purchase_summary(tx, as_of="2024-01-15", unit="D")
    >>> s.frequency.tolist(), s.recency.tolist(), s.T.tolist(), s.monetary.tolist()
    ([1, 0], [7.0, 0.0], [13.0, 4.0], [6.0, 0.0])
    """
    as_of64, unit_days = _purchase_summary_iv(transactions, as_of, unit)
    before = transactions.timestamp < as_of64
    cust = transactions.customer[before]
    if len(cust) == 0:
        raise EmptyInputError(f"no purchase before as_of={as_of64}", field="as_of")
    day = transactions.timestamp[before].astype("datetime64[D]").view(np.int64)
    spend = transactions.value[before]
    # rows are in customer order; within a customer the day is non-decreasing unless a
    # basket's lines cross midnight: sort only then
    same_c = cust[1:] == cust[:-1]
    if bool(np.any(same_c & (day[1:] < day[:-1]))):
        order = np.lexsort((day, cust))
        cust, day, spend = cust[order], day[order], spend[order]
        same_c = cust[1:] == cust[:-1]
    new_day = np.ones(len(cust), dtype=bool)
    new_day[1:] = ~same_c | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_day)
    d_cust, d_day = cust[starts], day[starts]
    d_spend = np.add.reduceat(spend, starts)
    first_of_c = np.ones(len(starts), dtype=bool)
    first_of_c[1:] = d_cust[1:] != d_cust[:-1]
    c_start = np.flatnonzero(first_of_c)
    c_end = np.append(c_start[1:], len(starts)) - 1
    codes = d_cust[c_start]
    n_days = np.diff(np.append(c_start, len(starts)))
    first, last = d_day[c_start], d_day[c_end]
    end_day = (as_of64 - np.timedelta64(1, "s")).astype("datetime64[D]").view(np.int64)
    repeat_spend = np.add.reduceat(d_spend, c_start) - d_spend[c_start]
    freq = (n_days - 1).astype(np.int64)
    monetary = np.divide(repeat_spend, freq, out=np.zeros(len(freq)), where=freq > 0)
    if bool(np.any(monetary < 0)):
        i = int(np.flatnonzero(monetary < 0)[0])
        who = transactions.customers.decode(codes[i : i + 1])[0]
        raise ValidationError(
            f"monetary: {int((monetary < 0).sum())} customer(s) have a negative net spend on "
            f"their repeat purchase days (first: customer {who!r}); "
            "the spend model needs spend >= 0: ingest with returns='drop'",
            field="monetary",
        )
    return PurchaseSummary(
        IdIndex(transactions.customers.decode(codes)),  # codes ascend: ids stay sorted
        freq,
        (last - first) / unit_days,
        (end_day - first) / unit_days,
        monetary,
        unit_days=unit_days,
        as_of=as_of64,
        n_without_purchase=transactions.n_customers - len(codes),
    )
