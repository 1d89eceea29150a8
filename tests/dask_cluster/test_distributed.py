"""onetoone.distributed on a small LocalCluster: the same answers as one machine.

Skipped when Dask is not installed, unless ONETOONE_REQUIRE_DASK=1 (then a missing
Dask fails the run, so CI with the extra cannot skip silently).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from onetoone import Offers, Transactions, build_profiles, fit_affinity
from onetoone.affinity import score_offers as score_one
from onetoone.allocation import AllocationProblem, Budget, allocate, random_problem
from onetoone.errors import MissingDependencyError, ValidationError

if os.environ.get("ONETOONE_REQUIRE_DASK") != "1":
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
from distributed import Client, LocalCluster

from onetoone import distributed as od

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    # dask 2026.8's Parquet engine calls pandas 3.1 APIs it deprecates (not ours)
    pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as cl,
    ):
        yield cl


def _log(n_rows: int = 4000, n_customers: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n_rows)
    day = rng.integers(0, 200, n_rows)
    return pd.DataFrame(
        {
            "customer": np.array([f"c{c:04d}" for c in cust]),
            "item": rng.integers(0, 40, n_rows),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
            "value": np.round(rng.gamma(2.0, 3.0, n_rows), 2),
            "basket": cust * 1000 + day,
        }
    )


def _sorted_profiles_one_machine(log: pd.DataFrame, as_of: str) -> pa.Table:
    tx = Transactions.from_arrow(pa.Table.from_pandas(log, preserve_index=False), basket="basket")
    prof = build_profiles(tx, as_of=as_of)
    return pa.table({k: pa.array(np.asarray(v)) for k, v in prof.to_dict().items()}).sort_by(
        "customer"
    )


def _assert_tables_equal(a: pa.Table, b: pa.Table) -> None:
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x = a.column(name).to_numpy(zero_copy_only=False)
        y = b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=name)  # NaN == NaN here
        else:
            assert x.tolist() == y.tolist(), name


# ------------------------------------------------------------------------- profiles
def test_profiles_identical_to_one_machine(client: Client) -> None:
    log = _log()
    frame = dd.from_pandas(log, npartitions=5, sort=False)  # customers split: shuffled
    prof = od.build_profiles(
        frame, as_of="2024-06-01", ingest={"basket": "basket"}, npartitions=3, client=client
    )
    assert prof.npartitions == 3
    assert prof.n_input == len(log) and prof.n_kept == len(log) and prof.dropped == {}
    expected = _sorted_profiles_one_machine(log, "2024-06-01")
    assert prof.n_customers == expected.num_rows
    _assert_tables_equal(prof.to_arrow(), expected)


def test_profiles_from_partitioned_parquet(client: Client, tmp_path: Any) -> None:
    log = _log(seed=1)
    parted = od.partition_by_customer(dd.from_pandas(log, npartitions=4, sort=False))
    parted.to_parquet(tmp_path / "log", write_index=False)
    prof = od.build_profiles(
        tmp_path / "log",
        as_of="2024-06-01",
        ingest={"basket": "basket"},
        partitioned=True,
        client=client,
    )
    _assert_tables_equal(prof.to_arrow(), _sorted_profiles_one_machine(log, "2024-06-01"))


def test_profiles_count_dropped_rows(client: Client) -> None:
    log = _log(n_rows=500)
    log.loc[[3, 7], "value"] = -1.0
    frame = dd.from_pandas(log, npartitions=2, sort=False)
    prof = od.build_profiles(frame, as_of="2024-06-01", ingest={"invalid": "drop"}, client=client)
    assert prof.dropped == {"negative_value": 2}
    assert prof.n_kept == len(log) - 2


def test_claimed_partitioning_that_splits_customers_is_refused(client: Client) -> None:
    frame = dd.from_pandas(_log(n_rows=600), npartitions=3, sort=False)
    assert od.check_partitioned(frame) > 0
    with pytest.raises(ValidationError, match="several partitions") as err:
        od.build_profiles(frame, as_of="2024-06-01", partitioned=True, client=client)
    assert err.value.field == "partitioned"


def test_missing_column_is_named(client: Client) -> None:
    frame = dd.from_pandas(_log(n_rows=50).drop(columns="customer"), npartitions=1)
    with pytest.raises(ValidationError, match=r"\['customer'\] missing"):
        od.build_profiles(frame, as_of="2024-06-01", client=client)
    frame2 = dd.from_pandas(_log(n_rows=50).drop(columns="value"), npartitions=1)
    with pytest.raises(ValidationError, match="value"):
        od.build_profiles(frame2, as_of="2024-06-01", client=client)


def test_bad_source_type() -> None:
    with pytest.raises(ValidationError, match="Parquet path or a dask DataFrame"):
        od.build_profiles(pd.DataFrame({"customer": [1]}), as_of="2024-01-01")


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"onetoone\[dask\]"):
        od.build_profiles("x.parquet", as_of="2024-01-01")


# -------------------------------------------------------------------------- scores
def test_scores_identical_to_one_machine(client: Client) -> None:
    log = _log(seed=2)
    tx = Transactions.from_arrow(pa.Table.from_pandas(log, preserve_index=False))
    model = fit_affinity(tx, method="repeat")
    offers = Offers.from_pairs(["a", "a", "b", "c"], [1, 2, 3, 4], items=tx.items)
    frame = od.partition_by_customer(dd.from_pandas(log, npartitions=3, sort=False))
    got = od.score_offers(frame, model, offers, client=client).compute()
    got = got.sort_values(["customer", "offer"]).reset_index(drop=True)
    one = score_one(model, tx.customers, offers)
    assert one.dense is not None
    n, m = one.dense.shape
    exp = pd.DataFrame(
        {
            "customer": np.repeat(one.customers.values, m),
            "offer": np.tile(one.offers.values, n),
            "score": one.dense.ravel(),
        }
    )
    exp = exp[np.isfinite(exp["score"])].sort_values(["customer", "offer"])
    assert got["customer"].tolist() == exp["customer"].tolist()
    assert got["offer"].tolist() == exp["offer"].tolist()
    np.testing.assert_array_equal(got["score"].to_numpy(), exp["score"].to_numpy())


# ---------------------------------------------------------------------- allocation
def _candidates(p: AllocationProblem) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": np.asarray(p.customer, dtype=np.int64) + 10**12,  # ids, not codes
            "offer": np.asarray(p.offer, dtype=np.int64),
            "value": p.value,
            "cost": p.cost,
        }
    )


def _assert_same_answer(res: Any, one: Any, tol: float) -> None:
    """Same answer within the certificates: the one-machine solver's own tolerance."""
    cert = max(tol, float(one.gap))  # on small problems one machine may stop above tol
    assert res.gap <= 1.1 * cert, (res.gap, one.gap, res.message)
    assert res.objective <= one.bound and one.objective <= res.bound  # both bounds valid
    assert abs(res.objective - one.objective) <= cert * one.bound, (res.objective, one.objective)
    assert abs(res.bound - one.bound) <= cert * one.bound, (res.bound, one.bound)


