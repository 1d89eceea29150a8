from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import (
    Catalogue,
    EmptyInputError,
    IdIndex,
    LengthMismatchError,
    Transactions,
    UnknownIdError,
    ValidationError,
)
from onetoone.data import customer_item_matrix
from onetoone.errors import OneToOneDeprecationWarning

# ----------------------------------------------------------------- IdIndex


@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=50))
def test_idindex_int_round_trip(ids: list[int]) -> None:
    idx, codes = IdIndex.factorize(ids)
    assert idx.decode(codes).tolist() == ids
    assert np.array_equal(idx.encode(ids), codes)
    assert len(idx) == len(set(ids))
    assert codes.dtype == np.int32


@given(
    st.lists(
        st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=8),
        min_size=1,
        max_size=50,
    )
)
def test_idindex_str_round_trip(ids: list[str]) -> None:
    idx, codes = IdIndex.factorize(np.array(ids, dtype=object))
    assert idx.decode(codes).tolist() == ids
    assert idx.kind == "str"


def test_idindex_codes_do_not_depend_on_input_order() -> None:
    assert IdIndex.from_values([3, 1, 2]) == IdIndex.from_values([2, 3, 1, 1])
    assert IdIndex.from_values([1, 2]) != IdIndex.from_values([1, 3])


def test_idindex_unknown_ids() -> None:
    idx = IdIndex.from_values([10, 20])
    with pytest.raises(UnknownIdError, match=r"1 id\(s\) not in the index, e.g. \[15\]"):
        idx.encode([10, 15])
    assert idx.encode([10, 15, 99], unknown="keep").tolist() == [0, -1, -1]
    assert 10 in idx and 15 not in idx and "x" not in idx
    with pytest.raises(UnknownIdError, match="pass unknown='keep' to get code -1"):
        idx.encode([15])


def test_idindex_encode_old_mask_value_warns_and_keeps() -> None:
    idx = IdIndex.from_values([10, 20])
    with pytest.warns(OneToOneDeprecationWarning, match="'mask' is renamed 'keep'"):
        codes = idx.encode([20, 99], unknown="mask")  # type: ignore[arg-type]
    assert codes.tolist() == [1, -1]


def test_idindex_decode_out_of_range() -> None:
    with pytest.raises(UnknownIdError, match="codes must lie in 0..1"):
        IdIndex.from_values([1, 2]).decode([2])


def test_idindex_rejects_mixed_and_wrong_types() -> None:
    with pytest.raises(ValidationError, match="mixes id types"):
        IdIndex.from_values(np.array([1, "a"], dtype=object))
    with pytest.raises(ValidationError, match="non-integer floats"):
        IdIndex.from_values([1.5, 2.0])
    with pytest.raises(ValidationError, match="are strings but the index holds ints"):
        IdIndex.from_values([1, 2]).encode(["1"])
    with pytest.raises(ValidationError, match="sorted and unique"):
        IdIndex(np.array([2, 1]))


# ----------------------------------------------------------------- Transactions


def _cols(**over: Any) -> dict[str, Any]:
    cols: dict[str, Any] = {
        "customer": [1, 1, 2, 2],
        "item": ["a", "b", "a", "c"],
        "timestamp": ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-02"],
        "value": [1.0, 2.0, 3.0, 4.0],
        "quantity": [1, 2, 1, 1],
    }
    cols.update(over)
    return cols


def test_from_arrays_sorts_and_codes() -> None:
    tx = Transactions.from_arrays(**_cols())
    assert tx.n_rows == 4 and tx.n_customers == 2 and tx.n_items == 3
    # customer 2's rows sorted by time: item c (01-02) before a (01-03)
    assert tx.items.decode(tx.item).tolist() == ["a", "b", "c", "a"]
    assert tx.basket.tolist() == [0, 0, 1, 2]
    assert tx.report.n_dropped == 0 and tx.report.dropped == {}
    assert not tx.value.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        tx.value[0] = 9.0


def test_basket_ids_order_baskets_by_their_first_line() -> None:
    tx = Transactions.from_arrays(
        customer=[1, 1, 1, 1],
        item=[1, 2, 3, 4],
        basket=["late", "early", "late", "early"],
        timestamp=["2024-01-05", "2024-01-01", "2024-01-05 00:01", "2024-01-01 00:01"],
        value=[1.0, 1.0, 1.0, 1.0],
    )
    assert tx.item.tolist() == [1, 3, 0, 2]  # items 2,4 (early basket) then 1,3
    assert tx.basket.tolist() == [0, 0, 1, 1]


def test_length_mismatch_names_the_column() -> None:
    with pytest.raises(LengthMismatchError, match="value has 3 rows but customer has 4"):
        Transactions.from_arrays(**_cols(value=[1.0, 2.0, 3.0]))


def test_empty_input() -> None:
    with pytest.raises(EmptyInputError, match="transactions is empty"):
        Transactions.from_arrays(customer=[], item=[], timestamp=[], value=[])


