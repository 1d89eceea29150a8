"""Offers: construction from pairs and rules, costs, eligibility, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from _affinity_data import habit_catalogue
from onetoone.data import IdIndex
from onetoone.errors import EmptyInputError, LengthMismatchError, UnknownIdError, ValidationError
from onetoone.offers import Offers

ITEMS = IdIndex.from_values(["new", "w", "x", "y", "z"])


def test_from_pairs_builds_incidence_and_merges_duplicates() -> None:
    o = Offers.from_pairs(["b", "a", "a", "a"], ["z", "x", "y", "x"], items=ITEMS, cost=2.0)
    assert o.ids.to_list() == ["a", "b"]
    assert o.incidence.toarray().tolist() == [[0, 0, 1, 1, 0], [0, 0, 0, 0, 1]]
    assert o.sizes.tolist() == [2, 1]
    assert o.cost.tolist() == [2.0, 2.0]
    assert o.value is None
    assert o.n_unknown_items == 0
    with pytest.raises(ValueError, match="read-only"):
        o.cost[0] = 1.0


def test_items_default_to_the_pairs() -> None:
    o = Offers.from_pairs([1, 1, 2], [30, 10, 20])
    assert o.items.to_list() == [10, 20, 30]


def test_cost_and_value_per_pair_and_mapping() -> None:
    o = Offers.from_pairs(
        ["a", "a", "b"],
        ["x", "y", "z"],
        items=ITEMS,
        cost=[1.0, 1.0, 3.0],
        value={"a": 5.0, "b": 7.5},
    )
    assert o.cost.tolist() == [1.0, 3.0]
    assert o.value is not None and o.value.tolist() == [5.0, 7.5]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cost": [1.0, 2.0, 3.0]}, ValidationError, "cost differs between rows of the same offer"),
        ({"cost": [1.0]}, LengthMismatchError, "cost has 1 rows"),
        ({"cost": -1.0}, ValidationError, "cost must be finite and >= 0"),
        ({"cost": {"a": 1.0}}, ValidationError, "no value for 1 offer"),
        ({"cost": {"zz": 1.0, "a": 1.0, "b": 1.0}}, UnknownIdError, "not among the offers"),
        ({"value": [np.inf, np.inf, 1.0]}, ValidationError, "value must be finite where known"),
        ({"value": [np.nan, np.nan, 1.0]}, None, None),
        ({"unknown_items": "keep"}, ValidationError, "cannot keep items outside `items`"),
        ({"unknown_items": "skip"}, ValidationError, "unknown_items must be one of"),
        ({"empty_offers": "keep"}, ValidationError, "empty_offers must be one of 'raise', 'drop'"),
        ({"items": ["x"]}, ValidationError, "items must be an IdIndex or None"),
        ({"eligibility": ([1],)}, ValidationError, "eligibility must be a"),
        ({"eligibility": (["u1"], ["nope"])}, UnknownIdError, "eligibility offer_ids"),
    ],
)
def test_from_pairs_bad_input(
    kwargs: dict[str, object], error: type[Exception] | None, match: str | None
) -> None:
    call = lambda: Offers.from_pairs(["a", "a", "b"], ["x", "y", "z"], **{"items": ITEMS, **kwargs})  # type: ignore[arg-type]  # noqa: E731
    if error is None:
        call()
        return
    with pytest.raises(error, match=match):
        call()


def test_unknown_items_raise_or_drop_with_count() -> None:
    with pytest.raises(UnknownIdError, match="unknown_items='drop'"):
        Offers.from_pairs(["a", "a"], ["x", "qq"], items=ITEMS)
    o = Offers.from_pairs(["a", "a", "b"], ["x", "qq", "y"], items=ITEMS, unknown_items="drop")
    assert o.n_unknown_items == 1
    assert o.sizes.tolist() == [1, 1]
    with pytest.raises(EmptyInputError, match="cover no item"):
        Offers.from_pairs(["a", "b"], ["x", "qq"], items=ITEMS, unknown_items="drop")


def test_offers_left_with_no_item_name_the_fix_and_can_be_dropped() -> None:
    """Issue 13: following the advice unknown_items='drop' used to end in
    "1 offer(s) cover no item" with no fix offered."""
    pairs = (["a", "b", "b", "c"], ["x", "qq", "rr", "y"])
    with pytest.raises(UnknownIdError, match=r"unknown_items='drop', empty_offers='drop'.*\['b'\]"):
        Offers.from_pairs(*pairs, items=ITEMS)
    with pytest.raises(
        EmptyInputError,
        match=r"1 offer\(s\) cover no item .*\['b'\]; pass "
        "empty_offers='drop'",
    ):
        Offers.from_pairs(*pairs, items=ITEMS, unknown_items="drop")
    o = Offers.from_pairs(
        *pairs,
        items=ITEMS,
        unknown_items="drop",
        empty_offers="drop",
        cost={"a": 1.0, "b": 2.0, "c": 3.0},
        value=[5.0, 6.0, 6.0, 7.0],
        eligibility=(["u1", "u1", "u2"], ["a", "b", "c"]),
    )
    assert o.ids.to_list() == ["a", "c"]
    assert (o.n_unknown_items, o.n_dropped_offers) == (2, 1)
    assert o.cost.tolist() == [1.0, 3.0]
    assert o.value is not None and o.value.tolist() == [5.0, 7.0]
    assert o.incidence.toarray().tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]
    m = o.eligible_mask(IdIndex.from_values(["u1", "u2"]))
    assert m is not None and m.toarray().tolist() == [[True, False], [False, True]]
    with pytest.raises(EmptyInputError, match="leaves none"):
        Offers.from_pairs(["a"], ["qq"], items=ITEMS, unknown_items="drop", empty_offers="drop")


def test_from_rules_can_drop_rules_matching_nothing() -> None:
    cat = habit_catalogue()
    with pytest.raises(EmptyInputError, match=r"rule matches no item.*\['a'\]; pass empty_offers"):
        Offers.from_rules(cat, offer_ids=["a", "b"], category=["dairy", "bakery"], brand=["B", "B"])
    o = Offers.from_rules(
        cat,
        offer_ids=["a", "b"],
        category=["dairy", "bakery"],
        brand=["B", "B"],
        empty_offers="drop",
    )
    assert o.ids.to_list() == ["b"] and o.n_dropped_offers == 1


def test_empty_and_mismatched_pairs() -> None:
    with pytest.raises(EmptyInputError, match="offer_ids is empty"):
        Offers.from_pairs([], [], items=ITEMS)
    with pytest.raises(LengthMismatchError, match="item_ids has 1 rows"):
        Offers.from_pairs(["a", "b"], ["x"], items=ITEMS)
    with pytest.raises(ValidationError, match="item_ids are ints but the index holds strs"):
        Offers.from_pairs(["a"], [1], items=ITEMS)


def test_direct_construction_is_validated() -> None:
    ids = IdIndex.from_values(["a"])
    with pytest.raises(EmptyInputError, match="cover no item"):
        Offers(ids=ids, items=ITEMS, incidence=sp.csr_array((1, 5)), cost=np.zeros(1))
    with pytest.raises(ValidationError, match="incidence has shape"):
        Offers(ids=ids, items=ITEMS, incidence=sp.csr_array(np.ones((1, 3))), cost=np.zeros(1))
    with pytest.raises(ValidationError, match=r"must be a scipy\.sparse\.csr_array"):
        Offers(ids=ids, items=ITEMS, incidence=np.ones((1, 5)), cost=np.zeros(1))  # type: ignore[arg-type]


def test_from_rules_category_and_brand() -> None:
    cat = habit_catalogue()
    o = Offers.from_rules(
        cat,
        offer_ids=["dairy", "bakeryB", "brandA"],
        category=["dairy", "bakery", None],
        brand=[None, "B", "A"],
        cost=1.0,
    )
    inc = dict(zip(o.ids.to_list(), o.incidence.toarray().tolist(), strict=True))
    names = o.items.to_list()
    covered = {k: {names[j] for j, v in enumerate(row) if v} for k, row in inc.items()}
    assert covered == {"dairy": {"x", "new"}, "bakeryB": {"y", "z"}, "brandA": {"x", "new"}}


def test_from_rules_bad_input() -> None:
    cat = habit_catalogue()
    with pytest.raises(ValidationError, match="give category= or brand="):
        Offers.from_rules(cat, offer_ids=["a"])
    with pytest.raises(UnknownIdError, match="category"):
        Offers.from_rules(cat, offer_ids=["a"], category=["meat"])
    with pytest.raises(ValidationError, match="offer_ids must be unique"):
        Offers.from_rules(cat, offer_ids=["a", "a"], category=["dairy", "bakery"])
    with pytest.raises(EmptyInputError, match="cover no item"):
        Offers.from_rules(cat, offer_ids=["a"], category=["dairy"], brand=["B"])
    with pytest.raises(ValidationError, match="catalogue must be a Catalogue"):
        Offers.from_rules("cat", offer_ids=["a"], category=["dairy"])  # type: ignore[arg-type]
    with pytest.raises(EmptyInputError, match="offer_ids is empty"):
        Offers.from_rules(cat, offer_ids=[], category=[])


def test_eligibility_rows_follow_requested_customers() -> None:
    o = Offers.from_pairs(
        ["a", "b"], ["x", "y"], items=ITEMS, eligibility=(["ann", "ann", "bob"], ["a", "b", "b"])
    )
    m = o.eligible_mask(IdIndex.from_values(["ann", "bob", "zed"]))
    assert m is not None
    assert m.dtype == bool
    assert m.toarray().astype(int).tolist() == [[1, 1], [0, 1], [0, 0]]
    with pytest.raises(ValidationError, match="customers are ints"):
        o.eligible_mask(IdIndex.from_values([1, 2]))
    with pytest.raises(ValidationError, match="customers must be an IdIndex, got list"):
        o.eligible_mask(["ann"])  # type: ignore[arg-type]
    assert Offers.from_pairs(["a"], ["x"], items=ITEMS).eligible_mask(ITEMS) is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 9)), min_size=1, max_size=40))
def test_incidence_matches_pairs(pairs: list[tuple[int, int]]) -> None:
    o_ids, i_ids = zip(*pairs, strict=True)
    o = Offers.from_pairs(list(o_ids), list(i_ids))
    got = {
        (int(o.ids.values[r]), int(o.items.values[c]))
        for r, c in zip(*o.incidence.nonzero(), strict=True)
    }
    assert got == set(pairs)
    assert set(o.incidence.data.tolist()) == {1.0}
