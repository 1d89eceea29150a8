"""Adversarial edges of fast ingestion (issue 18): ids on dropped rows, error precedence.

Ingestion hashes every row's item id from the start (on a pool thread) and prunes the
index to the kept rows afterwards. The result, and the error raised when several things
are wrong, must still be those of reading the kept rows only, whatever ``num_threads``.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import data
from onetoone.data import IdIndex, Transactions
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError

#: Item ids no id column may hold; each is refused when it sits on a kept row.
UNREADABLE: list[Any] = [np.nan, np.inf, 1.5, "x"]


def _columns(tx: Transactions) -> dict[str, Any]:
    return {
        "customers": tx.customers.to_list(),
        "items": tx.items.to_list(),
        **{
            c: getattr(tx, c).tolist()
            for c in ("customer", "item", "basket", "timestamp", "value", "quantity")
        },
    }


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(2, 40),
    data_=st.data(),
    threads=st.sampled_from([1, 2, 3]),
    runs=st.booleans(),
    indexed=st.booleans(),
    bad=st.sampled_from(UNREADABLE),
)
def test_unreadable_item_ids_on_dropped_rows_are_never_read(
    n: int, data_: st.DataObject, threads: int, runs: bool, indexed: bool, bad: Any
) -> None:
    # a row with nothing usable (no value, no item id) is dropped as non_finite; its item id
    # is not read, as if the row were not there: the log equals the log of the kept rows
    items = np.array(data_.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    empty = np.array(data_.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    empty[0] = False  # at least one row kept
    item: npt.NDArray[Any] = items.astype(object if isinstance(bad, str) else np.float64)
    item[empty] = bad
    value = np.where(empty, np.nan, np.arange(n, dtype=np.float64))
    customer = np.arange(n) // 3
    log = {
        "customer": customer,
        "timestamp": np.datetime64("2024-01-01", "s") + (np.arange(n) % 4) * 3600,
        "basket": customer if runs else None,
    }
    kwargs: dict[str, Any] = {}
    if indexed:
        kwargs = {"items": IdIndex.from_values(np.arange(5)), "unknown": "drop"}
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        mock.patch.object(data, "_RUNS_MAX_SHARE", 1.0),
    ):
        tx = Transactions.from_arrays(
            **log, item=item, value=value, invalid="drop", num_threads=threads, **kwargs
        )
        ok = ~empty
        kept = Transactions.from_arrays(
            customer=customer[ok],
            timestamp=log["timestamp"][ok],
            basket=None if log["basket"] is None else customer[ok],
            item=items[ok],
            value=value[ok],
            num_threads=threads,
            **kwargs,
        )
    assert _columns(tx) == _columns(kept)
    gone = tx.report.dropped_rows.get("non_finite", np.zeros(0, np.int64))
    assert gone.tolist() == np.flatnonzero(empty).tolist()


@pytest.mark.parametrize("indexed", [False, True])
def test_an_unreadable_item_id_on_a_kept_row_is_still_refused(indexed: bool) -> None:
    # the fallback to the kept rows' ids still refuses the bad id of a kept row
    kwargs: dict[str, Any] = {"items": IdIndex.from_values([1])} if indexed else {}
    with pytest.raises(ValidationError, match="^item holds NaN"):
        Transactions.from_arrays(
            customer=[1, 2, 3],
            item=np.array([1.0, np.nan, np.nan]),
            timestamp=["2024-01-01", "2024-01-01", "not a time"],
            value=[1.0, 1.0, 1.0],
            invalid="drop",
            **kwargs,
        )


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("basket", [None, [7, 8], ["a", "b"]])
def test_a_customer_id_error_comes_before_an_item_id_error_on_any_thread_count(
    threads: int, basket: Any
) -> None:
    # customers are read before items, on one thread or several (as before the rewrite)
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        pytest.raises(ValidationError, match="^customer mixes id types"),
    ):
        Transactions.from_arrays(
            customer=[1, "a"],
            item=[1, "b"],
            basket=basket,
            timestamp=["2024-01-01"] * 2,
            value=[1.0, 1.0],
            num_threads=threads,
        )


@pytest.mark.parametrize("threads", [1, 2])
def test_a_customer_id_error_comes_before_an_unknown_item(threads: int) -> None:
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        pytest.raises(ValidationError, match="^customer mixes id types") as info,
    ):
        Transactions.from_arrays(
            customer=[1, "a"],
            item=[5, 6],
            timestamp=["2024-01-01"] * 2,
            value=[1.0, 1.0],
            items=IdIndex.from_values([5]),
            num_threads=threads,
        )
    assert not isinstance(info.value, UnknownIdError)


@pytest.mark.parametrize("threads", [1, 2])
def test_no_rows_left_comes_before_an_item_id_error_of_dropped_rows(threads: int) -> None:
    # every row's customer is unknown: nothing is left, whatever the items of those rows
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        pytest.raises(EmptyInputError, match="unknown_customer"),
    ):
        Transactions.from_arrays(
            customer=[1, 2],
            item=[1, "b"],
            timestamp=["2024-01-01"] * 2,
            value=[1.0, 1.0],
            customers=IdIndex.from_values([3]),
            unknown="drop",
            num_threads=threads,
        )


@pytest.mark.parametrize("share", [0.0, 1.0])
@pytest.mark.parametrize("basket", [None, [1, 2, 3], ["a", "b", "c"]])
def test_a_customer_seen_only_on_unknown_items_is_not_indexed_on_any_path(
    share: float, basket: Any
) -> None:
    # customer 2 bought only an item outside the index: dropped, it is not a customer of the
    # log, whether the rows are handled run by run (integer baskets) or row by row
    with mock.patch.object(data, "_RUNS_MAX_SHARE", share):
        tx = Transactions.from_arrays(
            customer=[1, 2, 3],
            item=[5, 6, 5],
            basket=basket,
            timestamp=["2024-01-01"] * 3,
            value=[1.0, 1.0, 1.0],
            items=IdIndex.from_values([5]),
            unknown="drop",
        )
    assert tx.customers.to_list() == [1, 3]
    assert tx.report.dropped_rows["unknown_item"].tolist() == [1]
