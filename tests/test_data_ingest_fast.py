"""Fast ingestion (issue 18) equals a plain reference: np.unique for ids, lexsort for rows.

The hash factorisation runs only from ``data._HASH_MIN_ROWS`` ids on, so the
properties lower that threshold to 0 to drive the fast path on small inputs.
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
from onetoone.errors import EmptyInputError, ValidationError

U64_EXTREMES = [0, 1, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
ID_POOLS: dict[str, st.SearchStrategy[list[Any]]] = {
    "int": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6, unique=True),
    "uint64": st.lists(
        st.one_of(st.sampled_from(U64_EXTREMES), st.integers(2**63, 2**64 - 1)),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    "str": st.lists(st.text("abé€", min_size=1, max_size=3), min_size=1, max_size=6, unique=True),
}


def _as_ids(pool: list[Any], kind: str) -> npt.NDArray[Any]:
    if kind == "uint64":
        return np.array(pool, dtype=np.uint64)
    if kind == "int":
        return np.array(pool, dtype=np.int64)
    return np.array(pool, dtype=str)


@st.composite
def logs(draw: st.DrawFn) -> dict[str, Any]:
    kinds: dict[str, str] = {
        c: draw(st.sampled_from(sorted(ID_POOLS))) for c in ("customer", "item", "basket")
    }
    pools = {c: _as_ids(draw(ID_POOLS[k]), k) for c, k in kinds.items()}
    n = draw(st.integers(1, 60))
    pick = {
        c: draw(st.lists(st.integers(0, len(p) - 1), min_size=n, max_size=n))
        for c, p in pools.items()
    }
    # few distinct times: ties within and across baskets
    secs = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return {
        "customer": pools["customer"][pick["customer"]],
        "item": pools["item"][pick["item"]],
        "basket": pools["basket"][pick["basket"]] if draw(st.booleans()) else None,
        "timestamp": np.datetime64("2024-01-01T00:00:00", "s") + np.array(secs) * 3600,
        "value": np.arange(n, dtype=np.float64),
    }


def reference(log: dict[str, Any]) -> dict[str, Any]:
    """The log's columns by sorting: np.unique for ids, np.lexsort for the row order."""
    cu, cc = np.unique(log["customer"], return_inverse=True)
    iu, ic = np.unique(log["item"], return_inverse=True)
    ts = log["timestamp"].astype(np.int64)
    pos = np.arange(len(ts))
    if log["basket"] is None:
        order = np.lexsort((pos, ts, cc))
        bkey = cc * (ts.max() + 1) + ts
    else:
        _, bc = np.unique(log["basket"], return_inverse=True)
        _, pair = np.unique(cc * (bc.max() + 1) + bc, return_inverse=True)
        first = np.full(pair.max() + 1, np.iinfo(np.int64).max)
        np.minimum.at(first, pair, ts)
        order = np.lexsort((pos, ts, bc, first[pair], cc))
        bkey = pair
    b = bkey[order]
    basket = np.r_[0, np.cumsum(b[1:] != b[:-1])]
    return {
        "customers": cu,
        "items": iu,
        "customer": cc[order],
        "item": ic[order],
        "basket": basket,
        "timestamp": log["timestamp"][order],
        "value": log["value"][order],
    }


def assert_same(tx: Transactions, ref: dict[str, Any]) -> None:
    assert tx.customers.values.tolist() == ref["customers"].tolist()
    assert tx.items.values.tolist() == ref["items"].tolist()
    for col in ("customer", "item", "basket", "timestamp", "value"):
        assert np.array_equal(getattr(tx, col), ref[col]), col


@settings(max_examples=200, deadline=None)
@given(log=logs(), hashed=st.booleans())
def test_ingestion_equals_sorting_reference(log: dict[str, Any], hashed: bool) -> None:
    threshold = 0 if hashed else 10**9
    with mock.patch.object(data, "_HASH_MIN_ROWS", threshold):
        tx = Transactions.from_arrays(**log)
    assert_same(tx, reference(log))


