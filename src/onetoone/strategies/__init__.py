"""Strategy benchmarking: simulator with known truth, off-policy evaluation.

Mass, segment and one-to-one strategies and historical replay build on the
affinity and allocation stages.
"""

from onetoone.strategies.ope import OffPolicyEstimate, doubly_robust, ips, snips
from onetoone.strategies.simulator import (
    LoggedCampaign,
    Market,
    PlanOutcome,
    evaluate_plan,
    log_campaign,
    simulate_market,
)

__all__ = [
    "LoggedCampaign",
    "Market",
    "OffPolicyEstimate",
    "PlanOutcome",
    "doubly_robust",
    "evaluate_plan",
    "ips",
    "log_campaign",
    "simulate_market",
    "snips",
]