def _check_plan(res: Any, cand: pd.DataFrame, k: int, caps: Any, limits: Any) -> None:
    plan = res.pairs.compute()
    assert len(plan) == res.n_chosen
    assert plan.groupby("customer").size().max() <= k
    assert not plan.duplicated(["customer", "offer"]).any()
    merged = plan.merge(cand, on=["customer", "offer"], suffixes=("", "_in"))
    assert len(merged) == len(plan)  # every chosen pair is a candidate
    np.testing.assert_allclose(merged["value"].sum(), res.objective, rtol=1e-12)
    assert bool(np.all(res.budget_spend <= limits))
    if caps is not None:
        use = np.bincount(plan["offer"], minlength=len(caps))
        assert bool(np.all(use <= caps))


@pytest.mark.parametrize(("k", "cap_share"), [(1, 0.25), (2, None)])
def test_allocation_same_objective_and_bound(client: Client, k: int, cap_share: Any) -> None:
    p = random_problem(1500, 6, k=k, cap_share=cap_share, random_state=3)
    one = allocate(p, "dual")
    cand = _candidates(p)
    caps = None if cap_share is None else np.asarray(p.cap)
    res = od.allocate(
        dd.from_pandas(cand, npartitions=2, sort=False),
        n_offers=p.n_offers,
        budgets=[Budget("total", float(p.budget_limit[0]))],
        k=k,
        cap=caps,
        client=client,
    )
    _assert_same_answer(res, one, tol=1e-4)
    _check_plan(res, cand, k, caps, np.asarray(p.budget_limit))
    assert res.bytes_per_partition_iteration < 2000  # O(budgets + offers), not O(customers)


