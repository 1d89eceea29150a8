"""Uplift metrics (onetoone.uplift): scikit-uplift's figures on fixed inputs, hand cases,
properties and bad input.

``REFERENCE`` was computed by scikit-uplift 0.5.1 (scikit-learn 1.9.1, numpy 2.4.6) with
``benchmarks/uplift_reference.py``, which builds the same inputs (``make_cases``); rerun it
to regenerate. ``"error"`` marks a figure scikit-uplift refuses (it raises, or returns NaN
with a warning): onetoone raises a ValidationError there.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError
from onetoone.uplift import (
    UpliftCurve,
    perfect_qini_curve,
    perfect_uplift_curve,
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_curve,
)


def _reference_module() -> Any:
    name = "uplift_reference"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parents[1] / "benchmarks" / "uplift_reference.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ref = _reference_module()
CASES = ref.make_cases()

# fmt: off
REFERENCE: dict[str, dict[str, Any]] = {'random_n200': {'qini_auc': 0.07517277234914692,
                 'qini_auc_no_negative': 0.7742931488259329,
                 'uplift_auc': 0.1101748530439351,
                 'qini_curve': [1544.4308739179398, 201.0, 200.0, 8.876404494382022],
                 'perfect_qini_curve': [9624.719101123595, 4.0, 200.0, 8.876404494382022],
                 'uplift_curve': [2848.4975036775954, 201.0, 200.0, 15.99352161149914],
                 'perfect_uplift_curve': [12937.196578601073, 5.0, 200.0, 15.99352161149914],
                 'at_k/overall/0.1': 0.7916666666666666,
                 'at_k/overall/0.29': 0.36296296296296293,
                 'at_k/overall/0.3': 0.33035714285714285,
                 'at_k/overall/0.5': 0.16553480475382004,
                 'at_k/overall/5': 0.6666666666666667,
                 'at_k/by_group/0.1': 0.6931818181818182,
                 'at_k/by_group/0.3': 0.3205128205128205,
                 'at_k/by_group/0.5': 0.19545454545454544,
                 'at_k/by_group/3': 0.6666666666666667},
 'ties_n500': {'qini_auc': 0.20916118713777548,
               'qini_auc_no_negative': 0.5706638295855382,
               'uplift_auc': 0.1716084294219228,
               'qini_curve': [16786.665722259422, 55.0, 500.0, 44.168067226890756],
               'perfect_qini_curve': [38507.19327731092, 4.0, 500.0, 44.168067226890756],
               'uplift_curve': [31853.231266087132, 55.0, 500.0, 84.29020463147091],
               'perfect_uplift_curve': [83893.94136891398, 5.0, 500.0, 84.29020463147091],
               'at_k/overall/0.1': 0.2980769230769231,
               'at_k/overall/0.29': 0.3614389036924248,
               'at_k/overall/0.3': 0.3514957264957265,
               'at_k/overall/0.5': 0.27135872362326297,
               'at_k/overall/5': 'error',
               'at_k/by_group/0.1': 0.3411371237458194,
               'at_k/by_group/0.3': 0.3642109064644276,
               'at_k/by_group/0.5': 0.2762204118288537,
               'at_k/by_group/3': 0.3333333333333333},
 'three_levels_n100': {'qini_auc': -0.013662500900900874,
                       'qini_auc_no_negative': 'error',
                       'uplift_auc': -0.02815216476484553,
                       'qini_curve': [-179.20121345835628, 4.0, 100.0, -3.0612244897959187],
                       'perfect_qini_curve': [1760.204081632653, 4.0, 100.0, -3.0612244897959187],
                       'uplift_curve': [-381.3084240845424, 4.0, 100.0, -6.002400960384158],
                       'perfect_uplift_curve': [2583.7923169267706, 5.0, 100.0, -6.002400960384158],
                       'at_k/overall/0.1': 0.25,
                       'at_k/overall/0.29': -0.106951871657754,
                       'at_k/overall/0.3': -0.1111111111111111,
                       'at_k/overall/0.5': -0.0410509031198687,
                       'at_k/overall/5': 0.0,
                       'at_k/by_group/0.1': 0.2,
                       'at_k/by_group/0.3': -0.09999999999999998,
                       'at_k/by_group/0.5': -0.09999999999999998,
                       'at_k/by_group/3': 0.0},
 'all_positive_n150': {'qini_auc': -0.04734936051858613,
                       'qini_auc_no_negative': -0.4294686886209038,
                       'uplift_auc': -0.08228876112673617,
                       'qini_curve': [408.4195899936614, 151.0, 150.0, 9.126760563380273],
                       'perfect_qini_curve': [6515.366197183099, 4.0, 150.0, 9.126760563380273],
                       'uplift_curve': [821.4138914299594, 151.0, 150.0, 17.329292208949905],
                       'perfect_uplift_curve': [7111.94901051881, 5.0, 150.0, 17.329292208949905],
                       'at_k/overall/0.1': 0.0,
                       'at_k/overall/0.29': 0.036956521739130443,
                       'at_k/overall/0.3': 0.029999999999999916,
                       'at_k/overall/0.5': 0.06814921090387371,
                       'at_k/overall/5': 0.0,
                       'at_k/by_group/0.1': 0.0,
                       'at_k/by_group/0.3': 0.051759834368530044,
                       'at_k/by_group/0.5': 0.03443223443223442,
                       'at_k/by_group/3': 0.0},
 'negative_uplift_n300': {'qini_auc': 0.07139328634230459,
                          'qini_auc_no_negative': 'error',
                          'uplift_auc': 0.08788578011223863,
                          'qini_curve': [10.253085750795321, 301.0, 300.0, -8.24475524475524],
                          'perfect_qini_curve': [16229.444055944055, 4.0, 300.0, -8.24475524475524],
                          'uplift_curve': [-66.88622380895526, 301.0, 300.0, -15.754309384882637],
                          'perfect_uplift_curve': [23764.63195403323,
                                                   5.0,
                                                   300.0,
                                                   -15.754309384882637],
                          'at_k/overall/0.1': 0.0,
                          'at_k/overall/0.29': 0.09772727272727272,
                          'at_k/overall/0.3': 0.12759170653907492,
                          'at_k/overall/0.5': -0.018972186406336355,
                          'at_k/overall/5': 0.75,
                          'at_k/by_group/0.1': 0.17619047619047618,
                          'at_k/by_group/0.3': -0.0055724417426545325,
                          'at_k/by_group/0.5': 0.01859877211989891,
                          'at_k/by_group/3': 0.0},
 'unbalanced_n100': {'qini_auc': -0.08885487066350288,
                     'qini_auc_no_negative': -90.22610934894419,
                     'uplift_auc': -0.09235297595147317,
                     'qini_curve': [-53.744119718892215, 101.0, 100.0, 0.012048192771084487],
                     'perfect_qini_curve': [612.2349397590361, 4.0, 100.0, 0.012048192771084487],
                     'uplift_curve': [-321.59046552994386, 101.0, 100.0, 0.07087172218284699],
                     'perfect_uplift_curve': [3524.102055279943, 5.0, 100.0, 0.07087172218284699],
                     'at_k/overall/0.1': 0.09523809523809523,
                     'at_k/overall/0.29': -0.12121212121212122,
                     'at_k/overall/0.3': -0.08333333333333337,
                     'at_k/overall/0.5': -0.20238095238095238,
                     'at_k/overall/5': -0.5,
                     'at_k/by_group/0.1': -0.625,
                     'at_k/by_group/0.3': -0.016666666666666663,
                     'at_k/by_group/0.5': -0.2134146341463415,
                     'at_k/by_group/3': 0.3333333333333333},
 'small_n8': {'qini_auc': 0.5833333333333334,
              'qini_auc_no_negative': 'error',
              'uplift_auc': 0.8009259259259259,
              'qini_curve': [7.0, 6.0, 8.0, 0.0],
              'perfect_qini_curve': [12.0, 4.0, 8.0, 0.0],
              'uplift_curve': [14.416666666666666, 6.0, 8.0, 0.0],
              'perfect_uplift_curve': [18.0, 5.0, 8.0, 0.0],
              'at_k/overall/0.1': 'error',
              'at_k/overall/0.29': 'error',
              'at_k/overall/0.3': 'error',
              'at_k/overall/0.5': 0.5,
              'at_k/overall/5': 0.6666666666666666,
              'at_k/by_group/0.1': 'error',
              'at_k/by_group/0.3': 1.0,
              'at_k/by_group/0.5': 0.5,
              'at_k/by_group/3': 0.3333333333333333},
 'near_perfect_n10': {'qini_auc': 0.984375,
                      'qini_auc_no_negative': 'error',
                      'uplift_auc': 0.793452380952381,
                      'qini_curve': [15.75, 11.0, 10.0, 0.0],
                      'perfect_qini_curve': [16.0, 4.0, 10.0, 0.0],
                      'uplift_curve': [22.216666666666665, 11.0, 10.0, 0.0],
                      'perfect_uplift_curve': [27.999999999999996, 5.0, 10.0, 0.0],
                      'at_k/overall/0.1': 'error',
                      'at_k/overall/0.29': 'error',
                      'at_k/overall/0.3': 1.0,
                      'at_k/overall/0.5': 0.5,
                      'at_k/overall/5': 0.5,
                      'at_k/by_group/0.1': 'error',
                      'at_k/by_group/0.3': 1.0,
                      'at_k/by_group/0.5': 1.0,
                      'at_k/by_group/3': 0.6666666666666666}}
# fmt: on


def _curve(name: str, y: Any, u: Any, t: Any) -> UpliftCurve:
    if name == "qini_curve":
        return qini_curve(y, u, t)
    if name == "uplift_curve":
        return uplift_curve(y, u, t)
    if name == "perfect_qini_curve":
        return perfect_qini_curve(y, t)
    return perfect_uplift_curve(y, t)


def _score(key: str, y: Any, u: Any, t: Any) -> float:
    if key == "qini_auc":
        return qini_auc_score(y, u, t)
    if key == "qini_auc_no_negative":
        return qini_auc_score(y, u, t, negative_effect=False)
    if key == "uplift_auc":
        return uplift_auc_score(y, u, t)
    _, strategy, k = key.split("/")
    return uplift_at_k(y, u, t, strategy, k=float(k) if "." in k else int(k))  # type: ignore[arg-type]


_FIGURES = [(case, key) for case, figures in REFERENCE.items() for key in figures]


def test_reference_covers_the_generator() -> None:
    assert set(REFERENCE) == set(CASES)
    assert len(REFERENCE) == 8
    assert sum(v == "error" for f in REFERENCE.values() for v in f.values()) >= 10


@pytest.mark.parametrize(("case", "key"), _FIGURES, ids=[f"{c}-{k}" for c, k in _FIGURES])
def test_equals_scikit_uplift(case: str, key: str) -> None:
    y, u, t = CASES[case]
    expected = REFERENCE[case][key]
    if key.endswith("curve"):
        c = _curve(key, y, u, t)
        got = [float(np.trapezoid(c.y, c.x)), float(c.x.size), float(c.x[-1]), float(c.y[-1])]
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert c.area == pytest.approx(expected[0], rel=1e-12, abs=1e-12)
    elif expected == "error":
        with pytest.raises(ValidationError):
            _score(key, y, u, t)
    else:
        assert _score(key, y, u, t) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_max_abs_difference_is_zero() -> None:
    """Every figure (and every refusal) of the generator's comparison agrees to the bit."""
    assert ref.max_abs_difference(REFERENCE, ref.onetoone_figures()) == 0.0


