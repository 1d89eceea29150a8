"""Offer strategies: mass, segment and one-to-one, as thin compositions of the stages.

Every strategy sees the same :class:`OfferContext` — the targeted customers,
the offers, each customer's estimated probability of buying each offer's items
(calibrated on the history itself), the budget and the number of offers per
customer — and returns an :class:`~onetoone.allocation.Allocation`. They differ
only in the *granularity* of the estimate they act on:

* ``mass``: the population average per offer — the same offers for everyone
  ("rain" marketing), customers drawn at random while the budget lasts;
* ``segment``: the average within each of a few segments (RFM quantiles or
  k-means on profiles);
* ``one_to_one``: each customer's own estimate.

So a comparison measures what personalisation buys, with the same model, the
same budget and the same allocation solver.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._deprecation import renamed_kwargs, warn_deprecated
from onetoone.affinity import (
    METHODS,
    AffinityMethod,
    ResponseModel,
    fit_affinity,
    fit_response,
    score_offers,
)
from onetoone.allocation import Allocation, AllocationProblem, Budget, allocate
from onetoone.bench._checks import (
    RandomState,
    TimeLike,
    check_int,
    check_num_threads,
    check_random_state,
    check_real,
    readonly,
    to_datetime64,
)
from onetoone.data import Catalogue, Transactions, customer_item_matrix
from onetoone.errors import EmptyInputError, ValidationError
from onetoone.offers import Offers
from onetoone.profiles import Profiles, build_profiles

__all__ = [
    "OfferContext",
    "Strategy",
    "StrategyLike",
    "make_context",
    "mass",
    "one_to_one",
    "run_strategies",
    "segment",
    "segment_labels",
]

_F64 = npt.NDArray[np.float64]
_I32 = npt.NDArray[np.int32]
BudgetOn = Literal["expected_cost", "sent"]
Objective = Literal["redemptions", "incremental"]


@attrs.frozen(eq=False)
class OfferContext:
    """What every strategy may look at when it chooses offers (nothing after ``as_of``).

    Attributes
    ----------
    transactions : Transactions
        The log (strategies only use it through the fields below, which were
        computed from rows before ``as_of``).
    as_of : numpy.datetime64
        Decision time.
    customer : int32 array
        Codes (into ``transactions.customers``) of the customers to choose for,
        one per row of the matrices below; an allocation's ``customer`` codes
        are positions in this array (``context.customer[alloc.customer]`` are
        codes into the log). Formerly ``customers`` (deprecated property).
    offers : Offers
    p_buy : float array, shape (n_customers, n_offers)
        Each customer's estimated probability of buying an item of each offer
        within ``horizon_days`` *without* it, from the affinity model
        calibrated on the history (ineligible pairs: 0).
    p_offer : float array, shape (n_customers, n_offers)
        Estimated probability *with* the offer:
        ``sigmoid(logit(p_buy) + elasticity * sensitivity_c * discount_o)``.
    sensitivity : float array, shape (n_customers,)
        Relative promotion sensitivity: the customer's share of lines bought on
        promotion over the targeted customers' mean (1 = average; 1 without history).
    discount : float array, shape (n_offers,)
        Estimated discount fraction: cost per redemption over the mean paid price
        of the offer's items in the history (clipped to [0, 0.95]).
    objective : {"redemptions", "incremental"}
        ``"redemptions"``: value ``p_offer * net_value`` (every redemption counts,
        including purchases that would have happened anyway); ``"incremental"``:
        ``p_offer * (value - cost) - p_buy * value``, the expected incremental
        margin (needs ``offers.value``).
    eligible : bool array, shape (n_customers, n_offers)
    net_value : float array, shape (n_offers,)
        Value to the retailer of one redemption (``offers.value - offers.cost``
        where values are known, else 1: the redemption itself is the goal).
    cost : float array, shape (n_offers,)
        ``offers.cost``.
    budget : float
    budget_on : {"expected_cost", "sent"}
        ``"expected_cost"``: the budget caps ``sum p_buy * cost`` (discounts paid
        on redemption); ``"sent"``: it caps ``sum cost`` over offers sent (e.g.
        printing and mailing).
    k : int
        Offers per customer at most.
    profiles : Profiles
        Point-in-time profiles at ``as_of`` (for segmentation).
    response : ResponseModel
        The calibration from scores to ``p_buy``.
    horizon_days : float

    Raises
    ------
    ValidationError
        The arrays disagree with ``(n_customers, n_offers)``, a customer code
        is outside ``transactions.customers``, or an option is unknown.

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=10.0, method="repeat", random_state=0)
    >>> ctx.n_customers, ctx.n_offers, ctx.p_buy.shape
    (120, 4, (120, 4))
    >>> ctx.transactions.customers.decode(ctx.customer[:3]).tolist()
    [0, 1, 2]
    """

    transactions: Transactions
    as_of: np.datetime64
    customer: _I32 = attrs.field(converter=readonly)
    offers: Offers
    p_buy: _F64 = attrs.field(converter=readonly)
    p_offer: _F64 = attrs.field(converter=readonly)
    sensitivity: _F64 = attrs.field(converter=readonly)
    discount: _F64 = attrs.field(converter=readonly)
    objective: Objective
    eligible: npt.NDArray[np.bool_] = attrs.field(converter=readonly)
    net_value: _F64 = attrs.field(converter=readonly)
    cost: _F64 = attrs.field(converter=readonly)
    budget: float
    budget_on: BudgetOn
    k: int
    profiles: Profiles
    response: ResponseModel
    horizon_days: float

    def __attrs_post_init__(self) -> None:
        _offer_context_check(self)

    @property
    def customers(self) -> _I32:
        """Deprecated: renamed :attr:`customer` (int32 codes into ``transactions.customers``)."""
        warn_deprecated(
            "OfferContext.customers is renamed OfferContext.customer (int32 codes into "
            "context.transactions.customers)"
        )
        return self.customer

    @property
    def n_customers(self) -> int:
        """Customers to choose for (rows of the matrices)."""
        return int(self.customer.shape[0])

    @property
    def n_offers(self) -> int:
        """Offers to choose from (columns of the matrices)."""
        return self.offers.n_offers

    def problem(self, p_buy: _F64, p_offer: _F64) -> AllocationProblem:
        """The allocation problem for a strategy acting on ``p_buy`` / ``p_offer``.

        The expected value follows :attr:`objective` computed from the given
        (possibly group-averaged) probabilities: that is where strategies differ.
        Costs are always accounted with the context's individual estimate
        ``self.p_offer * cost``, so every strategy is held to the same budget by
        the same ruler: the budget row is that expected cost
        (``budget_on="expected_cost"``) or ``cost`` per offer sent (``"sent"``).
        Pairs that are ineligible or have no positive expected value are not
        candidates.

        Parameters
        ----------
        p_buy, p_offer : float arrays, shape (n_customers, n_offers)
            The probabilities the strategy acts on (e.g. ``context.p_buy`` itself,
            or group averages).

        Returns
        -------
        AllocationProblem

        Raises
        ------
        ValidationError
            An array of another shape, or a negative or non-finite probability.

        Examples
        --------
        >>> from onetoone.bench import market_offers, simulate_market
        >>> m = simulate_market(60, 40, 3, history_weeks=6, random_state=0)
        >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
        ...                    budget=5.0, method="repeat", random_state=0)
        >>> problem = ctx.problem(ctx.p_buy, ctx.p_offer)
        >>> bool(allocate(problem).budget_spend[0] <= 5.0 + 1e-9)
        True
        """
        p_buy, p_offer = _problem_iv(self, p_buy, p_offer)
        exp_cost = self.p_offer * self.cost[None, :]
        if self.objective == "incremental":
            assert self.offers.value is not None
            margin = np.nan_to_num(self.offers.value)[None, :]
            value = p_offer * (margin - self.cost[None, :]) - p_buy * margin
        else:
            value = p_offer * self.net_value[None, :]
        usage = (
            exp_cost
            if self.budget_on == "expected_cost"
            else np.broadcast_to(self.cost[None, :], p_buy.shape)
        )
        eligible = self.eligible & (value > 0)
        return AllocationProblem.from_dense(
            np.where(eligible, value, 0.0),
            exp_cost,
            budgets=[Budget("budget", self.budget, usage=np.ascontiguousarray(usage))],
            k=self.k,
            eligible=eligible,
        )


def _offer_context_check(ctx: OfferContext) -> None:
    """An :class:`OfferContext` validates itself: types, shapes and codes agree."""
    for name, typ in (
        ("transactions", Transactions),
        ("offers", Offers),
        ("profiles", Profiles),
        ("response", ResponseModel),
    ):
        if not isinstance(getattr(ctx, name), typ):
            raise ValidationError(
                f"{name} must be a {typ.__name__}, got {type(getattr(ctx, name)).__name__}; "
                "build contexts with make_context",
                field=name,
            )
    c = ctx.customer
    if c.ndim != 1 or c.dtype.kind not in "iu":
        raise ValidationError(
            f"customer must be a 1-D array of int codes, got dtype {c.dtype}, shape {c.shape}",
            field="customer",
        )
    n_log = ctx.transactions.n_customers
    if len(c) and (int(c.min()) < 0 or int(c.max()) >= n_log):
        raise ValidationError(
            f"customer codes must lie in 0..{n_log - 1} (transactions.customers); encode "
            "external ids with transactions.customers.encode",
            field="customer",
        )
    shape = (len(c), ctx.offers.n_offers)
    for name in ("p_buy", "p_offer", "eligible"):
        if getattr(ctx, name).shape != shape:
            raise ValidationError(
                f"{name} has shape {getattr(ctx, name).shape}, expected {shape} "
                "(n_customers, n_offers)",
                field=name,
            )
    for name, n in (
        ("sensitivity", shape[0]),
        ("discount", shape[1]),
        ("net_value", shape[1]),
        ("cost", shape[1]),
    ):
        if getattr(ctx, name).shape != (n,):
            raise ValidationError(
                f"{name} has shape {getattr(ctx, name).shape}, expected ({n},)", field=name
            )
    if ctx.objective not in ("redemptions", "incremental"):
        raise ValidationError("objective must be 'redemptions' or 'incremental'", field="objective")
    if ctx.budget_on not in ("expected_cost", "sent"):
        raise ValidationError("budget_on must be 'expected_cost' or 'sent'", field="budget_on")
    check_real(ctx.budget, "budget", 0.0)
    check_int(ctx.k, "k", 1)


def _problem_iv(ctx: OfferContext, p_buy: Any, p_offer: Any) -> tuple[_F64, _F64]:
    out = []
    for name, p in (("p_buy", p_buy), ("p_offer", p_offer)):
        a = np.asarray(p, dtype=np.float64)
        if a.shape != ctx.p_buy.shape:
            raise ValidationError(
                f"{name} has shape {a.shape}, expected {ctx.p_buy.shape} (n_customers, n_offers)",
                field=name,
            )
        if not np.all(np.isfinite(a) & (a >= 0)):
            raise ValidationError(
                f"{name} must hold finite probabilities >= 0 (no NaN)", field=name
            )
        out.append(a)
    return out[0], out[1]


class Strategy(Protocol):
    """A strategy maps a context and a random generator to an allocation.

    ``strategy(context, random_state=rng)`` returns an
    :class:`~onetoone.allocation.Allocation` over ``context.customer`` (its
    customer codes are positions in that array). The
    evaluators (:func:`run_strategies`, :func:`replay_campaign`,
    :func:`simulate`) pass a :class:`numpy.random.Generator` derived from
    their own ``random_state``, so a seeded evaluation is reproducible: a
    strategy must draw every random number it needs from that generator.
    Any callable with this signature works, e.g. ``functools.partial(segment,
    n_segments=8)`` or a user's own ``def f(context, *, random_state): ...``
    (a strategy that needs no randomness simply ignores it).

    A one-argument ``strategy(context)`` is still accepted, with a
    :class:`~onetoone.errors.OneToOneDeprecationWarning`, until the next minor
    version.

    Examples
    --------
    A strategy of one's own: the population's single best offer for the
    customers with the highest estimate, drawing nothing at random.

    >>> def best_offer(context, *, random_state=None):
    ...     p = np.where(context.eligible, context.p_buy, 0.0)
    ...     top = np.zeros_like(p)
    ...     top[:, p.mean(axis=0).argmax()] = p[:, p.mean(axis=0).argmax()]
    ...     return allocate(context.problem(top, np.where(top > 0, context.p_offer, 0.0)))
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> plans = run_strategies(ctx, {"best_offer": best_offer}, random_state=0)
    >>> len(set(plans["best_offer"].offer.tolist())) <= 1
    True
    """

    def __call__(
        self, context: OfferContext, *, random_state: np.random.Generator
    ) -> Allocation: ...


#: What the evaluators accept: a :class:`Strategy`, or (deprecated, one minor version)
#: a one-argument ``strategy(context)``.
StrategyLike: TypeAlias = Strategy | Callable[[OfferContext], Allocation]

_LEGACY_MESSAGE = (
    "strategy {name!r} takes no random_state keyword, so the evaluator's seed cannot reach it "
    "and seeded results are not reproducible. Strategies are now called as "
    "strategy(context, random_state=generator); one-argument strategies are deprecated and "
    "will stop working in the next minor version. Migrate: add `*, random_state=None` to its "
    "signature and draw every random number from "
    "numpy.random.default_rng(random_state)."
)


def _takes_random_state(strategy: Any) -> bool:
    """Whether ``strategy`` accepts a ``random_state`` keyword (or ``**kwargs``)."""
    try:
        params = inspect.signature(strategy).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature: assume the protocol
        return True
    for prm in params:
        if prm.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if prm.name == "random_state" and prm.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            return True
    return False


def _strategies_iv(strategies: Any) -> dict[str, StrategyLike]:
    """Check the name -> strategy mapping; return it as a dict (order kept)."""
    if not isinstance(strategies, Mapping):
        raise ValidationError(
            f"strategies must be a mapping of name to strategy, got {type(strategies).__name__}; "
            "pass e.g. {'mass': mass, 'one_to_one': one_to_one}",
            field="strategies",
        )
    if not strategies:
        raise ValidationError("strategies is empty; pass at least one", field="strategies")
    for name, f in strategies.items():
        if not isinstance(name, str):
            raise ValidationError(
                f"strategy names must be str, got {name!r}; name each strategy", field="strategies"
            )
        if not callable(f):
            raise ValidationError(
                f"strategy {name!r} is a {type(f).__name__}, not callable; pass a function "
                "f(context, *, random_state) -> Allocation",
                field="strategies",
            )
    return dict(strategies)


def _check_strategy(strategy: Any, field: str) -> None:
    if not callable(strategy):
        raise ValidationError(
            f"{field} must be a strategy f(context, *, random_state) -> Allocation, got "
            f"{type(strategy).__name__}; pass e.g. one_to_one",
            field=field,
        )


def _check_context(context: Any) -> None:
    if not isinstance(context, OfferContext):
        raise ValidationError(
            f"context must be an OfferContext (from make_context), got {type(context).__name__}",
            field="context",
        )


def _root_entropy(random_state: RandomState) -> tuple[int, ...]:
    """Entropy for the child streams, drawn once from ``random_state``."""
    rng = check_random_state(random_state)
    return tuple(int(x) for x in rng.integers(0, 2**32, size=4, dtype=np.uint64))


def _child_rng(entropy: tuple[int, ...], *key: str) -> np.random.Generator:
    """An independent stream keyed by ``key`` (e.g. ``("strategy", name)``).

    The key becomes the :class:`numpy.random.SeedSequence` ``spawn_key`` (SHA-256
    words of each part), so a stream depends only on the root entropy and its own
    key: adding, removing or reordering other strategies never changes it.
    """
    words: list[int] = []
    for part in key:
        digest = hashlib.sha256(part.encode("utf-8")).digest()[:8]
        words.extend(int(w) for w in np.frombuffer(digest, dtype="<u4"))
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=tuple(words)))


def _call_strategy(
    strategy: StrategyLike, context: OfferContext, rng: np.random.Generator, name: str
) -> Allocation:
    """Run one strategy with its generator (legacy one-argument form: warn) and check it."""
    if _takes_random_state(strategy):
        alloc = strategy(context, random_state=rng)  # type: ignore[call-arg]
    else:
        warn_deprecated(_LEGACY_MESSAGE.format(name=name), stacklevel=4)
        alloc = strategy(context)  # type: ignore[call-arg]
    if not isinstance(alloc, Allocation):
        raise ValidationError(
            f"strategy {name!r} returned a {type(alloc).__name__}, not an Allocation; a "
            "strategy must return allocate(...)'s result over context.customer",
            field="strategies",
        )
    n = context.n_customers
    if len(alloc.customer) and (int(alloc.customer.max()) >= n or int(alloc.customer.min()) < 0):
        raise ValidationError(
            f"strategy {name!r} returned customer codes outside 0..{n - 1}; an allocation must "
            "index context.customer",
            field="strategies",
        )
    if len(alloc.offer) and (
        int(alloc.offer.max()) >= context.n_offers or int(alloc.offer.min()) < 0
    ):
        raise ValidationError(
            f"strategy {name!r} returned offer codes outside 0..{context.n_offers - 1}; an "
            "allocation must index context.offers",
            field="strategies",
        )
    return alloc


#: Upper bounds of make_context's numeric options (days; log-odds per unit of discount).
_MAX_HORIZON_DAYS = 36_500.0
_MAX_ELASTICITY = 1_000.0


def _make_context_iv(
    transactions: Any,
    offers: Any,
    customer_ids: Any,
    budget: Any,
    k: Any,
    horizon_days: Any,
    budget_on: Any,
    objective: Any,
    elasticity: Any,
    method: Any,
    aggregate: Any,
    catalogue: Any,
    num_threads: Any,
    random_state: Any,
) -> tuple[npt.NDArray[Any] | None, float, int, float, float]:
    """Check make_context's arguments; return (customer_ids, budget, k, horizon, elasticity)."""
    if not isinstance(transactions, Transactions):
        raise ValidationError(
            f"transactions must be a Transactions, got {type(transactions).__name__}",
            field="transactions",
        )
    if not isinstance(offers, Offers):
        raise ValidationError(
            f"offers must be an Offers (Offers.from_pairs / from_rules), got "
            f"{type(offers).__name__}",
            field="offers",
        )
    b = check_real(budget, "budget", 0.0)
    kk = check_int(k, "k", 1, hint="; the number of offers per customer at most")
    h = check_real(
        horizon_days,
        "horizon_days",
        0.0,
        _MAX_HORIZON_DAYS,
        low_inclusive=False,
        hint="; e.g. 14 for a two-week campaign",
    )
    if objective not in ("redemptions", "incremental"):
        raise ValidationError("objective must be 'redemptions' or 'incremental'", field="objective")
    if objective == "incremental" and offers.value is None:
        raise ValidationError(
            "objective='incremental' needs offers.value (margin per purchase of the offer's items)",
            field="objective",
        )
    e = check_real(elasticity, "elasticity", 0.0, _MAX_ELASTICITY)
    if budget_on not in ("expected_cost", "sent"):
        raise ValidationError("budget_on must be 'expected_cost' or 'sent'", field="budget_on")
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}",
            field="method",
        )
    if aggregate not in ("max", "mean", "sum"):
        raise ValidationError(
            f"aggregate must be 'max', 'mean' or 'sum'; got {aggregate!r}", field="aggregate"
        )
    if catalogue is not None and not isinstance(catalogue, Catalogue):
        raise ValidationError(
            f"catalogue must be a Catalogue or None, got {type(catalogue).__name__}",
            field="catalogue",
        )
    check_num_threads(num_threads)
    check_random_state(random_state)
    ids = None
    if customer_ids is not None:
        ids = np.asarray(customer_ids)
        if ids.ndim != 1:
            raise ValidationError(
                f"customer_ids must be a 1-D array of customer ids, got shape {ids.shape}",
                field="customer_ids",
            )
        if len(ids) == 0:
            raise EmptyInputError(
                "customer_ids is empty; pass the ids of the customers to choose for",
                field="customer_ids",
            )
    return ids, b, kk, h, e