@pytest.mark.parametrize(
    ("over", "match", "reason"),
    [
        ({"value": [1.0, np.nan, 3.0, 4.0]}, r"value/quantity/discount: 1 row\(s\)", "non_finite"),
        ({"value": [1.0, np.inf, 3.0, 4.0]}, r"value/quantity/discount: 1 row\(s\)", "non_finite"),
        ({"value": [1.0, -2.0, 3.0, 4.0]}, r"value: 1 row\(s\) are invalid", "negative_value"),
        (
            {"timestamp": ["2024-01-01", "yesterday", "2024-01-03", "2024-01-02"]},
            r"timestamp: 1 row\(s\) are invalid \(bad_timestamp\), first at row\(s\) \[1\]",
            "bad_timestamp",
        ),
        (
            {"discount": [0.0, -1.0, 0.0, 0.0]},
            r"discount: 1 row\(s\) are invalid",
            "negative_discount",
        ),
    ],
)
def test_invalid_rows_raise_or_are_dropped_and_counted(
    over: dict[str, Any], match: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        Transactions.from_arrays(**_cols(**over))
    tx = Transactions.from_arrays(**_cols(**over), invalid="drop")
    assert tx.n_rows == 3
    assert tx.report.dropped == {reason: 1}
    assert tx.report.dropped_rows[reason].tolist() == [1]
    assert "dropped 1 rows: " + reason in tx.report.summary()


def test_numeric_timestamps_are_rejected_with_a_fix() -> None:
    with pytest.raises(ValidationError, match="epoch seconds"):
        Transactions.from_arrays(**_cols(timestamp=[1, 2, 3, 4]))


def test_returns_policy() -> None:
    cols = _cols(quantity=[1, -1, 1, 1], value=[1.0, -2.0, 3.0, 4.0])
    with pytest.raises(ValidationError, match="return line.*returns='drop' or returns='keep'"):
        Transactions.from_arrays(**cols)
    dropped = Transactions.from_arrays(**cols, returns="drop")
    assert dropped.report.dropped == {"return_line": 1}
    kept = Transactions.from_arrays(**cols, returns="keep")
    assert kept.n_rows == 4 and kept.report.n_returns_kept == 1
    assert kept.value.sum() == pytest.approx(6.0)


def test_bad_policy_name() -> None:
    with pytest.raises(ValidationError, match="returns must be one of"):
        Transactions.from_arrays(**_cols(), returns="ignore")  # type: ignore[arg-type]


def test_all_rows_dropped_is_an_error() -> None:
    with pytest.raises(EmptyInputError, match="no rows left"):
        Transactions.from_arrays(**_cols(quantity=[0, 0, 0, 0]))


def test_given_indexes_keep_codes_aligned_and_unknown_ids_are_counted() -> None:
    customers = IdIndex.from_values([1, 2, 3])
    items = IdIndex.from_values(["a", "b"])
    with pytest.raises(
        UnknownIdError,
        match=r"item: 1 row\(s\) with ids not in the given index, e.g. \[.c.\]; pass unknown=.d",
    ):
        Transactions.from_arrays(**_cols(), customers=customers, items=items)
    tx = Transactions.from_arrays(**_cols(), customers=customers, items=items, unknown="drop")
    assert tx.customers is customers and tx.n_customers == 3
    assert tx.report.dropped == {"unknown_item": 1}


def test_between_keeps_indexes() -> None:
    tx = Transactions.from_arrays(**_cols())
    w = tx.between("2024-01-02", "2024-01-03")
    assert w.n_rows == 1 and w.customers == tx.customers
    assert w.items.decode(w.item).tolist() == ["c"]
    assert w.basket.tolist() == [0]


def test_customer_item_matrix_weights() -> None:
    tx = Transactions.from_arrays(
        customer=[1, 1, 1, 2],
        item=["a", "a", "b", "a"],
        basket=[1, 1, 2, 3],
        timestamp=["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"],
        value=[1.0, 2.0, 3.0, 4.0],
        quantity=[1, 2, 1, 5],
    )
    assert customer_item_matrix(tx).toarray().tolist() == [[3.0, 1.0], [5.0, 0.0]]
    assert customer_item_matrix(tx, weight="value").toarray().tolist() == [[3.0, 3.0], [4.0, 0.0]]
    assert customer_item_matrix(tx, weight="lines").toarray().tolist() == [[2.0, 1.0], [1.0, 0.0]]
    assert customer_item_matrix(tx, weight="baskets").toarray().tolist() == [[1.0, 1.0], [1.0, 0.0]]
    early = customer_item_matrix(tx, as_of="2024-01-02")
    assert early.toarray().tolist() == [[3.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValidationError, match="weight must be"):
        customer_item_matrix(tx, weight="euros")  # type: ignore[arg-type]


# ----------------------------------------------------------------- other sources

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")


def _frame() -> Any:
    return pd.DataFrame(
        {
            "hh": [5, 5, 7, None],
            "sku": ["x", "y", "x", "x"],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"]),
            "paid": [1.0, 2.0, 3.0, 4.0],
            "d1": [0.5, 0.0, 0.0, 0.0],
            "d2": [0.25, 0.0, 1.0, 0.0],
        }
    )


def _check(tx: Transactions) -> None:
    assert tx.n_rows == 3
    assert tx.customers.to_list() == [5, 7]
    assert tx.report.dropped == {"missing_id": 1}
    assert tx.discount.tolist() == [0.75, 0.0, 1.0]


def test_from_pandas_sums_discount_columns_and_counts_missing_ids() -> None:
    kw: dict[str, Any] = dict(customer="hh", item="sku", timestamp="ts", value="paid")
    with pytest.raises(ValidationError, match="missing_id"):
        Transactions.from_pandas(_frame(), **kw, discount=["d1", "d2"])
    _check(Transactions.from_pandas(_frame(), **kw, discount=["d1", "d2"], invalid="drop"))
    with pytest.raises(ValidationError, match=r"columns \['nope'\] are not in the DataFrame"):
        Transactions.from_pandas(_frame(), **kw, quantity="nope")


def test_from_arrow_and_parquet(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    kw: dict[str, Any] = dict(
        customer="hh", item="sku", timestamp="ts", value="paid", discount=["d1", "d2"]
    )
    _check(Transactions.from_arrow(table, **kw, invalid="drop"))
    import pyarrow.parquet as pq

    path = tmp_path / "tx.parquet"
    pq.write_table(table, path)
    _check(Transactions.from_parquet(path, **kw, invalid="drop"))
    with pytest.raises(ValidationError, match="cannot read a int as an Arrow table"):
        Transactions.from_arrow(3, **kw)


def test_from_polars_and_duckdb() -> None:
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    kw: dict[str, Any] = dict(
        customer="hh", item="sku", timestamp="ts", value="paid", discount=["d1", "d2"]
    )
    frame = _frame()
    _check(Transactions.from_arrow(pl.from_pandas(frame), **kw, invalid="drop"))
    con = duckdb.connect()
    con.register("f", frame)
    rel = con.sql("select * from f")
    _check(Transactions.from_arrow(rel, **kw, invalid="drop"))


def test_to_pandas_round_trip() -> None:
    tx = Transactions.from_arrays(**_cols())
    df = tx.to_pandas()
    back = Transactions.from_pandas(df, quantity="quantity", basket="basket", discount="discount")
    assert np.array_equal(back.value, tx.value)
    assert back.customers == tx.customers and back.items == tx.items


# ----------------------------------------------------------------- catalogue


def test_catalogue() -> None:
    cat = Catalogue.from_arrays(
        item=[3, 1, 2], category=["milk", None, "bread"], brand=["A", "B", None]
    )
    assert cat.categories.to_list() == ["bread", "milk"]
    codes = cat.category_codes(IdIndex.from_values([1, 2, 3, 4]))
    assert codes.tolist() == [-1, 0, 1, -1]
    assert cat.brand_codes(IdIndex.from_values([1, 3])).tolist() == [1, 0]
    with pytest.raises(ValidationError, match="duplicate item"):
        Catalogue.from_arrays(item=[1, 1], category=["a", "b"])
    with pytest.raises(ValidationError, match="catalogue items are ints"):
        cat.category_codes(IdIndex.from_values(["a"]))


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=200))
def test_idindex_dense_int_path_matches_sorting_path(ids: list[int]) -> None:
    idx, codes = IdIndex.factorize(ids)  # small range: lookup-table path
    uniq, inverse = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
    assert np.array_equal(idx.values, uniq)
    assert np.array_equal(codes, inverse.reshape(-1))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 5)),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
)
def test_row_order_matches_reference_sort(
    rows: list[tuple[int, int, int]], with_basket: bool
) -> None:
    cust, basket, day = (np.asarray(x) for x in zip(*rows, strict=True))
    ts = np.datetime64("2024-01-01", "s") + (day * 3600).astype("timedelta64[s]")
    value = np.arange(len(cust), dtype=float)  # row identity
    tx = Transactions.from_arrays(
        customer=cust,
        item=np.zeros(len(cust), dtype=int),
        timestamp=ts,
        value=value,
        basket=basket if with_basket else None,
    )
    if with_basket:
        # reference: baskets by (customer, first line time, basket id), lines by (time, row)
        first = {}
        for c, b, d in rows:
            first[(c, b)] = min(first.get((c, b), d), d)
        ref = sorted(
            range(len(rows)),
            key=lambda r: (rows[r][0], first[rows[r][:2]], rows[r][1], rows[r][2], r),
        )
    else:
        ref = sorted(range(len(rows)), key=lambda r: (rows[r][0], rows[r][2], r))
    assert tx.value.astype(int).tolist() == ref


def test_subset_keeps_indexes_and_validates_the_mask() -> None:
    tx = Transactions.from_arrays(**_cols())
    sub = tx.subset(tx.customer == 1)
    assert sub.n_rows == 2 and sub.customers == tx.customers and sub.basket.tolist() == [0, 1]
    with pytest.raises(ValidationError, match="mask must be a boolean array of 4 rows"):
        tx.subset(np.ones(3, dtype=bool))
