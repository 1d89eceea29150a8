"""load_plan trusts nothing it reads (issue 12, defect 7); save_plan refuses other suffixes (14)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from onetoone import FormatError, IdIndex, Plan, ValidationError
from onetoone.allocation import AllocationProblem, Budget, allocate, load_plan, save_plan

_spec = importlib.util.spec_from_file_location(
    "onetoone_fuzz_files", Path(__file__).resolve().parents[1] / "fuzz" / "files.py"
)
assert _spec is not None and _spec.loader is not None
fz = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("onetoone_fuzz_files", fz)
_spec.loader.exec_module(fz)


def _plan() -> Plan:
    # three customers, two offers, k=2: customer 5 gets both offers, 9 gets "B"
    problem = AllocationProblem.from_dense(
        np.array([[3.0, 2.0], [0.5, 4.0], [1.0, 0.2]]),
        np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
        budgets=[Budget("total", 3.0)],
        k=2,
    )
    return Plan(
        allocate(problem, method="exact"),
        customers=IdIndex.from_values([5, 9, 13]),
        offers=IdIndex.from_values(["A", "B"]),
    )


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "plan.npz"
    plan = _plan()
    assert plan.columns()["customer_id"].tolist() == [5, 5, 9]
    save_plan(plan, path)
    return path


def _edit_meta(key: str, value: Any) -> Any:
    def edit(h: dict[str, Any]) -> None:
        h["meta"][key] = value

    return edit


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("n_customers", "abc", "meta.n_customers must be an integer"),
        ("n_customers", True, "meta.n_customers must be an integer"),
        ("n_customers", 4, r"'customer_ids' has 3 entries along axis 0, expected 4"),
        ("n_offers", 10**13, "meta.n_offers must be an integer"),
        ("objective", "abc", "meta.objective must be a number"),
        ("objective", 1e6, "objective 1000000.0 differs from the sum of the values"),
        ("bound", 1.0, "bound 1.0 is below the objective"),
        ("gap", -5, r"meta.gap must be a finite number in \[0.0, None\], got -5"),
        ("status", 7, r"meta.status must be an integer in \[0, 2\]"),
        ("status", 1, "success=True contradicts status 1"),
        ("success", "yes", "meta.success must be true or false"),
        ("iterations", -1, "meta.iterations must be an integer"),
        ("method", "magic", "meta.method must be one of"),
        ("message", None, "meta.message must be a string"),
        ("budget_names", ["total", "total"], "meta.budget_names must be a list of distinct"),
        ("budget_names", ["a", "b"], r"'budget_limit' has 1 entries along axis 0, expected 2"),
        ("budget_names", "total", "meta.budget_names must be a list of strings"),
    ],
)
def test_header_fields_are_validated(
    good: Path, tmp_path: Path, key: str, value: Any, match: str
) -> None:
    """Regression: these loaded (or failed with bare errors) before."""
    bad = tmp_path / "bad.npz"
    fz.rewrite(good, bad, header=_edit_meta(key, value))
    with pytest.raises(FormatError, match=match):
        load_plan(bad)


def test_format_version_must_be_an_int_not_a_bool(good: Path, tmp_path: Path) -> None:
    """Regression: format_version true was read as 1."""
    bad = tmp_path / "bad.npz"
    fz.rewrite(good, bad, header=lambda h: h.update(format_version=True))
    with pytest.raises(FormatError, match="format_version True"):
        load_plan(bad)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("value", np.array(["3.0", "2.0", "4.0"]), "'value' has dtype <U3"),
        ("value", np.array([3.0, 2.0, 4.0]) + 0j, "'value' has dtype complex128"),
        ("value", np.array([3.0, np.nan, 4.0]), "'value' holds 1 value"),
        ("cost", np.array([1.0, -1.0, 1.0]), "'cost' holds -1.0, below"),
        ("customer", np.array([0, 0, 7]), "'customer' holds 7, above the allowed maximum 2"),
        ("customer", np.array([1, 0, 0]), "pairs must be sorted and distinct"),
        ("offer", np.array([0, 0, 1]), "pairs must be sorted and distinct"),
        ("offer_count", np.array([1, 1]), "offer_count differs"),
        ("budget_spend", np.array([3.5]), "spends 3.5 over its limit 3.0"),
        ("cap", np.array([0.0, 0.0]), "usage exceeds its cap"),
        ("cap", np.array([np.inf, np.inf]), None),
        ("customer_ids", np.array([5, 9, 9]), "sorted and unique"),
        ("customer_ids", np.array([5.0, 9.0, 13.0]), "'customer_ids' has dtype float64"),
    ],
)
def test_arrays_are_validated(
    good: Path, tmp_path: Path, name: str, value: Any, match: str | None
) -> None:
    """Regression: strings, complex numbers, NaN, unsorted pairs and overspend all loaded."""
    bad = tmp_path / "bad.npz"
    fz.rewrite(good, bad, arrays={name: value})
    if match is None:
        assert np.isinf(load_plan(bad).allocation.cap).all()
        return
    with pytest.raises(FormatError, match=match):
        load_plan(bad)


def test_unsorted_pairs_would_give_another_customers_offers(good: Path, tmp_path: Path) -> None:
    """The defect: with pairs out of order, offers_for(5) answered with customer 9's offer."""
    bad = tmp_path / "bad.npz"
    fz.rewrite(
        good,
        bad,
        arrays={"customer": np.array([1, 0, 0]), "offer": np.array([1, 0, 1])},
    )
    with pytest.raises(FormatError, match="sorted and distinct"):
        load_plan(bad)