@renamed_kwargs(customers="customer_ids")
def make_context(
    transactions: Transactions,
    offers: Offers,
    *,
    as_of: TimeLike,
    budget: float,
    k: int = 1,
    customer_ids: Any = None,
    budget_on: BudgetOn = "expected_cost",
    horizon_days: float = 14.0,
    objective: Objective = "redemptions",
    elasticity: float = 0.0,
    method: AffinityMethod = "hybrid",
    aggregate: Literal["max", "mean", "sum"] = "sum",
    catalogue: Catalogue | None = None,
    num_threads: int = 0,
    random_state: RandomState = None,
) -> OfferContext:
    """Estimate each customer's purchase probability per offer and package the decision.

    The affinity model is fitted twice: once at ``as_of - horizon_days`` to
    calibrate its offer scores against who bought each offer's items in the
    following ``horizon_days`` (isotonic, :func:`~onetoone.affinity.fit_response`),
    and once at ``as_of`` to score the decision. Nothing at or after ``as_of``
    is read.

    Parameters
    ----------
    transactions : Transactions
    offers : Offers
        Over the same item ids as ``transactions``.
    as_of : time
        Decision time (e.g. the campaign start).
    budget : float
        See ``budget_on`` (finite, >= 0).
    k : int
        Offers per customer at most (>= 1).
    customer_ids : 1-D array of external ids, optional
        Customers to choose for (default: everyone in the log), as ids of
        ``transactions.customers``. Customers with no history before ``as_of``
        get the model's cold-start scores. Formerly ``customers=`` (deprecated).
    budget_on : {"expected_cost", "sent"}
    horizon_days : float
        Purchase window the probabilities refer to, in ``(0, 36500]``.
    objective : {"redemptions", "incremental"}
        What the allocation maximises (see :class:`OfferContext`).
    elasticity : float
        Log-odds gained per unit of discount fraction by a customer of average
        promotion sensitivity (e.g. 5.0: a 20 % discount adds 1 to the log-odds).
        In ``[0, 1000]``. An assumption, not learned here: calibrate it from past randomised
        campaigns (:func:`~onetoone.measurement.measure_campaign`). The default
        0 assumes no effect, so ``objective="incremental"`` then sends nothing:
        without an effect, an offer only subsidises purchases.
    method : str
        Affinity method (:func:`~onetoone.affinity.fit_affinity`).
    aggregate : {"sum", "max", "mean"}
        How item scores combine into an offer score before calibration
        (:func:`~onetoone.affinity.score_offers`). ``"sum"`` (default) lets an
        offer covering many items the customer buys score above one covering a
        single favourite, which is what "buys any of the offer's items" needs.
    catalogue : Catalogue, optional
    num_threads : int
        Threads of the affinity fits; 0 (default) uses all cores, the library's
        convention. The context is the same for every value except with
        ``method="bpr"``, whose parallel stochastic gradient descent is not
        reproducible across threads (pass ``num_threads=1`` for exact repeats).
    random_state : int, Generator or None
        Seeds the two affinity fits.

    Returns
    -------
    OfferContext

    Raises
    ------
    ValidationError
        A bad argument (the message names it): not a Transactions / Offers,
        ``budget`` < 0, ``k`` < 1, ``horizon_days`` outside ``(0, 36500]``,
        an unknown ``method``, ``objective``, ``budget_on`` or ``aggregate``,
        ``objective="incremental"`` without ``offers.value``; or no customer
        can be scored against any offer.
    EmptyInputError
        ``customer_ids`` is empty.
    UnknownIdError
        A customer id is not in ``transactions.customers``.

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=10.0, k=1, customer_ids=[5, 7, 9], method="repeat",
    ...                    random_state=0)
    >>> ctx.n_customers, bool(((ctx.p_buy >= 0) & (ctx.p_offer >= ctx.p_buy)).all())
    (3, True)
    """
    cust, budget, k, horizon_days, elasticity = _make_context_iv(
        transactions,
        offers,
        customer_ids,
        budget,
        k,
        horizon_days,
        budget_on,
        objective,
        elasticity,
        method,
        aggregate,
        catalogue,
        num_threads,
        random_state,
    )
    rng = check_random_state(random_state)
    as_of64 = to_datetime64(as_of, "as_of")
    cal_at = as_of64 - np.timedelta64(round(horizon_days * 86400), "s")
    ids = transactions.customers.values if cust is None else cust
    codes = transactions.customers.encode(ids, field="customer_ids")
    seed_cal, seed_fit = (int(s) for s in rng.integers(0, 2**31 - 1, 2))

    # calibration: scores at as_of - horizon vs purchases of each offer's items in the horizon
    def fit(at: np.datetime64, seed: int) -> Any:
        return fit_affinity(
            transactions,
            as_of=at,
            method=method,
            catalogue=catalogue,
            num_threads=num_threads,
            random_state=seed,
        )

    model_cal = fit(cal_at, seed_cal)
    s_cal = _dense_scores(model_cal, ids, offers, aggregate)
    window = customer_item_matrix(transactions.between(cal_at, as_of64), weight="lines")
    bought = _bought_offer_items(window, transactions, offers, codes)
    ok = np.isfinite(s_cal)
    if not ok.any():
        raise ValidationError("no customer could be scored against any offer", field="offers")
    response = fit_response(s_cal[ok], bought[ok].astype(np.float64))

    model = fit(as_of64, seed_fit)
    s = _dense_scores(model, ids, offers, aggregate)
    eligible = np.isfinite(s)
    p = np.where(eligible, response.predict_proba(np.where(eligible, s, 0.0)), 0.0)
    if offers.value is not None:
        net = np.nan_to_num(offers.value - offers.cost, nan=1.0)
    else:
        net = np.ones(offers.n_offers)
    profiles = build_profiles(transactions, as_of=as_of64, catalogue=catalogue)
    share = profiles.promo_line_share[codes]
    mean_share = float(np.nanmean(share)) if np.isfinite(share).any() else 0.0
    sens = np.where(np.isfinite(share) & (mean_share > 0), share / max(mean_share, 1e-12), 1.0)
    disc = _discount_fraction(transactions, offers, as_of64)
    p_offer = np.where(eligible, _boost(p, elasticity * sens[:, None] * disc[None, :]), 0.0)
    return OfferContext(
        transactions=transactions,
        as_of=as_of64,
        customer=codes,
        offers=offers,
        p_buy=p,
        p_offer=p_offer,
        sensitivity=sens,
        discount=disc,
        objective=objective,
        eligible=eligible,
        net_value=net,
        cost=np.asarray(offers.cost, dtype=np.float64),
        budget=float(budget),
        budget_on=budget_on,
        k=int(k),
        profiles=profiles,
        response=response,
        horizon_days=float(horizon_days),
    )


