"""One contract for every affinity method (in the spirit of implicit's
``RecommenderBaseTestMixin``): whatever the method, the same promises hold.

Each test is parametrised over :data:`onetoone.affinity.METHODS`; a new method
joins the suite by being added there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import onetoone as oto
from onetoone.affinity import METHODS, load, save

sys.path.insert(0, str(Path(__file__).parents[1]))
from _affinity_data import group_log

AS_OF = "2024-04-01"


@pytest.fixture(scope="module")
def log() -> oto.Transactions:
    return group_log()


@pytest.fixture(scope="module", params=METHODS)
def fitted(request: pytest.FixtureRequest, log: oto.Transactions) -> oto.AffinityModel:
    return oto.fit_affinity(
        log,
        as_of=AS_OF,
        method=request.param,
        factors=4,
        iterations=5,
        bpr_iterations=200,
        random_state=0,
        num_threads=1,
    )


@pytest.fixture(scope="module")
def offers(log: oto.Transactions) -> oto.Offers:
    ids = log.items.to_list()
    return oto.Offers.from_pairs(
        ["a", "a", "b", "c", "c", "c"],
        [ids[0], ids[1], ids[5], ids[6], ids[7], ids[11]],
        items=log.items,
    )


def test_method_is_recorded(fitted: oto.AffinityModel) -> None:
    assert fitted.method in METHODS
    assert fitted.n_customers == 40 and fitted.n_items == 12


def test_deterministic_given_a_seed(fitted: oto.AffinityModel, log: oto.Transactions) -> None:
    again = oto.fit_affinity(
        log,
        as_of=AS_OF,
        method=fitted.method,
        factors=4,
        iterations=5,
        bpr_iterations=200,
        random_state=0,
        num_threads=1,
    )
    a = oto.score_items(fitted, log.customers.to_list()).dense
    b = oto.score_items(again, log.customers.to_list()).dense
    assert a is not None and b is not None
    np.testing.assert_array_equal(a, b)


def test_scores_have_the_documented_shape_and_are_finite(
    fitted: oto.AffinityModel, log: oto.Transactions, offers: oto.Offers
) -> None:
    customers = log.customers.to_list()[:7]
    items = oto.score_items(fitted, customers)
    assert items.dense is not None and items.dense.shape == (7, 12)
    assert np.isfinite(items.dense).all()
    scored = oto.score_offers(fitted, customers, offers)
    assert scored.dense is not None and scored.dense.shape == (7, 3)
    assert np.isfinite(scored.dense).all()
    top = oto.score_offers(fitted, customers, offers, top_k=2)
    assert top.top_index is not None and top.top_index.shape == (7, 2)
    # top-k agrees with the dense scores
    best = np.sort(scored.dense, axis=1)[:, ::-1][:, :2]
    assert top.top_score is not None
    np.testing.assert_allclose(top.top_score, best)


def test_recommends_within_the_customers_taste(
    fitted: oto.AffinityModel, log: oto.Transactions
) -> None:
    """Two taste groups (items 0-5, 6-11): every personalised method keeps a customer's
    top three within their own group; methods that read the customer's own history also
    rank the daily favourite among them."""
    if fitted.method == "popularity":
        pytest.skip("popularity is the same for everyone by definition")
    customers = np.arange(40)
    top = oto.score_items(fitted, customers.tolist(), top_k=3)
    assert top.top_index is not None
    group_of_item = log.items.decode(top.top_index.ravel()).reshape(40, 3) // 6
    assert (group_of_item == (customers % 2)[:, None]).mean() >= 0.9
    if fitted.method in ("repeat", "hybrid"):
        fav = np.where(customers % 2 == 0, 0, 6) + (customers // 2) % 6
        hits = (top.top_index == log.items.encode(fav)[:, None]).any(axis=1)
        assert hits.all()


def test_unknown_customers_raise_by_default(fitted: oto.AffinityModel) -> None:
    with pytest.raises(oto.UnknownIdError, match="unknown to the model"):
        oto.score_items(fitted, [10_000])


def test_bad_top_k_is_a_validation_error(fitted: oto.AffinityModel) -> None:
    with pytest.raises(oto.ValidationError, match="top_k"):
        oto.score_items(fitted, [0], top_k=0)


def test_round_trip_through_a_file(fitted: oto.AffinityModel, tmp_path: Path) -> None:
    path = os.fspath(tmp_path / "m.npz")
    save(fitted, path)
    back = load(path)
    a = oto.score_items(fitted, [0, 1, 2]).dense
    b = oto.score_items(back, [0, 1, 2]).dense
    assert a is not None and b is not None
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- unknown ids
def test_unknown_customers_keep_is_the_cold_start_row_and_drop_leaves_them_out(
    fitted: oto.AffinityModel, log: oto.Transactions, offers: oto.Offers
) -> None:
    """Every method: "keep" scores an unknown id like a customer without history
    (popularity), "drop" lists only known customers, "raise" names the fix."""
    popularity = oto.fit_affinity(log, as_of=AS_OF, method="popularity")
    known = [0, 1, 2]
    for score in (
        lambda ids, **kw: oto.score_items(fitted, ids, **kw),
        lambda ids, **kw: oto.score_offers(fitted, ids, offers, **kw),
    ):
        with pytest.raises(oto.UnknownIdError, match="unknown_customers='keep'"):
            score([*known, 10_000])
        keep = score([*known, 10_000], unknown_customers="keep")
        drop = score([*known, 10_000], unknown_customers="drop")
        plain = score(known)
        assert keep.customers.to_list() == [*known, 10_000] and keep.n_unknown_customers == 1
        assert drop.customers.to_list() == known and drop.n_unknown_customers == 1
        np.testing.assert_array_equal(drop.dense, plain.dense)
        np.testing.assert_array_equal(keep.dense[:3], plain.dense)
        cold = (
            oto.score_items(popularity, [0]).dense
            if isinstance(keep, oto.ItemScores)
            else oto.score_offers(popularity, [0], offers).dense
        )
        np.testing.assert_array_equal(keep.dense[3:], cold)


def test_unknown_offer_items_policies(fitted: oto.AffinityModel, log: oto.Transactions) -> None:
    universe = oto.IdIndex.from_values([*log.items.to_list(), 998, 999])
    promo = oto.Offers.from_pairs(["a", "a", "b"], [log.items.values[0], 998, 999], items=universe)
    with pytest.raises(oto.UnknownIdError, match="unknown_items='drop'"):
        oto.score_offers(fitted, [0, 1], promo)
    for policy in ("drop", "keep"):
        s = oto.score_offers(fitted, [0, 1], promo, unknown_items=policy)  # type: ignore[arg-type]
        assert (s.n_unknown_items, s.n_cold_offers) == (2, 1)
        assert s.dense is not None and np.isfinite(s.dense).all()
    drop = oto.score_offers(fitted, [0, 1], promo, unknown_items="drop").dense
    alone = oto.score_items(fitted, [0, 1], item_ids=[log.items.values[0]]).dense
    assert drop is not None and alone is not None
    np.testing.assert_allclose(drop[:, 0], alone[:, 0], rtol=1e-6)  # "a": on its known item


# --------------------------------------------------------------------------- num_threads
def test_scores_do_not_depend_on_num_threads(fitted: oto.AffinityModel, offers: oto.Offers) -> None:
    """0 (all cores, the default) and 1 give identical scores, dense and top-k, in blocks."""
    for kw in ({}, {"top_k": 3}):
        a = oto.score_items(fitted, num_threads=1, block_size=7, **kw)  # type: ignore[arg-type]
        b = oto.score_items(fitted, num_threads=0, block_size=7, **kw)  # type: ignore[arg-type]
        np.testing.assert_array_equal(a.to_dense(), b.to_dense())
        c = oto.score_offers(fitted, None, offers, num_threads=1, block_size=7, **kw)  # type: ignore[arg-type]
        d = oto.score_offers(fitted, None, offers, num_threads=0, block_size=7, **kw)  # type: ignore[arg-type]
        np.testing.assert_array_equal(c.to_dense(), d.to_dense())


def test_fit_does_not_depend_on_num_threads(
    fitted: oto.AffinityModel, log: oto.Transactions
) -> None:
    """Every method but BPR: documented, its Hogwild SGD races with several threads."""
    if fitted.method == "bpr":
        pytest.skip("BPR is only deterministic with num_threads=1 (documented)")
    again = oto.fit_affinity(
        log,
        as_of=AS_OF,
        method=fitted.method,
        factors=4,
        iterations=5,
        bpr_iterations=200,
        random_state=0,
        num_threads=0,
    )
    np.testing.assert_array_equal(
        oto.score_items(fitted).dense,  # type: ignore[arg-type]
        oto.score_items(again).dense,  # type: ignore[arg-type]
    )
