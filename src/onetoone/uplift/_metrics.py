"""Uplift evaluation on randomised data: Qini and uplift curves, normalised areas, uplift at k.

Every definition is scikit-uplift's (``sklift.metrics``, version 0.5.1), so the
figures are comparable with published ones; ``docs/uplift.md`` gives the formulas.

Order and ties
    Rows are ranked by the score, highest first, as scikit-uplift does:
    ``np.argsort(uplift, kind="mergesort")[::-1]`` (among equal scores the
    later row comes first). A curve has one point per *distinct* score (the
    end of each block of ties) plus the origin, so curves and areas do not
    depend on how ties are ordered; :func:`uplift_at_k` cuts at a row count
    and so does.

Curves (``x`` = customers targeted, the top ``n`` rows; ``N_t(n), N_c(n)`` treated
and control rows among them; ``Y_t(n), Y_c(n)`` the outcome summed over them)
    Qini (Radcliffe 2007): ``Q(n) = Y_t(n) - Y_c(n) * N_t(n) / N_c(n)``.
    Uplift: ``U(n) = (Y_t(n) / N_t(n) - Y_c(n) / N_c(n)) * n``.
    A ratio whose denominator is 0 counts as 0.

Normalised areas
    ``score = (A(curve) - A(line)) / (A(perfect) - A(line))``, areas by the
    trapezoidal rule, ``line`` the straight line from the origin to the
    perfect curve's last point. 1 is the perfect ranking, 0 random (in
    expectation), below 0 worse than random.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import as_1d, as_float, readonly
from onetoone._checks import check_same_length, is_int, is_real
from onetoone.errors import EmptyInputError, ValidationError

__all__ = [
    "UpliftCurve",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_auc_score",
    "qini_curve",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_curve",
]

_F64 = npt.NDArray[np.float64]
Strategy = Literal["overall", "by_group"]
_STRATEGIES = ("overall", "by_group")


def _curve_array(a: Any, name: str) -> _F64:
    out = np.array(a, dtype=np.float64)  # a copy: the curve owns its arrays
    if out.ndim != 1:
        raise ValidationError(
            f"UpliftCurve.{name} must be one-dimensional, got shape {out.shape}", field=name
        )
    if not np.all(np.isfinite(out)):
        raise ValidationError(f"UpliftCurve.{name} must be finite", field=name)
    arr: _F64 = readonly(out)
    return arr


def _x_array(a: Any) -> _F64:
    return _curve_array(a, "x")


def _y_array(a: Any) -> _F64:
    return _curve_array(a, "y")


@attrs.frozen(eq=False)
class UpliftCurve:
    """Points of a Qini or uplift curve (see :func:`qini_curve`, :func:`uplift_curve`).

    Attributes
    ----------
    x : float64 array
        Customers targeted (the top ``x`` rows by score), starting at 0 and
        non-decreasing; read-only.
    y : float64 array
        The curve's value at each ``x``, starting at 0; read-only.

    Examples
    --------
    >>> c = UpliftCurve([0, 2, 4], [0.0, 1.0, 1.0])
    >>> c.area
    3.0
    >>> c.x.flags.writeable
    False
    """

    x: _F64 = attrs.field(converter=_x_array)
    y: _F64 = attrs.field(converter=_y_array)

    def __attrs_post_init__(self) -> None:
        if self.x.shape != self.y.shape or self.x.size < 2:
            raise ValidationError(
                f"UpliftCurve needs x and y of one length >= 2, got {self.x.size} and "
                f"{self.y.size}",
                field="y",
            )
        if self.x[0] != 0 or self.y[0] != 0 or np.any(np.diff(self.x) < 0):
            raise ValidationError(
                "UpliftCurve must start at (0, 0) with x non-decreasing", field="x"
            )

    @property
    def area(self) -> float:
        """Area under the curve by the trapezoidal rule (``sklearn.metrics.auc``)."""
        return float(np.trapezoid(self.y, self.x))


# --------------------------------------------------------------------------- validation


def _finite(values: Any, name: str) -> _F64:
    a = as_float(values, name)
    bad = ~np.isfinite(a)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        what = "NaN" if np.isnan(a[first]) else "infinite"
        raise ValidationError(
            f"{name} has {int(bad.sum())} missing or infinite values (first at row {first}: "
            f"{what}); drop or impute those rows",
            field=name,
        )
    return a


def _binary(values: Any, name: str, what: str) -> _F64:
    a = as_1d(values, name)
    if a.dtype.kind not in "biuf":
        raise ValidationError(
            f"{name} must be 0/1 numbers or booleans, got dtype {a.dtype}; {what}", field=name
        )
    f = _finite(a, name)
    bad = ~((f == 0) | (f == 1))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"{name} must hold only 0 and 1, got {a[first]!r} at row {first}; {what}",
            field=name,
        )
    return f


def _columns_iv(
    y_true: Any, uplift: Any | None, treatment: Any, *, binary_y: bool
) -> tuple[_F64, _F64 | None, _F64]:
    """Validated ``(y, uplift, treatment)`` as float64; ``uplift`` may be omitted."""
    if binary_y:
        y = _binary(y_true, "y_true", "pass a binary outcome (1 = responded)")
    else:
        y = _finite(y_true, "y_true")
    n = y.size
    if n == 0:
        raise EmptyInputError("y_true is empty; pass at least one row", field="y_true")
    t = _binary(treatment, "treatment", "pass 1 for treated rows and 0 for control rows")
    u = None if uplift is None else _finite(uplift, "uplift")
    columns = {"treatment": t} if u is None else {"uplift": u, "treatment": t}
    check_same_length(n, "y_true", columns)
    n_t = int(t.sum())
    if n_t == 0 or n_t == n:
        arm = "control" if n_t == n else "treated"
        raise ValidationError(
            f"treatment has no {arm} row (all {n} rows are "
            f"{'treated' if n_t == n else 'control'}); uplift needs both arms of a "
            "randomised experiment",
            field="treatment",
        )
    return y, u, t


def _negative_effect_iv(negative_effect: Any) -> bool:
    if not isinstance(negative_effect, (bool, np.bool_)):
        raise ValidationError(
            f"negative_effect must be True or False, got {negative_effect!r}",
            field="negative_effect",
        )
    return bool(negative_effect)


# --------------------------------------------------------------------------- kernels


def _order(uplift: _F64) -> npt.NDArray[np.intp]:
    """scikit-uplift's ranking: stable ascending sort, reversed."""
    out: npt.NDArray[np.intp] = np.argsort(uplift, kind="mergesort")[::-1]
    return out


