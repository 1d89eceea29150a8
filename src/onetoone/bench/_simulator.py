"""A retail market with known ground truth, for judging offer strategies.

Real campaign data can say what customers redeemed, not what they would have
bought anyway. In this simulator both are known, so the *true* incremental
profit of any plan is computable.

Model
-----
Customer ``c`` has a latent taste vector ``u_c``, an activity level ``a_c``
and a price sensitivity ``s_c >= 0``; item ``i`` a latent vector ``v_i``, a
popularity ``b_i`` and a price ``p_i``. In a week without offers, ``c`` buys
``i`` with probability ``q_ci = sigmoid(a_c + u_c . v_i + b_i)``. A discount
of fraction ``d`` on ``i`` raises the log-odds by ``kappa * s_c * d``. History
is drawn week by week from these probabilities (with random shop-wide
promotions, so promotion sensitivity leaves a trace in the log).

An offer ``o`` covers items ``I_o`` (a few items of one category) with
discount ``d_o``. Over a campaign of ``W`` weeks, ``c`` buys at least one
covered item with probability ``p0 = 1 - prod_i (1 - q_ci)^W`` without the
offer and ``p1`` (same formula, boosted log-odds) with it. A purchase is worth
the offer's basket value ``V_o`` (mean covered price), at margin rate ``m``;
a redeemed offer costs ``d_o V_o``. So, per (customer, offer):

* expected cost ``= p1 d_o V_o``,
* true incremental profit ``= p1 (m - d_o) V_o - p0 m V_o``,

which is negative when the offer mostly subsidises purchases that would have
happened anyway. Offers act independently (a simplification: no
cannibalisation between offers sent to the same customer).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone.bench._checks import (
    RandomState,
    as_float,
    check_int,
    check_random_state,
    check_real,
    is_real,
    readonly,
    to_datetime64,
)
from onetoone.data import IdIndex, Transactions
from onetoone.errors import LengthMismatchError, UnknownIdError, ValidationError
from onetoone.offers import Offers

__all__ = [
    "LoggedCampaign",
    "Market",
    "PlanOutcome",
    "evaluate_plan",
    "log_campaign",
    "simulate_market",
]

_F64 = npt.NDArray[np.float64]


def _sigmoid(x: _F64) -> _F64:
    out: _F64 = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


@attrs.frozen(eq=False)
class Market:
    """A simulated market: a purchase history and the true response to every offer.

    Attributes
    ----------
    history : Transactions
        Purchases before :attr:`campaign_start`; customer ``c`` and item ``i``
        have external ids ``c`` and ``i`` (codes equal ids).
    campaign_start : numpy.datetime64
    campaign_weeks : int
    item_category : int32 array
        Category of each item.
    item_price : float array
    offer_items : scipy.sparse.csr_array
        ``(n_offers, n_items)`` 0/1 incidence.
    offer_discount : float array
        Discount fraction per offer.
    offer_value : float array
        Basket value ``V_o`` of a purchase of covered items.
    margin_rate : float
    sensitivity : float array
        True price sensitivity per customer.
    p_base, p_offer : float arrays, shape (n_customers, n_offers)
        Probability of buying a covered item in the campaign without / with the offer.

    Raises
    ------
    ValidationError
        The arrays disagree on the number of customers, items or offers, or a
        probability lies outside [0, 1].

    Examples
    --------
    >>> m = simulate_market(50, 40, 4, history_weeks=4, random_state=0)
    >>> m.n_customers, m.n_offers, m.p_base.shape
    (50, 4, (50, 4))
    >>> bool((m.incremental_profit() <= m.p_offer * m.offer_margin).all())
    True
    """

    history: Transactions
    campaign_start: np.datetime64
    campaign_weeks: int
    item_category: npt.NDArray[np.int32] = attrs.field(converter=readonly)
    item_price: _F64 = attrs.field(converter=readonly)
    offer_items: sp.csr_array
    offer_discount: _F64 = attrs.field(converter=readonly)
    offer_value: _F64 = attrs.field(converter=readonly)
    margin_rate: float
    sensitivity: _F64 = attrs.field(converter=readonly)
    p_base: _F64 = attrs.field(converter=readonly)
    p_offer: _F64 = attrs.field(converter=readonly)

    @property
    def n_customers(self) -> int:
        """Customers in the market (codes ``0 .. n_customers-1``, equal to their ids)."""
        return int(self.p_base.shape[0])

    @property
    def n_offers(self) -> int:
        """Offers in the market (codes ``0 .. n_offers-1``)."""
        return int(self.p_base.shape[1])

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.history, Transactions):
            raise ValidationError(
                f"history must be a Transactions, got {type(self.history).__name__}",
                field="history",
            )
        shape = self.p_base.shape
        if self.p_base.ndim != 2 or self.p_offer.shape != shape:
            raise ValidationError(
                f"p_base and p_offer must have the same (n_customers, n_offers) shape, got "
                f"{self.p_base.shape} and {self.p_offer.shape}",
                field="p_offer",
            )
        n_c, n_o = shape
        n_i = len(self.item_price)
        checks = (
            ("item_category", len(self.item_category), n_i, "n_items"),
            ("offer_items", self.offer_items.shape, (n_o, n_i), "(n_offers, n_items)"),
            ("offer_discount", len(self.offer_discount), n_o, "n_offers"),
            ("offer_value", len(self.offer_value), n_o, "n_offers"),
            ("sensitivity", len(self.sensitivity), n_c, "n_customers"),
            ("history.customers", self.history.n_customers, n_c, "n_customers"),
        )
        for name, got, want, what in checks:
            if got != want:
                raise ValidationError(
                    f"{name} has size {got}, expected {want} ({what}); build markets with "
                    "simulate_market",
                    field=name,
                )
        for name, p in (("p_base", self.p_base), ("p_offer", self.p_offer)):
            if not np.all((p >= 0) & (p <= 1)):
                raise ValidationError(f"{name} must lie in [0, 1] (no NaN)", field=name)

    @property
    def offer_cost(self) -> _F64:
        """Cost to the retailer of one redemption, per offer."""
        out: _F64 = self.offer_discount * self.offer_value
        return out

    @property
    def offer_margin(self) -> _F64:
        """Margin of one purchase of covered items, per offer (before discount)."""
        out: _F64 = self.margin_rate * self.offer_value
        return out

    def expected_cost(self) -> _F64:
        """``(n_customers, n_offers)`` expected cost of sending each offer."""
        out: _F64 = self.p_offer * self.offer_cost
        return out

    def incremental_profit(self) -> _F64:
        """``(n_customers, n_offers)`` true expected incremental profit of sending each offer."""
        m = self.offer_margin
        out: _F64 = self.p_offer * (m - self.offer_cost) - self.p_base * m
        return out


#: Largest ``n_customers * max(n_items, n_offers)`` :func:`simulate_market` accepts.
MAX_MARKET_CELLS = 200_000_000


def _simulate_market_iv(
    n_customers: Any,
    n_items: Any,
    n_offers: Any,
    history_weeks: Any,
    campaign_weeks: Any,
    n_categories: Any,
    items_per_offer: Any,
    latent_dim: Any,
    margin_rate: Any,
    discount_range: Any,
    kappa: Any,
    sensitivity_shape: Any,
    taste_scale: Any,
    start: Any,
    random_state: Any,
) -> np.datetime64:
    """Check simulate_market's arguments; return the start time."""
    n_c = check_int(n_customers, "n_customers", 1)
    n_i = check_int(n_items, "n_items", 1)
    n_o = check_int(n_offers, "n_offers", 1)
    if n_c * max(n_i, n_o) > MAX_MARKET_CELLS:
        raise ValidationError(
            f"n_customers x max(n_items, n_offers) = {n_c * max(n_i, n_o):,} exceeds "
            f"{MAX_MARKET_CELLS:,} (the simulator holds dense customer x item matrices); "
            "simulate fewer customers or items",
            field="n_customers",
        )
    check_int(history_weeks, "history_weeks", 1, 1040)
    check_int(campaign_weeks, "campaign_weeks", 1, 520)
    check_int(n_categories, "n_categories", 1, 1_000_000)
    check_int(items_per_offer, "items_per_offer", 1, n_i, hint=" (cannot exceed n_items)")
    check_int(latent_dim, "latent_dim", 1, 1000)
    if not (is_real(margin_rate) and 0 < float(margin_rate) < 1):
        raise ValidationError(
            f"margin_rate must be a number in (0, 1), got {margin_rate!r}", field="margin_rate"
        )
    pair: object = discount_range
    if not (
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(is_real(x) for x in pair)
        and 0 <= pair[0] <= pair[1] < 1
    ):
        raise ValidationError(
            f"discount_range must be a (low, high) pair of numbers with 0 <= low <= high < 1, "
            f"got {discount_range!r}",
            field="discount_range",
        )
    check_real(kappa, "kappa", 0.0, 100.0)
    check_real(sensitivity_shape, "sensitivity_shape", 0.0, 1e6, low_inclusive=False)
    check_real(taste_scale, "taste_scale", 0.0, 100.0)
    check_random_state(random_state)
    return to_datetime64(start, "start")


