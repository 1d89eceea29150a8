"""Off-policy evaluation in a market with known truth.

A retailer ran a randomised campaign (each offer sent to each customer with
probability 0.3) and logged the outcomes. Before running a new targeting plan,
it estimates the plan's value from the log with IPS, self-normalised IPS and a
doubly robust estimator, and the simulator tells us the true value.

Each estimate is an ``onetoone.Estimate`` (estimate, interval, p-value of "the plan
earns nothing"); ``effective_sample_size`` says how many logged decisions the
importance weights leave.
"""

from __future__ import annotations

import numpy as np

from onetoone.bench import (
    doubly_robust,
    effective_sample_size,
    evaluate_plan,
    ips,
    log_campaign,
    simulate_market,
    snips,
)

market = simulate_market(1500, 300, 20, history_weeks=12, random_state=0)
print(
    f"market: {market.n_customers} customers, {market.n_offers} offers, "
    f"{market.history.n_rows:,} history lines"
)

# The new plan: each customer gets the offer with the highest true incremental profit,
# if positive (an oracle, to have a plan worth evaluating).
inc = market.incremental_profit()
best = inc.argmax(axis=1)
send = inc[np.arange(market.n_customers), best] > 0
customers = np.flatnonzero(send)
plan = np.zeros_like(inc, dtype=bool)
plan[customers, best[customers]] = True
truth = evaluate_plan(market, customers, best[customers])
print(
    f"plan: {truth.n_assignments} offers, true incremental profit {truth.incremental_profit:.1f}, "
    f"expected cost {truth.expected_cost:.1f}, ROI {truth.roi:.2f}"
)

# The logged campaign and the per-decision value of the plan, estimated three ways.
log = log_campaign(market, 0.3, random_state=1)
target = plan.reshape(-1)
pi = (log.sent == target).astype(float)
mu = log.logged_propensity()
m = np.broadcast_to(market.offer_margin, inc.shape).reshape(-1)
c = np.broadcast_to(market.offer_cost, inc.shape).reshape(-1)
# a deliberately rough reward model: the average reward of sent / not-sent decisions per offer
q_sent = np.array([log.reward[log.sent & (log.offer == o)].mean() for o in range(market.n_offers)])
q_not = np.array([log.reward[~log.sent & (log.offer == o)].mean() for o in range(market.n_offers)])
qhat = np.where(log.sent, q_sent[log.offer], q_not[log.offer])
qpi = np.where(target, q_sent[log.offer], q_not[log.offer])

true_value = float(
    np.where(
        plan, market.p_offer * (m - c).reshape(inc.shape), market.p_base * m.reshape(inc.shape)
    ).mean()
)
ess = effective_sample_size(mu, pi)
print(f"\ntrue value per decision: {true_value:.4f}; effective sample size {ess:,.0f}")
for est in (
    ips(log.reward, mu, pi),
    snips(log.reward, mu, pi),
    doubly_robust(log.reward, mu, pi, reward_hat=qhat, target_reward_hat=qpi),
):
    inside = est.ci_low <= true_value <= est.ci_high
    print(
        f"{est.method:>6}: {est.estimate:.4f}  95% CI [{est.ci_low:.4f}, {est.ci_high:.4f}]  "
        f"p={est.p_value:.2g}  covers truth: {inside}"
    )
    assert abs(est.estimate - true_value) < 5 * est.std_error
