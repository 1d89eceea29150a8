"""Out-of-core allocation: candidate blocks in batches, in memory or on the workers' disks.

The pieces of a stored block must give what the whole block gives (the masks, the
sample, the short lists exactly; the sums to the last bits), the disk must give
exactly what memory gives, and the files must be gone after ``allocate`` returns
or fails.
"""

from __future__ import annotations

import itertools
import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

if os.environ.get("ONETOONE_REQUIRE_DASK") != "1":
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")


import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
from distributed import Client, LocalCluster

from onetoone import distributed as od
from onetoone.allocation import AllocationProblem, Budget, allocate, random_problem
from onetoone.distributed import _dask as dk
from onetoone.distributed import _dual as du
from onetoone.distributed import _store as sto
from onetoone.errors import ValidationError

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning"),
]


def _random_block(
    seed: int,
    n_customers: int = 300,
    n_offers: int = 5,
    nb: int = 2,
    ids: str = "int",
    constrained: bool = False,
) -> od.CandidateBlock:
    """Customers with 1..n_offers candidates (several dense chunks), ``nb`` budgets;
    ``constrained``: each customer's own k (0..3) and two offer groups, at most
    ``group_max`` = 2 per group."""
    rng = np.random.default_rng(seed)
    cust = np.repeat(np.arange(n_customers), n_offers)
    off = np.tile(np.arange(n_offers), n_customers)
    keep = rng.random(len(cust)) < 0.7
    cust, off = cust[keep], off[keep]
    cols: dict[str, Any] = {
        "customer": [f"c{c}" for c in cust] if ids == "str" else cust + 10**9,
        "offer": off,
        "value": rng.lognormal(0.0, 1.0, len(cust)) - 0.1,
    }
    budgets = []
    for b in range(nb):
        cols[f"u{b}"] = rng.uniform(0.1, 1.0, len(cust))
        budgets.append((f"b{b}", 50.0, f"u{b}", None if b == 0 else [0, 2]))
    extra: dict[str, Any] = {"k": 2}
    if constrained:
        cols["own_k"] = rng.integers(0, 4, n_customers)[cust]
        extra = {"k": "own_k", "group": np.arange(n_offers) % 2, "group_max": 2}
    return od.candidate_block(
        pa.table(cols), n_offers=n_offers, budgets=budgets, cap=np.full(n_offers, 40.0), **extra
    )


#: Fields of a CandidateBlock that describe the whole partition: kept in a stored
#: block's ``stats``, not on its pieces.
_PARTITION_WIDE = {"n_ineligible", "max_ratio", "max_cap_ratio"}


def _piece_fields(block: od.CandidateBlock, p: sto.Piece) -> dict[str, Any]:
    """What each field of a piece's block must hold: the block's rows and pairs of the
    piece, its chunks, and the per-offer fields unchanged."""
    return {
        "customer_ids": block.customer_ids[p.row0 : p.row1],
        "k": block.k[p.row0 : p.row1],
        "offer": block.offer[p.c0 : p.c1],
        "value": block.value[p.c0 : p.c1],
        "usage": block.usage[:, p.c0 : p.c1],
        "cap_usage": block.cap_usage[p.c0 : p.c1],
        "chunks": p.chunks,
        "n_offers": block.n_offers,
        "group": block.group,
        "group_max": block.group_max,
    }


@pytest.fixture
def run(tmp_path: Path) -> Iterator[tuple[str, str]]:
    rid = "test" + os.urandom(4).hex()
    assert sto.make_run_dir(str(tmp_path), rid) == ""
    yield str(tmp_path), rid
    assert sto.remove_run_dir(str(tmp_path), rid)


def _stores(block: od.CandidateBlock, batch: int, run: tuple[str, str]) -> list[Any]:
    stats = (*dk._block_stats(block), block.nbytes())
    mem = sto.store_block(block, batch, stats=stats)
    disk = sto.store_block(block, batch, storage_dir=run[0], run_id=run[1], stats=stats)
    return [mem, disk]