def _boost(p: _F64, log_odds: _F64) -> _F64:
    """``sigmoid(logit(p) + log_odds)``, exact at p = 0 and 1."""
    q = np.clip(p, 1e-12, 1 - 1e-12)
    z = np.log(q) - np.log1p(-q) + log_odds
    boosted = np.maximum(p, 1.0 / (1.0 + np.exp(-z)))  # log_odds >= 0: never below p
    out: _F64 = np.where(p <= 0, 0.0, np.where(p >= 1, 1.0, boosted))
    return out


def _discount_fraction(transactions: Transactions, offers: Offers, as_of: np.datetime64) -> _F64:
    """Cost per redemption over the mean paid unit price of each offer's items before as_of."""
    hist = transactions.between(None, as_of)
    paid = np.bincount(hist.item, weights=hist.value, minlength=hist.n_items)
    units = np.bincount(hist.item, weights=hist.quantity, minlength=hist.n_items)
    sold = units > 0
    inc = offer_item_matrix(offers, transactions)
    tot = inc @ np.divide(paid, units, out=np.zeros(hist.n_items), where=sold)
    cnt = inc @ sold.astype(np.float64)
    frac = np.divide(
        offers.cost,
        tot / np.maximum(cnt, 1),
        out=np.zeros(offers.n_offers),
        where=(cnt > 0) & (tot > 0),
    )
    out: _F64 = np.clip(frac, 0.0, 0.95)
    return out


