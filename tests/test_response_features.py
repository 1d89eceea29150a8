"""offer_features: known answers, no leakage, determinism, blocks, bad input, campaign 8."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.affinity import fit_affinity, score_offers
from onetoone.data import Catalogue, Transactions
from onetoone.errors import EmptyInputError, LengthMismatchError, UnknownIdError, ValidationError
from onetoone.offers import Offers
from onetoone.response import FEATURES, OfferFeatures, offer_features

AS_OF = "2024-03-01"

# (customer, item, time, paid, discount); the last two rows are at / after AS_OF
ROWS = [
    ("ann", "milk", "2024-02-20", 2.0, 0.0),
    ("ann", "milk", "2024-02-10", 2.0, 1.0),
    ("ann", "bread", "2024-02-25", 3.0, 0.0),
    ("ann", "tea", "2024-02-29", 4.0, 0.0),
    ("bob", "bread", "2024-01-31", 2.0, 0.0),
    ("bob", "jam", "2024-02-29T12:00", 5.0, 0.0),
    ("cat", "tea", "2024-02-21", 1.0, 0.0),
    ("ann", "caviar", "2024-03-01", 9.0, 0.0),
    ("bob", "milk", "2024-03-05", 2.0, 0.0),
]


def _tx(rows: list[tuple[str, str, str, float, float]] = ROWS) -> Transactions:
    c, i, t, v, d = zip(*rows, strict=True)
    return Transactions.from_arrays(
        customer=list(c), item=list(i), timestamp=list(t), value=list(v), discount=list(d)
    )


OFFERS = Offers.from_pairs(["o1", "o1", "o2", "o2"], ["milk", "bread", "jam", "caviar"])
CATALOGUE = Catalogue.from_arrays(
    item=["milk", "bread", "jam", "tea", "caviar"],
    category=["dairy", "bakery", "spreads", "drinks", "deli"],
)
REDEMPTIONS = (
    ["ann", "ann", "ann", "bob", "cat", "dan"],
    ["o1", "o1", "o9", "o1", "o2", "o2"],
    ["2024-02-01", "2024-02-03", "2024-02-02", "2024-02-15", "2024-03-02", "2024-01-01"],
)


def _features(**kw: Any) -> OfferFeatures:
    kw.setdefault("half_life_days", 10.0)
    return offer_features(_tx(), OFFERS, kw.pop("customer_ids", None), as_of=AS_OF, **kw)


# ------------------------------------------------------------------ known answers
def test_known_answers() -> None:
    f = _features(catalogue=CATALOGUE, redemptions=REDEMPTIONS)
    assert f.customers.to_list() == ["ann", "bob", "cat"]
    assert f.offers.to_list() == ["o1", "o2"]
    assert f.names == (*FEATURES[:8], "category_share", *FEATURES[10:])
    assert f.values.shape == (6, 12) and not f.values.flags.writeable
    d = f.to_dict()
    never = 30.0  # history: from bob's first line (2024-01-31) to AS_OF
    # ann: milk x2 (20 and 10 days old), bread (5 days); bob: bread (30 d), jam (0.5 d)
    assert d["count_sum"].tolist() == [[3.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    assert d["count_max"].tolist() == [[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    expected_recency = [[0.25 + 0.5 + 2**-0.5, 0.0], [0.125, 2**-0.05], [0.0, 0.0]]
    np.testing.assert_allclose(d["count_recency"], expected_recency, rtol=1e-12)
    assert d["breadth"].tolist() == [[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]]  # caviar counts
    assert d["days_since"].tolist() == [[5.0, never], [30.0, 0.5], [never, never]]
    np.testing.assert_allclose(d["popularity"], [[2 / 3, 1 / 3]] * 3)
    assert d["size"].tolist() == [[2.0, 2.0]] * 3
    np.testing.assert_allclose(d["discount_share"], [[1 / 12] * 2, [0.0] * 2, [0.0] * 2])
    assert d["category_share"].tolist() == [[0.75, 0.0], [0.5, 0.5], [0.0, 0.0]]
    # redemptions before AS_OF: ann {o1, o9}, bob {o1}, dan {o2}; cat's is after AS_OF
    np.testing.assert_allclose(d["offer_redemption_rate"], [[2 / 3, 1 / 3]] * 3)
    assert d["customer_redemptions"].tolist() == [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0]]
    assert d["redeemed_before"].tolist() == [[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]


def test_row_order_and_matrix() -> None:
    f = _features()
    cust, off = f.pair_codes()
    assert cust.tolist() == [0, 0, 1, 1, 2, 2] and off.tolist() == [0, 1] * 3
    m = f.matrix(["count_sum", "size"])
    assert m.shape == (6, 2)
    assert m[:, 0].tolist() == f.to_dict()["count_sum"].ravel().tolist()
    assert f.matrix() is f.values and f.n_pairs == 6
    np.testing.assert_array_equal(f.values.reshape(3, 2, -1)[1, 0], f.values[2])
    with pytest.raises(ValidationError, match=r"names: \['affinity'\] not among"):
        f.matrix(["affinity"])


def test_affinity_is_score_offers() -> None:
    tx = _tx()
    model = fit_affinity(tx, method="repeat", as_of=AS_OF)
    f = offer_features(tx, OFFERS, ["bob", "ann"], as_of=AS_OF, model=model)
    assert f.names[-1] == "affinity"
    ref = score_offers(model, ["ann", "bob"], OFFERS, unknown_items="drop")
    np.testing.assert_array_equal(f.to_dict()["affinity"], ref.to_dense())


def test_redemptions_object_is_accepted() -> None:
    from onetoone.measurement import Redemptions

    c, o, t = REDEMPTIONS
    r = Redemptions.from_arrays(customer=c, offer=o, timestamp=t)
    a = _features(redemptions=r)
    b = _features(redemptions=REDEMPTIONS)
    np.testing.assert_array_equal(a.values, b.values)


# ------------------------------------------------------------------ properties
_LATE = st.lists(
    st.tuples(
        st.sampled_from(["ann", "bob", "cat", "eve"]),
        st.sampled_from(["milk", "bread", "jam", "tea", "caviar", "new"]),
        st.integers(0, 90 * 86400),
        st.floats(0.5, 20.0),
        st.floats(0.0, 3.0),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(late=_LATE)
def test_rows_at_or_after_as_of_change_nothing(
    late: list[tuple[str, str, int, float, float]],
) -> None:
    base = _features(
        catalogue=CATALOGUE, redemptions=REDEMPTIONS, customer_ids=["ann", "bob", "cat"]
    )
    t0 = np.datetime64(AS_OF, "s")
    extra = [(c, i, str(t0 + np.timedelta64(s, "s")), v, d) for c, i, s, v, d in late]
    c, o, t = REDEMPTIONS
    late_red = (c + [x[0] for x in late], o + ["o1"] * len(late), t + [x[2] for x in extra])
    f = offer_features(
        _tx(ROWS + extra),
        OFFERS,
        ["ann", "bob", "cat"],
        as_of=AS_OF,
        half_life_days=10.0,
        catalogue=CATALOGUE,
        redemptions=late_red,
    )
    assert f.names == base.names
    np.testing.assert_array_equal(f.values, base.values)


def test_deterministic_and_block_size_free() -> None:
    tx = _tx()
    model = fit_affinity(tx, method="repeat", as_of=AS_OF)
    kw: dict[str, Any] = dict(
        as_of=AS_OF, catalogue=CATALOGUE, model=model, redemptions=REDEMPTIONS
    )
    ref = offer_features(tx, OFFERS, **kw)
    np.testing.assert_array_equal(offer_features(tx, OFFERS, **kw).values, ref.values)
    for bs in (1, 2, 1000):
        np.testing.assert_array_equal(
            offer_features(tx, OFFERS, block_size=bs, **kw).values, ref.values
        )


def test_a_pair_does_not_depend_on_the_other_customers() -> None:
    full = _features(catalogue=CATALOGUE, redemptions=REDEMPTIONS)
    one = _features(catalogue=CATALOGUE, redemptions=REDEMPTIONS, customer_ids=["bob"])
    np.testing.assert_array_equal(one.values, full.values[2:4])


# ------------------------------------------------------------------ unknown customers
def test_unknown_customers_raise_by_default() -> None:
    with pytest.raises(
        UnknownIdError,
        match=r"customer_ids: 1 id\(s\) not in the log, e.g. "
        r"\['zed'\]; pass unknown='keep'",
    ):
        _features(customer_ids=["ann", "zed"])


def test_unknown_customers_drop_and_keep() -> None:
    dropped = _features(customer_ids=["ann", "zed"], unknown="drop")
    assert dropped.customers.to_list() == ["ann"] and dropped.n_unknown_customers == 1
    kept = _features(
        customer_ids=["ann", "zed"], unknown="keep", catalogue=CATALOGUE, redemptions=REDEMPTIONS
    )
    assert kept.customers.to_list() == ["ann", "zed"] and kept.n_unknown_customers == 1
    zed = {n: v[1].tolist() for n, v in kept.to_dict().items()}
    assert zed["count_sum"] == [0.0, 0.0] and zed["days_since"] == [30.0, 30.0]
    assert zed["discount_share"] == [0.0, 0.0] and zed["category_share"] == [0.0, 0.0]
    np.testing.assert_allclose(zed["popularity"], [2 / 3, 1 / 3])
    with pytest.raises(EmptyInputError, match="all 1 id\\(s\\) are not in the log"):
        _features(customer_ids=["zed"], unknown="drop")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {"half_life_days": float("nan")},
            ValidationError,
            r"half_life_days must be a finite number > 0, got nan",
        ),
        ({"half_life_days": 0.0}, ValidationError, r"half_life_days must be a finite number > 0"),
        ({"half_life_days": "90"}, ValidationError, r"half_life_days must be a finite number"),
        ({"block_size": 0}, ValidationError, r"block_size must be an int >= 1, got 0"),
        ({"block_size": 2.0}, ValidationError, r"block_size must be an int >= 1"),
        (
            {"unknown": "ignore"},
            ValidationError,
            r"unknown must be one of 'raise', 'drop', 'keep', got 'ignore'",
        ),
        ({"as_of": 20240301}, ValidationError, r"as_of=20240301 is a bare number"),
        ({"as_of": "2024-01-01"}, EmptyInputError, r"transactions has no row before as_of"),
        (
            {"catalogue": {"milk": "dairy"}},
            ValidationError,
            r"catalogue must be a Catalogue or None, got dict",
        ),
        (
            {"catalogue": Catalogue.from_arrays(item=[1], category=["x"])},
            ValidationError,
            r"catalogue item ids are ints but the log's are strs",
        ),
        ({"model": "als"}, ValidationError, r"model must be an AffinityModel or None, got str"),
        (
            {"customer_ids": [1, 2]},
            ValidationError,
            r"customer_ids are ints but the log's customers are strs",
        ),
        ({"customer_ids": []}, EmptyInputError, r"customer_ids is empty"),
        (
            {"redemptions": (["ann"], ["o1"])},
            ValidationError,
            r"redemptions must have 3 columns, got a tuple of 2",
        ),
        (
            {"redemptions": [["ann"], ["o1"], ["2024-01-01"]]},
            ValidationError,
            r"redemptions must be a tuple or a Redemptions, got list",
        ),
        (
            {"redemptions": (["ann", "bob"], ["o1"], ["2024-01-01"] * 2)},
            LengthMismatchError,
            r"redemptions offer_ids has 1 entries but redemptions customer_ids has 2",
        ),
        (
            {"redemptions": (["ann"], ["o1"], [1.5])},
            ValidationError,
            r"redemptions timestamps must be a 1-D column of times",
        ),
        (
            {"redemptions": (["ann"], ["o1"], ["soon"])},
            ValidationError,
            r"redemptions timestamps do not parse",
        ),
        (
            {"redemptions": (["ann"], [1], ["2024-01-01"])},
            ValidationError,
            r"redemptions offer_ids are ints but the index holds strs",
        ),
    ],
)
def test_bad_input(kw: dict[str, Any], error: type[Exception], message: str) -> None:
    kw.setdefault("as_of", AS_OF)
    customer_ids = kw.pop("customer_ids", None)
    with pytest.raises(error, match=message):
        offer_features(_tx(), OFFERS, customer_ids, **kw)


def test_bad_data_arguments() -> None:
    with pytest.raises(ValidationError, match="transactions must be a Transactions log, got"):
        offer_features("log", OFFERS, as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="offers must be an Offers, got dict"):
        offer_features(_tx(), {"o1": ["milk"]}, as_of=AS_OF)  # type: ignore[arg-type]
    int_offers = Offers.from_pairs(["o1"], [5])
    with pytest.raises(ValidationError, match="offers cover items with int ids but the log's"):
        offer_features(_tx(), int_offers, as_of=AS_OF)


def test_model_fitted_after_as_of_is_refused() -> None:
    tx = _tx()
    model = fit_affinity(tx, method="repeat", as_of="2024-03-10")
    with pytest.raises(ValidationError, match=r"model was fitted on rows up to .* would leak"):
        offer_features(tx, OFFERS, as_of=AS_OF, model=model)


def test_result_validates_itself() -> None:
    f = _features()
    with pytest.raises(ValidationError, match=r"values has shape \(6, 7\), expected \(6, 8\)"):
        OfferFeatures(
            customers=f.customers,
            offers=f.offers,
            names=f.names,
            values=f.values[:, :7],
            as_of=f.as_of,
        )
    with pytest.raises(ValidationError, match="names must be distinct names of FEATURES"):
        OfferFeatures(
            customers=f.customers, offers=f.offers, names=("x",) * 8, values=f.values, as_of=f.as_of
        )


# ------------------------------------------------------------------ Complete Journey
@pytest.mark.slow
def test_campaign_8(cj: Any) -> None:
    c8 = cj.campaign(8)
    tx = cj.transactions
    offers = Offers.from_pairs(c8.coupon_upc, c8.coupon_product)
    f = offer_features(tx, offers, c8.households, as_of=c8.start, catalogue=cj.catalogue)
    n_h, n_c = len(np.unique(c8.households)), len(np.unique(c8.coupon_upc))
    assert (n_h, n_c) == (1076, 209)
    assert f.values.shape == (n_h * n_c, 9) and bool(np.isfinite(f.values).all())
    counts = f.to_dict()["count_sum"]
    # a direct recomputation of a few pairs from the raw columns, no pandas
    rng = np.random.default_rng(0)
    hit_r, hit_k = np.nonzero(counts)
    picks = [(int(hit_r[j]), int(hit_k[j])) for j in rng.choice(len(hit_r), 5, replace=False)]
    picks += [
        (int(r), int(k))
        for r, k in zip(rng.integers(0, n_h, 5), rng.integers(0, n_c, 5), strict=True)
    ]
    before = tx.timestamp < c8.start
    cust_id = tx.customers.decode(tx.customer)
    item_id = tx.items.decode(tx.item)
    for r, k in picks:
        h, upc = f.customers.values[r], f.offers.values[k]
        products = np.unique(c8.coupon_product[c8.coupon_upc == upc])
        direct = int((before & (cust_id == h) & np.isin(item_id, products)).sum())
        assert counts[r, k] == direct, (h, upc)


def test_offer_items_never_sold() -> None:
    offers = Offers.from_pairs(["o3", "o4", "o4"], ["truffle", "truffle", "milk"])
    f = offer_features(_tx(), offers, ["ann"], as_of=AS_OF, catalogue=CATALOGUE)
    d = {n: v[0].tolist() for n, v in f.to_dict().items()}
    assert d["size"] == [1.0, 2.0] and d["count_sum"] == [0.0, 2.0]
    assert d["breadth"] == [0.0, 0.5] and d["days_since"] == [30.0, 10.0]
    assert d["popularity"] == [0.0, 1 / 3] and d["category_share"] == [0.0, 0.5]
