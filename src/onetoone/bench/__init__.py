"""The research bench: strategies, replay, a simulator with known truth, off-policy evaluation.

Everything here is built from the library's public API (``onetoone`` and the
stage modules' ``__all__``), the way a user's own research code would be:

* strategies -- :func:`mass`, :func:`segment`, :func:`one_to_one`,
  :func:`uplift_margin` (learned from a randomised pilot), :func:`win_back`
  (value at risk, :func:`win_back_weights`; or your own
  :class:`Strategy`) acting on one :class:`OfferContext` from :func:`make_context`,
  run side by side by :func:`run_strategies`;
* historical replay -- :func:`replay_campaign` -> :class:`ReplayResult`;
* a market with known truth -- :func:`simulate_market` -> :class:`Market`,
  :func:`simulate` -> :class:`SimulationResult`, :func:`evaluate_plan` ->
  :class:`PlanOutcome`, :func:`market_offers`;
* off-policy evaluation -- :func:`log_campaign` -> :class:`LoggedCampaign`, then
  :func:`ips`, :func:`snips`, :func:`doubly_robust` (each an
  :class:`onetoone.measurement.Estimate`) and :func:`effective_sample_size`.

``onetoone.strategies`` is the former name of this module (deprecated).
"""

from typing import Any

from onetoone._deprecation import warn_deprecated
from onetoone.bench._core import (
    OfferContext,
    Strategy,
    make_context,
    mass,
    one_to_one,
    run_strategies,
    segment,
    segment_labels,
)
from onetoone.bench._evaluation import (
    ReplayResult,
    SimulationResult,
    replay_campaign,
    simulate,
)
from onetoone.bench._ope import doubly_robust, effective_sample_size, ips, snips
from onetoone.bench._simulator import (
    LoggedCampaign,
    Market,
    PlanOutcome,
    evaluate_plan,
    log_campaign,
    market_offers,
    simulate_market,
)
from onetoone.bench._uplift import uplift_margin
from onetoone.bench._winback import win_back, win_back_weights

__all__ = [
    "LoggedCampaign",
    "Market",
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
    "uplift_margin",
    "win_back",
    "win_back_weights",
]


def __getattr__(name: str) -> Any:
    """Deprecated names (PEP 562): ``OffPolicyEstimate``, until the next minor version."""
    if name == "OffPolicyEstimate":
        from onetoone.bench._ope import OffPolicyEstimate

        warn_deprecated(
            "onetoone.bench.OffPolicyEstimate is replaced by onetoone.measurement.Estimate, "
            "which ips, snips and doubly_robust now return: .value -> .estimate, "
            ".alpha -> 1 - .confidence, .total(n) -> .estimate * n, .n / "
            ".effective_sample_size -> onetoone.bench.effective_sample_size(...)"
        )
        return OffPolicyEstimate
    raise AttributeError(f"module 'onetoone.bench' has no attribute {name!r}")
