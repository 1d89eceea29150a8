"""scikit-uplift's metrics on fixed inputs: the figures pinned in tests/test_uplift_metrics.py.

Run (scikit-uplift is not a dependency of onetoone; use a throwaway environment):

    python3 -m venv /tmp/sklift-venv
    /tmp/sklift-venv/bin/pip install scikit-uplift scikit-learn pandas
    PYTHONPATH=src /tmp/sklift-venv/bin/python benchmarks/uplift_reference.py

It prints the machine line, then ``REFERENCE = {...}``: per case, scikit-uplift's
``qini_auc_score`` (``negative_effect`` True and False), ``uplift_auc_score``, the
trapezoidal areas, lengths and last points of its four curves, and ``uplift_at_k``
for both strategies at several ``k``. A value scikit-uplift refuses (it raises, or
returns NaN with a warning) is written as the string ``"error"``. Paste the dict
into the test after a deliberate change. With onetoone importable it also prints
the largest absolute difference between onetoone's figures and these.

The inputs (:func:`make_cases`) use numpy only, so the test builds the same arrays.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

#: ``uplift_at_k`` settings computed for every case: (strategy, k).
K_SETTINGS: tuple[tuple[str, float | int], ...] = (
    ("overall", 0.1),
    ("overall", 0.29),  # int(100 * 0.29) == 28: the floor of a float product, as sklift
    ("overall", 0.3),
    ("overall", 0.5),
    ("overall", 5),
    ("by_group", 0.1),
    ("by_group", 0.3),
    ("by_group", 0.5),
    ("by_group", 3),
)


def make_cases() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``name -> (y_true, uplift, treatment)``: fixed inputs, from seeds or written out."""
    cases: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    rng = np.random.default_rng(0)  # random scores, no ties
    n = 200
    t = rng.integers(0, 2, n)
    cases["random_n200"] = (rng.integers(0, 2, n), rng.random(n), t)

    rng = np.random.default_rng(1)  # an informative score with many ties (one decimal)
    n = 500
    x = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    true_uplift = 0.3 * (x > 0)
    y = (rng.random(n) < 0.2 + true_uplift * t).astype(int)
    cases["ties_n500"] = (y, np.round(x + rng.normal(scale=0.5, size=n), 1), t)

    rng = np.random.default_rng(2)  # three score levels: heavy ties
    n = 100
    t = rng.integers(0, 2, n)
    cases["three_levels_n100"] = (rng.integers(0, 2, n), rng.integers(0, 3, n).astype(float), t)

    rng = np.random.default_rng(3)  # every score positive, most rows respond
    n = 150
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.85 + 0.1 * t).astype(int)
    cases["all_positive_n150"] = (y, rng.random(n) + 0.5, t)

    rng = np.random.default_rng(4)  # the offer puts customers off; the score sees it
    n = 300
    x = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.5 - 0.3 * t * (x < 0)).astype(int)
    cases["negative_uplift_n300"] = (y, x + rng.normal(scale=0.3, size=n), t)

    rng = np.random.default_rng(5)  # unbalanced arms (20 % treated)
    n = 100
    t = (rng.random(n) < 0.2).astype(int)
    cases["unbalanced_n100"] = (rng.integers(0, 2, n), rng.normal(size=n), t)

    cases["small_n8"] = (  # written out
        np.array([1, 0, 1, 1, 0, 0, 1, 0]),
        np.array([0.8, 0.8, 0.5, 0.2, 0.2, 0.9, -0.1, 0.5]),
        np.array([1, 0, 1, 0, 1, 0, 0, 1]),
    )
    cases["near_perfect_n10"] = (  # treated responders first, control responders last
        np.array([1, 1, 0, 0, 0, 1, 0, 1, 0, 0]),
        np.array([9.0, 8.0, 1.0, 2.0, 3.0, 0.0, 4.0, -1.0, 5.0, 6.0]),
        np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 0]),
    )
    return cases


def _sklift_value(fn: Any, *args: Any, **kwargs: Any) -> float | str:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            v = float(fn(*args, **kwargs))
        except (ValueError, RuntimeWarning, ZeroDivisionError):
            return "error"
    return "error" if math.isnan(v) else v


