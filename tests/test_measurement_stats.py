"""compare_arms (Welch, CUPED, bootstrap) and ratio_difference: exactness and coverage."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from onetoone.errors import EmptyInputError, ValidationError
from onetoone.measurement import Estimate, compare_arms, ratio_difference

# amounts in cents: spread is never a rounding error of the mean
finite = st.integers(-(10**8), 10**8).map(lambda c: c / 100.0)


@settings(max_examples=60, deadline=None)
@given(
    yt=arrays(np.float64, st.integers(2, 60), elements=finite),
    yc=arrays(np.float64, st.integers(2, 60), elements=finite),
    alpha=st.sampled_from([0.01, 0.05, 0.1, 0.32]),
)
def test_welch_equals_scipy_exactly(yt: np.ndarray, yc: np.ndarray, alpha: float) -> None:
    if np.ptp(yt) == 0 and np.ptp(yc) == 0:
        return  # degenerate: covered by its own test
    w = compare_arms(yt, yc, alpha=alpha).welch
    with warnings.catch_warnings():
        # scipy warns of precision loss for an arm whose values are all equal
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        ref = scipy.stats.ttest_ind(yt, yc, equal_var=False)
    ci = ref.confidence_interval(confidence_level=1 - alpha)
    assert (w.ci_low, w.ci_high, w.p_value, w.df) == (ci.low, ci.high, ref.pvalue, ref.df)
    assert w.estimate == pytest.approx(yt.mean() - yc.mean(), rel=1e-12, abs=1e-9)


def test_cuped_equals_welch_on_hand_adjusted_outcome() -> None:
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, 30.0, 700)
    y = 0.6 * x + rng.normal(0, 10, 700)
    y[:300] += 3.0
    theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
    adj = y - theta * (x - x.mean())
    cmp = compare_arms(y[:300], y[300:], covariate_treated=x[:300], covariate_control=x[300:])
    ref = scipy.stats.ttest_ind(adj[:300], adj[300:], equal_var=False)
    ci = ref.confidence_interval()
    assert cmp.theta == pytest.approx(theta, rel=1e-12)
    assert cmp.cuped is not None
    assert cmp.cuped.ci_low == pytest.approx(ci.low, rel=1e-12)
    assert cmp.cuped.ci_high == pytest.approx(ci.high, rel=1e-12)
    assert cmp.cuped.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert cmp.primary is cmp.cuped
    assert cmp.variance_reduction == pytest.approx(
        1 - (cmp.cuped.std_error / cmp.welch.std_error) ** 2
    )
    assert cmp.variance_reduction == pytest.approx(cmp.correlation**2, abs=0.03)


def _spend_like(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-inflated, skewed pre- and post-period spend sharing a customer level."""
    level = rng.gamma(1.5, 40.0, shape)
    pre = rng.poisson(level / 10.0) * 10.0 * rng.uniform(0.8, 1.2, shape)
    post = rng.poisson(level / 10.0) * 10.0 * rng.uniform(0.8, 1.2, shape)
    return pre, post


def test_welch_and_cuped_cover_planted_effect_about_95_percent() -> None:
    reps, n, effect = 800, 400, 4.0
    rng = np.random.default_rng(2024)
    pre, post = _spend_like(rng, (reps, 2 * n))
    post[:, :n] += effect  # first n customers of every replicate are treated
    hits_w = hits_c = 0
    est_w, est_c, var_w, var_c = (np.empty(reps) for _ in range(4))
    for r in range(reps):
        cmp = compare_arms(
            post[r, :n],
            post[r, n:],
            covariate_treated=pre[r, :n],
            covariate_control=pre[r, n:],
        )
        assert cmp.cuped is not None
        hits_w += cmp.welch.ci_low <= effect <= cmp.welch.ci_high
        hits_c += cmp.cuped.ci_low <= effect <= cmp.cuped.ci_high
        est_w[r], est_c[r] = cmp.welch.estimate, cmp.cuped.estimate
        var_w[r], var_c[r] = cmp.welch.std_error**2, cmp.cuped.std_error**2
    # binomial sd at 800 reps is 0.0077: accept 3 sd either side
    assert 0.927 <= hits_w / reps <= 0.973
    assert 0.927 <= hits_c / reps <= 0.973
    # CUPED never biases: mean estimate within 4 standard errors of the planted effect
    assert abs(est_c.mean() - effect) < 4 * est_c.std(ddof=1) / np.sqrt(reps)
    assert abs(est_w.mean() - effect) < 4 * est_w.std(ddof=1) / np.sqrt(reps)
    # ... and it reduces variance, in the reported and in the empirical sense
    assert est_c.var() < 0.8 * est_w.var()
    assert var_c.mean() < 0.8 * var_w.mean()
    # the reported standard error matches the spread across replicates
    assert np.sqrt(var_c.mean()) == pytest.approx(est_c.std(ddof=1), rel=0.1)


def test_cuped_with_useless_covariate_changes_little() -> None:
    rng = np.random.default_rng(9)
    y, x = rng.normal(10, 3, 2000), rng.normal(0, 1, 2000)
    cmp = compare_arms(y[:1000], y[1000:], covariate_treated=x[:1000], covariate_control=x[1000:])
    assert abs(cmp.variance_reduction) < 0.01
    assert cmp.cuped is not None
    assert cmp.cuped.estimate == pytest.approx(cmp.welch.estimate, abs=0.05)