# --------------------------------------------------------------------------- hand cases

Y4, S4, T4 = [1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1]


def test_qini_curve_by_hand() -> None:
    # ranked rows: (t=1, y=1), (t=0, y=0), (t=0, y=1), (t=1, y=0)
    # n=3: Y_t=1, Y_c=1, N_t=1, N_c=2 -> 1 - 1 * 1/2; n=4: 1 - 1 * 2/2
    c = qini_curve(Y4, S4, T4)
    assert c.x.tolist() == [0, 1, 2, 3, 4]
    assert c.y.tolist() == [0, 1, 1, 0.5, 0]


def test_uplift_curve_by_hand() -> None:
    # n=1: (1/1 - 0) * 1 (no control: its mean counts as 0); n=2: (1 - 0/1) * 2;
    # n=3: (1 - 1/2) * 3; n=4: (1/2 - 1/2) * 4
    assert uplift_curve(Y4, S4, T4).y.tolist() == [0, 1, 2, 1.5, 0]


def test_ties_give_one_point_per_distinct_score() -> None:
    c = qini_curve([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.2], [1, 0, 0, 1])
    assert c.x.tolist() == [0, 2, 4]
    # first block: Y_t=1, Y_c=0 -> 1; all: 1 - 1 * 2/2
    assert c.y.tolist() == [0, 1, 0]


