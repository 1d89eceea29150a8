"""Customer value: purchase-frequency and spend models (BTYD), P(alive), CLV and lapse risk.

The stage between :mod:`onetoone.profiles` and the decision stages.

- From a :class:`~onetoone.data.Transactions` log at ``as_of`` (or a summary
  table a user already has: :class:`PurchaseSummary`), :func:`fit_frequency`
  (BG/NBD, MBG/NBD) and :func:`fit_spend` (Gamma-Gamma) fit the probabilistic
  models of the marketing science literature by maximum likelihood; per
  customer :func:`p_alive`, :func:`expected_purchases`, :func:`expected_spend`
  and :func:`customer_value` (discounted CLV) follow (see
  ``docs/customer_value.md`` for the maths and references).
- :func:`lapse_features`: each customer's shopping rhythm at a cut, point in time.
- :func:`fit_lapse`: P(no purchase in the next H days), learned on an earlier cut;
  a frozen :class:`LapseModel` whose :meth:`~LapseModel.predict` gives a
  :class:`LapseRisk`; saved with :func:`save_lapse` / :func:`onetoone.save`.
- In decisions: :func:`value_features` (CLV, P(alive), lapse risk and value at
  risk aligned on ``Profiles.customers``: a :class:`ValueFeatures`, columns
  :data:`VALUE_FEATURES`) and :func:`value_at_risk` (``lapse risk x CLV``, the
  weight of a win-back budget; :func:`onetoone.bench.win_back` spends on it);
  :func:`targeted_risk` (a :class:`TargetedRisk`: who of a campaign's customers is
  lapsing and what they are worth, the figures ``onetoone.report.render_html(lapse=)``
  shows).

Constants: :data:`METHODS` (``"bgnbd"``, ``"mbgnbd"``; the type
``FrequencyMethod`` spells them for type checkers), :data:`UNITS` (``"D"`` =
1 day, ``"W"`` = 7 days; a number of days is accepted too), :data:`FEATURES`
and :data:`PROFILE_FEATURES` (the lapse model's inputs).

Examples
--------
>>> from onetoone.datasets import cdnow
>>> s = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
>>> v = customer_value(fit_frequency(s), fit_spend(s), s, horizon=52)
>>> v.customers == s.customers, bool((v.clv >= 0).all())
(True, True)
>>> FEATURES[:3]
('recency_days', 'frequency', 'tenure_days')
"""

from __future__ import annotations

from onetoone.value._clv import CustomerValue, customer_value
from onetoone.value._decisions import (
    VALUE_FEATURES,
    TargetedRisk,
    ValueFeatures,
    targeted_risk,
    value_at_risk,
    value_features,
)
from onetoone.value._lapse import (
    FEATURES,
    PROFILE_FEATURES,
    LapseFeatures,
    LapseModel,
    LapseRisk,
    fit_lapse,
    lapse_features,
    load_lapse,
    save_lapse,
)
from onetoone.value._models import (
    METHODS,
    FrequencyMethod,
    FrequencyModel,
    SpendModel,
    expected_purchases,
    expected_spend,
    fit_frequency,
    fit_spend,
    p_alive,
    unconditional_purchases,
)
from onetoone.value._summary import UNITS, PurchaseSummary, purchase_summary

__all__ = [
    "FEATURES",
    "METHODS",
    "PROFILE_FEATURES",
    "UNITS",
    "VALUE_FEATURES",
    "CustomerValue",
    "FrequencyMethod",
    "FrequencyModel",
    "LapseFeatures",
    "LapseModel",
    "LapseRisk",
    "PurchaseSummary",
    "SpendModel",
    "TargetedRisk",
    "ValueFeatures",
    "customer_value",
    "expected_purchases",
    "expected_spend",
    "fit_frequency",
    "fit_lapse",
    "fit_spend",
    "lapse_features",
    "load_lapse",
    "p_alive",
    "purchase_summary",
    "save_lapse",
    "targeted_risk",
    "unconditional_purchases",
    "value_at_risk",
    "value_features",
]
