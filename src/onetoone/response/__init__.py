"""Response: offer features and, learned from past campaigns, redemption models.

:func:`offer_features` describes every (customer, offer) pair at a decision
time from the rows before it: the customer's purchases of the offer's items,
the offer's popularity and size, promotion, category and redemption history,
and an affinity model's score.

Examples
--------
:data:`FEATURES` lists every feature :func:`offer_features` can compute, in
column order:

>>> from onetoone.response import FEATURES
>>> FEATURES[:5]
('count_sum', 'count_max', 'count_recency', 'breadth', 'days_since')
"""

from onetoone.response._features import FEATURES, OfferFeatures, offer_features

__all__ = ["FEATURES", "OfferFeatures", "offer_features"]