def test_perfect_curves_by_hand() -> None:
    # perfect Qini score y*t - y*(1-t): [1, 0, -1, 0] -> blocks {0}, {1, 3}, {2}
    p = perfect_qini_curve(Y4, T4)
    assert p.x.tolist() == [0, 1, 3, 4]
    assert p.y.tolist() == [0, 1, 1, 0]
    # R = Y_t - N_t * Y_c / N_c = 1 - 2 * 1/2 = 0
    q = perfect_qini_curve(Y4, T4, negative_effect=False)
    assert q.x.tolist() == [0, 0, 4] and q.y.tolist() == [0, 0, 0]
    # control responders (1) > treated non-responders (1)? no -> s = t: 2*(y==t)+t = [3, 2, 0, 1]
    assert perfect_uplift_curve(Y4, T4).y.tolist() == uplift_curve(Y4, [3, 2, 0, 1], T4).y.tolist()


def test_qini_auc_by_hand() -> None:
    y, t = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0]
    # qini at n = 0..6: 0, 1, 1, 2, 2, 2, 1; trapezoids .5 + 1 + 1.5 + 2 + 2 + 1.5 = 8.5
    c = qini_curve(y, [6, 5, 4, 3, 2, 1], t)
    assert c.y.tolist() == [0, 1, 1, 2, 2, 2, 1]
    assert c.area == 8.5
    p = perfect_qini_curve(y, t)  # score [1, 0, 1, 0, 0, -1]: blocks {0, 2}, {1, 3, 4}, {5}
    assert p.x.tolist() == [0, 2, 5, 6] and p.y.tolist() == [0, 2, 2, 1]
    # line to (6, 1): area 3; perfect 2 + 6 + 1.5 = 9.5
    assert qini_auc_score(y, [6, 5, 4, 3, 2, 1], t) == (8.5 - 3) / (9.5 - 3)