def simulate_market(
    n_customers: int = 2000,
    n_items: int = 400,
    n_offers: int = 40,
    *,
    history_weeks: int = 26,
    campaign_weeks: int = 2,
    n_categories: int = 20,
    items_per_offer: int = 4,
    latent_dim: int = 6,
    margin_rate: float = 0.3,
    discount_range: tuple[float, float] = (0.1, 0.3),
    kappa: float = 6.0,
    sensitivity_shape: float = 1.5,
    taste_scale: float = 1.0,
    start: str = "2024-01-01",
    random_state: RandomState = None,
) -> Market:
    """Draw a market with a purchase history and a known response to each offer.

    Parameters
    ----------
    n_customers, n_items, n_offers : int
    history_weeks : int
        Weeks of history before the campaign (few weeks = little history).
    campaign_weeks : int
    n_categories, items_per_offer, latent_dim : int
    margin_rate : float
        Retailer margin as a share of price.
    discount_range : (float, float)
        Offer discounts are drawn uniformly in this range.
    kappa : float
        Strength of the discount effect on log-odds, scaled by each customer's
        sensitivity.
    sensitivity_shape : float
        Shape of the gamma distribution of sensitivities (mean 1, variance
        ``1 / shape``): large values make customers alike in their response.
    taste_scale : float
        Spread of the latent tastes (0: everyone has the same preferences).
    start : time
        First day of the history.
    random_state : int, Generator or None

    Raises
    ------
    ValidationError
        An argument of the wrong type or outside its range (the message names
        it). Sizes are ints >= 1 with ``n_customers * max(n_items, n_offers)``
        at most :data:`MAX_MARKET_CELLS` (the simulator holds dense customer x
        item matrices), ``history_weeks`` at most 1040, ``campaign_weeks`` at
        most 520, ``n_categories`` at most 1,000,000, ``latent_dim`` at most
        1000; ``kappa`` in ``[0, 100]``, ``taste_scale`` in ``[0, 100]``,
        ``sensitivity_shape`` in ``(0, 1e6]``.

    Examples
    --------
    >>> m = simulate_market(200, 80, 10, history_weeks=8, random_state=0)
    >>> m.p_offer.shape, bool((m.p_offer >= m.p_base).all())
    ((200, 10), True)
    """
    t0 = _simulate_market_iv(
        n_customers,
        n_items,
        n_offers,
        history_weeks,
        campaign_weeks,
        n_categories,
        items_per_offer,
        latent_dim,
        margin_rate,
        discount_range,
        kappa,
        sensitivity_shape,
        taste_scale,
        start,
        random_state,
    )
    lo, hi = (float(x) for x in discount_range)
    rng = check_random_state(random_state)
    dim = latent_dim
    item_cat = rng.integers(0, n_categories, n_items).astype(np.int32)
    cat_vec = rng.normal(0, 1.0, (n_categories, dim))
    v = (cat_vec[item_cat] + rng.normal(0, 0.5, (n_items, dim))) / np.sqrt(dim)
    u = rng.normal(0, 1.0, (n_customers, dim)) * taste_scale
    activity = rng.normal(-3.8, 0.7, n_customers)
    visit_rate = rng.beta(3.0, 1.5, n_customers)  # weekly probability of a shopping trip
    popularity = rng.normal(0.0, 0.8, n_items)
    price = np.round(np.exp(rng.normal(1.0, 0.5, n_items)), 2)
    sensitivity = rng.gamma(sensitivity_shape, 1 / sensitivity_shape, n_customers)
    logit_q = activity[:, None] + u @ v.T + popularity[None, :]

    # history, week by week (a loop over weeks, not customers)
    custs: list[npt.NDArray[np.int64]] = []
    items: list[npt.NDArray[np.int64]] = []
    times: list[npt.NDArray[np.datetime64]] = []
    values: list[_F64] = []
    discounts: list[_F64] = []
    for w in range(history_weeks):
        promo = rng.random(n_items) < 0.1
        lq = logit_q + np.where(promo, kappa * 0.2, 0.0)[None, :] * sensitivity[:, None]
        visits = rng.random(n_customers) < visit_rate
        bought = (rng.random(lq.shape) < _sigmoid(lq)) & visits[:, None]
        c, i = np.nonzero(bought)
        day = rng.integers(0, 7, n_customers)[c]  # one shopping day per customer and week
        custs.append(c)
        items.append(i)
        times.append(t0 + ((w * 7 + day) * 86400 + 36000).astype("timedelta64[s]"))
        disc: _F64 = np.where(promo[i], 0.2 * price[i], 0.0).astype(np.float64)
        values.append(price[i] - disc)
        discounts.append(disc)
    cust = np.concatenate(custs)
    if len(cust) == 0:
        raise ValidationError(
            "the simulated history is empty; raise history_weeks", field="history_weeks"
        )
    history = Transactions.from_arrays(
        customer=cust,
        item=np.concatenate(items),
        timestamp=np.concatenate(times),
        value=np.concatenate(values),
        discount=np.concatenate(discounts),
        customers=IdIndex(np.arange(n_customers, dtype=np.int64)),
        items=IdIndex(np.arange(n_items, dtype=np.int64)),
    )

    # offers: a few items of one category each
    offer_cat = rng.integers(0, n_categories, n_offers)
    rows, cols = [], []
    for o in range(n_offers):  # a loop over offers (tens), not customers
        pool = np.flatnonzero(item_cat == offer_cat[o])
        if len(pool) < items_per_offer:
            pool = np.arange(n_items)
        chosen = rng.choice(pool, items_per_offer, replace=False)
        rows.append(np.full(items_per_offer, o))
        cols.append(chosen)
    offer_items = sp.csr_array(
        (np.ones(n_offers * items_per_offer), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_offers, n_items),
    )
    discount = rng.uniform(lo, hi, n_offers)
    offer_value = (offer_items @ price) / items_per_offer

    # campaign response: P(buy >= 1 covered item in W weeks); a week counts only with a visit
    def p_campaign(week_none: _F64) -> _F64:
        weekly = visit_rate[:, None] * (1.0 - np.exp(week_none))
        out: _F64 = 1.0 - (1.0 - weekly) ** campaign_weeks
        return out

    log1m_q = -np.logaddexp(0.0, logit_q)  # log(1 - sigmoid(x)), per week and visit
    p_base = p_campaign(np.asarray((offer_items @ log1m_q.T).T))
    boost = kappa * sensitivity[:, None] * discount[None, :]  # (n_c, n_o)
    # boosted log(1 - q) per covered item needs the item's own logit: exact per offer
    none_offer = np.empty_like(p_base)
    indptr, indices = offer_items.indptr, offer_items.indices
    for o in range(n_offers):  # a loop over offers, vectorised over customers
        its = indices[indptr[o] : indptr[o + 1]]
        lq = logit_q[:, its] + boost[:, o : o + 1]
        none_offer[:, o] = (-np.logaddexp(0.0, lq)).sum(axis=1)
    p_offer = p_campaign(none_offer)
    return Market(
        history=history,
        campaign_start=t0 + np.timedelta64(history_weeks * 7, "D").astype("timedelta64[s]"),
        campaign_weeks=campaign_weeks,
        item_category=item_cat,
        item_price=price,
        offer_items=offer_items,
        offer_discount=discount,
        offer_value=offer_value,
        margin_rate=margin_rate,
        sensitivity=sensitivity,
        p_base=p_base,
        p_offer=p_offer,
    )


