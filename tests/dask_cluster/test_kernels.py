"""The per-partition kernels: plain functions of Arrow data (no Dask needed)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")

from onetoone import Transactions, build_profiles  # noqa: E402
from onetoone.allocation import (  # noqa: E402
    AllocationProblem,
    Budget,
    allocate,
    customer_step,
)
from onetoone.distributed import (  # noqa: E402
    candidate_block,
    dual_step,
    profile_partition,
)
from onetoone.errors import ValidationError  # noqa: E402

BUDGET = [("total", 10.0, "cost", None)]


def _table() -> pa.Table:
    # customer 7: offers 0 (v 3, c 1), 1 (v 2, c 1); customer 8: offer 1 (v 1, c 2)
    return pa.table(
        {
            "customer": [7, 8, 7],
            "offer": [0, 1, 1],
            "value": [3.0, 1.0, 2.0],
            "cost": [1.0, 2.0, 1.0],
        }
    )


def test_dual_step_known_answer() -> None:
    b = candidate_block(_table(), n_offers=2, budgets=BUDGET, k=1)
    # lam = 0.8: reduced values 7: [2.2, 1.2] -> offer 0; 8: [1 - 1.6] < 0 -> nothing
    s = dual_step(b, [0.8], [0.0, 0.0], want_chosen=True)
    assert s.lagr == pytest.approx(2.2)
    assert s.spend.tolist() == [1.0]
    assert s.use.tolist() == [1.0, 0.0]
    assert s.value == 3.0
    # cap price 1.5 on offer 0: 7 now prefers offer 1 (1.2 > 0.7)
    s2 = dual_step(b, [0.8], [1.5, 0.0])
    assert s2.lagr == pytest.approx(1.2)
    assert s2.use.tolist() == [0.0, 1.0]
    # k = 2 takes both of customer 7's positive pairs
    b2 = candidate_block(_table(), n_offers=2, budgets=BUDGET, k=2)
    assert dual_step(b2, [0.8], [0.0, 0.0]).lagr == pytest.approx(3.4)


def test_block_drops_pairs_that_never_fit_and_counts_them() -> None:
    t = _table().append_column("big", pa.array([1.0, 50.0, 1.0]))
    b = candidate_block(t, n_offers=2, budgets=[("b", 10.0, "big", None)])
    assert b.n_ineligible == 1 and b.n_candidates == 2  # customer 8's pair needs 50 > 10


def test_budget_restricted_to_offers() -> None:
    b = candidate_block(_table(), n_offers=2, budgets=[("o1", 10.0, "cost", [1])])
    assert b.usage[0][b.offer == 0].tolist() == [0.0]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"offer": [0, 2, 1]}, "offer codes in"),
        ({"value": [np.nan, 1.0, 2.0]}, "NaN or inf"),
        ({"cost": [1.0, -2.0, 1.0]}, "must be >= 0"),
        ({"offer": [0, 1, 0]}, "listed twice"),
    ],
)
def test_block_bad_input(change: dict[str, list[float]], match: str) -> None:
    cols = {n: _table().column(n).to_pylist() for n in _table().column_names}
    cols.update(change)
    with pytest.raises(ValidationError, match=match):
        candidate_block(pa.table(cols), n_offers=2, budgets=BUDGET)


def test_block_duplicate_is_caught_even_when_one_copy_is_ineligible() -> None:
    t = pa.table({"customer": [1, 1], "offer": [0, 0], "value": [-1.0, 2.0], "cost": [1.0, 1.0]})
    with pytest.raises(ValidationError, match="listed twice"):
        candidate_block(t, n_offers=1)


def test_block_missing_column_and_bad_arguments() -> None:
    with pytest.raises(ValidationError, match=r"\['cost'\] missing"):
        candidate_block(_table().drop(["cost"]), n_offers=2, budgets=BUDGET)
    with pytest.raises(ValidationError, match="n_offers"):
        candidate_block(_table(), n_offers=0)
    with pytest.raises(ValidationError, match="k must be"):
        candidate_block(_table(), n_offers=2, k=-1)
    b = candidate_block(_table(), n_offers=2, budgets=BUDGET)
    with pytest.raises(ValidationError, match="lam must have shape"):
        dual_step(b, [1.0, 2.0], [0.0, 0.0])


def test_profile_partition_equals_one_machine_and_reports_drops() -> None:
    t = pa.table(
        {
            "customer": ["a", "b", "a", "c"],
            "item": [1, 2, 3, 1],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-02-01", "2024-01-05"],
            "value": [2.0, 3.0, 4.0, -1.0],
        }
    )
    out = profile_partition(t, as_of="2024-03-01", ingest={"invalid": "drop"})
    meta = json.loads(out.schema.metadata[b"onetoone.ingestion"])
    assert meta == {"n_input": 4, "n_kept": 3, "dropped": {"negative_value": 1}}
    one = build_profiles(Transactions.from_arrow(t, invalid="drop"), as_of="2024-03-01")
    exp = one.to_dict()
    assert out.column("customer").to_pylist() == exp["customer"].tolist()
    for name in ("monetary", "frequency", "recency_days", "ipi_mean_days"):
        np.testing.assert_array_equal(out.column(name).to_numpy(), exp[name])


def test_kernels_refuse_other_inputs() -> None:
    with pytest.raises(ValidationError, match="pyarrow Table"):
        profile_partition([1, 2, 3], as_of="2024-01-01")
    with pytest.raises(ValidationError, match=r"\['customer'\] missing"):
        profile_partition(pa.table({"x": [1]}), as_of="2024-01-01")


# ------------------------------------------- groups and per-customer k (issue 18)
def test_k_column_and_groups_known_answer() -> None:
    # customer a: offers 0, 1 (group 0) and 2 (group 1), k = 2; customer b: k = 0
    t = pa.table(
        {
            "customer": ["a", "a", "a", "b"],
            "offer": [0, 1, 2, 2],
            "value": [3.0, 2.0, 1.0, 4.0],
            "cost": [1.0, 1.0, 1.0, 1.0],
            "k": [2, 2, 2, 0],
        }
    )
    b = candidate_block(t, n_offers=3, budgets=BUDGET, k="k", group=[0, 0, 1])
    s = dual_step(b, [0.0], [0.0, 0.0, 0.0], want_chosen=True)
    assert s.value == 4.0 and s.use.tolist() == [1.0, 0.0, 1.0]  # 0 and 2, not 0 and 1
    two = candidate_block(t, n_offers=3, budgets=BUDGET, k="k", group=[0, 0, 1], group_max=2)
    assert dual_step(two, [0.0], [0.0, 0.0, 0.0]).value == 5.0  # 0 and 1
    # a price of 1.5 on the budget: reduced values 1.5, 0.5, -0.5 -> only offer 0 and 1
    assert dual_step(two, [1.5], [0.0, 0.0, 0.0]).lagr == pytest.approx(2.0)


def test_k_column_must_agree_within_a_customer() -> None:
    t = _table().append_column("kk", pa.array([1, 1, 2]))  # customer 7: k 1 and 2
    with pytest.raises(ValidationError, match="customer 7 has different k") as err:
        candidate_block(t, n_offers=2, k="kk")
    assert err.value.field == "kk"
    bad = _table().append_column("kk", pa.array([1.5, 1.0, 1.0]))
    with pytest.raises(ValidationError, match="whole numbers") as err:
        candidate_block(bad, n_offers=2, k="kk")
    assert err.value.field == "kk"


def _random_case(seed: int) -> tuple[pa.Table, dict[str, Any], Any]:
    """A small random partition: customers with 0..m candidates, values of both signs."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 10)), int(rng.integers(1, 6))
    present = rng.random((n, m)) < 0.7
    rows, cols = np.nonzero(present)
    k = rng.integers(0, 4, n)
    group = rng.integers(0, 3, m) if rng.random() < 0.7 else None
    gmax = int(rng.integers(1, 3))
    table = pa.table(
        {
            "customer": (rows * 7 + 3).astype(np.int64),  # ids, not codes
            "offer": cols.astype(np.int64),
            "value": np.round(rng.normal(0.8, 1.0, len(rows)), 3),
            "cost": np.round(rng.uniform(0.0, 1.0, len(rows)), 3),
            "w": np.round(rng.uniform(0.0, 2.0, len(rows)), 3),
            "k": k[rows],
        }
    )
    kw = {
        "n_offers": m,
        "budgets": [("total", 1e9, "cost", None)],
        "k": "k",
        "group": group,
        "group_max": gmax,
        "cap_usage": "w",
    }
    prices = (
        np.round(rng.uniform(0.0, 1.0, 1), 3),
        np.where(rng.random(m) < 0.5, np.round(rng.uniform(0.0, 0.5, m), 3), 0.0),
    )
    return table, kw, prices


