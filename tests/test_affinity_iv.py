"""Bad input to affinity scoring and Offers gives a typed error naming the argument (issue 12, #9).

Also: the hybrid weights are bounded and scores are guaranteed finite
(``cf_weight=1e308`` used to give +inf scores).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _affinity_data import habit_catalogue, habit_log
from onetoone.affinity import AffinityModel, fit_affinity, partial_fit, score_items, score_offers
from onetoone.data import Catalogue, IdIndex
from onetoone.errors import OneToOneError, ValidationError
from onetoone.offers import Offers

AS_OF = "2024-02-01"
TINY: dict[str, Any] = {"factors": 4, "iterations": 5, "num_threads": 1, "random_state": 0}


def _fit(method: str = "hybrid", **kw: Any) -> AffinityModel:
    return fit_affinity(
        habit_log(),
        as_of=AS_OF,
        method=method,  # type: ignore[arg-type]
        catalogue=habit_catalogue(),
        **{**TINY, **kw},
    )


@functools.cache
def _repeat() -> AffinityModel:
    return _fit("repeat")


def _offers(model: AffinityModel) -> Offers:
    return Offers.from_pairs(["o1", "o1", "o2"], ["x", "y", "z"], items=model.items)


def _pairs(**kw: Any) -> Offers:
    args: dict[str, Any] = dict(offer_ids=["a", "b"], item_ids=["x", "y"])
    args.update(kw)
    return Offers.from_pairs(args.pop("offer_ids"), args.pop("item_ids"), **args)


def _rules(**kw: Any) -> Offers:
    cat = Catalogue.from_arrays(item=[0, 1, 2], category=["a", "b", "a"])
    args: dict[str, Any] = dict(catalogue=cat, offer_ids=["x", "y"], category=["a", "b"])
    args.update(kw)
    return Offers.from_rules(args.pop("catalogue"), **args)


def _fit_bad(**kw: Any) -> Callable[[], Any]:
    return lambda: fit_affinity(habit_log(), as_of=AS_OF, **{**TINY, **kw})


BAD_FIT: list[tuple[str, Any, str]] = [
    ("cf_weight", 1e308, "cf_weight must be a finite number >= 0 and <= 1000"),
    ("cf_weight", float("inf"), "cf_weight must be a finite number"),
    ("cf_weight", "0.1", "cf_weight must be a finite number"),
    ("cf_weight", 10**400, "cf_weight must be a finite number"),
    ("popularity_weight", 1e308, "popularity_weight must be a finite number >= 0 and <= 1000"),
    ("popularity_weight", [1, 2], "popularity_weight must be a finite number"),
    ("regularization", 1e308, "regularization must be a finite number >= 0 and <= 1e\\+06"),
    ("regularization", "abc", "regularization must be a finite number"),
    ("alpha", 1e308, "alpha must be a finite number > 0 and <= 1e\\+06"),
    ("bm25_k1", 1e308, "bm25_k1 must be a finite number > 0"),
    ("bm25_b", "abc", "bm25_b must lie in"),
    ("learning_rate", 1e308, "learning_rate must be a finite number > 0 and <= 10"),
    ("half_life_days", {}, "half_life_days must be a finite number > 0"),
    ("repeat_saturation", (1,), "repeat_saturation must be a finite number > 0"),
    ("factors", 10**30, "factors must be an int >= 1 and <= 4,096"),
    ("iterations", 10**30, "iterations must be an int >= 1 and <= 10,000"),
    ("bpr_iterations", 1.5, "bpr_iterations must be an int >= 1"),
    ("weighting", ["bm25"], "weighting must be one of"),
    ("num_threads", 10**30, "num_threads must be an int >= 0"),
    ("catalogue", "c", "catalogue must be a Catalogue or None, got str"),
]

M = _repeat
CASES: list[tuple[str, Callable[[], Any], str, str]] = [
    *[(f"fit_affinity {k}={v!r}"[:60], _fit_bad(**{k: v}), pat, k) for k, v, pat in BAD_FIT],
    (
        "score_items exclude_recent_days str",
        lambda: score_items(M(), exclude_recent_days="7"),  # type: ignore[arg-type]
        "exclude_recent_days must be None or a number > 0",
        "exclude_recent_days",
    ),
    (
        "score_items exclude_recent_days huge int",
        lambda: score_items(M(), exclude_recent_days=10**400),
        "exclude_recent_days must be None or a number > 0",
        "exclude_recent_days",
    ),
    (
        "score_items max_dense_cells None",
        lambda: score_items(M(), max_dense_cells=None),  # type: ignore[arg-type]
        "max_dense_cells must be an int >= 1",
        "max_dense_cells",
    ),
    (
        "score_items max_dense_cells nan",
        lambda: score_items(M(), max_dense_cells=float("nan")),  # type: ignore[arg-type]
        "max_dense_cells must be an int >= 1",
        "max_dense_cells",
    ),
    (
        "score_items num_threads huge",
        lambda: score_items(M(), num_threads=10**30),
        "num_threads must be an int >= 0",
        "num_threads",
    ),
    (
        "score_items model",
        lambda: score_items("m"),  # type: ignore[arg-type]
        "model must be an AffinityModel",
        "model",
    ),
    (
        "score_offers respect_eligibility",
        lambda: score_offers(M(), None, _offers(M()), respect_eligibility="yes"),  # type: ignore[arg-type]
        "respect_eligibility must be True or False",
        "respect_eligibility",
    ),
    (
        "score_offers max_dense_cells str",
        lambda: score_offers(M(), None, _offers(M()), max_dense_cells="10"),  # type: ignore[arg-type]
        "max_dense_cells must be an int >= 1",
        "max_dense_cells",
    ),
    (
        "score_offers exclude_recent_days list",
        lambda: score_offers(M(), None, _offers(M()), exclude_recent_days=[1, 2]),  # type: ignore[arg-type]
        "exclude_recent_days must be None",
        "exclude_recent_days",
    ),
    (
        "partial_fit model",
        lambda: partial_fit(None, habit_log()),  # type: ignore[arg-type]
        "model must be an AffinityModel",
        "model",
    ),
    (
        "partial_fit transactions",
        lambda: partial_fit(M(), "tx"),  # type: ignore[arg-type]
        "transactions must be a Transactions",
        "transactions",
    ),
    (
        "partial_fit num_threads",
        lambda: partial_fit(M(), habit_log(), num_threads="2"),  # type: ignore[arg-type]
        "num_threads must be an int >= 0",
        "num_threads",
    ),
    (
        "partial_fit num_threads negative",
        lambda: partial_fit(M(), habit_log(), num_threads=-1),
        "num_threads must be an int >= 0",
        "num_threads",
    ),
    (
        "from_pairs items list",
        lambda: _pairs(items=["x", "y"]),
        "items must be an IdIndex or None, got list",
        "items",
    ),
    ("from_pairs items str", lambda: _pairs(items="abc"), "items must be an IdIndex", "items"),
    (
        "from_rules catalogue",
        lambda: _rules(catalogue=None),
        "catalogue must be a Catalogue",
        "catalogue",
    ),
    (
        "from_rules catalogue dict",
        lambda: _rules(catalogue={}),
        "catalogue must be a Catalogue",
        "catalogue",
    ),
    ("from_rules items", lambda: _rules(items=np.arange(3)), "items must be an IdIndex", "items"),
]


@pytest.mark.parametrize(("label", "call", "pattern", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_typed_error_naming_the_argument(
    label: str, call: Callable[[], Any], pattern: str, field: str
) -> None:
    with pytest.raises(ValidationError, match=pattern) as exc:
        call()
    assert isinstance(exc.value, OneToOneError)
    assert exc.value.field == field


def test_cf_weight_1e308_no_longer_yields_infinite_scores() -> None:
    with pytest.raises(ValidationError, match="cf_weight must be") as exc:
        _fit(cf_weight=1e308)
    assert exc.value.field == "cf_weight"


@settings(max_examples=20, deadline=None)
@given(
    cf_weight=st.floats(0.0, 1e3),
    popularity_weight=st.floats(0.0, 1e3),
    regularization=st.floats(0.0, 1e6),
)
def test_hybrid_scores_are_finite_over_the_documented_ranges(
    cf_weight: float, popularity_weight: float, regularization: float
) -> None:
    m = _fit(
        cf_weight=cf_weight, popularity_weight=popularity_weight, regularization=regularization
    )
    s = score_items(m).dense
    assert s is not None and np.isfinite(s).all()
    so = score_offers(m, None, _offers(m), aggregate="sum").dense
    assert so is not None and np.isfinite(so).all()


def test_factors_that_could_overflow_scores_are_refused() -> None:
    m = _fit("hybrid")
    assert m.user_factors is not None
    huge = np.full_like(m.user_factors, 1e36)
    with pytest.raises(ValidationError, match="lower cf_weight") as exc:
        attrs.evolve(m, user_factors=huge)
    assert exc.value.field == "cf_weight"
    bad = np.array(m.user_factors)
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError, match="user_factors holds NaN") as exc:
        attrs.evolve(m, user_factors=bad)
    assert exc.value.field == "user_factors"


def test_an_idindex_is_still_accepted_as_items() -> None:
    items = IdIndex.from_values(["x", "y", "z"])
    assert _pairs(items=items).items == items
    assert _rules(items=IdIndex.from_values([0, 1])).incidence.shape == (2, 2)
