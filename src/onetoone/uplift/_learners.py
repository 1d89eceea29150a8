"""Uplift models from randomised data: S-, T-, DR- and X-learners over linear base models.

:func:`fit_uplift` estimates, for each treatment arm ``t`` against the control
arm, the conditional average treatment effect (CATE)
``tau_t(x) = E[Y | X = x, arm t] - E[Y | X = x, control]`` from plain arrays:
features, the assigned arm and the outcome (and optionally each row's
assignment probability). The base models are the regularised logistic
(binary outcomes) and ridge (continuous outcomes) regressions of
``onetoone._linear``; every fitted component is kept as plain
coefficient arrays in a frozen :class:`UpliftModel`.

References
----------
Künzel, Sekhon, Bickel and Yu (2019), "Metalearners for estimating heterogeneous
treatment effects using machine learning", PNAS 116(10) (S-, T- and X-learners).
Kennedy (2020, 2023), "Towards optimal doubly robust estimation of heterogeneous
causal effects", arXiv:2004.14497 (the DR-learner).
Nie and Wager (2021), "Quasi-oracle estimation of heterogeneous treatment
effects", Biometrika 108(2) (the R-loss choosing the S-learner's interaction penalty).
"""

from __future__ import annotations

import math
import time
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import as_1d, as_float, readonly
from onetoone._checks import check_int, check_real, check_same_length
from onetoone._linear import fit_logistic, linear_predict, ridge_solve
from onetoone._random import RandomState, check_random_state
from onetoone.errors import EmptyInputError, ValidationError

__all__ = ["INTERACTION_GRID", "METHODS", "OUTCOME_TYPES", "UpliftModel", "fit_uplift"]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
Label = int | str

#: The meta-learners :func:`fit_uplift` fits.
METHODS: tuple[str, ...] = ("s", "t", "dr", "x")
#: The interaction penalties tried by ``interaction_l2="cv"``, as multiples of ``l2``,
#: plus "no interactions" (``None``): the S-learner's cross-validated grid.
INTERACTION_GRID: tuple[float | None, ...] = (None, 1e4, 1e3, 1e2, 1e1, 1.0)
#: Outcome types: ``binary`` (0/1, logistic outcome models), ``continuous`` (ridge).
OUTCOME_TYPES: tuple[str, ...] = ("binary", "continuous")


# --------------------------------------------------------------------------- the model
def _label(v: Any) -> Label:
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (str, np.str_)):
        return str(v)
    raise ValidationError(
        f"arm labels must be ints or strings, got {type(v).__name__} {v!r}", field="treatments"
    )


def _labels(v: Any) -> tuple[Label, ...]:
    return tuple(_label(x) for x in v)


def _f64(a: Any) -> _F64:
    out: _F64 = readonly(np.array(a, dtype=np.float64))
    return out


def _f64_opt(a: Any) -> _F64 | None:
    return None if a is None else _f64(a)


def _i64(a: Any) -> _I64:
    out: _I64 = readonly(np.array(a, dtype=np.int64))
    return out


def _check_x(x: Any, n_features: int | None, name: str = "X") -> _F64:
    """``X`` as a finite float64 ``(n, p)`` array (``p == n_features`` if given)."""
    if x is None or isinstance(x, (str, bytes, dict)):
        raise ValidationError(
            f"{name} must be a 2-D numeric array (n_rows, n_features), got {type(x).__name__}",
            field=name,
        )
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValidationError(
            f"{name} must be a 2-D array (n_rows, n_features), got shape {a.shape}; "
            "for a single feature pass x.reshape(-1, 1)",
            field=name,
        )
    if a.dtype.kind not in "biuf":
        raise ValidationError(
            f"{name} must be numeric, got dtype {a.dtype}; encode categories as numbers",
            field=name,
        )
    a = np.asarray(a, dtype=np.float64)
    if n_features is not None and a.shape[1] != n_features:
        raise ValidationError(
            f"{name} has {a.shape[1]} feature columns but the model was fitted on "
            f"{n_features}; pass the same features in the same order",
            field=name,
        )
    bad = ~np.isfinite(a)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValidationError(
            f"{name} holds NaN or infinite values ({int(bad.sum()):,} cells, first at row "
            f"{int(r)}, column {int(c)}); impute or drop them first",
            field=name,
        )
    return a


