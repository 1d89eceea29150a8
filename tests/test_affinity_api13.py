"""Issue 13 in affinity and offers: one unknown-id policy, one num_threads default,
frozen derived tables, read-only factors, the outcome matrix for fit_response."""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import threadpoolctl

from _affinity_data import habit_catalogue, habit_log
from onetoone.affinity import (
    AffinityModel,
    ItemScores,
    OfferScores,
    fit_affinity,
    fit_response,
    partial_fit,
    score_items,
    score_offers,
)
from onetoone.affinity._model import _Derived
from onetoone.data import IdIndex
from onetoone.errors import (
    EmptyInputError,
    LengthMismatchError,
    OneToOneDeprecationWarning,
    UnknownIdError,
    ValidationError,
)
from onetoone.offers import Offers

AS_OF = "2024-02-01"
TINY: dict[str, Any] = {"factors": 4, "iterations": 5, "num_threads": 1, "random_state": 0}


@functools.cache
def _fit(method: str = "hybrid") -> AffinityModel:
    return fit_affinity(
        habit_log(),
        as_of=AS_OF,
        method=method,  # type: ignore[arg-type]
        catalogue=habit_catalogue(),
        **TINY,
    )


# --------------------------------------------------------------------------- derived tables
def test_derived_tables_are_a_frozen_object_of_read_only_arrays() -> None:
    m = _fit("hybrid")
    d = m._derived
    assert isinstance(d, _Derived)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.seen = np.zeros(1, dtype=bool)  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m._derived = d  # type: ignore[misc]
    assert d.v_group is not None
    for a in (d.seen, d.has_history, d.fallback_group, d.pop_group, d.v_group):
        assert not a.flags.writeable
    for csr in (d.sat, d.sat_group):
        assert not (csr.data.flags.writeable or csr.indices.flags.writeable)
    assert m.has_history.tolist() == [True, True, True, False]  # dan buys after as_of
    assert not m.has_history.flags.writeable


def test_derived_tables_are_rebuilt_by_evolve() -> None:
    m = _fit("repeat")
    log = habit_log()
    dan = log.subset(log.customers.decode(log.customer) == "dan")
    m2 = partial_fit(m, dan, as_of="2024-03-01")
    assert m2._derived is not m._derived
    assert m2.has_history.tolist() == [True, True, True, True]


@pytest.mark.parametrize("method", ["hybrid", "als", "bpr"])
def test_factors_are_read_only(method: str) -> None:
    m = _fit(method)
    assert m.user_factors is not None and m.item_factors is not None
    for f in (m.user_factors, m.item_factors):
        assert not f.flags.writeable
        assert f.dtype == np.float32 and f.flags.c_contiguous
        with pytest.raises(ValueError, match="read-only"):
            f[0, 0] = 1.0


def test_model_keeps_callers_factor_arrays_writable() -> None:
    m = _fit("als")
    assert m.user_factors is not None and m.item_factors is not None
    uf, itf = np.array(m.user_factors), np.array(m.item_factors)
    m2 = attrs.evolve(m, user_factors=uf, item_factors=itf)
    assert uf.flags.writeable  # a read-only view, not the caller's array, is stored
    assert m2.user_factors is not None and not m2.user_factors.flags.writeable


# --------------------------------------------------------------------------- unknown ids
def _offers_with_unknown() -> Offers:
    universe = IdIndex.from_values(["x", "y", "zz-unknown", "qq-unknown"])
    return Offers.from_pairs(
        ["o1", "o1", "cold"], ["x", "zz-unknown", "qq-unknown"], items=universe
    )


def test_unknown_customers_keep_drop_raise() -> None:
    m = _fit("repeat")
    offers = Offers.from_pairs(["o1", "o2"], ["x", "z"], items=m.items)
    with pytest.raises(UnknownIdError, match=r"customer_ids: 1 id\(s\) unknown.*'keep'.*'drop'"):
        score_offers(m, ["zoe", "ann"], offers)
    keep = score_offers(m, ["zoe", "ann"], offers, unknown_customers="keep")
    drop = score_offers(m, ["zoe", "ann"], offers, unknown_customers="drop")
    assert keep.customers.to_list() == ["ann", "zoe"] and keep.n_unknown_customers == 1
    assert keep.n_cold_customers == 1
    assert drop.customers.to_list() == ["ann"] and drop.n_unknown_customers == 1
    assert drop.n_cold_customers == 0
    assert keep.dense is not None and drop.dense is not None
    np.testing.assert_array_equal(drop.dense, keep.dense[:1])
    # "keep": the cold-start fallback is popularity, as for a customer without history
    pop = score_offers(_fit("popularity"), ["ann"], offers).dense
    assert pop is not None
    np.testing.assert_array_equal(keep.dense[1], pop[0])
    with pytest.raises(EmptyInputError, match="all 2 id.*unknown_customers='drop' leaves no one"):
        score_offers(m, ["zoe", "zed"], offers, unknown_customers="drop")