def test_uplift_at_k_by_hand() -> None:
    y, t, s = [1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0], [6, 5, 4, 3, 2, 1]
    assert uplift_at_k(y, s, t, "overall", k=3) == 1.0  # treated (1, 1), control (0)
    assert uplift_at_k(y, s, t, "overall", k=4) == 1.0  # treated (1, 1), control (0, 0)
    assert uplift_at_k(y, s, t, "by_group", k=1) == 1.0 - 0.0
    assert uplift_at_k(y, s, t, "by_group", k=3) == pytest.approx(2 / 3 - 1 / 3)
    assert uplift_at_k(y, s, t, "overall", k=1.0) == pytest.approx(2 / 3 - 1 / 3)


def test_uplift_at_k_ties_put_the_later_row_first() -> None:
    # scikit-uplift's order: argsort(mergesort)[::-1]; among equal scores the last row leads
    y, t, s = [1, 0, 0, 1], [1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5]
    # ranked rows: 3 (c, 1), 2 (c, 0), 1 (t, 0), 0 (t, 1)
    assert uplift_at_k(y, s, t, "overall", k=3) == 0.0 - 0.5
    assert uplift_at_k(y, s, t, "by_group", k=1) == 0.0 - 1.0


def test_fraction_k_is_floored_like_python_int() -> None:
    # 100 * 0.29 == 28.999999999999996: 28 rows, as scikit-uplift takes
    y = np.tile([1, 0], 50)
    t = np.repeat([1, 0], 50)[np.argsort(np.arange(100) % 3, kind="stable")]
    s = -np.arange(100.0)
    assert uplift_at_k(y, s, t, "overall", k=0.29) == uplift_at_k(y, s, t, "overall", k=28)
    assert uplift_at_k(y, s, t, "overall", k=0.29) != uplift_at_k(y, s, t, "overall", k=29)


def test_continuous_outcome_curves() -> None:
    spend = [10.0, 0.0, 4.0, 2.0]
    c = qini_curve(spend, S4, T4)
    assert c.y.tolist() == [0, 10, 10, 10 - 4 * 1 / 2, 12 - 4 * 2 / 2]
    assert uplift_at_k(spend, S4, T4, "overall", k=1.0) == 6.0 - 2.0


def test_accepts_booleans_and_lists() -> None:
    a = qini_auc_score(np.array(Y4, bool), S4, np.array(T4, bool))
    assert a == qini_auc_score(Y4, S4, T4)


def test_curve_is_read_only_and_frozen() -> None:
    c = qini_curve(Y4, S4, T4)
    assert not c.x.flags.writeable and not c.y.flags.writeable
    with pytest.raises(AttributeError):
        c.x = c.y  # type: ignore[misc]


# --------------------------------------------------------------------------- properties

_arms = st.integers(4, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(-6, 6), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda t: 0 < sum(t) < len(t)),
    )
)


