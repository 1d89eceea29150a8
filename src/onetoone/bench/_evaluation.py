"""Judging strategies: replay on a historical campaign, and simulation with known truth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._deprecation import warn_deprecated
from onetoone.affinity import METHODS, AffinityMethod
from onetoone.allocation import Allocation
from onetoone.bench._checks import (
    RandomState,
    TimeLike,
    as_1d,
    check_alpha,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    is_int,
    readonly,
    to_datetime64,
)
from onetoone.bench._core import (
    OfferContext,
    StrategyLike,
    _call_strategy,
    _check_context,
    _check_strategy,
    _child_rng,
    _root_entropy,
    _strategies_iv,
    make_context,
    offer_item_matrix,
)
from onetoone.bench._simulator import Market, PlanOutcome, evaluate_plan, market_offers
from onetoone.data import customer_item_matrix
from onetoone.errors import ValidationError

__all__ = ["ReplayResult", "SimulationResult", "replay_campaign", "simulate"]

_F64 = npt.NDArray[np.float64]

METRICS = ("redemptions", "purchase_hits", "value_covered")
#: Largest ``n_boot`` accepted (the resample table holds n_boot x strategies x metrics).
MAX_BOOT = 1_000_000


@attrs.frozen(eq=False)
class ReplayResult:
    """Per-strategy replay figures on a historical campaign, per targeted customer.

    Attributes
    ----------
    strategies : tuple of str
    metrics : tuple of str
        ``redemptions``: chosen offers the customer actually redeemed;
        ``purchase_hits``: chosen offers with at least one covered item bought
        during the campaign; ``value_covered``: spend during the campaign on
        items covered by the chosen offers.
    mean : float array, shape (n_strategies, n_metrics)
        Mean per targeted customer.
    ci_low, ci_high : float arrays, same shape
        Percentile bootstrap interval over customers at level ``confidence``.
    diff_vs_first, diff_low, diff_high : float arrays, same shape
        Paired difference with the first strategy (same bootstrap resamples).
    n_customers : int
    n_offers_sent : int array, per strategy
    allocations : Mapping[str, Allocation]
        Each strategy's plan over ``context.customer``.
    confidence : float
        Level of the intervals, ``1 - alpha`` (formerly ``alpha``, a deprecated
        property now).
    n_boot : int

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> from onetoone.bench import mass, one_to_one
    >>> m = simulate_market(120, 60, 4, history_weeks=8, campaign_weeks=2, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> res = replay_campaign(ctx, {"mass": mass, "one_to_one": one_to_one},
    ...                       start=m.campaign_start, end=m.campaign_start + 14 * 86400,
    ...                       n_boot=50, random_state=0)
    >>> res.strategies, res.mean.shape, res.confidence
    (('mass', 'one_to_one'), (2, 3), 0.95)
    """

    strategies: tuple[str, ...]
    metrics: tuple[str, ...]
    mean: _F64 = attrs.field(converter=readonly)
    ci_low: _F64 = attrs.field(converter=readonly)
    ci_high: _F64 = attrs.field(converter=readonly)
    diff_vs_first: _F64 = attrs.field(converter=readonly)
    diff_low: _F64 = attrs.field(converter=readonly)
    diff_high: _F64 = attrs.field(converter=readonly)
    n_customers: int
    n_offers_sent: npt.NDArray[np.int64] = attrs.field(converter=readonly)
    allocations: Mapping[str, Allocation] = attrs.field(repr=False)
    confidence: float
    n_boot: int

    def __attrs_post_init__(self) -> None:
        shape = (len(self.strategies), len(self.metrics))
        for name in ("mean", "ci_low", "ci_high", "diff_vs_first", "diff_low", "diff_high"):
            if getattr(self, name).shape != shape:
                raise ValidationError(
                    f"{name} has shape {getattr(self, name).shape}, expected {shape} "
                    "(n_strategies, n_metrics)",
                    field=name,
                )
        if self.n_offers_sent.shape != (shape[0],):
            raise ValidationError(
                "n_offers_sent must hold one count per strategy", field="n_offers_sent"
            )
        if not 0 < self.confidence < 1:
            raise ValidationError(
                f"confidence must lie in (0, 1), got {self.confidence!r}", field="confidence"
            )

    @property
    def alpha(self) -> float:
        """Deprecated: ``1 - confidence`` (the library's intervals carry ``confidence``)."""
        warn_deprecated("ReplayResult.alpha is replaced by ReplayResult.confidence (= 1 - alpha)")
        return 1.0 - self.confidence

    def summary(self) -> str:
        """A text table: each metric's mean and interval per strategy.

        Examples
        --------
        >>> from onetoone.bench import make_context, market_offers, mass, simulate_market
        >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
        >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
        ...                    budget=5.0, method="repeat", random_state=0)
        >>> res = replay_campaign(ctx, {"mass": mass}, start=m.campaign_start,
        ...                       end=m.campaign_start + 14 * 86400, n_boot=20, random_state=0)
        >>> print(res.summary().splitlines()[0])
        replay over 120 customers (95% bootstrap intervals, 20 resamples)
        """
        lvl = round(100 * self.confidence)
        lines = [
            f"replay over {self.n_customers:,} customers ({lvl}% bootstrap intervals, "
            f"{self.n_boot} resamples)"
        ]
        head = f"{'strategy':<14}{'sent':>7}" + "".join(f"{m:>28}" for m in self.metrics)
        lines.append(head)
        for s, name in enumerate(self.strategies):
            row = f"{name:<14}{int(self.n_offers_sent[s]):>7}"
            for j in range(len(self.metrics)):
                row += (
                    f"{self.mean[s, j]:>10.3f} [{self.ci_low[s, j]:.3f}, {self.ci_high[s, j]:.3f}]"
                )
            lines.append(row)
        return "\n".join(lines)


def _outcomes(
    context: OfferContext, start: np.datetime64, end: np.datetime64, redemptions: Any
) -> tuple[_F64, _F64, _F64]:
    """(n_customers x n_offers) redeemed, bought, value of covered items in [start, end)."""
    tx = context.transactions
    window = tx.between(start, end)
    lines = customer_item_matrix(window, weight="lines")[context.customer]
    spend = customer_item_matrix(window, weight="value")[context.customer]
    offers = context.offers
    offer_log = offer_item_matrix(offers, tx)
    bought = np.asarray((lines @ offer_log.T).toarray() > 0, dtype=np.float64)
    value = np.asarray((spend @ offer_log.T).toarray(), dtype=np.float64)
    redeemed = np.zeros_like(bought)
    if redemptions is not None:
        r_cust, r_offer = redemptions
        pos = np.full(tx.n_customers + 1, -1, dtype=np.int64)  # last slot: unknown ids
        pos[context.customer] = np.arange(len(context.customer))
        cust_codes = tx.customers.encode(np.asarray(r_cust), unknown="keep", field="redemptions")
        rows = pos[cust_codes]  # code -1 reads the last slot
        cols = offers.ids.encode(np.asarray(r_offer), unknown="keep", field="redemptions")
        ok = (rows >= 0) & (cols >= 0)
        redeemed[rows[ok], cols[ok]] = 1.0
    return redeemed, bought, value


def _replay_campaign_iv(
    context: Any,
    strategies: Any,
    start: Any,
    end: Any,
    redemptions: Any,
    n_boot: Any,
    alpha: Any,
    random_state: Any,
) -> tuple[
    dict[str, StrategyLike], np.datetime64, np.datetime64, tuple[Any, Any] | None, int, float
]:
    _check_context(context)
    names = _strategies_iv(strategies)
    if not (is_int(n_boot) and 1 <= n_boot <= MAX_BOOT):
        raise ValidationError(
            f"n_boot must be an int in 1..{MAX_BOOT:,}, got {n_boot!r}; 1000 is plenty for "
            "95% intervals",
            field="n_boot",
        )
    a = check_alpha(alpha)
    start64, end64 = to_datetime64(start, "start"), to_datetime64(end, "end")
    if not start64 < end64:
        raise ValidationError(f"end ({end64}) must be after start ({start64})", field="end")
    if context.as_of > start64:
        raise ValidationError(
            "context.as_of is after the campaign start: the strategies would see the campaign",
            field="context",
        )
    red = None
    if redemptions is not None:
        if not (isinstance(redemptions, tuple) and len(redemptions) == 2):
            raise ValidationError(
                "redemptions must be a (customer ids, offer ids) pair of aligned arrays, got "
                f"{type(redemptions).__name__}",
                field="redemptions",
            )
        rc = as_1d(redemptions[0], "redemptions customer ids")
        ro = as_1d(redemptions[1], "redemptions offer ids")
        check_same_length(len(rc), "redemptions_customer_ids", {"redemptions_offer_ids": ro})
        red = (rc, ro)
    check_random_state(random_state)
    return names, start64, end64, red, int(n_boot), a


def replay_campaign(
    context: OfferContext,
    strategies: Mapping[str, StrategyLike],
    *,
    start: TimeLike,
    end: TimeLike,
    redemptions: tuple[Any, Any] | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: RandomState = None,
) -> ReplayResult:
    """Let each strategy choose offers for a historical campaign and score the choices.

    Each strategy chooses, from ``context`` (built at the campaign start, so
    it sees nothing of the campaign), up to ``context.k`` offers per targeted
    customer within the budget. The choices are scored against what the
    customers actually did in ``[start, end)``: redemptions of the chosen
    offers, purchases of their items, and the spend they cover.

    This is an *offline replay*: the customers received the retailer's own
    selection, not the strategy's, so purchase hits measure how well a strategy
    anticipates demand, not the offers' causal effect (see the simulator for
    that).

    Parameters
    ----------
    context : OfferContext
        Built with ``as_of=start`` for the campaign's targeted customers.
    strategies : mapping of name to Strategy
    start, end : time
        Campaign period (``end`` exclusive).
    redemptions : (customer ids, offer ids), optional
        Redemptions during the campaign.
    n_boot : int
        Bootstrap resamples over customers (paired across strategies), at most
        :data:`MAX_BOOT`.
    alpha : float
        The intervals have level ``1 - alpha`` (``ReplayResult.confidence``).
    random_state : int, Generator or None
        Root of every random draw: each strategy is called with an independent
        child generator keyed by its name (the same streams as
        :func:`run_strategies`), and the bootstrap has its own. The same seed
        gives the same result; adding a strategy changes no other's draws.

    Returns
    -------
    ReplayResult

    Raises
    ------
    ValidationError
        A bad argument (the message names it), or a strategy that returns
        something other than an allocation over ``context``.

    Warns
    -----
    OneToOneDeprecationWarning
        A strategy takes no ``random_state`` keyword (see :class:`Strategy`).

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> from onetoone.bench import mass, one_to_one
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=5.0, method="repeat", random_state=0)
    >>> res = replay_campaign(ctx, {"mass": mass, "one_to_one": one_to_one},
    ...                       start=m.campaign_start, end=m.campaign_start + 14 * 86400,
    ...                       n_boot=50, random_state=0)
    >>> res.metrics
    ('redemptions', 'purchase_hits', 'value_covered')
    >>> bool((res.ci_low <= res.mean).all() and (res.mean <= res.ci_high).all())
    True
    """
    names, start64, end64, redemptions, n_boot, alpha = _replay_campaign_iv(
        context, strategies, start, end, redemptions, n_boot, alpha, random_state
    )
    entropy = _root_entropy(random_state)
    redeemed, bought, value = _outcomes(context, start64, end64, redemptions)
    n = context.n_customers
    per_cust = np.zeros((len(names), len(METRICS), n))
    allocations: dict[str, Allocation] = {}
    sent = np.zeros(len(names), dtype=np.int64)
    for s, (name, strategy) in enumerate(names.items()):
        alloc = _call_strategy(strategy, context, _child_rng(entropy, "strategy", name), name)
        allocations[name] = alloc
        c, o = alloc.customer, alloc.offer
        sent[s] = len(c)
        for j, outcome in enumerate((redeemed, bought, value)):
            per_cust[s, j] = np.bincount(c, weights=outcome[c, o], minlength=n)
    mean = per_cust.mean(axis=2)
    rng = _child_rng(entropy, "bootstrap")
    boot = np.empty((n_boot, len(names), len(METRICS)))
    for b in range(n_boot):  # one resample at a time: memory O(n), not O(n_boot x n)
        boot[b] = per_cust[:, :, rng.integers(0, n, n)].mean(axis=2)
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    diff = boot - boot[:, :1, :]
    return ReplayResult(
        strategies=tuple(names),
        metrics=METRICS,
        mean=mean,
        ci_low=np.percentile(boot, lo, axis=0),
        ci_high=np.percentile(boot, hi, axis=0),
        diff_vs_first=mean - mean[:1],
        diff_low=np.percentile(diff, lo, axis=0),
        diff_high=np.percentile(diff, hi, axis=0),
        n_customers=n,
        n_offers_sent=sent,
        allocations=allocations,
        confidence=1.0 - alpha,
        n_boot=n_boot,
    )


@attrs.frozen(eq=False)
class SimulationResult:
    """A strategy's plan in a simulated market and its true outcome.

    Attributes
    ----------
    allocation : Allocation
        The plan, over ``context.customer`` (all the market's customers; their
        codes equal their ids).
    outcome : PlanOutcome
        True expected incremental profit, cost and ROI, plus one realised draw.
    estimated_value : float
        The plan's value as the strategy estimated it (the allocation objective).

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> from onetoone.bench import mass, one_to_one
    >>> m = simulate_market(120, 60, 4, history_weeks=8, random_state=0)
    >>> r = simulate(one_to_one, m, budget=5.0, method="repeat", random_state=0)
    >>> r.outcome.n_assignments == len(r.allocation.customer)
    True
    """

    allocation: Allocation
    outcome: PlanOutcome
    estimated_value: float


def _simulate_iv(
    strategy: Any,
    market: Any,
    budget: Any,
    k: Any,
    context: Any,
    method: Any,
    random_state: Any,
) -> None:
    _check_strategy(strategy, "strategy")
    if not isinstance(market, Market):
        raise ValidationError(
            f"market must be a Market (from simulate_market), got {type(market).__name__}",
            field="market",
        )
    check_real(budget, "budget", 0.0)
    check_int(k, "k", 1, hint="; the number of offers per customer at most")
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}",
            field="method",
        )
    if context is not None:
        _check_context(context)
        if (
            context.n_offers != market.n_offers
            or context.transactions.n_customers != market.n_customers
            or context.transactions.customers != market.history.customers
        ):
            raise ValidationError(
                "context was not built on this market's history and offers; build it with "
                "make_context(market.history, market_offers(market), ...) or pass context=None",
                field="context",
            )
    check_random_state(random_state)


