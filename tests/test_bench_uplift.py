"""The uplift strategy: learned from a randomised pilot, it beats redemption targeting in truth."""

from __future__ import annotations

import functools

import attrs
import numpy as np
import pytest

from onetoone.bench import (
    LoggedCampaign,
    Market,
    OfferContext,
    log_campaign,
    make_context,
    market_offers,
    one_to_one,
    simulate,
    simulate_market,
    uplift_margin,
)
from onetoone.errors import UnknownIdError, ValidationError

BUDGETS = (6.0, 40.0)


def _pilot(market: Market, seed: int, share: float = 0.5) -> LoggedCampaign:
    rng = np.random.default_rng([seed, 7])
    in_pilot = rng.random(market.n_customers) < share
    prop = np.where(in_pilot[:, None], 0.5, 0.0) * np.ones((1, market.n_offers))
    log = log_campaign(market, prop, random_state=rng)
    keep = log.propensity > 0
    return LoggedCampaign(
        customer=log.customer[keep],
        offer=log.offer[keep],
        sent=log.sent[keep],
        propensity=log.propensity[keep],
        reward=log.reward[keep],
    )


def _world(seed: int) -> tuple[Market, OfferContext, LoggedCampaign]:
    m = simulate_market(600, 150, 10, history_weeks=16, random_state=seed)
    ctx = make_context(
        m.history,
        market_offers(m),
        as_of=m.campaign_start,
        budget=BUDGETS[0],
        k=2,
        method="repeat",
        random_state=seed,
    )
    return m, ctx, _pilot(m, seed)


def _profits(seed: int) -> dict[float, tuple[float, float]]:
    m, ctx, pilot = _world(seed)
    out = {}
    for b in BUDGETS:
        c = attrs.evolve(ctx, budget=b)
        up = simulate(
            functools.partial(uplift_margin, pilot=pilot), m, budget=b, context=c, random_state=seed
        )
        red = simulate(one_to_one, m, budget=b, context=c, random_state=seed)
        out[b] = (up.outcome.incremental_profit, red.outcome.incremental_profit)
    return out


@pytest.fixture(scope="module")
def five_seeds() -> list[dict[float, tuple[float, float]]]:
    return [_profits(s) for s in range(5)]


def test_beats_redemption_targeting_on_a_fixed_seed(
    five_seeds: list[dict[float, tuple[float, float]]],
) -> None:
    for b in BUDGETS:
        up, red = five_seeds[0][b]
        assert up > 0 and up > red, (b, up, red)


def test_beats_redemption_targeting_over_seeds(
    five_seeds: list[dict[float, tuple[float, float]]],
) -> None:
    for b in BUDGETS:
        diff = np.array([r[b][0] - r[b][1] for r in five_seeds])
        assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff)), (b, diff)
        assert (diff > 0).sum() >= 4, (b, diff)


def test_within_budget_deterministic_and_positive() -> None:
    _, ctx, pilot = _world(1)
    f = functools.partial(uplift_margin, pilot=pilot)
    a = f(ctx, random_state=0)
    b = f(ctx, random_state=0)
    assert a.budget_spend[0] <= ctx.budget
    assert np.array_equal(a.customer, b.customer) and np.array_equal(a.offer, b.offer)
    assert (a.value > 0).all()
    assert np.bincount(a.customer, minlength=ctx.n_customers).max() <= ctx.k
    # the DR-learner draws its folds from random_state
    d1 = uplift_margin(ctx, pilot=pilot, method="dr", random_state=3)
    d2 = uplift_margin(ctx, pilot=pilot, method="dr", random_state=3)
    assert np.array_equal(d1.offer, d2.offer) and d1.objective == d2.objective


def test_bad_input() -> None:
    m, ctx, pilot = _world(2)
    with pytest.raises(ValidationError, match="context must be an OfferContext"):
        uplift_margin("ctx", pilot=pilot)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="pilot must be a LoggedCampaign"):
        uplift_margin(ctx, pilot={"sent": []})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="method must be one of"):
        uplift_margin(ctx, pilot=pilot, method="s-learner")
    with pytest.raises(ValidationError, match="l2"):
        uplift_margin(ctx, pilot=pilot, l2=-1.0)
    unrandomised = attrs.evolve(
        pilot, propensity=np.where(np.arange(len(pilot.sent)) == 3, 1.0, pilot.propensity)
    )
    with pytest.raises(ValidationError, match="decision 3 has propensity 1.0"):
        uplift_margin(ctx, pilot=unrandomised)
    empty = LoggedCampaign(customer=[], offer=[], sent=[], propensity=[], reward=[])
    with pytest.raises(ValidationError, match="pilot has no decisions"):
        uplift_margin(ctx, pilot=empty)
    bad_offer = attrs.evolve(pilot, offer=np.full(len(pilot.offer), ctx.n_offers))
    with pytest.raises(UnknownIdError, match="pilot offer codes"):
        uplift_margin(ctx, pilot=bad_offer)
    sub = make_context(
        m.history,
        market_offers(m),
        as_of=m.campaign_start,
        budget=5.0,
        customer_ids=np.arange(10),
        method="repeat",
        random_state=0,
    )
    with pytest.raises(UnknownIdError, match="not among context.customer"):
        uplift_margin(sub, pilot=pilot)
    nobody = attrs.evolve(pilot, reward=np.zeros(len(pilot.reward)))
    with pytest.raises(ValidationError, match="outcome"):
        uplift_margin(ctx, pilot=nobody)
