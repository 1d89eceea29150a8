"""Regularised linear base learners: L2 logistic regression and ridge regression.

Both standardise the features (the weighted mean and standard deviation of the
training rows; a constant column gets scale 1 and, penalised, coefficient 0),
leave the intercept unpenalised, take sample weights and return the
coefficients on the *original* feature scale, so a prediction is one matrix
product ``X @ coef + intercept`` (through the logistic link for a logistic
fit). Both are deterministic: no random start, no stochastic optimiser.

Objectives, with ``Z`` the standardised features, ``w`` the sample weights and
``beta`` the coefficients on ``Z``:

- logistic: ``sum_i w_i * logloss(y_i, expit(b0 + z_i . beta)) + l2 / 2 * |beta|^2``,
  minimised by Newton's method (the analytic gradient and Hessian, a
  backtracking line search on the objective; convergence when the largest
  gradient entry is below ``tol * sum(w)``). This is scikit-learn's
  ``LogisticRegression(C=1 / l2)`` on standardised features.
- ridge: ``sum_i w_i * (y_i - b0 - z_i . beta)^2 + l2 * |beta|^2``, solved
  exactly from the weighted normal equations (``Ridge(alpha=l2)`` on
  standardised features).

Linear systems are solved by least squares (SVD), so ``l2 = 0`` with a
singular design gives the minimum-norm solution instead of an error.

Examples
--------
>>> import numpy as np
>>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> fit = fit_ridge(x, 1.0 + 2.0 * x[:, 0], l2=0.0)
>>> round(fit.intercept, 6), np.round(fit.coef, 6).tolist()
(1.0, [2.0])
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from scipy.special import expit

__all__ = ["LinearFit", "fit_logistic", "fit_ridge", "linear_predict", "ridge_solve"]

_F64 = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class LinearFit:
    """One fitted linear model on the original feature scale.

    Attributes
    ----------
    kind : {"logistic", "ridge"}
    intercept : float
    coef : float64 array, ``(n_features,)``
    converged : bool
        Newton's method met its tolerance (always ``True`` for ridge).
    n_iter : int
        Newton iterations (1 for ridge: one exact solve).

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 1, 0, 1]))
    >>> fit.kind, fit.converged
    ('logistic', True)
    """

    kind: str
    intercept: float
    coef: _F64
    converged: bool
    n_iter: int

    def predict(self, x: _F64) -> _F64:
        """Expected outcome for each row of ``x``: a probability (logistic) or a value.

        Examples
        --------
        >>> import numpy as np
        >>> fit = fit_ridge(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]), l2=0.0)
        >>> np.round(fit.predict(np.array([[2.0]])), 6).tolist()
        [5.0]
        """
        return linear_predict(x, self.intercept, self.coef, logistic=self.kind == "logistic")


def linear_predict(x: _F64, intercept: Any, coef: _F64, *, logistic: bool) -> _F64:
    """``x @ coef.T + intercept``, through the logistic link if ``logistic``.

    ``coef`` is ``(p,)`` (one model: ``(n,)`` out) or ``(m, p)`` (``m`` models:
    ``(n, m)`` out, ``intercept`` of length ``m``).

    Examples
    --------
    >>> import numpy as np
    >>> linear_predict(np.ones((2, 1)), 0.0, np.array([0.0]), logistic=True).tolist()
    [0.5, 0.5]
    """
    eta: _F64 = x @ coef.T
    eta += intercept
    if logistic:
        out: _F64 = expit(eta, out=eta)
        return out
    return eta


def _scale(x: _F64, w: _F64) -> tuple[_F64, _F64, _F64]:
    """Standardised copy of ``x``, its weighted column means and scales (1 if constant)."""
    sw = float(w.sum())
    mean: _F64 = (w @ x) / sw
    z: _F64 = x - mean
    var = (w @ (z * z)) / sw
    sd: _F64 = np.sqrt(var)
    tiny = sd <= 1e-12 * np.maximum(np.abs(mean), 1.0)
    sd[tiny] = 1.0
    z /= sd
    z[:, tiny] = 0.0
    return z, mean, sd


def _weights(w: _F64 | None, n: int) -> _F64:
    return np.ones(n) if w is None else np.asarray(w, dtype=np.float64)


def _unscale(b0: float, beta: _F64, mean: _F64, sd: _F64) -> tuple[float, _F64]:
    coef: _F64 = beta / sd
    return float(b0 - coef @ mean), coef


def ridge_solve(
    x: _F64, y: _F64, *, l2: float | _F64 = 1.0, sample_weight: _F64 | None = None
) -> tuple[_F64, _F64]:
    """Ridge fits of each column of ``y`` ``(n, m)``: intercepts ``(m,)``, coefs ``(m, p)``.

    One weighted Gram matrix serves all ``m`` outcomes (see :func:`fit_ridge`).
    ``l2`` is one penalty or one per feature column ``(p,)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0]])
    >>> b0, coef = ridge_solve(x, np.c_[x[:, 0], 1.0 - x[:, 0]], l2=0.0)
    >>> np.round(b0, 6).tolist(), np.round(coef, 6).tolist()
    ([0.0, 1.0], [[1.0], [-1.0]])
    """
    w = _weights(sample_weight, len(y))
    z, mean, sd = _scale(x, w)
    sw = float(w.sum())
    ybar: _F64 = (w @ y) / sw
    p = z.shape[1]
    m = y.shape[1]
    if p == 0:
        return ybar, np.zeros((m, 0))
    zw = z * w[:, None]
    a = zw.T @ z
    a[np.diag_indices(p)] += l2
    beta: _F64 = np.asarray(np.linalg.lstsq(a, zw.T @ (y - ybar), rcond=None)[0].T)  # (m, p)
    coef: _F64 = beta / sd
    return ybar - coef @ mean, coef


def fit_ridge(x: _F64, y: _F64, *, l2: float = 1.0, sample_weight: _F64 | None = None) -> LinearFit:
    """Ridge regression of ``y`` on ``x`` (standardised), intercept unpenalised.

    Minimises ``sum_i w_i (y_i - b0 - z_i . beta)^2 + l2 |beta|^2`` exactly.
    Inputs are assumed valid (finite, aligned, weights >= 0 with a positive sum):
    callers validate first.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit = fit_ridge(x, 1.0 + 2.0 * x[:, 0], l2=0.0)
    >>> round(fit.intercept, 6), np.round(fit.coef, 6).tolist()
    (1.0, [2.0])
    """
    b0, coef = ridge_solve(
        x, np.asarray(y, dtype=np.float64)[:, None], l2=l2, sample_weight=sample_weight
    )
    return LinearFit("ridge", float(b0[0]), coef[0], True, 1)


def _logistic_objective(eta: _F64, y: _F64, w: _F64, beta: _F64, l2: float | _F64) -> float:
    # logloss(y, expit(eta)) = log(1 + exp(eta)) - y * eta, stable for any eta
    loss = np.logaddexp(0.0, eta) - y * eta
    return float(w @ loss + 0.5 * (beta @ (l2 * beta)))


def fit_logistic(
    x: _F64,
    y: _F64,
    *,
    l2: float | _F64 = 1.0,
    sample_weight: _F64 | None = None,
    tol: float = 1e-8,
    max_iter: int = 100,
) -> LinearFit:
    """L2-regularised logistic regression of 0/1 ``y`` on ``x`` by Newton's method.

    Minimises ``sum_i w_i logloss_i + l2 / 2 |beta|^2`` on standardised
    features, intercept unpenalised, starting from the weighted mean's log-odds;
    ``l2`` is one penalty or one per feature column ``(p,)``.
    Each step solves ``H d = -g`` with the analytic Hessian
    ``H = Z1' diag(w p (1 - p)) Z1 + l2 I'`` (``Z1`` = ``[1, Z]``, ``I'`` the
    identity without the intercept) and halves ``d`` until the objective falls.
    Stops when ``max |g| <= tol * sum(w)`` (``converged=True``) or after
    ``max_iter`` steps. ``y`` must hold both classes (with positive weight)
    unless ``l2 > 0`` keeps ``beta`` bounded; the intercept is unpenalised, so
    a one-class ``y`` never converges: callers check it first.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit = fit_logistic(x, np.array([0, 0, 1, 1]), l2=1.0)
    >>> fit.converged, bool(fit.coef[0] > 0)
    (True, True)
    """
    w = _weights(sample_weight, len(y))
    y = np.asarray(y, dtype=np.float64)
    z, mean, sd = _scale(x, w)
    n, p = z.shape
    sw = float(w.sum())
    ybar = min(max(float(w @ y) / sw, 1e-12), 1.0 - 1e-12)
    theta = np.zeros(p + 1)
    theta[0] = np.log(ybar / (1.0 - ybar))
    pen = np.zeros(p + 1)
    pen[1:] = l2

    def eta_of(t: _F64) -> _F64:
        e: _F64 = z @ t[1:]
        e += t[0]
        return e

    eta = eta_of(theta)
    obj = _logistic_objective(eta, y, w, theta[1:], l2)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        prob = expit(eta)
        r = w * (prob - y)
        g = np.empty(p + 1)
        g[0] = r.sum()
        g[1:] = z.T @ r
        g += pen * theta
        if float(np.max(np.abs(g))) <= tol * sw:
            converged = True
            it -= 1
            break
        h_w = w * prob * (1.0 - prob)
        zh = z * h_w[:, None]
        hess = np.empty((p + 1, p + 1))
        hess[0, 0] = h_w.sum()
        hess[0, 1:] = hess[1:, 0] = zh.sum(axis=0)
        hess[1:, 1:] = zh.T @ z
        hess[np.diag_indices(p + 1)] += pen
        step: _F64 = np.linalg.lstsq(hess, -g, rcond=None)[0]
        decrease = float(g @ step)  # negative for a descent direction
        t = 1.0
        for _ in range(40):
            cand = theta + t * step
            eta_c = eta_of(cand)
            obj_c = _logistic_objective(eta_c, y, w, cand[1:], l2)
            if obj_c <= obj + 1e-4 * t * decrease or not np.isfinite(obj):
                break
            t *= 0.5
        else:  # no decrease possible at float precision: at the optimum
            converged = float(np.max(np.abs(g))) <= 1e-6 * sw
            break
        theta, eta, obj = cand, eta_c, obj_c
    del n
    b0, coef = _unscale(float(theta[0]), theta[1:], mean, sd)
    return LinearFit("logistic", b0, coef, converged, it)
