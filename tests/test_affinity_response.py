"""fit_response: isotonic and logistic calibration, reliability table, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.affinity import fit_response
from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-(-1.0 + 1.5 * s)))
    return s, y


def test_logistic_recovers_known_coefficients() -> None:
    s, y = _data(20_000)
    r = fit_response(s, y, method="logistic")
    # slope on standardised scores = 1.5 * std(s); intercept = -1 + 1.5 * mean(s)
    mu, sd = s.mean(), s.std()
    assert r.x[1] == pytest.approx(1.5 * sd, rel=0.05)
    assert r.x[0] == pytest.approx(-1.0 + 1.5 * mu, abs=0.05)
    p = r.predict_proba([-10.0, 0.0, 10.0])
    assert p[0] < 0.01 and p[1] == pytest.approx(1 / (1 + np.exp(1.0)), abs=0.02) and p[2] > 0.99


def test_isotonic_is_monotone_and_well_calibrated_in_sample() -> None:
    s, y = _data()
    r = fit_response(s, y, method="isotonic", n_bins=10)
    grid = np.linspace(-4, 4, 200)
    p = r.predict_proba(grid)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1
    t = r.reliability
    assert int(t.count.sum()) == len(s) and len(t.count) == 10
    # isotonic regression preserves the mean of each pooled block, hence the total
    assert float(np.sum(t.mean_predicted * t.count)) == pytest.approx(float(y.sum()), rel=1e-9)
    assert t.expected_calibration_error < 0.02
    assert r.n == len(s) and r.n_positive == int(y.sum())
    assert "mean pred" in t.to_text()


def test_isotonic_known_answer_pools_violators() -> None:
    r = fit_response([1, 2, 3, 4], [0, 1, 0, 1], method="isotonic", n_bins=2)
    # PAV pools (2, 3) into 0.5
    assert r.predict_proba([1, 2, 3, 4]).tolist() == [0.0, 0.5, 0.5, 1.0]
    assert r.predict_proba([-np.inf, np.inf]).tolist() == [0.0, 1.0]


def test_logistic_handles_separable_data() -> None:
    r = fit_response([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 1], method="logistic")
    p = r.predict_proba([0.0, 3.0])
    assert np.isfinite(p).all() and p[0] < 0.5 < p[1]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5, 5), st.booleans()), min_size=1, max_size=60),
    st.sampled_from(["isotonic", "logistic"]),
)
def test_probabilities_stay_in_unit_interval(pairs: list[tuple[float, bool]], method: str) -> None:
    s, y = zip(*pairs, strict=True)
    r = fit_response(list(s), list(y), method=method)  # type: ignore[arg-type]
    p = r.predict_proba(np.linspace(-10, 10, 50))
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert int(r.reliability.count.sum()) == len(s)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([], []), {}, EmptyInputError, "scores is empty"),
        (([1.0, 2.0], [1]), {}, LengthMismatchError, "outcomes has 1 rows"),
        (([1.0], [2]), {}, ValidationError, "outcomes must be 0/1"),
        (([np.nan], [1]), {}, ValidationError, "NaN or infinite"),
        (([-np.inf, 1.0], [0, 1]), {}, ValidationError, "drop them before calibrating"),
        (([1.0], [1]), {"method": "platt"}, ValidationError, "method must be"),
        (([1.0], [1]), {"n_bins": 0}, ValidationError, "n_bins must be"),
    ],
)
def test_fit_response_bad_input(
    args: tuple[object, object], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        fit_response(*args, **kwargs)  # type: ignore[arg-type]


def test_predict_rejects_nan() -> None:
    r = fit_response([0.0, 1.0], [0, 1])
    with pytest.raises(ValidationError, match="NaN"):
        r.predict_proba([np.nan])
