"""Off-policy evaluation: the value of a new offer policy from a logged campaign.

A logged campaign is a set of decisions (a customer, and an offer sent or not)
made by a *logging* policy with known propensities, each with an observed
reward (e.g. the margin of what the customer bought). The estimators here
answer "what would a *target* policy have earned on the same customers?"
without running it.

For decision ``j`` with logged action ``a_j``, reward ``r_j``, logging
propensity ``mu_j = mu(a_j | x_j)`` and target propensity ``pi_j = pi(a_j | x_j)``,
the importance weight is ``w_j = pi_j / mu_j`` and

* IPS (Horvitz & Thompson 1952): ``V = mean(w_j r_j)`` — unbiased when every
  action the target may take has ``mu > 0``; variance grows with the weights.
* Self-normalised IPS (Swaminathan & Joachims 2015): ``V = sum(w r) / sum(w)`` —
  slightly biased, much lower variance.
* Doubly robust (Dudík, Langford & Li 2011):
  ``V = mean(qhat_pi_j + w_j (r_j - qhat_j))`` with a reward model giving
  ``qhat_j`` (the logged action) and ``qhat_pi_j`` (expected under the target
  policy) — unbiased if either the propensities or the reward model are right.

Each returns an :class:`onetoone.measurement.Estimate`: a normal-approximation
interval from the per-decision terms (for SNIPS, the delta method), ``df = inf``,
and the two-sided p-value of ``H0: value = 0``. How much information the weighted
log holds is :func:`effective_sample_size` (Kish 1965).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import stats

from onetoone.bench._checks import as_float, check_alpha, check_nonempty, check_same_length
from onetoone.errors import ValidationError
from onetoone.measurement import Estimate

__all__ = ["doubly_robust", "effective_sample_size", "ips", "snips"]

_F64 = npt.NDArray[np.float64]
OpeMethod = Literal["ips", "snips", "dr"]


@attrs.frozen
class OffPolicyEstimate:
    """Deprecated: the estimators return :class:`onetoone.measurement.Estimate`.

    Kept importable from ``onetoone.bench`` for one minor version. Migration:
    ``.value`` -> ``.estimate``; ``.alpha`` -> ``1 - .confidence``;
    ``.total(n)`` -> ``.estimate * n``; ``.n`` -> the number of logged decisions;
    ``.effective_sample_size`` -> :func:`effective_sample_size`.

    Examples
    --------
    >>> est = ips([1.0, 0.0], [0.5, 0.5], [1, 0])   # an Estimate now
    >>> est.estimate * 2                              # was OffPolicyEstimate.total()
    2.0
    """

    method: Literal["ips", "snips", "dr"]
    value: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    effective_sample_size: float
    alpha: float

    def total(self, n_decisions: int | None = None) -> float:
        """Estimated total reward over ``n_decisions`` (default: the logged ones)."""
        return self.value * (self.n if n_decisions is None else n_decisions)


def _propensities_iv(logging_propensity: Any, target_propensity: Any) -> tuple[_F64, _F64]:
    """Both propensity arrays checked: aligned, non-empty, mu in (0, 1], pi in [0, 1]."""
    mu = as_float(logging_propensity, "logging_propensity")
    pi = as_float(target_propensity, "target_propensity")
    check_nonempty(len(mu), "logging_propensity")
    check_same_length(
        len(mu), "logging_propensity", {"target_propensity": pi}, per="logged decision"
    )
    if not np.all((mu > 0) & (mu <= 1)):
        raise ValidationError(
            "logging_propensity must lie in (0, 1]: an action logged with propensity 0 cannot "
            "be reweighted; check the propensities recorded with the campaign",
            field="logging_propensity",
        )
    if not np.all((pi >= 0) & (pi <= 1)):
        raise ValidationError(
            "target_propensity must lie in [0, 1] (no NaN); it is the probability the target "
            "policy takes the logged action (0/1 for a deterministic plan)",
            field="target_propensity",
        )
    return mu, pi


def _ope_iv(
    reward: Any, logging_propensity: Any, target_propensity: Any, alpha: Any
) -> tuple[_F64, _F64, _F64, float]:
    """The checks shared by the three estimators; returns (reward, mu, pi, alpha)."""
    r = as_float(reward, "reward")
    check_nonempty(len(r), "reward")
    mu = as_float(logging_propensity, "logging_propensity")
    pi = as_float(target_propensity, "target_propensity")
    check_same_length(
        len(r),
        "reward",
        {"logging_propensity": mu, "target_propensity": pi},
        per="logged decision",
    )
    if not np.all(np.isfinite(r)):
        raise ValidationError(
            "reward holds NaN or inf; drop or impute those decisions", field="reward"
        )
    mu, pi = _propensities_iv(mu, pi)
    return r, mu, pi, check_alpha(alpha)


def _ips_iv(
    reward: Any, logging_propensity: Any, target_propensity: Any, alpha: Any
) -> tuple[_F64, _F64, _F64, float]:
    return _ope_iv(reward, logging_propensity, target_propensity, alpha)


def _snips_iv(
    reward: Any, logging_propensity: Any, target_propensity: Any, alpha: Any
) -> tuple[_F64, _F64, float]:
    """Returns (reward, weights, alpha); refuses all-zero weights."""
    r, mu, pi, a = _ope_iv(reward, logging_propensity, target_propensity, alpha)
    w = pi / mu
    if not np.any(w > 0):
        raise ValidationError(
            "every importance weight is zero: the target policy never takes a logged action, "
            "so the log says nothing about it",
            field="target_propensity",
        )
    return r, w, a


def _doubly_robust_iv(
    reward: Any,
    logging_propensity: Any,
    target_propensity: Any,
    reward_hat: Any,
    target_reward_hat: Any,
    alpha: Any,
) -> tuple[_F64, _F64, _F64, _F64, float]:
    """Returns (reward, weights, reward_hat, target_reward_hat, alpha)."""
    r, mu, pi, a = _ope_iv(reward, logging_propensity, target_propensity, alpha)
    q = as_float(reward_hat, "reward_hat")
    qpi = as_float(target_reward_hat, "target_reward_hat")
    check_same_length(
        len(r), "reward", {"reward_hat": q, "target_reward_hat": qpi}, per="logged decision"
    )
    for name, arr in (("reward_hat", q), ("target_reward_hat", qpi)):
        if not np.all(np.isfinite(arr)):
            raise ValidationError(
                f"{name} holds NaN or inf; the reward model must predict every decision",
                field=name,
            )
    return r, pi / mu, q, qpi, a


def _estimate(method: OpeMethod, value: float, terms: _F64, alpha: float) -> Estimate:
    """A normal-approximation :class:`Estimate` from the per-decision terms."""
    n = len(terms)
    se = float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    z = float(stats.norm.ppf(1 - alpha / 2))
    if se > 0:
        p = float(2 * stats.norm.sf(abs(value) / se))
    elif se == 0:  # no spread: the value is exact
        p = 1.0 if value == 0 else 0.0
    else:
        p = math.nan
    return Estimate(
        estimate=value,
        std_error=se,
        ci_low=value - z * se,
        ci_high=value + z * se,
        p_value=p,
        df=math.inf,
        confidence=1.0 - alpha,
        method=method,
        null=0.0,
    )


def ips(
    reward: Any, logging_propensity: Any, target_propensity: Any, *, alpha: float = 0.05
) -> Estimate:
    """Inverse propensity scoring estimate of the target policy's value per decision.

    ``V = mean(w_j r_j)`` with ``w_j = pi_j / mu_j`` (Horvitz & Thompson 1952).

    Parameters
    ----------
    reward : array of float
        Observed reward of each logged decision.
    logging_propensity : array of float in (0, 1]
        Probability the logging policy took the logged action.
    target_propensity : array of float in [0, 1]
        Probability the target policy takes the logged action (0/1 for a
        deterministic plan).
    alpha : float
        The interval has level ``1 - alpha`` (``Estimate.confidence``).

    Returns
    -------
    Estimate
        ``estimate``: mean reward per decision under the target policy (times
        the number of decisions for a campaign total); ``method="ips"``; a
        normal interval; ``p_value`` of ``H0: value = 0`` (``null=0``,
        ``df=inf``). With one decision, ``std_error`` and the interval are NaN.

    Raises
    ------
    ValidationError
        Non-numeric or non-finite rewards, propensities outside their ranges,
        or ``alpha`` outside (0, 1).
    LengthMismatchError
        The arrays are not aligned (one entry per logged decision).
    EmptyInputError
        No decisions.

    See Also
    --------
    snips, doubly_robust, effective_sample_size

    Examples
    --------
    >>> est = ips([1.0, 0.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])
    >>> est.estimate, est.method, est.confidence
    (1.5, 'ips', 0.95)
    """
    r, mu, pi, a = _ips_iv(reward, logging_propensity, target_propensity, alpha)
    terms = (pi / mu) * r
    return _estimate("ips", float(terms.mean()), terms, a)


def snips(
    reward: Any, logging_propensity: Any, target_propensity: Any, *, alpha: float = 0.05
) -> Estimate:
    """Self-normalised IPS: ``sum(w r) / sum(w)`` (Swaminathan & Joachims 2015).

    Slightly biased, much lower variance than :func:`ips`; the interval uses
    the delta method for a ratio of means.

    Parameters
    ----------
    reward, logging_propensity, target_propensity, alpha
        As in :func:`ips`.

    Returns
    -------
    Estimate
        ``method="snips"``; otherwise as in :func:`ips`.

    Raises
    ------
    ValidationError
        As in :func:`ips`, and when every weight is zero (the target policy
        never takes a logged action).

    Examples
    --------
    >>> snips([1.0, 0.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]).estimate
    1.5
    """
    r, w, a = _snips_iv(reward, logging_propensity, target_propensity, alpha)
    value = float(np.sum(w * r) / np.sum(w))
    infl = w * (r - value) / w.mean()  # influence terms of the ratio (delta method)
    return _estimate("snips", value, infl, a)


def doubly_robust(
    reward: Any,
    logging_propensity: Any,
    target_propensity: Any,
    *,
    reward_hat: Any,
    target_reward_hat: Any,
    alpha: float = 0.05,
) -> Estimate:
    """Doubly robust estimate: reward model plus an importance-weighted correction.

    ``V = mean(qhat_pi_j + w_j (r_j - qhat_j))`` (Dudik, Langford & Li 2011):
    unbiased if either the propensities or the reward model are right.

    Parameters
    ----------
    reward, logging_propensity, target_propensity, alpha
        As in :func:`ips`.
    reward_hat : array of float
        Reward model's prediction for the logged action of each decision.
    target_reward_hat : array of float
        Reward model's expected reward for each decision under the target policy,
        ``sum_a pi(a | x) qhat(x, a)``.

    Returns
    -------
    Estimate
        ``method="dr"``; otherwise as in :func:`ips`.

    Raises
    ------
    ValidationError, LengthMismatchError, EmptyInputError
        As in :func:`ips`; also for non-finite or misaligned model predictions.

    Examples
    --------
    >>> est = doubly_robust([1.0, 0.0], [0.5, 0.5], [1, 0],
    ...                     reward_hat=[0.8, 0.1], target_reward_hat=[0.8, 0.9])
    >>> round(est.estimate, 3), est.method
    (1.05, 'dr')
    """
    r, w, q, qpi, a = _doubly_robust_iv(
        reward, logging_propensity, target_propensity, reward_hat, target_reward_hat, alpha
    )
    terms = qpi + w * (r - q)
    return _estimate("dr", float(terms.mean()), terms, a)


def _effective_sample_size_iv(logging_propensity: Any, target_propensity: Any) -> _F64:
    mu, pi = _propensities_iv(logging_propensity, target_propensity)
    out: _F64 = pi / mu
    return out


def effective_sample_size(logging_propensity: Any, target_propensity: Any) -> float:
    """How many decisions an importance-weighted estimate is worth (Kish's formula).

    With importance weights ``w_j = target_propensity_j / logging_propensity_j``,
    ``ESS = (sum_j w_j)^2 / sum_j w_j^2`` (Kish 1965, *Survey Sampling*). It
    equals the number of decisions when every weight is equal and falls as the
    weights grow uneven; an ESS far below the log's size warns that
    :func:`ips`, :func:`snips` and :func:`doubly_robust` rest on few decisions.
    0 when every weight is zero (the target policy never takes a logged action).

    Parameters
    ----------
    logging_propensity : array of float in (0, 1]
    target_propensity : array of float in [0, 1]
        As in :func:`ips`.

    Returns
    -------
    float

    Raises
    ------
    ValidationError, LengthMismatchError, EmptyInputError
        As in :func:`ips`.

    Examples
    --------
    >>> effective_sample_size([0.5, 0.5, 0.5, 0.5], [1, 1, 1, 1])
    4.0
    >>> effective_sample_size([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])
    2.0
    """
    w = _effective_sample_size_iv(logging_propensity, target_propensity)
    if not np.any(w > 0):
        return 0.0
    return float(w.sum() ** 2 / np.sum(w * w))
