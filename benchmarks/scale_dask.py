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
   partitions), one chunk of 2**20 lines at a time: the log is never in one process's
   memory. Progress every 5 % of the files.
2. Profiles: ``onetoone.distributed.build_profiles(path, partitioned=True)`` on a fresh
   LocalCluster of real worker processes, each limited to ``--memory`` (Dask spills a
   worker's data to its disk above 60 %, pauses it at 80 % and restarts it at 95 %), once
   per count in ``--workers`` (e.g. 2 then 1); throughput in lines per second. After
   the first, the profiles are written to Parquet for step 4.
3. ``--compare FILES``: the customers of the first FILES profile files are allocated
   twice, ``storage="memory"`` and ``storage="disk"``, each on a fresh cluster; the run
   stops unless the bound, the plan, the prices and the chosen pairs are identical.
4. Allocation on a fresh cluster of ``--alloc-workers`` workers: ``--offers`` candidate
   offers per customer (value from the customer's spend times a random affinity, cost
   uniform), generated on the workers from the profile files (one partition per file), one
   budget at 10 % of the total cost and a cap on every offer (60 % of the customers shared
   evenly, so the caps bind); ``onetoone.distributed.allocate(storage=--storage,
   batch_size=--batch-size)``. Reported: sweeps, dual evaluations, round trips
   (``client.gather`` calls during the allocation), gap, bytes of the blocks, bytes per
   partition per evaluation, elapsed time; progress lines timed from the start.

For every stage: each worker's peak resident memory (``ru_maxrss`` of the worker process,
read with ``client.run``; a fresh cluster per stage, so the peak is the stage's) against
the limit, and what Dask did: pauses and "unmanaged memory is high" warnings (counted in
the worker logs), restarts (nanny logs, and worker processes that were not there at the
start) and data spilled to Dask's own disk (count and bytes, the workers' spill metrics).
The data go to ``--dir`` (reused if there) and are deleted at the end unless ``--keep``.

Nothing is compared with one machine here (the identity is asserted by
tests/dask_cluster, including a binding-cap case above the sample size); the figures are
throughput and memory.

Measured (issue 18, 2 shared cores, 24 GiB, another session's jobs running: load average
4 to 6), the issue's out-of-core case, 18 minutes end to end::

    python benchmarks/scale_dask.py --lines 200_000_000 --partitions 200 --memory 2GiB \
        --workers 2 1 --offers 16 --storage disk --batch-size 262144 --compare 8 \
        --dir /tmp/onetoone-scale200

- log: 200 M lines, 10 M customers, 200 files, written in 79 s; 2.35 GiB Parquet, 5.96 GiB
  as Arrow columns (3.0x one worker's 2 GiB, 1.5x two workers').
- profiles, 2 workers: 173 s, 1.16 M lines/s, peak RSS 1,218 / 1,388 MiB (59 / 68 % of the
  limit), no pause or restart, Dask spilled 871 MiB of profiles; 1 worker: 280 s, 0.72 M
  lines/s, peak RSS 1,466 MiB (72 %), no pause or restart, Dask spilled 5.7 GiB over the
  run (the 10 M profiles, 1.45 GB, are kept by build_profiles).
- compare, 6.4 M pairs: memory and disk identical; 15.2 s in memory, 18.3 s on disk.
- allocation, 160 M pairs (16 offers per customer), 2 workers, blocks 4.92 GiB on disk:
  427 s (layout 114 s, partitioning check 36 s, sample prices 12 s, one sweep 225 s,
  exact bound and plan 39 s), 1 sweep, 3 dual evaluations, 17 round trips, gap 4.3e-5,
  712 bytes per partition per evaluation, 6.0 M pairs chosen; peak RSS 574 / 579 MiB
  (28 % of the limit), no pause, spill or restart.
- again with ``--workers 2`` and no ``--compare`` on a quieter machine (load 2 to 4):
  profiles 143 s (1.40 M lines/s, peak RSS 1,425 / 1,247 MiB); allocation 194 s (layout
  56 s, check 22 s, sample 6 s, sweep 89 s, bound and plan 21 s), the same answer, peak RSS
  577 / 564 MiB, the same after the layout.

