"""Uplift learners: base models, known-answer recovery, determinism, bad input, files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit

from _uplift_data import binary_data as _binary
from _uplift_data import continuous_data as _continuous
from _uplift_data import small_data as _small
from onetoone._linear import fit_logistic, fit_ridge
from onetoone._persist import load_npz, save_npz
from onetoone.errors import EmptyInputError, FormatError, LengthMismatchError, ValidationError
from onetoone.uplift import UpliftModel, fit_uplift, load_uplift, save_uplift
from onetoone.uplift._io import _FIELDS, _MEMBERS, FORMAT_VERSION


# --------------------------------------------------------------------------- data
# --------------------------------------------------------------------------- base learners
def test_logistic_matches_a_generic_optimiser_with_weights() -> None:
    rng = np.random.default_rng(3)
    n, p = 3000, 4
    x = rng.normal(size=(n, p)) * [1.0, 10.0, 0.1, 1.0] + [0.0, 5.0, 0.0, 0.0]
    y = (rng.random(n) < expit(0.3 + x @ [1.0, 0.1, 2.0, -0.5])).astype(np.float64)
    w = rng.uniform(0.2, 3.0, n)
    fit = fit_logistic(x, y, l2=2.0, sample_weight=w)
    mean = (w @ x) / w.sum()
    sd = np.sqrt((w @ (x - mean) ** 2) / w.sum())
    z = (x - mean) / sd

    def objective(t: np.ndarray) -> float:
        eta = t[0] + z @ t[1:]
        return float(w @ (np.logaddexp(0.0, eta) - y * eta) + 1.0 * t[1:] @ t[1:])

    ref = minimize(objective, np.zeros(p + 1), method="BFGS", options={"gtol": 1e-9}).x
    coef = ref[1:] / sd
    assert fit.converged and fit.n_iter < 20
    np.testing.assert_allclose(fit.coef, coef, rtol=1e-5, atol=1e-7)
    assert fit.intercept == pytest.approx(ref[0] - coef @ mean, abs=1e-6)


def test_ridge_matches_augmented_least_squares() -> None:
    rng = np.random.default_rng(4)
    n, p, l2 = 500, 3, 7.0
    x = rng.normal(size=(n, p)) * [1.0, 3.0, 0.5]
    y = x @ [1.0, -2.0, 0.5] + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    fit = fit_ridge(x, y, l2=l2, sample_weight=w)
    mean = (w @ x) / w.sum()
    sd = np.sqrt((w @ (x - mean) ** 2) / w.sum())
    z = (x - mean) / sd
    # min sum w (y - b0 - z beta)^2 + l2 |beta|^2 as one least-squares problem
    a = np.vstack(
        [np.sqrt(w)[:, None] * np.c_[np.ones(n), z], np.c_[np.zeros(p), np.sqrt(l2) * np.eye(p)]]
    )
    b = np.r_[np.sqrt(w) * y, np.zeros(p)]
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(fit.coef, sol[1:] / sd, rtol=1e-9)
    assert fit.intercept == pytest.approx(sol[0] - (sol[1:] / sd) @ mean, rel=1e-9)


def test_constant_feature_gets_zero_coefficient() -> None:
    x = np.c_[np.arange(6.0), np.full(6, 3.0)]
    fit = fit_logistic(x, np.array([0, 0, 1, 0, 1, 1.0]), l2=1.0)
    assert fit.converged and fit.coef[1] == 0.0
    assert fit_ridge(x, np.arange(6.0), l2=0.0).coef[1] == 0.0


def test_logistic_reports_non_convergence() -> None:
    d = _binary(2000)
    fit = fit_logistic(d["x"], d["y"], l2=1.0, max_iter=1)
    assert not fit.converged and fit.n_iter == 1
    m = fit_uplift(d["x"], d["arm"], d["y"], max_iter=1)
    assert not m.converged
    assert fit_uplift(d["x"], d["arm"], d["y"]).converged


# --------------------------------------------------------------------------- known answers
def test_integer_treatments_keep_their_sorted_order_and_zero_is_control() -> None:
    d = _binary(n=4000, n_t=2, seed=2)
    arm = np.array([0, 7, 3])[d["arm"]]
    m = fit_uplift(d["x"], arm, d["y"])
    assert m.control == 0 and m.treatments == (3, 7)
    assert m.arm_counts is not None
    assert m.arm_counts.tolist() == [int((arm == a).sum()) for a in (0, 3, 7)]
    m2 = fit_uplift(d["x"], arm, d["y"], control=7)
    assert m2.arms == (7, 0, 3)


def test_t_learner_effect_is_the_difference_of_its_outcome_models() -> None:
    d = _binary(n=3000, n_t=2)
    m = fit_uplift(d["x"], d["arm"], d["y"])
    out = m.predict_outcomes(d["x"])
    np.testing.assert_array_equal(m.predict(d["x"]), np.c_[out[1] - out[0], out[2] - out[0]])


def test_known_constant_propensity_gives_the_same_dr_model_as_shares() -> None:
    d = _binary(n=6000)
    share = np.bincount(d["arm"])[d["arm"]] / len(d["arm"])
    a = fit_uplift(d["x"], d["arm"], d["y"], method="dr", random_state=3)
    b = fit_uplift(d["x"], d["arm"], d["y"], method="dr", propensity=share, random_state=3)
    np.testing.assert_array_equal(a.effect_coef, b.effect_coef)
    c = fit_uplift(
        d["x"], d["arm"], d["y"], method="dr", propensity=np.full(6000, 0.5), random_state=3
    )
    assert c.effect_coef is not None and a.effect_coef is not None
    np.testing.assert_allclose(c.effect_coef, a.effect_coef, atol=0.02)


def test_zero_features_estimate_the_average_effect() -> None:
    d = _continuous(n=2000)
    m = fit_uplift(np.empty((2000, 0)), d["arm"], d["y"], method="x")
    diff = d["y"][d["arm"] == 1].mean() - d["y"][d["arm"] == 0].mean()
    assert m.n_features == 0
    assert m.predict(np.empty((2, 0))).tolist() == pytest.approx([diff, diff])


# --------------------------------------------------------------------------- determinism
def test_dr_fold_seeds_change_the_model_only_slightly() -> None:
    d = _binary()
    a = fit_uplift(d["x"], d["arm"], d["y"], method="dr", random_state=1)
    b = fit_uplift(d["x"], d["arm"], d["y"], method="dr", random_state=2)
    assert a.effect_coef is not None and b.effect_coef is not None
    assert not np.array_equal(a.effect_coef, b.effect_coef)
    np.testing.assert_allclose(a.effect_coef, b.effect_coef, atol=0.01)
    assert np.abs(a.predict(d["x"]) - b.predict(d["x"])).max() < 0.02
    # a Generator is a seed too
    c = fit_uplift(d["x"], d["arm"], d["y"], method="dr", random_state=np.random.default_rng(1))
    np.testing.assert_array_equal(a.effect_coef, c.effect_coef)


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-100, 100), seed=st.integers(0, 2**16))
def test_shifting_a_continuous_outcome_leaves_effects_unchanged(shift: float, seed: int) -> None:
    d = _continuous(n=300, seed=seed)
    a = fit_uplift(d["x"], d["arm"], d["y"], method="x")
    b = fit_uplift(d["x"], d["arm"], d["y"] + shift, method="x")
    np.testing.assert_allclose(a.predict(d["x"]), b.predict(d["x"]), atol=1e-8)


# --------------------------------------------------------------------------- bad input
BAD: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("one arm", {"arm": np.zeros(200, int)}, ValidationError, r"treatment has only one arm \(0\)"),
    (
        "one labelled arm",
        {"arm": np.full(200, "a"), "control": "a"},
        ValidationError,
        "treatment has only one arm",
    ),
    (
        "propensity 0",
        {"propensity": np.r_[0.0, np.full(199, 0.5)]},
        ValidationError,
        r"propensity must lie strictly between 0 and 1 .* got 0.0 at row 0",
    ),
    (
        "propensity 1",
        {"propensity": np.r_[np.full(199, 0.5), 1.0]},
        ValidationError,
        "got 1.0 at row 199",
    ),
    (
        "propensity NaN",
        {"propensity": np.r_[0.5, np.nan, np.full(198, 0.5)]},
        ValidationError,
        "got nan at row 1",
    ),
    (
        "propensity length",
        {"propensity": np.full(10, 0.5)},
        LengthMismatchError,
        "propensity has 10 entries but X has 200",
    ),
    (
        "outcome NaN",
        {"y": np.r_[np.nan, np.zeros(199)]},
        ValidationError,
        r"outcome holds NaN or infinite values \(1 rows, first at row 0\)",
    ),
    (
        "X NaN",
        {"x": np.where(np.arange(600).reshape(200, 3) == 7, np.nan, 1.0)},
        ValidationError,
        r"X holds NaN or infinite values \(1 cells, first at row 2, column 1\)",
    ),
    ("X inf", {"x": np.full((200, 3), np.inf)}, ValidationError, "X holds NaN or infinite"),
    (
        "X 1-D",
        {"x": np.zeros(200)},
        ValidationError,
        r"X must be a 2-D array .*x\.reshape\(-1, 1\)",
    ),
    ("X strings", {"x": np.full((200, 1), "a")}, ValidationError, "X must be numeric"),
    ("X empty", {"x": np.zeros((0, 3)), "arm": [], "y": []}, EmptyInputError, "X has no rows"),
    (
        "treatment length",
        {"arm": np.zeros(5, int)},
        LengthMismatchError,
        "treatment has 5 entries but X has 200",
    ),
    (
        "outcome length",
        {"y": np.zeros(201)},
        LengthMismatchError,
        "outcome has 201 entries but X has 200",
    ),
    (
        "binary not 0/1",
        {"y": np.r_[2.5, np.zeros(99), np.ones(100)], "outcome_type": "binary"},
        ValidationError,
        r'outcome_type="binary" needs outcomes 0 or 1, got 2.5 at row 0',
    ),
    (
        "binary constant in an arm",
        {
            "arm": np.r_[np.zeros(100, int), np.ones(100, int)],
            "y": np.r_[np.zeros(100), np.arange(100) % 2],
        },
        ValidationError,
        "outcome is 0 for every row of arm 0",
    ),
    (
        "string labels without control",
        {"arm": np.full(200, "a")},
        ValidationError,
        r"treatment holds string labels \['a'\]; name the control arm with control=",
    ),
    ("control absent", {"control": 5}, ValidationError, r"control=5 is not an arm of treatment"),
    ("control of another type", {"control": "0"}, ValidationError, "control='0' is not an arm"),
    (
        "float treatment",
        {"arm": np.full(200, 0.5)},
        ValidationError,
        "treatment must hold integer or string arm labels",
    ),
    ("method", {"method": "q"}, ValidationError, r"method must be one of \['s', 't', 'dr', 'x'\]"),
    ("outcome_type", {"outcome_type": "count"}, ValidationError, "outcome_type must be one of"),
    ("l2", {"l2": -1.0}, ValidationError, "l2 must be a finite number >= 0"),
    ("n_folds", {"n_folds": 1}, ValidationError, "n_folds must be an int >= 2"),
    ("random_state", {"random_state": "x"}, ValidationError, "random_state must be an int"),
    (
        "dr with a one-row stratum",
        {
            "method": "dr",
            "arm": np.r_[np.zeros(198, int), 1, 1],
            "y": np.r_[np.arange(198) % 2, 0.0, 1.0],
        },
        ValidationError,
        "outcome 0 in arm 1 has one row; cross-fitting needs at least 2",
    ),
]


@pytest.mark.parametrize(("case", "change", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_typed_error(
    case: str, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    args = {**_small(), **change}
    kw = {k: v for k, v in args.items() if k not in ("x", "arm", "y")}
    with pytest.raises(error, match=message):
        fit_uplift(args["x"], args["arm"], args["y"], **kw)


def test_predict_checks_its_features() -> None:
    d = _small()
    m = fit_uplift(d["x"], d["arm"], d["y"])
    with pytest.raises(
        ValidationError, match="X has 2 feature columns but the model was fitted on 3"
    ):
        m.predict(np.zeros((4, 2)))
    with pytest.raises(ValidationError, match="X holds NaN"):
        m.predict_outcomes(np.full((1, 3), np.nan))


def test_model_validates_itself() -> None:
    good: dict[str, Any] = {
        "method": "t",
        "outcome_type": "binary",
        "control": 0,
        "treatments": (1,),
        "outcome_intercept": [0.0, 0.0],
        "outcome_coef": [[0.0], [0.0]],
    }
    UpliftModel(**good)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"method": "q"}, "method must be one of"),
        ({"treatments": ()}, "treatments must name at least one"),
        ({"treatments": (0,)}, "must be distinct labels"),
        ({"treatments": ("a",)}, "of one type"),
        ({"outcome_intercept": [0.0]}, r"outcome_intercept has shape \(1,\), expected \(2,\)"),
        ({"outcome_coef": [[0.0], [np.nan]]}, "outcome_coef holds NaN"),
        ({"effect_intercept": [0.0], "effect_coef": [[0.0]]}, "only for them"),
        ({"method": "dr"}, "must be given for methods 'dr' and 'x'"),
        ({"arm_counts": [3, 0]}, "arm_counts must be 2 positive counts"),
    ]
    for change, msg in cases:
        with pytest.raises(ValidationError, match=msg):
            UpliftModel(**{**good, **change})
    m = UpliftModel(**good)
    assert m.outcome_coef.flags.writeable is False


# --------------------------------------------------------------------------- files
def test_save_refuses_other_objects_and_suffixes(tmp_path: Path) -> None:
    m = fit_uplift(*_small().values())
    with pytest.raises(ValidationError, match="save_uplift\\(\\) takes an UpliftModel, got dict"):
        save_uplift({}, tmp_path / "m.npz")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="suffix '.pkl'"):
        save_uplift(m, tmp_path / "m.pkl")
    with pytest.raises(FileNotFoundError):
        load_uplift(tmp_path / "absent.npz")


def _crafted(tmp_path: Path, **change: Any) -> str:
    """A valid DR model's file with arrays or metadata replaced (None removes a part)."""
    m = fit_uplift(*_small().values(), method="dr", random_state=0)
    src = str(tmp_path / "ok.npz")
    save_uplift(m, src)
    arrays, meta = load_npz(
        src, kind="UpliftModel", versions=(FORMAT_VERSION,), fields=_FIELDS, members=_MEMBERS
    )
    del meta["__kind__"]
    version = change.pop("__version", FORMAT_VERSION)
    for k, v in change.items():
        target = meta if k in meta else arrays
        if v is None:
            del target[k]
        else:
            target[k] = v
    out = str(tmp_path / "bad.npz")
    save_npz(out, kind="UpliftModel", version=version, arrays=arrays, meta=meta)
    return out