@attrs.frozen
class PlanOutcome:
    """The true (expected) and one realised outcome of a plan in a :class:`Market`.

    Attributes
    ----------
    n_assignments : int
    expected_cost : float
        Expected redemption cost (the budget actually spent, in expectation).
    incremental_profit : float
        True expected incremental profit versus sending nothing.
    roi : float
        ``incremental_profit / expected_cost`` (NaN for an empty plan):
        (incremental margin - cost) / cost.
    realised_cost, realised_incremental_profit : float
        One draw of the campaign (redemptions and purchases sampled), with
        incremental profit computed against the customers' sampled
        counterfactual purchases (common random numbers), as an experiment
        with a perfect holdout would see it.

    Examples
    --------
    >>> m = simulate_market(60, 40, 3, history_weeks=4, random_state=0)
    >>> out = evaluate_plan(m, [0, 1], [2, 2], random_state=0)
    >>> out.n_assignments, bool(out.expected_cost >= 0)
    (2, True)
    """

    n_assignments: int
    expected_cost: float
    incremental_profit: float
    roi: float
    realised_cost: float
    realised_incremental_profit: float


def _codes32(values: Any) -> npt.NDArray[np.int32]:
    a = np.asarray(values)
    if a.ndim != 1 or not (a.dtype.kind in "iu" or a.size == 0):
        raise ValidationError(
            f"codes must be a 1-D integer array, got dtype {a.dtype} and shape {a.shape}",
            field="customer",
        )
    if a.size and int(a.max()) > np.iinfo(np.int32).max:
        raise ValidationError("codes must fit in int32", field="customer")
    out: npt.NDArray[np.int32] = readonly(a.astype(np.int32))
    return out


