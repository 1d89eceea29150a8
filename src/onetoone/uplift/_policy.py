"""The value of a targeting policy on randomised data: IPS and doubly robust, with intervals.

A *policy* names one arm per row (control or a treatment). Its *value* is the
mean outcome the rows would have had, had each received the arm the policy
names. On a randomised campaign it is estimated from the rows whose assigned
arm happens to agree with the policy, reweighted by the known assignment
probability (inverse propensity scoring, IPS), optionally corrected by outcome
models (doubly robust, DR; Dudík, Langford and Li 2011). Each estimate is a
mean of per-row terms, so its interval is the normal approximation on those
terms; two policies on the same rows are compared by the per-row differences
(a paired interval). See ``docs/uplift.md`` for the formulas.

References
----------
Horvitz and Thompson (1952); Dudík, Langford and Li (2011), "Doubly robust
policy evaluation and learning", ICML.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.stats

from onetoone._arrays import as_1d, as_float
from onetoone._checks import check_alpha, check_int, check_same_length, is_int, is_real
from onetoone._estimate import Estimate
from onetoone._random import RandomState, check_random_state
from onetoone.errors import EmptyInputError, ValidationError

__all__ = ["POLICY_METHODS", "policy_at_budget", "policy_value", "policy_value_difference"]

_F64 = npt.NDArray[np.float64]
_IP = npt.NDArray[np.intp]

#: Estimators of :func:`policy_value`: inverse propensity scoring and doubly robust.
POLICY_METHODS: tuple[str, ...] = ("dr", "ips")


def policy_at_budget(scores: Any, k: int | float, *, arms: Any = None) -> npt.NDArray[Any]:
    """The policy that treats the ``k`` rows with the highest score, each with its best arm.

    Parameters
    ----------
    scores : array_like, ``(n,)`` or ``(n, n_treatments)``
        Predicted uplift of each treatment (e.g. :meth:`UpliftModel.predict`).
        A row's best treatment is the column with the highest score; rows are
        ranked by that score (ties keep the row order).
    k : int or float
        The budget: an ``int`` is a number of rows (``0 <= k <= n``), a
        ``float`` in [0, 1] a share of rows (``floor(share * n)`` rows).
    arms : sequence, optional
        The labels, control first then one per score column (e.g.
        ``model.arms``). ``None``: codes ``0`` (control) and ``1..T``.

    Returns
    -------
    array, ``(n,)``
        The arm per row: control for the rows outside the budget.

    Raises
    ------
    ValidationError
        ``scores`` not 1-D/2-D or not finite, ``k`` out of range, ``arms`` not
        one control plus one label per score column.

    Examples
    --------
    >>> policy_at_budget([0.1, 0.5, -0.2, 0.3], 2).tolist()
    [0, 1, 0, 1]
    >>> policy_at_budget([[0.1, 0.4], [0.3, 0.2], [0.0, 0.0]], 0.67,
    ...                  arms=("none", "mens", "womens")).tolist()
    ['womens', 'mens', 'none']
    """
    s = np.asarray(scores, dtype=np.float64) if not isinstance(scores, str) else None
    if s is None or s.ndim not in (1, 2):
        raise ValidationError(
            "scores must be a 1-D (one treatment) or 2-D (rows x treatments) numeric array",
            field="scores",
        )
    if s.ndim == 1:
        s = s[:, None]
    n, n_t = s.shape
    if not bool(np.isfinite(s).all()):
        raise ValidationError("scores hold NaN or infinite values", field="scores")
    if isinstance(k, (bool, np.bool_)) or not is_real(k):
        raise ValidationError(
            f"k must be a row count (int) or a share in [0, 1] (float), got {k!r}", field="k"
        )
    if is_int(k):
        count = check_int(k, "k", 0, n, hint="the budget in rows")
    else:
        share = float(k)
        if not 0.0 <= share <= 1.0:
            raise ValidationError(f"k as a share must lie in [0, 1], got {share!r}", field="k")
        count = math.floor(share * n + 1e-9)
    labels = np.arange(n_t + 1) if arms is None else np.asarray(list(arms))
    if labels.ndim != 1 or len(labels) != n_t + 1:
        raise ValidationError(
            f"arms must name the control and one arm per score column ({n_t + 1} labels), "
            f"got {len(labels) if labels.ndim == 1 else labels.shape}",
            field="arms",
        )
    if len(np.unique(labels)) != len(labels):  # a repeated label made the policy ambiguous
        raise ValidationError(
            f"arms must be distinct labels, got {labels.tolist()!r}", field="arms"
        )
    best = np.argmax(s, axis=1)
    top = s[np.arange(n), best]
    chosen = np.argsort(-top, kind="stable")[:count]
    code = np.zeros(n, dtype=np.intp)
    code[chosen] = best[chosen] + 1
    out: npt.NDArray[Any] = labels[code]
    return out


# --------------------------------------------------------------------------- validation
def _codes(values: Any, name: str, arms: npt.NDArray[Any] | None) -> tuple[_IP, npt.NDArray[Any]]:
    """Codes of ``values`` into ``arms`` (the sorted labels of ``values`` when ``None``)."""
    v = as_1d(values, name)
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    if v.dtype.kind == "f" and bool(np.isfinite(v).all()) and bool((v == np.round(v)).all()):
        v = v.astype(np.int64)
    if v.dtype.kind not in "iuU":
        raise ValidationError(
            f"{name} must hold integer or string arm labels, got dtype {v.dtype}", field=name
        )
    if arms is None:
        labels, code = np.unique(v, return_inverse=True)
        return code.astype(np.intp), labels
    if (v.dtype.kind == "U") != (arms.dtype.kind == "U"):
        raise ValidationError(
            f"{name} and treatment must use labels of one type (both int or both str)",
            field=name,
        )
    pos = np.searchsorted(arms, v)
    pos_c = np.minimum(pos, len(arms) - 1)
    unknown = arms[pos_c] != v
    if bool(unknown.any()):
        i = int(np.argmax(unknown))
        raise ValidationError(
            f"{name} names arm {v[i].item()!r} at row {i}, which is not an arm of treatment "
            f"(arms: {arms.tolist()!r}); a policy can only be evaluated on arms that were "
            "randomised",
            field=name,
        )
    return pos_c.astype(np.intp), arms


def _policy_iv(
    outcome: Any,
    treatment: Any,
    policies: list[tuple[str, Any]],
    propensity: Any,
    alpha: Any,
) -> tuple[_F64, _IP, npt.NDArray[Any], list[_IP], _F64, float]:
    alpha = check_alpha(alpha)
    y = as_float(outcome, "outcome")
    n = len(y)
    if n == 0:
        raise EmptyInputError("outcome has no rows", field="outcome")
    t_raw = as_1d(treatment, "treatment")
    cols: dict[str, npt.NDArray[Any]] = {"treatment": t_raw}
    pols = [(name, as_1d(p, name)) for name, p in policies]
    cols.update(dict(pols))
    e = None if propensity is None else as_float(propensity, "propensity")
    if e is not None:
        cols["propensity"] = e
    check_same_length(n, "outcome", cols)
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValidationError(
            f"outcome holds NaN or infinite values ({int(bad.sum()):,} rows, first at row "
            f"{int(np.argmax(bad))}); drop or fill them first",
            field="outcome",
        )
    codes, arms = _codes(t_raw, "treatment", None)
    if len(arms) < 2:
        raise ValidationError(
            f"treatment has only one arm ({arms[0].item()!r}); a policy value needs a "
            "randomised assignment over at least two arms",
            field="treatment",
        )
    pcodes = [_codes(p, name, arms)[0] for name, p in pols]
    if e is None:
        e = (np.bincount(codes, minlength=len(arms)) / n)[codes]
    else:
        inside = (e > 0.0) & (e < 1.0)
        if not bool(inside.all()):
            i = int(np.argmin(inside))
            raise ValidationError(
                f"propensity must lie strictly between 0 and 1 (the probability of the row's "
                f"assigned arm), got {float(e[i])!r} at row {i}",
                field="propensity",
            )
    return y, codes, arms, pcodes, e, alpha


def _predictions_iv(predictions: Any, arms: npt.NDArray[Any], n: int) -> _F64:
    """``(n, n_arms)`` predicted outcome per arm from a ``{label: (n,) array}`` mapping."""
    if not isinstance(predictions, dict):
        raise ValidationError(
            "outcome_predictions must be a dict {arm label: predicted outcome per row} such as "
            f"UpliftModel.predict_outcomes(X), got {type(predictions).__name__}",
            field="outcome_predictions",
        )
    mu = np.empty((n, len(arms)))
    for j, a in enumerate(arms.tolist()):
        if a not in predictions:
            raise ValidationError(
                f"outcome_predictions has no entry for arm {a!r} (keys: "
                f"{list(predictions)!r}); give every arm of treatment",
                field="outcome_predictions",
            )
        col = as_float(predictions[a], "outcome_predictions")
        check_same_length(n, "outcome", {f"outcome_predictions[{a!r}]": col})
        if not bool(np.isfinite(col).all()):
            raise ValidationError(
                f"outcome_predictions[{a!r}] holds NaN or infinite values",
                field="outcome_predictions",
            )
        mu[:, j] = col
    return mu


def _cross_fitted(
    X: Any,
    y: _F64,
    codes: _IP,
    arms: npt.NDArray[Any],
    n_folds: int,
    random_state: RandomState,
) -> _F64:
    """Each arm's outcome predicted for every row by models fitted without the row's fold."""
    from onetoone.uplift._learners import _check_x, _Fits, _folds

    x = _check_x(X, None)
    check_same_length(len(y), "outcome", {"X": x})
    rng = check_random_state(random_state)
    n_arms = len(arms)
    binary = bool(((y == 0.0) | (y == 1.0)).all())
    strata = codes * 2 + (y > 0.5).astype(np.intp) if binary else codes
    fold = _folds(codes, strata, n_folds, rng)
    mu = np.empty((len(y), n_arms))
    fits = _Fits()
    from onetoone._linear import linear_predict

    for f in range(n_folds):
        held = fold == f
        tr_codes = codes[~held]
        counts = np.bincount(tr_codes, weights=None, minlength=n_arms)
        pos = np.bincount(tr_codes, weights=y[~held], minlength=n_arms)
        if bool((counts < 2).any()) or (binary and bool(((pos == 0) | (pos == counts)).any())):
            raise ValidationError(
                "an arm has too few rows (or, for a 0/1 outcome, only one outcome value) "
                "outside one cross-fitting fold; pass outcome_predictions, fewer n_folds or "
                'method="ips"',
                field="treatment",
            )
        b0, coef = fits.arms(
            x[~held], tr_codes, y[~held], n_arms, binary=binary, l2=1.0, max_iter=100
        )
        mu[held] = linear_predict(x[held], b0, coef, logistic=binary)
    return mu


def _terms(
    method: str,
    y: _F64,
    codes: _IP,
    pcode: _IP,
    e: _F64,
    mu: _F64 | None,
) -> _F64:
    """The per-row terms whose mean is the policy's value."""
    hit = codes == pcode
    if method == "ips" or mu is None:
        out: _F64 = np.where(hit, y / e, 0.0)
        return out
    rows = np.arange(len(y))
    dr: _F64 = mu[rows, pcode] + np.where(hit, (y - mu[rows, codes]) / e, 0.0)
    return dr