@attrs.frozen(eq=False)
class UpliftModel:
    """A fitted uplift model: the effect of each treatment arm against control.

    Every component is a linear model held as plain arrays on the original
    feature scale, so predictions are matrix products: the outcome model of arm
    ``a`` predicts ``link(outcome_intercept[a] + X @ outcome_coef[a])`` (``link``
    the logistic function for binary outcomes, the identity otherwise); the
    effect model of treatment ``t`` (methods ``"dr"`` and ``"x"``) predicts
    ``effect_intercept[t] + X @ effect_coef[t]``.

    Attributes
    ----------
    method : {"s", "t", "dr", "x"}
        The meta-learner (see :func:`fit_uplift`). For the S-learner the
        outcome models of the arms are the one fitted model evaluated with
        each arm's indicator (and interactions) switched on.
    outcome_type : {"binary", "continuous"}
    control : int or str
        The control arm's label.
    treatments : tuple of int or str
        The treatment arms' labels, in the order of :meth:`predict`'s columns.
    outcome_intercept : float64 array, ``(n_arms,)``
        Per arm (control first, then :attr:`treatments`), the outcome model
        fitted on all of that arm's rows.
    outcome_coef : float64 array, ``(n_arms, n_features)``
    effect_intercept : float64 array ``(n_treatments,)`` or None
        The effect models (``None`` for the T-learner, whose effect is the
        difference of the outcome models).
    effect_coef : float64 array ``(n_treatments, n_features)`` or None
    arm_counts : int64 array, ``(n_arms,)``
        Training rows per arm.
    l2 : float
        The base models' penalty.
    n_folds : int
        Cross-fitting folds (DR-learner), cross-validation folds (S-learner
        with ``interaction_l2="cv"``); 0 otherwise.
    interaction_l2 : float or None
        S-learner only: the penalty of the arm x feature interactions
        (``None``: the model has none, only the arm indicators). ``None`` for
        the other methods.
    converged : bool
        Every logistic fit met its tolerance (ridge fits are exact).
    iterations : int
        Newton iterations summed over all logistic fits.
    elapsed_s : float
        Wall time of the fit.

    Examples
    --------
    >>> import numpy as np
    >>> m = UpliftModel(method="t", outcome_type="continuous", control=0, treatments=(1,),
    ...                 outcome_intercept=[1.0, 1.5], outcome_coef=[[0.0], [1.0]])
    >>> m.predict(np.array([[0.0], [2.0]])).tolist()
    [0.5, 2.5]
    >>> {k: v.tolist() for k, v in m.predict_outcomes(np.array([[2.0]])).items()}
    {0: [1.0], 1: [3.5]}
    """

    method: str
    outcome_type: str
    control: Label = attrs.field(converter=_label)
    treatments: tuple[Label, ...] = attrs.field(converter=_labels)
    outcome_intercept: _F64 = attrs.field(converter=_f64, repr=False)
    outcome_coef: _F64 = attrs.field(converter=_f64, repr=False)
    effect_intercept: _F64 | None = attrs.field(default=None, converter=_f64_opt, repr=False)
    effect_coef: _F64 | None = attrs.field(default=None, converter=_f64_opt, repr=False)
    arm_counts: _I64 | None = attrs.field(default=None, converter=attrs.converters.optional(_i64))
    l2: float = 1.0
    n_folds: int = 0
    interaction_l2: float | None = None
    converged: bool = True
    iterations: int = 0
    elapsed_s: float = 0.0

    def __attrs_post_init__(self) -> None:
        def bad(field: str, msg: str) -> ValidationError:
            return ValidationError(f"{field} {msg}", field=field)

        if self.method not in METHODS:
            raise bad("method", f"must be one of {list(METHODS)}, got {self.method!r}")
        if self.outcome_type not in OUTCOME_TYPES:
            raise bad(
                "outcome_type", f"must be one of {list(OUTCOME_TYPES)}, got {self.outcome_type!r}"
            )
        arms = self.arms
        if not self.treatments:
            raise bad("treatments", "must name at least one treatment arm")
        if len(set(arms)) != len(arms) or len({type(a) for a in arms}) != 1:
            raise bad(
                "treatments",
                f"and control must be distinct labels of one type (all int or all str), "
                f"got control={self.control!r}, treatments={list(self.treatments)!r}",
            )
        n_arms, n_t = len(arms), len(self.treatments)
        if self.outcome_intercept.shape != (n_arms,):
            raise bad(
                "outcome_intercept",
                f"has shape {self.outcome_intercept.shape}, expected ({n_arms},): one per arm",
            )
        if self.outcome_coef.ndim != 2 or self.outcome_coef.shape[0] != n_arms:
            raise bad(
                "outcome_coef",
                f"has shape {self.outcome_coef.shape}, expected ({n_arms}, n_features)",
            )
        p = self.outcome_coef.shape[1]
        has_effect = self.method in ("dr", "x")
        if (self.effect_intercept is None) == has_effect or (self.effect_coef is None) == (
            has_effect
        ):
            raise bad(
                "effect_coef",
                "and effect_intercept must be given for methods 'dr' and 'x' and only for them",
            )
        il2: object = self.interaction_l2
        if il2 is not None and (
            self.method != "s" or not isinstance(il2, (int, float)) or not 0.0 <= il2 < math.inf
        ):
            raise bad(
                "interaction_l2",
                f"must be None or a finite penalty >= 0, and only for method 's'; got {il2!r} "
                f"for method {self.method!r}",
            )
        if self.effect_intercept is not None and self.effect_intercept.shape != (n_t,):
            raise bad(
                "effect_intercept",
                f"has shape {self.effect_intercept.shape}, expected ({n_t},): one per treatment",
            )
        if self.effect_coef is not None and self.effect_coef.shape != (n_t, p):
            raise bad("effect_coef", f"has shape {self.effect_coef.shape}, expected ({n_t}, {p})")
        for name in ("outcome_intercept", "outcome_coef", "effect_intercept", "effect_coef"):
            a = getattr(self, name)
            if a is not None and not bool(np.isfinite(a).all()):
                raise bad(name, "holds NaN or infinite values")
        if self.arm_counts is not None and (
            self.arm_counts.shape != (n_arms,) or bool((self.arm_counts < 1).any())
        ):
            raise bad("arm_counts", f"must be {n_arms} positive counts, one per arm")

    @property
    def arms(self) -> tuple[Label, ...]:
        """Every arm's label: :attr:`control` first, then :attr:`treatments`."""
        return (self.control, *self.treatments)

    @property
    def n_features(self) -> int:
        """Feature columns the model takes."""
        return int(self.outcome_coef.shape[1])

    @property
    def n_treatments(self) -> int:
        """Treatment arms (columns of :meth:`predict`)."""
        return len(self.treatments)

    def _outcomes(self, x: _F64) -> _F64:
        return linear_predict(
            x,
            self.outcome_intercept,
            self.outcome_coef,
            logistic=self.outcome_type == "binary",
        )

    def predict(self, X: Any) -> _F64:
        """Estimated effect of each treatment against control for each row of ``X``.

        Parameters
        ----------
        X : array_like, ``(n, n_features)``
            Finite numeric features, in the columns the model was fitted on.

        Returns
        -------
        float64 array
            ``(n, n_treatments)``, column ``j`` the effect of ``treatments[j]``;
            ``(n,)`` when the model has one treatment. For binary outcomes, a
            difference of probabilities.

        Raises
        ------
        ValidationError
            ``X`` is not 2-D, has another number of columns, or holds NaN/inf.

        Examples
        --------
        >>> import numpy as np
        >>> m = UpliftModel(method="dr", outcome_type="continuous", control="none",
        ...                 treatments=("a", "b"), outcome_intercept=[0.0, 0.0, 0.0],
        ...                 outcome_coef=np.zeros((3, 1)), effect_intercept=[1.0, 2.0],
        ...                 effect_coef=[[0.0], [1.0]])
        >>> m.predict(np.array([[1.0]])).tolist()
        [[1.0, 3.0]]
        """
        x = _check_x(X, self.n_features)
        if self.effect_coef is None:
            mu = self._outcomes(x)
            out: _F64 = mu[:, 1:] - mu[:, :1]
        else:
            out = linear_predict(x, self.effect_intercept, self.effect_coef, logistic=False)
        return out[:, 0] if self.n_treatments == 1 else out

    def predict_outcomes(self, X: Any) -> dict[Label, _F64]:
        """Each arm's expected outcome for each row of ``X`` (its outcome model).

        Probabilities for binary outcomes, values otherwise. For the S- and
        T-learners ``predict(X)`` is exactly ``outcomes[t] - outcomes[control]``; for the
        DR- and X-learners the effect model is fitted separately and differs.

        Examples
        --------
        >>> import numpy as np
        >>> m = UpliftModel(method="t", outcome_type="binary", control=0, treatments=(1,),
        ...                 outcome_intercept=[0.0, 0.0], outcome_coef=[[0.0], [0.0]])
        >>> m.predict_outcomes(np.zeros((1, 1)))[1].tolist()
        [0.5]
        """
        x = _check_x(X, self.n_features)
        mu = self._outcomes(x)
        return {a: mu[:, j] for j, a in enumerate(self.arms)}


