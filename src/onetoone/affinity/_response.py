"""Response calibration: map scores to a redemption probability, with a reliability table."""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_expit

from onetoone._arrays import as_1d, as_float, check_lengths, readonly
from onetoone.errors import EmptyInputError, ValidationError

__all__ = ["ReliabilityTable", "ResponseModel", "fit_response"]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]


def _ro64(a: Any) -> _F64:
    return readonly(np.ascontiguousarray(a, dtype=np.float64))


def _ro_count(a: Any) -> _I64:
    b = np.asarray(a)
    if b.dtype.kind not in "iu" and not (
        b.dtype.kind in "fb" and bool(np.all(np.isfinite(b))) and bool(np.all(b == np.round(b)))
    ):
        raise ValidationError("ReliabilityTable.count must hold whole numbers", field="count")
    return readonly(np.ascontiguousarray(b, dtype=np.int64))


@attrs.frozen(eq=False)
class ReliabilityTable:
    """Calibration by bins of predicted probability (equal-count bins).

    Attributes
    ----------
    lower, upper : float64 arrays
        Score range of each bin.
    mean_predicted : float64 array
        Mean predicted probability in the bin.
    observed_rate : float64 array
        Share of positive outcomes in the bin.
    count : int64 array
        Observations in the bin.

    Examples
    --------
    >>> t = ReliabilityTable(lower=[0.0, 0.5], upper=[0.4, 0.9], mean_predicted=[0.1, 0.6],
    ...                      observed_rate=[0.2, 0.6], count=[10, 10])
    >>> round(t.expected_calibration_error, 3)
    0.05
    """

    lower: _F64 = attrs.field(converter=_ro64)
    upper: _F64 = attrs.field(converter=_ro64)
    mean_predicted: _F64 = attrs.field(converter=_ro64)
    observed_rate: _F64 = attrs.field(converter=_ro64)
    count: _I64 = attrs.field(converter=_ro_count)

    def __attrs_post_init__(self) -> None:
        n = len(self.count)
        for name in ("lower", "upper", "mean_predicted", "observed_rate", "count"):
            a = getattr(self, name)
            if a.ndim != 1 or len(a) != n:
                raise ValidationError(
                    f"ReliabilityTable.{name} must be 1-D with one value per bin ({n})",
                    field=name,
                )
        if n == 0:
            raise EmptyInputError("ReliabilityTable needs at least one bin", field="count")
        if not bool(np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper))):
            raise ValidationError("bin bounds must be finite", field="lower")
        if bool((self.lower > self.upper).any()):
            raise ValidationError("a bin's lower score exceeds its upper score", field="lower")
        for name in ("mean_predicted", "observed_rate"):
            a = getattr(self, name)
            if not bool(np.all((a >= 0) & (a <= 1))):
                raise ValidationError(f"{name} must lie in [0, 1]", field=name)
        if bool((self.count < 0).any()):
            raise ValidationError("count must be >= 0 in every bin", field="count")

    @property
    def expected_calibration_error(self) -> float:
        """Count-weighted mean absolute gap between predicted and observed."""
        w = self.count / max(int(self.count.sum()), 1)
        return float(np.sum(w * np.abs(self.mean_predicted - self.observed_rate)))

    def to_text(self) -> str:
        """The table as aligned text, one line per bin.

        Examples
        --------
        >>> t = ReliabilityTable(lower=[0.0], upper=[1.0], mean_predicted=[0.25],
        ...                      observed_rate=[0.2], count=[40])
        >>> print(t.to_text())
                    score range  mean pred  observed    count
                  0..1           0.2500    0.2000       40
        """
        lines = [f"{'score range':>23}  {'mean pred':>9}  {'observed':>8}  {'count':>7}"]
        for lo, hi, p, o, c in zip(
            self.lower,
            self.upper,
            self.mean_predicted,
            self.observed_rate,
            self.count,
            strict=True,
        ):
            lines.append(f"{lo:>11.4g}..{hi:<10.4g} {p:>9.4f}  {o:>8.4f}  {int(c):>7d}")
        return "\n".join(lines)


