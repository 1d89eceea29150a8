"""BG/NBD, MBG/NBD and Gamma-Gamma by maximum likelihood with analytic gradients.

Every log-likelihood is computed in log space (``gammaln``, ``betaln``,
``logaddexp``) and vectorised over customers; the fit is L-BFGS-B on the log
of the parameters with the exact gradient, so no penalizer is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import linalg, optimize, special

from onetoone._arrays import as_float
from onetoone._checks import check_int, check_real, is_real
from onetoone._optional import import_optional
from onetoone.errors import ValidationError
from onetoone.value._summary import PurchaseSummary

__all__ = [
    "METHODS",
    "FrequencyMethod",
    "FrequencyModel",
    "SpendModel",
    "expected_purchases",
    "expected_spend",
    "fit_frequency",
    "fit_spend",
    "p_alive",
    "unconditional_purchases",
]

F64 = npt.NDArray[np.float64]
FrequencyMethod = Literal["bgnbd", "mbgnbd"]
#: The purchase-frequency models of :func:`fit_frequency`.
METHODS: tuple[str, ...] = ("bgnbd", "mbgnbd")
_FREQ_PARAMS = ("r", "alpha", "a", "b")
_SPEND_PARAMS = ("p", "q", "gamma")
_LOG_BOUND = 18.0  # |log parameter| <= 18: 1.5e-8 .. 6.6e7
#: Parameters a model accepts: [1e-12, 1e12], far wider than the fitter's exp(+-18); beyond
#: it the closed forms and the quadrature underflow to 0/0 (ZeroDivisionError, NaN).
_PARAM_MIN, _PARAM_MAX = 1e-12, 1e12


def _params(values: Any, names: tuple[str, ...]) -> Mapping[str, float]:
    if not isinstance(values, Mapping) or set(values) != set(names):
        raise ValidationError(
            f"params must be a mapping with exactly the keys {list(names)}, got "
            f"{list(values) if isinstance(values, Mapping) else type(values).__name__}",
            field="params",
        )
    out = {
        k: check_real(values[k], f"params[{k!r}]", _PARAM_MIN, _PARAM_MAX,
                      what=f"must be a finite number in [{_PARAM_MIN:g}, {_PARAM_MAX:g}]")
        for k in names
    }
    return MappingProxyType(out)


def _std_errors(values: Any, names: tuple[str, ...]) -> Mapping[str, float]:
    if not isinstance(values, Mapping) or not set(values) <= set(names):
        raise ValidationError(
            f"std_errors must be a mapping over some of {list(names)}", field="std_errors"
        )
    out = {}
    for k, v in values.items():
        x = float(v) if is_real(v) else -1.0
        if not (x >= 0 or np.isnan(x)):
            raise ValidationError(
                f"std_errors[{k!r}] must be >= 0 or NaN, got {v!r}", field="std_errors"
            )
        out[k] = x
    return MappingProxyType(out)


def _freq_params(values: Any) -> Mapping[str, float]:
    return _params(values, _FREQ_PARAMS)


def _freq_se(values: Any) -> Mapping[str, float]:
    return _std_errors(values, _FREQ_PARAMS)


def _spend_params(values: Any) -> Mapping[str, float]:
    return _params(values, _SPEND_PARAMS)


def _spend_se(values: Any) -> Mapping[str, float]:
    return _std_errors(values, _SPEND_PARAMS)


def _method_iv(method: object) -> FrequencyMethod:
    if method not in METHODS:
        raise ValidationError(f"method must be one of {list(METHODS)}, got {method!r}",
                              field="method")
    return method  # type: ignore[return-value]


@attrs.frozen
class FrequencyModel:
    """A fitted purchase-frequency model (BG/NBD or MBG/NBD).

    Attributes
    ----------
    method : {"bgnbd", "mbgnbd"}
    params : Mapping[str, float]
        ``r``, ``alpha`` (gamma heterogeneity of the purchase rate) and ``a``,
        ``b`` (beta heterogeneity of the drop-out probability), in the
        summary's time unit.
    std_errors : Mapping[str, float]
        Asymptotic standard errors from the inverse Hessian of the
        log-likelihood (delta method from the log-parameters); empty if not
        computed, NaN where the Hessian is singular.
    log_likelihood : float
        Total log-likelihood at the estimate.
    n_customers : int
        Customers fitted.
    unit_days : float or None
        The summary's time unit, in days.
    success, status, message, iterations, elapsed_s
        L-BFGS-B's report: ``success`` is False if it did not converge or a
        parameter reached its bound (``status`` 3).

    Examples
    --------
    >>> m = FrequencyModel("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> round(m.params["alpha"], 3)
    4.414
    """

    method: FrequencyMethod = attrs.field(converter=_method_iv)
    params: Mapping[str, float] = attrs.field(converter=_freq_params)
    std_errors: Mapping[str, float] = attrs.field(factory=dict, converter=_freq_se)
    log_likelihood: float = float("nan")
    n_customers: int = 0
    unit_days: float | None = None
    success: bool = True
    status: int = 0
    message: str = ""
    iterations: int = 0
    elapsed_s: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.unit_days is not None:
            check_real(self.unit_days, "unit_days", 0.0, low_inclusive=False)
        check_int(self.n_customers, "n_customers", 0)


@attrs.frozen
class SpendModel:
    """A fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

    Attributes
    ----------
    params : Mapping[str, float]
        ``p`` (shape of a purchase's spend), ``q``, ``gamma`` (gamma
        heterogeneity of the spend scale across customers).
    std_errors, log_likelihood, n_customers, success, status, message, iterations, elapsed_s
        As in :class:`FrequencyModel`; ``n_customers`` counts the repeat
        customers the model was fitted on.

    Examples
    --------
    >>> m = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> round(m.mean_spend, 2)  # population mean spend per purchase: p * gamma / (q - 1)
    35.22
    """

    params: Mapping[str, float] = attrs.field(converter=_spend_params)
    std_errors: Mapping[str, float] = attrs.field(factory=dict, converter=_spend_se)
    log_likelihood: float = float("nan")
    n_customers: int = 0
    success: bool = True
    status: int = 0
    message: str = ""
    iterations: int = 0
    elapsed_s: float = 0.0

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase ``p gamma / (q - 1)`` (inf if ``q <= 1``)."""
        p, q, g = (self.params[k] for k in _SPEND_PARAMS)
        return p * g / (q - 1.0) if q > 1.0 else float("inf")


# ---------------------------------------------------------------- log-likelihoods


def _freq_terms(
    method: str, theta: F64, x: F64, tx: F64, T: F64, *, grad: bool
) -> tuple[F64, F64 | None]:
    """Per-customer log-likelihood and its gradient w.r.t. (r, alpha, a, b).

    Both models are ``A + logaddexp(term1, term2)`` with
    ``A = lgamma(r+x) - lgamma(r) + r log(alpha)`` and
    ``term_k = betaln(a + da_k, b + x + db_k) - betaln(a, b) - (r+x) log(alpha + s_k)``:
    BG/NBD ``(da, db, s) = (0, 0, T), (1, -1, t_x)`` (the second only for x > 0),
    MBG/NBD ``(0, 1, T), (1, 0, t_x)``.
    """
    r, alpha, a, b = theta
    rx = r + x
    lt, ltx = np.log(alpha + T), np.log(alpha + tx)
    A = special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha)
    bab = special.betaln(a, b)
    if method == "bgnbd":
        db1, db2 = 0.0, -1.0
        has2 = x > 0
        bx2 = np.where(has2, b + x + db2, 1.0)
    else:
        db1, db2 = 1.0, 0.0
        has2 = np.ones(len(x), dtype=bool)
        bx2 = b + x + db2
    bx1 = b + x + db1
    t1 = special.betaln(a, bx1) - bab - rx * lt
    t2 = np.where(has2, special.betaln(a + 1.0, bx2) - bab - rx * ltx, -np.inf)
    lse = np.logaddexp(t1, t2)
    ll = A + lse
    if not grad:
        return ll, None
    w2 = np.exp(t2 - lse)  # weight of term2 (0 where absent)
    w1 = 1.0 - w2
    dg = special.digamma
    psi_ab = dg(a + b)
    g = np.empty((4, len(x)))
    g[0] = dg(rx) - dg(r) + np.log(alpha) - w1 * lt - w2 * ltx
    g[1] = r / alpha - rx * (w1 / (alpha + T) + w2 / (alpha + tx))
    d_bab_a = dg(a) - psi_ab  # d betaln(a, b) / da
    d_bab_b = dg(b) - psi_ab
    d1_a = dg(a) - dg(a + bx1) - d_bab_a
    d1_b = dg(bx1) - dg(a + bx1) - d_bab_b
    d2_a = dg(a + 1.0) - dg(a + 1.0 + bx2) - d_bab_a
    d2_b = dg(bx2) - dg(a + 1.0 + bx2) - d_bab_b
    g[2] = w1 * d1_a + np.where(has2, w2 * d2_a, 0.0)
    g[3] = w1 * d1_b + np.where(has2, w2 * d2_b, 0.0)
    return ll, g


