"""Plans: external ids, lossless .npz round trip, Arrow export, bad input and bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onetoone import FormatError, IdIndex, Plan, UnknownIdError, ValidationError
from onetoone.affinity import fit_affinity
from onetoone.affinity import save as save_model
from onetoone.allocation import (
    PLAN_FORMAT_VERSION,
    Allocation,
    AllocationProblem,
    Budget,
    allocate,
    load_plan,
    random_problem,
    save_plan,
)
from onetoone.datasets import synthetic_transactions


def _plan(seed: int = 0, n_c: int = 40, n_o: int = 6, str_ids: bool = True) -> Plan:
    p = random_problem(n_c, n_o, k=2, random_state=seed)
    a = allocate(p, method="dual")
    rng = np.random.default_rng(seed)
    cust = rng.choice(10_000, n_c, replace=False) + 5
    offers = [f"coupon-{i:03d}" for i in range(n_o)] if str_ids else np.arange(n_o) * 7
    return Plan(a, customers=IdIndex.from_values(cust), offers=IdIndex.from_values(offers))


def _assert_same(a: Allocation, b: Allocation) -> None:
    for f in attrs.fields(Allocation):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            # load_plan returns the documented dtypes (an empty plan's offer_usage is
            # int64 in memory, from np.bincount; the file reads back float64)
            assert y.dtype == (np.float64 if f.name == "offer_usage" else x.dtype), f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


def test_columns_hand_computed() -> None:
    # customer 42 prefers B (4 > 2), customer 17 prefers A; budget 2 allows both
    problem = AllocationProblem.from_dense(
        np.array([[3.0, 1.0], [2.0, 4.0]]), np.ones((2, 2)), budgets=[Budget("total", 2.0)]
    )
    plan = Plan(
        allocate(problem, method="exact"),
        customers=IdIndex.from_values([42, 17]),  # codes follow sorted ids: 17 -> 0, 42 -> 1
        offers=IdIndex.from_values(["B", "A"]),  # "A" -> 0, "B" -> 1
    )
    cols = plan.columns()
    assert cols["customer_id"].tolist() == [17, 42]
    assert cols["offer_id"].tolist() == ["A", "B"]
    assert cols["value"].tolist() == [3.0, 4.0]
    assert cols["cost"].tolist() == [1.0, 1.0]
    assert plan.offers_for(17).tolist() == ["A"]
    assert len(plan) == 2


def test_offers_for_unknown_and_empty() -> None:
    problem = AllocationProblem.from_dense(np.array([[1.0], [0.0]]), np.ones((2, 1)))
    plan = Plan(
        allocate(problem),
        customers=IdIndex.from_values(["x", "y"]),
        offers=IdIndex.from_values(["o"]),
    )
    assert plan.offers_for("y").tolist() == []  # value 0: ineligible, gets nothing
    with pytest.raises(UnknownIdError, match="customer_id"):
        plan.offers_for("z")


@pytest.mark.parametrize("str_ids", [True, False])
def test_npz_round_trip_is_lossless(tmp_path: Path, str_ids: bool) -> None:
    plan = _plan(str_ids=str_ids)
    path = tmp_path / "plan.npz"
    save_plan(plan, path)
    back = load_plan(path)
    _assert_same(plan.allocation, back.allocation)
    np.testing.assert_array_equal(back.customers.values, plan.customers.values)
    np.testing.assert_array_equal(back.offers.values, plan.offers.values)
    for k, v in plan.columns().items():
        np.testing.assert_array_equal(back.columns()[k], v)
    # an open format: readable without onetoone and without pickle
    with np.load(path, allow_pickle=False) as raw:
        assert set(raw.files) >= {"customer", "offer", "customer_ids", "offer_ids", "cap_price"}


def test_round_trip_keeps_infinite_caps_and_budget_names(tmp_path: Path) -> None:
    problem = AllocationProblem.from_dense(
        np.array([[3.0, 1.0], [2.0, 4.0]]),
        np.ones((2, 2)),
        budgets=[Budget("spend", 1.5), Budget("emails", 10.0, usage=np.ones((2, 2)))],
        k=2,
    )
    a = allocate(problem)
    assert np.isinf(a.cap).all()
    plan = Plan(a, customers=IdIndex.from_values([1, 2]), offers=IdIndex.from_values([1, 2]))
    save_plan(plan, tmp_path / "p.npz")
    back = load_plan(tmp_path / "p.npz").allocation
    assert back.budget_names == ("spend", "emails")
    assert np.isinf(back.cap).all()
    _assert_same(a, back)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_c=st.integers(1, 30),
    n_o=st.integers(1, 8),
    str_ids=st.booleans(),
)
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n_c: int, n_o: int, str_ids: bool
) -> None:
    plan = _plan(seed, n_c, n_o, str_ids)
    path = tmp_path_factory.mktemp("plans") / "p.npz"
    save_plan(plan, path)
    back = load_plan(path)
    _assert_same(plan.allocation, back.allocation)
    cols = back.columns()
    # every row names a real customer and offer, and matches the codes it came from
    np.testing.assert_array_equal(
        plan.customers.encode(cols["customer_id"]), plan.allocation.customer
    )
    np.testing.assert_array_equal(plan.offers.encode(cols["offer_id"]), plan.allocation.offer)


def test_plan_validates_lengths_and_types() -> None:
    a = _plan().allocation
    with pytest.raises(ValidationError, match="customers has 3 ids") as e:
        Plan(a, customers=IdIndex.from_values([1, 2, 3]), offers=IdIndex.from_values(range(6)))
    assert e.value.field == "customers"
    with pytest.raises(ValidationError, match="offers has 2 ids"):
        Plan(a, customers=IdIndex.from_values(range(40)), offers=IdIndex.from_values([1, 2]))
    with pytest.raises(ValidationError, match="must be an IdIndex"):
        Plan(a, customers=list(range(40)), offers=IdIndex.from_values(range(6)))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="must be an Allocation"):
        Plan("plan", customers=IdIndex.from_values([1]), offers=IdIndex.from_values([1]))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="takes a Plan"):
        save_plan(a, "never.npz")  # type: ignore[arg-type]


def test_load_refuses_other_kinds_versions_and_tampering(tmp_path: Path) -> None:
    # an affinity model file is not a plan
    model = fit_affinity(synthetic_transactions(20, 10, random_state=0), method="repeat")
    save_model(model, tmp_path / "model.npz")
    with pytest.raises(FormatError, match="not a 'Plan'"):
        load_plan(tmp_path / "model.npz")
    # a plan from a future onetoone
    plan = _plan()
    good = tmp_path / "plan.npz"
    save_plan(plan, good)
    with np.load(good, allow_pickle=False) as raw:
        arrays = {k: raw[k] for k in raw.files}
    header = json.loads(arrays["__onetoone_meta__"].tobytes())
    header["format_version"] = PLAN_FORMAT_VERSION + 1
    future = dict(arrays)
    future["__onetoone_meta__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "future.npz", **future)
    with pytest.raises(FormatError, match="format_version"):
        load_plan(tmp_path / "future.npz")
    # codes that point outside the id ranges
    bad = dict(arrays)
    bad["offer"] = bad["offer"] + 100
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(FormatError, match="member 'offer' holds 105, above the allowed maximum 5"):
        load_plan(tmp_path / "bad.npz")
    # a missing part
    missing = {k: v for k, v in arrays.items() if k != "cap_price"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(FormatError, match="missing part"):
        load_plan(tmp_path / "missing.npz")
    # misaligned arrays
    short = dict(arrays)
    short["value"] = short["value"][:-1]
    np.savez(tmp_path / "short.npz", **short)
    with pytest.raises(FormatError, match=r"'value' has 15 entries along axis 0, expected 16"):
        load_plan(tmp_path / "short.npz")
    # ids that are not an index (unsorted)
    shuffled = dict(arrays)
    shuffled["customer_ids"] = shuffled["customer_ids"][::-1].copy()
    np.savez(tmp_path / "ids.npz", **shuffled)
    with pytest.raises(FormatError, match="sorted and unique"):
        load_plan(tmp_path / "ids.npz")
    # not a zip at all
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FormatError):
        load_plan(tmp_path / "junk.npz")
    assert zipfile.is_zipfile(good)


def test_to_arrow_carries_rows_and_versioned_certificate(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    plan = _plan()
    path = tmp_path / "plan.parquet"
    pq.write_table(plan.to_arrow(), path)
    table = pq.read_table(path)
    assert table.column_names == ["customer_id", "offer_id", "value", "cost"]
    cols = plan.columns()
    assert table.column("offer_id").to_pylist() == cols["offer_id"].tolist()
    assert table.column("customer_id").to_pylist() == cols["customer_id"].tolist()
    assert table.schema.field("value").type == pa.float64()
    header = json.loads(table.schema.metadata[b"onetoone"])
    assert header["kind"] == "PlanTable"
    assert header["format_version"] == PLAN_FORMAT_VERSION
    cert = header["meta"]
    a = plan.allocation
    assert cert["objective"] == pytest.approx(a.objective)
    assert cert["gap"] == pytest.approx(a.gap)
    assert cert["n_pairs"] == len(a)
    assert [b["name"] for b in cert["budgets"]] == list(a.budget_names)
    assert cert["budgets"][0]["spend"] == pytest.approx(float(a.budget_spend[0]))
