"""Value in decisions: CLV, P(alive) and lapse risk as profile features; value at risk.

:func:`value_features` aligns a :class:`~onetoone.value.CustomerValue` and a
:class:`~onetoone.value.LapseRisk` on any customer index (typically
``Profiles.customers``) in the shape :class:`~onetoone.profiles.Profiles`
exposes its own features (``matrix``, ``to_dict``, ``to_pandas``), so they can
be stacked onto the profile matrix of a response or uplift model or joined to
``Profiles.to_pandas()``. :func:`value_at_risk` is the per-customer weight
``lapse risk x CLV`` a win-back budget is spent on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import readonly
from onetoone._checks import check_real
from onetoone._optional import import_optional
from onetoone.data import IdIndex
from onetoone.errors import ValidationError
from onetoone.profiles import Profiles
from onetoone.value._clv import CustomerValue
from onetoone.value._lapse import LapseRisk

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "VALUE_FEATURES",
    "TargetedRisk",
    "ValueFeatures",
    "targeted_risk",
    "value_at_risk",
    "value_features",
]

_F64 = npt.NDArray[np.float64]

#: Names of the per-customer value features, in :meth:`ValueFeatures.matrix` order.
VALUE_FEATURES: tuple[str, ...] = ("p_alive", "clv", "lapse_risk", "value_at_risk")


def _col(values: Any) -> _F64:
    return readonly(np.array(values, dtype=np.float64))


def _flag(values: Any) -> npt.NDArray[np.bool_]:
    return readonly(np.array(values, dtype=bool))


@attrs.frozen(eq=False)
class ValueFeatures:
    """CLV, P(alive), lapse risk and value at risk, one row per customer of an index.

    Attributes
    ----------
    customers : IdIndex
        The rows (e.g. ``Profiles.customers``).
    has_value : bool array
        True where the customer is in both the :class:`CustomerValue` and the
        :class:`LapseRisk` (a purchase before ``as_of``); the other rows hold 0
        in every column (no history: nothing at risk), and are counted by
        :attr:`n_missing`.
    p_alive, clv, lapse_risk, value_at_risk : float64 arrays
        ``value_at_risk = lapse_risk * clv``.
    clv_horizon : float
        The CLV's horizon, in the summary's time unit.
    lapse_horizon_days : float
        The lapse risk's ``H``: P(no purchase in the next ``H`` days).

    Examples
    --------
    >>> f = ValueFeatures(IdIndex.from_values([1, 2]), has_value=[True, False],
    ...                   p_alive=[0.9, 0.0], clv=[100.0, 0.0], lapse_risk=[0.2, 0.0],
    ...                   value_at_risk=[20.0, 0.0], clv_horizon=52.0,
    ...                   lapse_horizon_days=28.0)
    >>> f.matrix(["value_at_risk"]).ravel().tolist(), f.n_missing
    ([20.0, 0.0], 1)
    """

    customers: IdIndex
    has_value: npt.NDArray[np.bool_] = attrs.field(converter=_flag)
    p_alive: _F64 = attrs.field(converter=_col)
    clv: _F64 = attrs.field(converter=_col)
    lapse_risk: _F64 = attrs.field(converter=_col)
    value_at_risk: _F64 = attrs.field(converter=_col)
    clv_horizon: float
    lapse_horizon_days: float

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customers, IdIndex):
            raise ValidationError(
                f"customers must be an IdIndex, got {type(self.customers).__name__}",
                field="customers",
            )
        n = len(self.customers)
        for name in ("has_value", *VALUE_FEATURES):
            col = getattr(self, name)
            if col.shape != (n,):
                raise ValidationError(
                    f"{name} must have one value per customer ({n}), got shape {col.shape}",
                    field=name,
                )
        for name in VALUE_FEATURES:
            col = getattr(self, name)
            if not bool(np.all(np.isfinite(col) & (col >= 0))):
                raise ValidationError(f"{name} must be finite and >= 0", field=name)
        for name in ("p_alive", "lapse_risk"):
            if not bool(np.all(getattr(self, name) <= 1)):
                raise ValidationError(f"{name} must hold probabilities in [0, 1]", field=name)

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def n_missing(self) -> int:
        """Rows without a value or a lapse risk (filled with 0)."""
        return int((~self.has_value).sum())

    def matrix(self, features: Sequence[str] = VALUE_FEATURES) -> _F64:
        """Dense ``(n_customers, len(features))`` float array of the named features.

        Stack it next to :meth:`Profiles.matrix` (same rows when built on
        ``Profiles.customers``) to use the value features in a response or
        uplift model.
        """
        if isinstance(features, str):
            raise ValidationError(
                "features must be a sequence of names, not a single string", field="features"
            )
        unknown = [f for f in features if f not in VALUE_FEATURES]
        if unknown:
            raise ValidationError(
                f"unknown feature(s) {unknown}; choose from {list(VALUE_FEATURES)}",
                field="features",
            )
        if not features:
            return np.zeros((len(self), 0))
        return np.column_stack([getattr(self, f) for f in features])

    def to_dict(self) -> dict[str, npt.NDArray[Any]]:
        """Columns as a dict: ``customer`` (external ids), ``has_value`` and the features."""
        out: dict[str, npt.NDArray[Any]] = {
            "customer": self.customers.values,
            "has_value": self.has_value,
        }
        for f in VALUE_FEATURES:
            out[f] = getattr(self, f)
        return out

    def to_pandas(self) -> pd.DataFrame:
        """The features as a DataFrame indexed by customer id (needs pandas).

        ``profiles.to_pandas().join(features.to_pandas())`` puts them next to
        the profile features.
        """
        pandas = import_optional("pandas", purpose="ValueFeatures.to_pandas")
        frame: pd.DataFrame = pandas.DataFrame(self.to_dict()).set_index("customer")
        return frame


def _align_iv(value: object, risk: object, customers: object) -> IdIndex:
    if not isinstance(value, CustomerValue):
        raise ValidationError(
            f"value must be a CustomerValue (from customer_value), got {type(value).__name__}",
            field="value",
        )
    if not isinstance(risk, LapseRisk):
        raise ValidationError(
            f"risk must be a LapseRisk (from LapseModel.predict), got {type(risk).__name__}",
            field="risk",
        )
    if customers is None:
        return value.customers
    if isinstance(customers, Profiles):
        return customers.customers
    if isinstance(customers, IdIndex):
        return customers
    raise ValidationError(
        f"customers must be an IdIndex or Profiles, got {type(customers).__name__}",
        field="customers",
    )


def _aligned(
    value: CustomerValue, risk: LapseRisk, index: IdIndex
) -> tuple[npt.NDArray[np.bool_], _F64, _F64, _F64]:
    """has_value, p_alive, clv and lapse risk on ``index`` (0 where unknown)."""
    if index.kind != value.customers.kind or index.kind != risk.customers.kind:
        raise ValidationError(
            f"customer ids differ in kind: customers {index.kind!r}, value "
            f"{value.customers.kind!r}, risk {risk.customers.kind!r}; build all three from "
            "the same log",
            field="customers",
        )
    cv = value.customers.encode(index.values, unknown="keep")
    cr = risk.customers.encode(index.values, unknown="keep")
    has = (cv >= 0) & (cr >= 0)
    n = len(index)
    alive, clv, lapse = np.zeros(n), np.zeros(n), np.zeros(n)
    alive[has] = value.p_alive[cv[has]]
    clv[has] = value.clv[cv[has]]
    lapse[has] = risk.risk[cr[has]]
    return has, alive, clv, lapse


def value_at_risk(
    value: CustomerValue,
    risk: LapseRisk,
    *,
    customers: IdIndex | Profiles | None = None,
) -> _F64:
    """Per-customer value at risk: ``lapse risk x CLV``, a weight for a win-back budget.

    Parameters
    ----------
    value : CustomerValue
        From :func:`customer_value` at ``as_of``.
    risk : LapseRisk
        From :meth:`LapseModel.predict` at the same ``as_of``.
    customers : IdIndex or Profiles, optional
        The rows of the result (default ``value.customers``); a customer
        missing from ``value`` or ``risk`` gets 0 (:func:`value_features`
        counts them).

    Returns
    -------
    float64 array
        One weight ``>= 0`` per customer, in the currency of the CLV.

    Raises
    ------
    ValidationError
        Arguments of the wrong type, or ids of another kind.

    Examples
    --------
    >>> import numpy as np
    >>> ids = IdIndex.from_values([7, 8])
    >>> v = CustomerValue(ids, p_alive=[0.9, 0.5], expected_purchases=[4.0, 1.0],
    ...                   expected_spend=[25.0, 10.0], clv=[100.0, 10.0], horizon=52.0,
    ...                   period=1.0, discount_rate=0.0, margin=1.0)
    >>> r = LapseRisk(ids, [0.3, 0.9], np.datetime64("2024-01-01", "s"), 28.0)
    >>> value_at_risk(v, r).tolist()
    [30.0, 9.0]
    """
    index = _align_iv(value, risk, customers)
    _, _, clv, lapse = _aligned(value, risk, index)
    out: _F64 = readonly(lapse * clv)
    return out


def value_features(
    customers: IdIndex | Profiles,
    *,
    value: CustomerValue,
    risk: LapseRisk,
) -> ValueFeatures:
    """CLV, P(alive), lapse risk and value at risk aligned on ``customers``.

    Parameters
    ----------
    customers : Profiles or IdIndex
        The rows: a :class:`~onetoone.profiles.Profiles` (its ``customers``) or
        any index.
    value : CustomerValue
        From :func:`customer_value`.
    risk : LapseRisk
        From :meth:`LapseModel.predict`.

    Returns
    -------
    ValueFeatures
        Customers absent from ``value`` or ``risk`` (no purchase before
        ``as_of``) hold 0 and ``has_value=False``.

    Raises
    ------
    ValidationError
        Arguments of the wrong type, or ids of another kind.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone import build_profiles
    >>> from onetoone.datasets import synthetic_transactions
    >>> from onetoone.value import (customer_value, fit_frequency, fit_lapse, fit_spend,
    ...                             purchase_summary)
    >>> tx = synthetic_transactions(n_customers=300, n_items=20, n_days=200, random_state=0)
    >>> at = tx.period[1]
    >>> s = purchase_summary(tx, as_of=at, unit="W")
    >>> v = customer_value(fit_frequency(s), fit_spend(s), s, horizon=52)
    >>> r = fit_lapse(tx, as_of=at, horizon_days=28, random_state=0).predict(tx, as_of=at)
    >>> profiles = build_profiles(tx, as_of=at)
    >>> f = value_features(profiles, value=v, risk=r)
    >>> x = np.column_stack([profiles.matrix(), f.matrix()])   # extra feature columns
    >>> x.shape[0] == len(profiles), bool((f.value_at_risk <= f.clv).all())
    (True, True)
    """
    index = _align_iv(value, risk, customers)
    has, alive, clv, lapse = _aligned(value, risk, index)
    return ValueFeatures(
        index,
        has_value=has,
        p_alive=alive,
        clv=clv,
        lapse_risk=lapse,
        value_at_risk=lapse * clv,
        clv_horizon=value.horizon,
        lapse_horizon_days=risk.horizon_days,
    )


def _threshold(value: Any) -> float:
    return check_real(value, "threshold", 0.0, 1.0, what="must be a probability in [0, 1]")


@attrs.frozen(eq=False)
class TargetedRisk:
    """Lapse risk and value of the customers a campaign targets (see :func:`targeted_risk`).

    Plain numbers for the campaign report and the ids to measure the at-risk
    subgroup with; :meth:`report_fields` gives the figures
    :class:`onetoone.report.LapseSummary` takes (this module never imports the
    report: the numbers travel as data).

    Attributes
    ----------
    features : ValueFeatures
        CLV, P(alive), lapse risk and value at risk, one row per targeted
        customer (``has_value`` False for one without history before ``as_of``).
    threshold : float
        A customer is *at risk* when their lapse risk is ``>= threshold``.
    base_value_at_risk : float
        Value at risk of every customer with a value and a risk (the whole
        base), to say what share the campaign covers.
    as_of : numpy.datetime64
        When the lapse risk was computed (``LapseRisk.as_of``).

    Examples
    --------
    >>> import numpy as np
    >>> f = ValueFeatures(IdIndex.from_values([1, 2]), has_value=[True, True],
    ...                   p_alive=[0.9, 0.5], clv=[100.0, 40.0], lapse_risk=[0.2, 0.6],
    ...                   value_at_risk=[20.0, 24.0], clv_horizon=52.0,
    ...                   lapse_horizon_days=28.0)
    >>> t = TargetedRisk(f, threshold=0.5, base_value_at_risk=88.0,
    ...                  as_of=np.datetime64("2024-01-01", "s"))
    >>> t.n_targeted, t.n_at_risk, t.at_risk_ids.tolist(), t.value_at_risk
    (2, 1, [2], 44.0)
    """

    features: ValueFeatures
    threshold: float = attrs.field(converter=_threshold)
    base_value_at_risk: float
    as_of: np.datetime64

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.features, ValueFeatures):
            raise ValidationError(
                f"features must be a ValueFeatures, got {type(self.features).__name__}",
                field="features",
            )
        when: object = self.as_of  # checked at run time: attrs does not
        if not isinstance(when, np.datetime64) or np.isnat(when):
            raise ValidationError(
                f"as_of must be a numpy.datetime64 (LapseRisk.as_of), got {self.as_of!r}",
                field="as_of",
            )
        base = check_real(self.base_value_at_risk, "base_value_at_risk", 0.0)
        if base < self.value_at_risk * (1 - 1e-9) - 1e-9:
            raise ValidationError(
                f"base_value_at_risk ({base:g}) is below the targeted customers' value at "
                f"risk ({self.value_at_risk:g}); it must cover the whole base",
                field="base_value_at_risk",
            )

    @property
    def at_risk(self) -> npt.NDArray[np.bool_]:
        """True for a targeted customer with history whose lapse risk is ``>= threshold``."""
        f = self.features
        out: npt.NDArray[np.bool_] = f.has_value & (f.lapse_risk >= self.threshold)
        return out

    @property
    def at_risk_ids(self) -> npt.NDArray[Any]:
        """The external ids of the at-risk customers (e.g. to measure that subgroup)."""
        out: npt.NDArray[Any] = self.features.customers.values[self.at_risk]
        return out

    @property
    def n_targeted(self) -> int:
        """Distinct customers the campaign targets."""
        return len(self.features)

    @property
    def n_at_risk(self) -> int:
        """Targeted customers at risk (lapse risk ``>= threshold``)."""
        return int(self.at_risk.sum())

    @property
    def mean_risk(self) -> float | None:
        """Mean lapse risk of the at-risk customers (None when there are none)."""
        m = self.at_risk
        return float(self.features.lapse_risk[m].mean()) if m.any() else None

    @property
    def value_at_risk(self) -> float:
        """Value at risk (lapse risk x CLV) summed over every targeted customer."""
        return float(self.features.value_at_risk.sum())

    @property
    def at_risk_value(self) -> float:
        """Value at risk summed over the at-risk customers only."""
        return float(self.features.value_at_risk[self.at_risk].sum())

    @property
    def at_risk_clv(self) -> float:
        """Total CLV of the at-risk customers."""
        return float(self.features.clv[self.at_risk].sum())

    def report_fields(self) -> dict[str, Any]:
        """The figures as a dict keyed by :class:`onetoone.report.LapseSummary`'s fields.

        Pass it as ``render_html(lapse=...)`` (a mapping is accepted there), or
        build ``LapseSummary(**fields, clv_horizon="52 weeks")`` with the CLV
        horizon's unit, which a :class:`CustomerValue` does not know.
        """
        return {
            "n_targeted": self.n_targeted,
            "n_at_risk": self.n_at_risk,
            "threshold": self.threshold,
            "mean_risk": self.mean_risk,
            "at_risk_clv": self.at_risk_clv,
            "at_risk_value": self.at_risk_value,
            "value_at_risk": self.value_at_risk,
            "total_value_at_risk": self.base_value_at_risk,
            "horizon_days": self.features.lapse_horizon_days,
            "n_missing": self.features.n_missing,
            "as_of": self.as_of,
        }


def _targeted_risk_iv(value: object, risk: object, customer_ids: object) -> IdIndex:
    _align_iv(value, risk, None)
    if isinstance(customer_ids, IdIndex):
        return customer_ids
    if isinstance(customer_ids, (str, bytes)) or customer_ids is None:
        raise ValidationError(
            "customer_ids must be an array of the targeted customers' ids (e.g. "
            "Plan.customers or the plan's customer_id column)",
            field="customer_ids",
        )
    ids = np.asarray(customer_ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValidationError(
            f"customer_ids must be a non-empty 1-d array of ids, got shape {ids.shape}",
            field="customer_ids",
        )
    return IdIndex.from_values(ids)


def targeted_risk(
    value: CustomerValue,
    risk: LapseRisk,
    customer_ids: npt.ArrayLike | IdIndex,
    *,
    threshold: float = 0.5,
) -> TargetedRisk:
    """Lapse risk and value at risk of the customers a campaign targets.

    Parameters
    ----------
    value : CustomerValue
        From :func:`customer_value`.
    risk : LapseRisk
        From :meth:`LapseModel.predict`; to measure the effect on the at-risk
        subgroup, compute it at or before the campaign start (a subgroup chosen
        on what happened during the campaign is not comparable between arms).
    customer_ids : array of ids or IdIndex
        The targeted customers, e.g. ``Plan.customers``; repeats (one row per
        offer) count once.
    threshold : float
        At risk means a lapse risk ``>= threshold`` (default 0.5: more likely
        to lapse than not). The risk is calibrated to the training cut's lapse
        rate, so on a short horizon a lower threshold is often the useful one.

    Returns
    -------
    TargetedRisk
        Its :meth:`~TargetedRisk.report_fields` feed ``render_html(lapse=)``;
        its ``at_risk_ids`` select the subgroup to measure.

    Raises
    ------
    ValidationError
        Arguments of the wrong type, ids of another kind, no targeted ids, a
        threshold outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> ids = IdIndex.from_values([7, 8, 9])
    >>> v = CustomerValue(ids, p_alive=[0.9, 0.5, 0.2], expected_purchases=[4.0, 1.0, 0.5],
    ...                   expected_spend=[25.0, 10.0, 10.0], clv=[100.0, 10.0, 5.0],
    ...                   horizon=52.0, period=1.0, discount_rate=0.0, margin=1.0)
    >>> r = LapseRisk(ids, [0.3, 0.9, 0.8], np.datetime64("2024-01-01", "s"), 28.0)
    >>> t = targeted_risk(v, r, [7, 8, 8, 42], threshold=0.5)
    >>> t.n_targeted, t.n_at_risk, t.at_risk_ids.tolist(), t.features.n_missing
    (3, 1, [8], 1)
    >>> t.value_at_risk, t.base_value_at_risk
    (39.0, 43.0)
    """
    index = _targeted_risk_iv(value, risk, customer_ids)
    thr = _threshold(threshold)
    features = value_features(index, value=value, risk=risk)
    base = float(value_at_risk(value, risk).sum())
    return TargetedRisk(features, threshold=thr, base_value_at_risk=base, as_of=risk.as_of)