# --------------------------------------------------------------------------- validation
def _treatment_iv(treatment: Any, control: Any) -> tuple[npt.NDArray[np.intp], tuple[Label, ...]]:
    """Arm codes (0 = control, 1..T treatments in sorted label order) and the labels."""
    t = as_1d(treatment, "treatment")
    if t.dtype.kind == "b":
        t = t.astype(np.int64)
    elif t.dtype.kind == "f":
        if not bool(np.isfinite(t).all()) or not bool((t == np.round(t)).all()):
            raise ValidationError(
                "treatment must hold integer or string arm labels, got non-integer floats "
                "(or NaN); pass 0 for control and 1..T for the treatments",
                field="treatment",
            )
        t = t.astype(np.int64)
    elif t.dtype.kind == "O":
        try:
            t = np.asarray(t.tolist())
        except (TypeError, ValueError) as exc:  # pragma: no cover - ragged objects
            raise ValidationError("treatment must hold arm labels", field="treatment") from exc
    if t.dtype.kind not in "iuU":
        raise ValidationError(
            f"treatment must hold integer or string arm labels, got dtype {t.dtype}",
            field="treatment",
        )
    labels, codes = np.unique(t, return_inverse=True)
    if control is None:
        if t.dtype.kind == "U":
            raise ValidationError(
                f"treatment holds string labels {_first(labels)}; name the control arm "
                "with control=",
                field="control",
            )
        control = 0
    if isinstance(control, (bool, np.bool_)):
        control = int(control)
    if t.dtype.kind == "U":
        ok = isinstance(control, (str, np.str_))
    else:
        ok = isinstance(control, (int, np.integer))
    pos = np.flatnonzero(labels == control) if ok else np.zeros(0, dtype=np.intp)
    if len(pos) == 0:
        raise ValidationError(
            f"control={control!r} is not an arm of treatment (arms: {_first(labels)}); "
            "name the control label with control=",
            field="control",
        )
    if len(labels) < 2:
        raise ValidationError(
            f"treatment has only one arm ({_label(labels[0])!r}); uplift needs a control arm "
            "and at least one treatment arm",
            field="treatment",
        )
    c = int(pos[0])
    # recode: control -> 0, the others keep their sorted order as 1..T
    remap = np.empty(len(labels), dtype=np.intp)
    others = [j for j in range(len(labels)) if j != c]
    remap[c] = 0
    remap[others] = np.arange(1, len(labels))
    arms = (_label(labels[c]), *(_label(labels[j]) for j in others))
    return remap[codes], arms


def _first(labels: npt.NDArray[Any], k: int = 6) -> str:
    shown = [_label(v) for v in labels[:k]]
    return repr(shown)[:-1] + (", ...]" if len(labels) > k else "]")