Memory against the number of pairs (``--lines 40_000_000 --partitions 100 --memory 2GiB``,
2 M customers, then ``--workers`` with no count to reuse the profiles): 8, 32 and 64 M
pairs on disk, peak RSS per worker 301-305, 326-330 and 337-342 MiB; 32 M pairs in memory
913-966 MiB. See docs/scale.md.

Earlier (40 M lines, ``--partitions 100 --memory 512MiB --workers 2 --tol 1e-3``, blocks
in memory): 16 M pairs, the caps binding, converged in 60 s: 1 sweep, 3 dual evaluations,
17 round trips, gap 1.4e-4, peak RSS 423 / 446 MiB per worker.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line

T0 = time.perf_counter()


def say(line: str) -> None:
    """Progress, with the time since the script started."""
    print(f"[{time.perf_counter() - T0:8.1f} s] {line}", flush=True)


def write_log(
    path: Path, lines: int, partitions: int, chunk: int = 1 << 20, seed: int = 0
) -> tuple[int, int, int]:
    """Write the log as ``partitions`` Parquet files, each in chunks of ``chunk`` lines.

    Returns (customers, bytes on disk, bytes as Arrow columns). No more than one
    chunk is ever in memory.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.mkdir(parents=True, exist_ok=True)
    n_customers = max(lines // 20, 1)
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    size = arrow = written = 0
    schema = pa.schema(
        [("customer", pa.int64()), ("item", pa.int64()), ("timestamp", pa.timestamp("s")),
         ("value", pa.float64())]
    )  # fmt: skip
    started = time.perf_counter()
    for i in range(partitions):
        # customers of this file: ids = i, i + partitions, i + 2 partitions, ...
        n_here = len(range(i, n_customers, partitions))
        per_part = lines // partitions + (1 if i < lines % partitions else 0)
        f = path / f"part-{i:05d}.parquet"
        with pq.ParquetWriter(f, schema) as writer:
            for a in range(0, per_part, chunk):
                m = min(chunk, per_part - a)
                local = rng.integers(0, n_here, m)
                cust = i + partitions * local.astype(np.int64)
                item = np.minimum(rng.zipf(1.3, m), 50_000).astype(np.int64)
                ts = (t0 + rng.integers(0, 365 * 86400, m)).astype("datetime64[s]")
                value = np.round(rng.gamma(2.0, 2.5, m), 2)
                table = pa.table(
                    {"customer": cust, "item": item, "timestamp": ts, "value": value},
                    schema=schema,
                )
                writer.write_table(table, row_group_size=chunk)
                arrow += table.nbytes
                written += m
        size += f.stat().st_size
        if (i + 1) % max(partitions // 20, 1) == 0 or i + 1 == partitions:
            dt = time.perf_counter() - started
            say(
                f"log: {i + 1}/{partitions} files, {written:,} lines, "
                f"{size / 2**30:.2f} GiB on disk ({written / dt / 1e6:.2f} M lines/s)"
            )
    return n_customers, size, arrow


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ------------------------------------------------------------- what the workers did
def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _spilled(dask_worker: Any) -> tuple[int, int]:
    """(count, bytes) Dask spilled to its disk on this worker (its SpillBuffer's metrics)."""
    m = getattr(dask_worker.data, "cumulative_metrics", {})
    return int(m.get(("disk-write", "count"), 0)), int(m.get(("disk-write", "bytes"), 0))


def _pid() -> int:
    return os.getpid()


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ``clear_refs``: VmHWM starts again)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _hwm_mib() -> float:
    """Peak RSS since the last reset (VmHWM), MiB."""
    return _status_mib("VmHWM")


def _rss_mib() -> float:
    """RSS now (VmRSS), MiB."""
    return _status_mib("VmRSS")


