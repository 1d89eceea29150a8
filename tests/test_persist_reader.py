"""The spec-driven archive reader of onetoone._persist: every check, in isolation.

Each test builds a small archive by hand (the way an attacker would) and pins the
FormatError the reader raises; the memory tests prove that nothing is
decompressed or allocated beyond what the validated sizes allow.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone._persist import (
    Field,
    Member,
    check_suffix,
    csr_members,
    load_npz,
    pack_csr,
    save_npz,
    unpack_csr,
)
from onetoone.errors import FormatError, ValidationError

_spec = importlib.util.spec_from_file_location(
    "onetoone_fuzz_files", Path(__file__).resolve().parents[1] / "fuzz" / "files.py"
)
assert _spec is not None and _spec.loader is not None
fz = importlib.util.module_from_spec(_spec)
sys.modules["onetoone_fuzz_files"] = fz
_spec.loader.exec_module(fz)

FIELDS = {
    "n": Field("int", lo=0, hi=1000, size="n"),
    "x": Field("float", lo=0.0),
    "ok": Field("bool"),
    "name": Field("str", choices=("a", "b")),
    "tags": Field("strs", unique=True, size="n_tags"),
    "opt": Field("float", nullable=True),
    "sub": Field("dict", fields={"k": Field("int", lo=1)}),
}
MEMBERS = {
    "a": Member("f", ("n",), dtype="float64", lo=0.0),
    "codes": Member("iu", ("m",), dtype="int32", lo=0, hi="n-1"),
    "t": Member("fiu", ("n_tags", 2), dtype="float64"),
    "cap": Member("f", ("n",), posinf=True),
    "ids": Member("iuU", ("n",)),
    "extra_opt": Member("f", (3,), required=False),
}
META: dict[str, Any] = {
    "n": 3,
    "x": 1.5,
    "ok": True,
    "name": "a",
    "tags": ["p", "q"],
    "opt": None,
    "sub": {"k": 2},
}


def _arrays() -> dict[str, Any]:
    return {
        "a": np.array([0.0, 1.0, 2.0]),
        "codes": np.array([0, 2, 2, 1], dtype=np.int32),
        "t": np.ones((2, 2)),
        "cap": np.array([1.0, np.inf, 0.0]),
        "ids": np.array(["u", "v", "w"]),
    }


def _good(tmp_path: Path) -> Path:
    path = tmp_path / "good.npz"
    save_npz(path, kind="Demo", version=1, arrays=_arrays(), meta=META)
    return path


def _load(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return load_npz(path, kind="Demo", versions=(1,), fields=FIELDS, members=MEMBERS)


def test_valid_file_round_trips_with_target_dtypes(tmp_path: Path) -> None:
    arrays, meta = _load(_good(tmp_path))
    assert meta == {**META, "__kind__": "Demo"}
    assert arrays["codes"].dtype == np.int32 and arrays["t"].dtype == np.float64
    assert np.isinf(arrays["cap"][1])
    assert arrays["ids"].tolist() == ["u", "v", "w"]
    assert "extra_opt" not in arrays
    # stored (uncompressed) archives and big-endian members read the same
    stored = tmp_path / "stored.npz"
    fz.write_archive(
        stored, list(fz.read_members(_good(tmp_path)).items()), compress=zipfile.ZIP_STORED
    )
    np.testing.assert_array_equal(_load(stored)[0]["a"], arrays["a"])
    big = tmp_path / "big.npz"
    fz.rewrite(_good(tmp_path), big, arrays={"a": arrays["a"].astype(">f8")})
    np.testing.assert_array_equal(_load(big)[0]["a"], arrays["a"])


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("n", "abc", r"meta\.n must be an integer in \[0, 1000\], got 'abc'"),
        ("n", True, r"meta\.n must be an integer"),
        ("n", 3.0, r"meta\.n must be an integer"),
        ("n", -1, r"meta\.n must be an integer in \[0, 1000\], got -1"),
        ("n", 10**13, r"meta\.n must be an integer"),
        ("x", "abc", r"meta\.x must be a number"),
        ("x", -5, r"meta\.x must be a finite number in \[0.0, None\], got -5"),
        ("x", 10**400, r"meta\.x must be a finite number"),
        ("x", False, r"meta\.x must be a number"),
        ("x", None, r"meta\.x must be a number"),
        ("ok", 1, r"meta\.ok must be true or false"),
        ("name", "c", r"meta\.name must be one of \['a', 'b'\]"),
        ("name", 5, r"meta\.name must be a string"),
        ("tags", ["p", "p"], r"meta\.tags must be a list of distinct strings"),
        ("tags", ["p", 1], r"meta\.tags must be a list of strings"),
        ("tags", "pq", r"meta\.tags must be a list of strings"),
        ("sub", {"k": 0}, r"meta\.sub\.k must be an integer"),
        ("sub", {"k": 1, "z": 1}, r"meta\.sub has unknown \['z'\]"),
        ("sub", [], r"meta\.sub is not a JSON object"),
    ],
)
def test_header_fields_are_typed_and_ranged(
    tmp_path: Path, key: str, value: Any, match: str
) -> None:
    bad = tmp_path / "bad.npz"

    def edit(h: dict[str, Any]) -> None:
        h["meta"][key] = value

    fz.rewrite(_good(tmp_path), bad, header=edit)
    with pytest.raises(FormatError, match=match):
        _load(bad)


def test_header_keys_and_json(tmp_path: Path) -> None:
    good = _good(tmp_path)
    bad = tmp_path / "bad.npz"
    cases: list[tuple[Any, str]] = [
        (lambda h: h["meta"].pop("x") and None, r"has missing \['x'\] field"),
        (lambda h: h["meta"].update(extra=1), r"has unknown \['extra'\] field"),
        (lambda h: h.update(more=1), r"unknown key\(s\) \['more'\]"),
        (lambda h: h.update(format_version=True), "format_version True"),
        (lambda h: h.update(format_version=1.0), "format_version 1.0"),
        (lambda h: h.update(format_version="1"), "format_version '1'"),
        (lambda h: h.update(kind=["Demo"]), r"holds a \['Demo'\], not a 'Demo'"),
        (lambda h: h.update(format="other"), "does not mark a onetoone file"),
        (lambda h: [h], "not a JSON object"),
        (lambda h: json.dumps(h).replace("1.5", "NaN").encode(), "NaN is not a JSON number"),
        (lambda h: json.dumps(h).replace('"x":', '"x": 1, "x":').encode(), "appears twice"),
        (lambda h: b"\xff" + json.dumps(h).encode(), "not valid JSON"),
        (lambda h: b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (lambda h: b'{"format_version": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    ]
    for edit, match in cases:
        fz.rewrite(good, bad, header=edit)
        with pytest.raises(FormatError, match=match):
            _load(bad)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("a", np.array(["0", "1", "2"]), "'a' has dtype <U1; expected float"),
        ("a", np.array([0, 1, 2], dtype=complex), "'a' has dtype complex128; expected float"),
        ("a", np.array([{}, {}, {}], dtype=object), "'a' has dtype object"),
        ("a", np.zeros(3, dtype=[("p", "<f8")]), "'a' has dtype"),
        ("a", np.array([0.0, np.nan, 1.0]), "'a' holds 1 value\\(s\\) not finite"),
        ("a", np.array([0.0, np.inf, 1.0]), "'a' holds 1 value\\(s\\) not finite"),
        ("cap", np.array([0.0, -np.inf, 1.0]), "'cap' holds 1 value\\(s\\) not finite or \\+inf"),
        ("a", np.array([0.0, -1.0, 1.0]), "'a' holds -1.0, below the allowed minimum 0"),
        ("a", np.zeros(4), r"'a' has 4 entries along axis 0, expected 3 \(n\)"),
        ("a", np.zeros((3, 1)), "'a' has 2 dimension\\(s\\), expected 1"),
        ("a", np.float64(1.0), "'a' has 0 dimension\\(s\\), expected 1"),
        ("codes", np.array([0, 3]), "'codes' holds 3, above the allowed maximum 2"),
        ("codes", np.array([2**40, 0]), "'codes' holds 1099511627776, above"),
        ("codes", np.array([1.0, 0.0]), "'codes' has dtype float64; expected int or uint"),
        ("codes", np.array([True, False]), "'codes' has dtype bool"),
        ("t", np.ones((3, 2)), r"'t' has 3 entries along axis 0, expected 2 \(n_tags\)"),
        ("t", np.array([[1, 2], [3, 2**60]], dtype=np.int64), None),
        ("ids", np.array(["2024"], dtype="datetime64[D]"), "'ids' has dtype datetime64"),
        ("extra_opt", np.zeros(4), r"'extra_opt' has 4 entries along axis 0, expected 3"),
    ],
)
def test_members_are_checked(tmp_path: Path, name: str, value: Any, match: str | None) -> None:
    bad = tmp_path / "bad.npz"
    fz.rewrite(_good(tmp_path), bad, arrays={name: value})
    if match is None:  # accepted: converted to the spec's dtype
        assert _load(bad)[0][name].dtype == np.float64
        return
    with pytest.raises(FormatError, match=match):
        _load(bad)


def test_archive_structure(tmp_path: Path) -> None:
    good = _good(tmp_path)
    members = fz.read_members(good)
    bad = tmp_path / "bad.npz"
    fz.rewrite(good, bad, drop=("codes",))
    with pytest.raises(FormatError, match="missing part 'codes'"):
        _load(bad)
    fz.write_archive(bad, [*members.items(), ("a", members["a"])])
    with pytest.raises(FormatError, match="'a.npy' appears twice"):
        _load(bad)
    fz.write_archive(bad, [*members.items(), ("../evil", members["a"])])
    with pytest.raises(FormatError, match="unexpected archive member"):
        _load(bad)
    with zipfile.ZipFile(bad, "w") as zf:
        for k, v in members.items():
            zf.writestr(k + ".npy", v)
        zf.writestr("readme.txt", "hi")
    with pytest.raises(FormatError, match="unexpected archive member 'readme.txt'"):
        _load(bad)
    fz.write_archive(bad, [(k, v) for k, v in members.items() if k != "__onetoone_meta__"])
    with pytest.raises(FormatError, match="no onetoone header"):
        _load(bad)
    fz.rewrite(good, bad, raw={"a": members["a"][:-8]})
    with pytest.raises(
        FormatError, match=r"'a' declares 144 bytes but its shape \(3,\) of float64 needs 152"
    ):
        _load(bad)
    fz.rewrite(good, bad, raw={"a": b"not an npy file at all"})
    with pytest.raises(FormatError, match="'a' is not a .npy array"):
        _load(bad)
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        bad.write_bytes(data[:cut])
        with pytest.raises(FormatError):
            _load(bad)
    with pytest.raises(FileNotFoundError):
        _load(tmp_path / "absent.npz")


def test_unknown_member_is_refused_before_decompressing(tmp_path: Path) -> None:
    """Regression (issue 12, defect 7): a 68 KB file raised peak memory by 64 MiB."""
    bomb = tmp_path / "bomb.npz"
    members = list(fz.read_members(_good(tmp_path)).items())
    fz.write_archive(bomb, [*members, ("padding", fz.npy_bytes(np.zeros(8 << 20)))])
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="unknown archive member 'padding.npy'"):
            _load(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak:,} bytes"


def test_known_member_bomb_is_bounded_by_the_validated_shape(tmp_path: Path) -> None:
    # 64 MiB of zeros under a known name whose size the header fixes at 3
    bomb = tmp_path / "bomb.npz"
    members = fz.read_members(_good(tmp_path))
    members["a"] = fz.npy_bytes(np.zeros(8 << 20))
    fz.write_archive(bomb, list(members.items()))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"'a' has 8,388,608 entries .* expected 3"):
            _load(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak:,} bytes"


@pytest.mark.parametrize("shape", [(10**13,), (2**62,), (3, 10**12)])
def test_huge_declared_shape_is_a_format_error(tmp_path: Path, shape: tuple[int, ...]) -> None:
    """Regression (defect 7): a declared shape of 1e13 raised a bare MemoryError."""
    bad = tmp_path / "bad.npz"
    # an unbound size ("m" of codes) and a bound one ("n" of a)
    for name in ("codes", "a"):
        fz.rewrite(_good(tmp_path), bad, raw={name: fz.huge_npy(shape, "<i4", b"\0" * 64)})
        with pytest.raises(FormatError):
            _load(bad)


def test_declared_sizes_beyond_the_deflate_ratio_are_refused(tmp_path: Path) -> None:
    good = _good(tmp_path)
    data = bytearray(good.read_bytes())
    # raise the declared uncompressed size of the first member in the central directory
    cd = data.rfind(b"PK\x01\x02")
    first = data.find(b"PK\x01\x02")
    assert first <= cd
    data[first + 24 : first + 28] = (2**31).to_bytes(4, "little")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="zip bomb"):
        _load(bad)


def test_generic_mode_reads_any_plain_member(tmp_path: Path) -> None:
    p = tmp_path / "k.npz"
    save_npz(p, kind="K", version=3, arrays={"a": np.array(["u", "vv"])}, meta={"n": 1})
    arrays, meta = load_npz(p, kind="K", versions=(3,))
    assert arrays["a"].tolist() == ["u", "vv"] and meta == {"n": 1, "__kind__": "K"}
    bad = tmp_path / "obj.npz"
    fz.rewrite(p, bad, arrays={"a": np.array([{}], dtype=object)})
    with pytest.raises(FormatError, match="'a' has dtype object"):
        load_npz(bad, kind="K", versions=(3,))


@pytest.mark.parametrize("name", ["x.parquet", "x.NPZ.csv", "x", "dir.npz/x.json"])
def test_check_suffix_refuses_other_formats(name: str) -> None:
    with pytest.raises(ValidationError, match="writes a .npz archive") as e:
        check_suffix(name, what="saving a K", hint="try this")
    assert e.value.field == "path" and name in str(e.value) and "try this" in str(e.value)
    assert check_suffix("a/b.NPZ", what="x") == "a/b.NPZ"


# --------------------------------------------------------------------------- CSR
def _csr_arrays() -> dict[str, Any]:
    m = sp.csr_array(np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]))
    return pack_csr("r", m)


@pytest.mark.parametrize(
    ("part", "value", "match"),
    [
        ("indices", [1, 2, -1000000, 2], "column indices must lie in 0..2"),
        ("indices", [1, 2, 1000000, 2], "column indices must lie in 0..2"),
        ("indices", [2, 1, 0, 2], "increase strictly within each row"),
        ("indices", [1, 1, 0, 2], "increase strictly within each row"),
        ("indptr", [0, 2, 1, 4], "never decrease"),
        ("indptr", [1, 2, 2, 4], "start at 0"),
        ("indptr", [0, 2, 2, 3], "end at the number of values"),
        ("indptr", [0, 2, 4], "indptr has 3 entries, expected 4"),
        ("data", [1.0, np.nan, 3.0, 4.0], "NaN or infinite"),
        ("data", [1.0, 2.0, 3.0], "3 indices for 4 values|4 indices for 3 values"),
        ("data", ["a", "b", "c", "d"], "data is not a 1-D array of floats"),
        ("shape", [3, 3, 3], "its shape is not two integers"),
        ("shape", [3, 2], "differs from the expected \\(3, 3\\)"),
        ("shape", [-3, 3], "out of range"),
    ],
)
def test_unpack_csr_refuses_corrupt_structure(part: str, value: Any, match: str) -> None:
    """Regression (issue 12, defect 1): scipy trusts these arrays and crashes on them."""
    arrays = _csr_arrays()
    arrays[f"r.{part}"] = np.asarray(value)
    with pytest.raises(FormatError, match=match):
        unpack_csr("r", arrays, shape=(3, 3))


def test_unpack_csr_round_trip_and_missing_part() -> None:
    arrays = _csr_arrays()
    m = unpack_csr("r", arrays, shape=(3, 3))
    np.testing.assert_array_equal(m.toarray(), [[0, 1, 2], [0, 0, 0], [3, 0, 4]])
    assert m.has_canonical_format
    del arrays["r.indptr"]
    with pytest.raises(FormatError, match="incomplete"):
        unpack_csr("r", arrays)


@settings(max_examples=200, deadline=None)
@given(
    indices=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=4, max_size=4),
    indptr=st.lists(st.integers(-5, 10), min_size=4, max_size=4),
)
def test_unpack_csr_property(indices: list[int], indptr: list[int]) -> None:
    """Any indices / indptr: a FormatError, or a matrix scipy can use safely."""
    arrays = _csr_arrays()
    arrays["r.indices"] = np.array(indices, dtype=np.int64)
    arrays["r.indptr"] = np.array(indptr, dtype=np.int64)
    try:
        m = unpack_csr("r", arrays, shape=(3, 3))
    except FormatError:
        return
    dense = (m @ sp.csr_array(np.eye(3))).toarray()  # scipy's product: would crash if unsafe
    np.testing.assert_array_equal(dense, m.toarray())
    assert sorted(m.indices.tolist()) == sorted(indices)


def test_csr_members_spec_reads_a_saved_matrix(tmp_path: Path) -> None:
    p = tmp_path / "m.npz"
    save_npz(p, kind="M", version=1, arrays=_csr_arrays(), meta={"r": 3, "c": 3})
    spec_f = {"r": Field("int", size="rows"), "c": Field("int", size="cols")}
    arrays, _ = load_npz(
        p, kind="M", versions=(1,), fields=spec_f, members=csr_members("r", "rows", "cols")
    )
    assert unpack_csr("r", arrays, shape=(3, 3)).nnz == 4


def test_fuzz_helpers_write_what_they_say(tmp_path: Path) -> None:
    raw = fz.huge_npy((10**13,), "<f8", b"")
    version = np.lib.format.read_magic(io.BytesIO(raw))
    assert version == (1, 0)