@attrs.frozen(eq=False)
class ResponseModel:
    """Score -> probability of response (see :func:`fit_response`).

    Attributes
    ----------
    method : str
        ``"isotonic"`` or ``"logistic"``.
    x, y : float64 arrays
        Isotonic: knots (increasing scores) and fitted probabilities, linearly
        interpolated between knots and constant beyond them. Logistic:
        ``x = [intercept, slope]`` on standardised scores, ``y = [mean, std]``
        of the training scores.
    reliability : ReliabilityTable
        Calibration of the fitted model on its training data.
    n, n_positive : int
        Observations and positive outcomes used.
    brier : float
        Mean squared error of the fitted probabilities on the training data.

    Examples
    --------
    >>> r = fit_response([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 1])
    >>> r.method, r.n, r.n_positive
    ('isotonic', 4, 2)
    """

    method: str
    x: _F64 = attrs.field(converter=_ro64)
    y: _F64 = attrs.field(converter=_ro64)
    reliability: ReliabilityTable
    n: int
    n_positive: int
    brier: float

    def __attrs_post_init__(self) -> None:
        if self.method not in ("isotonic", "logistic"):
            raise ValidationError(
                f"method must be 'isotonic' or 'logistic'; got {self.method!r}", field="method"
            )
        x, y = self.x, self.y
        if x.ndim != 1 or y.ndim != 1:
            raise ValidationError("x and y must be 1-D", field="x")
        if not bool(np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValidationError("x and y must be finite", field="x")
        if self.method == "isotonic":
            if len(x) < 1 or len(x) != len(y) or bool((np.diff(x) <= 0).any()):
                raise ValidationError(
                    "isotonic knots x must be at least one, strictly increasing, one per y",
                    field="x",
                )
            if bool(((y < 0) | (y > 1)).any()) or bool((np.diff(y) < 0).any()):
                raise ValidationError(
                    "isotonic probabilities y must lie in [0, 1] and never decrease", field="y"
                )
        elif len(x) != 2 or len(y) != 2 or not float(y[1]) > 0:
            raise ValidationError(
                "a logistic model holds x = [intercept, slope] and y = [mean, std > 0]", field="x"
            )
        if not isinstance(self.reliability, ReliabilityTable):
            raise ValidationError(
                f"reliability must be a ReliabilityTable, got {type(self.reliability).__name__}",
                field="reliability",
            )
        if not (_is_int(self.n) and _is_int(self.n_positive) and 0 <= self.n_positive <= self.n):
            raise ValidationError(
                f"n and n_positive must be ints with 0 <= n_positive <= n, got {self.n!r} and "
                f"{self.n_positive!r}",
                field="n_positive",
            )
        brier: object = self.brier
        if not (isinstance(brier, (int, float, np.floating)) and 0.0 <= float(brier) <= 1.0):
            raise ValidationError(f"brier must be a number in [0, 1], got {brier!r}", field="brier")

    def predict_proba(self, scores: Any) -> _F64:
        """Probability of response for each score (in ``[0, 1]``; ``-inf`` -> lowest).

        Parameters
        ----------
        scores : array-like of float
            Any shape (e.g. ``OfferScores.dense``); the result has the same shape.

        Raises
        ------
        ValidationError
            A score is NaN, or ``scores`` is not numeric.

        Examples
        --------
        >>> r = fit_response([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 1])
        >>> r.predict_proba([-np.inf, 0.5, 3.0]).tolist()
        [0.0, 0.0, 1.0]
        """
        s = _predict_proba_iv(scores)
        if self.method == "isotonic":
            out: _F64 = np.interp(s, self.x, self.y)
            return out
        z = (np.clip(s, -1e300, 1e300) - self.y[0]) / self.y[1]
        return np.asarray(expit(self.x[0] + self.x[1] * z), dtype=np.float64)


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _predict_proba_iv(scores: Any) -> _F64:
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"scores must be numbers (an array of floats), got {type(scores).__name__}",
            field="scores",
        ) from exc
    if bool(np.isnan(s).any()):
        raise ValidationError("scores contain NaN", field="scores")
    return s


def _fit_response_iv(scores: Any, outcomes: Any, method: str, n_bins: int) -> tuple[_F64, _F64]:
    s = as_float(
        as_1d(np.asarray(scores).reshape(-1) if np.ndim(scores) > 1 else scores, "scores"), "scores"
    )
    y_raw = (
        np.asarray(outcomes).reshape(-1) if np.ndim(outcomes) > 1 else as_1d(outcomes, "outcomes")
    )
    check_lengths(len(s), outcomes=y_raw)
    if len(s) == 0:
        raise EmptyInputError("scores is empty; give at least one observation", field="scores")
    if method not in ("isotonic", "logistic"):
        raise ValidationError(
            f"method must be 'isotonic' or 'logistic'; got {method!r}", field="method"
        )
    if not _is_int(n_bins) or n_bins < 1:
        raise ValidationError(f"n_bins must be an int >= 1, got {n_bins!r}", field="n_bins")
    y = as_float(y_raw, "outcomes")
    if not bool(np.all((y == 0) | (y == 1))):
        raise ValidationError("outcomes must be 0/1 (or booleans)", field="outcomes")
    finite = np.isfinite(s)
    if not bool(finite.all()):
        raise ValidationError(
            f"scores: {int((~finite).sum())} value(s) are NaN or infinite (excluded pairs); "
            "drop them before calibrating",
            field="scores",
        )
    return s, y