def _cumulative(y: _F64, uplift: _F64, t: _F64) -> tuple[_F64, _F64, _F64, _F64, _F64]:
    """``(n, N_t, N_c, Y_t, Y_c)`` at the end of each block of equal scores."""
    order = _order(uplift)
    y, u, t = y[order], uplift[order], t[order]
    ends = np.r_[np.flatnonzero(np.diff(u)), u.size - 1]
    n_t = np.cumsum(t, dtype=np.float64)[ends]
    y_t = np.cumsum(y * t, dtype=np.float64)[ends]
    y_c = np.cumsum(y * (1.0 - t), dtype=np.float64)[ends]
    n_all = (ends + 1).astype(np.float64)
    return n_all, n_t, n_all - n_t, y_t, y_c


def _ratio(a: _F64, b: _F64) -> _F64:
    out: _F64 = np.divide(a, b, out=np.zeros_like(a), where=b != 0)
    return out


def _qini(y: _F64, uplift: _F64, t: _F64) -> UpliftCurve:
    n_all, n_t, n_c, y_t, y_c = _cumulative(y, uplift, t)
    values = y_t - y_c * _ratio(n_t, n_c)
    return UpliftCurve(np.r_[0.0, n_all], np.r_[0.0, values])


def _uplift(y: _F64, uplift: _F64, t: _F64) -> UpliftCurve:
    n_all, n_t, n_c, y_t, y_c = _cumulative(y, uplift, t)
    values = (_ratio(y_t, n_t) - _ratio(y_c, n_c)) * n_all
    return UpliftCurve(np.r_[0.0, n_all], np.r_[0.0, values])


def _perfect_qini(y: _F64, t: _F64, negative_effect: bool) -> UpliftCurve:
    if negative_effect:
        return _qini(y, y * t - y * (1.0 - t), t)
    treated, control = t == 1, t == 0
    ratio_random = float(y[treated].sum() - treated.sum() * y[control].sum() / control.sum())
    if ratio_random < 0:
        raise ValidationError(
            f"negative_effect=False needs a non-negative overall effect, but the treated "
            f"responders minus the scaled control responders are {ratio_random:g} (the "
            "perfect curve would run backwards); use negative_effect=True",
            field="negative_effect",
        )
    return UpliftCurve([0.0, ratio_random, float(y.size)], [0.0, ratio_random, ratio_random])