def test_unknown_customers_drop_keeps_eligibility_aligned() -> None:
    m = _fit("repeat")
    offers = Offers.from_pairs(
        ["o1", "o2"], ["x", "z"], items=m.items, eligibility=(["bob", "zoe"], ["o2", "o1"])
    )
    s = score_offers(m, ["zoe", "bob", "ann"], offers, unknown_customers="drop")
    assert s.customers.to_list() == ["ann", "bob"]
    assert s.dense is not None
    assert np.isinf(s.dense[0]).all()  # ann: eligible for nothing
    assert np.isinf(s.dense[1, 0]) and np.isfinite(s.dense[1, 1])  # bob: o2 only


def test_unknown_items_keep_scores_them_as_never_bought_items() -> None:
    m = _fit("repeat")
    offers = _offers_with_unknown()
    drop = score_offers(m, ["ann", "bob"], offers, unknown_items="drop", aggregate="mean")
    keep = score_offers(m, ["ann", "bob"], offers, unknown_items="keep", aggregate="mean")
    assert drop.n_unknown_items == keep.n_unknown_items == 2
    assert drop.n_cold_offers == keep.n_cold_offers == 1
    assert drop.dense is not None and keep.dense is not None
    x = score_items(m, ["ann", "bob"], item_ids=["x"]).dense
    assert x is not None
    # columns: cold (only an unknown item: the global fallback g), o1 (x and an unknown item)
    g = drop.dense[:, 0]
    np.testing.assert_array_equal(keep.dense[:, 0], g)
    np.testing.assert_allclose(drop.dense[:, 1], x[:, 0])
    np.testing.assert_allclose(keep.dense[:, 1], (x[:, 0] + g) / 2)


@pytest.mark.parametrize(
    ("call", "old", "new"),
    [
        (lambda m, o: score_items(m, ["zoe"], unknown_customers="cold"), "'cold'", "'keep'"),
        (
            lambda m, o: score_offers(
                m, ["zoe"], o, unknown_customers="cold", unknown_items="drop"
            ),
            "'cold'",
            "'keep'",
        ),
        (lambda m, o: score_offers(m, ["ann"], o, unknown_items="ignore"), "'ignore'", "'drop'"),
        (lambda m, o: score_items(m, customers=["ann"]), "customers=", "customer_ids="),
        (lambda m, o: score_items(m, items=["x"]), "items=", "item_ids="),
        (
            lambda m, o: score_offers(m, customers=["ann"], offers=o, unknown_items="drop"),
            "customers=",
            "customer_ids=",
        ),
    ],
)
def test_old_spellings_still_work_and_warn(call: Any, old: str, new: str) -> None:
    m = _fit("repeat")
    with pytest.warns(OneToOneDeprecationWarning, match=f"{old}.*{new}|{old}.*renamed.*{new}"):
        s = call(m, _offers_with_unknown())
    assert np.isfinite(s.to_dense()).any()


def test_old_spellings_give_the_same_result() -> None:
    m = _fit("repeat")
    offers = _offers_with_unknown()
    new = score_offers(m, ["zoe", "ann"], offers, unknown_customers="keep", unknown_items="drop")
    with pytest.warns(OneToOneDeprecationWarning):
        old = score_offers(
            m, ["zoe", "ann"], offers, unknown_customers="cold", unknown_items="ignore"
        )
    np.testing.assert_array_equal(old.dense, new.dense)  # type: ignore[arg-type]


def test_old_and_new_keyword_together_is_refused() -> None:
    with pytest.raises(ValidationError, match="got both customers= .* and customer_ids="):
        score_items(_fit("repeat"), customers=["ann"], customer_ids=["ann"])  # type: ignore[call-arg]


# --------------------------------------------------------------------------- num_threads
def test_num_threads_defaults_to_all_cores() -> None:
    for f in (score_items, score_offers, fit_affinity, partial_fit):
        assert inspect.signature(f).parameters["num_threads"].default == 0


