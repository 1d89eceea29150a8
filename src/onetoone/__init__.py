"""onetoone: personalised offers for retail loyalty programmes, one customer at a time.

The public API is re-exported here; everything else is private or topical.
Data flows one way: ``data`` -> ``profiles`` -> ``affinity`` -> ``allocation``
-> ``measurement`` -> ``report``.
"""

from onetoone._version import __version__
from onetoone.data import Catalogue, IdIndex, IngestionReport, Transactions, customer_item_matrix
from onetoone.errors import (
    EmptyInputError,
    FormatError,
    InfeasibleError,
    LengthMismatchError,
    MissingDependencyError,
    NotFittedError,
    OneToOneError,
    UnknownIdError,
    ValidationError,
)
from onetoone.profiles import FEATURES, Profiles, build_profiles
from onetoone.strategies import (
    LoggedCampaign,
    Market,
    OffPolicyEstimate,
    PlanOutcome,
    doubly_robust,
    evaluate_plan,
    ips,
    log_campaign,
    simulate_market,
    snips,
)

__all__ = [
    "Catalogue",
    "EmptyInputError",
    "FEATURES",
    "FormatError",
    "IdIndex",
    "InfeasibleError",
    "IngestionReport",
    "LengthMismatchError",
    "LoggedCampaign",
    "Market",
    "MissingDependencyError",
    "NotFittedError",
    "OffPolicyEstimate",
    "OneToOneError",
    "PlanOutcome",
    "Profiles",
    "Transactions",
    "UnknownIdError",
    "ValidationError",
    "__version__",
    "build_profiles",
    "customer_item_matrix",
    "doubly_robust",
    "evaluate_plan",
    "ips",
    "log_campaign",
    "simulate_market",
    "snips",
]
