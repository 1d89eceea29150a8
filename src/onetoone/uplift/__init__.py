"""Uplift: who is moved by an offer, learned and evaluated on randomised campaigns.

The stage takes plain arrays (outcome, treatment, scores, propensities) and
never imports :mod:`onetoone.measurement`. Evaluation follows scikit-uplift's
definitions exactly (see ``docs/uplift.md``): :func:`qini_curve`,
:func:`uplift_curve`, their perfect curves, the Qini coefficient
:func:`qini_auc_score`, the AUUC :func:`uplift_auc_score` and
:func:`uplift_at_k`.

Examples
--------
>>> from onetoone.uplift import qini_auc_score
>>> y, treatment = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
>>> round(qini_auc_score(y, [0.9, 0.8, 0.7, 0.4, 0.2, 0.1], treatment), 4)
0.8462
"""

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

__all__ = [
    "UpliftCurve",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_auc_score",
    "qini_curve",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_curve",
]
