from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import EmptyInputError, ValidationError
from onetoone.bench import (
    OfferContext,
    make_context,
    market_offers,
    mass,
    one_to_one,
    replay_campaign,
    segment,
    segment_labels,
    simulate,
    simulate_market,
)

STRATEGIES = {"mass": mass, "segment": segment, "one_to_one": one_to_one}


@functools.cache
def _market() -> Any:
    return simulate_market(400, 120, 12, history_weeks=10, random_state=3)


@functools.cache
def _context(objective: str = "incremental") -> OfferContext:
    m = _market()
    return make_context(
        m.history,
        market_offers(m),
        as_of=m.campaign_start,
        budget=20.0,
        k=2,
        horizon_days=14,
        objective=objective,
        elasticity=5.0,
        method="repeat",
        random_state=0,  # type: ignore[arg-type]
    )


def _with(ctx: OfferContext, **changes: Any) -> OfferContext:
    import attrs

    return attrs.evolve(ctx, **changes)


@settings(max_examples=25, deadline=None)
@given(
    budget=st.floats(0.0, 80.0),
    k=st.integers(1, 3),
    name=st.sampled_from(sorted(STRATEGIES)),
    objective=st.sampled_from(["incremental", "redemptions"]),
    budget_on=st.sampled_from(["expected_cost", "sent"]),
)
def test_every_strategy_respects_budget_and_k(
    budget: float, k: int, name: str, objective: str, budget_on: str
) -> None:
    ctx = _with(_context(objective), budget=budget, k=k, budget_on=budget_on)
    alloc = STRATEGIES[name](ctx)
    assert alloc.budget_spend[0] <= budget * (1 + 1e-9) + 1e-9
    per_customer = np.bincount(alloc.customer, minlength=ctx.n_customers)
    assert per_customer.max(initial=0) <= k
    assert np.all(ctx.eligible[alloc.customer, alloc.offer])
    usage = (
        ctx.p_offer[alloc.customer, alloc.offer] * ctx.cost[alloc.offer]
        if budget_on == "expected_cost"
        else ctx.cost[alloc.offer]
    )
    assert usage.sum() <= budget * (1 + 1e-9) + 1e-9


def test_mass_sends_the_same_offers_to_everyone() -> None:
    ctx = _with(_context("redemptions"), budget=1e9, k=2)
    alloc = mass(ctx, random_state=0)
    sets = {tuple(sorted(alloc.offer[alloc.customer == c])) for c in np.unique(alloc.customer)}
    assert len(sets) == 1


def test_segment_customers_in_one_segment_share_offers() -> None:
    ctx = _with(_context("redemptions"), budget=1e9, k=1)
    labels = segment_labels(ctx.profiles, ctx.customer, n_segments=4)
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2, 3]
    alloc = segment(ctx, n_segments=4, random_state=0)
    for s in range(4):
        chosen = alloc.offer[labels[alloc.customer] == s]
        assert len(np.unique(chosen)) <= 1
    km = segment_labels(ctx.profiles, ctx.customer, n_segments=3, by="kmeans", random_state=0)
    assert np.array_equal(
        km, segment_labels(ctx.profiles, ctx.customer, n_segments=3, by="kmeans", random_state=0)
    )


def test_strategies_are_deterministic() -> None:
    ctx = _context()
    for f in (mass, segment):
        a, b = f(ctx, random_state=5), f(ctx, random_state=5)  # type: ignore[operator]
        assert np.array_equal(a.customer, b.customer) and np.array_equal(a.offer, b.offer)


def test_context_estimates_track_the_truth() -> None:
    m, ctx = _market(), _context()
    assert np.corrcoef(ctx.sensitivity, m.sensitivity)[0, 1] > 0.7
    assert np.corrcoef(ctx.discount, m.offer_discount)[0, 1] > 0.9
    assert np.corrcoef(ctx.p_buy.ravel(), m.p_base.ravel())[0, 1] > 0.6
    assert np.all(ctx.p_offer >= ctx.p_buy)