def _freq_sum(
    method: str, theta: F64, ux: F64, inv: npt.NDArray[np.intp], tx: F64, T: F64, *, grad: bool
) -> tuple[float, F64]:
    """Total log-likelihood and gradient: :func:`_freq_terms` summed over customers.

    Everything that depends on ``x`` alone (gamma, beta and digamma functions)
    is computed once per distinct ``x`` (``ux``, with ``inv`` mapping customers
    to it) and the per-customer weights are reduced by ``bincount``: the
    per-customer work is two logs, a ``logaddexp`` and an ``exp``.
    """
    r, alpha, a, b = theta
    k = len(ux)
    urx = r + ux
    if method == "bgnbd":
        uhas2 = ux > 0
        ubx1, ubx2 = b + ux, np.where(uhas2, b + ux - 1.0, 1.0)
    else:
        uhas2 = np.ones(k, dtype=bool)
        ubx1, ubx2 = b + ux + 1.0, b + ux
    bab = special.betaln(a, b)
    uA = special.gammaln(urx) - special.gammaln(r) + r * np.log(alpha)
    uc1 = special.betaln(a, ubx1) - bab
    uc2 = np.where(uhas2, special.betaln(a + 1.0, ubx2) - bab, -np.inf)
    rx = urx[inv]
    lt, ltx = np.log(alpha + T), np.log(alpha + tx)
    t1 = uc1[inv] - rx * lt
    t2 = uc2[inv] - rx * ltx
    lse = np.logaddexp(t1, t2)
    total = float(uA[inv].sum() + lse.sum()) if k else 0.0
    if not grad:
        return total, np.zeros(4)
    w2 = np.exp(t2 - lse)
    w1 = 1.0 - w2
    n_u = np.bincount(inv, minlength=k).astype(np.float64)
    sw1 = np.bincount(inv, weights=w1, minlength=k)
    sw2 = np.bincount(inv, weights=w2, minlength=k)
    dg = special.digamma
    psi_ab = dg(a + b)
    d_bab_a, d_bab_b = dg(a) - psi_ab, dg(b) - psi_ab
    d1_a = dg(a) - dg(a + ubx1) - d_bab_a
    d1_b = dg(ubx1) - dg(a + ubx1) - d_bab_b
    d2_a = np.where(uhas2, dg(a + 1.0) - dg(a + 1.0 + ubx2) - d_bab_a, 0.0)
    d2_b = np.where(uhas2, dg(ubx2) - dg(a + 1.0 + ubx2) - d_bab_b, 0.0)
    g = np.empty(4)
    g[0] = (float(n_u @ (dg(urx) - dg(r) + np.log(alpha)))
            - float(w1 @ lt) - float(w2 @ ltx))
    g[1] = len(T) * r / alpha - float((rx * (w1 / (alpha + T) + w2 / (alpha + tx))).sum())
    g[2] = float(sw1 @ d1_a + sw2 @ d2_a)
    g[3] = float(sw1 @ d1_b + sw2 @ d2_b)
    return total, g


