"""Benchmark: ingestion + profiles from an Arrow table against polars and DuckDB.

Issue 18, part 1 (one machine). The question a user asks: starting from the
same Arrow table of transaction lines, is ``Transactions.from_arrow`` followed
by ``build_profiles`` at least as fast as the per-customer group-by they would
otherwise write in polars or DuckDB?

Data
    The dunnhumby Complete Journey ``transactions`` table as read from its
    Parquet file (1,469,307 lines; 1,460,438 after the 8,869 zero-quantity
    lines are dropped) and a copy replicated ``--times`` (default 10) times
    with disjoint customers and baskets: copy ``k`` adds ``k * 10**7`` to
    ``household_id`` and ``k * 10**12`` to ``basket_id`` (both stay int64 and
    sparse, as real ids are); products, times and amounts are repeated as they
    are. The replication is done once in Arrow, outside every timing.
Work compared
    onetoone: ``Transactions.from_arrow`` (every validation, ids factorised,
    rows ordered by (customer, basket time, basket), the ingestion report) +
    ``build_profiles`` (15 features). polars and DuckDB: the eight basic
    per-household features -- distinct baskets, spend, first and last
    purchase, units, distinct products, discounts (sum of the three discount
    columns), lines -- over lines with ``quantity != 0`` (the lines onetoone
    keeps), starting from the same ``pyarrow.Table`` (polars: ``pl.from_arrow``
    inside the timing; DuckDB: the table scanned in place by a SQL query whose
    result is fetched as Arrow). All three give the same numbers (checked
    below before timing).
Method
    In one process, the engines alternate: one warm-up each, then ``--runs``
    timed rounds, the order rotated by one engine each round (so no engine
    always follows the same one and inherits the memory it freed or the
    threads it left running); per round the ratio engine / onetoone is
    computed; ``build_profiles`` alone is timed too, on a log ingested outside
    the timing (not as the difference of two timings); the
    report gives the median wall times and the median ratio (with min-max), so
    load from other processes on a shared machine hits both sides of a ratio.
    ``ratio >= 1`` means onetoone end to end is at least as fast as the engine.
    The CPU time of each engine (``time.process_time``, every thread) is
    reported too: all three use every core (onetoone through ``num_threads=0``,
    the default), and on a loaded machine CPU time is the steadier measure of
    the work done.
    Peak extra memory: each engine runs alone in a fresh subprocess that reads
    the table from an Arrow IPC file, resets the kernel's high-water mark
    (``/proc/self/clear_refs``), runs once warm and once measured, and reports
    ``VmHWM - VmRSS`` before the measured run (numpy, Arrow and the engines'
    own allocators all count); it is compared with the bytes of the input
    columns the work reads.

Run: ``python benchmarks/scale.py [--quick] [--runs N] [--times K] [--no-memory] [--stages]``
(``--stages``: where onetoone's time goes, stage by stage, with all cores and one thread).

Measured (session 5, 2 cores, load 0.7 at start, 1.7 at the end; ratios are the other
engine's time over onetoone's, median of per-round ratios):

==========================  ===================  ================  ====================
data                        vs polars wall/CPU   vs DuckDB         peak extra / input
==========================  ===================  ================  ====================
Complete Journey            0.75 (0.71-0.83) /   1.50 / 1.51       1.31x (polars 0.17x,
                            0.88                                   DuckDB 0.64x)
Complete Journey x10        0.74 (0.68-0.75) /   1.15 / 1.22       1.33x (polars 0.01x,
                            0.79                                   DuckDB 0.49x)
==========================  ===================  ================  ====================

Before this session: 0.55 / 0.51 vs polars, 0.93 / 0.81 vs DuckDB, 1.46x / 1.56x memory.
Where the time goes (``--stages``, ms, all cores / one thread): Complete Journey: read
columns 4.6 / 4.9, validate and drop 20.1 / 17.8, code ids 27.0 / 21.7, order and place
79.8 / 154.7, profiles 34.8 / 51.3; x10: 62 / 54, 297 / 201, 452 / 269, 985 / 1,517,
421 / 538. The threads pay in placing the rows (block copies of runs by blocks of baskets)
and in the profiles' distinct-item count; the stages before them run on one thread beside
the item hashing and get slower with it (the two share the memory bus). Process time of
an x10 ingestion: user 1.3-1.5 s, system 0.25-0.5 s -- the kernel's page faults on about
1.4 GB of fresh arrays, of which 0.64 GB is the reordered log itself, which polars never
writes (it keeps per-customer aggregates only). The target (>= 1.0 vs polars) is not met.
On this VM an x10 end-to-end run varies from 1.4 to 2.4 s from one run to the next (the
same code, alternating processes), with the kernel's page-fault time; hence medians of
per-round ratios. Tried and dropped for want of a measurable gain in an A/B of alternating
processes: scanning the validation reductions, the time conversion and the run boundaries in
two halves on two threads.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line

from onetoone import Transactions, build_profiles

AS_OF = "2018-01-02"
COLUMNS = [
    "household_id",
    "basket_id",
    "product_id",
    "quantity",
    "sales_value",
    "retail_disc",
    "coupon_disc",
    "coupon_match_disc",
    "transaction_timestamp",
]
DISCOUNTS = ["retail_disc", "coupon_disc", "coupon_match_disc"]


# =========================================================================== data
def cj_table() -> pa.Table:
    """The Complete Journey transactions table, the columns the work reads."""
    import pyarrow.parquet as pq

    from onetoone.datasets import _read_table

    return _read_table(pq, "transactions").select(COLUMNS).combine_chunks()


def replicate(tbl: pa.Table, times: int) -> pa.Table:
    """``times`` copies with disjoint households (+k*10**7) and baskets (+k*10**12)."""
    if times <= 1:
        return tbl
    parts = []
    for k in range(times):  # a loop over copies, outside any timing
        t = tbl.set_column(
            0, "household_id", pc.add(tbl.column("household_id"), pa.scalar(k * 10**7))
        )
        t = t.set_column(1, "basket_id", pc.add(t.column("basket_id"), pa.scalar(k * 10**12)))
        parts.append(t)
    return pa.concat_tables(parts).combine_chunks()


def input_bytes(tbl: pa.Table) -> int:
    return int(sum(tbl.column(c).nbytes for c in COLUMNS))


# =========================================================================== engines
def run_onetoone(tbl: pa.Table) -> Any:
    tx = Transactions.from_arrow(
        tbl,
        customer="household_id",
        item="product_id",
        basket="basket_id",
        timestamp="transaction_timestamp",
        value="sales_value",
        quantity="quantity",
        discount=DISCOUNTS,
    )
    return build_profiles(tx, as_of=AS_OF)


def run_ingest(tbl: pa.Table, **options: Any) -> Any:
    return Transactions.from_arrow(
        tbl,
        customer="household_id",
        item="product_id",
        basket="basket_id",
        timestamp="transaction_timestamp",
        value="sales_value",
        quantity="quantity",
        discount=DISCOUNTS,
        **options,
    )


def run_polars(tbl: pa.Table) -> Any:
    import polars as pl

    return (
        pl.from_arrow(tbl)
        .lazy()
        .filter(pl.col("quantity") != 0)
        .group_by("household_id")
        .agg(
            pl.col("basket_id").n_unique().alias("baskets"),
            pl.col("sales_value").sum().alias("spend"),
            pl.col("transaction_timestamp").min().alias("first"),
            pl.col("transaction_timestamp").max().alias("last"),
            pl.col("quantity").sum().alias("units"),
            pl.col("product_id").n_unique().alias("products"),
            (pl.col("retail_disc") + pl.col("coupon_disc") + pl.col("coupon_match_disc"))
            .sum()
            .alias("discount"),
            pl.len().alias("lines"),
        )
        .collect()
    )


_DUCKDB_SQL = """
SELECT household_id,
       count(DISTINCT basket_id) AS baskets,
       sum(sales_value) AS spend,
       min(transaction_timestamp) AS first,
       max(transaction_timestamp) AS last,
       sum(quantity) AS units,
       count(DISTINCT product_id) AS products,
       sum(retail_disc + coupon_disc + coupon_match_disc) AS discount,
       count(*) AS lines
