"""The one interval type of onetoone: :class:`Estimate`, a point estimate with its interval.

Root infrastructure: every stage that reports an uncertain figure (measurement's
lifts and ROI, uplift's policy values) returns this class, and
:mod:`onetoone.measurement` re-exports it unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from onetoone.errors import ValidationError

__all__ = ["Estimate"]


def _real_number(value: Any, name: str) -> float:
    """A real number (int, float, numpy scalar) as float, else refuse naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValidationError(
            f"Estimate.{name} must be a real number, got {type(value).__name__} {value!r}",
            field=name,
        )
    return float(value)


def _conv_estimate(value: Any) -> float:
    return _real_number(value, "estimate")


def _conv_std_error(value: Any) -> float:
    return _real_number(value, "std_error")


def _conv_ci_low(value: Any) -> float:
    return _real_number(value, "ci_low")


def _conv_ci_high(value: Any) -> float:
    return _real_number(value, "ci_high")


def _conv_p_value(value: Any) -> float:
    return _real_number(value, "p_value")


def _conv_df(value: Any) -> float:
    return _real_number(value, "df")


def _conv_confidence(value: Any) -> float:
    return _real_number(value, "confidence")


def _conv_null(value: Any) -> float:
    return _real_number(value, "null")


@attrs.frozen
class Estimate:
    """A point estimate with its standard error, two-sided interval and test.

    The one interval type of onetoone: every lift, ratio, ROI and off-policy
    value is an ``Estimate``. Functions take ``alpha`` (e.g. 0.05); the
    estimate carries ``confidence = 1 - alpha``. It validates itself: numbers
    are real, ``std_error >= 0``, ``ci_low <= ci_high``, ``p_value`` in
    [0, 1] and ``confidence`` in (0, 1] (NaN is allowed where a method gives
    no value).

    Attributes
    ----------
    estimate : float
        The point estimate (for a lift: treated minus control).
    std_error : float
        Its standard error (for the bootstrap: the standard deviation of the
        replicates); >= 0.
    ci_low, ci_high : float
        Two-sided interval at level ``confidence``; ``ci_low <= ci_high``.
    p_value : float
        Two-sided p-value of the null hypothesis ``estimate == null`` (NaN
        when the method gives none, e.g. the percentile bootstrap).
    df : float
        Degrees of freedom of the reference t distribution (``inf`` for a
        normal reference, NaN when no test is possible).
    confidence : float
        ``1 - alpha``, the interval's coverage, in (0, 1].
    method : str
        How it was computed: ``"welch"``, ``"cuped-welch"``,
        ``"bootstrap-percentile"``, ``"delta"``, or a transformed method such
        as ``"welch (affine)"``.
    null : float
        The value tested by ``p_value`` (0 for a lift; break-even for ROI).

    Examples
    --------
    >>> e = Estimate(estimate=2.0, std_error=0.5, ci_low=1.02, ci_high=2.98,
    ...              p_value=0.0001, df=float("inf"), confidence=0.95, method="delta")
    >>> e.significant, str(e)
    (True, '2 [95% CI 1.02 .. 2.98], p=0.0001 (delta)')
    >>> e.affine(100.0).ci_low      # per-customer lift to 100 customers
    102.0
    >>> Estimate(1.0, -1.0, 0.0, 2.0, 0.5, 10.0, 0.95, "welch")
    Traceback (most recent call last):
    ...
    onetoone.errors.ValidationError: Estimate.std_error must be >= 0 (or NaN), got -1.0
    """

    estimate: float = attrs.field(converter=_conv_estimate)
    std_error: float = attrs.field(converter=_conv_std_error)
    ci_low: float = attrs.field(converter=_conv_ci_low)
    ci_high: float = attrs.field(converter=_conv_ci_high)
    p_value: float = attrs.field(converter=_conv_p_value)
    df: float = attrs.field(converter=_conv_df)
    confidence: float = attrs.field(converter=_conv_confidence)
    method: str
    null: float = attrs.field(default=0.0, converter=_conv_null)

    def __attrs_post_init__(self) -> None:
        if self.std_error < 0:
            raise ValidationError(
                f"Estimate.std_error must be >= 0 (or NaN), got {self.std_error!r}",
                field="std_error",
            )
        if self.ci_low > self.ci_high:
            raise ValidationError(
                f"Estimate.ci_low ({self.ci_low!r}) must not exceed ci_high ({self.ci_high!r})",
                field="ci_low",
            )
        if not (math.isnan(self.p_value) or 0.0 <= self.p_value <= 1.0):
            raise ValidationError(
                f"Estimate.p_value must lie in [0, 1] (or be NaN), got {self.p_value!r}",
                field="p_value",
            )
        if not 0.0 < self.confidence <= 1.0:
            raise ValidationError(
                f"Estimate.confidence must lie in (0, 1] (1 - alpha), got {self.confidence!r}",
                field="confidence",
            )
        if self.df <= 0:
            raise ValidationError(
                f"Estimate.df must be > 0, inf or NaN, got {self.df!r}", field="df"
            )
        method: object = self.method
        if not isinstance(method, str) or not method:
            raise ValidationError(
                f"Estimate.method must be a non-empty str, got {method!r}", field="method"
            )

    @property
    def significant(self) -> bool:
        """``p_value < 1 - confidence`` (False when the p-value is NaN)."""
        return bool(self.p_value < 1.0 - self.confidence)

    def affine(self, scale: float, shift: float = 0.0, *, method: str | None = None) -> Estimate:
        """The estimate of ``scale * x + shift``: interval mapped, test unchanged.

        An affine map of a parameter has the interval mapped by the same map (the
        ends swap for a negative scale) and the same test, with ``null`` mapped.
        """
        lo, hi = scale * self.ci_low + shift, scale * self.ci_high + shift
        if scale < 0:
            lo, hi = hi, lo
        return Estimate(
            estimate=scale * self.estimate + shift,
            std_error=abs(scale) * self.std_error,
            ci_low=lo,
            ci_high=hi,
            p_value=self.p_value,
            df=self.df,
            confidence=self.confidence,
            method=method if method is not None else self.method,
            null=scale * self.null + shift,
        )

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        p = "" if math.isnan(self.p_value) else f", p={self.p_value:.3g}"
        return (
            f"{self.estimate:,.4g} [{pct}% CI {self.ci_low:,.4g} .. {self.ci_high:,.4g}]"
            f"{p} ({self.method})"
        )
