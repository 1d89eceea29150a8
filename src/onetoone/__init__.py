"""onetoone: personalised offers for retail loyalty programmes, one customer at a time.

The product, in the order data flows through it:

- data: :class:`Transactions` (validated, every dropped row counted in an
  :class:`IngestionReport`), :class:`IdIndex` (ids <-> codes), :class:`Catalogue`;
- profiles: :func:`build_profiles` -> :class:`Profiles`;
- offers and affinity: :class:`Offers`, :func:`fit_affinity` -> :class:`AffinityModel`,
  :func:`score_items` / :func:`score_offers` -> :class:`ItemScores` /
  :class:`OfferScores`, :func:`fit_response` -> :class:`ResponseModel`;
- allocation: :class:`AllocationProblem` with :class:`Budget`, :func:`allocate` ->
  :class:`Allocation`, :class:`Plan` (with external ids), :func:`budget_curve`;
- measurement: :func:`assign_holdout` -> :class:`Holdout`, :func:`measure_campaign` ->
  :class:`CampaignResult`, :func:`track_kpis` -> :class:`KpiSeries`, every interval an
  :class:`Estimate`; :func:`render_html` writes the manager's report;
- persistence: :func:`save` / :func:`load`; errors derive from :class:`OneToOneError`.

Every name here is a promise kept under the API policy (docs/api.md). Stage helpers
live in the stage modules (``onetoone.data``, ``onetoone.profiles``,
``onetoone.affinity``, ``onetoone.allocation``, ``onetoone.measurement``), datasets in
``onetoone.datasets``, and the research bench (strategies, replay, simulator,
off-policy estimators) in ``onetoone.bench``.
"""

from onetoone._deprecation import moved_names as _moved_names
from onetoone._files import load, save
from onetoone._version import __version__
from onetoone.affinity import (
    AffinityModel,
    ItemScores,
    OfferScores,
    ReliabilityTable,
    ResponseModel,
    fit_affinity,
    fit_response,
    score_items,
    score_offers,
)
from onetoone.allocation import (
    Allocation,
    AllocationProblem,
    Budget,
    BudgetCurve,
    Plan,
    allocate,
    budget_curve,
)
from onetoone.data import Catalogue, IdIndex, IngestionReport, Transactions
from onetoone.errors import (
    EmptyInputError,
    FormatError,
    InfeasibleError,
    LengthMismatchError,
    MissingDependencyError,
    NotFittedError,
    OneToOneDeprecationWarning,
    OneToOneError,
    UnknownIdError,
    ValidationError,
)
from onetoone.measurement import (
    ArmComparison,
    ArmSummary,
    Balance,
    CampaignResult,
    Estimate,
    Goals,
    Holdout,
    KpiSeries,
    Redemptions,
    SampleRatio,
    assign_holdout,
    check_balance,
    compare_arms,
    matched_control,
    measure_campaign,
    track_kpis,
)
from onetoone.offers import Offers
from onetoone.profiles import Profiles, build_profiles
from onetoone.report import render_html

__all__ = [
    "AffinityModel",
    "Allocation",
    "AllocationProblem",
    "ArmComparison",
    "ArmSummary",
    "Balance",
    "Budget",
    "BudgetCurve",
    "CampaignResult",
    "Catalogue",
    "EmptyInputError",
    "Estimate",
    "FormatError",
    "Goals",
    "Holdout",
    "IdIndex",
    "InfeasibleError",
    "IngestionReport",
    "ItemScores",
    "KpiSeries",
    "LengthMismatchError",
    "MissingDependencyError",
    "NotFittedError",
    "OfferScores",
    "Offers",
    "OneToOneDeprecationWarning",
    "OneToOneError",
    "Plan",
    "Profiles",
    "Redemptions",
    "ReliabilityTable",
    "ResponseModel",
    "SampleRatio",
    "Transactions",
    "UnknownIdError",
    "ValidationError",
    "allocate",
    "assign_holdout",
    "budget_curve",
    "build_profiles",
    "check_balance",
    "compare_arms",
    "fit_affinity",
    "fit_response",
    "load",
    "matched_control",
    "measure_campaign",
    "render_html",
    "save",
    "score_items",
    "score_offers",
    "track_kpis",
    "__version__",
]

_BENCH = (
    "LoggedCampaign",
    "Market",
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
)

#: Names that left the top level in 0.2; they still resolve, with a warning, until 0.3.
_MOVED = {
    "FEATURES": "onetoone.profiles:FEATURES",
    "customer_item_matrix": "onetoone.data:customer_item_matrix",
    "partial_fit": "onetoone.affinity:partial_fit",
    "LpBound": "onetoone.allocation:LpBound",
    "lp_bound": "onetoone.allocation:lp_bound",
    "save_plan": "onetoone.allocation:save_plan",
    "load_plan": "onetoone.allocation:load_plan",
    "hash_unit": "onetoone.measurement:hash_unit",
    "quantile_bins": "onetoone.measurement:quantile_bins",
    "ratio_difference": "onetoone.measurement:ratio_difference",
    **{name: f"onetoone.bench:{name}" for name in _BENCH},
    "OffPolicyEstimate": "onetoone.bench:OffPolicyEstimate",  # bench warns again: migration
}
__getattr__ = _moved_names("onetoone", _MOVED)
