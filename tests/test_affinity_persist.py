"""save / load: round trips without pickle; wrong or missing versions raise FormatError."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from _affinity_data import habit_catalogue, habit_log
from onetoone._persist import load_npz, save_npz
from onetoone.affinity import (
    FORMAT_VERSION,
    AffinityModel,
    ResponseModel,
    fit_affinity,
    fit_response,
    load,
    save,
    score_items,
)
from onetoone.errors import FormatError, ValidationError


@pytest.mark.parametrize("method", ["hybrid", "als", "bpr", "repeat", "popularity"])
def test_model_round_trip_scores_identically(tmp_path: Path, method: str) -> None:
    m = fit_affinity(
        habit_log(),
        as_of="2024-02-01",
        method=method,
        catalogue=habit_catalogue(),  # type: ignore[arg-type]
        factors=4,
        iterations=3,
        bpr_iterations=5,
        num_threads=1,
        random_state=0,
    )
    path = tmp_path / "m.npz"
    save(m, path)
    back = load(path)
    assert isinstance(back, AffinityModel)
    assert back.method == m.method and back.as_of == m.as_of and dict(back.params) == dict(m.params)
    assert back.customers == m.customers and back.items == m.items
    np.testing.assert_array_equal(score_items(back).dense, score_items(m).dense)  # type: ignore[arg-type]
    # the file is a plain npz: readable without pickle
    with np.load(path, allow_pickle=False) as z:
        assert "repeat.data" in z.files


def test_int_ids_round_trip(tmp_path: Path) -> None:
    from _affinity_data import group_log

    m = fit_affinity(group_log(), method="repeat")
    save(m, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert back.customers.kind == "int" and back.customers == m.customers


def test_response_round_trip(tmp_path: Path) -> None:
    r = fit_response([0.1, 0.2, 0.3, 0.9], [0, 0, 1, 1])
    save(r, tmp_path / "r.npz")
    back = load(tmp_path / "r.npz")
    assert isinstance(back, ResponseModel)
    assert back.predict_proba([0.25]).tolist() == r.predict_proba([0.25]).tolist()
    np.testing.assert_array_equal(back.reliability.count, r.reliability.count)


def _rewrite_header(path: Path, change: dict[str, object], drop: str | None = None) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__onetoone_meta__"].tobytes().decode())
    header.update(change)
    if drop:
        del header[drop]
    arrays["__onetoone_meta__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_wrong_version_raises(tmp_path: Path) -> None:
    m = fit_affinity(habit_log(), method="repeat")
    path = tmp_path / "m.npz"
    save(m, path)
    _rewrite_header(path, {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(FormatError, match="format_version 2"):
        load(path)


def test_missing_version_raises(tmp_path: Path) -> None:
    m = fit_affinity(habit_log(), method="repeat")
    path = tmp_path / "m.npz"
    save(m, path)
    _rewrite_header(path, {}, drop="format_version")
    with pytest.raises(FormatError, match="no format_version"):
        load(path)


def test_foreign_and_corrupt_files_raise(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(FormatError, match="no onetoone header"):
        load(plain)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(FormatError, match=r"not a readable \.npz"):
        load(junk)
    other = tmp_path / "other.npz"
    save_npz(other, kind="Allocation", version=1, arrays={}, meta={})
    with pytest.raises(FormatError, match="not a 'AffinityModel' or 'ResponseModel'"):
        load(other)


def test_missing_part_raises(tmp_path: Path) -> None:
    m = fit_affinity(habit_log(), method="repeat")
    path = tmp_path / "m.npz"
    save(m, path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "popularity"}
    np.savez(path, **arrays)
    with pytest.raises(FormatError, match="missing part 'popularity'"):
        load(path)


def test_persist_refuses_object_arrays_and_bad_meta(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="without pickle"):
        save_npz(
            tmp_path / "x.npz",
            kind="K",
            version=1,
            arrays={"a": np.array([{"x": 1}], dtype=object)},
            meta={},
        )
    with pytest.raises(ValidationError, match="JSON-serialisable"):
        save_npz(tmp_path / "x.npz", kind="K", version=1, arrays={}, meta={"t": object()})
    with pytest.raises(ValidationError, match="save\\(\\) takes"):
        save("model", tmp_path / "x.npz")  # type: ignore[arg-type]
    assert not (tmp_path / "x.npz").exists()


def test_load_npz_kind_and_versions(tmp_path: Path) -> None:
    p = tmp_path / "k.npz"
    save_npz(p, kind="K", version=3, arrays={"a": np.array(["u", "vv"])}, meta={"n": 1})
    arrays, meta = load_npz(p, kind="K", versions=(3,))
    assert arrays["a"].tolist() == ["u", "vv"] and meta == {"n": 1, "__kind__": "K"}
    with pytest.raises(FormatError, match="holds a 'K', not a 'L'"):
        load_npz(p, kind="L", versions=(3,))
    with pytest.raises(FormatError, match="reads \\[1, 2\\]"):
        load_npz(p, kind="K", versions=(1, 2))
    assert zipfile.is_zipfile(p)