def _perfect_uplift(y: _F64, t: _F64) -> UpliftCurve:
    control_responders = np.sum((y == 1) & (t == 0))
    treated_non_responders = np.sum((y == 0) & (t == 1))
    summand = y if control_responders > treated_non_responders else t
    return _uplift(y, 2.0 * (y == t) + summand, t)


def _normalised(actual: UpliftCurve, perfect: UpliftCurve, name: str) -> float:
    line = float(np.trapezoid([0.0, perfect.y[-1]], [0.0, perfect.x[-1]]))
    best = perfect.area - line
    if best == 0:
        raise ValidationError(
            f"{name} is undefined on this data: the perfect curve has no area above the random "
            "line (e.g. y_true is all 0, or the perfect ranking gains nothing); evaluate on "
            "data with responders in both arms",
            field="y_true",
        )
    return (actual.area - line) / best


# --------------------------------------------------------------------------- public


def qini_curve(
    y_true: npt.ArrayLike, uplift: npt.ArrayLike, treatment: npt.ArrayLike
) -> UpliftCurve:
    """The Qini curve of a ranking by predicted uplift (Radcliffe 2007; ``sklift``'s).

    Parameters
    ----------
    y_true : array_like of float
        Observed outcome per row: 0/1 (visit, conversion) or any real number
        (spend, margin).
    uplift : array_like of float
        Predicted uplift (any score: only its order and ties matter).
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.

    Returns
    -------
    UpliftCurve
        ``x``: 0 then the row count at the end of each block of equal scores,
        highest scores first; ``y``: ``Y_t - Y_c * N_t / N_c`` over those rows
        (the treated outcome minus the control outcome scaled to the treated
        count; 0 while no control row is in).

    Raises
    ------
    ValidationError
        Lengths differ (:class:`~onetoone.errors.LengthMismatchError`), a value
        is NaN or infinite, ``treatment`` is not 0/1 or has only one arm.

    See Also
    --------
    qini_auc_score, perfect_qini_curve, uplift_curve

    Examples
    --------
    >>> c = qini_curve([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1])
    >>> c.x.tolist(), c.y.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 1.0, 0.5, 0.0])
    """
    y, u, t = _columns_iv(y_true, uplift, treatment, binary_y=False)
    assert u is not None
    return _qini(y, u, t)


def uplift_curve(
    y_true: npt.ArrayLike, uplift: npt.ArrayLike, treatment: npt.ArrayLike
) -> UpliftCurve:
    """The uplift curve of a ranking by predicted uplift (``sklift.metrics.uplift_curve``).

    Parameters
    ----------
    y_true : array_like of float
        Observed outcome per row: 0/1 or any real number.
    uplift : array_like of float
        Predicted uplift (only its order and ties matter).
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.

    Returns
    -------
    UpliftCurve
        ``x`` as in :func:`qini_curve`; ``y``: ``(Y_t / N_t - Y_c / N_c) * n``,
        the difference of mean outcomes among the top ``n`` rows times ``n``
        (a mean over no row counts as 0).

    Raises
    ------
    ValidationError
        As :func:`qini_curve`.

    See Also
    --------
    uplift_auc_score, perfect_uplift_curve, qini_curve

    Examples
    --------
    >>> c = uplift_curve([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1])
    >>> c.y.tolist()
    [0.0, 1.0, 2.0, 1.5, 0.0]
    """
    y, u, t = _columns_iv(y_true, uplift, treatment, binary_y=False)
    assert u is not None
    return _uplift(y, u, t)


