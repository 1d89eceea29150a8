"""Policy value (IPS / DR) with intervals: known answers, coverage, pairing, bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import onetoone
from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError
from onetoone.uplift import policy_at_budget, policy_value, policy_value_difference

Y = [1, 0, 1, 1, 0, 0]
ARM = [1, 1, 1, 0, 0, 0]
POLICY = [1, 0, 1, 0, 1, 0]
MU = {0: [0.2] * 6, 1: [0.6] * 6}


def test_estimate_is_the_one_interval_type() -> None:
    v = policy_value(Y, ARM, POLICY, method="ips")
    assert type(v) is onetoone.Estimate is onetoone.measurement.Estimate


def test_ips_known_answer() -> None:
    # hits: rows 0, 2 (arm 1) and 3, 5 (arm 0); propensity 1/2 each
    terms = np.array([1 / 0.5, 0.0, 1 / 0.5, 1 / 0.5, 0.0, 0.0])
    v = policy_value(Y, ARM, POLICY, method="ips", alpha=0.1)
    assert v.estimate == pytest.approx(1.0)
    assert v.std_error == pytest.approx(terms.std(ddof=1) / math.sqrt(6))
    assert v.ci_high - v.estimate == pytest.approx(1.6448536269514722 * v.std_error)
    assert v.confidence == pytest.approx(0.9)
    assert math.isnan(v.p_value) and v.method == "ips (normal)"


def test_dr_known_answer_with_given_predictions() -> None:
    # phi = mu_pi + 1[A = pi] (Y - mu_A) / e, by hand:
    terms = np.array([1.4, 0.2, 1.4, 1.8, 0.6, -0.2])
    v = policy_value(Y, ARM, POLICY, outcome_predictions=MU)
    assert v.estimate == pytest.approx(5.2 / 6)
    assert v.std_error == pytest.approx(terms.std(ddof=1) / math.sqrt(6))
    assert v.method == "dr (normal)"


def test_known_propensities_are_used() -> None:
    e = [0.25, 0.25, 0.25, 0.75, 0.75, 0.75]
    v = policy_value(Y, ARM, POLICY, method="ips", propensity=e)
    assert v.estimate == pytest.approx((1 / 0.25 + 1 / 0.25 + 1 / 0.75) / 6)


def test_difference_is_paired() -> None:
    d = policy_value_difference(Y, ARM, [1] * 6, [0] * 6, method="ips")
    phi = np.array([2.0, 0.0, 2.0, -2.0, 0.0, 0.0])
    assert d.estimate == pytest.approx(phi.mean())
    assert d.std_error == pytest.approx(phi.std(ddof=1) / math.sqrt(6))
    assert 0.0 <= d.p_value <= 1.0
    # a policy against itself: exactly 0 with no spread
    same = policy_value_difference(Y, ARM, POLICY, POLICY, outcome_predictions=MU)
    assert same.estimate == 0.0 and same.std_error == 0.0 and same.p_value == 1.0


def test_policy_at_budget() -> None:
    assert policy_at_budget([0.1, 0.5, -0.2, 0.3], 0).tolist() == [0, 0, 0, 0]
    assert policy_at_budget([0.1, 0.5, -0.2, 0.3], 0.5).tolist() == [0, 1, 0, 1]
    assert policy_at_budget([0.1, 0.5, -0.2, 0.3], 4).tolist() == [1, 1, 1, 1]
    two = policy_at_budget([[0.1, 0.4], [0.3, 0.2], [0.0, 0.0]], 1, arms=("c", "a", "b"))
    assert two.tolist() == ["b", "c", "c"]
    # ties keep the row order
    assert policy_at_budget([0.2, 0.2, 0.2], 2).tolist() == [1, 1, 0]


@pytest.mark.parametrize(
    ("k", "arms", "message"),
    [
        (5, None, "k must be"),
        (-1, None, "k must be"),
        (1.5, None, r"k as a share must lie in \[0, 1\]"),
        ("a", None, "k must be a row count"),
        (1, ("c",), "arms must name the control"),
    ],
)
def test_policy_at_budget_bad_input(k: Any, arms: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        policy_at_budget([0.1, 0.2, 0.3, 0.4], k, arms=arms)
    with pytest.raises(ValidationError, match="NaN"):
        policy_at_budget([0.1, np.nan], 1)


def _simulate(rng: np.random.Generator, n: int) -> tuple[Any, ...]:
    x = rng.normal(size=(n, 2))
    arm = rng.integers(0, 2, n)
    p = 0.3 + 0.2 * arm * (x[:, 0] > 0)
    y = (rng.random(n) < p).astype(float)
    policy = (x[:, 0] > 0).astype(int)
    return x, arm, y, policy


def test_coverage_by_simulation() -> None:
    """200 replications: the nominal 95 % intervals cover the true values 90-99 % of the time."""
    rng = np.random.default_rng(12)
    true_value, true_diff = 0.3 + 0.2 * 0.5, 0.2 * 0.5
    hits = {"ips": 0, "dr": 0, "diff": 0}
    for _ in range(200):
        x, arm, y, policy = _simulate(rng, 1000)
        ips = policy_value(y, arm, policy, method="ips", propensity=np.full(1000, 0.5))
        dr = policy_value(y, arm, policy, X=x, random_state=rng)
        diff = policy_value_difference(y, arm, policy, np.zeros(1000, int), X=x, random_state=0)
        hits["ips"] += ips.ci_low <= true_value <= ips.ci_high
        hits["dr"] += dr.ci_low <= true_value <= dr.ci_high
        hits["diff"] += diff.ci_low <= true_diff <= diff.ci_high
    for name, h in hits.items():
        assert 180 <= h <= 198, (name, h)


def test_dr_is_deterministic_and_tighter_than_ips() -> None:
    x, arm, y, policy = _simulate(np.random.default_rng(3), 4000)
    a = policy_value(y, arm, policy, X=x, random_state=5)
    b = policy_value(y, arm, policy, X=x, random_state=5)
    assert (a.estimate, a.std_error) == (b.estimate, b.std_error)
    ips = policy_value(y, arm, policy, method="ips")
    assert a.std_error < ips.std_error


def test_three_arms_string_labels() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    arm = rng.choice(np.array(["none", "a", "b"]), n)
    y = rng.normal(size=n) + (arm == "b")
    v = policy_value(y, arm, np.full(n, "b"), method="ips")
    assert v.ci_low < 1.0 < v.ci_high


BAD: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("propensity 0", {"propensity": [0.0, 0.5, 0.5, 0.5, 0.5, 0.5]}, ValidationError, "strictly"),
    ("propensity 1", {"propensity": [1.0] * 6}, ValidationError, "propensity must lie"),
    ("propensity NaN", {"propensity": [np.nan] * 6}, ValidationError, "propensity must lie"),
    ("NaN outcome", {"outcome": [1, np.nan, 1, 1, 0, 0]}, ValidationError, "outcome holds NaN"),
    ("one arm", {"treatment": [1] * 6}, ValidationError, "only one arm"),
    ("unknown arm", {"policy": [1, 0, 2, 0, 1, 0]}, ValidationError, "names arm 2 at row 2"),
    ("string policy", {"policy": ["a"] * 6}, ValidationError, "labels of one type"),
    ("lengths", {"policy": [1, 0]}, LengthMismatchError, "policy"),
    ("empty", {"outcome": [], "treatment": [], "policy": []}, EmptyInputError, "no rows"),
    ("method", {"method": "ipw"}, ValidationError, "method must be one of"),
    ("alpha", {"alpha": 1.5}, ValidationError, "alpha must lie in"),
    ("dr without a model", {"method": "dr"}, ValidationError, "needs the features X"),
    ("ips with a model", {"outcome_predictions": MU}, ValidationError, "uses no outcome model"),
    (
        "predictions missing an arm",
        {"method": "dr", "outcome_predictions": {0: [0.1] * 6}},
        ValidationError,
        "no entry for arm 1",
    ),
]


@pytest.mark.parametrize(("case", "change", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_typed_errors(
    case: str, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    args: dict[str, Any] = {"outcome": Y, "treatment": ARM, "policy": POLICY, "method": "ips"}
    args.update(change)
    with pytest.raises(error, match=message):
        policy_value(args.pop("outcome"), args.pop("treatment"), args.pop("policy"), **args)


def test_hillstrom_three_arm_choice_runs_in_seconds() -> None:
    """The three-arm path of benchmarks/uplift_hillstrom.py --three-arm on a 6,000-row sample."""
    from onetoone.datasets import hillstrom
    from onetoone.uplift import fit_uplift

    t = hillstrom()
    rows = np.random.default_rng(0).choice(t.n_rows, 6000, replace=False)
    seg = t["segment"][rows]
    x = np.column_stack(
        [t[c][rows].astype(float) for c in ("recency", "history", "mens", "womens", "newbie")]
    )
    y = t["visit"][rows].astype(float)
    train = np.arange(6000) < 3000
    model = fit_uplift(x[train], seg[train], y[train], control="No E-Mail", random_state=0)
    assert model.treatments == ("Mens E-Mail", "Womens E-Mail")
    tau = model.predict(x[~train])
    choice = np.asarray(model.treatments)[np.argmax(tau, axis=1)]
    means = [y[train][seg[train] == a].mean() for a in model.treatments]
    best = np.full(3000, model.treatments[int(np.argmax(means))])
    for method, kw in (("ips", {}), ("dr", {"X": x[~train], "random_state": 0})):
        d = policy_value_difference(y[~train], seg[~train], choice, best, method=method, **kw)
        assert d.ci_low <= d.estimate <= d.ci_high and abs(d.estimate) < 0.05
        assert 0.0 < d.std_error < 0.02
    # everyone choosing the same e-mail as the baseline: exactly no difference
    same = policy_value_difference(y[~train], seg[~train], best, best, method="ips")
    assert same.estimate == 0.0