def test_huge_declared_shape_is_a_format_error(good: Path, tmp_path: Path) -> None:
    """Regression: a declared shape of 1e13 raised a bare MemoryError."""
    bad = tmp_path / "bad.npz"
    for name in ("customer", "value", "customer_ids"):
        fz.rewrite(good, bad, raw={name: fz.huge_npy((10**13,), "<f8", b"\0" * 24)})
        with pytest.raises(FormatError):
            load_plan(bad)


def test_unknown_members_are_refused_before_decompressing(good: Path, tmp_path: Path) -> None:
    """Regression: a 68 KB file raised peak memory by 64 MiB."""
    bomb = tmp_path / "bomb.npz"
    members = list(fz.read_members(good).items())
    fz.write_archive(bomb, [*members, ("padding", fz.npy_bytes(np.zeros(8 << 20)))])
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="unknown archive member 'padding.npy'"):
            load_plan(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak:,} bytes"


def test_infinite_bound_round_trips(tmp_path: Path) -> None:
    """A plan whose bound is +inf (none proven) saves as null and reads back as inf."""
    plan = _plan()
    a = attrs.evolve(plan.allocation, bound=math.inf, gap=1.0)
    path = tmp_path / "p.npz"
    save_plan(Plan(a, customers=plan.customers, offers=plan.offers), path)
    assert load_plan(path).allocation.bound == math.inf


@pytest.mark.parametrize("name", ["plan.parquet", "plan.csv", "plan", "plan.npz.tmp"])
def test_save_plan_refuses_another_suffix(tmp_path: Path, name: str) -> None:
    """Regression (defect 14): save_plan(plan, "x.parquet") wrote an .npz under that name."""
    path = tmp_path / name
    with pytest.raises(ValidationError, match="to_arrow") as e:
        save_plan(_plan(), path)
    assert e.value.field == "path" and str(path) in str(e.value)
    assert "pyarrow.parquet.write_table" in str(e.value)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_save_plan_accepts_npz_in_any_case(tmp_path: Path) -> None:
    save_plan(_plan(), tmp_path / "PLAN.NPZ")
    assert len(load_plan(tmp_path / "PLAN.NPZ")) == 3


@pytest.mark.parametrize(("field", "value"), [("gap", 2.0), ("gap", 0.0), ("bound", None)])
def test_header_gap_must_agree_with_bound_and_objective(
    tmp_path: Path, field: str, value: object
) -> None:
    """A plan whose header gap contradicts its bound and objective is refused (review)."""
    path = tmp_path / "p.npz"
    save_plan(_plan(), path)
    arrays = dict(np.load(path, allow_pickle=False))
    meta_key = "__onetoone_meta__"
    header = json.loads(arrays[meta_key].tobytes())
    header["meta"][field] = value
    if field == "gap" and value == 0.0 and header["meta"]["gap"] == 0.0:
        header["meta"]["gap"] = 0.5
    arrays[meta_key] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(FormatError, match="gap"):
        load_plan(bad)