CRAFTED: list[tuple[dict[str, Any], str]] = [
    ({"outcome_coef": np.zeros((2, 3), dtype=np.int64)}, "outcome_coef"),
    ({"outcome_coef": np.zeros((2, 3), dtype=np.complex128)}, "outcome_coef"),
    ({"outcome_coef": np.zeros((3, 3))}, "outcome_coef"),
    ({"effect_coef": np.zeros((1, 4))}, "effect_coef"),
    ({"outcome_intercept": np.array([0.0, np.inf])}, "outcome_intercept"),
    ({"arm_counts": np.array([0, 5])}, "arm_counts"),
    ({"arms": np.array([1, 1])}, "arm labels are not distinct"),
    ({"effect_coef": None, "effect_intercept": None}, "effect models exactly"),
    ({"n_folds": 0}, "n_folds=0 does not fit method 'dr'"),
    ({"method": "t"}, "does not fit method 't'"),
    ({"l2": -1}, "l2"),
    ({"converged": 1}, "converged must be true or false"),
    ({"extra": np.zeros(2)}, "unknown archive member"),
    ({"arms": np.array([0.0, 1.0])}, "arms"),
]


@pytest.mark.parametrize(
    ("change", "message"), CRAFTED, ids=[str(c[0].keys()) + c[1] for c in CRAFTED]
)
def test_crafted_files_are_format_errors(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    path = _crafted(tmp_path, **change)
    with pytest.raises(FormatError, match=re.escape(message) if "=" in message else message):
        load_uplift(path)


def test_version_1_files_still_load_and_others_are_refused(tmp_path: Path) -> None:
    m = fit_uplift(*_small().values(), method="dr", random_state=0)
    v1 = _crafted(tmp_path, interaction_l2=None, __version=1)  # the version-1 layout
    back = load_uplift(v1)
    assert back.interaction_l2 is None
    np.testing.assert_array_equal(back.effect_coef, m.effect_coef)
    with pytest.raises(FormatError, match="format_version 1 and 2"):
        load_uplift(_crafted(tmp_path, __version=3))
    # a version-1 file cannot hold an S-learner nor the version-2 field
    with pytest.raises(FormatError, match="method"):
        load_uplift(_crafted(tmp_path, interaction_l2=None, method="s", n_folds=0, __version=1))
    with pytest.raises(FormatError, match="interaction_l2"):
        load_uplift(_crafted(tmp_path, __version=1))


def test_another_kind_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "other.npz")
    save_npz(path, kind="Plan", version=1, arrays={"a": np.zeros(1)}, meta={})
    with pytest.raises(FormatError, match="not a 'UpliftModel'"):
        load_uplift(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="not a readable .npz"):
        load_uplift(os.fspath(tmp_path / "junk.npz"))