class Watch:
    """Peak RSS, pauses, spills and restarts of a LocalCluster's workers during a stage."""

    PATTERNS: ClassVar[dict[str, str]] = {
        "pauses": "Pausing worker",
        "unmanaged-high": "Unmanaged memory use is high",
        "restarts": "memory budget. Restarting",
    }

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pids = set(client.run(_pid).values())
        self.before = self._counts()
        self.rss0 = client.run(_rss_mib)

    def _counts(self) -> dict[str, int]:
        cl = self.client
        logs = [m for w in cl.get_worker_logs().values() for _, m in w]
        logs += [m for w in cl.get_worker_logs(nanny=True).values() for _, m in w]
        return {k: sum(p in m for m in logs) for k, p in self.PATTERNS.items()}

    def report(self, limit: int) -> str:
        cl = self.client
        peaks = cl.run(_peak_rss_mib)
        spills = cl.run(_spilled)
        counts = {k: v - self.before[k] for k, v in self._counts().items()}
        new = set(cl.run(_pid).values()) - self.pids
        counts["new worker processes"] = len(new)
        n_sp = sum(c for c, _ in spills.values())
        b_sp = sum(b for _, b in spills.values())
        mib = limit / 2**20
        return (
            "RSS per worker at the start "
            + ", ".join(f"{v:,.0f} MiB" for v in self.rss0.values())
            + "; peak RSS per worker "
            + ", ".join(f"{v:,.0f} MiB ({v / mib:.0%} of the limit)" for v in peaks.values())
            + "; Dask "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f", spilled {n_sp} keys / {b_sp / 2**20:,.0f} MiB"
        )


def cluster(workers: int, memory: str) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory,
        dashboard_address=":0",
    )


def counting(client: Any) -> list[int]:
    """Count ``client.gather`` calls (one gather = one round trip to every partition)."""
    trips = [0]
    gather = client.gather

    def counted(*a: Any, **k: Any) -> Any:
        trips[0] += 1
        return gather(*a, **k)

    client.gather = counted
    return trips


# ----------------------------------------------------------------------- candidates
def _candidates(part: Any, offers: int, seed: int) -> Any:
    """Candidate pairs of one profile partition (runs on a worker)."""
    import pandas as pd

    cust_ids = part["customer"].to_numpy()
    # a seed per partition, from its first customer: the same pairs in every run
    rng = np.random.default_rng([seed, int(cust_ids[0]) if len(cust_ids) else 0])
    n = len(part)
    cust = np.repeat(cust_ids, offers)
    spend = np.repeat(np.nan_to_num(part["monetary"].to_numpy()), offers)
    return pd.DataFrame(
        {
            "customer": cust,
            "offer": np.tile(np.arange(offers, dtype=np.int64), n),
            "value": 0.01 * spend * rng.lognormal(0.0, 1.0, n * offers) + 1e-3,
            "cost": rng.uniform(0.5, 2.0, n * offers),
        }
    )


def _read_profiles(path: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["customer", "monetary"]).to_pandas()


def candidate_frame(profiles: Path, offers: int, files: int | None = None) -> Any:
    """The candidates of the profiles' customers: one partition per profile file (not
    ``read_parquet``, which may fuse files into larger partitions)."""
    import dask.dataframe as dd

    paths = sorted(str(p) for p in profiles.glob("*.parquet"))
    frame = dd.from_map(
        _read_profiles, paths[:files] if files else paths, meta={"customer": "i8", "monetary": "f8"}
    )
    return frame.map_partitions(
        _candidates, offers, 0, meta={"customer": "i8", "offer": "i8", "value": "f8", "cost": "f8"}
    )


