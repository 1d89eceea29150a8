"""Benchmark: budget-constrained allocation, dual method versus HiGHS, side by side.

Instances (``onetoone.allocation.random_problem``, the issue's family):
lognormal(0, 1) values, uniform(0.1, 1) costs, 20 offers, 1 or 3 offers per
customer, one budget at 10 % of the maximum spend, per-offer caps at 0.25 x the
fair share x uniform(0.5, 1.5) (popular offers' caps bind).

For each size the same problem object is solved by
- ``allocate(method="dual")``: median of ``--runs`` runs after one warm-up run,
- ``allocate(method="greedy")``: median of the same number of runs,
- ``lp_bound`` (HiGHS interior point through
  ``scipy.optimize.linprog(method="highs-ipm")``, about 10x faster than the dual
  simplex on these LPs): one run (it is the expensive reference),
- ``allocate(method="exact")`` (HiGHS MILP through ``scipy.optimize.milp``): one
  run, at the small size only.
Quality is the relative gap to the HiGHS LP optimum, ``1 - objective / LP``.
Then the dual alone at 250 k, 500 k and 1 M customers x 20 offers: time (median
of runs), peak traced memory of the solve (``tracemalloc``) and the process' peak
RSS, to show time and memory linear in the number of candidate pairs.

Usage: ``python benchmarks/allocation.py`` (about 8-10 minutes on 2 cores) or
``python benchmarks/allocation.py --quick`` (seconds).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy

from onetoone.allocation import allocate, lp_bound, random_problem


def machine() -> str:
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (
        f"machine: nproc={os.cpu_count()} memory={mem} {platform.machine()} "
        f"python={platform.python_version()} numpy={np.__version__} scipy={scipy.__version__} "
        f"OPENBLAS_NUM_THREADS={blas}"
    )


def timed(fn: Callable[[], Any], runs: int, warmup: int) -> tuple[float, Any, list[float]]:
    for _ in range(warmup):
        fn()
    times = []
    out = None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out, times


def compare(n: int, k: int, runs: int, milp: bool, seed: int) -> dict[str, Any]:
    p = random_problem(n, 20, k=k, random_state=seed)
    t_dual, dual, raw_dual = timed(lambda: allocate(p, "dual"), runs, 1)
    t_gr, greedy, _ = timed(lambda: allocate(p, "greedy"), runs, 1)
    t_lp, lp, _ = timed(lambda: lp_bound(p), 1, 0)
    row: dict[str, Any] = {
        "n": n,
        "k": k,
        "pairs": p.n_candidates,
        "lp": lp.value,
        "t_lp": t_lp,
        "dual": dual.objective,
        "dual_bound": dual.bound,
        "t_dual": t_dual,
        "raw_dual": raw_dual,
        "greedy": greedy.objective,
        "t_greedy": t_gr,
        "lam_dual": dual.budget_price[0],
        "lam_lp": lp.budget_price[0],
        "sweeps": dual.iterations,
        "passes": dual.evaluations,
    }
    if milp:
        t_mi, ex, _ = timed(lambda: allocate(p, "exact", mip_rel_gap=1e-6, time_limit=600), 1, 0)
        row.update(milp=ex.objective, t_milp=t_mi, milp_status=ex.status)
    return row


def scale(n: int, runs: int, k: int, seed: int) -> dict[str, Any]:
    p = random_problem(n, 20, k=k, random_state=seed)
    arrays = sum(a.nbytes for a in (p.value, p.cost, p.customer, p.offer))
    t, a, raw = timed(lambda: allocate(p, "dual"), runs, 0)
    tracemalloc.start()
    allocate(p, "dual")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB -> MiB on Linux
    return {
        "n": n,
        "k": k,
        "pairs": p.n_candidates,
        "t": t,
        "raw": raw,
        "gap": a.gap,
        "peak_mib": peak / 2**20,
        "arrays_mib": arrays / 2**20,
        "rss_mib": rss,
        "obj": a.objective,
        "status": a.status,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run of a few seconds")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per solver (median)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(machine())
    print(
        "method: median of --runs timed runs after 1 warm-up (dual, greedy); HiGHS LP and "
        "MILP: 1 run each; same problem object for all solvers, same process"
    )
    if args.quick:
        sizes = [(1_000, 1, True), (1_000, 3, False)]
        big: list[int] = [20_000]
        runs = 1
    else:
        sizes = [
            (2_000, 1, True),
            (2_000, 3, True),
            (10_000, 1, False),
            (10_000, 3, False),
            (100_000, 1, False),
            (100_000, 3, False),
        ]
        big = [250_000, 500_000, 1_000_000]
        runs = args.runs
    print()
    print(
        "dual vs HiGHS (LP: interior point; gap = 1 - objective / HiGHS LP optimum; "
        "bound-LP = dual bound / LP - 1; speed-up = t_LP / t_dual)"
    )
    hdr = (
        f"{'customers':>9} {'k':>2} {'pairs':>9} | {'LP optimum':>13} {'t_LP s':>8} | "
        f"{'dual obj':>13} {'gap':>9} {'bound-LP':>9} {'t_dual s':>8} {'speed-up':>8} | "
        f"{'greedy gap':>10} {'t_gr s':>7} | {'MILP gap':>9} {'t_MILP s':>8} | "
        f"{'lam dual':>8} {'lam LP':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    for n, k, milp in sizes:
        r = compare(n, k, runs, milp, args.seed)
        gap = 1 - r["dual"] / r["lp"]
        bgap = r["dual_bound"] / r["lp"] - 1
        ggap = 1 - r["greedy"] / r["lp"]
        mgap = f"{1 - r['milp'] / r['lp']:9.2e}" if milp else f"{'-':>9}"
        tm = f"{r['t_milp']:8.2f}" if milp else f"{'-':>8}"
        print(
            f"{n:>9} {k:>2} {r['pairs']:>9} | {r['lp']:13.3f} {r['t_lp']:8.2f} | "
            f"{r['dual']:13.3f} {gap:9.2e} {bgap:9.2e} {r['t_dual']:8.3f} "
            f"{r['t_lp'] / r['t_dual']:7.1f}x | {ggap:10.2e} {r['t_greedy']:7.3f} | "
            f"{mgap} {tm} | {r['lam_dual']:8.4f} {r['lam_lp']:8.4f}",
            flush=True,
        )
        if milp:
            print(
                f"{'':>24}  dual vs MILP: dual/MILP = {r['dual'] / r['milp']:.6f}, "
                f"MILP status {r['milp_status']}; raw dual times "
                f"{[round(t, 3) for t in r['raw_dual']]}",
                flush=True,
            )
        if r["dual"] < r["greedy"]:
            print(f"{'':>24}  WARNING: dual below greedy on this instance")
    print()
    print(
        "dual alone at scale (20 offers, k=1): time, traced peak memory of one solve, "
        "process peak RSS"
    )
    hdr2 = (
        f"{'customers':>9} {'pairs':>10} | {'t_dual s':>8} {'s/M pairs':>9} | "
        f"{'gap':>9} | {'peak MiB':>8} {'peak/arrays':>11} | {'RSS MiB':>8}"
    )
    print(hdr2)
    print("-" * len(hdr2))
    for n in big:
        r = scale(n, runs, 1, args.seed)
        print(
            f"{n:>9} {r['pairs']:>10} | {r['t']:8.2f} {r['t'] / (r['pairs'] / 1e6):9.3f} | "
            f"{r['gap']:9.2e} | {r['peak_mib']:8.0f} {r['peak_mib'] / r['arrays_mib']:10.2f}x | "
            f"{r['rss_mib']:8.0f}",
            flush=True,
        )
    print()
    print(
        "peak = memory allocated by the solve (tracemalloc), arrays = the problem's "
        "value/cost/customer/offer arrays; RSS includes building the dense instance"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
