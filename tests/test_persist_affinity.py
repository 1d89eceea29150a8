"""affinity.load trusts nothing it reads (issue 12, defects 1, 7); save refuses other suffixes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import onetoone
from onetoone.affinity import (
    AffinityModel,
    fit_affinity,
    fit_response,
    load,
    save,
    score_items,
)
from onetoone.affinity._io import _PARAMS
from onetoone.affinity._model import _DEFAULTS
from onetoone.datasets import synthetic_transactions
from onetoone.errors import FormatError, ValidationError

_spec = importlib.util.spec_from_file_location(
    "onetoone_fuzz_files", Path(__file__).resolve().parents[1] / "fuzz" / "files.py"
)
assert _spec is not None and _spec.loader is not None
fz = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("onetoone_fuzz_files", fz)
_spec.loader.exec_module(fz)


def _fit(method: str) -> AffinityModel:
    return fit_affinity(
        synthetic_transactions(30, 20, random_state=0),
        method=method,  # type: ignore[arg-type]
        factors=3,
        iterations=2,
        num_threads=1,
        random_state=0,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    out = {}
    for method in ("repeat", "hybrid"):
        out[method] = d / f"{method}.npz"
        save(_fit(method), out[method])
    rng = np.random.default_rng(0)
    s = rng.normal(size=50)
    y = rng.random(50) < 0.5
    for method in ("isotonic", "logistic"):
        out[method] = d / f"{method}.npz"
        save(fit_response(s, y, method=method, n_bins=4), out[method])  # type: ignore[arg-type]
    return out


_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from onetoone.affinity import fit_affinity, load, save, score_items
    from onetoone.datasets import synthetic_transactions
    from onetoone.errors import FormatError
    sys.path.insert(0, sys.argv[3])
    import files as fz

    src, bad = sys.argv[1] + "/m.npz", sys.argv[1] + "/bad.npz"
    save(fit_affinity(synthetic_transactions(300, 200, random_state=0), method="repeat"), src)
    nnz = int(np.load(src)["repeat.data"].shape[0])
    fz.rewrite(src, bad, arrays={"repeat.indices": np.full(nnz, int(sys.argv[2]), np.int32)})
    try:
        m = load(bad)
    except FormatError as exc:
        print("FormatError:", exc)
    else:
        score_items(m)
        print("loaded")
    """
)


@pytest.mark.parametrize("index", [-(10**6), 10**6])
def test_crafted_sparse_indices_do_not_crash_the_process(tmp_path: Path, index: int) -> None:
    """Regression (defect 1): exit 139 inside scipy's sparse product. Runs in a child."""
    env = dict(os.environ)
    src = str(Path(onetoone.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    fuzz_dir = str(Path(__file__).resolve().parents[1] / "fuzz")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(index), fuzz_dir],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-500:]}"
    assert "FormatError:" in proc.stdout and "repeat.indices" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("repeat.indptr", "reverse", "never decrease|start at 0"),
        ("repeat.indices", "unsort", "increase strictly within each row"),
        ("repeat.data", "negative", "'repeat.data' holds -"),
        ("repeat.data", "nan", "'repeat.data' holds 1 value"),
        ("repeat.shape", np.array([30, 21]), "differs from the expected"),
        ("last_days", "nan", "'last_days' holds 1 value"),
        ("popularity", "five", "'popularity' holds 5.0, above the allowed maximum 1.0"),
        ("item_category", "huge", "far more categories than items"),
        ("customers", "strings-as-float", "'customers' has dtype float64"),
    ],
)
def test_repeat_model_parts_are_validated(
    files: dict[str, Path], tmp_path: Path, name: str, value: Any, match: str
) -> None:
    with np.load(files["repeat"], allow_pickle=False) as z:
        a = np.array(z[name])
    if isinstance(value, str):
        if value == "reverse":
            a = a[::-1].copy()
        elif value == "unsort":
            row = int(np.flatnonzero(np.diff(np.load(files["repeat"])["repeat.indptr"]) > 1)[0])
            start = int(np.load(files["repeat"])["repeat.indptr"][row])
            a[start], a[start + 1] = a[start + 1], a[start]
        elif value == "negative":
            a[0] = -a[0]
        elif value == "nan":
            a[0] = np.nan
        elif value == "five":
            a[0] = 5.0
        elif value == "huge":
            a[0] = 2**31 - 2
        elif value == "strings-as-float":
            a = a.astype(np.float64)
    else:
        a = value
    bad = tmp_path / "bad.npz"
    fz.rewrite(files["repeat"], bad, arrays={name: a})
    with pytest.raises(FormatError, match=match):
        load(bad)


@pytest.mark.parametrize(
    ("name", "change", "match"),
    [
        ("user_factors", "nan", "'user_factors' holds 1 value"),
        ("item_factors", "inf", "'item_factors' holds 1 value"),
        ("item_factors", "huge", "scores would overflow single precision"),
        ("item_factors", "drop", "both present or both absent"),
        ("user_factors", "wide", r"'item_factors' has 3 entries along axis 1, expected 4"),
        ("item_factors", "f64-overflow", "'item_factors' overflows float32"),
    ],
)
def test_factors_are_validated(
    files: dict[str, Path], tmp_path: Path, name: str, change: str, match: str
) -> None:
    """Regression (defect 7): NaN factors loaded and gave NaN scores."""
    with np.load(files["hybrid"], allow_pickle=False) as z:
        a = np.array(z[name])
    bad = tmp_path / "bad.npz"
    if change == "drop":
        fz.rewrite(files["hybrid"], bad, drop=(name,))
    else:
        if change == "nan":
            a[0, 0] = np.nan
        elif change == "inf":
            a[0, 0] = np.inf
        elif change == "huge":  # each finite in float32, their dot products are not
            a[:] = 1e20
            with np.load(files["hybrid"], allow_pickle=False) as z:
                u = np.full_like(z["user_factors"], 1e20)
            fz.rewrite(files["hybrid"], bad, arrays={"user_factors": u})
            fz.rewrite(bad, bad, arrays={name: a})
            with pytest.raises(FormatError, match=match):
                load(bad)
            return
        elif change == "wide":
            a = np.hstack([a, a[:, :1]])
        elif change == "f64-overflow":
            a = a.astype(np.float64)
            a[0, 0] = 1e300
        fz.rewrite(files["hybrid"], bad, arrays={name: a})
    with pytest.raises(FormatError, match=match):
        load(bad)


