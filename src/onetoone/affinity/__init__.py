"""Affinity: how much each customer wants each item and each offer.

:func:`fit_affinity` learns, at a point in time, from the customer's own
repeat purchases (recency-decayed), from customers like them (implicit ALS or
BPR through :mod:`implicit`) and from popularity; :func:`score_items` and
:func:`score_offers` score customers in bounded-memory blocks;
:func:`fit_response` turns scores into response probabilities for
allocation; :func:`save` / :func:`load` persist models without pickle.

Examples
--------
The constants name the choices of :func:`fit_affinity` (``AffinityMethod`` is
the same list as a type) and the file layout written by :func:`save`:

>>> from onetoone.affinity import FORMAT_VERSION, METHODS, WEIGHTINGS
>>> METHODS
('hybrid', 'als', 'bpr', 'repeat', 'popularity')
>>> WEIGHTINGS
('bm25', 'tfidf', 'log', 'none')
>>> FORMAT_VERSION
1
"""

from onetoone.affinity._io import FORMAT_VERSION, load, save
from onetoone.affinity._model import (
    METHODS,
    WEIGHTINGS,
    AffinityMethod,
    AffinityModel,
    fit_affinity,
    partial_fit,
)
from onetoone.affinity._response import ReliabilityTable, ResponseModel, fit_response
from onetoone.affinity._score import ItemScores, OfferScores, score_items, score_offers

__all__ = [
    "AffinityMethod",
    "FORMAT_VERSION",
    "METHODS",
    "WEIGHTINGS",
    "AffinityModel",
    "ItemScores",
    "OfferScores",
    "ReliabilityTable",
    "ResponseModel",
    "fit_affinity",
    "fit_response",
    "load",
    "partial_fit",
    "save",
    "score_items",
    "score_offers",
]