def _estimate(phi: _F64, alpha: float, method: str, *, test: bool) -> Estimate:
    n = len(phi)
    est = float(phi.mean())
    se = float(phi.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    z = float(scipy.stats.norm.ppf(1.0 - alpha / 2.0))
    if math.isnan(se):
        lo = hi = math.nan
    else:
        lo, hi = est - z * se, est + z * se
    if test and se > 0:
        p = float(2.0 * scipy.stats.norm.sf(abs(est) / se))
    elif test and se == 0:
        p = 1.0 if est == 0 else 0.0
    else:
        p = math.nan
    return Estimate(
        estimate=est,
        std_error=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        df=math.inf,
        confidence=1.0 - alpha,
        method=f"{method} (normal)",
    )


def _check_method(method: Any) -> str:
    if method not in POLICY_METHODS:
        raise ValidationError(
            f"method must be one of {list(POLICY_METHODS)}, got {method!r}", field="method"
        )
    return str(method)


def _nuisance(
    method: str,
    X: Any,
    outcome_predictions: Any,
    y: _F64,
    codes: _IP,
    arms: npt.NDArray[Any],
    n_folds: Any,
    random_state: RandomState,
) -> _F64 | None:
    if method == "ips":
        if outcome_predictions is not None or X is not None:
            raise ValidationError(
                'method="ips" uses no outcome model; drop X and outcome_predictions or pass '
                'method="dr"',
                field="method",
            )
        return None
    if outcome_predictions is not None:
        if X is not None:
            raise ValidationError(
                "pass X (cross-fitted outcome models) or outcome_predictions, not both",
                field="X",
            )
        return _predictions_iv(outcome_predictions, arms, len(y))
    if X is None:
        raise ValidationError(
            'method="dr" needs the features X (for cross-fitted outcome models) or '
            'outcome_predictions; or pass method="ips"',
            field="X",
        )
    k = check_int(n_folds, "n_folds", 2, 100)
    return _cross_fitted(X, y, codes, arms, k, random_state)


def policy_value(
    outcome: Any,
    treatment: Any,
    policy: Any,
    *,
    method: str = "dr",
    propensity: Any = None,
    X: Any = None,
    outcome_predictions: dict[Any, Any] | None = None,
    alpha: float = 0.05,
    n_folds: int = 5,
    random_state: RandomState = None,
) -> Estimate:
    """Estimated mean outcome per row had every row received the arm ``policy`` names.

    Parameters
    ----------
    outcome : array_like, ``(n,)``
        The observed outcome (0/1 or a value) of a randomised campaign.
    treatment : array_like, ``(n,)``
        The arm each row was assigned (int or string labels, two or more arms).
    policy : array_like, ``(n,)``
        The arm the policy gives each row, in ``treatment``'s labels (e.g.
        from :func:`policy_at_budget`, computed from features only, never
        from the outcome).
    method : {"dr", "ips"}
        ``"ips"``: inverse propensity scoring; ``"dr"``: doubly robust (see
        Notes).
    propensity : array_like, optional
        Each row's probability of the arm it was assigned, strictly in
        (0, 1). ``None``: the observed arm shares (exact for a randomised
        campaign with fixed assignment rates).
    X : array_like, ``(n, n_features)``, optional
        DR only: features for cross-fitted outcome models (one regularised
        logistic or ridge model per arm, ``n_folds`` folds stratified by arm
        and outcome; logistic when every outcome is 0 or 1).
    outcome_predictions : dict, optional
        DR only, instead of ``X``: each arm's predicted outcome per row,
        ``{label: (n,) array}`` such as :meth:`UpliftModel.predict_outcomes`
        of a model fitted on *other* rows.
    alpha : float
        ``1 - alpha`` is the interval's confidence.
    n_folds : int
        Cross-fitting folds when ``X`` is given.
    random_state : int, numpy.random.Generator or None
        Seeds the cross-fitting folds.

    Returns
    -------
    Estimate
        ``method`` ``"ips (normal)"`` or ``"dr (normal)"``; ``p_value`` NaN
        (a value is not tested against 0).

    Raises
    ------
    ValidationError
        NaN/inf outcomes, a treatment with one arm, a policy naming an arm
        that is not in ``treatment``, propensities outside (0, 1), an unknown
        method, DR without ``X`` or ``outcome_predictions``, predictions
        missing an arm.
    LengthMismatchError
        Columns of different lengths.

    Notes
    -----
    With ``A_i`` the assigned arm, ``e_i`` its probability and ``pi_i`` the
    policy's arm, the estimate is the mean of per-row terms ``phi_i``:
    IPS ``phi_i = 1[A_i = pi_i] Y_i / e_i``; DR
    ``phi_i = mu_{pi_i}(X_i) + 1[A_i = pi_i] (Y_i - mu_{A_i}(X_i)) / e_i``.
    The interval is the normal approximation
    ``mean(phi) +- z_{1 - alpha/2} sd(phi) / sqrt(n)``. Both are unbiased
    with the true propensities; DR has the smaller variance when the
    outcome models are good (Dudík et al. 2011).

    Examples
    --------
    >>> y = [1, 0, 1, 1, 0, 0]
    >>> arm = [1, 1, 1, 0, 0, 0]
    >>> policy = [1, 1, 1, 1, 1, 1]      # treat everyone
    >>> v = policy_value(y, arm, policy, method="ips")
    >>> round(v.estimate, 4), v.method      # (1 + 0 + 1) / 0.5 / 6
    (0.6667, 'ips (normal)')
    """
    method = _check_method(method)
    y, codes, arms, (pcode,), e, alpha = _policy_iv(
        outcome, treatment, [("policy", policy)], propensity, alpha
    )
    mu = _nuisance(method, X, outcome_predictions, y, codes, arms, n_folds, random_state)
    return _estimate(_terms(method, y, codes, pcode, e, mu), alpha, method, test=False)


def policy_value_difference(
    outcome: Any,
    treatment: Any,
    policy: Any,
    baseline: Any,
    *,
    method: str = "dr",
    propensity: Any = None,
    X: Any = None,
    outcome_predictions: dict[Any, Any] | None = None,
    alpha: float = 0.05,
    n_folds: int = 5,
    random_state: RandomState = None,
) -> Estimate:
    """Value of ``policy`` minus value of ``baseline`` on the same rows, with a paired interval.

    The per-row terms of both policies (see :func:`policy_value`, the same
    outcome models for both under DR) are subtracted row by row, so the
    interval accounts for their correlation: much narrower than two separate
    intervals when the policies agree on most rows. ``p_value`` tests a
    difference of 0.

    Parameters
    ----------
    outcome, treatment, policy, method, propensity, X, outcome_predictions, alpha, n_folds,
    random_state
        As in :func:`policy_value`.
    baseline : array_like, ``(n,)``
        The policy compared against (e.g. the same treatment for everyone).

    Returns
    -------
    Estimate

    Raises
    ------
    ValidationError, LengthMismatchError
        As :func:`policy_value`, for either policy.

    Examples
    --------
    >>> y = [1, 0, 1, 1, 0, 0]
    >>> arm = [1, 1, 1, 0, 0, 0]
    >>> d = policy_value_difference(y, arm, [1] * 6, [0] * 6, method="ips")
    >>> round(d.estimate, 4)                # 2/3 - 1/3
    0.3333
    """
    method = _check_method(method)
    y, codes, arms, (pa, pb), e, alpha = _policy_iv(
        outcome, treatment, [("policy", policy), ("baseline", baseline)], propensity, alpha
    )
    mu = _nuisance(method, X, outcome_predictions, y, codes, arms, n_folds, random_state)
    phi = _terms(method, y, codes, pa, e, mu) - _terms(method, y, codes, pb, e, mu)
    return _estimate(phi, alpha, method, test=True)