def _spend_terms(theta: F64, x: F64, m: F64, *, grad: bool) -> tuple[F64, F64 | None]:
    """Gamma-Gamma log-likelihood of each repeat customer's mean spend ``m`` over ``x``."""
    p, q, v = theta
    px = p * x
    lxm = np.log(x * m + v)
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
          + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * lxm)
    if not grad:
        return ll, None
    dg = special.digamma
    psi = dg(px + q)
    g = np.empty((3, len(x)))
    g[0] = x * (psi - dg(px) + np.log(m) + np.log(x) - lxm)
    g[1] = psi - dg(q) + np.log(v) - lxm
    g[2] = q / v - (px + q) / (x * m + v)
    return ll, g


def _maximise(
    total: Callable[[F64, bool], tuple[float, F64]], k: int, n: int, max_iter: int, tol: float
) -> tuple[F64, optimize.OptimizeResult, float, F64]:
    """L-BFGS-B on log-parameters; returns (theta, result, loglik, std errors of theta).

    ``total(theta, grad)`` is the summed log-likelihood and its gradient in
    ``theta``. BLAS is limited to one thread: L-BFGS-B's tiny dense products
    run many times slower with several (measured 25x on a busy 2-core machine).
    """

    def fun(u: F64) -> tuple[float, F64]:
        theta = np.exp(u)
        ll, g = total(theta, True)
        if not np.isfinite(ll) or not bool(np.all(np.isfinite(g))):
            return 1e300, np.zeros(k)
        return -ll / n, -(g * theta) / n

    threadpoolctl = import_optional("threadpoolctl", purpose="fitting the value models")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        res = optimize.minimize(
            fun, np.zeros(k), jac=True, method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * k,
            options={"maxiter": max_iter, "ftol": tol, "gtol": tol * 1e-2},
        )
    theta = np.exp(res.x)
    ll, _ = total(theta, False)
    # Hessian of -sum ll in log-parameters by central differences of the exact gradient
    h = 1e-5
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (fun(res.x + e)[1] - fun(res.x - e)[1]) * n / (2 * h)
    H = (H + H.T) / 2
    try:
        cov = np.linalg.inv(H)
        var = np.diag(cov)
        se = theta * np.sqrt(np.where(var >= 0, var, np.nan))
    except np.linalg.LinAlgError:
        se = np.full(k, np.nan)
    return theta, res, float(ll), se