def run_allocation(
    client: Any,
    cand: Any,
    n_customers: int,
    args: argparse.Namespace,
    storage: str,
    progress: Callable[[str], None],
) -> tuple[Any, float, int]:
    from onetoone import distributed as od
    from onetoone.allocation import Budget

    total_cost = float(cand["cost"].sum().compute())
    offers = args.offers
    cap = np.full(offers, 0.6 * n_customers / offers)  # binds on the popular offers
    reset = [False]

    def watch_steps(line: str) -> None:
        # once the blocks are laid out: the workers' peak RSS starts again, to measure the
        # memory of the steps apart from the layout's
        if "candidate pairs in" in line and not reset[0]:
            reset[0] = all(client.run(_reset_peak).values())
        progress(line)

    trips = counting(client)
    t0 = time.perf_counter()
    kw: dict[str, Any] = {}
    if storage == "disk" and args.storage_dir:
        kw["storage_dir"] = args.storage_dir
    try:
        res = od.allocate(
            cand,
            n_offers=offers,
            budgets=[Budget("total", 0.10 * total_cost)],
            cap=cap,
            partitioned=True,
            tol=args.tol,
            max_iter=args.max_iter,
            storage=storage,
            batch_size=args.batch_size,
            client=client,
            progress=watch_steps,
            **kw,
        )
    finally:
        del client.gather  # the instance attribute: back to the method
    dt = time.perf_counter() - t0
    if reset[0]:
        steps = client.run(_hwm_mib)
        progress(
            "peak RSS per worker after the layout (the steps, the plan's pairs held): "
            + ", ".join(f"{v:,.0f} MiB" for v in steps.values())
        )
    return res, dt, trips[0]


def describe(res: Any, dt: float, trips: int) -> str:
    return (
        f"{dt:.1f} s, {res.sweeps} sweeps, {res.iterations} dual evaluations, {trips} round "
        f"trips, gap {res.gap:.2e} ({res.message}), bound {res.bound:.7g}, plan "
        f"{res.objective:.7g}, {res.n_chosen:,} pairs chosen; blocks "
        f"{res.block_bytes / 2**30:.2f} GiB ({res.storage}); "
        f"{res.bytes_per_partition_iteration} bytes per partition per evaluation "
        f"({res.npartitions} partitions)"
    )