def test_one_to_one_finds_incremental_profit_in_the_simulator() -> None:
    m, ctx = _market(), _context()
    res = {
        n: simulate(f, m, budget=20.0, context=ctx, random_state=1) for n, f in STRATEGIES.items()
    }
    assert res["one_to_one"].outcome.incremental_profit > 0
    assert res["one_to_one"].outcome.incremental_profit > res["mass"].outcome.incremental_profit


def test_replay_scores_choices_against_what_happened() -> None:
    m, ctx = _market(), _context("redemptions")
    start = m.campaign_start
    # the "campaign": the market's own history has no rows after start, so every
    # purchase hit must come from rows we add for one customer
    res = replay_campaign(
        ctx, STRATEGIES, start=start, end=start + np.timedelta64(14, "D"), n_boot=50, random_state=0
    )
    assert res.strategies == ("mass", "segment", "one_to_one")
    assert np.all(res.mean == 0)  # nothing happened after the history
    assert np.all(res.ci_low <= res.mean) and np.all(res.mean <= res.ci_high)
    assert "replay over 400 customers" in res.summary()
    with pytest.raises(ValidationError, match="end .* must be after start"):
        replay_campaign(ctx, STRATEGIES, start=start, end=start)
    with pytest.raises(ValidationError, match="strategies would see the campaign"):
        replay_campaign(ctx, STRATEGIES, start=start - np.timedelta64(30, "D"), end=start)
    with pytest.raises(ValidationError, match="strategies is empty"):
        replay_campaign(ctx, {}, start=start, end=start + np.timedelta64(1, "D"))


def test_make_context_validation() -> None:
    m = _market()
    offers = market_offers(m)
    kw: dict[str, Any] = dict(as_of=m.campaign_start, method="repeat")
    with pytest.raises(ValidationError, match="budget must be a finite number >= 0"):
        make_context(m.history, offers, budget=-1.0, **kw)
    with pytest.raises(ValidationError, match="k must be an int >= 1"):
        make_context(m.history, offers, budget=1.0, k=0, **kw)
    with pytest.raises(EmptyInputError, match="customer_ids is empty"):
        make_context(m.history, offers, budget=1.0, customer_ids=[], **kw)
    with pytest.raises(ValidationError, match="objective must be"):
        make_context(m.history, offers, budget=1.0, objective="profit", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="elasticity must be"):
        make_context(m.history, offers, budget=1.0, elasticity=-1.0, **kw)


def test_replay_known_answer() -> None:
    from onetoone import IdIndex, Transactions
    from onetoone.offers import Offers

    days = [f"2024-01-{d:02d}" for d in range(1, 29, 3)]
    cust = ["A"] * len(days) + ["B"] * len(days) + ["A", "B"]
    item = ["x"] * len(days) + ["y"] * len(days) + ["x", "z"]
    ts = days + days + ["2024-02-03", "2024-02-04"]  # the last two rows: during the campaign
    tx = Transactions.from_arrays(
        customer=cust, item=item, timestamp=ts, value=[1.0] * (2 * len(days)) + [3.0, 5.0]
    )
    offers = Offers.from_pairs(["o1", "o2"], ["x", "y"], items=tx.items, cost=0.5, value=2.0)
    ctx = make_context(
        tx,
        offers,
        as_of="2024-02-01",
        budget=100.0,
        k=1,
        objective="redemptions",
        horizon_days=7,
        method="repeat",
        random_state=0,
    )
    res = replay_campaign(
        ctx,
        {"one_to_one": one_to_one},
        start="2024-02-01",
        end="2024-02-15",
        redemptions=(["A"], ["o1"]),
        n_boot=20,
        random_state=0,
    )
    alloc = res.allocations["one_to_one"]
    chosen = dict(
        zip(
            tx.customers.decode(ctx.customer[alloc.customer]),
            offers.ids.decode(alloc.offer),
            strict=True,
        )
    )
    assert chosen == {"A": "o1", "B": "o2"}
    np.testing.assert_allclose(res.mean[0], [0.5, 0.5, 1.5])  # redemptions, purchase hits, value
    assert IdIndex.from_values(["A", "B"]) == tx.customers
