"""Bad input to the ingestion entries raises a typed error naming the argument.

Issue 12, defect 9 (data parts): duplicate column names, a non-DataFrame passed
to ``from_pandas`` and a corrupt Parquet file crashed with bare AttributeError /
ArrowInvalid; other entries did the same on None, dicts, strs and 2-D arrays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onetoone import (
    Catalogue,
    FormatError,
    IdIndex,
    OneToOneError,
    Transactions,
    ValidationError,
    build_profiles,
)
from onetoone.data import customer_item_matrix
from onetoone.datasets import Table, hillstrom, synthetic_transactions
from onetoone.measurement import assign_holdout, hash_unit

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

GOOD: dict[str, Any] = {
    "customer": [1, 2],
    "item": [1, 2],
    "timestamp": ["2024-01-01", "2024-01-02"],
    "value": [1.0, 2.0],
}


def _df(**over: Any) -> Any:
    return pd.DataFrame(GOOD | over)


def _tbl(**over: Any) -> Any:
    return pa.table(GOOD | over)


# ------------------------------------------------------------------ from_pandas


@pytest.mark.parametrize(
    "df", [None, {"customer": [1]}, "lines.parquet", [1, 2], np.zeros(3)], ids=repr
)
def test_from_pandas_refuses_a_non_dataframe(df: Any) -> None:
    with pytest.raises(ValidationError, match="df must be a pandas DataFrame") as info:
        Transactions.from_pandas(df)
    assert info.value.field == "df"


def test_from_pandas_refuses_an_arrow_table_and_points_to_from_arrow() -> None:
    with pytest.raises(ValidationError, match="use Transactions.from_arrow"):
        Transactions.from_pandas(_tbl())


@pytest.mark.parametrize("dup", ["value", "customer"])
def test_from_pandas_duplicate_column_names(dup: str) -> None:
    df = _df()
    df = pd.concat([df, df[[dup]]], axis=1)  # two columns named dup
    with pytest.raises(ValidationError, match=rf"used more than once .*\['{dup}'\]") as info:
        Transactions.from_pandas(df)
    assert info.value.field == dup


def test_duplicate_column_not_requested_is_harmless() -> None:
    df = pd.concat([_df(), pd.DataFrame({"x": [0, 0]}), pd.DataFrame({"x": [1, 1]})], axis=1)
    assert Transactions.from_pandas(df).n_rows == 2


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"quantity": 3}, "quantity"),
        ({"customer": ["customer"]}, "customer"),
        ({"customer": None}, "customer"),
        ({"discount": [1]}, "discount"),
    ],
    ids=repr,
)
def test_column_arguments_must_be_names(kw: dict[str, Any], field: str) -> None:
    for build in (
        lambda: Transactions.from_pandas(_df(), **kw),
        lambda: Transactions.from_arrow(_tbl(), **kw),
    ):
        with pytest.raises(ValidationError, match=f"{field}= must name a column") as info:
            build()
        assert info.value.field == field


def test_unknown_keyword_is_a_type_error() -> None:
    # the policies are explicit keyword-only parameters, so a typo fails at the call
    # (and in the type checker): no **policies swallows it
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        Transactions.from_pandas(_df(), bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'quantiy'"):
        Transactions.from_arrow(_tbl(), quantiy="q")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"value": ["a", "b"]}, "value", "must be numeric"),
        ({"value": [{"a": 1}, {}]}, "value", "must be numeric"),
        ({"timestamp": [1, 2]}, "timestamp", "epoch seconds"),
        ({"customer": [1.5, 2.0]}, "customer", "non-integer floats"),
        ({"customer": [[1], [2]]}, "customer", "holds list values"),
        ({"customer": [True, False]}, "customer", "booleans"),
        ({"customer": [1, "1"]}, "customer", "mixes id types"),
    ],
    ids=repr,
)
def test_wrong_column_types_from_pandas(over: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Transactions.from_pandas(_df(**over))
    assert info.value.field == field


# ------------------------------------------------------------------ from_arrow


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"value": ["a", "b"]}, "value", "must be numeric"),
        ({"timestamp": [1, 2]}, "timestamp", "epoch seconds"),
        ({"customer": [[1], [2]]}, "customer", "holds ndarray values"),
        ({"customer": [{"a": 1}, {"a": 2}]}, "customer", "holds dict values"),
        ({"customer": pa.array([b"a", b"b"])}, "customer", "bytes"),
        ({"customer": [True, False]}, "customer", "booleans"),
        ({"customer": pa.array([Decimal(1), Decimal(2)])}, "customer", "holds decimals"),
    ],
    ids=repr,
)
def test_wrong_column_types_from_arrow(over: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Transactions.from_arrow(_tbl(**over))
    assert info.value.field == field


def test_decimal_values_are_read_as_floats() -> None:
    tx = Transactions.from_arrow(_tbl(value=pa.array([Decimal("1.25"), Decimal("2.50")])))
    assert sorted(tx.value.tolist()) == [1.25, 2.5]


def test_from_arrow_duplicate_column_names() -> None:
    t = pa.Table.from_arrays(
        [pa.array([1, 2]), pa.array([1, 2]), pa.array(GOOD["timestamp"]), pa.array([1.0, 2.0])],
        names=["customer", "customer", "timestamp", "value"],
    )
    with pytest.raises(ValidationError, match="used more than once") as info:
        Transactions.from_arrow(t, item="customer")
    assert info.value.field == "customer"


@pytest.mark.parametrize("table", [None, {"customer": [1]}, "x.parquet", [1], np.zeros(2)])
def test_from_arrow_non_table(table: Any) -> None:
    with pytest.raises(ValidationError, match="as an Arrow table") as info:
        Transactions.from_arrow(table)
    assert info.value.field == "table"


# ------------------------------------------------------------------ from_parquet


def _good_parquet(path: Path) -> bytes:
    pq.write_table(_tbl(), path)
    return path.read_bytes()


@pytest.mark.parametrize(
    "content", [b"", b"not parquet at all", b"PAR1", b"PAR1\x00\x00PAR1"], ids=repr
)
def test_from_parquet_not_parquet_is_a_format_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.parquet"
    p.write_bytes(content)
    with pytest.raises(FormatError, match="bad.parquet.*is not a readable Parquet file"):
        Transactions.from_parquet(p)


def test_from_parquet_missing_column_names_it(tmp_path: Path) -> None:
    p = tmp_path / "g.parquet"
    _good_parquet(p)
    with pytest.raises(ValidationError, match=r"columns \['qty'\] are not in the Parquet file"):
        Transactions.from_parquet(p, quantity="qty")


@pytest.mark.parametrize("path", [None, 3, ["a.parquet"]], ids=repr)
def test_from_parquet_path_type(path: Any) -> None:
    with pytest.raises(ValidationError, match="path must be a str or os.PathLike") as info:
        Transactions.from_parquet(path)
    assert info.value.field == "path"


def test_from_parquet_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Parquet file"):
        Transactions.from_parquet(tmp_path / "nope.parquet")


_CHILD = textwrap.dedent(
    """
    import json, sys
    from onetoone import FormatError, OneToOneError, Transactions
    counts = {"ok": 0, "format": 0, "other_typed": 0}
    for path in sys.argv[1:]:
        try:
            Transactions.from_parquet(path)
            counts["ok"] += 1
        except FormatError:
            counts["format"] += 1
        except OneToOneError:
            counts["other_typed"] += 1
    print(json.dumps(counts))
    """
)


def test_truncated_and_corrupted_parquet_never_crash_the_process(tmp_path: Path) -> None:
    """Every truncation and many byte flips: a typed error or a valid log, in a child."""
    raw = _good_parquet(tmp_path / "good.parquet")
    rng = np.random.default_rng(0)
    paths = []
    for cut in sorted({*range(0, len(raw), max(1, len(raw) // 60)), len(raw) - 1}):
        p = tmp_path / f"cut{cut}.parquet"
        p.write_bytes(raw[:cut])
        paths.append(str(p))
    for k in range(60):
        b = bytearray(raw)
        for pos in rng.integers(0, len(b), 4):
            b[pos] = int(rng.integers(0, 256))
        p = tmp_path / f"flip{k}.parquet"
        p.write_bytes(bytes(b))
        paths.append(str(p))
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, *paths],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    assert sum(counts.values()) == len(paths)
    assert counts["format"] >= 60  # every truncation at least


# ------------------------------------------------------------------ from_arrays and friends

BAD_COLUMNS: list[Any] = [None, {"a": 1}, "lines.csv", np.ones((2, 1))]


@pytest.mark.parametrize("bad", BAD_COLUMNS, ids=repr)
@pytest.mark.parametrize("column", ["customer", "item", "timestamp", "value", "quantity", "basket"])
def test_from_arrays_bad_column_types(column: str, bad: Any) -> None:
    if bad is None and column in ("quantity", "basket"):
        return  # None means "not given" for the optional columns
    with pytest.raises(ValidationError) as info:
        Transactions.from_arrays(**(GOOD | {column: bad}))
    assert info.value.field == column
    assert column in str(info.value)


def test_from_arrays_complex_values_refused() -> None:
    with pytest.raises(ValidationError, match="must be real numbers, got complex"):
        Transactions.from_arrays(**(GOOD | {"value": [1j, 2j]}))


@pytest.mark.parametrize("arg", ["customers", "items"])
def test_from_arrays_indexes_must_be_idindex(arg: str) -> None:
    with pytest.raises(ValidationError, match=f"{arg} must be an IdIndex") as info:
        Transactions.from_arrays(**GOOD, **{arg: [1, 2]})
    assert info.value.field == arg


@pytest.mark.parametrize("bad", [None, {"a": 1}, "abc"], ids=repr)
def test_catalogue_and_idindex_bad_types(bad: Any) -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: Catalogue.from_arrays(item=bad, category=["a"]), "item"),
        (lambda: Catalogue.from_arrays(item=[1], category=bad), "category"),
        (lambda: IdIndex.from_values(bad), "ids"),
        (lambda: IdIndex.from_values([1]).encode(bad, field="q"), "q"),
        (lambda: assign_holdout(bad, fraction=0.5, salt="s"), "customer_ids"),
        (lambda: hash_unit(bad, salt="s"), "customer_ids"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field


def test_catalogue_from_pandas_errors() -> None:
    with pytest.raises(ValidationError, match="df must be a pandas DataFrame"):
        Catalogue.from_pandas(None)
    with pytest.raises(ValidationError, match=r"columns \['category'\] are not in") as info:
        Catalogue.from_pandas(pd.DataFrame({"item": [1]}))
    assert info.value.field == "category"
    dup = pd.DataFrame([[1, "a", "b"]], columns=["item", "category", "category"])
    with pytest.raises(ValidationError, match="used more than once"):
        Catalogue.from_pandas(dup)


def test_encode_unknown_policy_checked() -> None:
    idx = IdIndex.from_values([1])
    with pytest.raises(ValidationError, match="IdIndex.encode cannot drop unknown ids") as info:
        idx.encode([1], unknown="drop")  # type: ignore[arg-type]
    assert info.value.field == "unknown"
    with pytest.raises(ValidationError, match="unknown must be one of 'raise', 'drop', 'keep'"):
        idx.encode([1], unknown="ignore")  # type: ignore[arg-type]


def test_ingestion_refuses_unknown_keep() -> None:
    known = IdIndex.from_values([1])
    for build in (
        lambda: Transactions.from_arrays(
            customer=[1], item=[1], timestamp=["2024-01-01"], value=[1.0],
            customers=known, unknown="keep",  # type: ignore[arg-type]
        ),
        lambda: Transactions.from_pandas(_df(), unknown="keep"),  # type: ignore[arg-type]
        lambda: Transactions.from_arrow(_tbl(), unknown="keep"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValidationError, match="unknown='keep' is not possible") as info:
            build()
        assert info.value.field == "unknown"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"invalid": "drp"}, "invalid must be one of 'raise', 'drop'; got 'drp'"),
        ({"returns": "skip"}, "returns must be one of"),
        ({"zero_quantity": 0}, "zero_quantity must be one of"),
        ({"unknown": "ignore"}, "unknown must be one of 'raise', 'drop'"),
        ({"customers": [1, 2]}, "customers must be an IdIndex"),
    ],
    ids=repr,
)
def test_policies_are_checked_before_reading(kw: dict[str, Any], match: str) -> None:
    field = next(iter(kw))
    for build in (
        lambda: Transactions.from_pandas("not a frame", **kw),  # type: ignore[arg-type]
        lambda: Transactions.from_arrow("not a table", **kw),
        lambda: Transactions.from_parquet("/no/such/file.parquet", **kw),
    ):
        with pytest.raises(ValidationError, match=match) as info:
            build()
        assert info.value.field == field


@pytest.mark.parametrize("bad", [None, "tx", {"a": 1}], ids=repr)
def test_stage_entries_need_a_transactions_log(bad: Any) -> None:
    with pytest.raises(ValidationError, match="must be a Transactions log"):
        build_profiles(bad, as_of="2024-01-01")
    with pytest.raises(ValidationError, match="must be a Transactions log"):
        customer_item_matrix(bad)


def test_build_profiles_catalogue_type() -> None:
    tx = Transactions.from_arrays(**GOOD)
    with pytest.raises(ValidationError, match="catalogue must be a Catalogue") as info:
        build_profiles(tx, as_of="2024-02-01", catalogue="x")  # type: ignore[arg-type]
    assert info.value.field == "catalogue"


# ------------------------------------------------------------------ datasets


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"n_customers": "a"}, "n_customers"),
        ({"n_customers": None}, "n_customers"),
        ({"n_customers": 1e308}, "n_customers"),
        ({"n_items": 0}, "n_items"),
        ({"n_days": True}, "n_days"),
        ({"visits_per_customer": -1.0}, "visits_per_customer"),
        ({"lines_per_basket": 0.0}, "lines_per_basket"),
        ({"lines_per_basket": float("nan")}, "lines_per_basket"),
    ],
    ids=repr,
)
def test_synthetic_transactions_arguments(kw: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"n_customers": 5, "n_items": 5} | kw
    with pytest.raises(ValidationError) as info:
        synthetic_transactions(**args)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        ("", OneToOneError, "has no rows"),
        ("recency,history\n", OneToOneError, "has no rows"),
        ("recency,history\n1,2\n3\n", FormatError, r"1 row\(s\) do not have 2 fields"),
        ("recency,history\nx,2\n", FormatError, "column 'recency' is not numeric"),
    ],
    ids=repr,
)
def test_hillstrom_bad_files(tmp_path: Path, content: str, error: type, match: str) -> None:
    p = tmp_path / "h.csv"
    p.write_text(content)
    with pytest.raises(error, match=match):
        hillstrom(p)


def test_hillstrom_binary_file_and_path_type(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(FormatError, match="not a text CSV"):
        hillstrom(p)
    with pytest.raises(ValidationError, match="path must be a str") as info:
        hillstrom(3)  # type: ignore[arg-type]
    assert info.value.field == "path"


def test_table_validates_its_columns() -> None:
    t = Table({"a": [1, 2]})
    assert isinstance(t["a"], np.ndarray) and not t["a"].flags.writeable
    with pytest.raises(ValidationError, match="must be one-dimensional"):
        Table({"a": np.ones((2, 2))})
    with pytest.raises(ValidationError, match="columns must be a mapping"):
        Table([1, 2])  # type: ignore[arg-type]