def _dense_scores(model: Any, ids: npt.NDArray[Any], offers: Offers, aggregate: str) -> _F64:
    scores = score_offers(
        model,
        ids,
        offers,
        aggregate=aggregate,  # type: ignore[arg-type]
        unknown_customers="keep",
        unknown_items="drop",
    )
    return np.asarray(scores.to_dense(), dtype=np.float64)


def offer_item_matrix(offers: Offers, transactions: Transactions) -> sp.csr_array:
    """``(n_offers, n_items of the log)`` incidence: the offers' items in the log's codes.

    Offer items the log has never seen are left out (they cannot be bought in it).
    """
    item_codes = transactions.items.encode(
        offers.items.values, unknown="keep", field="offers.items"
    )
    known = np.flatnonzero(item_codes >= 0)
    to_log = sp.csr_array(
        (np.ones(len(known)), (known, item_codes[known])),
        shape=(len(item_codes), transactions.n_items),
    )
    return sp.csr_array(offers.incidence @ to_log)


def _bought_offer_items(
    window: sp.csr_array, transactions: Transactions, offers: Offers, codes: _I32
) -> npt.NDArray[np.bool_]:
    """(customers x offers): bought any item of the offer in the window."""
    hits = window[codes] @ offer_item_matrix(offers, transactions).T
    return np.asarray(hits.toarray() > 0)