FROM tbl WHERE quantity <> 0 GROUP BY household_id
"""


def run_duckdb(tbl: pa.Table) -> Any:
    import duckdb

    con = duckdb.connect()
    con.register("tbl", tbl)
    out = con.sql(_DUCKDB_SQL).to_arrow_table()
    con.close()
    return out


ENGINES: dict[str, Callable[[pa.Table], Any]] = {
    "onetoone": run_onetoone,
    "ingest": run_ingest,
    "polars": run_polars,
    "duckdb": run_duckdb,
}


def check_same(tbl: pa.Table) -> None:
    """The three engines agree on the shared features (exact counts, sums to 1e-9)."""
    tx = run_ingest(tbl)
    p = build_profiles(tx, as_of=AS_OF)
    ids = np.asarray(p.customers.values)
    disc = np.bincount(tx.customer, weights=tx.discount, minlength=tx.n_customers)
    for name, res in (("polars", run_polars(tbl).to_arrow()), ("duckdb", run_duckdb(tbl))):
        order = np.argsort(np.asarray(res.column("household_id")))
        col = {c: np.asarray(res.column(c).to_numpy())[order] for c in res.column_names}
        assert np.array_equal(col["household_id"], ids), name
        for ours, theirs in (
            (p.frequency, "baskets"),
            (p.n_lines, "lines"),
            (p.distinct_items, "products"),
            (p.units, "units"),
        ):
            assert np.array_equal(ours, col[theirs].astype(np.float64)), (name, theirs)
        np.testing.assert_allclose(p.monetary, col["spend"], rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(disc, col["discount"], rtol=1e-9, atol=1e-9, err_msg=name)
        first = col["first"].astype("datetime64[s]")
        assert np.array_equal(p.first_purchase, first), name
        assert np.array_equal(p.last_purchase, col["last"].astype("datetime64[s]")), name


# =========================================================================== timing
def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall time and CPU time (all threads of this process) of ``fn()``."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def time_side_by_side(tbl: pa.Table, runs: int) -> dict[str, Any]:
    names = ["onetoone", "ingest", "profiles", "polars", "duckdb"]
    tx = run_ingest(tbl)  # the log "profiles" reads, built outside every timing
    work: dict[str, Callable[[], Any]] = {n: (lambda n=n: ENGINES[n](tbl)) for n in names}
    work["profiles"] = lambda: build_profiles(tx, as_of=AS_OF)
    for n in names:
        work[n]()  # warm-up
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(runs):
        # the order rotates by one engine per round, so no engine always runs right
        # after the same other one (memory it freed, threads it left spinning)
        for n in names[r % len(names) :] + names[: r % len(names)]:
            wall, used = timed(work[n])
            times[n].append(wall)
            cpu[n].append(used)
    out: dict[str, Any] = {n: statistics.median(v) for n, v in times.items()}
    for ref in ("polars", "duckdb"):
        r = [b / a for a, b in zip(times["onetoone"], times[ref], strict=True)]
        out[f"ratio_{ref}"] = (statistics.median(r), min(r), max(r))
        c = [b / a for a, b in zip(cpu["onetoone"], cpu[ref], strict=True)]
        out[f"cpu_ratio_{ref}"] = statistics.median(c)
    out["cpu"] = {n: statistics.median(v) for n, v in cpu.items()}
    out["rounds"] = {"wall": times, "cpu": cpu}
    out["profiles_only"] = out["profiles"]
    return out


# =========================================================================== memory
def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _child(engine: str, path: str) -> None:
    with pa.memory_map(path) as src:
        tbl = pa.ipc.open_file(src).read_all()
    tbl = tbl.combine_chunks()  # a private copy, resident before the baseline
    ENGINES[engine](tbl)  # warm-up: imports, thread pools, allocator arenas
    gc.collect()
    base = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    out = ENGINES[engine](tbl)
    peak = _status("VmHWM")
    del out
    print(json.dumps({"engine": engine, "extra": peak - base, "hwm_reset": reset}))


def peak_extra(engine: str, path: str) -> int:
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, __file__, "--child", engine, path],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    line = res.stdout.strip().splitlines()[-1]
    d = json.loads(line)
    if not d["hwm_reset"]:
        return -1
    return int(d["extra"])


def memory(tbl: pa.Table) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, tbl.schema) as w:
            w.write_table(tbl)
        return {n: peak_extra(n, path) for n in ("onetoone", "polars", "duckdb")}


# =========================================================================== report
def one(label: str, tbl: pa.Table, runs: int, with_memory: bool) -> dict[str, Any]:
    check_same(tbl)
    r = time_side_by_side(tbl, runs)
    r["label"] = label
    r["rows"] = tbl.num_rows
    r["input_mb"] = input_bytes(tbl) / 1e6
    if with_memory:
        r["mem"] = memory(tbl)
    return r


def print_report(results: list[dict[str, Any]]) -> None:
    print(flush=True)
    print(
        f"{'data':<22}{'lines':>12}{'ingest':>8}{'profiles':>9}{'e2e':>7}{'polars':>8}"
        f"{'duckdb':>8}{'vs polars':>18}{'vs duckdb':>18}"
    )
    for r in results:
        rp, rd = r["ratio_polars"], r["ratio_duckdb"]
        print(
            f"{r['label']:<22}{r['rows']:>12,}{r['ingest']:>8.3f}{r['profiles_only']:>9.3f}"
            f"{r['onetoone']:>7.3f}{r['polars']:>8.3f}{r['duckdb']:>8.3f}"
            f"{rp[0]:>7.2f} ({rp[1]:.2f}-{rp[2]:.2f}){rd[0]:>7.2f} ({rd[1]:.2f}-{rd[2]:.2f})"
        )
    print(
        f"\n{'CPU time (all threads)':<22}{'ingest':>8}{'prof.':>7}{'e2e':>7}{'polars':>8}"
        f"{'duckdb':>8}{'vs polars':>11}{'vs duckdb':>11}"
    )
    for r in results:
        c = r["cpu"]
        print(
            f"{r['label']:<22}{c['ingest']:>8.3f}{c['profiles']:>7.3f}{c['onetoone']:>7.3f}{c['polars']:>8.3f}"
            f"{c['duckdb']:>8.3f}{r['cpu_ratio_polars']:>11.2f}{r['cpu_ratio_duckdb']:>11.2f}"
        )
    print("\nper round, polars / onetoone e2e (wall, CPU):")
    for r in results:
        w, c = r["rounds"]["wall"], r["rounds"]["cpu"]
        pairs = zip(w["onetoone"], w["polars"], c["onetoone"], c["polars"], strict=True)
        per = "  ".join(f"{pw / ow:.2f}/{pc / oc:.2f}" for ow, pw, oc, pc in pairs)
        print(f"{r['label']:<22}{per}")
    if any("mem" in r for r in results):
        print(f"\n{'data':<22}{'input MB':>10}{'peak extra MB / x input':>36}")
        for r in results:
            if "mem" not in r:
                continue
            inp = r["input_mb"] * 1e6
            parts = "  ".join(f"{n} {v / 1e6:.0f} ({v / inp:.2f}x)" for n, v in r["mem"].items())
            print(f"{r['label']:<22}{r['input_mb']:>10.0f}  {parts}")
    print(
        "\ntimes in s, medians; ingest = Transactions.from_arrow, profiles = build_profiles "
        "(timed alone), e2e = both; engine order rotated each round; vs X = X's time / "
        "onetoone e2e time, median of per-round ratios (min-max); >= 1 means onetoone end "
        "to end is at least as fast. CPU time counts "
        "every thread of the process (all three engines run on all cores): on a loaded "
        "machine it is the steadier measure of the work done",
        flush=True,
    )


STAGES = (
    "read columns",
    "validate, drop",
    "code ids",
    "order + place",
    "result",
    "profiles",
)


def stage_times(tbl: pa.Table, num_threads: int) -> tuple[list[float], float]:
    """Wall time of each ingestion stage (from the progress callback) and of the profiles."""
    marks: list[float] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    tx = run_ingest(
        tbl,
        num_threads=num_threads,
        progress=lambda done, total: marks.append(time.perf_counter()),
    )
    t1 = time.perf_counter()
    build_profiles(tx, as_of=AS_OF, num_threads=num_threads)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    steps = [b - a for a, b in zip([t0, *marks[:-1]], marks, strict=True)]
    steps[-1] += t1 - marks[-1]
    return [*steps, t2 - t1], cpu


def print_stages(name: str, tbl: pa.Table, runs: int) -> None:
    """Where onetoone's end-to-end time goes: medians over ``runs`` per thread count."""
    print(f"\nwhere the time goes, {name} (ms, median of {runs}; stages of from_arrow, then")
    print("build_profiles; 'all cores' vs one thread; CPU = process time, every thread)")
    cols = {}
    for threads in (0, 1):
        stage_times(tbl, threads)  # warm-up
        rounds = [stage_times(tbl, threads) for _ in range(runs)]
        per = [statistics.median(r[0][i] for r in rounds) for i in range(len(STAGES))]
        cols[threads] = (per, statistics.median(r[1] for r in rounds))
    print(f"{'stage':<18}{'all cores':>11}{'1 thread':>11}")
    for i, stage in enumerate(STAGES):
        print(f"{stage:<18}{cols[0][0][i] * 1e3:>11.1f}{cols[1][0][i] * 1e3:>11.1f}")
    print(f"{'total wall':<18}{sum(cols[0][0]) * 1e3:>11.1f}{sum(cols[1][0]) * 1e3:>11.1f}")
    print(f"{'total CPU':<18}{cols[0][1] * 1e3:>11.1f}{cols[1][1] * 1e3:>11.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Complete Journey only, 3 runs")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--times", type=int, default=10, help="replication factor")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    ap.add_argument(
        "--stages", action="store_true", help="also where onetoone's time goes, stage by stage"
    )
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    runs = 3 if args.quick else args.runs
    import duckdb
    import polars as pl

    print(
        machine_line(("numpy", "pyarrow")) + f", polars {pl.__version__}, duckdb "
        f"{duckdb.__version__}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    cj = cj_table()
    results = [one("complete journey", cj, runs, not args.no_memory)]
    print_report(results)
    if not args.quick:
        big = replicate(cj, args.times)
        results.append(
            one(f"complete journey x{args.times}", big, max(3, runs // 2), not args.no_memory)
        )
    if len(results) > 1:
        print_report(results)
    if args.stages:
        tables = [("complete journey", cj)]
        if not args.quick:
            tables.append((f"complete journey x{args.times}", big))
        for name, tbl in tables:
            print_stages(name, tbl, runs)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


# =========================================================================== Dask
# Issue 18, part 2 (beyond one machine) goes here: ingestion + profiles on a Dask
# LocalCluster with 1 and 2 workers from partitioned Parquet (throughput, memory per
# worker), identity with the one-machine result, and the allocation's communication
# per iteration. Keep the one-machine part above unchanged so its figures stay
# comparable across runs.


if __name__ == "__main__":
    raise SystemExit(main())
