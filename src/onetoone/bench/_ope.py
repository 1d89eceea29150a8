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

Intervals are normal approximations from the per-decision terms (for SNIPS,
the delta method).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import stats

from onetoone._arrays import as_float, check_nonempty
from onetoone.errors import LengthMismatchError, ValidationError

__all__ = ["OffPolicyEstimate", "doubly_robust", "ips", "snips"]

_F64 = npt.NDArray[np.float64]


@attrs.frozen
class OffPolicyEstimate:
    """An off-policy value estimate, per decision.

    Attributes
    ----------
    method : {"ips", "snips", "dr"}
    value : float
        Estimated mean reward per decision under the target policy
        (multiply by the number of decisions for a campaign total).
    std_error : float
    ci_low, ci_high : float
        ``1 - alpha`` normal interval.
    n : int
        Decisions used.
    effective_sample_size : float
        ``(sum w)^2 / sum w^2``: how many decisions the weighted estimate is worth.
    alpha : float
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


def _ope_iv(
    reward: Any, logging_propensity: Any, target_propensity: Any, alpha: Any
) -> tuple[_F64, _F64, _F64]:
    r = as_float(reward, "reward")
    mu = as_float(logging_propensity, "logging_propensity")
    pi = as_float(target_propensity, "target_propensity")
    check_nonempty(len(r), "reward")
    for name, arr in (("logging_propensity", mu), ("target_propensity", pi)):
        if len(arr) != len(r):
            raise LengthMismatchError(
                f"{name} has {len(arr)} entries but reward has {len(r)}; one per logged decision",
                field=name,
            )
    if not np.all(np.isfinite(r)):
        raise ValidationError(
            "reward holds NaN or inf; drop or impute those decisions", field="reward"
        )
    if not np.all((mu > 0) & (mu <= 1)):
        raise ValidationError(
            "logging_propensity must lie in (0, 1]: an action logged with propensity 0 cannot "
            "be reweighted; check the propensities recorded with the campaign",
            field="logging_propensity",
        )
    if not np.all((pi >= 0) & (pi <= 1)):
        raise ValidationError("target_propensity must lie in [0, 1]", field="target_propensity")
    if not (
        isinstance(alpha, (int, float, np.integer, np.floating))
        and not isinstance(alpha, bool)
        and 0 < alpha < 1
    ):
        raise ValidationError(
            f"alpha must lie in (0, 1), got {alpha!r}; e.g. 0.05 for 95% intervals",
            field="alpha",
        )
    return r, mu, pi


def _estimate(
    method: Literal["ips", "snips", "dr"],
    terms: _F64,
    w: _F64,
    value: float,
    se: float,
    alpha: float,
) -> OffPolicyEstimate:
    z = float(stats.norm.ppf(1 - alpha / 2))
    ess = float(w.sum() ** 2 / np.sum(w * w)) if np.any(w > 0) else 0.0
    return OffPolicyEstimate(
        method=method,
        value=value,
        std_error=se,
        ci_low=value - z * se,
        ci_high=value + z * se,
        n=len(terms),
        effective_sample_size=ess,
        alpha=alpha,
    )


def ips(
    reward: Any, logging_propensity: Any, target_propensity: Any, *, alpha: float = 0.05
) -> OffPolicyEstimate:
    """Inverse propensity scoring estimate of the target policy's value.

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
        Interval level ``1 - alpha``.

    Examples
    --------
    >>> est = ips([1.0, 0.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])
    >>> est.value
    1.5
    """
    r, mu, pi = _ope_iv(reward, logging_propensity, target_propensity, alpha)
    w = pi / mu
    terms = w * r
    se = float(terms.std(ddof=1) / np.sqrt(len(terms))) if len(terms) > 1 else float("nan")
    return _estimate("ips", terms, w, float(terms.mean()), se, alpha)


def snips(
    reward: Any, logging_propensity: Any, target_propensity: Any, *, alpha: float = 0.05
) -> OffPolicyEstimate:
    """Self-normalised IPS: ``sum(w r) / sum(w)``; see :func:`ips` for the arguments.

    Raises :class:`~onetoone.errors.ValidationError` when every weight is zero
    (the target policy never takes a logged action).

    Examples
    --------
    >>> snips([1.0, 0.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]).value
    1.5
    """
    r, mu, pi = _ope_iv(reward, logging_propensity, target_propensity, alpha)
    w = pi / mu
    if not np.any(w > 0):
        raise ValidationError(
            "every importance weight is zero: the target policy never takes a logged action, "
            "so the log says nothing about it",
            field="target_propensity",
        )
    value = float(np.sum(w * r) / np.sum(w))
    n = len(r)
    # delta method for a ratio of means
    infl = w * (r - value) / w.mean()
    se = float(infl.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return _estimate("snips", infl, w, value, se, alpha)


def doubly_robust(
    reward: Any,
    logging_propensity: Any,
    target_propensity: Any,
    *,
    reward_hat: Any,
    target_reward_hat: Any,
    alpha: float = 0.05,
) -> OffPolicyEstimate:
    """Doubly robust estimate: reward model plus an importance-weighted correction.

    Parameters
    ----------
    reward, logging_propensity, target_propensity
        As in :func:`ips`.
    reward_hat : array of float
        Reward model's prediction for the logged action of each decision.
    target_reward_hat : array of float
        Reward model's expected reward for each decision under the target policy,
        ``sum_a pi(a | x) qhat(x, a)``.

    Examples
    --------
    >>> est = doubly_robust([1.0, 0.0], [0.5, 0.5], [1, 0],
    ...                     reward_hat=[0.8, 0.1], target_reward_hat=[0.8, 0.9])
    >>> round(est.value, 3)
    1.05
    """
    r, mu, pi = _ope_iv(reward, logging_propensity, target_propensity, alpha)
    q = as_float(reward_hat, "reward_hat")
    qpi = as_float(target_reward_hat, "target_reward_hat")
    for name, arr in (("reward_hat", q), ("target_reward_hat", qpi)):
        if len(arr) != len(r):
            raise LengthMismatchError(
                f"{name} has {len(arr)} entries but reward has {len(r)}", field=name
            )
        if not np.all(np.isfinite(arr)):
            raise ValidationError(f"{name} holds NaN or inf", field=name)
    w = pi / mu
    terms = qpi + w * (r - q)
    se = float(terms.std(ddof=1) / np.sqrt(len(terms))) if len(terms) > 1 else float("nan")
    return _estimate("dr", terms, w, float(terms.mean()), se, alpha)