def test_nan_factors_gave_nan_scores_before(files: dict[str, Path], tmp_path: Path) -> None:
    """The defect as reported: the model loaded and scored NaN; now the load refuses it."""
    with np.load(files["hybrid"], allow_pickle=False) as z:
        uf = np.array(z["user_factors"])
    uf[:] = np.nan
    bad = tmp_path / "bad.npz"
    fz.rewrite(files["hybrid"], bad, arrays={"user_factors": uf})
    with pytest.raises(FormatError, match="user_factors"):
        score_items(load(bad))


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("method",), "magic", "meta.method must be one of"),
        (("as_of",), "garbage", "as_of 'garbage' is not a time"),
        (("as_of",), "NaT", "as_of is not a time"),
        (("as_of",), 20240501, "meta.as_of must be a string"),
        (("fit_seconds",), -1.0, "meta.fit_seconds must be a finite number"),
        (("params", "cf_weight"), "abc", "meta.params.cf_weight must be a number"),
        (("params", "cf_weight"), 1e300, "cf_weight=1e\\+300 overflows single-precision"),
        (("params", "repeat_saturation"), -1.0, "meta.params.repeat_saturation must be"),
        (("params", "repeat_saturation"), 0, "meta.params.repeat_saturation must be"),
        (("params", "factors"), True, "meta.params.factors must be an integer"),
        (("params", "weighting"), "magic", "meta.params.weighting must be one of"),
        (("params", "bm25_b"), 2.0, "meta.params.bm25_b must be"),
        (("params", "nope"), 1, r"meta.params has unknown \['nope'\]"),
    ],
)
def test_model_header_is_validated(
    files: dict[str, Path], tmp_path: Path, path: tuple[str, ...], value: Any, match: str
) -> None:
    def edit(h: dict[str, Any]) -> None:
        target = h["meta"]
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value

    bad = tmp_path / "bad.npz"
    fz.rewrite(files["hybrid"], bad, header=edit)
    with pytest.raises(FormatError, match=match):
        load(bad)


def test_params_spec_covers_every_option() -> None:
    assert set(_PARAMS) == set(_DEFAULTS)


@pytest.mark.parametrize(
    ("which", "name", "value", "match"),
    [
        ("isotonic", "y", "five", "y must lie in \\[0, 1\\]"),
        ("isotonic", "y", "decreasing", "never decrease"),
        ("isotonic", "x", "unsorted", "strictly increasing"),
        ("isotonic", "rel_count", "plus-one", "counts do not add up to n"),
        ("isotonic", "rel_observed_rate", "five", "'rel_observed_rate' holds 5.0, above"),
        ("logistic", "y", "zero-std", "std > 0"),
        ("logistic", "x", "nan", "'x' holds 1 value"),
        ("logistic", "x", "three", r"'y' has 2 entries along axis 0, expected 3"),
    ],
)
def test_response_model_is_validated(
    files: dict[str, Path], tmp_path: Path, which: str, name: str, value: str, match: str
) -> None:
    """Regression (defect 7): a ResponseModel with y = 5 loaded and predicted 5.0."""
    with np.load(files[which], allow_pickle=False) as z:
        a = np.array(z[name])
    if value == "five":
        a[-1] = 5.0
    elif value == "decreasing":
        a = a[::-1].copy()
    elif value == "unsorted":
        a[[0, 1]] = a[[1, 0]]
    elif value == "plus-one":
        a[0] += 1
    elif value == "zero-std":
        a[1] = 0.0
    elif value == "nan":
        a[0] = np.nan
    elif value == "three":
        a = np.append(a, 1.0)
    bad = tmp_path / "bad.npz"
    fz.rewrite(files[which], bad, arrays={name: a})
    with pytest.raises(FormatError, match=match):
        load(bad)


def test_response_header_is_validated(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    for key, value, match in [
        ("n_positive", 10**6, "n_positive=1000000 exceeds n"),
        ("n", 0, "meta.n must be an integer"),
        ("brier", 2.0, "meta.brier must be a finite number"),
        ("method", "platt", "meta.method must be one of"),
    ]:

        def edit(h: dict[str, Any], key: str = key, value: Any = value) -> None:
            h["meta"][key] = value

        fz.rewrite(files["isotonic"], bad, header=edit)
        with pytest.raises(FormatError, match=match):
            load(bad)


@pytest.mark.parametrize("name", ["model.parquet", "model.json", "model"])
def test_save_refuses_another_suffix(tmp_path: Path, name: str) -> None:
    """Defect 14's rule for every save function: a suffix that is not .npz is refused."""
    for obj in (_fit("repeat"), fit_response([0.1, 0.9], [0, 1])):
        with pytest.raises(ValidationError, match="writes a .npz archive") as e:
            save(obj, tmp_path / name)
        assert e.value.field == "path" and name in str(e.value)
    assert list(tmp_path.iterdir()) == []
