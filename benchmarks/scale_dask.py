"""Scale past one machine: profiles and the dual allocation on a Dask LocalCluster.

Separate from benchmarks/scale.py (single-machine ingestion). Needs the ``dask`` extra
(``pip install 'onetoone[dask]'``); run it in a venv that has it, e.g.

    python3 -m venv /tmp/dask-venv && /tmp/dask-venv/bin/pip install -e '.[dev]' \\
        'dask[dataframe]' distributed
    /tmp/dask-venv/bin/python benchmarks/scale_dask.py --lines 50_000_000 --memory 512MiB

Method
------
1. A synthetic log of ``--lines`` lines (customer int64, item int64, timestamp, value
   float64; ~20 lines per customer, Zipf-like items) is written as a Parquet dataset of
   ``--partitions`` files, hash-partitioned by customer (file = customer id mod
   partitions), chunk by chunk: the log is never in one process's memory.
2. Profiles: ``onetoone.distributed.build_profiles(path, partitioned=True)`` on a
   LocalCluster of real worker processes, each limited to ``--memory`` (Dask pauses /
   spills a worker above its limit and restarts it at 95 %), once with 1 worker and once
   with 2; throughput in lines per second, and each worker's peak resident memory
   (``ru_maxrss`` of the worker process, read with ``client.run``).
3. Allocation: ``--offers`` candidate offers per customer (value from the customer's
   profile spend times a random affinity, cost uniform) generated per partition on the
   workers, one budget at 10 % of the total cost and a cap on every offer (60 % of the
   customers shared evenly, so the popular offers' caps bind);
   ``onetoone.distributed.allocate`` with 2 workers. Reported: sweeps, dual evaluations,
   round trips (``client.gather`` calls during the allocation), gap, bytes per partition
   per evaluation, elapsed time, peak memory per worker.

Nothing is compared with one machine here (the identity is asserted by
tests/dask_cluster, including a binding-cap case above the sample size); the figures are
throughput and memory.

Measured (issue 18, 2 shared cores, reusing the 40 M-line log: ``--lines 40_000_000
--partitions 100 --memory 512MiB --workers 2 --tol 1e-3``): 16 M pairs, the caps binding,
converged in 60 s (23 s laying out the blocks, 4 s for the sample's starting prices, one
sweep of 29 s): 1 sweep, 3 dual evaluations, 17 round trips, gap 1.4e-4, 584 bytes per
partition per evaluation, peak RSS 423 / 446 MiB per worker. Before the starting prices
the same run was stopped after its first sweep (200 s, gap 0.117). See docs/scale.md.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line


def write_log(path: Path, lines: int, partitions: int, seed: int = 0) -> tuple[int, int]:
    """Write the log as ``partitions`` Parquet files; returns (customers, bytes on disk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.mkdir(parents=True, exist_ok=True)
    n_customers = max(lines // 20, 1)
    per_part = lines // partitions
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    size = 0
    for i in range(partitions):
        # customers of this file: ids = i, i + partitions, i + 2 partitions, ...
        n_here = len(range(i, n_customers, partitions))
        local = rng.integers(0, n_here, per_part)
        cust = i + partitions * local.astype(np.int64)
        item = np.minimum(rng.zipf(1.3, per_part), 50_000).astype(np.int64)
        ts = (t0 + rng.integers(0, 365 * 86400, per_part)).astype("datetime64[s]")
        value = np.round(rng.gamma(2.0, 2.5, per_part), 2)
        table = pa.table({"customer": cust, "item": item, "timestamp": ts, "value": value})
        f = path / f"part-{i:05d}.parquet"
        pq.write_table(table, f, row_group_size=1 << 20)
        size += f.stat().st_size
        if (i + 1) % max(partitions // 10, 1) == 0:
            print(f"  wrote {i + 1}/{partitions} files", flush=True)
    return n_customers, size


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _candidates(part: Any, offers: int, seed: int) -> Any:
    """Candidate pairs of one profile partition (runs on a worker)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = len(part)
    cust = np.repeat(part["customer"].to_numpy(), offers)
    spend = np.repeat(np.nan_to_num(part["monetary"].to_numpy()), offers)
    return pd.DataFrame(
        {
            "customer": cust,
            "offer": np.tile(np.arange(offers, dtype=np.int64), n),
            "value": 0.01 * spend * rng.lognormal(0.0, 1.0, n * offers) + 1e-3,
            "cost": rng.uniform(0.5, 2.0, n * offers),
        }
    )


def run(args: argparse.Namespace) -> None:
    import dask
    from distributed import Client, LocalCluster

    from onetoone import distributed as od
    from onetoone.allocation import Budget

    print(machine_line(("numpy", "pyarrow", "pandas", "dask", "distributed")))
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="onetoone-scale-"))
    log = root / "log"
    t = time.perf_counter()
    reused = log.exists()
    if not reused:
        n_customers, size = write_log(log, args.lines, args.partitions)
    else:
        n_customers = max(args.lines // 20, 1)
        size = sum(f.stat().st_size for f in log.glob("*.parquet"))
    raw = args.lines * 32
    print(
        f"log: {args.lines:,} lines, {n_customers:,} customers, {args.partitions} files, "
        f"{size / 2**20:,.0f} MiB Parquet, {raw / 2**20:,.0f} MiB as Arrow columns "
        + ("(reused)" if reused else f"(written in {time.perf_counter() - t:.1f} s)")
    )
    mem = dask.utils.parse_bytes(args.memory)
    print(
        f"workers: {args.memory} each; the log's columns are {raw / mem:.1f}x one worker's "
        f"memory and {raw / (2 * mem):.1f}x two workers'"
    )

    def progress(line: str) -> None:
        print(f"  [{time.perf_counter() - t0:7.1f} s] {line}", flush=True)

    for workers in args.workers:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=args.memory,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("onetoone.distributed"))  # imports: not timed
            t0 = time.perf_counter()
            prof = od.build_profiles(
                log, as_of="2025-01-01", partitioned=True, client=client, progress=progress
            )
            dt = time.perf_counter() - t0
            peaks = client.run(_peak_rss_mib)
            print(
                f"profiles, {workers} worker(s): {dt:.1f} s, {args.lines / dt / 1e6:.2f} M "
                f"lines/s, {prof.n_customers:,} customers, {prof.npartitions} partitions, "
                f"dropped {dict(prof.dropped)}; peak RSS per worker "
                f"{', '.join(f'{v:,.0f} MiB' for v in peaks.values())}"
            )
            if workers != max(args.workers) or args.no_allocate:  # on the largest cluster
                continue
            cand = prof.frame.map_partitions(
                _candidates,
                args.offers,
                0,
                meta={"customer": "i8", "offer": "i8", "value": "f8", "cost": "f8"},
            )
            total_cost = float(cand["cost"].sum().compute())
            offers = args.offers
            cap = np.full(offers, 0.6 * prof.n_customers / offers)  # binds on popular offers
            trips = [0]
            gather = client.gather

            def counted(*a: Any, trips: list[int] = trips, gather: Any = gather, **k: Any) -> Any:
                trips[0] += 1  # one gather = one round trip to every partition
                return gather(*a, **k)

            client.gather = counted
            t0 = time.perf_counter()
            res = od.allocate(
                cand,
                n_offers=offers,
                budgets=[Budget("total", 0.10 * total_cost)],
                cap=cap,
                partitioned=True,
                tol=args.tol,
                max_iter=args.max_iter,
                client=client,
                progress=progress,
            )
            dt = time.perf_counter() - t0
            client.gather = gather
            peaks = client.run(_peak_rss_mib)
            n_pairs = prof.n_customers * offers
            print(
                f"allocation, {workers} workers: {n_pairs:,} candidate pairs, {dt:.1f} s, "
                f"{res.sweeps} sweeps, {res.iterations} dual evaluations, {trips[0]} round trips "
                f"({dt / max(res.iterations, 1):.2f} s each, primal rounds included), gap "
                f"{res.gap:.2e} ({res.message}), {res.n_chosen:,} pairs chosen; "
                f"{res.bytes_per_partition_iteration} bytes per partition per evaluation "
                f"({res.npartitions} partitions: "
                f"{res.bytes_per_partition_iteration * res.npartitions:,} bytes per "
                f"evaluation); peak RSS per worker "
                f"{', '.join(f'{v:,.0f} MiB' for v in peaks.values())}"
            )
    if not args.keep and not args.dir:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=50_000_000)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--memory", default="512MiB", help="memory limit per worker")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--offers", type=int, default=8)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--dir", default=None, help="reuse / keep the data here")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-allocate", action="store_true", help="profiles only")
    ap.add_argument("--quick", action="store_true", help="2 M lines, a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.partitions = 2_000_000, 8
    run(args)


if __name__ == "__main__":
    main()
