"""Uplift: who is moved by an offer, learned and evaluated on randomised campaigns.

The stage takes plain arrays (features, the assigned arm, the outcome, optionally
each row's assignment probability) and never imports :mod:`onetoone.measurement`.

- Learning: :func:`fit_uplift` estimates the effect of one or several treatments
  against control with an S-, T-, DR- or X-learner over regularised logistic and ridge
  base models; the result is a frozen :class:`UpliftModel` that predicts effects and
  per-arm outcomes, saved with :func:`onetoone.save` (or :func:`save_uplift`).
- Evaluation follows scikit-uplift's definitions exactly (``docs/uplift.md``):
  :func:`qini_curve`, :func:`uplift_curve`, their perfect curves, the Qini
  coefficient :func:`qini_auc_score`, the AUUC :func:`uplift_auc_score` and
  :func:`uplift_at_k`.
- Policy value: :func:`policy_at_budget` turns scores and a budget into the arm
  per row; :func:`policy_value` and :func:`policy_value_difference` estimate a
  policy's mean outcome (IPS or doubly robust) as an :class:`~onetoone.Estimate`
  with a normal interval, the difference of two policies paired by row.

Examples
--------
>>> from onetoone.uplift import METHODS, qini_auc_score
>>> METHODS
('s', 't', 'dr', 'x')
>>> y, treatment = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
>>> round(qini_auc_score(y, [0.9, 0.8, 0.7, 0.4, 0.2, 0.1], treatment), 4)
0.8462
"""

from onetoone.uplift._io import load_uplift, save_uplift
from onetoone.uplift._learners import (
    INTERACTION_GRID,
    METHODS,
    OUTCOME_TYPES,
    UpliftModel,
    fit_uplift,
)
from onetoone.uplift._metrics import (
    UpliftCurve,
    perfect_qini_curve,
    perfect_uplift_curve,
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_curve,
)
from onetoone.uplift._policy import (
    POLICY_METHODS,
    policy_at_budget,
    policy_value,
    policy_value_difference,
)
from onetoone.uplift._value import IncrementalMargin, incremental_margin

__all__ = [
    "IncrementalMargin",
    "INTERACTION_GRID",
    "METHODS",
    "OUTCOME_TYPES",
    "POLICY_METHODS",
    "UpliftCurve",
    "UpliftModel",
    "fit_uplift",
    "incremental_margin",
    "load_uplift",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "policy_at_budget",
    "policy_value",
    "policy_value_difference",
    "qini_auc_score",
    "qini_curve",
    "save_uplift",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_curve",
]