def _fit_uplift_iv(
    X: Any,
    treatment: Any,
    outcome: Any,
    method: Any,
    outcome_type: Any,
    control: Any,
    propensity: Any,
    l2: Any,
    n_folds: Any,
    random_state: Any,
    max_iter: Any,
    interaction_l2: Any,
) -> tuple[
    _F64,
    npt.NDArray[np.intp],
    tuple[Label, ...],
    _F64,
    str,
    _F64,
    float,
    int,
    np.random.Generator,
    int,
]:
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {list(METHODS)}, got {method!r}", field="method"
        )
    if outcome_type is not None and outcome_type not in OUTCOME_TYPES:
        raise ValidationError(
            f"outcome_type must be one of {list(OUTCOME_TYPES)} or None (inferred), got "
            f"{outcome_type!r}",
            field="outcome_type",
        )
    l2 = check_real(l2, "l2", 0.0)
    if not (interaction_l2 is None or interaction_l2 == "cv"):
        if isinstance(interaction_l2, str):
            raise ValidationError(
                f'interaction_l2 must be "cv", None or a penalty >= 0, got {interaction_l2!r}',
                field="interaction_l2",
            )
        check_real(interaction_l2, "interaction_l2", 0.0)
    if method != "s" and interaction_l2 != "cv":
        raise ValidationError(
            f"interaction_l2 applies to the S-learner only (method='s'), got method={method!r}; "
            "leave it at its default",
            field="interaction_l2",
        )
    n_folds = check_int(n_folds, "n_folds", 2, 100)
    max_iter = check_int(max_iter, "max_iter", 1, 10_000)
    rng = check_random_state(random_state)
    x = _check_x(X, None)
    n = x.shape[0]
    if n == 0:
        raise EmptyInputError("X has no rows; pass at least one row per arm", field="X")
    t_raw = as_1d(treatment, "treatment")
    y = as_float(outcome, "outcome")
    check_same_length(n, "X", {"treatment": t_raw, "outcome": y})
    e = None if propensity is None else as_float(propensity, "propensity")
    if e is not None:
        check_same_length(n, "X", {"propensity": e})
    codes, arms = _treatment_iv(t_raw, control)
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValidationError(
            f"outcome holds NaN or infinite values ({int(bad.sum()):,} rows, first at row "
            f"{int(np.argmax(bad))}); drop or fill them before fitting",
            field="outcome",
        )
    is01 = (y == 0.0) | (y == 1.0)
    if outcome_type is None:
        outcome_type = "binary" if bool(is01.all()) else "continuous"
    elif outcome_type == "binary" and not bool(is01.all()):
        i = int(np.argmin(is01))
        raise ValidationError(
            f'outcome_type="binary" needs outcomes 0 or 1, got {float(y[i])!r} at row {i}; pass '
            'outcome_type="continuous" for spend or margin',
            field="outcome",
        )
    n_arms = len(arms)
    counts = np.bincount(codes, minlength=n_arms)
    if outcome_type == "binary":
        pos = np.bincount(codes, weights=y, minlength=n_arms)
        one = np.flatnonzero((pos == 0) | (pos == counts))
        if len(one):
            a = int(one[0])
            raise ValidationError(
                f"outcome is {int(y[codes == a][0])} for every row of arm {arms[a]!r}; a "
                "binary outcome model needs both outcomes (0 and 1) in every arm",
                field="outcome",
            )
    if e is None:
        e = (counts / n)[codes]
    else:
        inside = (e > 0.0) & (e < 1.0)  # False for NaN
        if not bool(inside.all()):
            i = int(np.argmin(inside))
            raise ValidationError(
                f"propensity must lie strictly between 0 and 1 (the probability of the row's "
                f"assigned arm), got {float(e[i])!r} at row {i}",
                field="propensity",
            )
    return x, codes, arms, y, outcome_type, e, l2, n_folds, rng, max_iter


# --------------------------------------------------------------------------- fitting
class _Fits:
    """Accumulates the logistic fits' convergence and iterations."""

    def __init__(self) -> None:
        self.converged = True
        self.iterations = 0

    def arms(
        self,
        x: _F64,
        codes: npt.NDArray[np.intp],
        y: _F64,
        n_arms: int,
        *,
        binary: bool,
        l2: float,
        max_iter: int,
    ) -> tuple[_F64, _F64]:
        """One outcome model per arm: intercepts ``(n_arms,)`` and coefs ``(n_arms, p)``."""
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(n_arms + 1))
        b0 = np.empty(n_arms)
        coef = np.empty((n_arms, x.shape[1]))
        for a in range(n_arms):
            rows = order[bounds[a] : bounds[a + 1]]
            xa, ya = x[rows], y[rows]
            if binary:
                f = fit_logistic(xa, ya, l2=l2, max_iter=max_iter)
                self.converged &= f.converged
                self.iterations += f.n_iter
                b0[a], coef[a] = f.intercept, f.coef
            else:
                i, c = ridge_solve(xa, ya[:, None], l2=l2)
                b0[a], coef[a] = i[0], c[0]
        return b0, coef


def _s_design(x: _F64, codes: npt.NDArray[np.intp], n_arms: int, interactions: bool) -> _F64:
    """``[X, 1[arm t] for t >= 1, (1[arm t] X) for t >= 1 if interactions]``."""
    ind = (codes[:, None] == np.arange(1, n_arms)[None, :]).astype(np.float64)
    if not interactions:
        return np.hstack([x, ind])
    inter = (ind[:, :, None] * x[:, None, :]).reshape(len(x), -1)
    return np.hstack([x, ind, inter])


def _s_fit(
    x: _F64,
    codes: npt.NDArray[np.intp],
    y: _F64,
    n_arms: int,
    *,
    binary: bool,
    l2: float,
    interaction_l2: float | None,
    max_iter: int,
    fits: _Fits,
) -> tuple[_F64, _F64]:
    """The S-learner's one model, as per-arm intercepts ``(n_arms,)`` and coefs ``(n_arms, p)``."""
    p, n_t = x.shape[1], n_arms - 1
    inter = interaction_l2 is not None
    z = _s_design(x, codes, n_arms, inter)
    pen = np.full(z.shape[1], l2)
    if interaction_l2 is not None:
        pen[p + n_t :] = interaction_l2
    if binary:
        f = fit_logistic(z, y, l2=pen, max_iter=max_iter)
        fits.converged &= f.converged
        fits.iterations += f.n_iter
        b, c = f.intercept, f.coef
    else:
        bb, cc = ridge_solve(z, y[:, None], l2=pen)
        b, c = float(bb[0]), cc[0]
    b0 = np.full(n_arms, b)
    b0[1:] += c[p : p + n_t]
    coef = np.tile(c[:p], (n_arms, 1))
    if inter:
        coef[1:] += c[p + n_t :].reshape(n_t, p)
    return b0, coef


