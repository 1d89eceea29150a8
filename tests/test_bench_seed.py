"""Seeded evaluation is reproducible: the evaluator's seed reaches every strategy (issue 12, #8)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

from onetoone import ValidationError
from onetoone.allocation import Allocation
from onetoone.bench import (
    OfferContext,
    make_context,
    market_offers,
    mass,
    one_to_one,
    replay_campaign,
    run_strategies,
    segment,
    simulate,
    simulate_market,
)
from onetoone.errors import OneToOneDeprecationWarning

BUILT_IN: dict[str, Any] = {
    "mass": mass,
    "segment": segment,
    "segment_kmeans": functools.partial(segment, n_segments=3, by="kmeans"),
    "one_to_one": one_to_one,
}
RANDOM = ("mass", "segment", "segment_kmeans")


@functools.cache
def _market() -> Any:
    return simulate_market(300, 80, 8, history_weeks=8, random_state=11)


@functools.cache
def _context() -> OfferContext:
    m = _market()
    return make_context(
        m.history,
        market_offers(m),
        as_of=m.campaign_start,
        budget=8.0,  # binding: who gets the offers depends on the random order
        k=2,
        method="repeat",
        random_state=0,
    )


def _replay(strategies: Any, seed: Any) -> Any:
    m = _market()
    return replay_campaign(
        _context(),
        strategies,
        start=m.campaign_start,
        end=m.campaign_start + np.timedelta64(14, "D"),
        n_boot=30,
        random_state=seed,
    )


def _pairs(a: Allocation) -> tuple[list[int], list[int]]:
    return a.customer.tolist(), a.offer.tolist()


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_replay_same_seed_same_result_for_every_built_in(name: str) -> None:
    runs = [_replay({name: BUILT_IN[name]}, 0) for _ in range(3)]
    first = runs[0]
    for r in runs[1:]:
        assert _pairs(r.allocations[name]) == _pairs(first.allocations[name])
        np.testing.assert_array_equal(r.mean, first.mean)
        np.testing.assert_array_equal(r.ci_low, first.ci_low)
        np.testing.assert_array_equal(r.ci_high, first.ci_high)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_simulate_same_seed_same_result_for_every_built_in(name: str) -> None:
    runs = [simulate(BUILT_IN[name], _market(), budget=8.0, context=_context(), random_state=4)]
    runs += [
        simulate(BUILT_IN[name], _market(), budget=8.0, context=_context(), random_state=4)
        for _ in range(2)
    ]
    for r in runs[1:]:
        assert _pairs(r.allocation) == _pairs(runs[0].allocation)
        assert r.outcome == runs[0].outcome


def test_simulate_building_its_own_context_is_reproducible() -> None:
    runs = [
        simulate(mass, _market(), budget=8.0, k=2, method="repeat", random_state=2)
        for _ in range(3)
    ]
    for r in runs[1:]:
        assert _pairs(r.allocation) == _pairs(runs[0].allocation)
        assert r.outcome == runs[0].outcome


@pytest.mark.parametrize("name", RANDOM)
def test_different_seeds_give_different_plans_for_random_strategies(name: str) -> None:
    plans = {
        tuple(map(tuple, _pairs(_replay({name: BUILT_IN[name]}, s).allocations[name])))
        for s in range(3)
    }
    assert len(plans) > 1
    sims = {
        simulate(
            BUILT_IN[name], _market(), budget=8.0, context=_context(), random_state=s
        ).outcome.realised_incremental_profit
        for s in range(3)
    }
    assert len(sims) > 1


def test_user_strategy_receives_the_generator() -> None:
    seen: list[Any] = []

    def picky(context: OfferContext, *, random_state: Any) -> Allocation:
        seen.append(random_state)
        seen.append(float(np.random.default_rng(random_state).random()))
        return one_to_one(context)

    for seed in (0, 0, 1):
        run_strategies(_context(), {"picky": picky}, random_state=seed)
        _replay({"picky": picky}, seed)
        simulate(picky, _market(), budget=8.0, context=_context(), random_state=seed)
    gens, draws = seen[0::2], seen[1::2]
    assert all(isinstance(g, np.random.Generator) for g in gens)
    # seed 0 twice: the same draws per evaluator; seed 1: different ones
    assert draws[0:3] == draws[3:6]
    assert draws[6:9] != draws[0:3]


def test_adding_a_strategy_does_not_change_another_ones_draws() -> None:
    alone = _replay({"mass": mass}, 7).allocations["mass"]
    crowd = _replay({"one_to_one": one_to_one, "segment": segment, "mass": mass}, 7)
    assert _pairs(crowd.allocations["mass"]) == _pairs(alone)
    # the bootstrap has its own stream too: mass's interval does not move
    r1, r2 = _replay({"mass": mass}, 7), crowd
    np.testing.assert_array_equal(r1.ci_low[0], r2.ci_low[2])


def test_run_strategies_matches_replay_and_is_reproducible() -> None:
    plans = [run_strategies(_context(), BUILT_IN, random_state=3) for _ in range(3)]
    rep = _replay(BUILT_IN, 3)
    for name in BUILT_IN:
        assert _pairs(plans[1][name]) == _pairs(plans[0][name])
        assert _pairs(plans[2][name]) == _pairs(plans[0][name])
        assert _pairs(rep.allocations[name]) == _pairs(plans[0][name])


def test_a_generator_as_random_state_is_a_shared_stream() -> None:
    a = run_strategies(_context(), {"mass": mass}, random_state=np.random.default_rng(5))
    b = run_strategies(_context(), {"mass": mass}, random_state=np.random.default_rng(5))
    assert _pairs(a["mass"]) == _pairs(b["mass"])
    g = np.random.default_rng(5)
    c = run_strategies(_context(), {"mass": mass}, random_state=g)
    d = run_strategies(_context(), {"mass": mass}, random_state=g)  # the stream moved on
    assert _pairs(c["mass"]) == _pairs(a["mass"]) and _pairs(d["mass"]) != _pairs(c["mass"])


def test_one_argument_strategies_still_work_with_a_deprecation_warning() -> None:
    def legacy(context: OfferContext) -> Allocation:
        return one_to_one(context)

    m = _market()
    with pytest.warns(
        OneToOneDeprecationWarning,
        match="strategy 'legacy' takes no random_state.*"
        r"add `\*, random_state=None`",
    ):
        out = run_strategies(_context(), {"legacy": legacy}, random_state=0)
    assert _pairs(out["legacy"]) == _pairs(one_to_one(_context()))
    with pytest.warns(OneToOneDeprecationWarning, match="next minor version"):
        _replay({"legacy": legacy}, 0)
    with pytest.warns(OneToOneDeprecationWarning, match="strategy 'legacy'"):
        r = simulate(legacy, m, budget=8.0, context=_context(), random_state=0)
    assert r.outcome.n_assignments == len(out["legacy"].customer)


def test_strategies_accepting_kwargs_get_the_generator_without_warning() -> None:
    got: list[Any] = []

    def flexible(context: OfferContext, **kw: Any) -> Allocation:
        got.append(kw.get("random_state"))
        return one_to_one(context)

    run_strategies(_context(), {"flexible": flexible}, random_state=0)
    assert isinstance(got[0], np.random.Generator)


@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        (lambda ctx, *, random_state: "not a plan", "returned a str, not an Allocation"),
        (None, "strategy 'x' is a NoneType, not callable"),
    ],
)
def test_bad_strategies_raise_validation_errors(bad: Any, pattern: str) -> None:
    with pytest.raises(ValidationError, match=pattern) as exc:
        run_strategies(_context(), {"x": bad}, random_state=0)
    assert exc.value.field == "strategies"