@settings(max_examples=50, deadline=None)
@given(log=logs())
def test_arrow_ingestion_equals_sorting_reference(log: dict[str, Any]) -> None:
    pa = pytest.importorskip("pyarrow")
    cols = {k: v for k, v in log.items() if v is not None}
    with mock.patch.object(data, "_HASH_MIN_ROWS", 0):
        tx = Transactions.from_arrow(
            pa.table(cols), basket="basket" if log["basket"] is not None else None
        )
    assert_same(tx, reference(log))


@settings(max_examples=150, deadline=None)
@given(
    log=logs(),
    runs=st.booleans(),
    grouped=st.booleans(),
    chrono=st.booleans(),
    threads=st.sampled_from([1, 2]),
    copy_runs=st.booleans(),
)
def test_basket_runs_equal_sorting_reference(
    log: dict[str, Any], runs: bool, grouped: bool, chrono: bool, threads: int, copy_runs: bool
) -> None:
    # rows written basket by basket (the usual log) or as drawn, in time order (baskets then
    # ordered by a counting sort on the customer) or not; runs of a basket's rows handled as
    # units (share 1.0: always) or row by row (share 0.0: never); the same answer
    if log["basket"] is None:
        log["basket"] = log["customer"][np.arange(len(log["customer"])) // 3]
    if chrono:
        order = np.argsort(log["timestamp"], kind="stable")
        log = {k: v[order] for k, v in log.items()}
    if grouped:
        order = np.argsort(log["basket"], kind="stable")
        log = {k: v[order] for k, v in log.items()}
    # threads: item ids hashed and columns gathered on a pool (its row threshold lowered)
    # copy_runs: runs placed by scipy's block copy, or by numpy's take
    with (
        mock.patch.object(data, "_RUNS_MAX_SHARE", 1.0 if runs else 0.0),
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        mock.patch.object(data, "_COPY_RUNS", copy_runs),
    ):
        tx = Transactions.from_arrays(**log, num_threads=threads)
    assert_same(tx, reference(log))


@settings(max_examples=150, deadline=None)
@given(
    log=logs(),
    data_=st.data(),
    grouped=st.booleans(),
    threads=st.sampled_from([1, 2]),
    index=st.booleans(),
    copy_runs=st.booleans(),
)
def test_dropped_rows_inside_baskets_equal_sorting_reference(
    log: dict[str, Any],
    data_: st.DataObject,
    grouped: bool,
    threads: int,
    index: bool,
    copy_runs: bool,
) -> None:
    # zero-quantity lines anywhere (inside a basket's run, a whole basket, every line of an
    # item) and, with an item index, unknown items dropped: the kept rows give the answer
    # of the reference on the kept rows, items seen only on dropped rows are not indexed
    n = len(log["customer"])
    if log["basket"] is None:
        log["basket"] = log["customer"][np.arange(n) // 3]
    if grouped:
        order = np.argsort(log["basket"], kind="stable")
        log = {k: v[order] for k, v in log.items()}
    log["value"] = np.arange(n, dtype=np.float64)  # a row's value is its position
    zero = np.array(data_.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    qty = np.where(zero, 0.0, 1.0)
    ok = ~zero
    kwargs: dict[str, Any] = {}
    if index:
        known = np.unique(log["item"])[1:]
        kwargs = {"items": IdIndex.from_values(known), "unknown": "drop"} if len(known) else {}
        if kwargs:
            ok &= np.isin(log["item"], known)
    if not ok.any():
        with pytest.raises(EmptyInputError):
            Transactions.from_arrays(**log, quantity=qty, **kwargs)
        return
    with (
        mock.patch.object(data, "_RUNS_MAX_SHARE", 1.0),
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        mock.patch.object(data, "_COPY_RUNS", copy_runs),
    ):
        tx = Transactions.from_arrays(**log, quantity=qty, num_threads=threads, **kwargs)
    ref = reference({k: v[ok] for k, v in log.items()})
    if kwargs:  # the index is the one given
        assert tx.items == kwargs["items"]
        ref["items"] = kwargs["items"].values
        ref["item"] = kwargs["items"].encode(log["item"][ref["value"].astype(np.int64)])
    assert_same(tx, ref)
    assert tx.report.n_kept == int(ok.sum())
    assert sum(tx.report.dropped.values()) == n - int(ok.sum())


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_num_threads_is_validated(bad: Any) -> None:
    with pytest.raises(ValidationError, match="num_threads"):
        Transactions.from_arrays(
            customer=[1], item=[1], timestamp=["2024-01-01"], value=[1.0], num_threads=bad
        )


def test_an_item_id_error_surfaces_from_the_thread() -> None:
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        pytest.raises(ValidationError, match="item"),
    ):
        Transactions.from_arrays(
            customer=[1, 1],
            item=[1, "1"],
            timestamp=["2024-01-01"] * 2,
            value=[1.0, 1.0],
            basket=[5, 5],
            num_threads=2,
        )


def test_basket_runs_of_a_large_grouped_log() -> None:
    # baskets written one after the other, but one basket split in two runs, lines of a
    # basket out of time order, and a basket id shared by two customers
    rng = np.random.default_rng(3)
    n = 5000
    basket = np.repeat(np.arange(500, dtype=np.int64) * 7919 % 1000, 10)
    basket[4990:] = basket[0]  # basket 0 again, at the end: two runs
    customer = basket % 37
    customer[105:110] = 36 if customer[100] != 36 else 35  # one basket id, two customers
    secs = rng.integers(0, 3, n) + basket // 10 * 100
    log = {
        "customer": customer,
        "item": rng.integers(0, 2000, n),
        "basket": basket,
        "timestamp": np.datetime64("2024-01-01T00:00:00", "s") + secs,
        "value": np.arange(n, dtype=np.float64),
    }
    assert data._basket_runs(basket, customer.astype(np.int32)) is not None
    tx = Transactions.from_arrays(**log)
    assert tx.n_baskets == 500  # 499 ids + the shared one counted twice
    assert_same(tx, reference(log))
    # zero-quantity lines dropped, among them every line of one basket: the runs shrink
    qty = np.where(rng.random(n) < 0.1, 0.0, 1.0)
    qty[200:210] = 0.0
    tx = Transactions.from_arrays(**log, quantity=qty)
    kept = {k: v[qty != 0] for k, v in log.items()}
    assert tx.report.dropped == {"zero_quantity": int((qty == 0).sum())}
    assert_same(tx, reference(kept))
    # unknown items dropped after the runs are found
    items = IdIndex.from_values(np.unique(log["item"])[5:])
    tx = Transactions.from_arrays(**log, quantity=qty, items=items, unknown="drop")
    ok = (qty != 0) & np.isin(log["item"], items.values)
    ref = reference({k: v[ok] for k, v in log.items()})
    assert tx.n_rows == int(ok.sum()) and tx.report.dropped["unknown_item"] > 0
    assert np.array_equal(tx.customer, ref["customer"]) and np.array_equal(tx.value, ref["value"])
    assert np.array_equal(tx.basket, ref["basket"])


@st.composite
def id_columns(draw: st.DrawFn) -> npt.NDArray[Any]:
    kind = draw(st.sampled_from(sorted(ID_POOLS)))
    pool = draw(ID_POOLS[kind])
    return _as_ids(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=40)), kind)


