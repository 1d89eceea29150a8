"""A strategy that learns who is moved by an offer from a randomised pilot, then spends on it.

The other strategies act on an estimate of who *buys*; this one acts on an
estimate of who buys *because of the offer*, learned from a logged randomised
pilot campaign (:func:`~onetoone.bench.log_campaign`, or a retailer's own
campaign with its assignment probabilities), and allocates the budget by
incremental margin (:func:`onetoone.uplift.incremental_margin`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone.allocation import Allocation, AllocationProblem, Budget, allocate
from onetoone.bench._checks import RandomState, check_random_state, check_real
from onetoone.bench._core import OfferContext, _check_context
from onetoone.bench._simulator import LoggedCampaign
from onetoone.errors import UnknownIdError, ValidationError
from onetoone.uplift import METHODS as UPLIFT_METHODS
from onetoone.uplift import fit_uplift, incremental_margin

__all__ = ["pair_features", "uplift_margin"]

_F64 = npt.NDArray[np.float64]
_EPS = 1e-4


def pair_features(
    context: OfferContext, row: npt.NDArray[np.intp], offer: npt.NDArray[np.intp]
) -> _F64:
    """Features of (customer, offer) pairs: rows of the context and offer codes.

    Columns: ``logit(p_buy)`` (the calibrated affinity: would they buy anyway),
    the customer's promotion sensitivity, the offer's estimated discount, their
    product (the discount's pull on this customer), ``log1p`` recency, frequency
    and monetary value, the customer's discount share, and one indicator per
    offer (each offer its own baseline and effect).
    """
    p = np.clip(context.p_buy[row, offer], _EPS, 1.0 - _EPS)
    codes = context.customer[row]
    prof = context.profiles
    sens = context.sensitivity[row]
    disc = context.discount[offer]
    onehot = np.zeros((len(row), context.n_offers))
    onehot[np.arange(len(row)), offer] = 1.0
    rec = np.nan_to_num(prof.recency_days[codes], nan=1e4)
    return np.column_stack(
        [
            np.log(p / (1.0 - p)),
            sens,
            disc,
            sens * disc,
            np.log1p(np.minimum(rec, 1e4)),
            np.log1p(prof.frequency[codes]),
            np.log1p(np.maximum(prof.monetary[codes], 0.0)),
            np.nan_to_num(prof.discount_share[codes]),
            onehot,
        ]
    )


def _uplift_margin_iv(
    context: Any, pilot: Any, method: Any, l2: Any, random_state: Any
) -> tuple[npt.NDArray[np.intp], np.random.Generator]:
    """Check the arguments; return the context row of each pilot decision and the generator."""
    _check_context(context)
    if not isinstance(pilot, LoggedCampaign):
        raise ValidationError(
            f"pilot must be a LoggedCampaign (from log_campaign, or built from a randomised "
            f"campaign's decisions), got {type(pilot).__name__}",
            field="pilot",
        )
    if method not in UPLIFT_METHODS:
        raise ValidationError(
            f"method must be one of {list(UPLIFT_METHODS)}, got {method!r}", field="method"
        )
    check_real(l2, "l2", 0.0)
    rng = check_random_state(random_state)
    if context.offers.value is None:
        raise ValidationError(
            "uplift_margin needs offers.value (the margin of a purchase of the offer's items)",
            field="context",
        )
    if len(pilot.customer) == 0:
        raise ValidationError("pilot has no decisions; log a randomised pilot", field="pilot")
    if int(pilot.offer.max()) >= context.n_offers:
        raise UnknownIdError(
            f"pilot offer codes must lie in 0..{context.n_offers - 1} (context.offers)",
            field="pilot",
        )
    inside = (pilot.propensity > 0.0) & (pilot.propensity < 1.0)
    if not bool(inside.all()):
        i = int(np.argmin(inside))
        raise ValidationError(
            f"pilot decision {i} has propensity {float(pilot.propensity[i])!r}: every decision "
            "must be randomised (0 < propensity < 1); keep only the pilot's randomised pairs",
            field="pilot",
        )
    order = np.argsort(context.customer, kind="stable")
    pos = np.searchsorted(context.customer[order], pilot.customer)
    pos = np.minimum(pos, len(order) - 1)
    found = context.customer[order][pos] == pilot.customer
    if not bool(found.all()):
        missing = int(pilot.customer[np.argmin(found)])
        raise UnknownIdError(
            f"pilot customer code {missing} is not among context.customer; build the context "
            "over the pilot's customers too (pilot customer codes index "
            "context.transactions.customers)",
            field="pilot",
        )
    return order[pos], rng


def uplift_margin(
    context: OfferContext,
    *,
    pilot: LoggedCampaign,
    method: str = "t",
    l2: float = 1.0,
    random_state: RandomState = None,
) -> Allocation:
    """Learn each offer's uplift from a randomised pilot; allocate by incremental margin.

    A strategy (pass it as ``functools.partial(uplift_margin, pilot=log)``): an
    uplift model (:func:`onetoone.uplift.fit_uplift`) of "buys an item of the
    offer" on the pilot's decisions, with their logged sending probabilities,
    over pair features (:func:`pair_features`: the context's calibrated
    purchase estimate, promotion sensitivity, discount and profile); then each
    (customer, offer) pair is worth ``uplift x margin - P(buy | sent) x cost``
    (``offers.value`` and ``offers.cost``), and the budget goes to the pairs
    worth most (pairs worth nothing are never sent).

    Parameters
    ----------
    context : OfferContext
        The decision; its customers must include the pilot's.
    pilot : LoggedCampaign
        Randomised decisions (``0 < propensity < 1``), customer codes into
        ``context.transactions.customers`` and offer codes into
        ``context.offers``. A decision's outcome is whether the offer's items
        were bought: ``reward != 0`` (the simulator's reward is the margin of
        the purchase, net of the discount when sent).
    method : {"t", "dr", "x"}
        The uplift learner.
    l2 : float
        Its base models' penalty.
    random_state : int, Generator or None
        Seeds the learner's folds (``"dr"``); the evaluators pass their own
        generator (see :class:`Strategy`).

    Returns
    -------
    Allocation
        Over ``context.customer``, within ``context.budget``. With
        ``budget_on="expected_cost"`` the budget row is the model's own
        expected cost ``P(buy | sent) x cost`` (learned on the pilot, where the
        context's ``p_offer`` rests on an assumed elasticity); with ``"sent"``,
        ``cost`` per offer sent, as for the other strategies.

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`, ``pilot`` is not a
        :class:`LoggedCampaign` (or is empty, or holds a decision that was not
        randomised), an unknown ``method``, a bad ``l2``, or no
        ``offers.value``; or the pilot cannot be learned from (e.g. nobody
        bought in one arm).
    UnknownIdError
        A pilot customer is not in the context, or an offer code is out of range.

    Examples
    --------
    >>> import functools
    >>> from onetoone.bench import (log_campaign, make_context, market_offers,
    ...                             simulate, simulate_market)
    >>> m = simulate_market(300, 80, 6, history_weeks=10, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=20.0, method="repeat", random_state=0)
    >>> pilot = log_campaign(m, 0.5, random_state=1)
    >>> r = simulate(functools.partial(uplift_margin, pilot=pilot), m, budget=20.0,
    ...              context=ctx, random_state=0)
    >>> bool(r.allocation.budget_spend[0] <= 20.0 + 1e-9), bool((r.allocation.value > 0).all())
    (True, True)
    """
    rows, rng = _uplift_margin_iv(context, pilot, method, l2, random_state)
    offer = pilot.offer.astype(np.intp)
    model = fit_uplift(
        pair_features(context, rows, offer),
        pilot.sent.astype(np.int64),
        (pilot.reward != 0).astype(np.float64),
        method=method,
        outcome_type="binary",
        propensity=pilot.logged_propensity(),
        l2=l2,
        random_state=rng,
    )
    n_c, n_o = context.n_customers, context.n_offers
    r_all, o_all = np.indices((n_c, n_o)).reshape(2, -1)
    x = pair_features(context, r_all, o_all)
    uplift = np.asarray(model.predict(x)).reshape(n_c, n_o)
    redeem = model.predict_outcomes(x)[model.treatments[0]].reshape(n_c, n_o)
    assert context.offers.value is not None  # checked in _uplift_margin_iv
    im = incremental_margin(
        uplift,
        margin=np.nan_to_num(context.offers.value),
        redemption_cost=context.cost,
        redemption=redeem,
        group=np.arange(n_o),
    )
    usage = (
        im.cost
        if context.budget_on == "expected_cost"
        else np.broadcast_to(context.cost[None, :], (n_c, n_o))
    )
    eligible = context.eligible & (im.value > 0)
    problem = AllocationProblem.from_dense(
        np.where(eligible, im.value, 0.0),
        im.cost,
        budgets=[Budget("budget", context.budget, usage=np.ascontiguousarray(usage))],
        k=context.k,
        eligible=eligible,
    )
    return allocate(problem, method="dual")