def _bool_column(values: Any) -> npt.NDArray[np.bool_]:
    a = np.asarray(values)
    if a.ndim != 1 or not (a.dtype.kind == "b" or a.size == 0):
        raise ValidationError(
            f"sent must be a 1-D bool array, got dtype {a.dtype} and shape {a.shape}",
            field="sent",
        )
    out: npt.NDArray[np.bool_] = readonly(a.astype(bool))
    return out


def _float_column(values: Any) -> _F64:
    out: _F64 = readonly(as_float(values, "values"))
    return out


def _check_market(market: object) -> None:
    if not isinstance(market, Market):
        raise ValidationError(
            f"market must be a Market (from simulate_market), got {type(market).__name__}",
            field="market",
        )


def _codes(values: Any, name: str) -> npt.NDArray[np.int64]:
    """A scalar or 1-D array of integer codes as int64, or raise naming ``name``."""
    a = np.asarray(values)
    if a.ndim > 1:
        raise ValidationError(
            f"{name} must be a 1-D array of codes, got shape {a.shape}", field=name
        )
    a = a.reshape(-1)
    if a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a))):
        if a.size and float(np.max(np.abs(a))) > 2**62:
            raise UnknownIdError(f"{name} holds codes out of range", field=name)
        a = a.astype(np.int64)
    if a.size and a.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must hold integer codes, got dtype {a.dtype}; pass the codes as ints",
            field=name,
        )
    if a.dtype.kind == "u" and a.size and int(a.max()) > 2**62:
        raise UnknownIdError(f"{name} holds codes out of range", field=name)
    return a.astype(np.int64)


