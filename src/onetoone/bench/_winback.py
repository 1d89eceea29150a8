"""A win-back strategy: spend the budget on the customers whose value is most at risk.

Each customer's value at risk is ``lapse risk x CLV``
(:func:`onetoone.value.value_at_risk`); an offer that is redeemed is assumed to
win back a share ``effect`` of it. The share is an assumption (or the uplift of
a past win-back campaign, measured): nothing in the history identifies it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone.allocation import Allocation, AllocationProblem, Budget, allocate
from onetoone.bench._checks import RandomState, check_random_state, check_real
from onetoone.bench._core import OfferContext, _check_context
from onetoone.errors import ValidationError
from onetoone.value import (
    METHODS,
    customer_value,
    fit_frequency,
    fit_lapse,
    fit_spend,
    purchase_summary,
    value_at_risk,
)

__all__ = ["win_back", "win_back_weights"]

_F64 = npt.NDArray[np.float64]


def _win_back_weights_iv(
    context: Any, lapse_horizon_days: Any, clv_horizon_weeks: Any, method: Any,
    random_state: Any,
) -> tuple[float, float, np.random.Generator]:
    _check_context(context)
    h = check_real(lapse_horizon_days, "lapse_horizon_days", 0.0, low_inclusive=False)
    weeks = check_real(clv_horizon_weeks, "clv_horizon_weeks", 0.0, low_inclusive=False)
    if method not in METHODS:
        raise ValidationError(f"method must be one of {list(METHODS)}, got {method!r}",
                              field="method")
    return h, weeks, check_random_state(random_state)


def win_back_weights(
    context: OfferContext,
    *,
    lapse_horizon_days: float = 28.0,
    clv_horizon_weeks: float = 52.0,
    method: str = "mbgnbd",
    random_state: RandomState = None,
) -> _F64:
    """Value at risk of each of ``context``'s customers, learned from the history before ``as_of``.

    Fits :func:`onetoone.value.fit_lapse` (lapse in the next
    ``lapse_horizon_days``), :func:`~onetoone.value.fit_frequency` (``method``)
    and :func:`~onetoone.value.fit_spend` on a weekly summary at
    ``context.as_of``, and returns ``lapse risk x CLV`` over
    ``clv_horizon_weeks`` (undiscounted revenue), aligned on
    ``context.customer`` (0 for a customer without a purchase before ``as_of``).

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> m = simulate_market(300, 80, 6, history_weeks=16, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=20.0, method="repeat", random_state=0)
    >>> w = win_back_weights(ctx, random_state=0)
    >>> w.shape == (ctx.n_customers,), bool((w >= 0).all())
    (True, True)
    """
    h, weeks, rng = _win_back_weights_iv(
        context, lapse_horizon_days, clv_horizon_weeks, method, random_state
    )
    tx, at = context.transactions, context.as_of
    risk = fit_lapse(tx, as_of=at, horizon_days=h, random_state=rng).predict(tx, as_of=at)
    summary = purchase_summary(tx, as_of=at, unit="W")
    value = customer_value(
        fit_frequency(summary, method=method),  # type: ignore[arg-type]
        fit_spend(summary),
        summary,
        horizon=weeks,
    )
    w = value_at_risk(value, risk, customers=tx.customers)
    out: _F64 = np.ascontiguousarray(w[context.customer])
    return out


def _win_back_iv(context: Any, weights: Any, effect: Any) -> tuple[_F64 | None, float]:
    _check_context(context)
    e = check_real(effect, "effect", 0.0, 1.0,
                   hint=" (the share of the value at risk a redeemed offer wins back)")
    if weights is None:
        return None, e
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (context.n_customers,):
        raise ValidationError(
            f"weights has shape {w.shape}, expected ({context.n_customers},): one value at risk "
            "per context.customer (see win_back_weights)",
            field="weights",
        )
    if not bool(np.all(np.isfinite(w) & (w >= 0))):
        raise ValidationError("weights must be finite and >= 0", field="weights")
    return w, e


def win_back(
    context: OfferContext,
    *,
    weights: npt.ArrayLike | None = None,
    effect: float = 0.1,
    lapse_horizon_days: float = 28.0,
    clv_horizon_weeks: float = 52.0,
    random_state: RandomState = None,
) -> Allocation:
    """Spend the budget where a redeemed offer wins back the most value at risk.

    A strategy (``functools.partial(win_back, effect=0.2)`` fixes its
    options): each (customer, offer) pair is worth
    ``effect x value_at_risk[customer] x p_offer[customer, offer]`` (the offer
    is redeemed with the context's ``p_offer``; a redemption wins back the
    share ``effect`` of the customer's value at risk), and costs what it
    costs for every other strategy (``p_offer x cost``, or ``cost`` per offer
    sent), so it is held to the same budget by the same ruler.

    Parameters
    ----------
    context : OfferContext
    weights : float array of shape (n_customers,), optional
        Value at risk per ``context.customer``; default
        :func:`win_back_weights` (``lapse risk x CLV`` learned on the
        history before ``as_of``).
    effect : float
        **Assumed** share (0..1) of the value at risk that a redeemed offer
        wins back; measure it on a past win-back campaign where you can.
    lapse_horizon_days, clv_horizon_weeks : float
        Passed to :func:`win_back_weights` when ``weights`` is None.
    random_state : int, Generator or None
        Seeds the lapse model's cross-validation folds; the evaluators pass
        their own generator (see :class:`Strategy`).

    Returns
    -------
    Allocation
        Over ``context.customer``, within ``context.budget``.

    Raises
    ------
    ValidationError
        ``context`` is not an :class:`OfferContext`; bad ``weights`` or
        ``effect``; or the history cannot be learned from.

    Examples
    --------
    >>> from onetoone.bench import make_context, market_offers, simulate_market
    >>> m = simulate_market(300, 80, 6, history_weeks=16, random_state=0)
    >>> ctx = make_context(m.history, market_offers(m), as_of=m.campaign_start,
    ...                    budget=20.0, k=1, method="repeat", random_state=0)
    >>> plan = win_back(ctx, effect=0.2, random_state=0)
    >>> bool(plan.budget_spend[0] <= 20.0 + 1e-9)
    True
    """
    w, e = _win_back_iv(context, weights, effect)
    rng = check_random_state(random_state)
    if w is None:
        w = win_back_weights(
            context,
            lapse_horizon_days=lapse_horizon_days,
            clv_horizon_weeks=clv_horizon_weeks,
            random_state=rng,
        )
    value = e * w[:, None] * context.p_offer
    exp_cost = context.p_offer * context.cost[None, :]
    usage = (
        exp_cost
        if context.budget_on == "expected_cost"
        else np.broadcast_to(context.cost[None, :], value.shape)
    )
    eligible = context.eligible & (value > 0)
    problem = AllocationProblem.from_dense(
        np.where(eligible, value, 0.0),
        exp_cost,
        budgets=[Budget("budget", context.budget, usage=np.ascontiguousarray(usage))],
        k=context.k,
        eligible=eligible,
    )
    return allocate(problem, method="dual")
