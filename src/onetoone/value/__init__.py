"""Customer value: lapse risk (and, on the other branch, BG/NBD, Gamma-Gamma and CLV).

- :func:`lapse_features`: each customer's shopping rhythm at a cut, point in time.
- :func:`fit_lapse`: P(no purchase in the next H days), learned on an earlier cut;
  a frozen :class:`LapseModel` whose :meth:`~LapseModel.predict` gives a
  :class:`LapseRisk`; saved with :func:`save_lapse` / :func:`onetoone.save`.

Examples
--------
>>> from onetoone.value import FEATURES
>>> FEATURES[:3]
('recency_days', 'frequency', 'tenure_days')
"""

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

__all__ = [
    "FEATURES",
    "PROFILE_FEATURES",
    "LapseFeatures",
    "LapseModel",
    "LapseRisk",
    "fit_lapse",
    "lapse_features",
    "load_lapse",
    "save_lapse",
]