def _curve_summary(x: np.ndarray, y: np.ndarray) -> list[float]:
    """``[area, points, last x, last y]`` of a curve."""
    return [float(np.trapezoid(y, x)), float(len(x)), float(x[-1]), float(y[-1])]


def sklift_reference() -> dict[str, dict[str, Any]]:
    """scikit-uplift's figures for every case of :func:`make_cases`."""
    from sklift import metrics as m

    out: dict[str, dict[str, Any]] = {}
    for name, (y, u, t) in make_cases().items():
        r: dict[str, Any] = {
            "qini_auc": _sklift_value(m.qini_auc_score, y, u, t),
            "qini_auc_no_negative": _sklift_value(m.qini_auc_score, y, u, t, negative_effect=False),
            "uplift_auc": _sklift_value(m.uplift_auc_score, y, u, t),
            "qini_curve": _curve_summary(*m.qini_curve(y, u, t)),
            "perfect_qini_curve": _curve_summary(*m.perfect_qini_curve(y, t)),
            "uplift_curve": _curve_summary(*m.uplift_curve(y, u, t)),
            "perfect_uplift_curve": _curve_summary(*m.perfect_uplift_curve(y, t)),
        }
        for strategy, k in K_SETTINGS:
            r[f"at_k/{strategy}/{k!r}"] = _sklift_value(m.uplift_at_k, y, u, t, strategy, k=k)
        out[name] = r
    return out


def onetoone_figures() -> dict[str, dict[str, Any]]:
    """The same figures from :mod:`onetoone.uplift` (``"error"`` where it raises)."""
    from onetoone import uplift as o
    from onetoone.errors import ValidationError

    def value(fn: Any, *args: Any, **kwargs: Any) -> float | str:
        try:
            return float(fn(*args, **kwargs))
        except ValidationError:
            return "error"

    out: dict[str, dict[str, Any]] = {}
    for name, (y, u, t) in make_cases().items():
        r: dict[str, Any] = {
            "qini_auc": value(o.qini_auc_score, y, u, t),
            "qini_auc_no_negative": value(o.qini_auc_score, y, u, t, negative_effect=False),
            "uplift_auc": value(o.uplift_auc_score, y, u, t),
            "qini_curve": _curve_summary(*_xy(o.qini_curve(y, u, t))),
            "perfect_qini_curve": _curve_summary(*_xy(o.perfect_qini_curve(y, t))),
            "uplift_curve": _curve_summary(*_xy(o.uplift_curve(y, u, t))),
            "perfect_uplift_curve": _curve_summary(*_xy(o.perfect_uplift_curve(y, t))),
        }
        for strategy, k in K_SETTINGS:
            r[f"at_k/{strategy}/{k!r}"] = value(o.uplift_at_k, y, u, t, strategy, k=k)
        out[name] = r
    return out


def _xy(curve: Any) -> tuple[np.ndarray, np.ndarray]:
    return curve.x, curve.y


def max_abs_difference(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> float:
    """Largest absolute difference over every figure; ``inf`` if one side errs alone."""
    worst = 0.0
    for case, figures in a.items():
        for key, va in figures.items():
            vb = b[case][key]
            pairs = zip(va, vb, strict=True) if isinstance(va, list) else [(va, vb)]
            for p, q in pairs:
                if isinstance(p, str) or isinstance(q, str):
                    worst = worst if p == q else math.inf
                else:
                    worst = max(worst, abs(p - q))
    return worst


def main() -> None:
    import pprint

    try:
        from _machine import machine_line

        print(machine_line(("numpy", "scikit-uplift", "scikit-learn")))
    except ImportError:
        pass
    ref = sklift_reference()
    print("REFERENCE = ", end="")
    pprint.pprint(ref, width=100, sort_dicts=False)
    try:
        mine = onetoone_figures()
    except ImportError:
        print("onetoone not importable (set PYTHONPATH=src): no comparison")
        return
    print(f"max |onetoone - scikit-uplift| over every figure: {max_abs_difference(ref, mine):.3g}")


if __name__ == "__main__":
    main()
