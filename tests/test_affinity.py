"""fit_affinity / score_items: known answers, determinism, cold start, filters, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _affinity_data import group_log, habit_catalogue, habit_log
from onetoone.affinity import (
    METHODS,
    AffinityModel,
    fit_affinity,
    partial_fit,
    score_items,
)
from onetoone.data import Transactions
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError

AS_OF = "2024-02-01"
TINY = {"factors": 4, "iterations": 5, "num_threads": 1, "random_state": 0}


def _fit(method: str, **kw: object) -> AffinityModel:
    opts = dict(TINY)
    opts.update(kw)
    return fit_affinity(
        habit_log(),
        as_of=AS_OF,
        method=method,  # type: ignore[arg-type]
        catalogue=habit_catalogue(),
        **opts,  # type: ignore[arg-type]
    )


def _row(model: AffinityModel, customer: str) -> dict[str, float]:
    s = score_items(model, [customer])
    assert s.dense is not None
    return dict(zip(s.items.to_list(), s.dense[0].tolist(), strict=True))


# --------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("method", ["repeat", "hybrid", "als"])
def test_customer_who_always_buys_x_gets_x_first(method: str) -> None:
    m = _fit(method)
    top = score_items(m, ["ann", "bob"], top_k=2)
    ids = top.top_ids()
    assert ids[0, 0] == "x"  # ann buys x in every basket
    assert set(ids[1].tolist()) == {"y", "z"}  # bob buys y and z in every basket


def test_repeat_is_decayed_distinct_basket_count() -> None:
    m = _fit("repeat", half_life_days=10.0)
    ann = m.customers.encode(["ann"])[0]
    x = m.items.encode(["x"])[0]
    # ann bought x on Jan 2..7 (one basket a day); ages from Feb 1 are 25..30 days
    ages = np.array([30, 29, 28, 27, 26, 25], dtype=float)
    assert m.repeat[ann, x] == pytest.approx(np.sum(0.5 ** (ages / 10.0)))
    assert m.last_days[
        m.repeat.indptr[ann] + list(m.repeat.indices[m.repeat.indptr[ann] :]).index(x)
    ] == pytest.approx(25.0)
    r = _row(m, "ann")
    k = 1.0
    assert r["x"] == pytest.approx(m.repeat[ann, x] / (m.repeat[ann, x] + k))


def test_popularity_is_share_of_buyers_and_same_for_everyone() -> None:
    m = _fit("popularity")
    # active customers before Feb 1: ann, bob, cat; y and z have 2 buyers each
    assert m.popularity[m.items.encode(["y"])[0]] == pytest.approx(2 / 3)
    a, b = _row(m, "ann"), _row(m, "cat")
    assert a == b
    assert max(a, key=lambda k: a[k]) in {"y", "z"}


@pytest.mark.parametrize("method", ["als", "bpr"])
def test_cf_recommends_within_taste_group(method: str) -> None:
    tx = group_log()
    m = fit_affinity(
        tx,
        method=method,  # type: ignore[arg-type]
        factors=8,
        iterations=10,
        bpr_iterations=200,
        learning_rate=0.05,
        num_threads=1,
        random_state=0,
    )
    top = score_items(m, top_k=3)
    assert top.top_index is not None
    group_of_item = (m.items.values >= 6).astype(int)
    group_of_cust = m.customers.values % 2
    hits = group_of_item[top.top_index] == group_of_cust[:, None]
    assert hits.mean() > 0.9


def test_hybrid_ranks_bought_items_first_then_discovers() -> None:
    m = _fit("hybrid")
    r = _row(m, "bob")
    bought = {"y", "z"}
    assert min(r[i] for i in bought) > max(v for k, v in r.items() if k not in bought)


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("method", ["als", "bpr", "hybrid"])
def test_same_seed_same_model(method: str) -> None:
    a = fit_affinity(
        group_log(),
        method=method,
        factors=4,
        iterations=3,
        bpr_iterations=5,  # type: ignore[arg-type]
        num_threads=1,
        random_state=7,
    )
    b = fit_affinity(
        group_log(),
        method=method,
        factors=4,
        iterations=3,
        bpr_iterations=5,  # type: ignore[arg-type]
        num_threads=1,
        random_state=7,
    )
    c = fit_affinity(
        group_log(),
        method=method,
        factors=4,
        iterations=3,
        bpr_iterations=5,  # type: ignore[arg-type]
        num_threads=1,
        random_state=8,
    )
    assert a.user_factors is not None and b.user_factors is not None and c.user_factors is not None
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    np.testing.assert_array_equal(score_items(a).dense, score_items(b).dense)  # type: ignore[arg-type]
    assert not np.array_equal(a.user_factors, c.user_factors)


def test_generator_random_state_is_accepted() -> None:
    a = _fit("als", random_state=np.random.default_rng(3))
    b = _fit("als", random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a.item_factors, b.item_factors)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- point in time
def test_fit_reads_only_rows_before_as_of() -> None:
    m = _fit("repeat")
    dan = m.customers.encode(["dan"])[0]
    assert not m.has_history[dan]
    assert not m.seen_items[m.items.encode(["new"])[0]]
    assert m.as_of == np.datetime64(AS_OF, "s")
    later = fit_affinity(habit_log(), method="repeat")
    assert later.has_history[dan]


def test_no_rows_before_as_of_raises() -> None:
    with pytest.raises(EmptyInputError, match="no transactions before as_of"):
        fit_affinity(habit_log(), as_of="2023-01-01", method="repeat")


# --------------------------------------------------------------------------- cold start
@pytest.mark.parametrize("method", METHODS)
def test_cold_customer_gets_popularity(method: str) -> None:
    m = _fit(method)
    r = _row(m, "dan")
    pop = _fit("popularity")
    assert r == _row(pop, "dan")
    s = score_items(m, ["dan"])
    assert s.n_cold_customers == 1


def test_unknown_customer_policy() -> None:
    m = _fit("hybrid")
    with pytest.raises(UnknownIdError, match="unknown_customers='keep'.*'drop'"):
        score_items(m, ["zoe"])
    s = score_items(m, ["zoe", "ann"], unknown_customers="keep")
    assert s.n_cold_customers == 1 and s.n_unknown_customers == 1
    assert s.customers.to_list() == ["ann", "zoe"]
    assert np.isfinite(s.dense).all()  # type: ignore[arg-type]
    d = score_items(m, ["zoe", "ann"], unknown_customers="drop")
    assert d.customers.to_list() == ["ann"] and d.n_unknown_customers == 1
    assert d.n_cold_customers == 0
    np.testing.assert_array_equal(d.dense, s.dense[:1])  # type: ignore[index]


def test_unseen_item_scores_as_shrunk_category_mean() -> None:
    m = _fit("repeat")
    r = _row(m, "ann")
    # 'new' (dairy) was never bought before as_of; dairy's only seen item is x
    assert r["new"] == pytest.approx(r["x"] / 2)
    assert 0 < r["new"] < r["x"]


def test_unseen_item_without_catalogue_uses_all_items() -> None:
    m = fit_affinity(habit_log(), as_of=AS_OF, method="repeat")
    r = _row(m, "ann")
    seen = ["w", "x", "y", "z"]
    assert r["new"] == pytest.approx(sum(r[i] for i in seen) / (len(seen) + 1))


@settings(max_examples=15, deadline=None)
@given(
    n_rows=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    method=st.sampled_from(["repeat", "popularity", "hybrid", "als"]),
)
def test_scores_are_never_nan(n_rows: int, seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    tx = Transactions.from_arrays(
        customer=rng.integers(0, 6, n_rows),
        item=rng.integers(0, 5, n_rows),
        timestamp=np.datetime64("2024-01-01", "s")
        + rng.integers(0, 60, n_rows) * np.timedelta64(86400, "s"),
        value=np.ones(n_rows),
    )
    as_of = tx.period[0] + np.timedelta64(1, "s")  # at least one row before
    m = fit_affinity(
        tx,
        as_of=as_of,
        method=method,
        factors=2,
        iterations=2,  # type: ignore[arg-type]
        num_threads=1,
        random_state=0,
    )
    s = score_items(m, list(range(8)), unknown_customers="keep")
    assert s.dense is not None
    assert np.isfinite(s.dense).all()


# --------------------------------------------------------------------------- filters & shapes
def test_exclude_recent_days() -> None:
    m = _fit("repeat")
    # cat bought z and w on Jan 30 (2 days before as_of); bob's last y/z on Jan 13
    s = score_items(m, ["bob", "cat"], exclude_recent_days=5)
    d = dict(zip(s.items.to_list(), range(5), strict=True))
    assert s.dense is not None
    assert np.isneginf(s.dense[1, d["z"]]) and np.isneginf(s.dense[1, d["w"]])
    assert np.isfinite(s.dense[0]).all()
    top = score_items(m, ["cat"], top_k=2, exclude_recent_days=5)
    assert "z" not in top.top_ids()[0].tolist()[:1]
    _c, i, v = top.to_candidates()
    assert np.isfinite(v).all() and "z" not in m.items.decode(i).tolist()


@settings(max_examples=10, deadline=None)
@given(block=st.integers(1, 5), k=st.integers(1, 5))
def test_blocks_and_top_k_agree_with_dense(block: int, k: int) -> None:
    m = _fit("hybrid")
    dense = score_items(m).dense
    assert dense is not None
    blocked = score_items(m, block_size=block).dense
    assert blocked is not None
    # float32 factor products may round differently with the block shape
    np.testing.assert_allclose(dense, blocked, rtol=1e-5, atol=1e-7)
    top = score_items(m, top_k=k, block_size=block)
    assert top.top_score is not None and top.top_index is not None
    dense = blocked
    expect = -np.sort(-dense, axis=1)[:, :k]
    np.testing.assert_array_equal(top.top_score, expect)
    np.testing.assert_array_equal(np.take_along_axis(dense, top.top_index, 1), expect)
    assert top.k == k


def test_items_subset_and_to_dense() -> None:
    m = _fit("repeat")
    s = score_items(m, ["ann"], item_ids=["y", "x"])
    assert s.items.to_list() == ["x", "y"]
    full = _row(m, "ann")
    assert s.dense is not None
    assert s.dense[0].tolist() == [full["x"], full["y"]]
    t = score_items(m, ["ann"], item_ids=["y", "x"], top_k=1).to_dense()
    assert t[0, 0] == full["x"] and np.isneginf(t[0, 1])


def test_dense_guard_suggests_top_k() -> None:
    m = _fit("repeat")
    with pytest.raises(ValidationError, match="pass top_k"):
        score_items(m, max_dense_cells=3)


# --------------------------------------------------------------------------- partial fit
def test_partial_fit_adds_new_customer_with_own_history() -> None:
    m = _fit("als")
    new = Transactions.from_arrays(
        customer=["eve"] * 4,
        item=["y", "z", "y", "z"],
        timestamp=["2024-01-05", "2024-01-05", "2024-01-12", "2024-01-12"],
        value=np.ones(4),
    )
    m2 = partial_fit(m, new, num_threads=1)
    assert "eve" in m2.customers and m2.n_customers == m.n_customers + 1
    r = _row(m2, "eve")
    assert {max(r, key=lambda k: r[k])} <= {"y", "z"}
    # other customers keep their scores
    assert _row(m2, "ann") == pytest.approx(_row(m, "ann"))


def test_partial_fit_refreshes_existing_customer_like_the_fit() -> None:
    tx = group_log()
    m = fit_affinity(tx, method="als", factors=8, iterations=10, num_threads=1, random_state=0)
    m2 = partial_fit(m, tx, num_threads=1)
    a = score_items(m, top_k=2).top_index
    b = score_items(m2, top_k=2).top_index
    assert a is not None and b is not None
    # ALS's last sweep solves items after users, so a fresh solve differs a little
    assert (a[:, 0] == b[:, 0]).mean() >= 0.85
    da, db = score_items(m).dense, score_items(m2).dense
    assert da is not None and db is not None
    assert np.corrcoef(da.ravel(), db.ravel())[0, 1] > 0.95


def test_partial_fit_bpr_and_repeat() -> None:
    tx = group_log()
    for method in ("bpr", "repeat"):
        m = fit_affinity(
            tx,
            method=method,
            factors=4,
            bpr_iterations=20,
            num_threads=1,  # type: ignore[arg-type]
            random_state=0,
        )
        new = Transactions.from_arrays(
            customer=[999, 999],
            item=[6, 7],
            timestamp=["2024-03-02", "2024-03-03"],
            value=[1.0, 1.0],
        )
        m2 = partial_fit(m, new)
        s = score_items(m2, [999])
        assert s.dense is not None and np.isfinite(s.dense).all()
        assert s.n_cold_customers == 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "svd"}, "method must be one of"),
        ({"weighting": "idf"}, "weighting must be one of"),
        ({"factors": 0}, "factors must be an int >= 1"),
        ({"half_life_days": -1.0}, "half_life_days must be a finite number > 0"),
        ({"cf_weight": -0.1}, "cf_weight must be a finite number >= 0"),
        ({"bm25_b": 2.0}, "bm25_b must lie in"),
        ({"num_threads": -1}, "num_threads must be an int >= 0"),
        ({"random_state": -3}, "random_state must be a non-negative int"),
        ({"as_of": "not a date"}, "as_of='not a date' is not a valid time"),
    ],
)
def test_fit_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        fit_affinity(habit_log(), **kwargs)  # type: ignore[arg-type]


def test_fit_needs_transactions() -> None:
    with pytest.raises(ValidationError, match="transactions must be a Transactions"):
        fit_affinity([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_k": 0}, "top_k must be None or an int >= 1"),
        ({"exclude_recent_days": 0}, "exclude_recent_days must be None or a number > 0"),
        ({"block_size": 0}, "block_size must be None or an int >= 1"),
        ({"unknown_customers": "skip"}, "unknown_customers must be"),
        ({"item_ids": []}, "item_ids is empty"),
        ({"item_ids": ["nope"]}, "not in the index"),
    ],
)
def test_score_items_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        score_items(_fit("repeat"), **kwargs)  # type: ignore[arg-type]


def test_mismatched_customer_id_type() -> None:
    with pytest.raises(
        ValidationError, match="customer_ids are ints but the model's customers are strs"
    ):
        score_items(_fit("repeat"), [1, 2])


def test_empty_customers() -> None:
    with pytest.raises(EmptyInputError, match="customer_ids is empty"):
        score_items(_fit("repeat"), [])


def test_model_is_immutable() -> None:
    m = _fit("hybrid")
    with pytest.raises(AttributeError):
        m.method = "als"  # type: ignore[misc]
    assert m.user_factors is not None
    with pytest.raises(ValueError, match="read-only"):
        m.user_factors[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        m.repeat.data[0] = 1.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80))
def test_pair_stats_match_reference(seed: int, n: int) -> None:
    from onetoone.affinity._model import _pair_stats
    from onetoone.data import customer_item_matrix

    rng = np.random.default_rng(seed)
    tx = Transactions.from_arrays(
        customer=rng.integers(0, 5, n),
        item=rng.integers(0, 6, n),
        basket=rng.integers(0, 9, n),
        timestamp=np.datetime64("2024-01-01", "s")
        + rng.integers(0, 30 * 86400, n) * np.timedelta64(1, "s"),
        value=np.ones(n),
    )
    as_of = np.datetime64("2024-03-01", "s")
    rep, last, bsk = _pair_stats(tx, as_of, 7.0)
    ref = customer_item_matrix(tx, weight="baskets")
    np.testing.assert_array_equal(bsk.toarray(), ref.toarray())
    # brute force per (customer, item)
    age = (as_of - tx.timestamp).astype(np.float64) / 86400
    for c in range(tx.n_customers):
        for i in range(tx.n_items):
            sel = (tx.customer == c) & (tx.item == i)
            if not sel.any():
                assert rep[c, i] == 0
                continue
            _, first = np.unique(tx.basket[sel], return_index=True)
            assert rep[c, i] == pytest.approx(np.sum(0.5 ** (age[sel][first] / 7.0)))
            pos = (
                rep.indptr[c]
                + np.flatnonzero(rep.indices[rep.indptr[c] : rep.indptr[c + 1]] == i)[0]
            )
            assert last[pos] == pytest.approx(age[sel].min())


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(1, 6),
    cols=st.integers(1, 3000),
    k=st.integers(1, 12),
    ties=st.booleans(),
)
def test_topk_threshold_path_matches_sort(
    seed: int, rows: int, cols: int, k: int, ties: bool
) -> None:
    from onetoone.affinity._score import _topk

    rng = np.random.default_rng(seed)
    s = rng.random((rows, cols)).astype(np.float32)
    if ties:
        s = np.round(s * 4) / 4
    s[rng.random(s.shape) < 0.1] = -np.inf
    idx, val = _topk(s, k)
    kk = min(k, cols)
    expect = -np.sort(-s.astype(np.float64), axis=1)[:, :kk]
    np.testing.assert_array_equal(val, expect)
    np.testing.assert_array_equal(np.take_along_axis(s, idx, axis=1), expect)
    assert all(len(set(r)) == kk for r in idx.tolist())


@pytest.mark.parametrize("method", ["als", "bpr"])
@pytest.mark.parametrize("recent", [None, 5.0])
def test_factor_top_k_fast_path_matches_dense(method: str, recent: float | None) -> None:
    m = _fit(method, bpr_iterations=5)
    dense = score_items(m, exclude_recent_days=recent).dense
    top = score_items(m, top_k=3, exclude_recent_days=recent, num_threads=2)
    assert dense is not None and top.top_score is not None and top.top_index is not None
    expect = -np.sort(-dense, axis=1)[:, :3]
    np.testing.assert_allclose(top.top_score, expect, rtol=1e-6)
    got = np.take_along_axis(dense, top.top_index, axis=1)
    np.testing.assert_allclose(got, expect, rtol=1e-6)
    assert top.n_cold_customers == 1  # dan


def test_params_are_read_only_and_complete() -> None:
    m = _fit("repeat")
    with pytest.raises(TypeError):
        m.params["half_life_days"] = 3.0  # type: ignore[index]
    assert m.params["cf_weight"] == 0.01 and m.params["weighting"] == "bm25"
    import attrs

    with pytest.raises(ValidationError, match="params lacks"):
        attrs.evolve(m, params={"factors": 3})