# The S-learner's interaction penalty: selection rules (issue 15, session 4).
#
# Candidates, all over INTERACTION_GRID, which already holds "no interactions" (None,
# an infinite penalty: candidate (d) of the brief), all from the same out-of-fold fits:
#   "to"     the transformed-outcome loss (Athey & Imbens 2016), least mean loss;
#   "to_1se" the same loss, one-standard-error rule;
#   "r"      the R-loss / tau-risk (Nie & Wager 2021; Schuler et al. 2018 found it the
#            most reliable selection criterion for CATE models), with a cross-fitted
#            marginal outcome model m(x) and the known propensity, least mean loss;
#   "r_1se"  the R-loss, one-standard-error rule.
# The one-SE rule (Hastie, Tibshirani & Friedman 2009, sec. 7.10; as fit_lapse in
# onetoone.value): the most penalised entry whose mean loss is within one standard
# error (over folds) of the least mean loss.
# Decision rule, written before the fresh splits were run: on Hillstrom visit
# (benchmarks/uplift_hillstrom.py, same protocol), the candidate with the highest mean
# Qini on the fresh splits 20..39 becomes the default, provided (i) on splits 0..19 its
# paired Qini difference against "to" is not below -1 SE (SE of the paired
# difference over splits), and (ii) on 20..39 its mean uplift@30 % is not below that of
# "to" by more than 1 SE of the paired difference; otherwise "to" stays. Conversion is
# reported, never used.
# Outcome of the first rule (benchmarks/uplift_hillstrom.py --no-hgb --s-rules; mean Qini
# over 20 splits, paired difference to "to" with its SE): seeds 20..39: to 0.0266,
# to_1se 0.0306 (+0.0041, SE 0.0019), r 0.0256, r_1se 0.0306 (+0.0040; behind to_1se by < 0.0001);
# uplift@30 % to 0.0918, to_1se 0.0932. Seeds 0..19: to 0.0220, to_1se 0.0262 (+0.0042,
# SE 0.0011), r 0.0191, r_1se 0.0262. So the first rule chose "to_1se"; it was NOT
# adopted, because of the known-answer failure below. With it, either loss picked "no
# interactions" in 39 or 40 of the 40 splits.
# Added after that run, because "to_1se" and "r_1se" failed a known-answer contract test
# (tests/contract/test_uplift_learners.py::test_continuous_uplift_is_recovered[s]: a
# linear CATE 1 + 2 x1 on 20,000 rows came back with slope 0.98 (to_1se, 1e4 x l2) and
# 1.78 (r_1se, 1e3 x l2)) and, with no interactions, made the per-customer choice in
# tests/test_uplift_policy.py's three-arm Hillstrom sample constant: the fold-to-fold
# spread of a loss's level (TO: the psi^2 term, common to every candidate) made "one SE"
# a wide band.
#   "to_1se_d", "r_1se_d": the one-SE rule with the SE of the per-fold paired difference
#            to the least-loss entry (the candidates share folds, so the common noise
#            cancels).
# Second decision rule, written before seeds 40..59 were run: gate 0, the default must
# pass the known-answer contract tests; among the candidates that pass, the highest mean
# Qini on the fresh seeds 40..59, provided on 0..19 and 20..39 its paired Qini
# difference against "to" is not below -1 SE and on 40..59 its uplift@30 % is not
# below that of "to" by more than 1 SE; otherwise "to" stays.
# Outcome: gate 0 passed by to_1se_d and r_1se_d (and "to"), failed by to_1se and r_1se.
# Seeds 40..59 mean Qini (uplift@30 %): to 0.02461 (0.0874), to_1se_d 0.02609 (0.0894),
# r_1se_d 0.02614 (0.0899): r_1se_d, by 0.00005 (a tie in practice; it is also the
# criterion the literature prefers). Guards: paired Qini against "to" on 0..19 +0.0017
# (SE 0.0007), on 20..39 +0.0008 (SE 0.0014); uplift@30 % on 40..59 +0.0025. Adopted.
_S_RULES: tuple[str, ...] = ("to", "to_1se", "r", "r_1se", "to_1se_d", "r_1se_d")
#: The rule fit_uplift(method="s", interaction_l2="cv") uses (``"to"`` before session 4).
_S_RULE = "r_1se_d"


def _s_cv_losses(
    x: _F64,
    codes: npt.NDArray[np.intp],
    y: _F64,
    n_arms: int,
    fold: npt.NDArray[np.intp],
    k: int,
    e: _F64,
    *,
    binary: bool,
    l2: float,
    max_iter: int,
    fits: _Fits,
) -> tuple[_F64, _F64]:
    """Out-of-fold losses ``(k, len(INTERACTION_GRID))``: transformed-outcome and R-loss.

    Transformed-outcome loss (Athey and Imbens 2016): on the held-out fold, for
    each treatment ``t`` and the rows of arms ``0`` and ``t``,
    ``(psi - tau_t(x))^2`` with ``psi = Y / e`` on arm ``t`` and ``-Y / e`` on
    control, whose expectation given ``x`` is ``tau_t(x)``; so the loss is the
    effect's squared error up to a constant.

    R-loss (Nie and Wager 2021): on the same rows,
    ``((Y - m_t(x)) - (W - p_t) tau_t(x))^2`` with ``W = 1[arm t]``, ``p_t`` the
    probability of arm ``t`` given arm ``0`` or ``t`` (two arms: ``e`` on
    treated rows and ``1 - e`` on control rows; more arms: the ratio of the mean
    propensities, as the X-learner's weight) and ``m_t`` the outcome model of
    ``Y`` on ``X`` over the rows of arms ``0`` and ``t`` fitted on the other
    folds (cross-fitted). Each fold's losses are divided by its rows.
    """
    g = len(INTERACTION_GRID)
    to = np.zeros((k, g))
    rl = np.zeros((k, g))
    if n_arms == 2:
        p1 = np.where(codes == 1, e, 1.0 - e)
        ptr = p1[:, None]
    else:
        counts = np.bincount(codes, minlength=n_arms)
        em = np.bincount(codes, weights=e, minlength=n_arms) / counts
        ptr = np.broadcast_to((em[1:] / (em[1:] + em[0]))[None, :], (len(y), n_arms - 1))
    for f in range(k):
        held = fold == f
        tr = ~held
        xh, ch, yh = x[held], codes[held], y[held]
        # the cross-fitted m_t(x), one per treatment over the rows of arms 0 and t
        m = np.empty((len(yh), n_arms - 1))
        for t in range(1, n_arms):
            rows = tr & ((codes == 0) | (codes == t))
            if binary:
                mf = fit_logistic(x[rows], y[rows], l2=l2, max_iter=max_iter)
                fits.converged &= mf.converged
                fits.iterations += mf.n_iter
                m[:, t - 1] = mf.predict(xh)
            else:
                mb, mc = ridge_solve(x[rows], y[rows][:, None], l2=l2)
                m[:, t - 1] = linear_predict(xh, mb, mc, logistic=False)[:, 0]
        pair = (ch[:, None] == 0) | (ch[:, None] == np.arange(1, n_arms)[None, :])  # (nh, T)
        w = (ch[:, None] == np.arange(1, n_arms)[None, :]).astype(np.float64)
        sign = np.where(ch == 0, -1.0, 1.0)
        psi = (sign * yh / e[held])[:, None]
        resid_y = yh[:, None] - m
        resid_w = w - ptr[held]
        for j, mult in enumerate(INTERACTION_GRID):
            il2 = None if mult is None else mult * max(l2, 1e-3)
            b0, coef = _s_fit(
                x[tr],
                codes[tr],
                y[tr],
                n_arms,
                binary=binary,
                l2=l2,
                interaction_l2=il2,
                max_iter=max_iter,
                fits=fits,
            )
            mu = linear_predict(xh, b0, coef, logistic=binary)  # (n_held, n_arms)
            tau = mu[:, 1:] - mu[:, :1]
            to[f, j] = float(np.where(pair, (psi - tau) ** 2, 0.0).sum()) / len(yh)
            rl[f, j] = float(np.where(pair, (resid_y - resid_w * tau) ** 2, 0.0).sum()) / len(yh)
    return to, rl