def _evaluate_plan_iv(
    market: Any, customer: Any, offer: Any, random_state: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    _check_market(market)
    c = _codes(customer, "customer")
    o = _codes(offer, "offer")
    if len(c) != len(o):
        raise LengthMismatchError(
            f"offer has {len(o)} entries but customer has {len(c)}; one pair per assignment",
            field="offer",
        )
    if len(c) and (c.min() < 0 or c.max() >= market.n_customers):
        raise UnknownIdError(
            f"customer codes must lie in 0..{market.n_customers - 1}", field="customer"
        )
    if len(o) and (o.min() < 0 or o.max() >= market.n_offers):
        raise UnknownIdError(f"offer codes must lie in 0..{market.n_offers - 1}", field="offer")
    if len(c) and len(np.unique(c * market.n_offers + o)) != len(c):
        raise ValidationError("the plan repeats a (customer, offer) pair", field="customer")
    check_random_state(random_state)
    return c, o


def evaluate_plan(
    market: Market, customer: Any, offer: Any, *, random_state: RandomState = None
) -> PlanOutcome:
    """True and realised outcome of sending ``offer[j]`` to ``customer[j]`` for all ``j``.

    Parameters
    ----------
    market : Market
    customer, offer : 1-D arrays of int codes
        The plan's pairs: customer codes ``0 .. market.n_customers-1`` (equal to
        their ids in ``market.history``) and offer codes ``0 .. n_offers-1``.
    random_state : int, Generator or None
        Draws the realised outcome (one uniform per pair decides both the world
        with the offer and the world without it).

    Returns
    -------
    PlanOutcome

    Raises
    ------
    ValidationError
        ``market`` is not a :class:`Market`, codes are not 1-D integers, or the
        plan repeats a pair.
    LengthMismatchError
        ``customer`` and ``offer`` differ in length.
    UnknownIdError
        A code is out of range.

    Examples
    --------
    >>> m = simulate_market(100, 60, 5, history_weeks=4, random_state=1)
    >>> out = evaluate_plan(m, [0, 1], [2, 2], random_state=0)
    >>> out.n_assignments
    2
    """
    c, o = _evaluate_plan_iv(market, customer, offer, random_state)
    rng = check_random_state(random_state)
    p0 = market.p_base[c, o]
    p1 = market.p_offer[c, o]
    cost_o = market.offer_cost[o]
    margin_o = market.offer_margin[o]
    exp_cost = float(np.sum(p1 * cost_o))
    inc = float(np.sum(p1 * (margin_o - cost_o) - p0 * margin_o))
    # common random numbers: one uniform per pair decides both worlds (p1 >= p0)
    uni = rng.random(len(c))
    buy1 = uni < p1
    buy0 = uni < p0
    real_cost = float(np.sum(buy1 * cost_o))
    real_inc = float(np.sum(buy1 * (margin_o - cost_o) - buy0 * margin_o))
    return PlanOutcome(
        n_assignments=len(c),
        expected_cost=exp_cost,
        incremental_profit=inc,
        roi=inc / exp_cost if exp_cost > 0 else float("nan"),
        realised_cost=real_cost,
        realised_incremental_profit=real_inc,
    )


@attrs.frozen(eq=False)
class LoggedCampaign:
    """A campaign logged under a randomised policy, one decision per (customer, offer).

    Attributes
    ----------
    customer, offer : int32 arrays
        The pair of each decision, as codes: customer codes (equal to the ids of
        ``market.history.customers``) and offer codes (``market_offers(market)``).
    sent : bool array
        Whether the offer was sent.
    propensity : float array
        Probability the logging policy sent it.
    reward : float array
        Observed profit from the offer's items: ``(m - d) V`` if bought with the
        offer, ``m V`` if bought without it, 0 otherwise.

    Raises
    ------
    ValidationError
        Columns of different lengths, negative codes, or a propensity outside [0, 1].

    Examples
    --------
    >>> log = LoggedCampaign(customer=[0, 0, 1], offer=[0, 1, 0], sent=[True, False, True],
    ...                      propensity=[0.5, 0.5, 0.2], reward=[1.0, 0.0, 0.0])
    >>> log.logged_propensity().tolist()
    [0.5, 0.5, 0.2]
    """

    customer: npt.NDArray[np.int32] = attrs.field(converter=_codes32)
    offer: npt.NDArray[np.int32] = attrs.field(converter=_codes32)
    sent: npt.NDArray[np.bool_] = attrs.field(converter=_bool_column)
    propensity: _F64 = attrs.field(converter=_float_column)
    reward: _F64 = attrs.field(converter=_float_column)

    def __attrs_post_init__(self) -> None:
        n = len(self.customer)
        for name in ("offer", "sent", "propensity", "reward"):
            col = getattr(self, name)
            if len(col) != n:
                raise LengthMismatchError(
                    f"{name} has {len(col)} entries but customer has {n}; one per decision",
                    field=name,
                )
        for name in ("customer", "offer"):
            col = getattr(self, name)
            if n and int(col.min()) < 0:
                raise ValidationError(f"{name} codes must be >= 0", field=name)
        if not np.all((self.propensity >= 0) & (self.propensity <= 1)):
            raise ValidationError("propensity must lie in [0, 1] (no NaN)", field="propensity")

    def logged_propensity(self) -> _F64:
        """Probability of the action actually logged (sent or not).

        Examples
        --------
        >>> log = LoggedCampaign(customer=[0, 1], offer=[0, 0], sent=[True, False],
        ...                      propensity=[0.3, 0.3], reward=[1.0, 0.0])
        >>> log.logged_propensity().tolist()
        [0.3, 0.7]
        """
        out: _F64 = np.where(self.sent, self.propensity, 1.0 - self.propensity)
        return out


def _log_campaign_iv(market: Any, propensity: Any, random_state: Any) -> _F64:
    _check_market(market)
    shape = market.p_base.shape
    try:
        prop = np.asarray(propensity, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"propensity must be a number or a float array of shape {shape} (n_customers, "
            f"n_offers), got {type(propensity).__name__}",
            field="propensity",
        ) from exc
    if prop.ndim != 0 and prop.shape != shape:
        raise ValidationError(
            f"propensity has shape {prop.shape}; give one number for every pair, or an array "
            f"of shape {shape} (n_customers, n_offers)",
            field="propensity",
        )
    if not np.all((prop >= 0) & (prop <= 1)):
        raise ValidationError("propensity must lie in [0, 1] (no NaN)", field="propensity")
    check_random_state(random_state)
    out: _F64 = np.broadcast_to(prop, shape)
    return out


def log_campaign(
    market: Market, propensity: Any, *, random_state: RandomState = None
) -> LoggedCampaign:
    """Run a randomised campaign: send each offer to each customer with ``propensity``.

    Parameters
    ----------
    market : Market
    propensity : float or array of shape (n_customers, n_offers)
        Sending probability per pair, in [0, 1].
    random_state : int, Generator or None

    Returns
    -------
    LoggedCampaign
        One decision per (customer, offer) pair, customers outermost.

    Raises
    ------
    ValidationError
        ``market`` is not a :class:`Market`, or ``propensity`` is not numeric,
        has another shape, or lies outside [0, 1] (NaN included).

    Examples
    --------
    >>> m = simulate_market(50, 40, 4, history_weeks=4, random_state=2)
    >>> log = log_campaign(m, 0.3, random_state=0)
    >>> len(log.reward) == 50 * 4
    True
    """
    prop = _log_campaign_iv(market, propensity, random_state)
    rng = check_random_state(random_state)
    c, o = np.indices(market.p_base.shape).reshape(2, -1)
    pr = prop.reshape(-1)
    sent = rng.random(len(pr)) < pr
    p = np.where(sent, market.p_offer.reshape(-1), market.p_base.reshape(-1))
    bought = rng.random(len(pr)) < p
    reward = bought * np.where(
        sent, market.offer_margin[o] - market.offer_cost[o], market.offer_margin[o]
    )
    return LoggedCampaign(customer=c, offer=o, sent=sent, propensity=pr.copy(), reward=reward)


def _market_offers_iv(market: Any) -> None:
    _check_market(market)


def market_offers(market: Market) -> Offers:
    """The market's offers as an :class:`~onetoone.offers.Offers` (ids ``0 .. n_offers-1``).

    ``cost`` is the discount paid per redemption and ``value`` the margin of
    the purchase before discount, so ``value - cost`` is the net margin of a
    redemption.

    Parameters
    ----------
    market : Market

    Returns
    -------
    Offers
        Over ``market.history.items``, so it can be scored against the history.

    Raises
    ------
    ValidationError
        ``market`` is not a :class:`Market`.

    Examples
    --------
    >>> m = simulate_market(50, 40, 4, history_weeks=4, random_state=0)
    >>> offers = market_offers(m)
    >>> offers.n_offers, bool((offers.value - offers.cost >= 0).all())
    (4, True)
    """
    _market_offers_iv(market)
    return Offers(
        ids=IdIndex(np.arange(market.n_offers, dtype=np.int64)),
        items=market.history.items,
        incidence=market.offer_items.astype(np.float64).tocsr(),
        cost=np.asarray(market.offer_cost, dtype=np.float64),
        value=np.asarray(market.offer_margin, dtype=np.float64),
    )
