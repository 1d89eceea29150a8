"""The value of a (customer, treatment) pair when the budget is spent on incremental margin.

An uplift model says how much a treatment *changes* the outcome; a budget should
buy that change, not the purchases that would have happened anyway. This module
turns per-arm predictions into the value and cost arrays the allocation stage
takes (``onetoone.allocation.AllocationProblem.from_dense``). It imports nothing
of the allocation stage (a stage never imports a later one): the arrays are the
interface.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import readonly
from onetoone.errors import LengthMismatchError, ValidationError
from onetoone.uplift._learners import Label, UpliftModel, _check_x

__all__ = ["IncrementalMargin", "incremental_margin"]

_F64 = npt.NDArray[np.float64]
_I32 = npt.NDArray[np.int32]


def _f64_2d(a: Any) -> _F64:
    out: _F64 = readonly(np.array(a, dtype=np.float64))
    return out


def _i32(a: Any) -> _I32:
    out: _I32 = readonly(np.array(a, dtype=np.int32))
    return out


def _labels(v: Any) -> tuple[Label, ...]:
    return tuple(int(x) if isinstance(x, (int, np.integer)) else str(x) for x in v)


@attrs.frozen(eq=False)
class IncrementalMargin:
    """Expected incremental value and expected spend of each (customer, treatment) pair.

    Built by :func:`incremental_margin`; the arrays are read-only and feed
    ``AllocationProblem.from_dense(result.value, result.cost, ..., group=result.group)``
    directly.

    Attributes
    ----------
    value : float64 array, ``(n_customers, n_treatments)``
        ``uplift * margin - redemption * redemption_cost - contact_cost``.
    cost : float64 array, ``(n_customers, n_treatments)``
        Expected spend, ``redemption * redemption_cost + contact_cost`` (>= 0).
    uplift : float64 array, ``(n_customers, n_treatments)``
        The effect of each treatment against control the value was built from.
    redemption : float64 array, ``(n_customers, n_treatments)``
        ``P(redeem | treated)``, in [0, 1].
    group : int32 array, ``(n_treatments,)``
        Group of each treatment column: variants of one offer share a group, and
        at most one of them is chosen per customer with ``group_max=1``.
    treatments : tuple of int or str
        Label of each column (the model's treatments, or ``0 .. T-1`` for arrays).

    Raises
    ------
    ValidationError
        Arrays of different shapes, non-finite figures, a negative cost, a
        redemption probability outside [0, 1], or a group per column missing.

    Examples
    --------
    >>> r = IncrementalMargin(value=[[1.0, -0.5]], cost=[[2.0, 1.0]], uplift=[[0.3, 0.1]],
    ...                       redemption=[[0.5, 0.5]], group=[0, 0], treatments=("a", "b"))
    >>> r.n_customers, r.n_treatments, r.n_groups, r.n_unprofitable
    (1, 2, 1, 1)
    """

    value: _F64 = attrs.field(converter=_f64_2d, repr=False)
    cost: _F64 = attrs.field(converter=_f64_2d, repr=False)
    uplift: _F64 = attrs.field(converter=_f64_2d, repr=False)
    redemption: _F64 = attrs.field(converter=_f64_2d, repr=False)
    group: _I32 = attrs.field(converter=_i32)
    treatments: tuple[Label, ...] = attrs.field(converter=_labels)

    def __attrs_post_init__(self) -> None:
        shape = self.value.shape
        if self.value.ndim != 2:
            raise ValidationError(
                f"value must be a 2-D (n_customers, n_treatments) array, got shape {shape}",
                field="value",
            )
        for name in ("cost", "uplift", "redemption"):
            got = getattr(self, name).shape
            if got != shape:
                raise LengthMismatchError(
                    f"{name} has shape {got} but value has shape {shape}; they must match",
                    field=name,
                )
        for name in ("value", "cost", "uplift", "redemption"):
            if not bool(np.isfinite(getattr(self, name)).all()):
                raise ValidationError(f"{name} holds NaN or infinite values", field=name)
        if bool((self.cost < 0).any()):
            raise ValidationError("cost must be >= 0 (an expected spend)", field="cost")
        if bool(((self.redemption < 0) | (self.redemption > 1)).any()):
            raise ValidationError("redemption must be probabilities in [0, 1]", field="redemption")
        if self.group.shape != (shape[1],) or bool((self.group < 0).any()):
            raise ValidationError(
                f"group must hold one code >= 0 per treatment column ({shape[1]}), got "
                f"{self.group.tolist()}",
                field="group",
            )
        if len(self.treatments) != shape[1]:
            raise LengthMismatchError(
                f"treatments has {len(self.treatments)} labels for {shape[1]} columns",
                field="treatments",
            )

    @property
    def n_customers(self) -> int:
        """Rows (customers)."""
        return int(self.value.shape[0])

    @property
    def n_treatments(self) -> int:
        """Columns (treatments, or variants of offers)."""
        return int(self.value.shape[1])

    @property
    def n_groups(self) -> int:
        """Distinct groups: the most treatments one customer can receive with ``group_max=1``."""
        return len(np.unique(self.group))

    @property
    def n_unprofitable(self) -> int:
        """Pairs with ``value <= 0``: the allocation never chooses them (and counts them)."""
        return int(np.count_nonzero(self.value <= 0))


def _money(a: Any, name: str, shape: tuple[int, int], *, nonneg: bool) -> _F64:
    """A scalar, ``(T,)``, ``(n, 1)`` or ``(n, T)`` amount broadcast to ``shape``."""
    if isinstance(a, (str, bytes)) or a is None:
        raise ValidationError(
            f"{name} must be a number or a numeric array, got {type(a).__name__}", field=name
        )
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{name} must be a number or a numeric array, got {type(a).__name__}", field=name
        ) from exc
    try:
        out = np.broadcast_to(arr, shape)
    except ValueError as exc:
        raise LengthMismatchError(
            f"{name} has shape {arr.shape}; give one number, one per treatment "
            f"({shape[1]},), one per customer ({shape[0]}, 1) or one per pair {shape}",
            field=name,
        ) from exc
    if not bool(np.isfinite(out).all()):
        raise ValidationError(f"{name} holds NaN or infinite values", field=name)
    if nonneg and bool((out < 0).any()):
        raise ValidationError(f"{name} must be >= 0 (money paid)", field=name)
    if not nonneg and bool((out < 0).any()):
        raise ValidationError(
            f"{name} must be >= 0: the margin earned on one extra purchase (before the discount)",
            field=name,
        )
    return out


def _incremental_margin_iv(
    model: Any,
    X: Any,
    margin: Any,
    redemption_cost: Any,
    contact_cost: Any,
    redemption: Any,
    group: Any,
) -> tuple[_F64, _F64, _F64, _F64, _F64, _I32, tuple[Label, ...]]:
    if isinstance(model, UpliftModel):
        if X is None:
            raise ValidationError(
                "X is required with an UpliftModel: the features of the customers to value",
                field="X",
            )
        x = _check_x(X, model.n_features)
        uplift = np.asarray(model.predict(x), dtype=np.float64).reshape(len(x), -1)
        treatments: tuple[Label, ...] = model.treatments
        if redemption is None:
            if model.outcome_type != "binary":
                raise ValidationError(
                    "redemption is required for a model of a continuous outcome (its treated "
                    "outcome is not a probability): pass P(redeem | treated), e.g. from a "
                    "binary redemption model, or redemption=0.0 when nothing is paid per "
                    "redemption",
                    field="redemption",
                )
            arms = model.predict_outcomes(x)
            redemption = np.column_stack([arms[t] for t in model.treatments])
    else:
        if X is not None:
            raise ValidationError(
                "X is only used with an UpliftModel; with an uplift array pass X=None",
                field="X",
            )
        if isinstance(model, (str, bytes, dict)) or model is None:
            raise ValidationError(
                f"model must be an UpliftModel or an (n_customers, n_treatments) uplift array, "
                f"got {type(model).__name__}",
                field="model",
            )
        try:
            uplift = np.asarray(model, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"model must be an UpliftModel or a numeric uplift array, got "
                f"{type(model).__name__}",
                field="model",
            ) from exc
        if uplift.ndim == 1:
            uplift = uplift[:, None]
        if uplift.ndim != 2:
            raise ValidationError(
                f"uplift must be a 1-D (n_customers,) or 2-D (n_customers, n_treatments) "
                f"array, got shape {uplift.shape}",
                field="model",
            )
        if redemption is None:
            raise ValidationError(
                "redemption is required with an uplift array: P(redeem | treated) per pair "
                "(e.g. the treated arm's predicted outcome), or 0.0 when nothing is paid per "
                "redemption",
                field="redemption",
            )
        treatments = tuple(range(uplift.shape[1]))
    if not bool(np.isfinite(uplift).all()):
        raise ValidationError("uplift holds NaN or infinite values", field="model")
    shape = (int(uplift.shape[0]), int(uplift.shape[1]))
    red = _money(redemption, "redemption", shape, nonneg=True)
    if bool((red > 1).any()):
        raise ValidationError(
            "redemption must be probabilities in [0, 1] (P(redeem | treated))", field="redemption"
        )
    m = _money(margin, "margin", shape, nonneg=False)
    rc = _money(redemption_cost, "redemption_cost", shape, nonneg=True)
    cc = _money(contact_cost, "contact_cost", shape, nonneg=True)
    if group is None:
        g = np.zeros(shape[1], dtype=np.int32)
    else:
        ga = np.asarray(group)
        if ga.shape != (shape[1],) or ga.dtype.kind not in "iu":
            raise ValidationError(
                f"group must be an int array with one code per treatment ({shape[1]}), got "
                f"dtype {ga.dtype} and shape {ga.shape}",
                field="group",
            )
        if bool((ga < 0).any()) or (ga.size and int(ga.max()) > np.iinfo(np.int32).max):
            raise ValidationError("group codes must lie in 0 .. 2**31 - 1", field="group")
        g = ga.astype(np.int32)
    return uplift, red, m, rc, cc, g, treatments


def incremental_margin(
    model: UpliftModel | npt.ArrayLike,
    X: npt.ArrayLike | None = None,
    *,
    margin: float | npt.ArrayLike,
    redemption_cost: float | npt.ArrayLike,
    contact_cost: float | npt.ArrayLike = 0.0,
    redemption: float | npt.ArrayLike | None = None,
    group: npt.ArrayLike | None = None,
) -> IncrementalMargin:
    """Value and cost of each (customer, treatment) pair for a budget spent on incremental margin.

    Parameters
    ----------
    model : UpliftModel or array_like
        A fitted model (then ``X`` gives the customers' features), or the
        uplift itself: ``(n_customers, n_treatments)`` (or ``(n_customers,)``
        for one treatment) effects of each treatment against control, from
        any source.
    X : array_like, optional
        Features of the customers to value (with a model only).
    margin : float or array_like
        Margin earned on one purchase the treatment *causes*, before the
        discount (for a 0/1 outcome such as conversion: the margin of a
        purchase; for a spend outcome: the margin rate). Scalar, one per
        treatment ``(T,)``, one per customer ``(n, 1)`` or one per pair.
    redemption_cost : float or array_like
        Paid on every redemption (the discount given), shaped like ``margin``.
    contact_cost : float or array_like
        Paid on every treatment sent, redeemed or not (an e-mail, a printed
        mailer), shaped like ``margin``. Default 0.
    redemption : float or array_like, optional
        ``P(redeem | treated)`` per pair, in [0, 1]. Default, for a model of a
        binary outcome: the treated arm's predicted outcome
        (:meth:`UpliftModel.predict_outcomes`), i.e. every treated purchase
        redeems the offer. Required for an uplift array and for a model of a
        continuous outcome (pass 0.0 when nothing is paid per redemption).
    group : int array_like, optional
        Group of each treatment column. Default: all in group 0, i.e. the
        treatments are variants of one offer (discount depths, e-mail
        versions) of which each customer gets at most one.

    Returns
    -------
    IncrementalMargin
        ``value``, ``cost`` (``(n, T)``), ``group`` (``(T,)``), and the
        ``uplift`` and ``redemption`` they were built from.

    Raises
    ------
    ValidationError
        ``X`` missing with a model (or given with an array), features that do
        not fit the model, NaN or infinite figures, negative costs or margin,
        a redemption probability outside [0, 1], a missing ``redemption``
        where it cannot be inferred, or a ``group`` not one int per column.
    LengthMismatchError
        An amount that cannot be broadcast to ``(n_customers, n_treatments)``.

    Notes
    -----
    For customer ``i`` and treatment ``t`` with uplift ``tau = mu_t - mu_0``
    (``mu_a`` the expected outcome under arm ``a``), redemption probability
    ``r = P(redeem | t)``, margin ``m``, cost per redemption ``c`` and cost
    per contact ``k``::

        value = tau * m - r * c - k
        cost  = r * c + k

    The margin is earned only on the purchases the treatment causes (``tau``);
    the cost is paid on *every* redemption, also by the customers who would
    have bought anyway. When every treated purchase redeems (``r = mu_t``,
    the default for binary outcomes) the value is exactly the difference of
    expected profits, ``mu_t (m - c) - mu_0 m``: a discount to a customer
    who buys anyway (``tau = 0``) is worth ``-mu_t c``, money lost. Pairs
    with ``value <= 0`` are never chosen by the allocation
    (``AllocationProblem.from_dense`` leaves them out and counts them in
    ``n_ineligible``; :attr:`IncrementalMargin.n_unprofitable` counts them
    here). ``cost`` is what the budget pays for, so a budget row built on it
    caps the expected spend.

    Feed the result to the allocation directly, with at most one variant per
    group and at most one treatment per group for each customer::

        AllocationProblem.from_dense(r.value, r.cost, budgets=[Budget("spend", B)],
                                     group=r.group, group_max=1, k=r.n_groups)

    Examples
    --------
    One customer, two discount depths of one offer (margin 10 per purchase;
    the deeper discount costs 3 per redemption and moves more customers):

    >>> r = incremental_margin([[0.10, 0.25]], margin=10.0, redemption_cost=[1.0, 3.0],
    ...                        redemption=[[0.30, 0.45]])
    >>> r.value.round(2).tolist(), r.cost.round(2).tolist(), r.group.tolist()
    ([[0.7, 1.15]], [[0.3, 1.35]], [0, 0])

    From a fitted model of a binary outcome, the treated arm's predicted
    outcome is the redemption probability:

    >>> import numpy as np
    >>> from onetoone.uplift import UpliftModel
    >>> m = UpliftModel(method="t", outcome_type="binary", control=0, treatments=(1,),
    ...                 outcome_intercept=[-2.0, -1.0], outcome_coef=[[0.0], [0.0]])
    >>> r = incremental_margin(m, np.zeros((1, 1)), margin=10.0, redemption_cost=2.0)
    >>> r.uplift.round(3).tolist(), r.value.round(3).tolist(), r.cost.round(3).tolist()
    ([[0.15]], [[0.96]], [[0.538]])
    """
    uplift, red, m, rc, cc, g, treatments = _incremental_margin_iv(
        model, X, margin, redemption_cost, contact_cost, redemption, group
    )
    spend = red * rc + cc
    value = uplift * m - spend
    return IncrementalMargin(
        value=value,
        cost=spend,
        uplift=uplift,
        redemption=red,
        group=g,
        treatments=treatments,
    )