def _s_choose(loss: _F64, one_se: bool, paired: bool = False) -> float | None:
    """The grid entry (as a penalty) of least mean loss, or by the one-SE rule.

    ``loss`` is ``(k, len(INTERACTION_GRID))``. Least mean loss: ties keep the
    earlier (more penalised) entry. One-SE rule: the first (most penalised)
    entry whose mean is within one standard error over folds of the least;
    ``paired``: the standard error of each entry's per-fold difference to the
    least-loss entry (the same folds) instead of the least's own.
    """
    finite = np.isfinite(loss).all(axis=0)
    if not finite.any():  # NaN losses made every comparison False (an IndexError before)
        raise ValidationError(
            "the S-learner's cross-validated losses overflowed for every interaction penalty: "
            "the outcome or X hold values too large to fit (e.g. 1e300); rescale them",
            field="outcome",
        )
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.where(finite, loss.mean(axis=0), np.inf)
    best = int(np.argmin(mean))  # first of ties
    if one_se:
        k = loss.shape[0]
        if paired:
            se_d = (loss - loss[:, best : best + 1]).std(axis=0, ddof=1) / math.sqrt(k)
            best = int(np.flatnonzero(mean - mean[best] <= se_d)[0])
        else:
            se = float(loss[:, best].std(ddof=1)) / math.sqrt(k)
            best = int(np.flatnonzero(mean <= mean[best] + se)[0])
    return INTERACTION_GRID[best]


def _s_select(
    x: _F64,
    codes: npt.NDArray[np.intp],
    y: _F64,
    n_arms: int,
    fold: npt.NDArray[np.intp],
    k: int,
    e: _F64,
    *,
    binary: bool,
    l2: float,
    max_iter: int,
    fits: _Fits,
) -> dict[str, float | None]:
    """The interaction penalty each rule of :data:`_S_RULES` picks, from one set of fold fits."""
    to, rl = _s_cv_losses(
        x, codes, y, n_arms, fold, k, e, binary=binary, l2=l2, max_iter=max_iter, fits=fits
    )
    out: dict[str, float | None] = {}
    for rule in _S_RULES:
        mult = _s_choose(
            to if rule.startswith("to") else rl, "_1se" in rule, paired=rule.endswith("_d")
        )
        out[rule] = None if mult is None else mult * max(l2, 1e-3)
    return out


def _s_penalties(
    X: Any,
    treatment: Any,
    outcome: Any,
    *,
    outcome_type: str | None = None,
    control: Label | None = None,
    propensity: Any = None,
    l2: float = 1.0,
    n_folds: int = 5,
    random_state: RandomState = None,
    max_iter: int = 100,
) -> dict[str, float | None]:
    """Benchmark hook: the penalty each rule picks (as ``fit_uplift``'s ``"cv"`` would).

    ``fit_uplift(..., method="s", interaction_l2=out[rule])`` is then the model
    ``fit_uplift(..., method="s")`` fits when ``_S_RULE == rule`` (same folds).
    """
    x, codes, arms, y, otype, e, l2f, k, rng, mi = _fit_uplift_iv(
        X,
        treatment,
        outcome,
        "s",
        outcome_type,
        control,
        propensity,
        l2,
        n_folds,
        random_state,
        max_iter,
        "cv",
    )
    binary = otype == "binary"
    fold = _strata_folds(codes, y, arms, binary, k, rng)
    return _s_select(
        x, codes, y, len(arms), fold, k, e, binary=binary, l2=l2f, max_iter=mi, fits=_Fits()
    )


def _strata_folds(
    codes: npt.NDArray[np.intp],
    y: _F64,
    arms: tuple[Label, ...],
    binary: bool,
    k: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.intp]:
    """Folds stratified by arm (and outcome when binary); refuses a stratum of one row."""
    n_arms = len(arms)
    strata = codes * 2 + (y > 0.5).astype(np.intp) if binary else codes
    sizes = np.bincount(strata, minlength=2 * n_arms if binary else n_arms)
    small = np.flatnonzero((sizes > 0) & (sizes < 2))
    if len(small):
        s = int(small[0])
        a = s // 2 if binary else s
        what = f"outcome {s % 2} in arm {arms[a]!r}" if binary else f"arm {arms[a]!r}"
        raise ValidationError(
            f"{what} has one row; cross-fitting needs at least 2 so every fold's "
            "training rows hold it; pass method='t' or more data",
            field="treatment",
        )
    return _folds(codes, strata, k, rng)


