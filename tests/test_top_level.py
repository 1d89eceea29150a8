"""The top level is the product: curated names, moved names that still resolve (with
a warning) for one minor version, and one pair of persistence verbs."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import onetoone as oto
from onetoone.uplift import UpliftModel, fit_uplift


def _plan() -> oto.Plan:
    problem = oto.AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)), k=1)
    return oto.Plan(
        oto.allocate(problem),
        customers=oto.IdIndex.from_values([2**64 - 1, 7]),
        offers=oto.IdIndex.from_values(["a", "b"]),
    )


def test_the_top_level_reads_as_the_product_in_one_screen() -> None:
    assert len(oto.__all__) <= 60
    research = {"mass", "segment", "simulate", "ips", "snips", "replay_campaign", "Market"}
    helpers = {"FEATURES", "hash_unit", "quantile_bins", "lp_bound", "customer_item_matrix",
               "partial_fit"}
    assert not (research | helpers) & set(oto.__all__)
    for verb in ("save", "load", "allocate", "build_profiles", "measure_campaign"):
        assert verb in oto.__all__


@pytest.mark.parametrize("name", sorted(oto._MOVED))
def test_moved_names_resolve_with_a_warning(name: str) -> None:
    target_module, _, attr = oto._MOVED[name].partition(":")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = getattr(oto, name)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, oto.OneToOneDeprecationWarning)]
    assert any(f"from {target_module} import {attr}" in m for m in messages), messages
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", oto.OneToOneDeprecationWarning)
        assert obj is getattr(importlib.import_module(target_module), attr)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        oto.nope  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_top_level_loads_no_optional_dependency() -> None:
    code = (
        "import sys, onetoone\n"
        "bad = [m for m in ('pandas', 'pyarrow', 'matplotlib', 'polars', 'duckdb') "
        "if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_save_and_load_every_kind(tmp_path: Path) -> None:
    plan = _plan()
    response = oto.fit_response([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], method="logistic")
    tx = oto.Transactions.from_arrays(
        customer=[1, 1, 2], item=["x", "y", "x"],
        timestamp=["2024-01-01", "2024-01-02", "2024-01-03"], value=[1.0, 2.0, 3.0],
    )
    model = oto.fit_affinity(tx, as_of="2024-02-01", method="repeat")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    arm = np.repeat([0, 1], 100)
    uplift = fit_uplift(x, arm, (x[:, 0] + arm * x[:, 1] > 0).astype(float))
    for obj, kind in ((plan, oto.Plan), (response, oto.ResponseModel),
                      (model, oto.AffinityModel), (uplift, UpliftModel)):
        path = tmp_path / f"{kind.__name__}.npz"
        oto.save(obj, path)
        back = oto.load(path, kind)
        assert type(back) is kind
        assert type(oto.load(os.fspath(path))) is kind
    back_plan = oto.load(tmp_path / "Plan.npz", oto.Plan)
    assert back_plan.offers_for(2**64 - 1).tolist() == ["b"]
    assert back_plan.offers_for(7).tolist() == ["a"]
    np.testing.assert_allclose(
        oto.load(tmp_path / "ResponseModel.npz", oto.ResponseModel).predict_proba([0.5]),
        response.predict_proba([0.5]),
    )


def test_load_refuses_another_kind(tmp_path: Path) -> None:
    path = tmp_path / "plan.npz"
    oto.save(_plan(), path)
    with pytest.raises(oto.FormatError, match="holds a Plan, not a ResponseModel"):
        oto.load(path, oto.ResponseModel)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: oto.save("not a model", p / "x.npz"), "obj"),  # type: ignore[arg-type]
        (lambda p: oto.save(_plan(), 3), "path"),  # type: ignore[arg-type]
        (lambda p: oto.save(_plan(), p / "x.parquet"), "path"),
        (lambda p: oto.load(p / "x.npz", kind=int), "kind"),  # type: ignore[call-overload]
        (lambda p: oto.load(None), "path"),  # type: ignore[call-overload]
    ],
)
def test_bad_arguments_name_the_field(call: object, field: str, tmp_path: Path) -> None:
    with pytest.raises(oto.ValidationError) as exc:
        call(tmp_path)  # type: ignore[operator]
    assert exc.value.field == field


def test_load_refuses_what_is_not_a_onetoone_file(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(oto.FormatError, match="no onetoone header"):
        oto.load(path)
    path.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(oto.FormatError):
        oto.load(path)
    with pytest.raises(FileNotFoundError):
        oto.load(tmp_path / "missing.npz")


def test_save_into_a_missing_folder_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "no" / "plan.npz"
    with pytest.raises(FileNotFoundError, match=r"cannot write .*plan\.npz: the folder"):
        oto.save(_plan(), target)
    assert not (tmp_path / "no").exists()


def test_saved_files_follow_the_umask_like_any_file(tmp_path: Path) -> None:
    """Review: files were written 0600 (mkstemp's mode) whatever the umask."""
    old = os.umask(0o022)
    try:
        oto.save(_plan(), tmp_path / "p.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "p.npz").stat().st_mode & 0o777 == 0o644


def test_review_findings_give_typed_errors() -> None:
    from onetoone.allocation import AllocationProblem, lp_bound
    from onetoone.measurement import hash_unit

    with pytest.raises(oto.ValidationError, match="n_customers must be an int from 0"):
        AllocationProblem.from_candidates([0], [0], [1.0], [1.0], n_customers=10**12, n_offers=1)
    with pytest.raises(oto.ValidationError, match="salt is not valid Unicode"):
        hash_unit([1], salt="\ud800")
    with pytest.raises(oto.UnknownIdError, match=r"e\.g\. \[9223372036854775808\]"):
        oto.IdIndex.from_values([0, 1, 2]).encode([2**63])
    with pytest.raises(oto.UnknownIdError, match="pass unknown='drop'"):
        oto.Transactions.from_arrays(
            customer=[1, 9], item=[1, 1], timestamp=["2024-01-01"] * 2, value=[1.0, 1.0],
            customers=oto.IdIndex.from_values([1]),
        )
    tiny = AllocationProblem.from_dense(
        [[1.0], [2.0]], [[5e-324], [5e-324]], budgets=[oto.Budget("t", 1.0)]
    )
    for method in ("exact", "dual", "greedy"):
        assert oto.allocate(tiny, method).objective == 3.0  # type: ignore[arg-type]
    assert lp_bound(tiny).value >= 3.0
