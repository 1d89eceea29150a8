"""Benchmark: ``build_profiles`` against an idiomatic pandas groupby, side by side.

Data: the dunnhumby Complete Journey (1.46 M lines after ingestion) and a copy
replicated 10x with disjoint customers and baskets (about 14.6 M lines).
Method: in one process, alternate onetoone and pandas, one warm-up then
``--runs`` timed runs each, report the median wall time and the ratio
pandas / onetoone per pair. Peak extra memory of each is measured in separate
runs with ``tracemalloc`` (numpy and pandas report their buffers to it) and
compared with the bytes of the input columns.

Both compute the same features (checked for equality in
``tests/test_profiles.py``), including the category mix; pandas gets the
category already joined onto its frame (not timed), onetoone looks it up in
the catalogue inside the timed call.

Run: ``make bench`` or ``python benchmarks/profiles.py [--quick] [--runs N]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line
from reference_pandas import pandas_profiles

from onetoone import Catalogue, Transactions, build_profiles
from onetoone.datasets import complete_journey

AS_OF = "2018-01-02"


def replicate(tx: Transactions, times: int) -> Transactions:
    """``times`` copies of the log with disjoint customers and baskets."""
    if times <= 1:
        return tx
    k = np.repeat(np.arange(times, dtype=np.int64), tx.n_rows)
    return Transactions.from_arrays(
        customer=np.tile(tx.customers.values[tx.customer], times) + k * 10**7,
        item=np.tile(tx.items.values[tx.item], times),
        basket=np.tile(tx.basket.astype(np.int64), times) + k * (tx.n_baskets + 1),
        timestamp=np.tile(tx.timestamp, times),
        value=np.tile(tx.value, times),
        quantity=np.tile(tx.quantity, times),
        discount=np.tile(tx.discount, times),
    )


def frame_of(tx: Transactions, catalogue: Catalogue) -> pd.DataFrame:
    df = tx.to_pandas()
    cat_codes = catalogue.category_codes(tx.items)[tx.item]
    labels = np.asarray(catalogue.categories.values, dtype=object)
    df["category"] = np.where(cat_codes >= 0, labels[np.maximum(cat_codes, 0)], None)
    return df


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def peak_bytes(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    return peak


def run(label: str, tx: Transactions, catalogue: Catalogue, runs: int) -> dict[str, Any]:
    df = frame_of(tx, catalogue)
    ours = lambda: build_profiles(tx, as_of=AS_OF, catalogue=catalogue)  # noqa: E731
    ref = lambda: pandas_profiles(df, AS_OF, with_mix=True)  # noqa: E731
    ours()
    ref()  # warm-up
    t_ours, t_ref = [], []
    for _ in range(runs):
        t_ours.append(timed(ours))
        t_ref.append(timed(ref))
    ratios = [r / o for o, r in zip(t_ours, t_ref, strict=True)]
    # ingestion cost, for the end-to-end view (from the same pandas frame)
    raw = df.drop(columns=["category"])
    t_ingest = statistics.median(
        timed(
            lambda: Transactions.from_pandas(
                raw, quantity="quantity", basket="basket", discount="discount"
            )
        )
        for _ in range(max(1, runs // 2))
    )
    mem_ours = peak_bytes(ours)
    mem_ref = peak_bytes(ref)
    return {
        "label": label,
        "rows": tx.n_rows,
        "customers": tx.n_customers,
        "input_mb": tx.nbytes / 1e6,
        "ours_s": statistics.median(t_ours),
        "pandas_s": statistics.median(t_ref),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "ingest_s": t_ingest,
        "e2e_ratio": statistics.median(t_ref) / (statistics.median(t_ours) + t_ingest),
        "mem_ours_mb": mem_ours / 1e6,
        "mem_ref_mb": mem_ref / 1e6,
        "mem_vs_input": mem_ours / tx.nbytes,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Complete Journey only, 1 run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--times", type=int, default=10, help="replication factor")
    args = ap.parse_args(argv)
    runs = 1 if args.quick else args.runs
    print(machine_line())
    print(f"method: 1 warm-up + {runs} alternating timed runs, median; memory by tracemalloc")
    cj = complete_journey()
    results = [run("complete journey", cj.transactions, cj.catalogue, runs)]
    if not args.quick:
        big = replicate(cj.transactions, args.times)
        results.append(run(f"complete journey x{args.times}", big, cj.catalogue, max(1, runs - 2)))
    print()
    print(
        f"{'data':<24}{'rows':>12}{'onetoone s':>12}{'pandas s':>10}{'ratio':>8}"
        f"{'(min-max)':>13}{'+ingest':>9}{'peak/input':>12}{'pandas MB':>11}"
    )
    for r in results:
        print(
            f"{r['label']:<24}{r['rows']:>12,}{r['ours_s']:>12.3f}{r['pandas_s']:>10.3f}"
            f"{r['ratio']:>7.1f}x{r['ratio_min']:>6.1f}-{r['ratio_max']:<5.1f}"
            f"{r['e2e_ratio']:>8.1f}x{r['mem_vs_input']:>11.2f}x{r['mem_ref_mb']:>11.0f}"
        )
    print(
        "\nratio = pandas time / onetoone time (median of per-pair ratios); +ingest = pandas time /"
        " (onetoone ingestion from the same DataFrame + profiles); peak/input = onetoone's peak"
        " extra memory / bytes of the Transactions columns"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