def _allocate(context: OfferContext, p_buy: _F64, p_offer: _F64) -> Allocation:
    return allocate(context.problem(p_buy, p_offer), method="dual")


def _group_estimates(
    context: OfferContext, labels: npt.NDArray[np.int64], n_groups: int, rng: np.random.Generator
) -> tuple[_F64, _F64]:
    """Both probability matrices replaced by their group means (eligible pairs only)."""
    elig = context.eligible
    out = []
    for p in (context.p_buy, context.p_offer):
        avg = _masked_mean(p, elig, labels, n_groups)
        out.append(np.where(elig, avg[labels], 0.0))
    jitter = 1.0 + 1e-9 * rng.random(elig.shape)  # ties between customers break at random
    return out[0] * jitter, out[1] * jitter


def _mass_iv(context: Any, random_state: Any) -> np.random.Generator:
    _check_context(context)
    return check_random_state(random_state)


def mass(context: OfferContext, *, random_state: RandomState = None) -> Allocation:
    """The same offers for everyone: rank offers by the population's average estimate.

    While the budget lasts, customers receive the population's best ``k``
    offers in a random order (a seeded tie-break): "rain" marketing.

    Parameters
    ----------
    context : OfferContext
    random_state : int, Generator or None
        Decides the random order of customers; the evaluators pass their own
        generator (see :class:`Strategy`). ``None`` (fresh entropy) gives a
        different plan at each call.

    Returns
    -------
    Allocation
        Over ``context.customer`` (customer codes are positions in it).

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`, or a bad ``random_state``.

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, k=1, method="repeat", random_state=0)
    >>> plan = mass(ctx, random_state=0)
    >>> len(set(plan.offer.tolist())) <= 1   # the same offer for everyone reached
    True
    """
    rng = _mass_iv(context, random_state)
    labels = np.zeros(context.n_customers, dtype=np.int64)
    return _allocate(context, *_group_estimates(context, labels, 1, rng))