def _status(res: optimize.OptimizeResult) -> tuple[bool, int, str]:
    at_bound = bool(np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6))
    if at_bound:
        return False, 3, (f"a parameter reached its bound exp(+-{_LOG_BOUND:g}): the data "
                          "cannot identify it (e.g. no repeat purchases or no drop-out)")
    return bool(res.success), int(res.status), str(res.message)


def _fit_iv(summary: object, max_iter: object, tol: object) -> tuple[int, float]:
    if not isinstance(summary, PurchaseSummary):
        raise ValidationError(
            f"summary must be a PurchaseSummary, got {type(summary).__name__}; build it with "
            "purchase_summary(transactions, as_of=...) or PurchaseSummary.from_arrays",
            field="summary",
        )
    return (check_int(max_iter, "max_iter", 1),
            check_real(tol, "tol", 0.0, 1.0, low_inclusive=False))


def fit_frequency(
    summary: PurchaseSummary,
    *,
    method: FrequencyMethod = "bgnbd",
    max_iter: int = 1000,
    tol: float = 1e-12,
) -> FrequencyModel:
    """Fit a purchase-frequency model to a summary by maximum likelihood.

    Parameters
    ----------
    summary : PurchaseSummary
        Frequency, recency and T per customer.
    method : {"bgnbd", "mbgnbd"}
        BG/NBD (Fader, Hardie & Lee 2005) or MBG/NBD (Batislam, Denizel &
        Filiztekin 2007, where a customer may also drop out right after the
        first purchase).
    max_iter, tol : int, float
        L-BFGS-B's iteration limit and relative tolerance on the objective.

    Returns
    -------
    FrequencyModel

    Raises
    ------
    ValidationError
        Not a summary, an unknown method, or no customer with a repeat purchase.

    Notes
    -----
    The log-likelihood is maximised over the log of ``(r, alpha, a, b)`` with
    its exact gradient; nothing is penalised. Standard errors come from the
    inverse of the Hessian (central differences of the exact gradient). See
    ``docs/customer_value.md`` for the likelihoods.

    Examples
    --------
    >>> from onetoone.datasets import cdnow
    >>> from onetoone.value import purchase_summary
    >>> s = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
    >>> m = fit_frequency(s)
    >>> {k: round(v, 3) for k, v in m.params.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    """
    method = _method_iv(method)
    iters, tol_f = _fit_iv(summary, max_iter, tol)
    if not bool(np.any(summary.frequency > 0)):
        raise ValidationError(
            "no customer in the summary has a repeat purchase (frequency > 0): the model's "
            "purchase and drop-out rates cannot be estimated; use a longer period",
            field="summary",
        )
    t0 = time.perf_counter()
    x = summary.frequency.astype(np.float64)
    tx, T = summary.recency, summary.T

    ux, inv = np.unique(x, return_inverse=True)
    inv = inv.reshape(-1)

    def total(theta: F64, grad: bool) -> tuple[float, F64]:
        return _freq_sum(method, theta, ux, inv, tx, T, grad=grad)

    theta, res, ll, se = _maximise(total, 4, len(x), iters, tol_f)
    success, status, message = _status(res)
    return FrequencyModel(
        method,
        dict(zip(_FREQ_PARAMS, theta.tolist(), strict=True)),
        dict(zip(_FREQ_PARAMS, se.tolist(), strict=True)),
        log_likelihood=ll,
        n_customers=summary.n_customers,
        unit_days=summary.unit_days,
        success=success,
        status=status,
        message=message,
        iterations=int(res.nit),
        elapsed_s=time.perf_counter() - t0,
    )


