"""Customer lifetime value: discounted expected purchases times expected spend times margin."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import readonly
from onetoone._checks import check_real
from onetoone.data import IdIndex
from onetoone.errors import ValidationError
from onetoone.value._models import (
    FrequencyModel,
    SpendModel,
    _alive_expectation,
    _model_iv,
    _spend_model_iv,
    expected_spend,
    p_alive,
)
from onetoone.value._summary import PurchaseSummary

__all__ = ["CustomerValue", "customer_value"]

F64 = npt.NDArray[np.float64]
_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")


def _ro(values: Any) -> F64:
    a = np.array(values, dtype=np.float64)
    a.flags.writeable = False
    return a


@attrs.frozen(eq=False)
class CustomerValue:
    """Per-customer value at the end of a summary's observation.

    Attributes
    ----------
    customers : IdIndex
        One id per row; :meth:`reindex` aligns the columns on another index
        (e.g. ``Profiles.customers``).
    p_alive : float64 array
        Probability of being active.
    expected_purchases : float64 array
        Expected purchases over the horizon (not discounted).
    expected_spend : float64 array
        Expected spend per purchase.
    clv : float64 array
        Discounted expected margin over the horizon (>= 0, finite).
    horizon, period, discount_rate, margin : float
        The settings of :func:`customer_value`.

    Examples
    --------
    >>> v = CustomerValue(IdIndex.from_values([1, 2]), p_alive=[1.0, 0.5],
    ...                   expected_purchases=[2.0, 1.0], expected_spend=[10.0, 20.0],
    ...                   clv=[20.0, 20.0], horizon=52.0, period=1.0, discount_rate=0.0,
    ...                   margin=1.0)
    >>> v.reindex(IdIndex.from_values([2, 3])).clv.tolist()
    [20.0, 0.0]
    """

    customers: IdIndex
    p_alive: F64 = attrs.field(converter=_ro)
    expected_purchases: F64 = attrs.field(converter=_ro)
    expected_spend: F64 = attrs.field(converter=_ro)
    clv: F64 = attrs.field(converter=_ro)
    horizon: float
    period: float
    discount_rate: float
    margin: float

    def __attrs_post_init__(self) -> None:
        n = len(self.customers)
        for name in _COLUMNS:
            col = getattr(self, name)
            if col.shape != (n,):
                raise ValidationError(
                    f"{name} must have one value per customer ({n}), got shape {col.shape}",
                    field=name,
                )
            if not bool(np.all(np.isfinite(col) & (col >= 0))):
                raise ValidationError(f"{name} must be finite and >= 0", field=name)

    def __len__(self) -> int:
        return len(self.customers)

    def reindex(self, customers: IdIndex, *, fill: float = 0.0) -> CustomerValue:
        """The same columns on ``customers``; customers not in this result get ``fill``.

        A customer without a purchase before ``as_of`` has no summary and so
        no value here: ``fill`` (default 0) stands in for every column.
        """
        if not isinstance(customers, IdIndex):
            raise ValidationError(
                f"customers must be an IdIndex, got {type(customers).__name__}", field="customers"
            )
        fill_v = check_real(fill, "fill", 0.0)
        codes = self.customers.encode(customers.values, unknown="keep")
        known = codes >= 0
        def take(col: F64) -> F64:
            out = np.full(len(customers), fill_v)
            out[known] = col[codes[known]]
            return out

        return CustomerValue(
            customers,
            p_alive=take(self.p_alive),
            expected_purchases=take(self.expected_purchases),
            expected_spend=take(self.expected_spend),
            clv=take(self.clv),
            horizon=self.horizon,
            period=self.period,
            discount_rate=self.discount_rate,
            margin=self.margin,
        )


def _customer_value_iv(
    horizon: object, period: object, discount_rate: object, margin: object
) -> tuple[float, float, float, float]:
    h = check_real(horizon, "horizon", 0.0, hint=" (in the summary's time unit)")
    p = check_real(period, "period", 0.0, low_inclusive=False,
                   hint=" (length of a discounting period, in the summary's time unit)")
    if h / p > 100_000:
        raise ValidationError(
            f"horizon / period = {h / p:.3g} periods; use at most 100,000 (a longer period)",
            field="period",
        )
    d = check_real(discount_rate, "discount_rate", 0.0, hint=" (per period, e.g. 0.01)")
    m = check_real(margin, "margin", 0.0)
    return h, p, d, m


def customer_value(
    frequency_model: FrequencyModel,
    spend_model: SpendModel,
    summary: PurchaseSummary,
    *,
    horizon: float,
    period: float = 1.0,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> CustomerValue:
    """P(alive), expected purchases and spend, and the discounted CLV of each customer.

    Parameters
    ----------
    frequency_model : FrequencyModel
    spend_model : SpendModel
    summary : PurchaseSummary
        The customers' history, in the time unit the frequency model was fitted in.
    horizon : float
        How far ahead, in the summary's time unit (52 for a year in weeks).
    period : float
        Length of a discounting period in the same unit (e.g. ``52 / 12`` for
        months in weeks); purchases of a period are discounted at its end.
    discount_rate : float
        Discount rate per period (0.01 = 1 % per period).
    margin : float
        Share of the spend that is margin (1.0 gives revenue).

    Returns
    -------
    CustomerValue

    Notes
    -----
    With ``t_k = min(k * period, horizon)``, ``k = 1 .. ceil(horizon / period)``
    and ``E[Y(t)]`` the conditional expected purchases in the next ``t``::

        CLV = margin * E[M] * sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d) ** (t_k / period)

    the discrete form of ``lifetimes``' ``customer_lifetime_value`` (which
    steps by months). Every term is >= 0 and finite, so the CLV is too.

    Examples
    --------
    >>> from onetoone.datasets import cdnow
    >>> from onetoone.value import purchase_summary, fit_frequency, fit_spend
    >>> s = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
    >>> v = customer_value(fit_frequency(s), fit_spend(s), s, horizon=52, period=52 / 12,
    ...                    discount_rate=0.01)
    >>> round(float(v.clv[v.customers.encode([1])[0]]), 2)
    36.19
    """
    _model_iv(frequency_model, summary)
    _spend_model_iv(spend_model, summary)
    h, p, d, m = _customer_value_iv(horizon, period, discount_rate, margin)
    x = summary.frequency.astype(np.float64)
    alive = p_alive(frequency_model, summary)
    spend = expected_spend(spend_model, summary)
    k = max(1, math.ceil(h / p - 1e-12)) if h > 0 else 0
    total = np.zeros(len(x))
    prev = np.zeros(len(x))
    for j in range(1, k + 1):  # periods, each vectorised over customers
        tk = min(j * p, h)
        cum = np.maximum(alive * _alive_expectation(frequency_model, x, summary.T, tk), prev)
        total += (cum - prev) / (1.0 + d) ** (tk / p)
        prev = cum
    clv = m * spend * total
    return CustomerValue(
        summary.customers,
        p_alive=alive,
        expected_purchases=prev,
        expected_spend=spend,
        clv=readonly(clv),
        horizon=h,
        period=p,
        discount_rate=d,
        margin=m,
    )
