"""Measurement: randomised holdouts, campaign lift and ROI with intervals, daily KPIs.

* :func:`assign_holdout` splits customers reproducibly by salted SHA-256 hash,
  optionally stratified, with a :class:`Balance` check of pre-period profiles.
* :func:`compare_arms` compares a per-customer outcome between two arms (Welch,
  CUPED, bootstrap); :func:`ratio_difference` compares ratio metrics (delta method).
* :func:`measure_campaign` measures a campaign from a transaction log: per-arm
  figures, incremental revenue and margin, ROI, all with intervals.
* :func:`track_kpis` gives the same figures day by day against :class:`Goals`.
"""

from onetoone.measurement._arms import Redemptions
from onetoone.measurement._campaign import ArmSummary, CampaignResult, measure_campaign
from onetoone.measurement._holdout import (
    Balance,
    Holdout,
    assign_holdout,
    check_balance,
    hash_unit,
    matched_control,
    quantile_bins,
)
from onetoone.measurement._kpis import Goals, KpiSeries, track_kpis
from onetoone.measurement._stats import (
    SRM_THRESHOLD,
    ArmComparison,
    Estimate,
    SampleRatio,
    compare_arms,
    ratio_difference,
)

__all__ = [
    "SRM_THRESHOLD",
    "ArmComparison",
    "ArmSummary",
    "Balance",
    "CampaignResult",
    "Estimate",
    "Goals",
    "Holdout",
    "KpiSeries",
    "Redemptions",
    "SampleRatio",
    "assign_holdout",
    "check_balance",
    "compare_arms",
    "hash_unit",
    "matched_control",
    "measure_campaign",
    "quantile_bins",
    "ratio_difference",
    "track_kpis",
]
