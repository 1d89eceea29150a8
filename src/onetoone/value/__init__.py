"""Customer value: purchase-frequency and spend models (BTYD), P(alive) and CLV.

The stage between :mod:`onetoone.profiles` and the decision stages: from a
:class:`~onetoone.data.Transactions` log at ``as_of`` (or a summary table a
user already has) it fits the probabilistic models of the marketing science
literature by maximum likelihood and gives, per customer, the expected
purchases in the next ``t``, the probability of being alive, the expected
spend per purchase and the customer lifetime value (see
``docs/customer_value.md`` for the maths and references).

Constants: :data:`METHODS` (``"bgnbd"``, ``"mbgnbd"``; the type
``FrequencyMethod`` spells them for type checkers) and :data:`UNITS`
(``"D"`` = 1 day, ``"W"`` = 7 days; a number of days is accepted too).

Examples
--------
>>> from onetoone.datasets import cdnow
>>> s = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
>>> v = customer_value(fit_frequency(s), fit_spend(s), s, horizon=52)
>>> v.customers == s.customers, bool((v.clv >= 0).all())
(True, True)
"""

from __future__ import annotations

from onetoone.value._clv import CustomerValue, customer_value
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
    "METHODS",
    "UNITS",
    "CustomerValue",
    "FrequencyMethod",
    "FrequencyModel",
    "PurchaseSummary",
    "SpendModel",
    "customer_value",
    "expected_purchases",
    "expected_spend",
    "fit_frequency",
    "fit_spend",
    "p_alive",
    "purchase_summary",
    "unconditional_purchases",
]