@pytest.mark.parametrize("method", ["repeat", "hybrid", "als"])
def test_scoring_limits_blas_to_one_thread_in_blocks(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No oversubscription: with several blocks, BLAS runs single-threaded inside each."""
    from onetoone.affinity import _score

    seen: list[int] = []
    original = _score._Scorer.block

    def spy(self: Any, codes: Any) -> Any:
        info = threadpoolctl.threadpool_info()
        seen.append(max(i["num_threads"] for i in info if i["user_api"] == "blas"))
        return original(self, codes)

    monkeypatch.setattr(_score._Scorer, "block", spy)
    m = _fit(method)
    for threads in (0, 1, 2):
        seen.clear()
        score_items(m, block_size=1, num_threads=threads)
        assert len(seen) == m.n_customers and set(seen) == {1}


# --------------------------------------------------------------------------- outcome matrix
def _scores() -> OfferScores:
    return OfferScores(
        customers=IdIndex.from_values([1, 2, 3]),
        offers=IdIndex.from_values(["a", "b"]),
        method="repeat",
        dense=np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]),
    )


def test_outcome_matrix_hand_computed_with_duplicates_counted_once() -> None:
    y = _scores().outcome_matrix([3, 1, 3, 3], ["a", "b", "a", "b"])
    assert y.dtype == np.int8
    assert y.tolist() == [[0, 1], [0, 0], [1, 1]]


def test_outcome_matrix_unknown_policies() -> None:
    s = _scores()
    with pytest.raises(
        UnknownIdError,
        match=r"2 event\(s\) fall outside the scores: 1 customer id\(s\) not among the scored "
        r"customers, e.g. \[9\]; 1 offer id\(s\) not among the scored offers, e.g. \['zz'\]; "
        "pass unknown='drop'",
    ):
        s.outcome_matrix([1, 9, 2], ["a", "a", "zz"])
    y = s.outcome_matrix([1, 9, 2], ["a", "a", "zz"], unknown="drop")
    assert y.tolist() == [[1, 0], [0, 0], [0, 0]]
    with pytest.raises(ValidationError, match="cannot keep events outside the scores"):
        s.outcome_matrix([1], ["a"], unknown="keep")
    with pytest.raises(ValidationError, match="unknown must be one of"):
        s.outcome_matrix([1], ["a"], unknown="ignore")  # type: ignore[arg-type]


def test_outcome_matrix_bad_input() -> None:
    s = _scores()
    with pytest.raises(LengthMismatchError, match="offer_ids has 1 ids but customer_ids has 2"):
        s.outcome_matrix([1, 2], ["a"])
    with pytest.raises(ValidationError, match="customer_ids are strings but the index holds ints"):
        s.outcome_matrix(["1"], ["a"])
    with pytest.raises(ValidationError, match="customer_ids must be an array"):
        s.outcome_matrix(None, ["a"])
    assert s.outcome_matrix([], []).sum() == 0


def test_outcome_matrix_feeds_fit_response_from_a_campaign() -> None:
    """The one documented call: scores of a campaign + its redemptions -> fit_response."""
    m = _fit("repeat")
    offers = Offers.from_pairs(["o1", "o2", "o3"], ["x", "y", "z"], items=m.items)
    scores = score_offers(m, ["ann", "bob", "cat"], offers)
    y = scores.outcome_matrix(
        ["ann", "bob", "bob", "eve"], ["o1", "o3", "o3", "o1"], unknown="drop"
    )
    assert y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert scores.dense is not None
    r = fit_response(scores.dense, y)
    assert r.n == 9 and r.n_positive == 2


# --------------------------------------------------------------------------- value objects
def test_score_objects_validate_their_shapes() -> None:
    ids = IdIndex.from_values
    with pytest.raises(ValidationError, match=r"dense has shape \(1, 2\), expected \(1, 3\)"):
        ItemScores(
            customers=ids([1]), items=ids([1, 2, 3]), method="repeat", dense=np.zeros((1, 2))
        )
    with pytest.raises(ValidationError, match=r"top_index codes must lie in \[0, 2\)"):
        ItemScores(
            customers=ids([1]),
            items=ids([1, 2]),
            method="repeat",
            top_index=np.array([[2]]),
            top_score=np.array([[0.0]]),
        )
    with pytest.raises(ValidationError, match="dense holds NaN"):
        ItemScores(
            customers=ids([1]), items=ids([1]), method="repeat", dense=np.full((1, 1), np.nan)
        )
    with pytest.raises(ValidationError, match="method must be one of"):
        ItemScores(customers=ids([1]), items=ids([1]), method="knn", dense=np.zeros((1, 1)))
    with pytest.raises(ValidationError, match="aggregate must be"):
        OfferScores(
            customers=ids([1]),
            offers=ids([1]),
            method="repeat",
            dense=np.zeros((1, 1)),
            aggregate="median",
        )
    with pytest.raises(ValidationError, match="n_cold_offers must be an int >= 0"):
        OfferScores(
            customers=ids([1]),
            offers=ids([1]),
            method="repeat",
            dense=np.zeros((1, 1)),
            n_cold_offers=-1,
        )
    with pytest.raises(ValidationError, match="customers must be an IdIndex"):
        ItemScores(customers=[1], items=ids([1]), method="repeat", dense=np.zeros((1, 1)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- docs run as written
_DOC = Path(__file__).parents[1] / "docs" / "affinity.md"
_BLOCKS = re.findall(r"```python\n(.*?)```", _DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, marks=[pytest.mark.slow] if "complete_journey" in b else []) for b in _BLOCKS],
)
def test_docs_affinity_code_blocks_run(block: str) -> None:
    exec(compile(block, str(_DOC), "exec"), {})


# --------------------------------------------------------------------------- every name documented
def _public_callables() -> list[tuple[str, Any]]:
    import onetoone.affinity
    import onetoone.offers

    out: list[tuple[str, Any]] = []
    for mod in (onetoone.affinity, onetoone.offers):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants and type aliases: the module docstring's Examples
            out.append((f"{mod.__name__}.{name}", obj))
            if inspect.isclass(obj):
                for member in dir(obj):
                    attr = inspect.getattr_static(obj, member)
                    if member.startswith("_") or isinstance(attr, property):
                        continue
                    fn = attr.__func__ if isinstance(attr, (classmethod, staticmethod)) else attr
                    if inspect.isfunction(fn):
                        out.append((f"{mod.__name__}.{name}.{member}", fn))
    return out


@pytest.mark.parametrize(
    ("name", "obj"), [pytest.param(n, o, id=n) for n, o in _public_callables()]
)
def test_every_public_name_has_an_examples_section(name: str, obj: Any) -> None:
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc and ">>> " in doc.split("Examples", 1)[1], name


def test_modules_document_their_constants_and_properties() -> None:
    import onetoone.affinity
    import onetoone.offers

    assert "Examples" in (onetoone.affinity.__doc__ or "")
    for mod in (onetoone.affinity, onetoone.offers):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                for member in dir(obj):
                    attr = inspect.getattr_static(obj, member)
                    if not member.startswith("_") and isinstance(attr, property):
                        assert inspect.getdoc(attr), f"{name}.{member}"


# --------------------------------------------------------------------------- response objects
def test_response_objects_validate_themselves() -> None:
    r = fit_response([0.0, 1.0, 2.0, 3.0], [0, 0, 1, 1])
    with pytest.raises(ValidationError, match="method must be 'isotonic' or 'logistic'"):
        attrs.evolve(r, method="probit")
    with pytest.raises(ValidationError, match="strictly increasing"):
        attrs.evolve(r, x=[1.0, 0.0, 2.0, 3.0])
    with pytest.raises(ValidationError, match=r"y must lie in \[0, 1\] and never decrease"):
        attrs.evolve(r, y=[0.0, 0.5, 0.4, 1.0])
    with pytest.raises(ValidationError, match="0 <= n_positive <= n"):
        attrs.evolve(r, n_positive=5)
    with pytest.raises(ValidationError, match="brier must be a number in"):
        attrs.evolve(r, brier=float("nan"))
    with pytest.raises(ValidationError, match="reliability must be a ReliabilityTable"):
        attrs.evolve(r, reliability=None)
    t = r.reliability
    with pytest.raises(ValidationError, match="one value per bin"):
        attrs.evolve(t, lower=[0.0])
    with pytest.raises(ValidationError, match="lower score exceeds its upper"):
        attrs.evolve(t, lower=t.upper + 1)
    with pytest.raises(ValidationError, match=r"observed_rate must lie in \[0, 1\]"):
        attrs.evolve(t, observed_rate=t.observed_rate + 2)
    with pytest.raises(ValidationError, match="count must hold whole numbers"):
        attrs.evolve(t, count=t.count + 0.5)
    with pytest.raises(ValidationError, match="scores contain NaN"):
        r.predict_proba([np.nan])
    with pytest.raises(ValidationError, match="scores must be numbers"):
        r.predict_proba(["high"])