# ------------------------------------------------------------------ the pieces
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 400))
def test_pieces_cover_the_block_on_customer_boundaries(seed: int, batch: int) -> None:
    block = _random_block(seed, n_customers=60)
    pieces = sto.split_pieces(block, batch)
    assert pieces[0].row0 == 0 and pieces[0].c0 == 0
    assert pieces[-1].row1 == len(block.k) and pieces[-1].c1 == block.n_candidates
    for a, b in itertools.pairwise(pieces):
        assert (a.row1, a.c1) == (b.row0, b.c0)  # contiguous, no gap, no overlap
    rows = dk._row_of(block)
    for p in pieces:
        n = p.c1 - p.c0
        assert n <= batch or p.row1 - p.row0 == 1  # only a lone customer exceeds a batch
        # the piece's chunks tile it, and each customer's candidates stay together
        assert sum(c[3] - c[2] for c in p.chunks) == n
        assert sum(c[1] - c[0] for c in p.chunks) == p.row1 - p.row0
        assert rows[p.c0] == p.row0 and rows[p.c1 - 1] == p.row1 - 1


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 200),
    cuts=st.lists(st.integers(0, 200), max_size=6),
    idx=st.lists(st.integers(0, 199), max_size=30),
)
def test_packed_masks_match_a_bool_array(n: int, cuts: list[int], idx: list[int]) -> None:
    rng = np.random.default_rng(n)
    bits = rng.random(n) < 0.5
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    packed = np.zeros((n + 7) // 8, dtype=np.uint8)
    for c0, c1 in itertools.pairwise(bounds):
        sto.pack_into(packed, c0, bits[c0:c1])
    for c0, c1 in itertools.pairwise(bounds):
        got = sto.mask_piece(packed, sto.Piece(0, 0, c0, c1, ()))
        assert got.tolist() == bits[c0:c1].tolist()
    sel = np.array([i for i in idx if i < n], dtype=np.int64)
    half = len(sel) // 2
    sto.set_bits(packed, sel[:half], False)
    sto.set_bits(packed, sel[half:], True)
    want = bits.copy()
    want[sel[:half]] = False
    want[sel[half:]] = True
    assert sto.mask_piece(packed, sto.Piece(0, 0, 0, n, ())).tolist() == want.tolist()


@pytest.mark.parametrize(("ids", "constrained"), [("int", False), ("str", False), ("int", True)])
def test_disk_pieces_equal_memory_pieces(run: tuple[str, str], ids: str, constrained: bool) -> None:
    block = _random_block(1, ids=ids, constrained=constrained)
    assert (block.group is not None) == constrained
    mem, disk = _stores(block, 97, run)
    assert len(mem.pieces) > 5 and disk.on_disk and not mem.on_disk
    got = list(disk.blocks(ids=True))
    assert len(got) == len(mem.pieces)
    for (pm, bm), (pd_, bd) in zip(mem.blocks(), got, strict=True):
        assert pm == pd_
        want = _piece_fields(block, pm)
        # every field of CandidateBlock is restored on a piece, in both storages (a
        # field added to CandidateBlock and not stored fails here)
        names = {f.name for f in attrs.fields(od.CandidateBlock)}
        assert set(want) == names - _PARTITION_WIDE
        for name, w in want.items():
            for piece in (bm, bd):
                x = getattr(piece, name)
                if isinstance(w, np.ndarray):
                    assert x is not None and x.dtype == w.dtype, name
                    assert x.tolist() == w.tolist(), name
                else:
                    assert x == w, name
    assert disk.customer_ids().tolist() == block.customer_ids.tolist()
    # on disk the handle holds the bounds of the pieces, not the pairs
    assert len(pickle.dumps(disk)) < 2000 + 200 * len(disk.pieces)
    assert len(pickle.dumps(mem)) > block.nbytes()
    # and Dask's memory accounting knows it
    dk._register_sizeof()
    assert dask.sizeof.sizeof(mem) >= block.nbytes() > 10 * dask.sizeof.sizeof(disk)


def test_one_piece_gives_the_whole_block_exactly(run: tuple[str, str]) -> None:
    block = _random_block(2)
    lam, mu = np.array([0.7, 0.2]), np.array([0.0, 0.3, 0.0, 0.1, 0.0])
    for store in _stores(block, 10**9, run):
        assert len(store.pieces) == 1
        for exact in (False, True):
            a, b = du._s_step(store, lam, mu, exact=exact), dual_step_whole(block, lam, mu, exact)
            assert (a.lagr, a.magnitude, a.value) == (b.lagr, b.magnitude, b.value)
            assert a.spend.tolist() == b.spend.tolist() and a.use.tolist() == b.use.tolist()


def dual_step_whole(block: od.CandidateBlock, lam: Any, mu: Any, exact: bool) -> Any:
    return od.dual_step(block, lam, mu, want_chosen=exact)


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("batch", [1, 37, 500])
def test_every_step_over_pieces_equals_the_whole_block(
    run: tuple[str, str], batch: int, constrained: bool
) -> None:
    block = _random_block(3, n_customers=400, constrained=constrained)
    lam, mu = np.array([0.5, 0.3]), np.array([0.2, 0.0, 0.4, 0.0, 0.1])
    whole = od.dual_step(block, lam, mu, want_chosen=True)
    assert whole.chosen is not None
    offers = np.array([0, 2, 4], dtype=np.int64)
    results = []
    for store in _stores(block, batch, run):
        s = du._s_step(store, lam, mu, exact=True)
        np.testing.assert_allclose(s.lagr, whole.lagr, rtol=1e-14)
        np.testing.assert_allclose(s.spend, whole.spend, rtol=1e-14)
        np.testing.assert_array_equal(s.use, whole.use)  # integer counts
        mask = dk._s_choose(store, lam, mu)
        packed = sto.load_mask(mask)
        got = sto.mask_piece(packed, sto.Piece(0, 0, 0, block.n_candidates, ()))
        assert got.tolist() == whole.chosen.tolist()
        # the plan's figures and rows
        f = dk._s_plan_figures(store, mask)
        g = dk._plan_figures(block, whole.chosen)
        assert f[3] == g[3] and abs(f[0] - g[0]) <= 1e-12 * abs(g[0])
        plan = dk._s_plan_pandas(store, mask, ("b0", "b1"))
        exp = dk._plan_pandas(block, whole.chosen, ("b0", "b1"))
        pd.testing.assert_frame_equal(plan, exp)
        # short lists: the client's choice from them is the whole block's
        drop = dk._s_drop_list(store, mask, lam, 0, -1, 3.0)
        ref = dk._drop_list(block, whole.chosen, lam, 0, -1, 3.0)
        assert set(ref[0].tolist()) <= set(drop[0].tolist())
        order = np.argsort(drop[1], kind="stable")
        m = int(np.searchsorted(np.cumsum(drop[2][order]), 3.0, side="left")) + 1
        assert sorted(drop[0][order[:m]].tolist()) == sorted(ref[0].tolist())
        fill = dk._s_fill_list(store, mask, np.array([5.0, 5.0]), np.full(5, 9.0), np.ones(2), 7)
        ref_f = dk._fill_list(block, whole.chosen, np.array([5.0, 5.0]), np.full(5, 9.0),
                              np.ones(2), 7)  # fmt: skip
        assert fill[0].tolist() == ref_f[0].tolist()
        new = dk._set_mask(mask, ref_f[0], drop[0][:3])
        bits = sto.mask_piece(sto.load_mask(new), sto.Piece(0, 0, 0, block.n_candidates, ()))
        want = whole.chosen.copy()
        want[drop[0][:3]] = False
        want[ref_f[0]] = True
        assert bits.tolist() == want.tolist()
        # the sample of customers
        sample = dk._s_sample_rows(store, 7)
        ref_s = dk._sample_rows(block, 7)
        for x, y in zip(sample, ref_s, strict=True):
            assert x.tolist() == y.tolist()
        # a cap step's margins: counts above a grid, and the margins in a bracket
        tails, at = du._s_margin_tails(store, lam, mu, offers)
        ref_t, ref_at = du._margin_tails(block, lam, mu, offers)
        # with them, the figures at (lam, mu): the cap step's evaluation
        np.testing.assert_allclose(at.lagr, ref_at.lagr, rtol=1e-12)
        np.testing.assert_allclose(at.spend, ref_at.spend, rtol=1e-12)
        np.testing.assert_array_equal(at.use, ref_at.use)
        grid = np.tile(np.linspace(0.0, 3.0, 9), (3, 1))
        np.testing.assert_allclose(du._s_cap_counts(tails, grid), du._cap_counts(ref_t, grid))
        lo, hi = np.full(3, 0.1), np.full(3, 1.5)
        for (q, w), (rq, rw) in zip(
            du._s_bracket(tails, lo, hi), du._bracket(ref_t, lo, hi), strict=True
        ):
            assert sorted(q.tolist()) == sorted(rq.tolist())
            np.testing.assert_allclose(w.sum(), rw.sum())
        sto.remove_file(tails)
        results.append((s, got, fill[0], sample[0]))
    (a, *ra), (b, *rb) = results  # memory and disk: identical, to the last bit
    assert (a.lagr, a.magnitude, a.value) == (b.lagr, b.magnitude, b.value)
    assert a.spend.tolist() == b.spend.tolist()
    for x, y in zip(ra, rb, strict=True):
        assert x.tolist() == y.tolist()


def test_an_empty_partition_is_stored(run: tuple[str, str]) -> None:
    t = pa.table({"customer": [1], "offer": [0], "value": [-1.0], "cost": [1.0]})
    block = od.candidate_block(t, n_offers=1, budgets=[("t", 1.0, "cost", None)])
    for store in _stores(block, 10, run):
        assert store.pieces == () and store.n_candidates == 0
        s = du._s_step(store, np.zeros(1), np.zeros(1), exact=True)
        assert s.lagr == 0.0 and s.use.tolist() == [0.0]
        mask = dk._s_choose(store, np.zeros(1), np.zeros(1))
        assert len(dk._s_plan_pandas(store, mask, ("t",))) == 0
        assert dk._s_fill_list(store, mask, np.ones(1), np.ones(1), np.ones(1), 5)[0].size == 0


# -------------------------------------------------------------------- on a cluster
@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as cl,
    ):
        yield cl