@settings(max_examples=100, deadline=None)
@given(ids=id_columns())
def test_hash_factorize_equals_unique(ids: npt.NDArray[Any]) -> None:
    with mock.patch.object(data, "_HASH_MIN_ROWS", 0):
        index, codes = IdIndex.factorize(ids)
    uniq, inverse = np.unique(ids, return_inverse=True)
    assert index.values.dtype.kind == uniq.dtype.kind
    assert index.values.tolist() == uniq.tolist()
    assert codes.dtype == np.int32 and codes.tolist() == inverse.tolist()


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.integers(0, 7), max_size=80))
def test_counting_argsort_is_a_stable_argsort(keys: list[int]) -> None:
    k = np.array(keys, dtype=np.int32)
    assert data._counting_argsort(k, 8).tolist() == np.argsort(k, kind="stable").tolist()


def test_single_customer_ties_and_a_large_log() -> None:
    # one customer, every line at the same second, baskets out of id order, lines of a
    # basket out of time order in one of them: enough rows for the hash path
    rng = np.random.default_rng(5)
    n = 5000
    basket = rng.integers(0, 300, n).astype(np.uint64) + np.uint64(2**64 - 400)
    secs = np.where(basket == basket[0], rng.integers(0, 5, n), 2)
    log: dict[str, Any] = {
        "customer": np.full(n, 2**64 - 1, dtype=np.uint64),
        "item": rng.integers(-(2**40), 2**40, n),
        "basket": basket,
        "timestamp": np.datetime64("2024-03-01", "s") + secs,
        "value": rng.random(n),
    }
    assert_same(Transactions.from_arrays(**log), reference(log))