@settings(max_examples=150, deadline=None)
@given(_arms)
def test_monotone_transform_changes_nothing(data: tuple[list[int], list[int], list[int]]) -> None:
    y, s, t = data
    u = np.array(s, dtype=np.float64)
    f = u**3 + 5 * u - 7  # strictly increasing, exact on these integers: ties kept
    for curve in (qini_curve, uplift_curve):
        a, b = curve(y, u, t), curve(y, f, t)
        assert a.x.tolist() == b.x.tolist() and a.y.tolist() == b.y.tolist()
    for strategy in ("overall", "by_group"):
        for k in (0.5, 1.0, 2):
            try:
                expected = uplift_at_k(y, u, t, strategy, k=k)
            except ValidationError:
                with pytest.raises(ValidationError):
                    uplift_at_k(y, f, t, strategy, k=k)
                continue
            assert uplift_at_k(y, f, t, strategy, k=k) == expected


@settings(max_examples=150, deadline=None)
@given(_arms, st.randoms(use_true_random=False))
def test_row_order_does_not_change_curves(
    data: tuple[list[int], list[int], list[int]], rnd: Any
) -> None:
    y, s, t = data
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a = qini_curve(y, s, t)
    b = qini_curve(*(np.asarray(v)[perm] for v in (y, s, t)))
    assert a.x.tolist() == b.x.tolist()
    np.testing.assert_allclose(a.y, b.y, rtol=0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(_arms)
def test_perfect_qini_bounds_every_ranking(data: tuple[list[int], list[int], list[int]]) -> None:
    y, s, t = data
    c, p = qini_curve(y, s, t), perfect_qini_curve(y, t)
    # Q(n) <= Y_t(n) <= all treated responders = the perfect curve's peak
    assert c.y.max() <= p.y.max() + 1e-12
    assert c.y[-1] == pytest.approx(p.y[-1], abs=1e-12)
    # the perfect ranking's own score is 1
    yy, tt = np.asarray(y), np.asarray(t)
    if p.area != np.trapezoid([0, p.y[-1]], [0, p.x[-1]]):
        assert qini_auc_score(y, yy * tt - yy * (1 - tt), t) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(_arms)
def test_curve_ends_at_the_overall_effect(data: tuple[list[int], list[int], list[int]]) -> None:
    y, s, t = data
    yy, tt = np.asarray(y, float), np.asarray(t)
    diff = yy[tt == 1].mean() - yy[tt == 0].mean()
    assert uplift_curve(y, s, t).y[-1] == pytest.approx(diff * len(y), abs=1e-9)
    assert qini_curve(y, s, t).y[-1] == pytest.approx(diff * tt.sum(), abs=1e-9)
    assert uplift_at_k(y, s, t, "overall", k=1.0) == pytest.approx(diff, abs=1e-12)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"uplift": [0.1, 0.2, 0.3]},
            LengthMismatchError,
            r"uplift has 3 entries but y_true has 4; one per row",
        ),
        (
            {"treatment": [1, 0, 1]},
            LengthMismatchError,
            r"treatment has 3 entries but y_true has 4",
        ),
        (
            {"y_true": [1, np.nan, 0, 0]},
            ValidationError,
            r"y_true has 1 missing or infinite values \(first at row 1: NaN\); drop or impute",
        ),
        (
            {"uplift": [0.1, 0.2, np.inf, np.nan]},
            ValidationError,
            r"uplift has 2 missing or infinite values \(first at row 2: infinite\)",
        ),
        (
            {"treatment": [1, 0, 2, 0]},
            ValidationError,
            r"treatment must hold only 0 and 1, got np.int64\(2\) at row 2; pass 1 for treated",
        ),
        (
            {"treatment": [1, 0, np.nan, 0]},
            ValidationError,
            r"treatment has 1 missing or infinite values",
        ),
        (
            {"treatment": ["a", "b", "a", "b"]},
            ValidationError,
            r"treatment must be 0/1 numbers or booleans, got dtype <U1",
        ),
        (
            {"treatment": [1, 1, 1, 1]},
            ValidationError,
            r"treatment has no control row \(all 4 rows are treated\); uplift needs both arms",
        ),
        (
            {"treatment": [0, 0, 0, 0]},
            ValidationError,
            r"treatment has no treated row \(all 4 rows are control\)",
        ),
        (
            {"y_true": [], "uplift": [], "treatment": []},
            EmptyInputError,
            r"y_true is empty; pass at least one row",
        ),
        (
            {"y_true": [[1, 0], [0, 1]]},
            ValidationError,
            r"y_true must be one-dimensional, got shape \(2, 2\)",
        ),
        ({"uplift": "high"}, ValidationError, r"uplift must be an array or list"),
    ],
)
def test_bad_columns(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args = {"y_true": Y4, "uplift": S4, "treatment": T4, **kwargs}
    with pytest.raises(error, match=match) as info:
        qini_curve(**args)
    assert isinstance(info.value, ValidationError)
    assert info.value.field == next(iter(kwargs))


def test_scores_need_a_binary_outcome() -> None:
    with pytest.raises(
        ValidationError, match=r"y_true must hold only 0 and 1, got np.float64\(2.5\)"
    ):
        qini_auc_score([1, 0, 2.5, 0], S4, T4)
    with pytest.raises(ValidationError, match=r"y_true must hold only 0 and 1"):
        uplift_auc_score([1, 0, 2.5, 0], S4, T4)
    with pytest.raises(ValidationError, match=r"y_true must hold only 0 and 1"):
        perfect_uplift_curve([1, 0, 3, 0], T4)


def test_undefined_score_is_refused() -> None:
    with pytest.raises(
        ValidationError,
        match=r"qini_auc_score is undefined on this data: the "
        r"perfect curve has no area above the random line",
    ):
        qini_auc_score([0, 0, 0, 0], S4, T4)
    with pytest.raises(ValidationError, match=r"uplift_auc_score is undefined"):
        uplift_auc_score([0, 0, 0, 0], S4, T4)


def test_negative_effect_iv() -> None:
    with pytest.raises(ValidationError, match=r"negative_effect must be True or False, got 1"):
        qini_auc_score(Y4, S4, T4, negative_effect=1)  # type: ignore[arg-type]
    # treated respond less than control: R = 0 - 2 * 2/2 < 0
    with pytest.raises(
        ValidationError,
        match=r"negative_effect=False needs a non-negative "
        r"overall effect, but the treated responders minus the scaled control "
        r"responders are -2 .*; use negative_effect=True",
    ):
        perfect_qini_curve([0, 1, 1, 0], [1, 0, 0, 1], negative_effect=False)


@pytest.mark.parametrize(
    ("strategy", "k", "match"),
    [
        ("top", 0.3, r"strategy must be one of \('overall', 'by_group'\), got 'top'"),
        ("overall", 0, r"k=0 as a count must be >= 1 and <= the 4 rows"),
        ("overall", 5, r"k=5 as a count must be >= 1 and <= the 4 rows"),
        (
            "overall",
            0.0,
            r"k must be a fraction in \(0, 1\] \(a float\) or a count of rows "
            r"\(an int\), got 0.0",
        ),
        ("overall", 1.5, r"k must be a fraction in \(0, 1\]"),
        ("overall", 3.0, r"k must be a fraction in \(0, 1\]"),
        ("overall", True, r"k must be a fraction in \(0, 1\] .*got True"),
        ("overall", float("nan"), r"k must be a fraction"),
        ("overall", "0.3", r"k must be a fraction"),
        ("by_group", 3, r"k=3 rows per arm exceeds the 2 treated rows; pass a smaller k"),
        (
            "overall",
            0.25,
            r"uplift_at_k is undefined: the top 1 rows \(k=0.25\) hold no "
            r"control row; pass a larger k",
        ),
        ("by_group", 0.4, r"uplift_at_k is undefined: the top 0 treated and 0 control rows"),
    ],
)
def test_uplift_at_k_iv(strategy: Any, k: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        uplift_at_k(Y4, S4, T4, strategy, k=k)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([0, 1], [0, 1, 2], r"UpliftCurve needs x and y of one length >= 2, got 2 and 3"),
        ([0], [0], r"UpliftCurve needs x and y of one length >= 2"),
        ([1, 2], [0, 1], r"UpliftCurve must start at \(0, 0\) with x non-decreasing"),
        ([0, 2, 1], [0, 1, 1], r"UpliftCurve must start at \(0, 0\) with x non-decreasing"),
        ([0, np.nan], [0, 1], r"UpliftCurve.x must be finite"),
        ([[0, 1]], [0, 1], r"UpliftCurve.x must be one-dimensional, got shape \(1, 2\)"),
    ],
)
def test_upliftcurve_validates(x: Any, y: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        UpliftCurve(x, y)
