"""One contract for every uplift learner: the same promises, whatever the method.

Parametrised over :data:`onetoone.uplift.METHODS`; a new method joins by being
listed there (the first test fails if the list here and there differ).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import onetoone
from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError
from onetoone.uplift import METHODS, UpliftModel, fit_uplift

sys.path.insert(0, str(Path(__file__).parents[1]))
from _uplift_data import binary_data, continuous_data, diff_se, small_data

ALL = ("s", "t", "dr", "x")


def test_every_method_is_under_contract() -> None:
    assert set(METHODS) == set(ALL)


# --------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("method", ALL)
def test_binary_uplift_is_recovered(method: str) -> None:
    d = binary_data()
    m = fit_uplift(d["x"], d["arm"], d["y"], method=method, random_state=0)
    assert m.outcome_type == "binary" and m.treatments == (1,) and m.converged
    pred = m.predict(d["x"])
    assert pred.shape == (20_000,)
    assert np.corrcoef(pred, d["tau"][:, 0])[0, 1] > 0.9
    # error bound: RMSE below 0.3 sd of the true effect (the linear effect models of
    # DR and X cannot follow the logistic curvature exactly: about 0.25 sd here)
    assert np.sqrt(np.mean((pred - d["tau"][:, 0]) ** 2)) < 0.3 * d["tau"][:, 0].std()
    # the mean effect: within 3 standard errors of the difference in means
    se = diff_se(d["y"], d["arm"], 1, 0)
    assert abs(pred.mean() - d["tau"].mean()) < 3 * se
    out = m.predict_outcomes(d["x"])
    assert set(out) == {0, 1}
    for a in (0, 1):
        assert np.corrcoef(out[a], d["mu"][:, a])[0, 1] > 0.99


@pytest.mark.parametrize("method", ALL)
def test_continuous_uplift_is_recovered(method: str) -> None:
    d = continuous_data()
    m = fit_uplift(d["x"], d["arm"], d["y"], method=method, random_state=0)
    assert m.outcome_type == "continuous" and m.iterations == 0
    pred = m.predict(d["x"])
    assert np.corrcoef(pred, d["tau"])[0, 1] > 0.99
    se = diff_se(d["y"], d["arm"], 1, 0)
    assert abs(pred.mean() - d["tau"].mean()) < 3 * se
    # the effect's slope on x1 is 2 (the ridge shrinks it by far less than 1 %)
    slope = m.effect_coef[0] if m.effect_coef is not None else m.outcome_coef[1] - m.outcome_coef[0]
    np.testing.assert_allclose(slope, [0.0, 2.0, 0.0], atol=0.12)


@pytest.mark.parametrize("method", ALL)
def test_several_treatments_with_string_labels(method: str) -> None:
    d = binary_data(n_t=3, seed=5)
    names = np.array(["none", "mail_a", "mail_b", "sms"])
    m = fit_uplift(d["x"], names[d["arm"]], d["y"], method=method, control="none", random_state=0)
    assert m.control == "none" and m.treatments == ("mail_a", "mail_b", "sms")
    pred = m.predict(d["x"])
    assert pred.shape == (20_000, 3)
    for j, t in enumerate([1, 2, 3]):  # mail_a, mail_b, sms are arms 1, 2, 3 of the data
        assert np.corrcoef(pred[:, j], d["tau"][:, t - 1])[0, 1] > 0.9
        se = diff_se(d["y"], d["arm"], t, 0)
        assert abs(pred[:, j].mean() - d["tau"][:, t - 1].mean()) < 3 * se
    assert set(m.predict_outcomes(d["x"][:3])) == {"none", "mail_a", "mail_b", "sms"}


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("method", ALL)
def test_same_seed_same_model(method: str) -> None:
    d = binary_data(n=5000, n_t=2)
    a = fit_uplift(d["x"], d["arm"], d["y"], method=method, random_state=11)
    b = fit_uplift(d["x"], d["arm"], d["y"], method=method, random_state=11)
    c = fit_uplift(d["x"], d["arm"], d["y"], method=method, random_state=np.random.default_rng(11))
    for other in (b, c):
        np.testing.assert_array_equal(a.outcome_coef, other.outcome_coef)
        np.testing.assert_array_equal(a.predict(d["x"]), other.predict(d["x"]))


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("method", ALL)
def test_save_load_round_trip(method: str, tmp_path: Path) -> None:
    d = binary_data(n=3000, n_t=2)
    names = np.array(["ctl", "a", "b"])
    m = fit_uplift(d["x"], names[d["arm"]], d["y"], method=method, control="ctl", random_state=0)
    path = tmp_path / "m.npz"
    onetoone.save(m, path)
    m2 = onetoone.load(path)
    assert isinstance(m2, UpliftModel)
    for f in (
        "method",
        "outcome_type",
        "control",
        "treatments",
        "l2",
        "n_folds",
        "interaction_l2",
        "converged",
        "iterations",
        "elapsed_s",
    ):
        assert getattr(m2, f) == getattr(m, f), f
    np.testing.assert_array_equal(m2.predict(d["x"]), m.predict(d["x"]))
    np.testing.assert_array_equal(m2.arm_counts, m.arm_counts)


# --------------------------------------------------------------------------- bad input
BAD: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("one arm", {"arm": np.zeros(200, int)}, ValidationError, r"treatment has only one arm"),
    (
        "propensity 0",
        {"propensity": np.r_[0.0, np.full(199, 0.5)]},
        ValidationError,
        r"propensity must lie strictly between 0 and 1 .* got 0.0 at row 0",
    ),
    (
        "propensity above 1",
        {"propensity": np.r_[np.full(199, 0.5), 1.5]},
        ValidationError,
        "got 1.5 at row 199",
    ),
    (
        "NaN outcome",
        {"y": np.r_[np.nan, np.arange(199) % 2.0]},
        ValidationError,
        "outcome holds NaN",
    ),
    ("1-D X", {"x": np.zeros(200)}, ValidationError, "X must be a 2-D array"),
    ("short outcome", {"y": np.zeros(10)}, LengthMismatchError, "outcome"),
    ("short treatment", {"arm": np.zeros(10, int)}, LengthMismatchError, "treatment"),
    (
        "no rows",
        {"x": np.zeros((0, 3)), "arm": np.zeros(0, int), "y": np.zeros(0)},
        EmptyInputError,
        "X has no rows",
    ),
]


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize(("case", "change", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_typed_error(
    method: str, case: str, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    args = {**small_data(), **change}
    kw = {k: v for k, v in args.items() if k not in ("x", "arm", "y")}
    with pytest.raises(error, match=message):
        fit_uplift(args["x"], args["arm"], args["y"], method=method, random_state=0, **kw)