def _candidates(p: AllocationProblem) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": np.asarray(p.customer, dtype=np.int64) + 10**12,
            "offer": np.asarray(p.offer, dtype=np.int64),
            "value": p.value,
            "cost": p.cost,
        }
    )


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _assert_identical(a: Any, b: Any) -> None:
    assert (a.objective, a.bound, a.gap) == (b.objective, b.bound, b.gap)
    assert a.lam.tolist() == b.lam.tolist() and a.mu.tolist() == b.mu.tolist()
    assert a.budget_spend.tolist() == b.budget_spend.tolist()
    assert a.offer_use.tolist() == b.offer_use.tolist()
    assert (a.iterations, a.sweeps, a.n_chosen) == (b.iterations, b.sweeps, b.n_chosen)
    pa_, pb = (
        r.pairs.compute().sort_values(["customer", "offer"]).reset_index(drop=True) for r in (a, b)
    )
    pd.testing.assert_frame_equal(pa_, pb)


def test_disk_gives_the_memory_answer_two_budgets_and_caps(client: Client, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n, m = 2500, 5
    cust = np.repeat(np.arange(n), m)
    off = np.tile(np.arange(m), n)
    keep = rng.random(n * m) < 0.8
    cust, off = cust[keep], off[keep]
    value = rng.lognormal(0, 1, len(cust))
    cost = rng.uniform(0.1, 1.0, len(cust))
    sms = rng.uniform(0.0, 1.0, len(cust))
    cand = pd.DataFrame({"customer": cust, "offer": off, "value": value, "cost": cost, "sms": sms})
    caps = np.array([300.0, 250.0, 400.0, 200.0, np.inf])
    kw: dict[str, Any] = {
        "n_offers": m,
        "budgets": [Budget("total", 500.0), Budget("sms", 150.0, usage="sms", offers=[0, 1, 2])],
        "k": 2,
        "cap": caps,
        "tol": 1e-4,
        "batch_size": 700,  # several batches per partition
        "client": client,
    }
    frame = dd.from_pandas(cand, npartitions=3, sort=False)
    mem = od.allocate(frame, **kw)
    lines: list[str] = []
    disk = od.allocate(
        frame, storage="disk", storage_dir=tmp_path / "s", progress=lines.append, **kw
    )
    assert mem.storage == "memory" and disk.storage == "disk"
    assert disk.block_bytes > 0.5 * mem.block_bytes
    assert any("on the workers' disks (batches of up to 700 pairs)" in s for s in lines)
    _assert_identical(mem, disk)
    assert _leftovers(tmp_path / "s") == []  # the run's directory is gone
    # and the one-machine answer, within the certificates
    b_one = [Budget("total", 500.0), Budget("sms", 150.0, usage=sms * (off < 3))]
    p = AllocationProblem.from_candidates(
        cust, off, value, cost, n_customers=n, n_offers=m, budgets=b_one, k=2, cap=caps
    )
    one = allocate(p, "dual")
    assert disk.objective <= one.bound and one.objective <= disk.bound
    assert abs(disk.objective - one.objective) <= max(1e-4, one.gap) * one.bound
    assert bool(np.all(disk.budget_spend <= [500.0, 150.0]))
    assert bool(np.all(disk.offer_use <= caps))


def test_disk_at_the_warm_start_size_binding_caps(client: Client, tmp_path: Path) -> None:
    # above 4 x 20,000 customers: the sample's prices start the search; caps bind
    p = random_problem(90_000, 6, cap_share=0.25, random_state=7)
    frame = dd.from_pandas(_candidates(p), npartitions=4, sort=False)
    kw: dict[str, Any] = {
        "n_offers": p.n_offers,
        "budgets": [Budget("total", float(p.budget_limit[0]))],
        "cap": np.asarray(p.cap),
        "tol": 1e-3,
        "partitioned": True,
        "batch_size": 25_000,
        "client": client,
    }
    mem = od.allocate(frame, **kw)
    disk = od.allocate(frame, storage="disk", storage_dir=tmp_path, **kw)
    assert disk.success and bool(np.any(disk.offer_use >= np.asarray(p.cap) - 1.0))
    _assert_identical(mem, disk)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("group_max", [1, 2])
def test_disk_gives_the_memory_answer_groups_and_own_k(
    client: Client, tmp_path: Path, group_max: int
) -> None:
    # offer groups, each customer's own k (a column) and binding caps and budget, in
    # several batches per partition: the pieces on disk carry the groups and the k
    rng = np.random.default_rng(21)
    n, m = 2400, 6
    value = rng.lognormal(0.0, 1.0, (n, m))
    cost = rng.uniform(0.1, 1.0, (n, m))
    eligible = rng.random((n, m)) < 0.8
    own_k = rng.integers(0, 5, n)
    group = np.array([0, 0, 0, 1, 1, 2])
    cap = np.ceil(0.3 * n / m * rng.uniform(0.5, 1.5, m))
    limit = 0.15 * float(cost.sum()) / m
    rows, cols = np.nonzero(eligible)
    cand = pd.DataFrame(
        {
            "customer": rows.astype(np.int64) + 10**12,
            "offer": cols.astype(np.int64),
            "value": value[rows, cols],
            "cost": cost[rows, cols],
            "own_k": own_k[rows],
        }
    )
    frame = dd.from_pandas(cand, npartitions=3, sort=False)
    kw: dict[str, Any] = {
        "n_offers": m,
        "budgets": [Budget("total", limit)],
        "k": "own_k",
        "group": group,
        "group_max": group_max,
        "cap": cap,
        "batch_size": 1000,  # several batches per partition
        "client": client,
    }
    mem = od.allocate(frame, **kw)
    disk = od.allocate(frame, storage="disk", storage_dir=tmp_path, **kw)
    _assert_identical(mem, disk)
    assert _leftovers(tmp_path) == []
    assert bool(np.any(disk.offer_use >= cap - 1.0))  # some caps bind
    assert bool(np.all(disk.offer_use <= cap)) and float(disk.budget_spend[0]) <= limit
    # every customer within its own k, every group within group_max
    plan = disk.pairs.compute()
    per_customer = plan.groupby("customer").size()
    k_of = cand.groupby("customer")["own_k"].first()
    assert bool((per_customer <= k_of.loc[per_customer.index]).all())
    per_group = plan.assign(g=group[plan["offer"].to_numpy()]).groupby(["customer", "g"]).size()
    assert int(per_group.max()) == group_max  # the groups bind
    # the one-machine answer with the same groups and k, within the certificates
    p = AllocationProblem.from_dense(
        value,
        cost,
        budgets=[Budget("total", limit)],
        k=own_k,
        eligible=eligible,
        group=group,
        group_max=group_max,
        cap=cap,
    )
    one = allocate(p, "dual")
    assert disk.objective <= one.bound and one.objective <= disk.bound
    assert abs(disk.objective - one.objective) <= max(1e-4, one.gap) * one.bound
    # without the groups and the own k the plan is worth more: they were applied
    free = od.allocate(frame, **{**kw, "k": 4, "group": None, "storage": "disk"})
    assert free.objective > disk.bound


def test_oracle_over_stored_blocks_removes_each_cap_steps_margins(
    client: Client, run: tuple[str, str]
) -> None:
    # the one oracle of the price search, over stored blocks: the same figures in
    # memory and on disk as the whole block's, and on disk each cap step's margins
    # file is removed once the step is done (the blocks' files stay)
    block = _random_block(4, constrained=True)
    stats = (*dk._block_stats(block), block.nbytes())
    lam, mu = np.array([0.5, 0.3]), np.array([0.0, 0.2, 0.0, 0.0, 0.1])
    offers = np.array([0, 2, 3], dtype=np.int64)
    where = Path(sto.run_dir(run[0], run[1]))
    out = []
    for disk in (False, True):
        kw: dict[str, Any] = {"storage_dir": run[0], "run_id": run[1]} if disk else {}
        stores = [client.submit(sto.store_block, block, 50, stats=stats, pure=False, **kw)]
        oracle = du.DaskOracle(
            client=client,
            blocks=stores,
            caps=np.full(5, 40.0),
            top_b=stats[2],
            top_c=stats[3],
            disk=disk,
        )
        ev = oracle.evaluate(lam, mu)
        whole = od.dual_step(block, lam, mu)
        np.testing.assert_allclose(ev.lagr, whole.lagr, rtol=1e-12)
        np.testing.assert_array_equal(ev.use, whole.use)
        targets, at = oracle.cap_targets(lam, mu, offers)
        np.testing.assert_allclose(at.lagr, whole.lagr, rtol=1e-12)
        np.testing.assert_allclose(at.spend, whole.spend, rtol=1e-12)
        out.append((targets.tolist(), at.lagr, ev.lagr))
        if disk:
            for _ in range(100):  # removed by a task the client does not wait for
                if not list(where.glob("*.tails.arrow")):
                    break
                time.sleep(0.05)
            assert list(where.glob("*.tails.arrow")) == []
            assert len(list(where.glob("*.cand.arrow"))) == 1
    assert out[0] == out[1]  # memory and disk: identical


def test_disk_on_worker_processes_default_directory(tmp_path: Path) -> None:
    # real worker processes with a memory limit; the default directory is Dask's
    # temporary-directory (here tmp_path): the run's files appear there, then go
    p = random_problem(3000, 4, k=2, random_state=4)
    cand = _candidates(p)
    cand.to_parquet(tmp_path / "cand.parquet")
    seen: list[list[str]] = []

    def progress(line: str) -> None:
        if "candidate pairs in" in line:
            seen.append([d.name for d in (tmp_path / "tmp").glob("onetoone-alloc-*")])

    with (
        dask.config.set({"temporary-directory": str(tmp_path / "tmp")}),
        dask.config.set({"dataframe.shuffle.method": "tasks"}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as cl,
    ):
        kw: dict[str, Any] = {
            "n_offers": p.n_offers,
            "budgets": [Budget("total", float(p.budget_limit[0]))],
            "k": 2,
            "npartitions": 2,
            "batch_size": 1000,
            "tol": 1e-3,
            "client": cl,
        }
        disk = od.allocate(tmp_path / "cand.parquet", storage="disk", progress=progress, **kw)
        mem = od.allocate(tmp_path / "cand.parquet", **kw)
        _assert_identical(mem, disk)
    assert len(seen) == 1 and len(seen[0]) == 1  # one run directory while it ran
    assert list((tmp_path / "tmp").glob("onetoone-alloc-*")) == []


class _Stop(Exception):
    pass


def test_files_are_removed_when_allocate_fails(client: Client, tmp_path: Path) -> None:
    p = random_problem(1200, 4, random_state=5)
    cand = _candidates(p)
    frame = dd.from_pandas(cand, npartitions=3, sort=False)
    kw: dict[str, Any] = {
        "n_offers": 4,
        "budgets": [Budget("total", float(p.budget_limit[0]))],
        "storage": "disk",
        "storage_dir": tmp_path,
        "batch_size": 500,
        "client": client,
    }
    counts: list[int] = []

    def stop(line: str) -> None:  # fails after the blocks are written
        if "sweep 1" in line:
            counts.append(len(list(tmp_path.rglob("*.arrow"))))
            raise _Stop(line)

    with pytest.raises(_Stop):
        od.allocate(frame, progress=stop, **kw)
    assert counts and counts[0] >= 2 * 3  # candidate and row files of 3 partitions
    assert _leftovers(tmp_path) == []
    # one partition refused while the others are written
    bad = pd.concat([cand, cand.iloc[-1:]], ignore_index=True)
    with pytest.raises(ValidationError, match="listed twice"):
        od.allocate(dd.from_pandas(bad, npartitions=3, sort=False), **kw)
    assert _leftovers(tmp_path) == []


def test_bad_storage_arguments(client: Client, tmp_path: Path) -> None:
    frame = dd.from_pandas(_candidates(random_problem(100, 3, random_state=1)), npartitions=1)
    kw: dict[str, Any] = {"n_offers": 3, "budgets": [Budget("t", 5.0)], "client": client}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"storage": "tape"}, "storage", "'memory' or 'disk'"),
        ({"storage": None}, "storage", "'memory' or 'disk'"),
        ({"storage_dir": tmp_path}, "storage_dir", "pass storage='disk'"),
        ({"batch_size": 0}, "batch_size", "int >= 1"),
        ({"batch_size": 2.5}, "batch_size", "int >= 1"),
        ({"batch_size": True}, "batch_size", "int >= 1"),
        ({"storage": "disk", "storage_dir": 3}, "storage_dir", "directory path"),
        ({"storage": "disk", "storage_dir": ""}, "storage_dir", "directory path"),
    ]
    for extra, field, match in cases:
        with pytest.raises(ValidationError, match=match) as err:
            od.allocate(frame, **kw, **extra)
        assert err.value.field == field, extra
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValidationError, match=r"2 worker\(s\) cannot write") as err:
        od.allocate(frame, storage="disk", storage_dir=afile / "sub", **kw)
    assert err.value.field == "storage_dir" and "afile" in str(err.value)
    assert afile.read_text() == "x" and _leftovers(tmp_path) == ["afile"]