def test_basket_ids_shared_by_two_customers_are_two_baskets() -> None:
    n = 3000
    cust = np.tile([7, 8], n // 2)
    log: dict[str, Any] = {
        "customer": cust,
        "item": np.arange(n) % 11,
        "basket": np.arange(n) % 5,  # the same 5 basket ids for both customers
        "timestamp": np.datetime64("2024-03-01", "s") + (np.arange(n) % 13),
        "value": np.ones(n),
    }
    tx = Transactions.from_arrays(**log)
    assert tx.n_baskets == 10
    assert_same(tx, reference(log))


def test_no_rows_left_is_refused_in_both_paths() -> None:
    for threshold in (0, 10**9):
        with mock.patch.object(data, "_HASH_MIN_ROWS", threshold):
            with pytest.raises(EmptyInputError):
                Transactions.from_arrays(
                    customer=[1, 2],
                    item=[1, 1],
                    timestamp=["2024-01-01"] * 2,
                    value=[1.0, 1.0],
                    quantity=[0, 0],
                )
            with pytest.raises(EmptyInputError):
                Transactions.from_arrays(customer=[], item=[], timestamp=[], value=[])


def test_strings_arrow_cannot_encode_fall_back_to_sorting() -> None:
    # a lone surrogate has no UTF-8 form: hashing in Arrow fails, sorting still works
    ids = np.array(["\ud800x", "b", "\ud800x", "a"] * 400)
    with mock.patch.object(data, "_HASH_MIN_ROWS", 0):
        index, codes = IdIndex.factorize(ids)
        tx = Transactions.from_arrays(
            customer=ids,
            item=ids,
            basket=ids,
            timestamp=["2024-01-01"] * len(ids),
            value=np.ones(len(ids)),
        )
    assert index.to_list() == ["a", "b", "\ud800x"]
    assert codes[:4].tolist() == [2, 1, 2, 0]
    assert tx.n_baskets == 3 and tx.customers == index


def test_the_run_copier_is_used_only_if_it_gives_the_known_answers() -> None:
    # scipy's csr_row_index is private: a release that changed it would make ingestion
    # fall back to numpy's take, never fail or write garbage
    from scipy.sparse import _sparsetools

    assert data._copy_runs_works(_sparsetools.csr_row_index) is True
    assert data._COPY_RUNS is True
    assert data._copy_runs_works(None) is False
    assert data._copy_runs_works(lambda *args: None) is False  # writes nothing

    def raises(*args: Any) -> None:
        raise TypeError("a changed signature")

    assert data._copy_runs_works(raises) is False

    def shifted(n: int, rows: Any, bounds: Any, aj: Any, ax: Any, bj: Any, bx: Any) -> None:
        _sparsetools.csr_row_index(n, rows, bounds, aj, ax, bj, bx)
        bj[:] = np.roll(bj, 1)  # right types, wrong answer

    assert data._copy_runs_works(shifted) is False
