"""Uplift: who is moved by an offer, learned from randomised campaigns.

:func:`fit_uplift` estimates, from plain arrays (features, the assigned arm,
the outcome, optionally each row's assignment probability), the effect of one
or several treatments against control with a T-, DR- or X-learner over
regularised logistic and ridge base models; the result is a frozen
:class:`UpliftModel` that predicts effects and per-arm outcomes and is saved
with :func:`save_uplift` (``.npz``, no pickle).

Examples
--------
>>> from onetoone.uplift import METHODS
>>> METHODS
('t', 'dr', 'x')
"""

from onetoone.uplift._io import load_uplift, save_uplift
from onetoone.uplift._learners import METHODS, OUTCOME_TYPES, UpliftModel, fit_uplift

__all__ = ["METHODS", "OUTCOME_TYPES", "UpliftModel", "fit_uplift", "load_uplift", "save_uplift"]
