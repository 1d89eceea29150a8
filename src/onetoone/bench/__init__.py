"""Strategy benchmarking: simulator with known truth, off-policy evaluation.

Mass, segment and one-to-one strategies and historical replay build on the
affinity and allocation stages.
"""

from onetoone.strategies._core import (
    OfferContext,
    Strategy,
    make_context,
    mass,
    one_to_one,
    run_strategies,
    segment,
    segment_labels,
)
from onetoone.strategies._evaluation import (
    ReplayResult,
    SimulationResult,
    replay_campaign,
    simulate,
)
from onetoone.strategies.ope import OffPolicyEstimate, doubly_robust, ips, snips
from onetoone.strategies.simulator import (
    LoggedCampaign,
    Market,
    PlanOutcome,
    evaluate_plan,
    log_campaign,
    market_offers,
    simulate_market,
)

__all__ = [
    "LoggedCampaign",
    "Market",
    "OffPolicyEstimate",
    "OfferContext",
    "PlanOutcome",
    "ReplayResult",
    "SimulationResult",
    "Strategy",
    "doubly_robust",
    "evaluate_plan",
    "ips",
    "log_campaign",
    "make_context",
    "market_offers",
    "mass",
    "one_to_one",
    "replay_campaign",
    "run_strategies",
    "segment",
    "segment_labels",
    "simulate",
    "simulate_market",
    "snips",
]
