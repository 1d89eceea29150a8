"""Lapse risk: P(no purchase in the next H days), learned on an earlier cut of the log.

Each customer's own shopping rhythm at a cut ``as_of`` (point in time: only
rows with ``timestamp < as_of`` are read) is summarised by :func:`lapse_features`,
computed in one vectorised pass over the customer-ordered log (a sort of
(customer, day) keys, then ``bincount`` / slicing; no loop over customers).
A *shopping day* is a distinct calendar day (UTC) with at least one purchase.

:func:`fit_lapse` learns the risk on an *earlier* cut: features at
``as_of - H``, label ``1`` when the customer has no purchase in
``[as_of - H, as_of)``. The model is an L2-regularised logistic regression on
standardised features (the penalty chosen by K-fold cross-validated log loss
within that training cut only, one-standard-error rule).
:meth:`LapseModel.predict` applies it at ``as_of``. (A one-feature gap-survival
model -- ``gap_survival`` alone -- and a gamma renewal model with dropout were
measured as principled alternatives and ranked lapsers worse than recency
alone on the Complete Journey: see ``benchmarks/lapse.py``.)

Examples
--------
>>> import numpy as np
>>> from onetoone.data import Transactions
>>> from onetoone.value import lapse_features
>>> tx = Transactions.from_arrays(
...     customer=["a", "a", "a", "b"], item=[1, 1, 1, 1],
...     timestamp=["2024-01-01", "2024-01-03", "2024-01-07", "2024-01-05"],
...     value=[1.0, 1.0, 1.0, 1.0])
>>> f = lapse_features(tx, as_of="2024-01-10", horizon_days=7)
>>> f.customers.to_list(), f["recency_days"].tolist(), f["frequency"].tolist()
(['a', 'b'], [3.0, 5.0], [3.0, 1.0])
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from scipy.special import expit, logit

from onetoone._arrays import TimeLike, readonly, to_datetime64
from onetoone._checks import check_int, check_real
from onetoone._linear import fit_logistic
from onetoone._persist import Field, Member, load_npz, save_npz
from onetoone._random import RandomState, check_random_state
from onetoone.data import IdIndex, Transactions, check_transactions
from onetoone.errors import EmptyInputError, FormatError, ValidationError

__all__ = [
    "FEATURES",
    "PROFILE_FEATURES",
    "LapseFeatures",
    "LapseModel",
    "LapseRisk",
    "fit_lapse",
    "lapse_features",
    "load_lapse",
    "save_lapse",
]

_F64 = npt.NDArray[np.float64]
_DAY = 86_400

#: The rhythm features of :func:`lapse_features`, in column order.
FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "tenure_days",
    "mean_gap_days",
    "sd_gap_days",
    "recency_ratio",
    "own_gap_survival",
    "gap_survival",
    "trend_4w",
    "trend_8w",
    "spend_trend_8w",
    "long_gaps",
    "one_day",
)
#: Profile features (:class:`onetoone.profiles.Profiles` attributes) a model may add.
PROFILE_FEATURES: tuple[str, ...] = (
    "monetary",
    "avg_basket_value",
    "avg_basket_size",
    "avg_basket_lines",
    "discount_share",
    "promo_line_share",
    "distinct_items",
)
#: Pseudo-gaps of the population's gap shape mixed into each customer's own gaps.
SHRINK_GAPS = 2.0
_LOG1P = frozenset(
    {
        "recency_days",
        "frequency",
        "tenure_days",
        "mean_gap_days",
        "sd_gap_days",
        "recency_ratio",
        "long_gaps",
        "monetary",
        "avg_basket_value",
        "avg_basket_size",
        "avg_basket_lines",
        "distinct_items",
    }
)
_LOGIT = frozenset({"own_gap_survival", "gap_survival"})
_L2_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


# --------------------------------------------------------------------------- features
@attrs.frozen(eq=False)
class LapseFeatures:
    """Per-customer rhythm features at a cut, for customers with a purchase before it.

    Attributes
    ----------
    customers : IdIndex
        The customers with at least one purchase before :attr:`as_of` (row ``i``
        of :attr:`values` is customer ``customers.values[i]``).
    names : tuple of str
        Column names: :data:`FEATURES`, then any profile features.
    values : float64 array, ``(n_customers, n_features)``
        All finite. Days are calendar days; ``recency_days`` is ``as_of`` minus
        the last shopping day (midnight), ``tenure_days`` ``as_of`` minus the
        first. ``mean_gap_days`` and ``sd_gap_days`` are over the gaps between
        consecutive shopping days (a one-day customer gets the shrunk mean gap
        ``gap_survival`` uses, and sd 0; ``one_day`` is 1 for them).
        ``recency_ratio`` = recency / mean gap. ``own_gap_survival`` = (own gaps
        >= recency + 0.5) / (gaps + 1). ``gap_survival`` = ``S_i(e + H) /
        S_i(e)``, the probability of no purchase in the next ``H`` days from the
        customer's gap distribution. ``trend_4w`` / ``trend_8w`` = log of the
        shopping-day rate in the last 4 / 8 weeks over the rate before (0.5
        added to each count), ``spend_trend_8w`` the same for ``log1p`` of
        spend per day. ``long_gaps`` counts gaps longer than ``H``.
    as_of : numpy.datetime64
    horizon_days : float

    Examples
    --------
    >>> from onetoone.data import Transactions
    >>> tx = Transactions.from_arrays(customer=[1, 1], item=[1, 1],
    ...     timestamp=["2024-01-01", "2024-01-05"], value=[1.0, 1.0])
    >>> f = lapse_features(tx, as_of="2024-01-08", horizon_days=7)
    >>> f["mean_gap_days"].tolist(), f["recency_ratio"].tolist()
    ([4.0], [0.75])
    """

    customers: IdIndex
    names: tuple[str, ...]
    values: _F64 = attrs.field(converter=readonly)
    as_of: np.datetime64
    horizon_days: float

    def __attrs_post_init__(self) -> None:
        if self.values.shape != (len(self.customers), len(self.names)):
            raise ValidationError(
                f"values has shape {self.values.shape}, expected "
                f"({len(self.customers)}, {len(self.names)})",
                field="values",
            )

    def __getitem__(self, name: str) -> _F64:
        """One feature column by name."""
        if name not in self.names:
            raise ValidationError(
                f"no feature {name!r}; the features are {', '.join(self.names)}", field="name"
            )
        col: _F64 = self.values[:, self.names.index(name)]
        return col


def _time_iv(as_of: object, transactions: Transactions, name: str, h: float) -> np.datetime64:
    t = to_datetime64(as_of, name)  # type: ignore[arg-type]
    if transactions.n_rows == 0:
        raise EmptyInputError("the log has no rows", field="transactions")
    first, last = transactions.period
    if not first < t <= last + np.timedelta64(round(h * _DAY), "s"):
        raise ValidationError(
            f"{name}={t} lies outside the log ({first} .. {last}); it must be after the "
            "first row and at most horizon_days after the last (a log that stops earlier "
            f"does not cover the time up to {name}: extract it again)",
            field=name,
        )
    return t


def _horizon_iv(horizon_days: object) -> float:
    return check_real(
        horizon_days,
        "horizon_days",
        0.0,
        3650.0,
        low_inclusive=False,
        hint="; e.g. 90 for a quarter",
    )


def _profile_iv(profile_features: object) -> tuple[str, ...]:
    if profile_features is None:
        return ()
    if isinstance(profile_features, str) or not isinstance(profile_features, Sequence):
        raise ValidationError(
            "profile_features must be a sequence of Profiles attribute names, e.g. "
            f"('avg_basket_value',), got {profile_features!r}",
            field="profile_features",
        )
    names = tuple(profile_features)
    bad = [n for n in names if n not in PROFILE_FEATURES]
    if bad or len(set(names)) != len(names):
        raise ValidationError(
            f"profile_features {bad or names!r} not allowed (or repeated); choose distinct "
            f"names from {', '.join(PROFILE_FEATURES)}",
            field="profile_features",
        )
    return names


def _pooled_shape(g: _F64, own_mean: _F64) -> _F64:
    """Sorted normalised gaps (gap / its customer's mean gap): the population's gap shape."""
    ok = own_mean > 0
    out: _F64 = np.sort(g[ok] / own_mean[ok])
    return out


def _survival(shape: _F64, t: _F64) -> _F64:
    """Share of the pooled normalised gaps >= ``t`` (right-continuous counting)."""
    if len(shape) == 0:
        return np.exp(-t)  # no gaps anywhere: exponential shape with mean 1
    out: _F64 = (len(shape) - np.searchsorted(shape, t, side="left")) / len(shape)
    return out


def _rhythm(tx: Transactions, as_of: np.datetime64, h: float) -> tuple[npt.NDArray[np.int32], _F64]:
    """Customer codes with history before ``as_of`` and their :data:`FEATURES` matrix."""
    t_as_of = as_of.astype("datetime64[s]").astype(np.int64)
    mask = tx.timestamp.astype(np.int64) < t_as_of
    cust = tx.customer[mask].astype(np.int64)
    ts = tx.timestamp.astype(np.int64)[mask]
    val = tx.value[mask]
    if len(cust) == 0:
        raise EmptyInputError(f"no purchase before as_of={as_of}", field="as_of")
    day = np.floor_divide(ts, _DAY)
    a = t_as_of / _DAY  # as_of in days
    span = int(day.max()) + 1
    key = cust * span + day
    key.sort(kind="stable")  # timsort: the log is customer-ordered, nearly sorted already
    keep = np.ones(len(key), dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    ukey = key[keep]  # distinct (customer, day), sorted
    uc = ukey // span
    ud = (ukey % span).astype(np.float64)
    new = np.ones(len(ukey), dtype=bool)
    new[1:] = uc[1:] != uc[:-1]
    starts = np.flatnonzero(new)
    codes = uc[starts]
    m = len(codes)
    cid = np.cumsum(new) - 1  # dense customer index of each shopping day
    n = np.diff(np.append(starts, len(ukey))).astype(np.float64)
    first = ud[starts]
    last = ud[np.append(starts[1:], len(ukey)) - 1]
    recency = a - last
    tenure = a - first
    same = ~new[1:]
    g = (ud[1:] - ud[:-1])[same]
    gc = cid[1:][same]
    n_gaps = n - 1.0
    sum_g = last - first
    sum_g2 = np.bincount(gc, weights=g * g, minlength=m)
    own_mean = np.divide(sum_g, n_gaps, out=np.zeros(m), where=n_gaps > 0)
    var = np.divide(sum_g2, n_gaps, out=np.zeros(m), where=n_gaps > 0) - own_mean**2
    sd = np.sqrt(np.maximum(var, 0.0))
    # shrunk mean gap: own gaps plus SHRINK_GAPS pseudo-gaps at the population mean
    pop_mean = float(g.mean()) if len(g) else max(float(tenure.mean()), 1.0)
    mean_gap = (sum_g + SHRINK_GAPS * pop_mean) / (n_gaps + SHRINK_GAPS)
    mean_out = np.where(n_gaps > 0, own_mean, mean_gap)
    ratio = recency / mean_out
    own_ge = np.bincount(gc, weights=(g >= recency[gc]).astype(np.float64), minlength=m)
    own_surv = (own_ge + 0.5) / (n_gaps + 1.0)
    # conditional gap survival S(e + H) / S(e), S = own empirical gaps + pooled shape
    shape = _pooled_shape(g, own_mean[gc])

    def surv(t: _F64) -> _F64:
        own = np.bincount(gc, weights=(g >= t[gc]).astype(np.float64), minlength=m)
        out: _F64 = (own + SHRINK_GAPS * _survival(shape, t / mean_gap)) / (n_gaps + SHRINK_GAPS)
        return out

    s_e = surv(recency)
    s_eh = surv(recency + h)
    gap_surv = np.divide(s_eh, s_e, out=np.ones(m), where=s_e > 0)
    long_gaps = np.bincount(gc, weights=(g > h).astype(np.float64), minlength=m)

    def trend(w: float) -> _F64:
        recent = np.bincount(cid, weights=(ud >= a - w).astype(np.float64), minlength=m)
        before_len = np.maximum(tenure - w, w)
        out: _F64 = np.log((recent + 0.5) / w) - np.log((n - recent + 0.5) / before_len)
        return out

    row_c = np.zeros(len(cust), dtype=np.int64)  # rows are grouped by customer
    np.cumsum(cust[1:] != cust[:-1], out=row_c[1:])
    recent_spend = np.bincount(row_c, weights=np.where(day >= a - 56.0, val, 0.0), minlength=m)
    all_spend = np.bincount(row_c, weights=val, minlength=m)
    before_len = np.maximum(tenure - 56.0, 56.0)
    spend_trend = np.log1p(np.maximum(recent_spend, 0.0) / 56.0) - np.log1p(
        np.maximum(all_spend - recent_spend, 0.0) / before_len
    )
    x = np.column_stack(
        [
            recency,
            n,
            tenure,
            mean_out,
            sd,
            ratio,
            own_surv,
            gap_surv,
            trend(28.0),
            trend(56.0),
            spend_trend,
            long_gaps,
            (n_gaps == 0).astype(np.float64),
        ]
    )
    return codes.astype(np.int32), x


def _features(
    tx: Transactions, as_of: np.datetime64, h: float, profile: tuple[str, ...]
) -> LapseFeatures:
    codes, x = _rhythm(tx, as_of, h)
    names = FEATURES
    if profile:
        from onetoone.profiles import build_profiles

        prof = build_profiles(tx, as_of=as_of)
        cols = [np.asarray(getattr(prof, p), dtype=np.float64)[codes] for p in profile]
        extra = np.nan_to_num(np.column_stack(cols), nan=0.0, posinf=0.0, neginf=0.0)
        x = np.hstack([x, extra])
        names = names + profile
    customers = IdIndex(tx.customers.values[codes])
    return LapseFeatures(customers, names, x, as_of, h)


def lapse_features(
    transactions: Transactions,
    *,
    as_of: TimeLike,
    horizon_days: float,
    profile_features: Sequence[str] | None = None,
) -> LapseFeatures:
    """Each customer's rhythm features at ``as_of`` (point in time).

    Parameters
    ----------
    transactions : Transactions
    as_of : time
        Only rows with ``timestamp < as_of`` are read: adding rows at or after
        ``as_of`` changes nothing. It must lie after the log's first row and at
        most ``horizon_days`` after its last.
    horizon_days : float
        ``H`` (> 0): enters ``gap_survival`` and ``long_gaps``.
    profile_features : sequence of str, optional
        Names from :data:`PROFILE_FEATURES`, computed by
        :func:`onetoone.profiles.build_profiles` at the same ``as_of`` (NaN as 0).

    Returns
    -------
    LapseFeatures
        One row per customer with a purchase before ``as_of``; see its
        attributes for each feature's definition.

    Raises
    ------
    ValidationError
        ``transactions`` not a log, ``as_of`` not a time or outside the log,
        ``horizon_days`` not a finite number > 0, an unknown profile feature.
    EmptyInputError
        The log is empty, or has no row before ``as_of``.

    Examples
    --------
    >>> from onetoone.data import Transactions
    >>> tx = Transactions.from_arrays(customer=[7, 7, 7], item=[1, 1, 1],
    ...     timestamp=["2024-01-01", "2024-01-01T18:00", "2024-01-04"], value=[1.0, 2.0, 3.0])
    >>> f = lapse_features(tx, as_of="2024-01-06", horizon_days=10)
    >>> f["frequency"].tolist(), f["tenure_days"].tolist(), f["long_gaps"].tolist()
    ([2.0], [5.0], [0.0])
    """
    check_transactions(transactions)
    h = _horizon_iv(horizon_days)
    profile = _profile_iv(profile_features)
    t = _time_iv(as_of, transactions, "as_of", h)
    return _features(transactions, t, h, profile)


# --------------------------------------------------------------------------- model
def _design(names: Sequence[str], x: _F64) -> _F64:
    """The model's inputs: ``log1p`` of scale features, logit of probabilities."""
    out = np.array(x, dtype=np.float64)
    for j, name in enumerate(names):
        if name in _LOG1P:
            out[:, j] = np.log1p(np.maximum(out[:, j], 0.0))
        elif name in _LOGIT:
            out[:, j] = logit(np.clip(out[:, j], 1e-6, 1.0 - 1e-6))
    return out


def _floats(v: Any) -> _F64:
    return readonly(np.array(v, dtype=np.float64))


@attrs.frozen(eq=False)
class LapseRisk:
    """P(no purchase in the next ``horizon_days``) for each customer at ``as_of``.

    Attributes
    ----------
    customers : IdIndex
        The customers with a purchase before ``as_of``.
    risk : float64 array
        One probability per customer, aligned to :attr:`customers`.
    as_of : numpy.datetime64
    horizon_days : float

    Examples
    --------
    >>> import numpy as np
    >>> r = LapseRisk(IdIndex.from_values([3, 5]), np.array([0.1, 0.7]),
    ...               np.datetime64("2024-01-01", "s"), 30.0)
    >>> r.top(1).tolist()
    [5]
    """

    customers: IdIndex
    risk: _F64 = attrs.field(converter=_floats)
    as_of: np.datetime64
    horizon_days: float

    def __attrs_post_init__(self) -> None:
        if self.risk.shape != (len(self.customers),):
            raise ValidationError(
                f"risk has shape {self.risk.shape}, expected ({len(self.customers)},)",
                field="risk",
            )
        if not bool(np.all((self.risk >= 0) & (self.risk <= 1))):
            raise ValidationError("risk must hold probabilities in [0, 1]", field="risk")

    def top(self, k: int) -> npt.NDArray[Any]:
        """The ids of the ``k`` customers most at risk, highest first (ties by id order)."""
        k = check_int(k, "k", 0)
        order = np.argsort(-self.risk, kind="stable")[:k]
        return self.customers.values[order]


@attrs.frozen(eq=False)
class LapseModel:
    """A fitted lapse-risk model: logistic coefficients over named features.

    Attributes
    ----------
    features : tuple of str
        The model's inputs (rhythm features, then profile features).
    profile_features : tuple of str
    intercept : float
    coef : float64 array
        On the transformed feature scale (``log1p`` of counts and days, logit of
        survival probabilities), so a prediction is ``expit(intercept + z @ coef)``.
    horizon_days : float
    fit_as_of : numpy.datetime64
        The training cut (``as_of - horizon_days`` of the fit): features there,
        labels in the ``horizon_days`` after it.
    l2 : float
        The penalty chosen by cross-validation (one-standard-error rule).
    cv_l2, cv_logloss : float64 arrays
        The grid and each penalty's mean held-out log loss.
    n_train, n_lapsed : int
        Customers in the training cut, and those with no purchase in its window.
    converged : bool
    elapsed_s : float

    Examples
    --------
    >>> import numpy as np
    >>> m = LapseModel(features=("recency_days",), profile_features=(),
    ...                intercept=0.0, coef=np.array([1.0]), horizon_days=7.0,
    ...                fit_as_of=np.datetime64("2024-01-01", "s"), l2=1.0,
    ...                cv_l2=np.array([1.0]), cv_logloss=np.array([0.5]), n_train=10,
    ...                n_lapsed=3, converged=True, elapsed_s=0.0)
    >>> m.features
    ('recency_days',)
    """

    features: tuple[str, ...]
    profile_features: tuple[str, ...]
    intercept: float
    coef: _F64 = attrs.field(converter=_floats)
    horizon_days: float
    fit_as_of: np.datetime64
    l2: float
    cv_l2: _F64 = attrs.field(converter=_floats)
    cv_logloss: _F64 = attrs.field(converter=_floats)
    n_train: int
    n_lapsed: int
    converged: bool
    elapsed_s: float

    def __attrs_post_init__(self) -> None:
        if self.coef.shape != (len(self.features),):
            raise ValidationError(
                f"coef has {self.coef.shape} entries, features {len(self.features)}",
                field="coef",
            )
        allowed = set(FEATURES) | set(self.profile_features)
        if not set(self.features) <= allowed:
            raise ValidationError(f"unknown features in {self.features}", field="features")
        if not (np.isfinite(self.intercept) and bool(np.all(np.isfinite(self.coef)))):
            raise ValidationError("intercept and coef must be finite", field="coef")
        if self.cv_l2.shape != self.cv_logloss.shape:
            raise ValidationError("cv_l2 and cv_logloss differ in length", field="cv_logloss")

    def _score(self, f: LapseFeatures) -> _F64:
        idx = [f.names.index(n) for n in self.features]
        z = _design(self.features, f.values[:, idx])
        out: _F64 = expit(z @ self.coef + self.intercept)
        return out

    def predict(self, transactions: Transactions, *, as_of: TimeLike) -> LapseRisk:
        """P(no purchase in the next :attr:`horizon_days`) at ``as_of``, per customer.

        Reads only rows before ``as_of`` (see :func:`lapse_features`).

        Examples
        --------
        >>> from onetoone.datasets import synthetic_transactions
        >>> tx = synthetic_transactions(n_customers=300, n_items=20, n_days=200,
        ...                             random_state=0)
        >>> m = fit_lapse(tx, as_of=tx.period[1], horizon_days=30, random_state=0)
        >>> r = m.predict(tx, as_of=tx.period[1])
        >>> len(r.risk) == len(r.customers), bool(((r.risk > 0) & (r.risk < 1)).all())
        (True, True)
        """
        check_transactions(transactions)
        t = _time_iv(as_of, transactions, "as_of", self.horizon_days)
        f = _features(transactions, t, self.horizon_days, self.profile_features)
        return LapseRisk(f.customers, self._score(f), t, self.horizon_days)


def _labels(
    tx: Transactions, codes: npt.NDArray[np.int32], start: np.datetime64, end: np.datetime64
) -> npt.NDArray[np.float64]:
    """1.0 where the customer has no row in ``[start, end)``."""
    ts = tx.timestamp
    w = (ts >= start) & (ts < end)
    bought = np.zeros(tx.n_customers, dtype=bool)
    bought[tx.customer[w]] = True
    out: npt.NDArray[np.float64] = (~bought[codes]).astype(np.float64)
    return out


def _logloss(y: _F64, p: _F64) -> float:
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def _cv(z: _F64, y: _F64, n_folds: int, rng: np.random.Generator) -> tuple[_F64, _F64, float]:
    """Each penalty's mean held-out log loss, and the one-standard-error choice.

    Folds are stratified by the label. The chosen penalty is the largest whose
    loss is within one standard error (over folds) of the smallest loss
    (Hastie, Tibshirani & Friedman 2009, sec. 7.10): the simplest model the
    data cannot tell apart from the best, which is steadier across cuts.
    """
    fold = np.empty(len(y), dtype=np.int64)
    for cls in (0.0, 1.0):  # two classes, not customers
        idx = np.flatnonzero(y == cls)
        fold[idx[rng.permutation(len(idx))]] = np.arange(len(idx)) % n_folds
    grid = np.array(_L2_GRID)
    loss = np.zeros((n_folds, len(grid)))
    for k in range(n_folds):
        tr, te = fold != k, fold == k
        for j, l2 in enumerate(grid):
            fit = fit_logistic(z[tr], y[tr], l2=float(l2))
            loss[k, j] = _logloss(y[te], fit.predict(z[te]))
    mean = loss.mean(axis=0)
    se = loss.std(axis=0, ddof=1) / np.sqrt(n_folds)
    best = int(np.argmin(mean))
    ok = np.flatnonzero(mean <= mean[best] + se[best])
    return grid, mean, float(grid[ok.max()])


def fit_lapse(
    transactions: Transactions,
    *,
    as_of: TimeLike,
    horizon_days: float,
    profile_features: Sequence[str] | None = None,
    n_folds: int = 5,
    random_state: RandomState = None,
) -> LapseModel:
    """Learn lapse risk from the log's own history before ``as_of``.

    The training cut is ``as_of - horizon_days``: features there (rows before
    it), label 1 for a customer with no purchase in ``[as_of - horizon_days,
    as_of)``. Rows at or after ``as_of`` are never read, so the model can be
    applied at ``as_of`` (:meth:`LapseModel.predict`) without leakage.

    Parameters
    ----------
    transactions : Transactions
    as_of : time
        The time the model will be applied at.
    horizon_days : float
        ``H``: lapse means no purchase in the next ``H`` days.
    profile_features : sequence of str, optional
        Names from :data:`PROFILE_FEATURES`, added to :data:`FEATURES`.
    n_folds : int
        Cross-validation folds (2..20).
    random_state : int, Generator or None
        Fold assignment.

    Returns
    -------
    LapseModel

    Raises
    ------
    ValidationError
        Bad arguments; ``as_of - horizon_days`` not after the log's first row;
        a training cut where every customer (or none) lapsed.
    EmptyInputError
        The log is empty.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> tx = synthetic_transactions(n_customers=300, n_items=20, n_days=200, random_state=0)
    >>> m = fit_lapse(tx, as_of=tx.period[1], horizon_days=30, random_state=0)
    >>> m.features[:2], m.l2 in m.cv_l2
    (('recency_days', 'frequency'), True)
    """
    t0 = time.perf_counter()
    check_transactions(transactions)
    h = _horizon_iv(horizon_days)
    profile = _profile_iv(profile_features)
    n_folds = check_int(n_folds, "n_folds", 2, 20)
    rng = check_random_state(random_state)
    t = _time_iv(as_of, transactions, "as_of", h)
    cut = t - np.timedelta64(round(h * _DAY), "s")
    first = transactions.period[0]
    if not cut > first:
        raise ValidationError(
            f"the training cut as_of - horizon_days = {cut} is not after the log's first row "
            f"({first}); use a later as_of or a shorter horizon_days",
            field="horizon_days",
        )
    f = _features(transactions, cut, h, profile)
    codes = transactions.customers.encode(f.customers.values)
    y = _labels(transactions, np.asarray(codes, dtype=np.int32), cut, t)
    n_lapsed = int(y.sum())
    if n_lapsed in (0, len(y)):
        raise ValidationError(
            f"in the training cut ({cut} .. {t}) {n_lapsed} of {len(y)} customers lapsed; "
            "both outcomes are needed: use another as_of or horizon_days",
            field="as_of",
        )
    names = f.names
    z = _design(names, f.values)
    if min(n_lapsed, len(y) - n_lapsed) < n_folds:
        raise ValidationError(
            f"the training cut ({cut} .. {t}) has {n_lapsed} lapsed of {len(y)} customers: "
            f"fewer than n_folds={n_folds} of one outcome; use a longer log, another as_of "
            "or fewer folds",
            field="as_of",
        )
    grid, loss, l2 = _cv(z, y, n_folds, rng)
    fit = fit_logistic(z, y, l2=l2)
    return LapseModel(
        features=names,
        profile_features=profile,
        intercept=fit.intercept,
        coef=fit.coef,
        horizon_days=h,
        fit_as_of=cut,
        l2=l2,
        cv_l2=grid,
        cv_logloss=loss,
        n_train=len(y),
        n_lapsed=n_lapsed,
        converged=fit.converged,
        elapsed_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- persistence
#: Version of the file layout written by :func:`save_lapse`.
FORMAT_VERSION = 1
#: The ``kind`` in the file's header.
KIND = "LapseModel"
_ALL = FEATURES + PROFILE_FEATURES
_FIELDS: dict[str, Field] = {
    "features": Field("strs", unique=True, size="n_features", max_len=64),
    "profile_features": Field("strs", unique=True, max_len=64),
    "intercept": Field("float"),
    "horizon_days": Field("float", lo=1e-9, hi=3650.0),
    "fit_as_of": Field("str", max_len=40),
    "l2": Field("float", lo=0.0),
    "n_train": Field("int", lo=1),
    "n_lapsed": Field("int", lo=0),
    "converged": Field("bool"),
    "elapsed_s": Field("float", lo=0.0),
}
_MEMBERS: dict[str, Member] = {
    "coef": Member("f", ("n_features",), dtype="float64"),
    "cv_l2": Member("f", ("n_grid",), dtype="float64", lo=0.0),
    "cv_logloss": Member("f", ("n_grid",), dtype="float64", lo=0.0),
}


def save_lapse(model: LapseModel, path: str | os.PathLike[str]) -> None:
    """Save a :class:`LapseModel` to ``path`` (``.npz``, no pickle), losslessly.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> m = LapseModel(features=("recency_days",), profile_features=(),
    ...                intercept=-1.0, coef=np.array([0.5]), horizon_days=7.0,
    ...                fit_as_of=np.datetime64("2024-01-01", "s"), l2=0.0,
    ...                cv_l2=np.array([0.0]), cv_logloss=np.array([0.4]), n_train=10,
    ...                n_lapsed=3, converged=True, elapsed_s=0.01)
    >>> path = os.path.join(tempfile.mkdtemp(), "lapse.npz")
    >>> save_lapse(m, path)
    >>> load_lapse(path).coef.tolist()
    [0.5]
    """
    if not isinstance(model, LapseModel):
        raise ValidationError(
            f"save_lapse() takes a LapseModel, got {type(model).__name__}", field="model"
        )
    meta = {
        "features": list(model.features),
        "profile_features": list(model.profile_features),
        "intercept": model.intercept,
        "horizon_days": model.horizon_days,
        "fit_as_of": str(model.fit_as_of.astype("datetime64[s]")),
        "l2": model.l2,
        "n_train": model.n_train,
        "n_lapsed": model.n_lapsed,
        "converged": model.converged,
        "elapsed_s": model.elapsed_s,
    }
    arrays = {"coef": model.coef, "cv_l2": model.cv_l2, "cv_logloss": model.cv_logloss}
    save_npz(path, kind=KIND, version=FORMAT_VERSION, arrays=arrays, meta=meta)


def load_lapse(path: str | os.PathLike[str]) -> LapseModel:
    """Load a :class:`LapseModel` written by :func:`save_lapse`, checking it first.

    Raises
    ------
    FormatError
        Not a onetoone lapse file, an unsupported version, or any malformed part.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> m = LapseModel(features=("recency_days",), profile_features=(),
    ...                intercept=-1.0, coef=np.array([0.5]), horizon_days=7.0,
    ...                fit_as_of=np.datetime64("2024-01-01", "s"), l2=0.0,
    ...                cv_l2=np.array([0.0]), cv_logloss=np.array([0.4]), n_train=10,
    ...                n_lapsed=3, converged=True, elapsed_s=0.01)
    >>> path = os.path.join(tempfile.mkdtemp(), "lapse.npz")
    >>> save_lapse(m, path)
    >>> str(load_lapse(path).fit_as_of)
    '2024-01-01T00:00:00'
    """
    target = os.fspath(path)
    arrays, meta = load_npz(
        target, kind=KIND, versions=(FORMAT_VERSION,), fields=_FIELDS, members=_MEMBERS
    )
    if not set(meta["features"]) <= set(_ALL) or not set(meta["profile_features"]) <= set(
        PROFILE_FEATURES
    ):
        raise FormatError(f"{target}: unknown feature names in a LapseModel file")
    try:
        fit_as_of = np.datetime64(meta["fit_as_of"], "s")
        return LapseModel(
            features=tuple(meta["features"]),
            profile_features=tuple(meta["profile_features"]),
            intercept=meta["intercept"],
            coef=arrays["coef"],
            horizon_days=meta["horizon_days"],
            fit_as_of=fit_as_of,
            l2=meta["l2"],
            cv_l2=arrays["cv_l2"],
            cv_logloss=arrays["cv_logloss"],
            n_train=meta["n_train"],
            n_lapsed=meta["n_lapsed"],
            converged=meta["converged"],
            elapsed_s=meta["elapsed_s"],
        )
    except (ValidationError, ValueError) as exc:
        raise FormatError(f"{target}: inconsistent LapseModel file: {exc}") from exc