def simulate(
    strategy: StrategyLike,
    market: Market,
    *,
    budget: float,
    k: int = 1,
    context: OfferContext | None = None,
    method: AffinityMethod = "hybrid",
    random_state: RandomState = None,
) -> SimulationResult:
    """Run ``strategy`` in a simulated ``market`` and return its true incremental profit.

    The strategy sees only the market's history (through :func:`make_context`
    at the campaign start); the simulator then computes the plan's true
    expected incremental profit, cost and ROI (:func:`evaluate_plan`).

    Pass a prebuilt ``context`` to compare several strategies on the same
    estimates (its budget and ``k`` are then used).

    Parameters
    ----------
    strategy : Strategy
        Called as ``strategy(context, random_state=generator)``.
    market : Market
    budget : float
    k : int
    context : OfferContext, optional
        Built on ``market.history`` and ``market_offers(market)``.
    method : str
        Affinity method when the context is built here.
    random_state : int, Generator or None
        Root of three independent child streams: the context's model fits, the
        strategy's generator and the realised draw of the outcome. The same seed
        gives the same result, and strategies simulated with the same seed share
        the outcome stream (common random numbers).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValidationError
        A bad argument (the message names it), e.g. ``market`` not a
        :class:`Market`, or a ``context`` built on another market.

    Warns
    -----
    OneToOneDeprecationWarning
        ``strategy`` takes no ``random_state`` keyword (see :class:`Strategy`).

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> from onetoone.bench import mass, one_to_one
    >>> m = simulate_market(300, 80, 6, history_weeks=10, random_state=0)
    >>> r = simulate(one_to_one, m, budget=15.0, method="repeat", random_state=0)
    >>> bool(r.allocation.budget_spend[0] <= 15.0 + 1e-9)
    True
    """
    _simulate_iv(strategy, market, budget, k, context, method, random_state)
    entropy = _root_entropy(random_state)
    if context is None:
        context = make_context(
            market.history,
            market_offers(market),
            as_of=market.campaign_start,
            budget=float(budget),
            k=int(k),
            horizon_days=7.0 * market.campaign_weeks,
            method=method,
            random_state=_child_rng(entropy, "context"),
        )
    name = getattr(strategy, "__name__", type(strategy).__name__)
    alloc = _call_strategy(strategy, context, _child_rng(entropy, "strategy"), name)
    outcome = evaluate_plan(
        market,
        context.customer[alloc.customer],
        alloc.offer,
        random_state=_child_rng(entropy, "outcome"),
    )
    return SimulationResult(allocation=alloc, outcome=outcome, estimated_value=alloc.objective)
