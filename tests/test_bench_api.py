"""onetoone.bench as a public namespace (issue 13): public imports only, one Estimate type,
the vocabulary, deprecations that still work and warn, a validator and an example per name."""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from scipy import stats

import onetoone
import onetoone.bench as bench
from onetoone import EmptyInputError, LengthMismatchError, ValidationError
from onetoone.bench import (
    LoggedCampaign,
    OfferContext,
    doubly_robust,
    effective_sample_size,
    ips,
    make_context,
    market_offers,
    mass,
    replay_campaign,
    run_strategies,
    segment_labels,
    simulate_market,
    snips,
)
from onetoone.errors import OneToOneDeprecationWarning
from onetoone.measurement import Estimate

BENCH_DIR = Path(bench.__file__).parent

#: Public stage modules bench may import from (their __all__), besides the top level.
PUBLIC_MODULES = {
    "onetoone",
    "onetoone.data",
    "onetoone.profiles",
    "onetoone.offers",
    "onetoone.affinity",
    "onetoone.allocation",
    "onetoone.measurement",
    "onetoone.response",
    "onetoone.uplift",
    "onetoone.value",
    "onetoone.errors",
}
#: Private modules of the library bench may import, each a decided exception: the
#: library's root-level infrastructure (deprecation, array and scalar checks,
#: randomness), shared by every stage; never another stage's private modules.
ALLOWED_PRIVATE = {
    "onetoone._deprecation",
    "onetoone._arrays",
    "onetoone._checks",
    "onetoone._random",
}


@pytest.fixture(scope="module")
def market() -> Any:
    return simulate_market(120, 60, 4, history_weeks=8, random_state=0)


@pytest.fixture(scope="module")
def context(market: Any) -> OfferContext:
    return make_context(
        market.history,
        market_offers(market),
        as_of=market.campaign_start,
        budget=5.0,
        method="repeat",
        random_state=0,
    )