def test_bootstrap_is_seeded_and_covers() -> None:
    rng = np.random.default_rng(1)
    reps, n, effect = 150, 120, 2.0
    yt = rng.exponential(5.0, (reps, n)) + effect
    yc = rng.exponential(5.0, (reps, n))
    a = compare_arms(yt[0], yc[0], bootstrap=300, random_state=7)
    b = compare_arms(yt[0], yc[0], bootstrap=300, random_state=7)
    c = compare_arms(yt[0], yc[0], bootstrap=300, random_state=8)
    assert a.bootstrap is not None and b.bootstrap is not None and c.bootstrap is not None
    key = ("ci_low", "ci_high", "std_error")
    assert [getattr(a.bootstrap, k) for k in key] == [getattr(b.bootstrap, k) for k in key]
    assert a.bootstrap.ci_low != c.bootstrap.ci_low
    assert a.bootstrap.method == "bootstrap-percentile"
    hits = 0
    for r in range(reps):
        boot = compare_arms(yt[r], yc[r], bootstrap=200, random_state=r).bootstrap
        assert boot is not None
        hits += boot.ci_low <= effect <= boot.ci_high
    assert 0.88 <= hits / reps <= 0.99
    # the bootstrap standard error agrees with Welch's
    assert a.bootstrap.std_error == pytest.approx(a.welch.std_error, rel=0.15)


def test_bootstrap_with_covariate_recomputes_theta() -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(2, 20, 600)
    y = x + rng.normal(0, 5, 600)
    cmp = compare_arms(
        y[:300],
        y[300:],
        covariate_treated=x[:300],
        covariate_control=x[300:],
        bootstrap=400,
        random_state=0,
    )
    assert cmp.bootstrap is not None and cmp.cuped is not None
    assert cmp.bootstrap.estimate == pytest.approx(cmp.cuped.estimate, rel=1e-12)
    assert cmp.bootstrap.std_error == pytest.approx(cmp.cuped.std_error, rel=0.15)


def test_one_constant_arm_equals_scipy_without_warning() -> None:
    yt = np.array([0.0, 3.5, 0.0, 12.25, 1.0])
    yc = np.full(4, 23302.41954937)  # all equal: scipy would warn of precision loss
    w = compare_arms(yt, yc).welch  # raises under filterwarnings=error if scipy's warning leaked
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        ref = scipy.stats.ttest_ind(yt, yc, equal_var=False)
    assert (w.p_value, w.df) == (ref.pvalue, ref.df)


def test_constant_outcomes_give_zero_width_interval() -> None:
    w = compare_arms([0.0, 0.0, 0.0], [1.0, 1.0]).welch
    assert (w.estimate, w.ci_low, w.ci_high, w.std_error) == (-1.0, -1.0, -1.0, 0.0)
    assert np.isnan(w.p_value)


def test_delta_method_covers_spend_per_visit() -> None:
    reps, n = 600, 500
    rng = np.random.default_rng(11)
    visits = rng.poisson(3.0, (reps, 2 * n)).astype(float)
    per_visit = rng.gamma(4.0, 5.0, (reps, 2 * n))  # mean 20
    per_visit[:, :n] += 2.0  # treated spend 22 per visit: true difference 2
    spend = visits * per_visit
    hits = 0
    for r in range(reps):
        e = ratio_difference(spend[r, :n], visits[r, :n], spend[r, n:], visits[r, n:])
        hits += e.ci_low <= 2.0 <= e.ci_high
    assert 0.925 <= hits / reps <= 0.975


def test_ratio_difference_known_answer_and_zero_denominator() -> None:
    e = ratio_difference([10.0, 20.0, 30.0], [1, 2, 2], [10.0, 10.0, 20.0], [1, 1, 2])
    assert e.estimate == pytest.approx(2.0)
    nan = ratio_difference([1.0, 2.0], [0, 0], [1.0, 2.0], [1, 1])
    assert np.isnan(nan.estimate)


def test_estimate_affine() -> None:
    e = Estimate(2.0, 0.5, 1.0, 3.0, 0.01, 50.0, 0.95, "welch")
    f = e.affine(-2.0, 1.0)
    assert (f.estimate, f.ci_low, f.ci_high, f.std_error) == (-3.0, -5.0, -1.0, 1.0)
    assert f.p_value == e.p_value and f.null == 1.0
    assert e.significant
    assert "95% CI" in str(e)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([], [1.0, 2.0]), {}, EmptyInputError, "outcome_treated is empty"),
        (([1.0, 2.0], [3.0]), {}, ValidationError, "outcome_control has 1 customer"),
        (([1.0, np.nan], [1.0, 2.0]), {}, ValidationError, "outcome_treated holds 1 NaN"),
        (
            ([1.0, 2.0], [1.0, 2.0]),
            {"covariate_treated": [1.0, 2.0]},
            ValidationError,
            "must be given together",
        ),
        (
            ([1.0, 2.0], [1.0, 2.0]),
            {"covariate_treated": [1.0], "covariate_control": [1.0, 2.0]},
            ValidationError,
            "covariate_treated has 1 values for 2 outcomes",
        ),
        (([1.0, 2.0], [1.0, 3.0]), {"alpha": 1.5}, ValidationError, r"alpha must lie in \(0, 1\)"),
        (([1.0, 2.0], [1.0, 3.0]), {"bootstrap": 5}, ValidationError, "bootstrap must be 0"),
    ],
)
def test_compare_arms_bad_input(
    args: tuple[object, object], kwargs: dict[str, object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        compare_arms(*args, **kwargs)  # type: ignore[arg-type]
