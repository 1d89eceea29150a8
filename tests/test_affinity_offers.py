"""score_offers: aggregates by hand, filters, eligibility, unknown items, candidates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _affinity_data import habit_catalogue, habit_log
from onetoone.affinity import AffinityModel, fit_affinity, score_items, score_offers
from onetoone.data import IdIndex
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.offers import Offers

AS_OF = "2024-02-01"


def _model(method: str = "repeat") -> AffinityModel:
    return fit_affinity(
        habit_log(),
        as_of=AS_OF,
        method=method,
        catalogue=habit_catalogue(),  # type: ignore[arg-type]
        factors=4,
        iterations=5,
        num_threads=1,
        random_state=0,
    )


def _offers(model: AffinityModel, **kw: object) -> Offers:
    # o1 = {x, y}, o2 = {z}, o3 = {w, z}
    return Offers.from_pairs(
        ["o1", "o1", "o2", "o3", "o3"], ["x", "y", "z", "w", "z"], items=model.items, **kw
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("aggregate", ["max", "mean", "sum"])
def test_aggregates_by_hand(aggregate: str) -> None:
    m = _model()
    items = score_items(m)
    assert items.dense is not None
    col = {k: j for j, k in enumerate(items.items.to_list())}
    s = items.dense
    groups = {"o1": ["x", "y"], "o2": ["z"], "o3": ["w", "z"]}
    fn = {"max": np.max, "mean": np.mean, "sum": np.sum}[aggregate]
    expect = np.column_stack([fn(s[:, [col[i] for i in g]], axis=1) for g in groups.values()])
    got = score_offers(m, None, _offers(m), aggregate=aggregate)  # type: ignore[arg-type]
    assert got.dense is not None and got.offers.to_list() == ["o1", "o2", "o3"]
    np.testing.assert_allclose(got.dense, expect)
    assert got.aggregate == aggregate


def test_customer_who_buys_x_prefers_the_offer_with_x() -> None:
    m = _model("hybrid")
    top = score_offers(m, ["ann", "bob", "cat"], _offers(m), top_k=1)
    assert top.top_ids()[:, 0].tolist() == ["o1", "o1", "o3"]


def test_exclude_recent_days_at_offer_level() -> None:
    m = _model()
    # cat bought w and z two days before as_of: o2 (z) and o3 (w, z) are excluded for her
    s = score_offers(m, ["cat"], _offers(m), exclude_recent_days=5)
    assert s.dense is not None
    assert np.isfinite(s.dense[0, 0]) and np.isneginf(s.dense[0, 1:]).all()
    for agg in ("mean", "sum"):
        t = score_offers(m, ["cat"], _offers(m), exclude_recent_days=5, aggregate=agg)  # type: ignore[arg-type]
        assert t.dense is not None and np.isneginf(t.dense[0, 1:]).all()


def test_eligibility_restricts_offers() -> None:
    m = _model()
    offers = _offers(m, eligibility=(["ann", "bob"], ["o2", "o3"]))
    s = score_offers(m, ["ann", "bob", "cat"], offers)
    assert s.dense is not None
    ok = np.isfinite(s.dense)
    assert ok.astype(int).tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    c, o, _v = s.to_candidates()
    assert c.tolist() == [0, 1] and o.tolist() == [1, 2]
    free = score_offers(m, ["cat"], offers, respect_eligibility=False)
    assert free.dense is not None and np.isfinite(free.dense).all()
    top = score_offers(m, ["ann", "bob", "cat"], offers, top_k=2)
    c2, o2, _ = top.to_candidates()
    assert c2.tolist() == [0, 1] and o2.tolist() == [1, 2]


def test_unknown_offer_items_raise_or_are_dropped() -> None:
    m = _model()
    universe = IdIndex.from_values(["x", "y", "zz-unknown", "qq-unknown"])
    offers = Offers.from_pairs(
        ["o1", "o1", "cold"], ["x", "zz-unknown", "qq-unknown"], items=universe
    )
    with pytest.raises(UnknownIdError, match="unknown_items='drop'"):
        score_offers(m, ["ann"], offers)
    s = score_offers(m, ["ann", "bob"], offers, unknown_items="drop")
    assert s.n_unknown_items == 2 and s.n_cold_offers == 1
    assert s.dense is not None and np.isfinite(s.dense).all()
    # o1 is scored on x alone; the cold offer on the global (shrunk mean) fallback
    x = score_items(m, ["ann", "bob"], item_ids=["x"]).dense
    assert x is not None
    assert s.offers.to_list() == ["cold", "o1"]
    np.testing.assert_allclose(s.dense[:, 1], x[:, 0])
    assert (s.dense[:, 0] > 0).all()


def test_top_k_matches_dense_and_respects_k() -> None:
    m = _model("hybrid")
    dense = score_offers(m, None, _offers(m)).dense
    top = score_offers(m, None, _offers(m), top_k=2)
    assert dense is not None and top.top_score is not None
    np.testing.assert_allclose(top.top_score, -np.sort(-dense, axis=1)[:, :2], rtol=1e-6)
    full = top.to_dense()
    np.testing.assert_array_equal(np.sort(full[np.isfinite(full)]), np.sort(top.top_score.ravel()))
    assert score_offers(m, None, _offers(m), top_k=10).k == 3


@settings(max_examples=10, deadline=None)
@given(block=st.integers(1, 6), agg=st.sampled_from(["max", "mean", "sum"]))
def test_block_size_does_not_change_offer_scores(block: int, agg: str) -> None:
    m = _model("repeat")
    a = score_offers(m, None, _offers(m), aggregate=agg).dense  # type: ignore[arg-type]
    b = score_offers(m, None, _offers(m), aggregate=agg, block_size=block).dense  # type: ignore[arg-type]
    assert a is not None and b is not None
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"aggregate": "median"}, ValidationError, "aggregate must be"),
        ({"unknown_items": "skip"}, ValidationError, "unknown_items must be"),
        ({"top_k": -1}, ValidationError, "top_k must be"),
        ({"max_dense_cells": 2}, ValidationError, "pass top_k"),
    ],
)
def test_score_offers_bad_options(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    m = _model()
    with pytest.raises(error, match=match):
        score_offers(m, None, _offers(m), **kwargs)  # type: ignore[arg-type]


def test_score_offers_bad_inputs() -> None:
    m = _model()
    with pytest.raises(ValidationError, match="offers must be an Offers"):
        score_offers(m, None, {"o1": ["x"]})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="model must be an AffinityModel"):
        score_offers("model", None, _offers(m))  # type: ignore[arg-type]
    int_offers = Offers.from_pairs([1], [5])
    with pytest.raises(ValidationError, match="offers cover int item ids"):
        score_offers(m, None, int_offers)
    with pytest.raises(EmptyInputError, match="customer_ids is empty"):
        score_offers(m, [], _offers(m))
    with pytest.raises(UnknownIdError, match="unknown to the model"):
        score_offers(m, ["nobody"], _offers(m))


def test_offer_scores_are_read_only_and_decodable() -> None:
    m = _model()
    s = score_offers(m, ["ann"], _offers(m), top_k=2)
    assert s.top_index is not None
    with pytest.raises(ValueError, match="read-only"):
        s.top_index[0, 0] = 1
    assert s.top_ids().shape == (1, 2)
    with pytest.raises(ValidationError, match="dense"):
        score_offers(m, ["ann"], _offers(m)).top_ids()


@pytest.mark.parametrize("method", ["repeat", "hybrid"])
def test_threads_do_not_change_results(method: str) -> None:
    m = _model(method)
    one = score_offers(m, None, _offers(m), top_k=2, block_size=1)
    two = score_offers(m, None, _offers(m), top_k=2, block_size=1, num_threads=2)
    assert one.top_score is not None and two.top_score is not None
    np.testing.assert_allclose(one.top_score, two.top_score, rtol=1e-6)
    a = score_items(m, block_size=1).dense
    b = score_items(m, block_size=1, num_threads=0).dense
    assert a is not None and b is not None
    np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValidationError, match="num_threads must be an int >= 0"):
        score_items(m, num_threads=-2)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_off=st.integers(1, 30),
    max_size=st.integers(1, 12),
    slots=st.integers(1, 6),
)
def test_max_plan_matches_reduceat(seed: int, n_off: int, max_size: int, slots: int) -> None:
    import scipy.sparse as sp

    from onetoone.affinity._score import _MaxPlan

    rng = np.random.default_rng(seed)
    k = 15
    rows = [rng.choice(k, size=rng.integers(1, max_size + 1), replace=True) for _ in range(n_off)]
    r = np.repeat(np.arange(n_off), [len(x) for x in rows])
    a = sp.csr_array((np.ones(len(r)), (r, np.concatenate(rows))), shape=(n_off, k))
    a.sum_duplicates()
    s = rng.random((4, k)).astype(np.float32)
    s[rng.random(s.shape) < 0.2] = -np.inf
    expect = np.maximum.reduceat(s[:, a.indices], a.indptr[:-1], axis=1)
    np.testing.assert_array_equal(_MaxPlan(a, max_slots=slots).apply(s), expect)