def fit_spend(summary: PurchaseSummary, *, max_iter: int = 1000, tol: float = 1e-12) -> SpendModel:
    """Fit the Gamma-Gamma spend model on the repeat customers of a summary.

    Only customers with ``frequency > 0`` carry information on spend (their
    ``monetary`` is the mean of ``frequency`` repeat purchases); the others
    are skipped, and :attr:`SpendModel.n_customers` says how many were used.

    Raises
    ------
    ValidationError
        A repeat customer with ``monetary == 0`` (the gamma model needs spend
        > 0), or fewer than 3 repeat customers.

    Examples
    --------
    >>> from onetoone.datasets import cdnow
    >>> from onetoone.value import purchase_summary
    >>> s = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
    >>> m = fit_spend(s)
    >>> {k: round(v, 2) for k, v in m.params.items()}, m.n_customers
    ({'p': 6.25, 'q': 3.74, 'gamma': 15.44}, 946)
    """
    iters, tol_f = _fit_iv(summary, max_iter, tol)
    rep = summary.frequency > 0
    x = summary.frequency[rep].astype(np.float64)
    m = summary.monetary[rep]
    if len(x) < 3:
        raise ValidationError(
            f"fit_spend needs at least 3 customers with frequency > 0, got {len(x)}",
            field="summary",
        )
    if bool(np.any(m <= 0)):
        raise ValidationError(
            f"monetary must be > 0 for customers with frequency > 0: {int((m <= 0).sum())} "
            "customer(s) have 0; drop them from the summary or give their spend",
            field="monetary",
        )
    t0 = time.perf_counter()

    def total(theta: F64, grad: bool) -> tuple[float, F64]:
        ll, g = _spend_terms(theta, x, m, grad=grad)
        return float(ll.sum()), (np.zeros(3) if g is None else g.sum(axis=1))

    theta, res, ll, se = _maximise(total, 3, len(x), iters, tol_f)
    success, status, message = _status(res)
    return SpendModel(
        dict(zip(_SPEND_PARAMS, theta.tolist(), strict=True)),
        dict(zip(_SPEND_PARAMS, se.tolist(), strict=True)),
        log_likelihood=ll,
        n_customers=len(x),
        success=success,
        status=status,
        message=message,
        iterations=int(res.nit),
        elapsed_s=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------- predictions


def _model_iv(model: object, summary: object) -> None:
    if not isinstance(model, FrequencyModel):
        raise ValidationError(
            f"model must be a FrequencyModel (from fit_frequency), got {type(model).__name__}",
            field="model",
        )
    if not isinstance(summary, PurchaseSummary):
        raise ValidationError(
            f"summary must be a PurchaseSummary, got {type(summary).__name__}", field="summary"
        )


def _t_iv(t: object, name: str = "t") -> float:
    return check_real(t, name, 0.0, hint=" (in the summary's time unit)")


def _log_odds_dead(model: FrequencyModel, x: F64, tx: F64, T: F64) -> F64:
    """log(P(dead) / P(alive)) given the history (``-inf``: surely alive)."""
    r, alpha, a, b = (model.params[k] for k in _FREQ_PARAMS)
    ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    if model.method == "bgnbd":
        has = x > 0
        bx = np.where(has, b + x - 1.0, 1.0)
        odds: F64 = np.where(has, np.log(a) - np.log(bx) + ratio, -np.inf)
        return odds
    odds = np.log(a) - np.log(b + x) + ratio
    return odds


def p_alive(model: FrequencyModel, summary: PurchaseSummary) -> F64:
    """Probability that each customer is still active at the end of the observation.

    BG/NBD: ``1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``;
    MBG/NBD: ``1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x))``.

    Examples
    --------
    >>> m = FrequencyModel("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> s = PurchaseSummary.from_arrays(frequency=[2, 0], recency=[30.43, 0.0], T=[38.86] * 2)
    >>> p_alive(m, s).round(3).tolist()
    [0.727, 1.0]
    """
    _model_iv(model, summary)
    x = summary.frequency.astype(np.float64)
    out: F64 = np.asarray(special.expit(-_log_odds_dead(model, x, summary.recency, summary.T)),
                          dtype=np.float64)
    return out


def _alive_expectation(model: FrequencyModel, x: F64, T: F64, t: float | F64) -> F64:
    """E[purchases in (T, T + t] | alive at T, history] for each customer.

    ``t`` is a scalar or one horizon per customer.

    ``E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p]`` with ``p ~ Beta(a, b')``,
    ``b' = b + x`` (BG/NBD) or ``b + x + 1`` (MBG/NBD), in closed form with
    ``hyp2f1``; where that is not finite, not within its bounds
    ``[0, (r + x) t / (alpha + T)]`` or ``a`` is within 1e-3 of 1 (0/0), by
    Gauss-Jacobi quadrature over ``p`` instead.
    """
    r, alpha, a, b = (model.params[k] for k in _FREQ_PARAMS)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
    bp = b + x + (0.0 if model.method == "bgnbd" else 1.0)
    rx = r + x
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        lead = (a + bp - 1.0) / (a - 1.0)
        out = lead * (1.0 - np.exp(rx * np.log1p(-z)) * special.hyp2f1(rx, bp, a + bp - 1.0, z))
    upper = rx * t / (alpha + T)
    bad = ~np.isfinite(out) | (out < 0) | (out > upper * (1 + 1e-9) + 1e-300)
    if abs(a - 1.0) < 1e-3:
        bad[:] = True
    bad &= t > 0  # t = 0: nothing to expect
    out[t == 0] = 0.0
    if bad.any():
        out[bad] = _alive_expectation_quad(a, bp[bad], rx[bad], (alpha + T[bad]), t[bad])
    clipped: F64 = np.clip(out, 0.0, upper)
    return clipped


def _jacobi_rule(n: int, al: float, be: float) -> tuple[F64, F64]:
    """Gauss-Jacobi nodes and normalised weights for ``(1-s)^al (1+s)^be`` on [-1, 1].

    Golub-Welsch on the Jacobi matrix: the weights are the squared first
    components of the eigenvectors, so no normalising constant (which
    overflows in ``scipy.special.roots_jacobi`` for large parameters) is needed.
    """
    k = np.arange(n, dtype=np.float64)
    ab = al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(k == 0, (be - al) / (ab + 2.0),
                        (be * be - al * al) / ((2 * k + ab) * (2 * k + ab + 2.0)))
        kk = k[1:]
        off = (2.0 / (2 * kk + ab) * np.sqrt((kk + al) * (kk + be) / (2 * kk + ab + 1.0))
               * np.where(kk == 1, 1.0, np.sqrt(kk * (kk + ab) / (2 * kk + ab - 1.0))))
    if abs(ab) < 1e-14:  # (b^2 - a^2) / ... is 0/0 at k = 0 only when a + b = 0
        diag[1:] = 0.0
    nodes, vecs = linalg.eigh_tridiagonal(diag, off)
    w = vecs[0] ** 2
    return np.clip(nodes, -1.0, 1.0), w / w.sum()


def _alive_expectation_quad(a: float, bp: F64, rx: F64, scale: F64, t: float | F64) -> F64:
    """Gauss-Jacobi quadrature of ``E_p[(1 - (1 + p t / scale)^-rx) / p]``, ``p ~ Beta(a, bp)``.

    One 64-node rule per distinct ``bp`` (the customers' ``x`` values).
    """
    out = np.empty(len(bp))
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), bp.shape)
    uniq, inv = np.unique(bp, return_inverse=True)
    for j, beta_p in enumerate(uniq):  # distinct frequencies, not customers
        s, w = _jacobi_rule(64, float(beta_p) - 1.0, a - 1.0)
        p = np.maximum((1.0 + s) / 2.0, 1e-300)
        sel = inv == j
        y = np.outer(t[sel] / scale[sel], p)  # customers x nodes
        g = -np.expm1(-rx[sel, None] * np.log1p(y)) / p
        out[sel] = g @ w
    return out


