from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import Catalogue, Transactions, ValidationError, build_profiles
from onetoone.profiles import FEATURES

NAN = float("nan")


def _log() -> Transactions:
    # customer 1: baskets on day 0 (2 lines), day 10, day 30 (after as_of=day 25 -> ignored)
    # customer 2: one basket on day 4; customer 3: only after as_of
    return Transactions.from_arrays(
        customer=[1, 1, 1, 1, 2, 3],
        item=["milk", "bread", "milk", "milk", "milk", "eggs"],
        basket=[1, 1, 2, 3, 4, 5],
        timestamp=[
            "2024-01-01",
            "2024-01-01",
            "2024-01-11",
            "2024-01-31",
            "2024-01-05",
            "2024-02-01",
        ],
        value=[2.0, 3.0, 2.0, 2.0, 8.0, 1.0],
        quantity=[1, 3, 1, 1, 4, 1],
        discount=[1.0, 0.0, 0.0, 0.0, 2.0, 0.0],
    )


def test_known_answer_profiles() -> None:
    cat = Catalogue.from_arrays(item=["milk", "bread"], category=["dairy", "bakery"])
    p = build_profiles(_log(), as_of="2024-01-26", catalogue=cat)
    assert p.customers.to_list() == [1, 2, 3]
    assert p.has_history.tolist() == [True, True, False]
    assert p.frequency.tolist() == [2.0, 1.0, 0.0]
    assert p.monetary.tolist() == [7.0, 8.0, 0.0]
    assert p.n_lines.tolist() == [3.0, 1.0, 0.0]
    assert p.units.tolist() == [5.0, 4.0, 0.0]
    np.testing.assert_allclose(p.recency_days, [15.0, 21.0, NAN])
    np.testing.assert_allclose(p.tenure_days, [25.0, 21.0, NAN])
    np.testing.assert_allclose(p.avg_basket_value, [3.5, 8.0, NAN])
    np.testing.assert_allclose(p.avg_basket_size, [2.5, 4.0, NAN])
    np.testing.assert_allclose(p.avg_basket_lines, [1.5, 1.0, NAN])
    np.testing.assert_allclose(p.ipi_mean_days, [10.0, NAN, NAN])
    np.testing.assert_allclose(p.ipi_std_days, [0.0, NAN, NAN])
    np.testing.assert_allclose(p.discount_share, [1.0 / 8.0, 2.0 / 10.0, NAN])
    np.testing.assert_allclose(p.promo_line_share, [1.0 / 3.0, 1.0, NAN])
    assert p.distinct_items.tolist() == [2.0, 1.0, 0.0]
    assert p.first_purchase[0] == np.datetime64("2024-01-01T00:00:00")
    assert np.isnat(p.last_purchase[2])
    assert p.category_mix is not None and p.categories is not None
    assert p.categories.to_list() == ["bakery", "dairy"]
    np.testing.assert_allclose(p.category_mix.toarray(), [[3 / 7, 4 / 7], [0, 1], [0, 0]])
    assert p.category_coverage is not None
    np.testing.assert_allclose(p.category_coverage, [1.0, 1.0, NAN])


def test_interval_statistics_on_irregular_visits() -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-15"]
    tx = Transactions.from_arrays(customer=[1] * 4, item=[1] * 4, timestamp=days, value=[1.0] * 4)
    p = build_profiles(tx, as_of="2024-02-01")
    gaps = np.array([1.0, 3.0, 10.0])
    np.testing.assert_allclose(p.ipi_mean_days, [gaps.mean()])
    np.testing.assert_allclose(p.ipi_std_days, [gaps.std()])
    np.testing.assert_allclose(p.ipi_cv, [gaps.std() / gaps.mean()])


def test_since_window_and_validation() -> None:
    p = build_profiles(_log(), as_of="2024-01-26", since="2024-01-05")
    assert p.frequency.tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValidationError, match="since .* must be before as_of"):
        build_profiles(_log(), as_of="2024-01-01", since="2024-01-05")
    with pytest.raises(ValidationError, match="as_of='soon' is not a valid time"):
        build_profiles(_log(), as_of="soon")
    cat = Catalogue.from_arrays(item=[1], category=["x"])
    with pytest.raises(ValidationError, match="catalogue item ids are ints"):
        build_profiles(_log(), as_of="2024-01-26", catalogue=cat)


def test_matrix_and_frames() -> None:
    p = build_profiles(_log(), as_of="2024-01-26")
    m = p.matrix(["frequency", "monetary"])
    assert m.shape == (3, 2) and m[:, 1].tolist() == [7.0, 8.0, 0.0]
    assert p.matrix().shape == (3, len(FEATURES))
    with pytest.raises(ValidationError, match="unknown feature"):
        p.matrix(["height"])
    df = p.to_pandas()
    assert list(df.index) == [1, 2, 3] and df.loc[2, "monetary"] == 8.0
    assert "profiles of 3 customers" in p.summary()
    assert p.select([3, 1]).tolist() == [2, 0]


