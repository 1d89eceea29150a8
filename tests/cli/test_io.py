"""onetoone.io: Parquet, CSV and Arrow IPC in and out, atomic writes, clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from onetoone.errors import FormatError, ValidationError
from onetoone.io import FORMATS, format_of, read_table, write_table

pa = pytest.importorskip("pyarrow")


def _table() -> object:
    return pa.table({
        "customer": pa.array([1, 2, 2**63 + 5], type=pa.uint64()),
        "item": ["a", "b", "é"],
        "value": [1.5, float("nan"), -0.0],
        "timestamp": pa.array(np.array(["2024-01-01T10:00", "2024-01-02", "2024-02-29"],
                                       dtype="datetime64[s]")),
    })


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".arrow", ".feather", ".ipc"])
def test_binary_formats_round_trip_exactly(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    table = _table().replace_schema_metadata({b"onetoone": b"{}"})
    write_table(table, path)
    back = read_table(path)
    assert back.schema.metadata == {b"onetoone": b"{}"}
    for name in ("customer", "item", "timestamp"):  # Parquet keeps seconds as ms
        assert back.column(name).to_pylist() == table.column(name).to_pylist()
    value = back.column("value").to_numpy()
    assert value[0] == 1.5 and np.isnan(value[1]) and np.signbit(value[2])


def test_csv_round_trips_values(tmp_path):
    path = tmp_path / "t.csv"
    write_table(_table(), path)
    back = read_table(path)
    assert back.column("customer").to_pylist() == [1, 2, 2**63 + 5]
    assert back.column("item").to_pylist() == ["a", "b", "é"]
    assert back.column("value").to_pylist()[0] == 1.5
    assert back.column("customer").type == pa.uint64()


def test_csv_keeps_true_floats_and_small_ints(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,1.5,\n2,2.0,x\n")
    back = read_table(path)
    assert back.column("a").type == pa.int64() and back.column("b").to_pylist() == [1.5, 2.0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_overrides_the_suffix(tmp_path, fmt):
    path = tmp_path / "table.dat"
    write_table(_table(), path, fmt)
    assert read_table(path, fmt).num_rows == 3


def test_format_errors_name_the_fix(tmp_path):
    with pytest.raises(ValidationError, match="cannot tell the format of 'x.txt'") as info:
        format_of(tmp_path / "x.txt")
    assert info.value.field == "format"
    with pytest.raises(ValidationError, match="format must be one of"):
        format_of("x.csv", "xlsx")
    with pytest.raises(ValidationError, match="path must be a str"):
        format_of(b"x.csv")  # type: ignore[arg-type]


def test_reading_a_missing_or_damaged_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "none.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(FormatError, match="cannot read .*bad.parquet as parquet"):
        read_table(bad)
    (tmp_path / "bad.arrow").write_bytes(b"\x00" * 10)
    with pytest.raises(FormatError, match="as arrow"):
        read_table(tmp_path / "bad.arrow")


def test_write_refuses_what_is_not_a_table(tmp_path):
    with pytest.raises(ValidationError, match="table must be a pyarrow.Table, got dict"):
        write_table({"a": [1]}, tmp_path / "t.parquet")
    with pytest.raises(FileNotFoundError, match="create it first"):
        write_table(_table(), tmp_path / "missing" / "t.parquet")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "plan.parquet"
    write_table(_table(), path)
    before = path.read_bytes()
    import pyarrow.parquet as pq

    def broken(table: object, where: str) -> None:
        with open(where, "wb") as f:
            f.write(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table(_table().slice(0, 1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["plan.parquet"]


def test_written_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(_table(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