def expected_purchases(model: FrequencyModel, summary: PurchaseSummary, t: float) -> F64:
    """Expected purchases of each customer in the next ``t`` time units.

    ``E[Y(t) | x, t_x, T] = P(alive) * E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p]``,
    the BG/NBD (FHL 2005, eq. 10) and MBG/NBD conditional expectation.

    Examples
    --------
    >>> m = FrequencyModel("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> s = PurchaseSummary.from_arrays(frequency=[2], recency=[30.43], T=[38.86])
    >>> round(float(expected_purchases(m, s, 39.0)[0]), 3)
    1.226
    """
    _model_iv(model, summary)
    tt = _t_iv(t)
    x = summary.frequency.astype(np.float64)
    alive = special.expit(-_log_odds_dead(model, x, summary.recency, summary.T))
    out: F64 = np.asarray(alive * _alive_expectation(model, x, summary.T, tt), dtype=np.float64)
    return out


def unconditional_purchases(model: FrequencyModel, t: Any) -> F64:
    """Expected repeat purchases ``E[X(t)]`` of a new customer in ``t`` time units after the first.

    Sum it over customers at their own ``t`` to track a cohort's cumulative
    repeat purchases (FHL 2005, fig. 1).

    Examples
    --------
    >>> m = FrequencyModel("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> unconditional_purchases(m, [0.0, 39.0, 78.0]).round(3).tolist()
    [0.0, 1.197, 1.861]
    """
    if not isinstance(model, FrequencyModel):
        raise ValidationError(f"model must be a FrequencyModel, got {type(model).__name__}",
                              field="model")
    ts = as_float(np.atleast_1d(np.asarray(t)), "t")
    if not bool(np.all(np.isfinite(ts) & (ts >= 0))):
        raise ValidationError("t must be finite and >= 0", field="t")
    zero = np.zeros(len(ts))
    alive = special.expit(-_log_odds_dead(model, zero, zero, zero))  # 1 (BG) or b/(a+b) (MBG)
    out: F64 = np.asarray(alive * _alive_expectation(model, zero, zero, ts), dtype=np.float64)
    return out