@renamed_kwargs(customers="customer")
def segment_labels(
    profiles: Profiles,
    customer: _I32,
    *,
    n_segments: int = 5,
    by: Literal["rfm", "kmeans"] = "rfm",
    random_state: RandomState = None,
) -> npt.NDArray[np.int64]:
    """Segment label (``0 .. n_segments-1``) of each ``customer`` code from their profiles.

    ``"rfm"``: the sum of the recency (reversed), frequency and monetary
    quintile ranks, cut into ``n_segments`` equal-count groups. ``"kmeans"``:
    k-means (``scipy.cluster.vq.kmeans2``, seeded) on standardised
    ``log1p`` recency, frequency, monetary, basket value and discount share.
    Customers without history form their own segment label 0 under ``"rfm"``.

    Parameters
    ----------
    profiles : Profiles
    customer : 1-D array of int codes
        Rows of ``profiles`` (codes into the log's ``customers`` index), e.g.
        ``context.customer``. Formerly ``customers=`` (deprecated).
    n_segments : int
        At least 1; more segments than customers gives one customer each.
    by : {"rfm", "kmeans"}
    random_state : int, Generator or None
        Seeds k-means (unused by ``"rfm"``).

    Returns
    -------
    int64 array
        One label per ``customer``.

    Raises
    ------
    ValidationError
        ``profiles`` is not a :class:`~onetoone.profiles.Profiles`, ``customer``
        is not 1-D integer codes into it, ``n_segments`` is not an int >= 1
        (for ``"kmeans"``: at most the number of customers), or ``by`` is unknown.

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> labels = segment_labels(ctx.profiles, ctx.customer, n_segments=4)
    >>> np.bincount(labels).tolist()   # equal-count RFM groups
    [30, 30, 30, 30]
    """
    codes, n_segments = _segment_labels_iv(profiles, customer, n_segments, by, random_state)
    rec = np.nan_to_num(profiles.recency_days[codes], nan=1e6)
    freq = profiles.frequency[codes]
    mon = profiles.monetary[codes]
    if by == "rfm":

        def rank(x: _F64) -> _F64:
            out: _F64 = np.argsort(np.argsort(x, kind="stable"), kind="stable") / max(len(x) - 1, 1)
            return out

        score = (1 - rank(rec)) + rank(freq) + rank(mon)
        order = np.argsort(np.argsort(score, kind="stable"), kind="stable")
        # more segments than customers: one customer each (same partition, no overflow)
        n_seg = min(n_segments, max(len(score), 1))
        return np.minimum(order * n_seg // max(len(score), 1), n_seg - 1).astype(np.int64)
    if by == "kmeans":
        from scipy.cluster.vq import kmeans2

        feats = np.column_stack(
            [
                np.log1p(np.minimum(rec, 1e4)),
                np.log1p(freq),
                np.log1p(np.maximum(mon, 0)),
                np.log1p(np.nan_to_num(profiles.avg_basket_value[codes])),
                np.nan_to_num(profiles.discount_share[codes]),
            ]
        )
        sd = feats.std(axis=0)
        feats = (feats - feats.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        rng = check_random_state(random_state)
        _, labels = kmeans2(feats, n_segments, minit="++", seed=rng)
        return np.asarray(labels, dtype=np.int64)
    raise AssertionError("unreachable: by was validated")  # pragma: no cover


def _segment_labels_iv(
    profiles: Any, customer: Any, n_segments: Any, by: Any, random_state: Any
) -> tuple[npt.NDArray[np.int64], int]:
    if not isinstance(profiles, Profiles):
        raise ValidationError(
            f"profiles must be a Profiles (from build_profiles), got {type(profiles).__name__}",
            field="profiles",
        )
    if by not in ("rfm", "kmeans"):
        raise ValidationError(f"by must be 'rfm' or 'kmeans', got {by!r}", field="by")
    c = np.asarray(customer)
    if c.ndim != 1 or not (c.dtype.kind in "iu" or (c.size == 0 and c.dtype.kind == "f")):
        raise ValidationError(
            f"customer must be a 1-D array of integer codes into profiles, got "
            f"{'shape ' + str(c.shape) if c.ndim != 1 else 'dtype ' + str(c.dtype)}; pass e.g. "
            "context.customer",
            field="customer",
        )
    n_prof = len(profiles.frequency)
    if c.size and (int(c.min()) < 0 or int(c.max()) >= n_prof):
        raise ValidationError(
            f"customer must be codes in 0..{n_prof - 1} (rows of profiles); encode external "
            "ids with transactions.customers.encode",
            field="customer",
        )
    high = max(len(c), 1) if by == "kmeans" else None
    hint = " (k-means needs at least as many customers as segments)" if by == "kmeans" else ""
    n = check_int(n_segments, "n_segments", 1, high, hint=hint)
    check_random_state(random_state)
    return c.astype(np.int64), n


def _segment_iv(context: Any, random_state: Any) -> np.random.Generator:
    _check_context(context)
    return check_random_state(random_state)


def segment(
    context: OfferContext,
    *,
    n_segments: int = 5,
    by: Literal["rfm", "kmeans"] = "rfm",
    random_state: RandomState = None,
) -> Allocation:
    """A few big segments: each acts on its segment's average estimate per offer.

    Parameters
    ----------
    context : OfferContext
    n_segments, by
        As in :func:`segment_labels`.
    random_state : int, Generator or None
        Seeds k-means (``by="kmeans"``) and the random order of customers
        within a segment; the evaluators pass their own generator (see
        :class:`Strategy`).

    Returns
    -------
    Allocation
        Over ``context.customer``.

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`, or a bad option (see
        :func:`segment_labels`).

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> plan = segment(ctx, n_segments=3, random_state=0)
    >>> bool(plan.budget_spend[0] <= 5.0 + 1e-9)
    True
    """
    rng = _segment_iv(context, random_state)
    labels = segment_labels(
        context.profiles, context.customer, n_segments=n_segments, by=by, random_state=rng
    )
    n_groups = int(labels.max()) + 1 if len(labels) else 1
    return _allocate(context, *_group_estimates(context, labels, n_groups, rng))


def _one_to_one_iv(context: Any, random_state: Any) -> None:
    _check_context(context)
    check_random_state(random_state)


def one_to_one(context: OfferContext, *, random_state: RandomState = None) -> Allocation:
    """Each customer acts on their own estimate: the full affinity + allocation pipeline.

    Parameters
    ----------
    context : OfferContext
    random_state : int, Generator or None
        Accepted for the :class:`Strategy` protocol; the plan is deterministic
        and draws no random numbers.

    Returns
    -------
    Allocation
        Over ``context.customer``.

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`, or a bad ``random_state``.

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(300, 80, 6, history_weeks=10, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=20.0, k=1, method="repeat", random_state=0)
    >>> plans = run_strategies(ctx, {"mass": mass, "segment": segment,
    ...                              "one_to_one": one_to_one}, random_state=0)
    >>> all(a.budget_spend[0] <= 20.0 + 1e-9 for a in plans.values())
    True
    """
    _one_to_one_iv(context, random_state)  # nothing is drawn
    return _allocate(context, np.asarray(context.p_buy), np.asarray(context.p_offer))


def _masked_mean(
    p: _F64, mask: npt.NDArray[np.bool_], labels: npt.NDArray[np.int64], n_groups: int
) -> _F64:
    """(n_groups, n_offers) mean of ``p`` over eligible members of each group."""
    onehot = sp.csr_array(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_groups, len(labels))
    )
    num = onehot @ np.where(mask, p, 0.0)
    den = onehot @ mask.astype(np.float64)
    out: _F64 = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out


def run_strategies(
    context: OfferContext,
    strategies: Mapping[str, StrategyLike],
    *,
    random_state: RandomState = None,
) -> dict[str, Allocation]:
    """Run each named strategy on the same context, each with its own random stream.

    Parameters
    ----------
    context : OfferContext
    strategies : mapping of name to Strategy
        Each is called as ``strategy(context, random_state=generator)``.
    random_state : int, Generator or None
        Root of the strategies' generators. Each strategy gets an independent
        child stream keyed by its name (:class:`numpy.random.SeedSequence`), so
        the same seed gives the same plans, and adding or removing a strategy
        never changes another's draws. :func:`replay_campaign` derives the same
        streams, so its allocations equal these for the same seed.

    Returns
    -------
    dict of str to Allocation

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`, ``strategies`` is not a
        non-empty mapping of names to callables, or a strategy returns something
        other than an allocation over ``context``.

    Warns
    -----
    OneToOneDeprecationWarning
        A strategy takes no ``random_state`` keyword (the old one-argument
        form; it stops working in the next minor version).

    Examples
    --------
    >>> from onetoone.bench import market_offers, simulate_market
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> plans = run_strategies(ctx, {"mass": mass, "one_to_one": one_to_one},
    ...                        random_state=0)
    >>> sorted(plans)
    ['mass', 'one_to_one']
    >>> all(bool(a.budget_spend[0] <= 5.0 + 1e-9) for a in plans.values())
    True
    """
    names = _run_strategies_iv(context, strategies, random_state)
    entropy = _root_entropy(random_state)
    return {
        name: _call_strategy(f, context, _child_rng(entropy, "strategy", name), name)
        for name, f in names.items()
    }


def _run_strategies_iv(context: Any, strategies: Any, random_state: Any) -> dict[str, StrategyLike]:
    _check_context(context)
    out = _strategies_iv(strategies)
    check_random_state(random_state)
    return out
