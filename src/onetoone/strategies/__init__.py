"""Deprecated: renamed :mod:`onetoone.bench` (removed in the next minor version).

Importing this module emits a :class:`~onetoone.errors.OneToOneDeprecationWarning`;
every name resolves to the same object in :mod:`onetoone.bench`. Migrate with
``from onetoone.bench import ...``. ``OffPolicyEstimate`` is the old result type of
the off-policy estimators, which now return :class:`onetoone.measurement.Estimate`.
"""

from onetoone._deprecation import warn_deprecated
from onetoone.bench import (
    LoggedCampaign,
    Market,
    OfferContext,
    PlanOutcome,
    ReplayResult,
    SimulationResult,
    Strategy,
    doubly_robust,
    effective_sample_size,
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
from onetoone.bench._ope import OffPolicyEstimate

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
    "effective_sample_size",
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


warn_deprecated(
    "onetoone.strategies is renamed onetoone.bench: use `from onetoone.bench import ...`",
    stacklevel=3,
)