def _reliability(s: _F64, p: _F64, y: _F64, n_bins: int) -> ReliabilityTable:
    order = np.argsort(s, kind="stable")
    bins = np.array_split(order, min(n_bins, len(s)))
    bins = [b for b in bins if len(b)]
    return ReliabilityTable(
        lower=[float(s[b].min()) for b in bins],
        upper=[float(s[b].max()) for b in bins],
        mean_predicted=[float(p[b].mean()) for b in bins],
        observed_rate=[float(y[b].mean()) for b in bins],
        count=np.array([len(b) for b in bins], dtype=np.int64),
    )


def fit_response(
    scores: Any,
    outcomes: Any,
    *,
    method: Literal["isotonic", "logistic"] = "isotonic",
    n_bins: int = 10,
    l2: float = 1e-6,
) -> ResponseModel:
    """Calibrate scores into response probabilities from past outcomes.

    Parameters
    ----------
    scores : array-like of float
        Scores of past (customer, offer) pairs, e.g. ``OfferScores.to_candidates()[2]``.
    outcomes : array-like of 0/1 or bool
        Whether each pair responded (redeemed).
    method : {"isotonic", "logistic"}
        Isotonic regression (monotone, non-parametric; pool-adjacent-violators
        via :func:`scipy.optimize.isotonic_regression`) or a one-feature logistic
        regression (Newton's method, tiny ``l2`` penalty for separable data).
    n_bins : int
        Bins of the reliability table (equal counts).
    l2 : float
        Ridge penalty of the logistic fit.

    Returns
    -------
    ResponseModel

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=2000)
    >>> y = rng.random(2000) < 1 / (1 + np.exp(-2 * s))
    >>> r = fit_response(s, y, method="logistic")
    >>> bool(abs(r.predict_proba([0.0])[0] - 0.5) < 0.05)
    True
    >>> int(r.reliability.count.sum())
    2000
    """
    s, y = _fit_response_iv(scores, outcomes, method, n_bins)
    if method == "isotonic":
        from scipy.optimize import isotonic_regression

        knots, inverse = np.unique(s, return_inverse=True)
        inverse = inverse.reshape(-1)
        w = np.bincount(inverse).astype(np.float64)
        mean_y = np.bincount(inverse, weights=y) / w
        fitted = np.asarray(isotonic_regression(mean_y, weights=w, increasing=True).x)
        x_par, y_par = knots, np.clip(fitted, 0.0, 1.0)
        p = np.interp(s, x_par, y_par)
    else:
        mu = float(s.mean())
        sd = float(s.std()) or 1.0
        z = (s - mu) / sd
        beta = np.zeros(2)
        rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        beta[0] = np.log(rate / (1 - rate))
        xmat = np.column_stack([np.ones_like(z), z])

        def loss(b: _F64) -> float:
            eta = xmat @ b
            ll = y * log_expit(eta) + (1.0 - y) * log_expit(-eta)
            return float(-ll.sum() + 0.5 * l2 * b[1] ** 2)

        current = loss(beta)
        for _ in range(100):  # Newton's method with a backtracking line search
            p = expit(xmat @ beta)
            g = xmat.T @ (y - p) - l2 * np.array([0.0, beta[1]])
            h = (xmat * (p * (1 - p))[:, None]).T @ xmat + l2 * np.diag([1e-12, 1.0])
            step = np.linalg.lstsq(h, g, rcond=None)[0]
            t = 1.0
            while t > 1e-10:
                trial = loss(beta + t * step)
                if trial <= current:
                    break
                t *= 0.5
            else:
                break  # no descent possible: at the optimum to machine precision
            beta = beta + t * step
            current = trial
            if float(np.max(np.abs(t * step))) < 1e-10:
                break
        x_par, y_par = beta, np.array([mu, sd])
        p = expit(xmat @ beta)
    return ResponseModel(
        method=method,
        x=x_par,
        y=y_par,
        reliability=_reliability(s, p, y, int(n_bins)),
        n=len(s),
        n_positive=int(y.sum()),
        brier=float(np.mean((p - y) ** 2)),
    )