@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")  # from_pandas
def test_binding_caps_at_warm_start_size_same_answer(client: Client) -> None:
    # above 4 x 20,000 customers both paths start from the prices of a sample; every
    # cap binds (a quarter of the customers per offer, 6 offers) with the budget
    p = random_problem(90_000, 6, cap_share=0.25, random_state=7)
    one = allocate(p, "dual", tol=1e-3)
    caps = np.asarray(p.cap)
    cand = _candidates(p)
    res = od.allocate(
        dd.from_pandas(cand, npartitions=4, sort=False),
        n_offers=p.n_offers,
        budgets=[Budget("total", float(p.budget_limit[0]))],
        cap=caps,
        tol=1e-3,
        partitioned=True,
        client=client,
    )
    assert res.success and res.sweeps <= 3, res.message
    assert res.iterations <= 12  # the sample's prices are near the optimum
    assert bool(np.any(res.offer_use >= caps - 1.0))  # the caps do bind
    _assert_same_answer(res, one, tol=1e-3)
    _check_plan(res, cand, 1, caps, np.asarray(p.budget_limit))


def test_allocation_two_budgets_on_offer_subsets(client: Client) -> None:
    rng = np.random.default_rng(5)
    n, m = 1200, 5
    cust = np.repeat(np.arange(n), m)
    off = np.tile(np.arange(m), n)
    value = rng.lognormal(0, 1, n * m)
    cost = rng.uniform(0.1, 1.0, n * m)
    sms = rng.uniform(0.0, 1.0, n * m)
    keep = rng.random(n * m) < 0.8  # customers with different numbers of candidates
    cust, off, value, cost, sms = cust[keep], off[keep], value[keep], cost[keep], sms[keep]
    b_one = [Budget("total", 180.0), Budget("sms", 40.0, usage=sms * (off < 3), offers=None)]
    p = AllocationProblem.from_candidates(
        cust, off, value, cost, n_customers=n, n_offers=m, budgets=b_one, k=2
    )
    one = allocate(p, "dual")
    cand = pd.DataFrame({"customer": cust, "offer": off, "value": value, "cost": cost, "sms": sms})
    res = od.allocate(
        dd.from_pandas(cand, npartitions=2, sort=False),
        n_offers=m,
        budgets=[Budget("total", 180.0), Budget("sms", 40.0, usage="sms", offers=[0, 1, 2])],
        k=2,
        client=client,
    )
    _assert_same_answer(res, one, tol=1e-4)
    _check_plan(res, cand, 2, None, np.array([180.0, 40.0]))


def test_allocation_with_real_processes(tmp_path: Any) -> None:
    p = random_problem(800, 4, random_state=4)
    one = allocate(p, "dual")
    cand = _candidates(p)
    cand.to_parquet(tmp_path / "cand.parquet")
    t0 = time.perf_counter()
    with (
        dask.config.set({"dataframe.shuffle.method": "tasks"}),  # p2p starts slowly
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as cl,
    ):
        res = od.allocate(
            tmp_path / "cand.parquet",
            n_offers=p.n_offers,
            budgets=[Budget("total", float(p.budget_limit[0]))],
            cap=np.asarray(p.cap),
            npartitions=2,
            tol=1e-3,
            client=cl,
            progress=lambda line: print(f"{time.perf_counter() - t0:.1f}s {line}"),
        )
        print(f"{time.perf_counter() - t0:.1f}s done")
        _check_plan(res, cand, 1, np.asarray(p.cap), np.asarray(p.budget_limit))
    _assert_same_answer(res, one, tol=1e-3)