def _brute_force(r: Any, groups: Any, k: int, gmax: int) -> float:
    """Best value of one customer by enumerating every subset of its candidates."""
    best = 0.0
    d = len(r)
    for mask in range(1 << d):
        pick = [j for j in range(d) if mask >> j & 1]
        if len(pick) > k:
            continue
        if groups is not None and pick and int(np.bincount(groups[pick]).max()) > gmax:
            continue
        best = max(best, float(sum(r[j] for j in pick)))
    return best


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dual_step_is_the_one_machine_step_and_exact(seed: int) -> None:
    table, kw, (lam, mu) = _random_case(seed)
    block = candidate_block(table, **kw)
    s = dual_step(block, lam, mu, want_chosen=True)
    assert s.chosen is not None
    # the same data on a dense (customer x offer) grid, through the public one-machine step
    cust = table.column("customer").to_numpy()
    off = table.column("offer").to_numpy()
    ids, code = np.unique(cust, return_inverse=True)
    n, m = len(ids), kw["n_offers"]
    r = np.full((n, m), -np.inf)
    val = table.column("value").to_numpy()
    red = val - lam[0] * table.column("cost").to_numpy() - mu[off] * table.column("w").to_numpy()
    r[code, off] = np.where(val > 0, red, -np.inf)  # value <= 0: never eligible
    k_of = np.zeros(n, dtype=np.int64)
    k_of[code] = table.column("k").to_numpy()
    g = None if kw["group"] is None else np.broadcast_to(kw["group"], (n, m))
    dense = customer_step(r, k_of, g, kw["group_max"])
    want = {(int(ids[i]), int(j)) for i, j in zip(*np.nonzero(dense), strict=True)}
    rows = _rows(block)
    got = {
        (int(block.customer_ids[rows[i]]), int(block.offer[i])) for i in np.flatnonzero(s.chosen)
    }
    assert got == want
    assert s.lagr == pytest.approx(float(np.sum(r[dense])), rel=1e-12, abs=1e-12)
    # exact: each customer's plan is the best subset within its k and groups
    exact = 0.0
    for i in range(n):
        js = np.flatnonzero(np.isfinite(r[i]))
        gi = None if kw["group"] is None else np.asarray(kw["group"])[js]
        exact += _brute_force(r[i, js], gi, int(k_of[i]), kw["group_max"])
    assert s.lagr == pytest.approx(exact, rel=1e-12, abs=1e-12)
    # spend and cap use are those of the chosen pairs
    assert s.use == pytest.approx(np.bincount(block.offer[s.chosen], block.cap_usage[s.chosen], m))
    assert s.spend[0] == pytest.approx(float(block.usage[0][s.chosen].sum()))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dual_step_matches_the_exact_milp(seed: int) -> None:
    # the Lagrangian subproblem at fixed prices, solved by HiGHS (method="exact") with the
    # reduced values as values and no budget: the same k and groups
    table, kw, (lam, mu) = _random_case(seed)
    block = candidate_block(table, **kw)
    s = dual_step(block, lam, mu)
    rows = _rows(block)
    red = block.value - lam[0] * block.usage[0] - mu[block.offer] * block.cap_usage
    k_of = np.asarray(block.k)
    p = AllocationProblem.from_candidates(
        rows,
        block.offer,
        red,
        np.zeros(block.n_candidates),
        n_customers=len(k_of),
        n_offers=kw["n_offers"],
        k=k_of,
        group=kw["group"],
        group_max=kw["group_max"],
    )
    milp = allocate(p, "exact")
    assert milp.status == 0
    assert s.lagr == pytest.approx(milp.objective, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_cap_margins_equal_the_one_machine_margins(seed: int) -> None:
    # the margins behind the Dask cap step are the one-machine solver's, pair by pair
    from onetoone.allocation._solve import _Ctx
    from onetoone.allocation._solve import _margins as margins_one
    from onetoone.distributed._dual import _margins as margins_dask

    table, kw, (lam, mu) = _random_case(seed)
    kw = {**kw, "cap": np.full(kw["n_offers"], 1e9)}
    block = candidate_block(table, **kw)
    q_dask, summary = margins_dask(block, lam, mu)
    assert summary.lagr == pytest.approx(dual_step(block, lam, mu).lagr, rel=1e-12, abs=1e-12)
    rows = _rows(block)
    p = AllocationProblem.from_candidates(
        rows,
        block.offer,
        block.value,
        block.usage[0],
        n_customers=len(block.k),
        n_offers=kw["n_offers"],
        budgets=[Budget("total", 1e9)],
        k=np.asarray(block.k),
        group=kw["group"],
        group_max=kw["group_max"],
        cap=np.zeros(kw["n_offers"]) + 1e-9,  # every offer capped: its price counts
        cap_usage=block.cap_usage,
    )
    ctx = _Ctx.build(p, 1 << 20)
    ctx.capped = np.arange(kw["n_offers"], dtype=np.int64)
    q_one, _ = margins_one(ctx, lam, mu)
    key_one = {(int(c), int(o)): q for c, o, q in zip(p.customer, p.offer, q_one, strict=True)}
    for c, o, q in zip(rows, block.offer, q_dask, strict=True):
        want = key_one[(int(c), int(o))]
        assert q == pytest.approx(want, rel=1e-9, abs=1e-9) or (np.isinf(q) and q == want)


def _rows(block: Any) -> Any:
    """Row (customer) of each candidate of a block."""
    rows = np.empty(block.n_candidates, dtype=np.int64)
    for r0, r1, c0, c1, d in block.chunks:
        rows[c0:c1] = np.repeat(np.arange(r0, r1), d)
    return rows


# ------------------------------------- bad types and absurd sizes: typed, named errors
@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"n_offers": 10**15}, "n_offers", "from 1 to 16,777,216"),  # was a MemoryError
        ({"n_offers": 2**31}, "n_offers", "IdIndex"),
        ({"n_offers": 2.0}, "n_offers", "must be an int"),
        ({"n_offers": True}, "n_offers", "must be an int"),
        ({"k": 1.5}, "k", "name of a column"),
        ({"k": [1, 2]}, "k", "name of a column"),
        ({"k": "missing"}, "table", r"\['missing'\] missing"),
        ({"budgets": "total"}, "budgets", "sequence of"),
        ({"budgets": [("t", 1.0, "cost")]}, "budgets", "4-tuple"),
        ({"budgets": [("t", "1", "cost", None)]}, "budgets", "limit must be a number"),
        ({"budgets": [("t", float("nan"), "cost", None)]}, "budgets", "limit must be"),
        ({"budgets": [("t", 1.0, "cost", [5])]}, "budgets", r"in \[0, 2\)"),
        ({"budgets": [("t", 1.0, "cost", [10**20])]}, "budgets", "int offer codes"),
        ({"budgets": [("t", 1.0, 3, None)]}, "budgets", "must be str"),
        ({"cap": "x"}, "cap", "one number per offer"),
        ({"cap": [1.0]}, "cap", "one number per offer"),
        ({"cap": np.ones(10**6)}, "cap", r"shape \(1000000,\)"),
        ({"cap": [np.nan, 1.0]}, "cap", "not NaN"),
        ({"group": [0.5, 1.0]}, "group", "one group per offer"),
        ({"group": [0, 0, 0]}, "group", "one group per offer"),
        ({"group": [-1, 0]}, "group", "group codes"),
        ({"group": [2**40, 0]}, "group", "group codes"),
        ({"group_max": 0}, "group_max", ">= 1"),
        ({"group_max": 1.0}, "group_max", ">= 1"),
        ({"cap_usage": 1}, "cap_usage", "column name"),
        ({"value": "kk"}, "kk", "must be numeric"),
    ],
)
def test_candidate_block_bad_arguments_are_typed(
    kwargs: dict[str, Any], field: str, match: str
) -> None:
    t = _table().append_column("kk", pa.array(["a", "b", "c"]))
    args: dict[str, Any] = {"n_offers": 2, "budgets": BUDGET, **kwargs}
    with pytest.raises(ValidationError, match=match) as err:
        candidate_block(t, **args)
    assert err.value.field == field


