"""Bad input to the strategies stage gives a typed error naming the argument (issue 12, #9).

One row per check, in the style of scipy's ``test_milp_iv``: the call, the
exception and a pattern of its message, and the ``field`` it names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from onetoone import EmptyInputError, OneToOneError, ValidationError
from onetoone.bench import (
    OfferContext,
    doubly_robust,
    evaluate_plan,
    ips,
    log_campaign,
    make_context,
    market_offers,
    mass,
    one_to_one,
    replay_campaign,
    run_strategies,
    segment,
    segment_labels,
    simulate,
    simulate_market,
    snips,
)
from onetoone.errors import UnknownIdError


@functools.cache
def _m() -> Any:
    return simulate_market(60, 30, 4, history_weeks=4, random_state=0)


@functools.cache
def _ctx() -> OfferContext:
    m = _m()
    return make_context(
        m.history,
        market_offers(m),
        as_of=m.campaign_start,
        budget=5.0,
        method="repeat",
        random_state=0,
    )


def _start() -> np.datetime64:
    return np.datetime64(_m().campaign_start)


def _replay(**kw: Any) -> Any:
    args: dict[str, Any] = dict(
        strategies={"m": mass}, start=_start(), end=_start() + np.timedelta64(7, "D"), n_boot=5
    )
    args.update(kw)
    ctx = args.pop("context", _ctx())
    return replay_campaign(ctx, args.pop("strategies"), **args)


def _mc(**kw: Any) -> Any:
    m = _m()
    args: dict[str, Any] = dict(as_of=m.campaign_start, budget=5.0, method="repeat")
    args.update(kw)
    return make_context(
        args.pop("transactions", m.history), args.pop("offers", market_offers(m)), **args
    )


def _sm(**kw: Any) -> Any:
    args: dict[str, Any] = dict(n_customers=20, n_items=10, n_offers=2, history_weeks=2)
    args.update(kw)
    return simulate_market(**args)


def _ope(fn: Callable[..., Any], **kw: Any) -> Any:
    args: dict[str, Any] = dict(
        reward=[1.0, 0.0], logging_propensity=[0.5, 0.5], target_propensity=[1, 0]
    )
    if fn is doubly_robust:
        args.update(reward_hat=[0.5, 0.5], target_reward_hat=[0.5, 0.5])
    args.update(kw)
    return fn(
        args.pop("reward"), args.pop("logging_propensity"), args.pop("target_propensity"), **args
    )


CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    # run_strategies
    (
        "run_strategies context",
        lambda: run_strategies("ctx", {"m": mass}),  # type: ignore[arg-type]
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
    (
        "run_strategies mapping",
        lambda: run_strategies(_ctx(), [mass]),  # type: ignore[arg-type]
        ValidationError,
        "strategies must be a mapping",
        "strategies",
    ),
    (
        "run_strategies empty",
        lambda: run_strategies(_ctx(), {}),
        ValidationError,
        "strategies is empty",
        "strategies",
    ),
    (
        "run_strategies name",
        lambda: run_strategies(_ctx(), {1: mass}),  # type: ignore[dict-item]
        ValidationError,
        "strategy names must be str",
        "strategies",
    ),
    (
        "run_strategies random_state",
        lambda: run_strategies(_ctx(), {"m": mass}, random_state="x"),  # type: ignore[arg-type]
        ValidationError,
        "random_state must be",
        "random_state",
    ),
    # replay_campaign
    (
        "replay context",
        lambda: _replay(context=None),
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
    (
        "replay strategies",
        lambda: _replay(strategies="mass"),
        ValidationError,
        "strategies must be a mapping",
        "strategies",
    ),
    (
        "replay n_boot 0",
        lambda: _replay(n_boot=0),
        ValidationError,
        "n_boot must be an int in 1",
        "n_boot",
    ),
    (
        "replay n_boot huge",
        lambda: _replay(n_boot=10**12),
        ValidationError,
        "n_boot must be an int in 1..1,000,000",
        "n_boot",
    ),
    (
        "replay n_boot float",
        lambda: _replay(n_boot=10.0),
        ValidationError,
        "n_boot must be an int",
        "n_boot",
    ),
    (
        "replay alpha nan",
        lambda: _replay(alpha=float("nan")),
        ValidationError,
        r"alpha must lie in \(0, 1\)",
        "alpha",
    ),
    (
        "replay alpha str",
        lambda: _replay(alpha="0.05"),
        ValidationError,
        r"alpha must lie in \(0, 1\)",
        "alpha",
    ),
    (
        "replay start",
        lambda: _replay(start="soon"),
        ValidationError,
        "start='soon' is not a valid",
        "start",
    ),
    (
        "replay redemptions type",
        lambda: _replay(redemptions=[1, 2]),
        ValidationError,
        "redemptions must be a .customer ids, offer ids. pair",
        "redemptions",
    ),
    (
        "replay redemptions lengths",
        lambda: _replay(redemptions=([1, 2], [0])),
        ValidationError,
        "redemptions_offer_ids has 1 entries but redemptions_customer_ids has 2",
        "redemptions_offer_ids",
    ),
    (
        "replay redemptions 2-D",
        lambda: _replay(redemptions=([[1]], [0])),
        ValidationError,
        "must be one-dimensional",
        "redemptions customer ids",
    ),
    # simulate
    (
        "simulate str market",
        lambda: simulate(one_to_one, "str", budget=1.0),  # type: ignore[arg-type]
        ValidationError,
        "market must be a Market .from simulate_market., got str",
        "market",
    ),
    (
        "simulate None market",
        lambda: simulate(one_to_one, None, budget=1.0),  # type: ignore[arg-type]
        ValidationError,
        "market must be a Market",
        "market",
    ),
    (
        "simulate strategy",
        lambda: simulate("one_to_one", _m(), budget=1.0),  # type: ignore[arg-type]
        ValidationError,
        "strategy must be a strategy",
        "strategy",
    ),
    (
        "simulate budget inf",
        lambda: simulate(one_to_one, _m(), budget=float("inf")),
        ValidationError,
        "budget must be a finite number >= 0",
        "budget",
    ),
    (
        "simulate budget huge int",
        lambda: simulate(one_to_one, _m(), budget=10**400),
        ValidationError,
        "budget must be a finite number >= 0",
        "budget",
    ),
    (
        "simulate k",
        lambda: simulate(one_to_one, _m(), budget=1.0, k=0),
        ValidationError,
        "k must be an int >= 1",
        "k",
    ),
    (
        "simulate method",
        lambda: simulate(one_to_one, _m(), budget=1.0, method="svd"),  # type: ignore[arg-type]
        ValidationError,
        "method must be one of",
        "method",
    ),
    (
        "simulate context type",
        lambda: simulate(one_to_one, _m(), budget=1.0, context="c"),  # type: ignore[arg-type]
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
    (
        "simulate context of another market",
        lambda: simulate(
            one_to_one,
            simulate_market(30, 20, 3, history_weeks=3, random_state=1),
            budget=1.0,
            context=_ctx(),
        ),
        ValidationError,
        "context was not built on this market",
        "context",
    ),
    # simulate_market
    (
        "simulate_market n_customers str",
        lambda: _sm(n_customers="abc"),
        ValidationError,
        "n_customers must be an int >= 1",
        "n_customers",
    ),
    (
        "simulate_market n_items float",
        lambda: _sm(n_items=10.0),
        ValidationError,
        "n_items must be an int >= 1",
        "n_items",
    ),
    (
        "simulate_market n_offers 0",
        lambda: _sm(n_offers=0),
        ValidationError,
        "n_offers must be an int >= 1",
        "n_offers",
    ),
    (
        "simulate_market too big",
        lambda: _sm(n_customers=10**6, n_items=10**6),
        ValidationError,
        "exceeds 200,000,000",
        "n_customers",
    ),
    (
        "simulate_market history_weeks huge",
        lambda: _sm(history_weeks=10**30),
        ValidationError,
        "history_weeks must be an int >= 1 and <= 1,040",
        "history_weeks",
    ),
    (
        "simulate_market campaign_weeks float",
        lambda: _sm(campaign_weeks=1.5),
        ValidationError,
        "campaign_weeks must be an int",
        "campaign_weeks",
    ),
    (
        "simulate_market latent_dim",
        lambda: _sm(latent_dim=-1),
        ValidationError,
        "latent_dim must be an int >= 1",
        "latent_dim",
    ),
    (
        "simulate_market items_per_offer",
        lambda: _sm(items_per_offer=11),
        ValidationError,
        "items_per_offer must be an int >= 1 and <= 10",
        "items_per_offer",
    ),
    (
        "simulate_market margin_rate",
        lambda: _sm(margin_rate=None),
        ValidationError,
        r"margin_rate must be a number in \(0, 1\)",
        "margin_rate",
    ),
    (
        "simulate_market discount_range",
        lambda: _sm(discount_range=0.2),
        ValidationError,
        "discount_range must be a .low, high. pair",
        "discount_range",
    ),
    (
        "simulate_market kappa nan",
        lambda: _sm(kappa=float("nan")),
        ValidationError,
        "kappa must be a finite number >= 0 and <= 100",
        "kappa",
    ),
    (
        "simulate_market kappa negative",
        lambda: _sm(kappa=-1.0),
        ValidationError,
        "kappa must be a finite number >= 0",
        "kappa",
    ),
    (
        "simulate_market taste_scale",
        lambda: _sm(taste_scale=1e308),
        ValidationError,
        "taste_scale must be a finite number",
        "taste_scale",
    ),
    (
        "simulate_market sensitivity_shape",
        lambda: _sm(sensitivity_shape=0),
        ValidationError,
        "sensitivity_shape must be a finite number > 0",
        "sensitivity_shape",
    ),
    (
        "simulate_market start",
        lambda: _sm(start="abc"),
        ValidationError,
        "start='abc' is not a valid time",
        "start",
    ),
    # make_context
    (
        "make_context transactions",
        lambda: _mc(transactions=None),
        ValidationError,
        "transactions must be a Transactions",
        "transactions",
    ),
    (
        "make_context offers",
        lambda: _mc(offers="o"),
        ValidationError,
        "offers must be an Offers",
        "offers",
    ),
    (
        "make_context budget huge int",
        lambda: _mc(budget=10**400),
        ValidationError,
        "budget must be a finite number >= 0",
        "budget",
    ),
    (
        "make_context budget bool",
        lambda: _mc(budget=True),
        ValidationError,
        "budget must be a finite number",
        "budget",
    ),
    (
        "make_context customer_ids scalar",
        lambda: _mc(customer_ids=3),
        ValidationError,
        "customer_ids must be a 1-D array",
        "customer_ids",
    ),
    (
        "make_context customer_ids empty",
        lambda: _mc(customer_ids=[]),
        EmptyInputError,
        "customer_ids is empty",
        "customer_ids",
    ),
    (
        "make_context horizon inf",
        lambda: _mc(horizon_days=float("inf")),
        ValidationError,
        "horizon_days must be a finite number > 0 and <= 36500",
        "horizon_days",
    ),
    (
        "make_context elasticity huge",
        lambda: _mc(elasticity=1e308),
        ValidationError,
        "elasticity must be a finite number >= 0 and <= 1000",
        "elasticity",
    ),
    (
        "make_context method",
        lambda: _mc(method="svd"),
        ValidationError,
        "method must be one of",
        "method",
    ),
    (
        "make_context aggregate",
        lambda: _mc(aggregate="median"),
        ValidationError,
        "aggregate must be",
        "aggregate",
    ),
    (
        "make_context catalogue",
        lambda: _mc(catalogue="c"),
        ValidationError,
        "catalogue must be a Catalogue",
        "catalogue",
    ),
    (
        "make_context num_threads",
        lambda: _mc(num_threads=-1),
        ValidationError,
        "num_threads must be an int >= 0",
        "num_threads",
    ),
    (
        "make_context random_state",
        lambda: _mc(random_state=1.5),
        ValidationError,
        "random_state must be",
        "random_state",
    ),
    # market_offers / evaluate_plan / log_campaign
    (
        "market_offers",
        lambda: market_offers("m"),  # type: ignore[arg-type]
        ValidationError,
        "market must be a Market",
        "market",
    ),
    (
        "evaluate_plan market",
        lambda: evaluate_plan(None, [0], [0]),  # type: ignore[arg-type]
        ValidationError,
        "market must be a Market",
        "market",
    ),
    (
        "evaluate_plan customer str",
        lambda: evaluate_plan(_m(), ["a"], [0]),
        ValidationError,
        "customer must hold integer codes",
        "customer",
    ),
    (
        "evaluate_plan customer nan",
        lambda: evaluate_plan(_m(), [np.nan], [0]),
        ValidationError,
        "customer must hold integer codes",
        "customer",
    ),
    (
        "evaluate_plan customer 1.5",
        lambda: evaluate_plan(_m(), [1.5], [0]),
        ValidationError,
        "customer must hold integer codes",
        "customer",
    ),
    (
        "evaluate_plan customer huge",
        lambda: evaluate_plan(_m(), [1e308], [0]),
        UnknownIdError,
        "customer holds codes out of range",
        "customer",
    ),
    (
        "evaluate_plan offer 2-D",
        lambda: evaluate_plan(_m(), [0], [[0]]),
        ValidationError,
        "offer must be a 1-D array of codes",
        "offer",
    ),
    (
        "log_campaign market",
        lambda: log_campaign("m", 0.3),  # type: ignore[arg-type]
        ValidationError,
        "market must be a Market",
        "market",
    ),
    (
        "log_campaign wrong shape",
        lambda: log_campaign(_m(), np.full((3, 2), 0.3)),
        ValidationError,
        r"propensity has shape \(3, 2\).*\(60, 4\)",
        "propensity",
    ),
    (
        "log_campaign broadcastable shape",
        lambda: log_campaign(_m(), np.full(4, 0.3)),
        ValidationError,
        r"propensity has shape \(4,\)",
        "propensity",
    ),
    (
        "log_campaign ragged",
        lambda: log_campaign(_m(), [[0.3], [0.2, 0.1]]),
        ValidationError,
        "propensity must be a number or a float array",
        "propensity",
    ),
    (
        "log_campaign str",
        lambda: log_campaign(_m(), "abc"),
        ValidationError,
        "propensity must be a number or a float array",
        "propensity",
    ),
    (
        "log_campaign nan",
        lambda: log_campaign(_m(), float("nan")),
        ValidationError,
        r"propensity must lie in \[0, 1\]",
        "propensity",
    ),
    # ope
    ("ips alpha None", lambda: _ope(ips, alpha=None), ValidationError, "alpha must lie", "alpha"),
    ("snips alpha str", lambda: _ope(snips, alpha="x"), ValidationError, "alpha must lie", "alpha"),
    (
        "dr alpha bool",
        lambda: _ope(doubly_robust, alpha=True),
        ValidationError,
        "alpha must lie",
        "alpha",
    ),
    (
        "dr reward_hat nan",
        lambda: _ope(doubly_robust, reward_hat=[np.nan, 0.0]),
        ValidationError,
        "reward_hat holds NaN",
        "reward_hat",
    ),
    # segment_labels / segment / mass / one_to_one
    (
        "segment_labels profiles",
        lambda: segment_labels(None, _ctx().customer),  # type: ignore[arg-type]
        ValidationError,
        "profiles must be a Profiles",
        "profiles",
    ),
    (
        "segment_labels customer str",
        lambda: segment_labels(_ctx().profiles, "abc"),  # type: ignore[arg-type]
        ValidationError,
        "customer must be a 1-D array of integer codes",
        "customer",
    ),
    (
        "segment_labels customer float",
        lambda: segment_labels(_ctx().profiles, np.array([0.5])),
        ValidationError,
        "customer must be a 1-D array of integer codes",
        "customer",
    ),
    (
        "segment_labels customer out of range",
        lambda: segment_labels(_ctx().profiles, np.array([10**6])),
        ValidationError,
        "customer must be codes in 0..59",
        "customer",
    ),
    (
        "segment_labels n_segments nan",
        lambda: segment_labels(_ctx().profiles, _ctx().customer, n_segments=float("nan")),  # type: ignore[arg-type]
        ValidationError,
        "n_segments must be an int >= 1",
        "n_segments",
    ),
    (
        "segment_labels n_segments 0",
        lambda: segment_labels(_ctx().profiles, _ctx().customer, n_segments=0),
        ValidationError,
        "n_segments must be an int >= 1",
        "n_segments",
    ),
    (
        "segment_labels kmeans k > n",
        lambda: segment_labels(_ctx().profiles, _ctx().customer[:3], n_segments=10, by="kmeans"),
        ValidationError,
        "n_segments must be an int >= 1 and <= 3",
        "n_segments",
    ),
    (
        "segment_labels by",
        lambda: segment_labels(_ctx().profiles, _ctx().customer, by="tree"),  # type: ignore[arg-type]
        ValidationError,
        "by must be 'rfm' or 'kmeans'",
        "by",
    ),
    (
        "segment_labels random_state",
        lambda: segment_labels(_ctx().profiles, _ctx().customer, random_state="x"),  # type: ignore[arg-type]
        ValidationError,
        "random_state must be",
        "random_state",
    ),
    (
        "segment n_segments str",
        lambda: segment(_ctx(), n_segments="5"),  # type: ignore[arg-type]
        ValidationError,
        "n_segments must be an int",
        "n_segments",
    ),
    (
        "segment context",
        lambda: segment("ctx"),  # type: ignore[arg-type]
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
    (
        "mass context",
        lambda: mass(None),  # type: ignore[arg-type]
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
    (
        "mass random_state",
        lambda: mass(_ctx(), random_state=-1),
        ValidationError,
        "random_state must be a non-negative int",
        "random_state",
    ),
    (
        "one_to_one context",
        lambda: one_to_one([1]),  # type: ignore[arg-type]
        ValidationError,
        "context must be an OfferContext",
        "context",
    ),
]


@pytest.mark.parametrize(
    ("label", "call", "error", "pattern", "field"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_raises_a_typed_error_naming_the_argument(
    label: str, call: Callable[[], Any], error: type[Exception], pattern: str, field: str
) -> None:
    with pytest.raises(error, match=pattern) as exc:
        call()
    assert isinstance(exc.value, OneToOneError)
    assert getattr(exc.value, "field", None) == field


def test_segment_with_more_segments_than_customers_is_one_each() -> None:
    ctx = _ctx()
    few = segment_labels(ctx.profiles, ctx.customer[:4], n_segments=10**30)
    assert sorted(few.tolist()) == [0, 1, 2, 3]
    alloc = segment(ctx, n_segments=10**30, random_state=0)  # one group per customer
    assert alloc.budget_spend[0] <= ctx.budget * (1 + 1e-9)