def test_allocation_refuses_split_customers_and_bad_input(client: Client) -> None:
    cand = _candidates(random_problem(200, 4, random_state=1))
    frame = dd.from_pandas(cand.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    with pytest.raises(ValidationError, match="several partitions"):
        od.allocate(
            frame, n_offers=4, budgets=[Budget("total", 10.0)], partitioned=True, client=client
        )
    with pytest.raises(ValidationError, match="'cost'"):
        od.allocate(
            frame.drop(columns="cost"), n_offers=4, budgets=[Budget("t", 1.0)], client=client
        )
    with pytest.raises(ValidationError, match="n_offers"):
        od.allocate(frame, n_offers=0, client=client)
    # a per-customer k comes as a column (the customers are only known in the partitions)
    with pytest.raises(ValidationError, match="name of a column") as err:
        od.allocate(frame, n_offers=4, k=np.ones(200, dtype=np.int64), client=client)  # type: ignore[arg-type]
    assert err.value.field == "k"
    with pytest.raises(ValidationError, match="one group per offer") as err:
        od.allocate(frame, n_offers=4, group=np.zeros(3, dtype=int), client=client)
    assert err.value.field == "group"
    with pytest.raises(ValidationError, match=r"\['kk'\] missing"):
        od.allocate(frame, n_offers=4, k="kk", client=client)
    with pytest.raises(ValidationError, match="offer codes"):
        od.allocate(frame, n_offers=2, budgets=[Budget("t", 1.0)], client=client)
    dup = pd.concat([cand.iloc[:3], cand.iloc[:1]])
    with pytest.raises(ValidationError, match="listed twice"):
        od.allocate(
            dd.from_pandas(dup, npartitions=1),
            n_offers=4,
            budgets=[Budget("t", 1.0)],
            client=client,
        )


# ------------------------------------------------- groups and per-customer k (issue 18)
def _constrained(
    n: int, m: int, seed: int, *, groups: bool, per_k: bool, group_max: int = 1
) -> tuple[AllocationProblem, pd.DataFrame, Any, float, Any]:
    """A problem with offer groups and/or each customer's own k; caps and budget bind."""
    rng = np.random.default_rng(seed)
    value = rng.lognormal(0.0, 1.0, (n, m))
    cost = rng.uniform(0.1, 1.0, (n, m))
    eligible = rng.random((n, m)) < 0.8  # customers with different numbers of candidates
    k: Any = rng.integers(0, 4, n) if per_k else 2
    group = rng.integers(0, m // 2, m) if groups else None
    cap = np.ceil(0.3 * n / m * rng.uniform(0.5, 1.5, m))
    limit = 0.15 * float(cost.sum()) / m
    p = AllocationProblem.from_dense(
        value,
        cost,
        budgets=[Budget("total", limit)],
        k=k,
        eligible=eligible,
        group=group,
        group_max=group_max,
        cap=cap,
    )
    rows, cols = np.nonzero(eligible)
    cand = pd.DataFrame(
        {
            "customer": rows.astype(np.int64) + 10**12,  # ids, not codes
            "offer": cols.astype(np.int64),
            "value": value[rows, cols],
            "cost": cost[rows, cols],
            "k": np.broadcast_to(np.asarray(k), (n,))[rows],
        }
    )
    return p, cand, group, limit, cap


def _check_constraints(res: Any, cand: pd.DataFrame, group: Any, group_max: int) -> None:
    """Every customer within its own k and every group within group_max."""
    plan = res.pairs.compute()
    k_of = cand.groupby("customer")["k"].first()
    per_customer = plan.groupby("customer").size()
    assert bool((per_customer <= k_of.loc[per_customer.index]).all())
    if group is not None:
        g = np.asarray(group)[plan["offer"].to_numpy()]
        assert int(plan.assign(g=g).groupby(["customer", "g"]).size().max()) <= group_max


@pytest.mark.parametrize(
    ("groups", "per_k", "group_max"),
    [(True, False, 1), (False, True, 1), (True, True, 1), (True, True, 2)],
)
def test_groups_and_per_customer_k_same_answer(
    client: Client, groups: bool, per_k: bool, group_max: int
) -> None:
    p, cand, group, limit, cap = _constrained(
        1000, 6, 11, groups=groups, per_k=per_k, group_max=group_max
    )
    one = allocate(p, "dual")
    res = od.allocate(
        dd.from_pandas(cand, npartitions=3, sort=False),
        n_offers=6,
        budgets=[Budget("total", limit)],
        k="k" if per_k else 2,
        group=group,
        group_max=group_max,
        cap=cap,
        client=client,
    )
    _assert_same_answer(res, one, tol=1e-4)
    assert bool(np.any(res.offer_use >= cap - 1.0))  # some caps bind
    assert float(res.budget_spend[0]) >= 0.99 * limit  # and the budget
    _check_plan(res, cand, 3, cap, np.array([limit]))
    _check_constraints(res, cand, group, group_max)
    # the constraints matter: without them the plan is worth more
    free = AllocationProblem.from_dense(
        _dense(p, "value"),
        _dense(p, "cost"),
        budgets=[Budget("total", limit)],
        k=3 if per_k else 2,
        eligible=_dense(p, "value") > 0,
        cap=cap,
    )
    assert allocate(free, "dual").objective > res.objective * (1 + 1e-3)


def _dense(p: AllocationProblem, name: str) -> Any:
    out = np.zeros((p.n_customers, p.n_offers))
    out[p.customer, p.offer] = getattr(p, name)
    return out


@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")  # from_pandas
def test_groups_and_per_customer_k_at_warm_start_size(client: Client) -> None:
    # above 4 x 20,000 customers both paths start from a sample's prices: the sample
    # keeps each customer's k and the groups
    p, cand, group, limit, cap = _constrained(90_000, 6, 12, groups=True, per_k=True)
    one = allocate(p, "dual", tol=1e-3)
    res = od.allocate(
        dd.from_pandas(cand, npartitions=4, sort=False),
        n_offers=6,
        budgets=[Budget("total", limit)],
        k="k",
        group=group,
        cap=cap,
        tol=1e-3,
        client=client,
    )
    assert res.success, res.message
    assert bool(np.any(res.offer_use >= cap - 1.0))
    _assert_same_answer(res, one, tol=1e-3)
    _check_constraints(res, cand, group, 1)


def test_k_column_must_be_one_k_per_customer(client: Client) -> None:
    _, cand, _, limit, _ = _constrained(200, 4, 13, groups=False, per_k=True)
    bad = cand.copy()
    first = bad.index[bad["customer"] == bad["customer"].iloc[0]]
    bad.loc[first[-1], "k"] = int(bad.loc[first[0], "k"]) + 1
    with pytest.raises(ValidationError, match="different k") as err:
        od.allocate(
            dd.from_pandas(bad, npartitions=1),
            n_offers=4,
            budgets=[Budget("total", limit)],
            k="k",
            client=client,
        )
    assert err.value.field == "k"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_offers": 10**15}, "n_offers"),
        ({"n_offers": 4, "k": -1}, "k"),
        ({"n_offers": 4, "group": [0, 1]}, "group"),
        ({"n_offers": 4, "group": [0, 0, 1, 1], "group_max": 0}, "group_max"),
        ({"n_offers": 4, "cap": "x"}, "cap"),
        ({"n_offers": 4, "budgets": Budget("t", 1.0)}, "budgets"),
        ({"n_offers": 4, "budgets": [Budget("t", 1.0, offers=[7])]}, "budgets"),
    ],
)
def test_allocate_bad_arguments_are_typed_before_any_work(
    kwargs: dict[str, Any], field: str
) -> None:
    # checked before the client is looked up or a partition read
    with pytest.raises(ValidationError) as err:
        od.allocate("no-such.parquet", **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize("seed", range(6))
def test_random_small_problems_same_answer(client: Client, seed: int) -> None:
    # random sizes, groups, per-customer k, caps and a second budget on some offers
    rng = np.random.default_rng(100 + seed)
    n, m = int(rng.integers(100, 400)), int(rng.integers(3, 8))
    value = rng.lognormal(0.0, 1.0, (n, m))
    cost = rng.uniform(0.1, 1.0, (n, m))
    sms = rng.uniform(0.0, 1.0, (n, m))
    eligible = rng.random((n, m)) < rng.uniform(0.5, 1.0)
    k = rng.integers(0, 4, n)
    group = rng.integers(0, max(1, m // 2), m) if seed % 3 else None
    group_max = int(rng.integers(1, 3))
    cap = np.where(rng.random(m) < 0.6, np.ceil(rng.uniform(0.05, 0.4) * n), np.inf)
    limits = [rng.uniform(0.05, 0.3) * float(cost.sum()) / m, 0.05 * float(sms.sum()) / m]
    sms_offers = np.arange(max(1, m // 2))
    p = AllocationProblem.from_dense(
        value,
        cost,
        budgets=[
            Budget("total", limits[0]),
            Budget("sms", limits[1], usage=sms, offers=sms_offers),
        ],
        k=k,
        eligible=eligible,
        group=group,
        group_max=group_max,
        cap=cap,
    )
    one = allocate(p, "dual")
    rows, cols = np.nonzero(eligible)
    cand = pd.DataFrame(
        {
            "customer": rows.astype(np.int64),
            "offer": cols.astype(np.int64),
            "value": value[rows, cols],
            "cost": cost[rows, cols],
            "sms": sms[rows, cols],
            "k": k[rows],
        }
    )
    res = od.allocate(
        dd.from_pandas(cand, npartitions=2, sort=False),
        n_offers=m,
        budgets=[
            Budget("total", limits[0]),
            Budget("sms", limits[1], usage="sms", offers=sms_offers),
        ],
        k="k",
        group=group,
        group_max=group_max,
        cap=cap,
        client=client,
    )
    _assert_same_answer(res, one, tol=1e-4)
    _check_plan(res, cand, 3, cap, np.array(limits))
    _check_constraints(res, cand, group, group_max)