# ------------------------------------------------------------------------------ run
def run(args: argparse.Namespace) -> None:
    import dask
    from distributed import Client

    from onetoone import distributed as od

    print(machine_line(("numpy", "pyarrow", "pandas", "dask", "distributed")), flush=True)
    say(f"arguments: {vars(args)}")
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="onetoone-scale-"))
    log = root / "log"
    t = time.perf_counter()
    if log.exists():
        n_customers = max(args.lines // 20, 1)
        size, arrow = _dir_bytes(log), args.lines * 32
        how = "(reused)"
    else:
        n_customers, size, arrow = write_log(log, args.lines, args.partitions)
        how = f"(written in {time.perf_counter() - t:.1f} s)"
    say(
        f"log: {args.lines:,} lines, {n_customers:,} customers, {args.partitions} files, "
        f"{size / 2**30:.2f} GiB Parquet, {arrow / 2**30:.2f} GiB as Arrow columns {how}"
    )
    mem = dask.utils.parse_bytes(args.memory)
    say(
        f"workers: {args.memory} each; the log's columns are {arrow / mem:.1f}x one worker's "
        f"memory and {arrow / (2 * mem):.1f}x two workers'"
    )
    profiles = root / "profiles"
    for workers in args.workers:
        with cluster(workers, args.memory) as lc, Client(lc) as client:
            client.run(lambda: __import__("onetoone.distributed"))  # imports: not timed
            watch = Watch(client)
            t0 = time.perf_counter()
            prof = od.build_profiles(
                log, as_of="2025-01-01", partitioned=True, client=client, progress=say
            )
            dt = time.perf_counter() - t0
            say(
                f"PROFILES, {workers} worker(s): {dt:.1f} s, {args.lines / dt / 1e6:.3f} M "
                f"lines/s, {prof.n_customers:,} customers, {prof.npartitions} partitions, "
                f"dropped {dict(prof.dropped)}; " + watch.report(mem)
            )
            if not args.no_allocate and not profiles.exists():
                t0 = time.perf_counter()
                prof.frame.to_parquet(profiles, write_index=False)
                say(
                    f"profiles written to Parquet in {time.perf_counter() - t0:.1f} s "
                    f"({_dir_bytes(profiles) / 2**30:.2f} GiB) for the allocation"
                )
            del prof
    if args.no_allocate:
        return _cleanup(root, args)
    if not profiles.exists():
        raise SystemExit(f"no profiles in {profiles}: profile first (--workers 2)")
    n_profiles = max(args.lines // 20, 1)
    if args.compare:
        # the same candidates (the first files' customers), in memory and on disk, each
        # on a fresh cluster (so that each peak RSS is its own)
        import pyarrow.parquet as pq

        files = sorted(profiles.glob("*.parquet"))[: args.compare]
        n_sub = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        out, pairs = {}, {}
        for storage in ("memory", "disk"):
            with cluster(args.alloc_workers, args.memory) as lc, Client(lc) as client:
                client.run(lambda: __import__("onetoone.distributed"))
                watch = Watch(client)
                cand = candidate_frame(profiles, args.offers, args.compare)
                res, dt, trips = run_allocation(client, cand, n_sub, args, storage, say)
                say(
                    f"COMPARE {storage}: {n_sub * args.offers:,} pairs: "
                    f"{describe(res, dt, trips)}; " + watch.report(mem)
                )
                out[storage] = res
                pairs[storage] = (
                    res.pairs.compute().sort_values(["customer", "offer"]).reset_index(drop=True)
                )
        a, b = out["memory"], out["disk"]
        same = (
            a.objective == b.objective
            and a.bound == b.bound
            and a.lam.tolist() == b.lam.tolist()
            and a.mu.tolist() == b.mu.tolist()
            and a.n_chosen == b.n_chosen
        )
        pa_, pb = pairs["memory"], pairs["disk"]
        same = same and pa_.equals(pb)
        say(f"COMPARE: memory and disk {'IDENTICAL' if same else 'DIFFER'} "
            f"(objective, bound, prices, {len(pa_):,} chosen pairs)")  # fmt: skip
        if not same:
            raise SystemExit("memory and disk differ")
    with cluster(args.alloc_workers, args.memory) as lc, Client(lc) as client:
        client.run(lambda: __import__("onetoone.distributed"))
        watch = Watch(client)
        cand = candidate_frame(profiles, args.offers)
        n_pairs = n_profiles * args.offers
        say(
            f"allocation: {n_pairs:,} candidate pairs ({args.offers} offers per customer), "
            f"about {n_pairs * 34 / 2**30:.1f} GiB as blocks, {args.alloc_workers} workers, "
            f"storage={args.storage}, batch_size={args.batch_size:,}"
        )
        res, dt, trips = run_allocation(client, cand, n_profiles, args, args.storage, say)
        say(f"ALLOCATION: {n_pairs:,} pairs: {describe(res, dt, trips)}; " + watch.report(mem))
    _cleanup(root, args)


def _cleanup(root: Path, args: argparse.Namespace) -> None:
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
        say(f"removed {root}")
    say(f"client peak RSS {_peak_rss_mib():,.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=50_000_000)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--memory", default="512MiB", help="memory limit per worker")
    ap.add_argument("--workers", type=int, nargs="*", default=[2, 1],
                    help="profile with each of these numbers of workers (none: reuse the "
                    "profiles kept in --dir by an earlier run with --keep)")  # fmt: skip
    ap.add_argument("--alloc-workers", type=int, default=2)
    ap.add_argument("--offers", type=int, default=8)
    ap.add_argument("--storage", choices=["memory", "disk"], default="disk")
    ap.add_argument("--storage-dir", default=None, help="allocate(storage_dir=)")
    ap.add_argument("--batch-size", type=int, default=1 << 20)
    ap.add_argument("--compare", type=int, default=0, metavar="FILES",
                    help="first allocate the customers of this many profile files in "
                    "memory and on disk, and check the answers are identical")  # fmt: skip
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--max-iter", type=int, default=10)
    ap.add_argument("--dir", default=None, help="where the data go (reused if there)")
    ap.add_argument("--keep", action="store_true", help="keep the data at the end")
    ap.add_argument("--no-allocate", action="store_true", help="profiles only")
    ap.add_argument("--quick", action="store_true", help="2 M lines, a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.partitions = 2_000_000, 8
    run(args)


if __name__ == "__main__":
    main()