@st.composite
def _logs(draw: Any) -> tuple[dict[str, Any], int]:
    n = draw(st.integers(1, 40))
    cust = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    item = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    basket = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    day = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    value = draw(st.lists(st.floats(0, 100), min_size=n, max_size=n))
    cut = draw(st.integers(1, 61))
    return (
        {
            "customer": cust,
            "item": item,
            "basket": [c * 10 + b for c, b in zip(cust, basket, strict=True)],
            "timestamp": np.datetime64("2024-01-01", "s")
            + np.array(day, dtype="timedelta64[D]").astype("timedelta64[s]"),
            "value": value,
        },
        cut,
    )


def _features(p: Any) -> dict[str, Any]:
    return {f: getattr(p, f) for f in FEATURES}


@settings(max_examples=60, deadline=None)
@given(_logs(), st.integers(1, 10), st.integers(0, 10**6))
def test_point_in_time_rows_after_as_of_change_nothing(
    log: tuple[dict[str, Any], int], extra: int, seed: int
) -> None:
    cols, cut = log
    as_of = np.datetime64("2024-01-01", "s") + np.timedelta64(cut, "D")
    base = Transactions.from_arrays(**cols)
    rng = np.random.default_rng(seed)
    # later rows: new lines for existing customers and baskets, at or after as_of
    later = {
        "customer": rng.choice(np.asarray(cols["customer"]), extra),
        "item": rng.integers(0, 12, extra),
        "basket": rng.choice(np.asarray(cols["basket"]), extra),
        "timestamp": as_of + rng.integers(0, 10 * 86400, extra).astype("timedelta64[s]"),
        "value": rng.uniform(0, 50, extra),
    }
    merged = {k: np.concatenate([np.asarray(cols[k]), np.asarray(later[k])]) for k in cols}
    grown = Transactions.from_arrays(**merged, customers=base.customers, unknown="drop")
    a = build_profiles(base, as_of=as_of)
    b = build_profiles(grown, as_of=as_of)
    for name, arr in _features(a).items():
        np.testing.assert_array_equal(arr, getattr(b, name), err_msg=name)


def _reference() -> Any:
    path = Path(__file__).parents[1] / "benchmarks" / "reference_pandas.py"
    spec = importlib.util.spec_from_file_location("reference_pandas", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["reference_pandas"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_matches_pandas_reference_on_complete_journey(cj: Any) -> None:
    tx = cj.transactions
    as_of = "2017-07-01"
    ours = build_profiles(tx, as_of=as_of, catalogue=cj.catalogue)
    ref = _reference().pandas_profiles(tx.to_pandas(), as_of)
    codes = tx.customers.encode(ref.index.to_numpy())
    assert ours.n_active == len(ref)
    for f in FEATURES:
        np.testing.assert_allclose(
            getattr(ours, f)[codes], ref[f].to_numpy(dtype=float), rtol=1e-9, err_msg=f
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 9)), min_size=0, max_size=80),
    st.booleans(),
)
def test_distinct_per_row_matches_sets(pairs: list[tuple[int, int]], wide: bool) -> None:
    """The counting-sort kernel counts each (row, col) pair once, int32 or int64 indexes."""
    from onetoone.data import distinct_per_row

    pairs.sort(key=lambda p: p[0])  # entries sorted by row, columns in any order
    row = np.array([p[0] for p in pairs], dtype=np.int32)
    col = np.array([p[1] for p in pairs], dtype=np.int64 if wide else np.int32)
    n_rows = 7
    expected = [len({c for r, c in pairs if r == i}) for i in range(n_rows)]
    got = distinct_per_row(row, col, (n_rows, 10))
    assert got.tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    n_cust=st.integers(1, 30),
    n_rows=st.integers(1, 400),
    n_items=st.integers(1, 12),
    block=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_profiles_do_not_depend_on_threads_or_blocks(
    n_cust: int, n_rows: int, n_items: int, block: int, seed: int
) -> None:
    # the distinct-items count runs in blocks of rows on threads: every feature equals the
    # one-thread answer and distinct_items equals a set count per customer
    from unittest import mock

    from onetoone import data

    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_cust, n_rows)
    item = rng.integers(0, n_items, n_rows)
    tx = Transactions.from_arrays(
        customer=cust,
        item=item,
        timestamp=np.datetime64("2024-01-01", "s") + rng.integers(0, 86400 * 30, n_rows),
        value=rng.random(n_rows),
        discount=(disc := np.where(rng.random(n_rows) < 0.3, 0.5, 0.0)),
    )
    one = build_profiles(tx, as_of="2024-03-01", num_threads=1)
    with (
        mock.patch.object(data, "_POOL_MIN_ROWS", 0),
        mock.patch.object(data, "_DISTINCT_BLOCK_ROWS", block),
    ):
        two = build_profiles(tx, as_of="2024-03-01", num_threads=2)
    for f in FEATURES:
        np.testing.assert_array_equal(getattr(two, f), getattr(one, f), err_msg=f)
    want = [len(set(item[cust == c].tolist())) for c in tx.customers.values]
    assert two.distinct_items.tolist() == want
    promo = [float((disc[cust == c] > 0).mean()) for c in tx.customers.values]
    np.testing.assert_allclose(two.promo_line_share, promo, rtol=1e-12)


@pytest.mark.parametrize("bad", [-1, 2.5, "2", None])
def test_profiles_num_threads_is_validated(bad: Any) -> None:
    with pytest.raises(ValidationError, match="num_threads"):
        build_profiles(_log(), as_of="2024-01-26", num_threads=bad)