def test_candidate_block_nulls_are_named() -> None:
    base = {"customer": [1, 2], "offer": [0, 1], "value": [1.0, 2.0]}
    for col, field in (("customer", "customer"), ("offer", "offer"), ("value", "value")):
        cols: dict[str, Any] = dict(base)
        cols[col] = [cols[col][0], None]
        with pytest.raises(ValidationError) as err:
            candidate_block(pa.table(cols), n_offers=2)
        assert err.value.field == field


def test_huge_k_and_group_max_mean_no_limit() -> None:
    b = candidate_block(_table(), n_offers=2, k=10**20, group=[0, 0], group_max=10**30)
    assert b.k.tolist() == [2, 2]  # clipped to n_offers, as one machine does
    assert dual_step(b, [], [0.0, 0.0]).value == 6.0


@pytest.mark.parametrize(
    ("lam", "mu", "field", "match"),
    [
        (["a"], [0.0, 0.0], "lam", "1-D array of numbers"),
        (None, [0.0, 0.0], "lam", r"shape \(1,\)"),
        (1.0, [0.0, 0.0], "lam", r"shape \(1,\)"),
        ([[1.0], [1.0, 2.0]], [0.0, 0.0], "lam", "1-D array of numbers"),
        ([1.0], np.zeros(10**6), "mu", r"shape \(2,\)"),
        ([1.0], {"a": 1}, "mu", "1-D array of numbers"),
        ([1.0], [1e400, 0.0], "mu", "finite prices"),
        ([-1.0], [0.0, 0.0], "lam", "finite prices"),
    ],
)
def test_dual_step_bad_prices_are_typed(lam: Any, mu: Any, field: str, match: str) -> None:
    b = candidate_block(_table(), n_offers=2, budgets=BUDGET)
    with pytest.raises(ValidationError, match=match) as err:
        dual_step(b, lam, mu)
    assert err.value.field == field
    with pytest.raises(ValidationError, match="CandidateBlock") as err:
        dual_step(None, [1.0], [0.0, 0.0])  # type: ignore[arg-type]
    assert err.value.field == "block"