def perfect_qini_curve(
    y_true: npt.ArrayLike, treatment: npt.ArrayLike, *, negative_effect: bool = True
) -> UpliftCurve:
    """The best Qini curve any ranking could reach (``sklift.metrics.perfect_qini_curve``).

    Parameters
    ----------
    y_true : array_like of {0, 1}
        Observed binary outcome per row.
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.
    negative_effect : bool
        True (default): the Qini curve of the score ``y * t - y * (1 - t)``
        (treated responders first, control responders last, so the curve
        also shows the loss from customers the offer puts off). False: the
        curve ``(0, 0), (R, R), (n, R)`` with ``R = Y_t - N_t * Y_c / N_c``
        (no negative effects; note the ``x`` of the middle point is ``R``, a
        number of responses, exactly as scikit-uplift defines it).

    Returns
    -------
    UpliftCurve

    Raises
    ------
    ValidationError
        As :func:`qini_curve`, ``y_true`` not 0/1, or ``negative_effect=False``
        with ``R < 0``.

    Examples
    --------
    >>> perfect_qini_curve([1, 0, 1, 0], [1, 0, 0, 1]).y.tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    ne = _negative_effect_iv(negative_effect)
    y, _, t = _columns_iv(y_true, None, treatment, binary_y=True)
    return _perfect_qini(y, t, ne)


def perfect_uplift_curve(y_true: npt.ArrayLike, treatment: npt.ArrayLike) -> UpliftCurve:
    """The best uplift curve any ranking could reach (``sklift.metrics.perfect_uplift_curve``).

    Parameters
    ----------
    y_true : array_like of {0, 1}
        Observed binary outcome per row.
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.

    Returns
    -------
    UpliftCurve
        The uplift curve of the score ``2 * (y == t) + s``, where ``s = y`` if
        control responders outnumber treated non-responders and ``s = t``
        otherwise.

    Raises
    ------
    ValidationError
        As :func:`qini_curve`, or ``y_true`` not 0/1.

    Examples
    --------
    >>> perfect_uplift_curve([1, 0, 1, 0], [1, 0, 0, 1]).y.tolist()
    [0.0, 1.0, 2.0, 1.5, 0.0]
    """
    y, _, t = _columns_iv(y_true, None, treatment, binary_y=True)
    return _perfect_uplift(y, t)


def qini_auc_score(
    y_true: npt.ArrayLike,
    uplift: npt.ArrayLike,
    treatment: npt.ArrayLike,
    *,
    negative_effect: bool = True,
) -> float:
    """The Qini coefficient: the normalised area under the Qini curve (``sklift``'s).

    Parameters
    ----------
    y_true : array_like of {0, 1}
        Observed binary outcome per row.
    uplift : array_like of float
        Predicted uplift (only its order and ties matter).
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.
    negative_effect : bool
        Which perfect curve normalises (see :func:`perfect_qini_curve`).

    Returns
    -------
    float
        ``(A(qini) - A(line)) / (A(perfect) - A(line))``, trapezoidal areas,
        ``line`` from the origin to the perfect curve's end ``(n, R)``. 1 for
        the perfect ranking, about 0 for a random one.

    Raises
    ------
    ValidationError
        As :func:`perfect_qini_curve`, or when the perfect curve has no area
        above the line (the score is 0 / 0, e.g. ``y_true`` all 0).

    Notes
    -----
    Radcliffe, N. J. (2007). Using control groups to target on predicted
    lift: building and assessing uplift models. Direct Marketing Analytics
    Journal, 3, 14-21. The normalisation is scikit-uplift's (0.5.1), not
    causalml's; see ``docs/uplift.md``.

    Examples
    --------
    >>> y, t = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
    >>> round(qini_auc_score(y, [0.9, 0.8, 0.7, 0.4, 0.2, 0.1], t), 4)
    0.8462
    >>> qini_auc_score(y, [1, 0, 1, 0, 0, -1], t)  # treated responders first, control last
    1.0
    """
    ne = _negative_effect_iv(negative_effect)
    y, u, t = _columns_iv(y_true, uplift, treatment, binary_y=True)
    assert u is not None
    return _normalised(_qini(y, u, t), _perfect_qini(y, t, ne), "qini_auc_score")


def uplift_auc_score(
    y_true: npt.ArrayLike, uplift: npt.ArrayLike, treatment: npt.ArrayLike
) -> float:
    """The normalised area under the uplift curve (AUUC, ``sklift``'s ``uplift_auc_score``).

    Parameters
    ----------
    y_true : array_like of {0, 1}
        Observed binary outcome per row.
    uplift : array_like of float
        Predicted uplift (only its order and ties matter).
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.

    Returns
    -------
    float
        ``(A(uplift) - A(line)) / (A(perfect) - A(line))`` with
        :func:`perfect_uplift_curve` and ``line`` to its last point.

    Raises
    ------
    ValidationError
        As :func:`perfect_uplift_curve`, or when the perfect curve has no
        area above the line.

    Examples
    --------
    >>> y, t = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
    >>> uplift_auc_score(y, [0.9, 0.8, 0.7, 0.4, 0.2, 0.1], t)
    1.0
    >>> round(uplift_auc_score(y, [0.1, 0.2, 0.4, 0.7, 0.8, 0.9], t), 4)
    -1.0
    """
    y, u, t = _columns_iv(y_true, uplift, treatment, binary_y=True)
    assert u is not None
    return _normalised(_uplift(y, u, t), _perfect_uplift(y, t), "uplift_auc_score")


def _k_iv(k: Any, n: int) -> tuple[bool, float]:
    """``(is_fraction, k)``; a fraction in (0, 1] or a count in [1, n]."""
    if is_int(k):
        if not 1 <= int(k) <= n:
            raise ValidationError(
                f"k={k!r} as a count must be >= 1 and <= the {n} rows; pass a fraction in "
                "(0, 1] for a share",
                field="k",
            )
        return False, float(int(k))
    if is_real(k) and np.isfinite(float(k)) and 0 < float(k) <= 1:
        return True, float(k)
    raise ValidationError(
        f"k must be a fraction in (0, 1] (a float) or a count of rows (an int), got {k!r}",
        field="k",
    )


def uplift_at_k(
    y_true: npt.ArrayLike,
    uplift: npt.ArrayLike,
    treatment: npt.ArrayLike,
    strategy: Strategy,
    k: float | int = 0.3,
) -> float:
    """Treated minus control mean outcome among the top ``k`` by score (``sklift``'s).

    Parameters
    ----------
    y_true : array_like of float
        Observed outcome per row: 0/1 or any real number.
    uplift : array_like of float
        Predicted uplift; rows are ranked as scikit-uplift ranks them (ties:
        the later row first).
    treatment : array_like of {0, 1} or bool
        1 for treated rows, 0 for control rows; both must occur.
    strategy : {"overall", "by_group"}
        ``"overall"``: the top ``m`` rows of all, ``m = int(n * k)`` for a
        fraction (floored, as Python's ``int`` does) or ``k`` for a count;
        the difference of the treated and control means among them.
        ``"by_group"``: the top ``int(n_t * k)`` treated and top
        ``int(n_c * k)`` control rows (``k`` each for a count), ranked within
        their arm; the difference of their means.
    k : float or int
        A fraction in (0, 1] (float) or a number of rows (int, ``>= 1``).

    Returns
    -------
    float

    Raises
    ------
    ValidationError
        As :func:`qini_curve`; ``strategy`` unknown; ``k`` out of range; a
        count larger than an arm (``"by_group"``); or a selection with no
        treated or no control row (its mean would be undefined).

    Notes
    -----
    scikit-uplift refuses ``k = 1.0`` and ``k = n``; here they give the
    difference of means over all rows. Every other ``k`` gives its value.

    Examples
    --------
    >>> y, t = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
    >>> score = [0.9, 0.8, 0.7, 0.4, 0.2, 0.1]
    >>> uplift_at_k(y, score, t, "overall", k=0.5)  # top 3: two treated responders, one control
    1.0
    >>> uplift_at_k(y, score, t, "by_group", k=1.0)  # everyone: the difference of means
    0.3333333333333333
    """
    y, u, t = _columns_iv(y_true, uplift, treatment, binary_y=False)
    assert u is not None
    given: object = strategy
    if not isinstance(given, str) or given not in _STRATEGIES:
        raise ValidationError(
            f"strategy must be one of {_STRATEGIES}, got {strategy!r}", field="strategy"
        )
    n = y.size
    fraction, kk = _k_iv(k, n)
    order = _order(u)
    y, t = y[order], t[order]
    if strategy == "overall":
        m = int(n * kk) if fraction else int(kk)
        top_y, top_t = y[:m], t[:m]
        treated, control = top_y[top_t == 1], top_y[top_t == 0]
        where = f"the top {m} rows"
    else:
        n_t = int(t.sum())
        n_c = n - n_t
        m_t, m_c = (int(n_t * kk), int(n_c * kk)) if fraction else (int(kk), int(kk))
        if not fraction and (m_t > n_t or m_c > n_c):
            small, size = ("treated", n_t) if m_t > n_t else ("control", n_c)
            raise ValidationError(
                f"k={k!r} rows per arm exceeds the {size} {small} rows; pass a smaller k or "
                "a fraction",
                field="k",
            )
        treated, control = y[t == 1][:m_t], y[t == 0][:m_c]
        where = f"the top {m_t} treated and {m_c} control rows"
    if treated.size == 0 or control.size == 0:
        arm = "treated" if treated.size == 0 else "control"
        raise ValidationError(
            f"uplift_at_k is undefined: {where} (k={k!r}) hold no {arm} row; pass a larger k",
            field="k",
        )
    return float(treated.mean() - control.mean())