def _spend_model_iv(model: object, summary: object) -> None:
    if not isinstance(model, SpendModel):
        raise ValidationError(
            f"model must be a SpendModel (from fit_spend), got {type(model).__name__}",
            field="model",
        )
    if not isinstance(summary, PurchaseSummary):
        raise ValidationError(
            f"summary must be a PurchaseSummary, got {type(summary).__name__}", field="summary"
        )
    if model.params["q"] <= 1.0:
        raise ValidationError(
            f"the spend model has q = {model.params['q']:.4g} <= 1: its spend distribution has "
            "no finite mean, so expected spend is undefined; check monetary for outliers",
            field="model",
        )


def expected_spend(model: SpendModel, summary: PurchaseSummary) -> F64:
    """Expected spend per purchase of each customer (Gamma-Gamma posterior mean).

    ``E[M | x, m] = (q - 1) / (p x + q - 1) * p gamma / (q - 1) + p x / (p x + q - 1) * m``:
    a weighted mean of the population mean and the customer's own mean ``m``
    of ``x`` repeat purchases (the population mean for ``x = 0``).

    Raises
    ------
    ValidationError
        ``q <= 1`` (no finite population mean).

    Examples
    --------
    >>> m = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> s = PurchaseSummary.from_arrays(frequency=[0, 10], recency=[0.0, 20.0], T=[30.0] * 2,
    ...                                 monetary=[0.0, 50.0])
    >>> expected_spend(m, s).round(2).tolist()
    [35.22, 49.38]
    """
    _spend_model_iv(model, summary)
    p, q, g = (model.params[k] for k in _SPEND_PARAMS)
    px = p * summary.frequency.astype(np.float64)
    w = px / (px + q - 1.0)  # weight of the customer's own mean (no overflow)
    out: F64 = (1.0 - w) * (p * g / (q - 1.0)) + w * summary.monetary
    return out
