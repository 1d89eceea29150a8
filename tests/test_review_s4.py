"""Regressions found by the session-4 adversarial review (value, uplift)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import onetoone as oto
from onetoone.errors import FormatError, ValidationError
from onetoone.uplift import fit_uplift, policy_at_budget
from onetoone.value import (
    FrequencyModel,
    PurchaseSummary,
    SpendModel,
    customer_value,
    expected_purchases,
)

_FREQ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.mark.parametrize(
    "freq", [np.array([2**64 - 1], dtype=np.uint64), [1e308], [2.0**63], [2.0**53 + 2]]
)
def test_summary_refuses_frequency_beyond_exact_int(freq: object) -> None:
    # was: silently wrapped to frequency -9223372036854775808
    with pytest.raises(ValidationError, match="frequency") as e:
        PurchaseSummary.from_arrays(frequency=freq, recency=[1.0], T=[3.0])
    assert e.value.field == "frequency"


def test_summary_keeps_large_exact_frequency() -> None:
    s = PurchaseSummary.from_arrays(frequency=[2**53], recency=[1.0], T=[3.0])
    assert int(s.frequency[0]) == 2**53


@pytest.mark.parametrize(
    "params",
    [
        {"r": 1e-300, "alpha": 1e-300, "a": 1e-300, "b": 1e300},  # was a raw scipy ValueError
        {"r": 1e30, "alpha": 1e-30, "a": 1e-30, "b": 1e-30},  # was ZeroDivisionError
        {"r": 1.0, "alpha": 1.0, "a": 1e-13, "b": 1.0},
        {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1e13},
    ],
)
def test_frequency_model_refuses_params_out_of_range(params: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match=r"params\["):
        FrequencyModel("bgnbd", params)


def test_spend_model_refuses_params_out_of_range() -> None:
    with pytest.raises(ValidationError, match=r"params\['gamma'\]"):
        SpendModel({"p": 1.0, "q": 2.0, "gamma": 1e300})


@pytest.mark.parametrize("method", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("v", [1e-12, 1e12])
def test_frequency_model_edges_of_range_give_finite_clv(method: str, v: float) -> None:
    s = PurchaseSummary.from_arrays(frequency=[0, 1, 5, 10**6], recency=[0.0, 1e-300, 30.0, 38.0],
                                    T=[38.86] * 4, monetary=[0.0, 1e3, 5e-324, 10.0])
    spend = SpendModel({"p": 1.0, "q": 2.0, "gamma": 1.0})
    for k in _FREQ:
        m = FrequencyModel(method, {**_FREQ, k: v})
        e = expected_purchases(m, s, 39.0)
        clv = customer_value(m, spend, s, horizon=52).clv
        assert np.isfinite(e).all() and (e >= 0).all()
        assert np.isfinite(clv).all() and (clv >= 0).all()


def _set_header(path: Path, **changes: object) -> None:
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    name = "__onetoone_meta__.npy"
    h = json.loads(np.load(io.BytesIO(members[name])).tobytes().decode("utf-8"))
    h["meta"].update(changes)
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(h).encode("utf-8"), dtype=np.uint8))
    members[name] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)


def _load_in_child(path: Path) -> str:
    code = (
        "import sys, onetoone as oto\n"
        "try:\n    oto.load(sys.argv[1])\nexcept Exception as e:\n"
        "    print(type(e).__name__)\nelse:\n    print('loaded')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_value_file_with_zero_unit_days_is_a_format_error(tmp_path: Path) -> None:
    # was: ValidationError (not FormatError) escaping load()
    path = tmp_path / "f.npz"
    oto.save(FrequencyModel("bgnbd", _FREQ, unit_days=7.0), path)
    _set_header(path, unit_days=0.0)
    with pytest.raises(FormatError, match="unit_days"):
        oto.load(path)
    assert _load_in_child(path) == "FormatError"


def test_value_file_with_huge_params_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    oto.save(SpendModel({"p": 1.0, "q": 2.0, "gamma": 1.0}), path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    np.save(buf, np.array([1.0, 2.0, 1e300]))
    members["params.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    assert _load_in_child(path) == "FormatError"


@pytest.mark.parametrize("scale", [{"y": 1e308}, {"X": 1e307}])
def test_s_learner_overflowing_cv_is_a_validation_error(scale: dict[str, float]) -> None:
    # was: IndexError from the one-SE rule on NaN losses
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    arm = rng.integers(0, 2, 200)
    y = (X[:, 0] + arm > 0.5).astype(float)
    with np.errstate(all="ignore"), pytest.raises(ValidationError, match="rescale"):
        fit_uplift(X * scale.get("X", 1.0), arm, y * scale.get("y", 1.0), method="s",
                   random_state=0)


def test_policy_at_budget_refuses_repeated_arm_labels() -> None:
    # was: accepted, a policy naming arm 1 for two different score columns
    with pytest.raises(ValidationError, match="distinct") as e:
        policy_at_budget([[0.1, 0.3], [0.5, -1.0]], 1, arms=[0, 1, 1])
    assert e.value.field == "arms"


@pytest.mark.parametrize("mu", [[-1.0, 0.0], [np.nan, 0.0], [np.inf, 0.0]])
def test_dual_step_refuses_bad_duals(mu: list[float]) -> None:
    # was: a negative price silently changed the allocation; NaN/inf gave misleading errors
    pa = pytest.importorskip("pyarrow")
    from onetoone.distributed import candidate_block, dual_step

    b = candidate_block(pa.table({"customer": [5, 5, 7], "offer": [0, 1, 1],
                                  "value": [1.0, 2.0, 3.0]}), n_offers=2)
    with pytest.raises(ValidationError, match="finite prices") as e:
        dual_step(b, [], mu)
    assert e.value.field == "mu"
    with pytest.raises(ValidationError, match="CandidateBlock"):
        dual_step("block", [], [0.0, 0.0])  # type: ignore[arg-type]