# ---------------------------------------------------------------- public imports only


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(module, imported name or '', line) for every import in ``path``."""
    out: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((a.name, "", node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.extend((node.module, a.name, node.lineno) for a in node.names)
    return out


def _private_use(path: Path) -> list[str]:
    bad = []
    for module, name, line in _imports(path):
        if not module.startswith("onetoone"):
            continue
        where = f"{path.name}:{line}: {module}{'.' + name if name else ''}"
        if module == "onetoone.bench" or module.startswith("onetoone.bench."):
            continue  # bench's own modules
        if module in ALLOWED_PRIVATE:
            continue
        if module not in PUBLIC_MODULES:
            bad.append(where + " (not a public module)")
        elif name and (name.startswith("_") or name not in importlib.import_module(module).__all__):
            bad.append(where + " (not in the module's __all__)")
    return bad


def test_bench_imports_only_public_names() -> None:
    files = sorted(BENCH_DIR.glob("*.py"))
    assert len(files) >= 5
    bad = [b for f in files for b in _private_use(f)]
    assert not bad, "onetoone.bench imports private names:\n  " + "\n  ".join(bad)


def test_the_import_check_catches_private_imports(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text(
        "from onetoone.affinity._model import METHODS\n"
        "from onetoone._persist import load_npz\n"
        "from onetoone.affinity import _check_int\n"
        "import onetoone.allocation._plan\n"
        "from onetoone.affinity import METHODS\n"
    )
    bad = _private_use(f)
    assert len(bad) == 4 and all("x.py:" in b for b in bad[:4])
    assert not any("x.py:5" in b for b in bad)


def test_bench_reads_no_private_attribute_of_other_packages() -> None:
    own = {"self"}
    bad = []
    for path in sorted(BENCH_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in own)
            ):
                bad.append(f"{path.name}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.keyword) and node.arg and node.arg.startswith("_"):
                bad.append(f"{path.name}:{node.lineno}: {node.arg}=")
    assert not bad, bad


# ---------------------------------------------------------------- every public name


@pytest.mark.parametrize("name", bench.__all__)
def test_every_public_name_has_an_examples_section(name: str) -> None:
    doc = inspect.getdoc(getattr(bench, name)) or ""
    _, found, examples = doc.partition("Examples\n--------\n")
    assert found and ">>> " in examples, f"onetoone.bench.{name} has no Examples section"


@pytest.mark.parametrize(
    "name", [n for n in bench.__all__ if inspect.isfunction(inspect.unwrap(getattr(bench, n)))]
)
def test_every_public_function_validates_first(name: str) -> None:
    func = inspect.unwrap(getattr(bench, name))
    module = sys.modules[func.__module__]
    assert callable(getattr(module, f"_{name}_iv", None)), f"{name} has no _{name}_iv"
    assert f"_{name}_iv(" in inspect.getsource(func)


def test_all_is_sorted_and_complete() -> None:
    assert bench.__all__ == sorted(bench.__all__)
    for name in bench.__all__:
        assert getattr(bench, name).__module__.startswith("onetoone.bench")


# ---------------------------------------------------------------- the onetoone.strategies shim


def test_strategies_shim_warns_on_import_and_reexports_the_same_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "onetoone.strategies", raising=False)
    monkeypatch.setattr(onetoone, "strategies", None, raising=False)
    with pytest.warns(
        OneToOneDeprecationWarning, match="onetoone.strategies is renamed onetoone.bench"
    ):
        shim = importlib.import_module("onetoone.strategies")
    for name in bench.__all__:
        assert getattr(shim, name) is getattr(bench, name), name
    assert set(bench.__all__) < set(shim.__all__)
    assert shim.OffPolicyEstimate.__name__ == "OffPolicyEstimate"  # the old type, still there


# ---------------------------------------------------------------- one Estimate type


def test_ips_returns_an_estimate_known_answer() -> None:
    est = ips([1.0, 0.0, 2.0, 0.0], [0.5] * 4, [1, 0, 1, 0], alpha=0.1)
    assert isinstance(est, Estimate)
    terms = np.array([2.0, 0.0, 4.0, 0.0])  # w r with w = 2 where the target acts
    se = terms.std(ddof=1) / 2
    z = stats.norm.ppf(0.95)
    assert est.estimate == 1.5 and est.std_error == pytest.approx(se)
    assert (est.ci_low, est.ci_high) == pytest.approx((1.5 - z * se, 1.5 + z * se))
    assert est.p_value == pytest.approx(2 * stats.norm.sf(1.5 / se))
    assert est.df == math.inf and est.confidence == pytest.approx(0.9)
    assert est.method == "ips" and est.null == 0.0


def test_snips_and_dr_are_estimates_with_their_method() -> None:
    s = snips([1.0, 0.0, 2.0, 0.0], [0.5] * 4, [1, 0, 1, 0])
    d = doubly_robust(
        [1.0, 0.0], [0.5, 0.5], [1, 0], reward_hat=[0.8, 0.1], target_reward_hat=[0.8, 0.9]
    )
    assert isinstance(s, Estimate) and s.method == "snips" and s.estimate == 1.5
    assert isinstance(d, Estimate) and d.method == "dr" and d.estimate == pytest.approx(1.05)
    assert 0 <= s.p_value <= 1 and 0 <= d.p_value <= 1 and s.confidence == 0.95


def test_one_decision_gives_nan_spread_not_an_error() -> None:
    est = ips([1.0], [0.5], [1.0])
    assert est.estimate == 2.0 and math.isnan(est.std_error) and math.isnan(est.p_value)


def test_effective_sample_size_kish() -> None:
    assert effective_sample_size([0.5] * 4, [1, 1, 1, 1]) == 4.0
    assert effective_sample_size([0.5] * 4, [1, 0, 1, 0]) == 2.0
    # uneven weights 1 and 3: (1 + 3)^2 / (1 + 9)
    assert effective_sample_size([1.0, 0.25], [1.0, 0.75]) == pytest.approx(1.6)
    assert effective_sample_size([0.5, 0.5], [0, 0]) == 0.0


def test_effective_sample_size_validation() -> None:
    with pytest.raises(ValidationError, match=r"logging_propensity must lie in \(0, 1\]"):
        effective_sample_size([0.0], [1.0])
    with pytest.raises(ValidationError, match=r"target_propensity must lie in \[0, 1\]"):
        effective_sample_size([0.5], [1.5])
    with pytest.raises(LengthMismatchError, match="target_propensity has 2 entries"):
        effective_sample_size([0.5], [1.0, 0.0])
    with pytest.raises(EmptyInputError, match="logging_propensity is empty"):
        effective_sample_size([], [])
    with pytest.raises(ValidationError, match="logging_propensity must be numeric"):
        effective_sample_size(["a"], [1.0])


def test_off_policy_estimate_is_deprecated_but_importable() -> None:
    with pytest.warns(OneToOneDeprecationWarning, match=r"\.value -> \.estimate"):
        from onetoone.bench import OffPolicyEstimate
    old = OffPolicyEstimate("ips", 1.5, 0.5, 0.5, 2.5, 4, 2.0, 0.05)
    assert old.total() == 6.0
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        bench.nope  # noqa: B018


def test_off_policy_migration_recipe() -> None:
    reward, mu, pi = [1.0, 0.0, 2.0, 0.0], [0.5] * 4, [1, 0, 1, 0]
    est = ips(reward, mu, pi)
    assert est.estimate * 4 == 6.0  # was .total()
    assert 1 - est.confidence == pytest.approx(0.05)  # was .alpha
    assert effective_sample_size(mu, pi) == 2.0  # was .effective_sample_size


# ---------------------------------------------------------------- vocabulary


def test_offer_context_customer_codes_and_deprecated_customers(context: OfferContext) -> None:
    assert context.customer.dtype == np.int32
    with pytest.warns(OneToOneDeprecationWarning, match="OfferContext.customers is renamed"):
        old = context.customers
    assert old is context.customer


def test_make_context_customer_ids_and_deprecated_customers(market: Any) -> None:
    kw: dict[str, Any] = dict(
        as_of=market.campaign_start, budget=5.0, method="repeat", random_state=0
    )
    new = make_context(market.history, market_offers(market), customer_ids=[3, 1], **kw)
    with pytest.warns(OneToOneDeprecationWarning, match=r"make_context\(customers=\.\.\.\)"):
        old = make_context(market.history, market_offers(market), customers=[3, 1], **kw)
    assert np.array_equal(new.customer, old.customer)
    assert market.history.customers.decode(new.customer).tolist() == [3, 1]
    with pytest.raises(ValidationError, match="got both customers= .deprecated. and"):
        make_context(market.history, market_offers(market), customers=[1], customer_ids=[1], **kw)


def test_segment_labels_customer_and_deprecated_customers(context: OfferContext) -> None:
    new = segment_labels(context.profiles, customer=context.customer, n_segments=3)
    with pytest.warns(OneToOneDeprecationWarning, match="pass customer="):
        old = segment_labels(context.profiles, customers=context.customer, n_segments=3)
    assert np.array_equal(new, old)


def test_replay_result_confidence_and_deprecated_alpha(market: Any, context: Any) -> None:
    res = replay_campaign(
        context,
        {"mass": mass},
        start=market.campaign_start,
        end=market.campaign_start + np.timedelta64(14, "D"),
        n_boot=20,
        alpha=0.1,
        random_state=0,
    )
    assert res.confidence == pytest.approx(0.9)
    with pytest.warns(OneToOneDeprecationWarning, match="ReplayResult.confidence"):
        assert res.alpha == pytest.approx(0.1)


def test_logged_campaign_holds_int32_codes_and_validates_itself(market: Any) -> None:
    log = bench.log_campaign(market, 0.3, random_state=0)
    assert log.customer.dtype == np.int32 and log.offer.dtype == np.int32
    with pytest.raises(LengthMismatchError, match="offer has 1 entries but customer has 2"):
        LoggedCampaign(
            customer=[0, 1], offer=[0], sent=[True, False], propensity=[0.5, 0.5], reward=[0.0, 0.0]
        )
    with pytest.raises(ValidationError, match=r"propensity must lie in \[0, 1\]"):
        LoggedCampaign(customer=[0], offer=[0], sent=[True], propensity=[2.0], reward=[0.0])
    with pytest.raises(ValidationError, match="customer codes must be >= 0"):
        LoggedCampaign(customer=[-1], offer=[0], sent=[True], propensity=[0.5], reward=[0.0])


def test_value_objects_validate_themselves(market: Any, context: OfferContext) -> None:
    with pytest.raises(ValidationError, match=r"p_buy has shape \(2, 4\), expected \(120, 4\)"):
        attrs.evolve(context, p_buy=np.zeros((2, 4)))
    with pytest.raises(ValidationError, match="customer codes must lie in 0..119"):
        attrs.evolve(context, customer=np.full(120, 500, dtype=np.int32))
    with pytest.raises(ValidationError, match="p_base and p_offer must have the same"):
        attrs.evolve(market, p_offer=market.p_offer[:3])
    with pytest.raises(ValidationError, match="sensitivity has size 3, expected 120"):
        attrs.evolve(market, sensitivity=market.sensitivity[:3])
    with pytest.raises(ValidationError, match=r"p_buy has shape \(1, 1\)"):
        context.problem(np.zeros((1, 1)), context.p_offer)


# ---------------------------------------------------------------- num_threads


def test_make_context_threads_default_to_all_cores_with_identical_results(market: Any) -> None:
    assert inspect.signature(make_context).parameters["num_threads"].default == 0
    offers = market_offers(market)
    kw: dict[str, Any] = dict(as_of=market.campaign_start, budget=5.0, random_state=4)
    for method in ("hybrid", "repeat"):  # hybrid fits ALS, whose solve is thread-independent
        a = make_context(market.history, offers, method=method, num_threads=0, **kw)
        b = make_context(market.history, offers, method=method, num_threads=1, **kw)
        assert np.array_equal(a.p_buy, b.p_buy) and np.array_equal(a.p_offer, b.p_offer)
        pa = run_strategies(a, {"mass": mass}, random_state=0)["mass"]
        pb = run_strategies(b, {"mass": mass}, random_state=0)["mass"]
        assert np.array_equal(pa.customer, pb.customer) and np.array_equal(pa.offer, pb.offer)
