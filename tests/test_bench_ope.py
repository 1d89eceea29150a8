from __future__ import annotations

import numpy as np
import pytest

from onetoone import LengthMismatchError, UnknownIdError, ValidationError
from onetoone.bench import (
    doubly_robust,
    effective_sample_size,
    evaluate_plan,
    ips,
    log_campaign,
    simulate_market,
    snips,
)


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return simulate_market(150, 80, 8, history_weeks=6, random_state=7)


def test_market_is_deterministic_and_consistent(market) -> None:  # type: ignore[no-untyped-def]
    again = simulate_market(150, 80, 8, history_weeks=6, random_state=7)
    assert np.array_equal(again.p_offer, market.p_offer)
    assert np.array_equal(again.history.value, market.history.value)
    assert np.all(market.p_offer >= market.p_base)
    assert np.all((market.p_base >= 0) & (market.p_offer <= 1))
    assert market.history.timestamp.max() < market.campaign_start
    other = simulate_market(150, 80, 8, history_weeks=6, random_state=8)
    assert not np.array_equal(other.p_offer, market.p_offer)


def test_evaluate_plan_known_answer(market) -> None:  # type: ignore[no-untyped-def]
    c, o = 3, 5
    out = evaluate_plan(market, [c], [o], random_state=0)
    p0, p1 = market.p_base[c, o], market.p_offer[c, o]
    v, d, m = market.offer_value[o], market.offer_discount[o], market.margin_rate
    assert out.expected_cost == pytest.approx(p1 * d * v)
    assert out.incremental_profit == pytest.approx(p1 * (m - d) * v - p0 * m * v)
    assert out.roi == pytest.approx(out.incremental_profit / out.expected_cost)
    empty = evaluate_plan(market, [], [])
    assert empty.n_assignments == 0 and empty.expected_cost == 0 and np.isnan(empty.roi)


def test_evaluate_plan_realised_is_unbiased(market) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    cust = rng.choice(market.n_customers, 60, replace=False)
    offer = rng.integers(0, market.n_offers, 60)
    draws = np.array(
        [
            evaluate_plan(market, cust, offer, random_state=s).realised_incremental_profit
            for s in range(400)
        ]
    )
    truth = evaluate_plan(market, cust, offer).incremental_profit
    assert abs(draws.mean() - truth) < 4 * draws.std(ddof=1) / np.sqrt(len(draws))


def test_evaluate_plan_validation(market) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LengthMismatchError, match="offer has 1 entries but customer has 2"):
        evaluate_plan(market, [0, 1], [0])
    with pytest.raises(UnknownIdError, match="offer codes must lie in 0..7"):
        evaluate_plan(market, [0], [8])
    with pytest.raises(ValidationError, match="repeats a"):
        evaluate_plan(market, [0, 0], [1, 1])


def _truth_per_decision(market, target):  # type: ignore[no-untyped-def]
    m = market.offer_margin[None, :]
    cst = market.offer_cost[None, :]
    value = np.where(target, market.p_offer * (m - cst), market.p_base * m)
    return float(value.mean())


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr", "dr_wrong_model"])
def test_estimators_are_unbiased_and_cover(market, estimator: str) -> None:  # type: ignore[no-untyped-def]
    # target: send the offers with positive true incremental profit
    target = market.incremental_profit() > 0
    truth = _truth_per_decision(market, target)
    m = np.broadcast_to(market.offer_margin[None, :], target.shape)
    cst = np.broadcast_to(market.offer_cost[None, :], target.shape)
    q_sent = market.p_offer * (m - cst)
    q_not = market.p_base * m
    if estimator == "dr_wrong_model":  # a biased reward model: DR must stay unbiased
        q_sent, q_not = q_sent * 0.5 + 0.1, q_not * 1.5
    estimates, covered = [], 0
    for seed in range(200):
        log = log_campaign(market, 0.3, random_state=seed)
        t = target.reshape(-1)
        pi = np.where(log.sent == t, 1.0, 0.0)
        mu = log.logged_propensity()
        if estimator == "ips":
            est = ips(log.reward, mu, pi)
        elif estimator == "snips":
            est = snips(log.reward, mu, pi)
        else:
            qhat = np.where(log.sent, q_sent.reshape(-1), q_not.reshape(-1))
            qpi = np.where(t, q_sent.reshape(-1), q_not.reshape(-1))
            est = doubly_robust(log.reward, mu, pi, reward_hat=qhat, target_reward_hat=qpi)
        estimates.append(est.estimate)
        covered += est.ci_low <= truth <= est.ci_high
    e = np.asarray(estimates)
    assert abs(e.mean() - truth) < 4 * e.std(ddof=1) / np.sqrt(len(e)), (e.mean(), truth)
    assert 0.88 <= covered / 200 <= 0.995, covered


def test_dr_with_good_model_beats_ips_variance(market) -> None:  # type: ignore[no-untyped-def]
    target = market.incremental_profit() > 0
    m = market.offer_margin[None, :]
    cst = market.offer_cost[None, :]
    q_sent = (market.p_offer * (m - cst)).reshape(-1)
    q_not = (market.p_base * m).reshape(-1)
    log = log_campaign(market, 0.3, random_state=1)
    t = target.reshape(-1)
    pi = np.where(log.sent == t, 1.0, 0.0)
    mu = log.logged_propensity()
    a = ips(log.reward, mu, pi)
    b = doubly_robust(
        log.reward,
        mu,
        pi,
        reward_hat=np.where(log.sent, q_sent, q_not),
        target_reward_hat=np.where(t, q_sent, q_not),
    )
    assert b.std_error < a.std_error
    assert 0 < effective_sample_size(mu, pi) < len(log.reward)


def test_ope_validation() -> None:
    with pytest.raises(ValidationError, match=r"logging_propensity must lie in \(0, 1\]"):
        ips([1.0], [0.0], [1.0])
    with pytest.raises(LengthMismatchError, match="target_propensity has 2 entries"):
        ips([1.0], [0.5], [1.0, 0.0])
    with pytest.raises(ValidationError, match="reward holds NaN"):
        ips([np.nan], [0.5], [1.0])
    with pytest.raises(ValidationError, match="every importance weight is zero"):
        snips([1.0, 2.0], [0.5, 0.5], [0.0, 0.0])
    with pytest.raises(ValidationError, match="alpha must lie"):
        ips([1.0], [0.5], [1.0], alpha=1.5)
    with pytest.raises(LengthMismatchError, match="reward_hat has 1 entries"):
        doubly_robust([1.0, 0.0], [0.5, 0.5], [1, 0], reward_hat=[0.1], target_reward_hat=[0, 0])
    with pytest.raises(ValidationError, match="propensity must lie in"):
        log_campaign(simulate_market(20, 20, 2, history_weeks=2, random_state=0), 1.5)