def test_per_customer_kernels_refuse_ragged_arrays() -> None:
    from onetoone.allocation import entry_thresholds

    with pytest.raises(ValidationError, match="rectangular") as err:
        customer_step([[1.0], [1.0, 2.0]], np.array([1, 1]))  # type: ignore[arg-type]
    assert err.value.field == "r"
    with pytest.raises(ValidationError, match="rectangular") as err:
        entry_thresholds(np.ones((2, 2)), [[True], [True, False]], np.array([1, 1]))  # type: ignore[arg-type]
    assert err.value.field == "chosen"


def test_pass_through_options_must_be_mappings() -> None:
    from onetoone import Offers, fit_affinity
    from onetoone.distributed import score_partition

    log = pa.table({"customer": [1], "item": [1], "timestamp": ["2024-01-01"], "value": [1.0]})
    with pytest.raises(ValidationError, match="mapping of keyword") as err:
        profile_partition(log, as_of="2024-02-01", ingest=[1])  # type: ignore[arg-type]
    assert err.value.field == "ingest"
    tx = Transactions.from_arrow(log)
    model = fit_affinity(tx, method="popularity")
    offers = Offers.from_pairs(["a"], [1], items=tx.items)
    with pytest.raises(ValidationError, match="mapping of keyword") as err:
        score_partition(pa.table({"customer": [1]}), model, offers, options=[1])  # type: ignore[arg-type]
    assert err.value.field == "options"