def _folds(
    codes: npt.NDArray[np.intp], strata: npt.NDArray[np.intp], k: int, rng: np.random.Generator
) -> npt.NDArray[np.intp]:
    """Fold of each row: a random permutation dealt round-robin within each stratum."""
    n = len(codes)
    perm = rng.permutation(n)
    order = perm[np.argsort(strata[perm], kind="stable")]
    fold = np.empty(n, dtype=np.intp)
    fold[order] = np.arange(n) % k
    return fold


def fit_uplift(
    X: Any,
    treatment: Any,
    outcome: Any,
    *,
    method: str = "s",
    outcome_type: str | None = None,
    control: Label | None = None,
    propensity: Any = None,
    l2: float = 1.0,
    n_folds: int = 5,
    random_state: RandomState = None,
    max_iter: int = 100,
    interaction_l2: float | str | None = "cv",
) -> UpliftModel:
    """Fit an uplift model: each treatment's effect on the outcome against control.

    Parameters
    ----------
    X : array_like, ``(n, n_features)``
        Finite numeric features (a profile matrix, offer features, ...).
    treatment : array_like, ``(n,)``
        The arm each row was assigned: ``0`` for control and ``1..T`` for the
        treatments, or any int or string labels with ``control=`` naming the
        control. Treatments are ordered by their sorted labels.
    outcome : array_like, ``(n,)``
        The outcome: 0/1 (visit, conversion) or a value (spend, margin).
    method : {"s", "t", "dr", "x"}
        ``"s"`` (default): S-learner (one model with the arm as features);
        ``"t"``: T-learner (a model per arm); ``"dr"``: DR-learner; ``"x"``:
        X-learner (see Notes). The default is the learner with the highest
        mean Qini coefficient on Hillstrom (``benchmarks/uplift_hillstrom.py``;
        it was ``"t"`` before: pass ``method="t"`` for the former default).
    outcome_type : {"binary", "continuous"}, optional
        ``None`` infers ``"binary"`` when every outcome is 0 or 1. Binary
        outcomes get logistic outcome models, continuous ones ridge models.
    control : int or str, optional
        The control arm's label (default ``0``; required for string labels).
    propensity : array_like, optional
        Each row's probability of the arm it was assigned, strictly in (0, 1)
        (a logged propensity). ``None`` uses the observed arm shares, which is
        exact for a randomised holdout with fixed assignment rates.
    l2 : float
        L2 penalty of every base model on standardised features (the intercept
        is not penalised): the logistic loss is summed over rows plus
        ``l2 / 2 |beta|^2`` (scikit-learn's ``C = 1 / l2``), the ridge's squared
        error plus ``l2 |beta|^2``.
    n_folds : int
        Cross-fitting folds of the DR-learner's nuisance models, and
        cross-validation folds of the S-learner's ``interaction_l2="cv"`` (>= 2).
    random_state : int, numpy.random.Generator or None
        Seeds the DR-learner's folds and the S-learner's cross-validation
        folds; the T- and X-learners are deterministic.
    max_iter : int
        Most Newton iterations of each logistic fit.
    interaction_l2 : "cv", float or None
        S-learner only: the penalty of the arm x feature interactions.
        ``"cv"`` (default) chooses among ``None`` and ``l2`` times 1e4, 1e3,
        1e2, 10 and 1 (:data:`INTERACTION_GRID`, most penalised first) by the
        out-of-fold R-loss of the effect (Nie and Wager 2021; see Notes) over
        ``n_folds`` folds of the rows passed, stratified like the DR-learner's,
        with the one-standard-error rule: the most penalised entry whose mean
        loss exceeds the least by at most one standard error of their
        per-fold difference. ``None`` fits no interactions (the arm
        indicators only); a number fixes the penalty.

    Returns
    -------
    UpliftModel

    Raises
    ------
    ValidationError
        Any invalid argument, named in the message: ``X`` not 2-D, NaN or
        infinite values in ``X`` or ``outcome``, a treatment column with one
        arm, an unknown control, propensities outside (0, 1), a non-0/1 outcome
        with ``outcome_type="binary"``, a binary outcome constant within an arm,
        too few rows of an arm (and outcome) for ``n_folds`` (DR).
    LengthMismatchError
        ``treatment``, ``outcome`` or ``propensity`` not one per row of ``X``.
    EmptyInputError
        ``X`` has no rows.

    Notes
    -----
    With ``mu_a(x) = E[Y | X = x, arm a]`` and ``e_a`` the probability of arm
    ``a`` (``propensity`` on the rows of arm ``a``):

    - **S-learner** (Künzel et al. 2019): one model of ``Y`` on
      ``[X, 1[arm t], 1[arm t] X]`` (the arm indicators penalised by ``l2``
      like ``X``, the interactions by ``interaction_l2``);
      ``mu_a(x)`` is its prediction with arm ``a`` switched on and
      ``tau_t(x) = mu_t(x) - mu_0(x)``. Without interactions a logistic
      S-learner's effect still varies with ``x`` through the link
      (scikit-uplift's ``SoloModel``); a ridge one's is constant. With
      ``interaction_l2="cv"`` the held-out loss of each penalty is the R-loss
      ``((Y - m_t(x)) - (W - p_t) tau_t(x))^2`` on the rows of arms ``0``
      and ``t`` (``W = 1[arm t]``, ``p_t`` the probability of arm ``t``
      among the two: ``e`` on treated and ``1 - e`` on control rows for two
      arms, the ratio of mean propensities for more; ``m_t`` a model of ``Y``
      on ``X`` over those arms' rows, fitted on the other folds), and the
      one-standard-error rule (Hastie, Tibshirani and Friedman 2009, sec.
      7.10), on the per-fold differences to the least-loss entry, keeps the
      simplest model the folds cannot tell from the best. Least loss alone
      (by this or the transformed-outcome loss of Athey and Imbens 2016)
      picked interactions that ranked worse on held-out Hillstrom splits
      (``benchmarks/uplift_hillstrom.py``).
    - **T-learner** (Künzel et al. 2019): ``mu_a`` fitted on each arm's rows;
      ``tau_t(x) = mu_t(x) - mu_0(x)``.
    - **DR-learner** (Kennedy 2020): the rows are split into ``n_folds``
      folds (stratified by arm, and outcome when binary); ``mu_a`` fitted
      without fold ``k`` predicts the rows of fold ``k``; the pseudo-outcome
      ``psi_t = mu_t - mu_0 + 1[arm t] (Y - mu_t) / e_t - 1[arm 0] (Y - mu_0) / e_0``
      (rows of other arms contribute ``mu_t - mu_0``) is regressed on ``X``
      by ridge over all rows. ``E[psi_t | X] = tau_t(X)`` when either the
      outcome models or the propensities are right, and the propensities of
      a randomised holdout are known.
    - **X-learner** (Künzel et al. 2019): ``mu_a`` fitted on each arm; the
      imputed effects ``D = Y - mu_0(X)`` on arm ``t`` and ``D = mu_t(X) - Y``
      on control are regressed on ``X`` by ridge (``tau_t1``, ``tau_t0``), and
      ``tau_t = g tau_t0 + (1 - g) tau_t1`` with ``g = e_t / (e_t + e_0)``,
      the mean assignment probabilities, so the effect model stays linear.

    For every method the effect of a binary outcome is a difference of
    probabilities. :meth:`UpliftModel.predict_outcomes` gives each arm's
    outcome model fitted on all rows.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 2))
    >>> arm = rng.integers(0, 2, 4000)
    >>> y = 1.0 + x[:, 0] + arm * (0.5 + x[:, 1]) + rng.normal(size=4000)
    >>> m = fit_uplift(x, arm, y, method="dr", random_state=0)
    >>> m.outcome_type, m.treatments
    ('continuous', (1,))
    >>> np.round(m.effect_coef, 1).tolist()
    [[0.0, 1.0]]
    >>> m.predict(np.array([[0.0, 0.0], [0.0, 1.0]])).round(1).tolist()
    [0.5, 1.5]
    """
    start = time.perf_counter()
    x, codes, arms, y, otype, e, l2, k, rng, max_iter = _fit_uplift_iv(
        X,
        treatment,
        outcome,
        method,
        outcome_type,
        control,
        propensity,
        l2,
        n_folds,
        random_state,
        max_iter,
        interaction_l2,
    )
    n_arms = len(arms)
    n_t = n_arms - 1
    binary = otype == "binary"
    fits = _Fits()
    counts = np.bincount(codes, minlength=n_arms)
    eff_b0: _F64 | None = None
    eff_coef: _F64 | None = None
    il2: float | None = None
    used_folds = 0
    if method == "s":
        if interaction_l2 == "cv":
            fold = _strata_folds(codes, y, arms, binary, k, rng)
            il2 = _s_select(
                x, codes, y, n_arms, fold, k, e, binary=binary, l2=l2, max_iter=max_iter, fits=fits
            )[_S_RULE]
            used_folds = k
        else:
            il2 = None if interaction_l2 is None else float(interaction_l2)
        b0, coef = _s_fit(
            x,
            codes,
            y,
            n_arms,
            binary=binary,
            l2=l2,
            interaction_l2=il2,
            max_iter=max_iter,
            fits=fits,
        )
    else:
        b0, coef = fits.arms(x, codes, y, n_arms, binary=binary, l2=l2, max_iter=max_iter)
    if method == "dr":
        fold = _strata_folds(codes, y, arms, binary, k, rng)
        used_folds = k
        mu = np.empty((len(y), n_arms))
        for f in range(k):
            held = fold == f
            kb0, kcoef = fits.arms(
                x[~held],
                codes[~held],
                y[~held],
                n_arms,
                binary=binary,
                l2=l2,
                max_iter=max_iter,
            )
            mu[held] = linear_predict(x[held], kb0, kcoef, logistic=binary)
        resid = (y - mu[np.arange(len(y)), codes]) / e  # (Y - mu_arm) / e_arm, own arm
        psi = mu[:, 1:] - mu[:, :1]
        treated = codes[:, None] == np.arange(1, n_arms)[None, :]
        psi += np.where(treated, resid[:, None], 0.0)
        psi -= np.where(codes == 0, resid, 0.0)[:, None]
        eff_b0, eff_coef = ridge_solve(x, psi, l2=l2)
    elif method == "x":
        e_mean = np.bincount(codes, weights=e, minlength=n_arms) / counts
        g = e_mean[1:] / (e_mean[1:] + e_mean[0])
        ctrl = codes == 0
        xc = x[ctrl]
        mu_c = linear_predict(xc, b0[1:], coef[1:], logistic=binary)  # (n0, T)
        t0_b0, t0_coef = ridge_solve(xc, mu_c - y[ctrl][:, None], l2=l2)
        eff_b0 = np.empty(n_t)
        eff_coef = np.empty((n_t, x.shape[1]))
        for t in range(1, n_arms):
            rows = codes == t
            xt = x[rows]
            d1 = y[rows] - linear_predict(xt, b0[0], coef[0], logistic=binary)
            t1_b0, t1_coef = ridge_solve(xt, d1[:, None], l2=l2)
            gt = g[t - 1]
            eff_b0[t - 1] = gt * t0_b0[t - 1] + (1.0 - gt) * t1_b0[0]
            eff_coef[t - 1] = gt * t0_coef[t - 1] + (1.0 - gt) * t1_coef[0]
    return UpliftModel(
        method=method,
        outcome_type=otype,
        control=arms[0],
        treatments=arms[1:],
        outcome_intercept=b0,
        outcome_coef=coef,
        effect_intercept=eff_b0,
        effect_coef=eff_coef,
        arm_counts=counts,
        l2=l2,
        n_folds=used_folds,
        interaction_l2=il2,
        converged=fits.converged,
        iterations=fits.iterations,
        elapsed_s=time.perf_counter() - start,
    )
