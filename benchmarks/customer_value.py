"""Benchmark and evidence for ``onetoone.value`` (issue 16): CDNOW, Complete Journey, scale.

1. **CDNOW** (the shipped sample): BG/NBD, MBG/NBD and Gamma-Gamma fits against
   the published figures, and the weeks 1-78 tracking of the cohort's
   cumulative repeat purchases (calibration weeks 1-39, holdout 40-78), as in
   Fader, Hardie & Lee (2005), fig. 1, plus the holdout's conditional
   expectations.
2. **Complete Journey**, development cut: calibrate on shopping days before
   2017-07-01, predict the 13.1 weeks to 2017-10-01; MAE of the predicted
   shopping days per household against the naive rate ``x / T``; how
   ``1 - P(alive)`` and recency rank the households with no holdout purchase.
3. **Scale**: summaries simulated from a BG/NBD (250k, 500k, 1M customers):
   wall time of the fit and of the predictions (P(alive), expected purchases,
   a 52-week CLV in 12 discounting periods), peak traced memory per customer,
   and the parameters recovered.
4. **Other implementations**, if a venv with them exists (``--ref-python``,
   default ``/tmp/value-venv/bin/python``): ``pymc-marketing``'s
   ``BetaGeoModel.fit(method="map")`` and ``lifetimes``' ``BetaGeoFitter`` on
   the same CDNOW summary (and pymc-marketing on the 100k simulated one with
   ``--ref-scale``), timed in their own process.

Method: wall times are the median of ``--runs`` runs after one warm-up, in
this process; memory is ``tracemalloc``'s peak (numpy reports its buffers).
Run: ``python benchmarks/customer_value.py [--quick] [--runs N]``.
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
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line

from onetoone.datasets import cdnow
from onetoone.value import (
    FrequencyModel,
    PurchaseSummary,
    SpendModel,
    customer_value,
    expected_purchases,
    fit_frequency,
    fit_spend,
    p_alive,
    purchase_summary,
    unconditional_purchases,
)

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44})  # CDNOW's, for the CLV timing


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak_bytes(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def simulate_bgnbd(n: int, params: dict[str, float], *, t_max: float = 39.0,
                   random_state: int = 0) -> PurchaseSummary:
    """A BG/NBD summary: gamma purchase rates, beta drop-out after each repeat purchase.

    Ages T are uniform on [t_max - 12, t_max] (a 12-week acquisition window).
    Given N ~ Poisson(lambda T) purchases in (0, T] while alive and K ~ Geometric(p)
    repeat purchases before dropping out, x = min(N, K) and the x-th purchase time
    is T times the x-th of N uniform order statistics, ~ T Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(random_state)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(t_max - 12.0, t_max, n)
    N = rng.poisson(lam * T)
    K = rng.geometric(p)
    x = np.minimum(N, K)
    has = x > 0
    tx = np.zeros(n)
    tx[has] = T[has] * rng.beta(x[has], N[has] - x[has] + 1)
    return PurchaseSummary.from_arrays(frequency=x, recency=tx, T=T)


def section_cdnow(runs: int) -> None:
    print("== 1. CDNOW (2,357 customers, calibration weeks 1-39) ==")
    tx = cdnow()
    t_sum, cal = timed(lambda: purchase_summary(tx, as_of="1997-10-01", unit="W"), runs)
    print(f"summary: {cal.n_customers:,} customers, {int(cal.frequency.sum()):,} repeat "
          f"purchases, {t_sum * 1e3:.1f} ms")
    for method in ("bgnbd", "mbgnbd"):
        t, m = timed(lambda method=method: fit_frequency(cal, method=method), runs)
        ps = ", ".join(f"{k} = {v:.3f} (se {m.std_errors[k]:.3f})" for k, v in m.params.items())
        print(f"{method}: {ps}; log-lik {m.log_likelihood:.2f}; {m.iterations} iterations, "
              f"{t * 1e3:.0f} ms")
    t, g = timed(lambda: fit_spend(cal), runs)
    print(f"gamma-gamma ({g.n_customers} repeat customers): "
          + ", ".join(f"{k} = {v:.2f}" for k, v in g.params.items()) + f"; {t * 1e3:.0f} ms")
    print("published: BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426; Gamma-Gamma p 6.25, "
          "q 3.74, gamma 15.44")
    bg = fit_frequency(cal)
    one = PurchaseSummary.from_arrays(frequency=[2], recency=[30.43], T=[38.86])
    print(f"E[Y(39) | x=2, t_x=30.43, T=38.86] = {expected_purchases(bg, one, 39.0)[0]:.3f} "
          "(published 1.226)")

    # tracking: cumulative repeat purchases of the cohort, weeks 1-78
    first = purchase_summary(tx, as_of="1998-07-01", unit="D")
    start = np.datetime64("1997-01-01")
    birth = (first.T.max() - first.T)  # days from 1997-01-01 to each first purchase
    assert float(birth.min()) == 0.0
    day = (tx.timestamp.astype("datetime64[D]") - start).astype(np.int64)
    # repeat purchase days: distinct (customer, day) minus each customer's first day
    key = np.unique(tx.customer.astype(np.int64) * 1000 + day)
    d = key % 1000
    is_first = np.ones(len(key), dtype=bool)
    is_first[1:] = key[1:] // 1000 != key[:-1] // 1000
    rep_days = d[~is_first]
    print("week  actual  predicted  (cumulative repeat purchases)")
    for week in (13, 26, 39, 52, 65, 78):
        actual = int((rep_days < 7 * week).sum())
        age = np.clip(7 * week - 1 - birth, 0, None) / 7.0  # weeks since the first purchase
        pred = float(unconditional_purchases(bg, age).sum())
        print(f"{week:4d}  {actual:6d}  {pred:9.0f}  ({pred / actual - 1:+.1%})")
    full = purchase_summary(tx, as_of="1998-07-01", unit="W")
    hold = full.frequency - cal.frequency
    ce = expected_purchases(bg, cal, 39.0)
    print(f"holdout weeks 40-78: actual {int(hold.sum()):,} repeat purchases, conditional "
          f"expectation {ce.sum():,.0f} ({ce.sum() / hold.sum() - 1:+.1%}); MAE per customer "
          f"{np.abs(ce - hold).mean():.3f}")
    for xv in range(0, 7):
        sel = cal.frequency == xv
        print(f"  x = {xv}: {int(sel.sum()):4d} customers, actual mean {hold[sel].mean():.2f}, "
              f"predicted {ce[sel].mean():.2f}")


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    s = score[order]
    # average ranks for ties
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    n_pos = int(positive.sum())
    n_neg = len(score) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def section_complete_journey(runs: int) -> None:
    print("\n== 2. Complete Journey: calibrate before 2017-07-01, predict to 2017-10-01 ==")
    try:
        from onetoone.datasets import complete_journey

        tx = complete_journey().transactions
    except ImportError as exc:
        print(f"skipped: {exc}")
        return
    cal = purchase_summary(tx, as_of="2017-07-01", unit="W")
    full = purchase_summary(tx, as_of="2017-10-01", unit="W")
    hold = full.frequency[full.customers.encode(cal.customers.values)] - cal.frequency
    horizon = 92 / 7  # 2017-07-01 .. 2017-09-30: 92 days = 13.14 weeks
    print(f"{cal.n_customers:,} households with a shopping day before 2017-07-01 "
          f"({cal.n_without_purchase} of the log's households have none); holdout mean "
          f"{hold.mean():.2f} shopping days, {int((hold == 0).sum())} with none")
    naive = np.divide(cal.frequency, cal.T, out=np.zeros(len(cal.T)), where=cal.T > 0) * horizon
    print(f"naive rate x / T:   MAE {np.abs(naive - hold).mean():.3f} shopping days / household")
    lapsed = hold == 0
    for method in ("bgnbd", "mbgnbd"):
        t, m = timed(lambda method=method: fit_frequency(cal, method=method), runs)
        pred = expected_purchases(m, cal, horizon)
        pa = p_alive(m, cal)
        print(f"{method:7s}: MAE {np.abs(pred - hold).mean():.3f} (t = 13.1: "
              f"{np.abs(expected_purchases(m, cal, 13.1) - hold).mean():.3f}); "
              f"fit {t * 1e3:.0f} ms; "
              + ", ".join(f"{k} {v:.3f}" for k, v in m.params.items())
              + f"; AUC of 1 - P(alive) for the {int(lapsed.sum())} lapsed "
              f"{_auc(1 - pa, lapsed):.3f}")
    recency_gap = cal.T - cal.recency
    auc_rec = _auc(recency_gap, lapsed)
    print(f"AUC of recency alone (time since the last shopping day) {auc_rec:.3f}")


def section_scale(sizes: list[int], runs: int) -> None:
    print("\n== 3. Scale: summaries simulated from a BG/NBD (CDNOW's parameters) ==")
    print("customers  fit s  iters  predict s  clv s  peak MiB  bytes/customer  r, alpha, a, b")
    for n in sizes:
        s = simulate_bgnbd(n, TRUE, random_state=1)
        t_fit, m = timed(lambda s=s: fit_frequency(s), runs)
        t_pred, _ = timed(lambda m=m, s=s: (p_alive(m, s), expected_purchases(m, s, 39.0)), runs)
        t_clv, _ = timed(lambda m=m, s=s: customer_value(m, SPEND, s, horizon=52.0,
                                                         period=52 / 12, discount_rate=0.01), runs)

        def work(m: FrequencyModel = m, s: PurchaseSummary = s) -> None:
            fit_frequency(s)
            customer_value(m, SPEND, s, horizon=52.0, period=52 / 12, discount_rate=0.01)

        peak = peak_bytes(work)
        ps = ", ".join(f"{v:.3f}" for v in m.params.values())
        print(f"{n:9,d}  {t_fit:5.2f}  {m.iterations:5d}  {t_pred:9.2f}  {t_clv:5.2f}  "
              f"{peak / 2**20:8.0f}  {peak / n:14.0f}  {ps}")


def section_reference(ref_python: str, scale_n: int) -> None:
    print("\n== 4. Other implementations (separate venv, own process) ==")
    if not os.path.exists(ref_python):
        print(f"skipped: no interpreter at {ref_python} (python -m venv /tmp/value-venv && "
              "/tmp/value-venv/bin/pip install pymc-marketing lifetimes)")
        return
    here = Path(__file__).parent / "_value_reference.py"
    tx = cdnow()
    cal = purchase_summary(tx, as_of="1997-10-01", unit="W")
    jobs = [("CDNOW", cal, "lifetimes,pymc_marketing")]
    if scale_n:
        jobs.append((f"simulated {scale_n:,}", simulate_bgnbd(scale_n, TRUE, random_state=1),
                     "lifetimes,pymc_marketing"))
    for name, s, which in jobs:
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "s.npz"), os.path.join(d, "r.json")
            np.savez(src, frequency=s.frequency.astype(float), recency=s.recency, T=s.T)
            t0 = time.perf_counter()
            proc = subprocess.run([ref_python, str(here), src, out, which], capture_output=True,
                                  text=True, timeout=3600)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(f"{name}: reference run failed ({proc.stderr.strip()[-300:]})")
                continue
            with open(out) as f:
                res = json.load(f)
        t_own, own = timed(lambda s=s: fit_frequency(s), 3)
        print(f"{name} ({s.n_customers:,} customers; numpy {res['numpy']}, pandas "
              f"{res['pandas']}; process wall {wall:.0f} s):")
        print(f"  onetoone       {t_own:8.2f} s  "
              + ", ".join(f"{k} {v:.3f}" for k, v in own.params.items()))
        for lib in ("lifetimes", "pymc_marketing"):
            r = res.get(lib)
            if r is None:
                continue
            if "error" in r:
                print(f"  {lib:14s} {r['version']}: FAILED {r['error'][:200]}")
                continue
            print(f"  {lib:14s} {r['seconds']:8.2f} s  "
                  + ", ".join(f"{k} {v:.3f}" for k, v in r["params"].items())
                  + f"  ({r['version']}; {r['seconds'] / t_own:.0f}x onetoone's time)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, no reference run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ref-python", default="/tmp/value-venv/bin/python")
    ap.add_argument("--ref-scale", type=int, default=0,
                    help="also run the references on this many simulated customers")
    args = ap.parse_args()
    print(machine_line(("numpy", "scipy")))
    section_cdnow(args.runs)
    section_complete_journey(args.runs)
    sizes = [50_000, 100_000] if args.quick else [250_000, 500_000, 1_000_000]
    section_scale(sizes, 1 if not args.quick else args.runs)
    if not args.quick:
        section_reference(args.ref_python, args.ref_scale)


if __name__ == "__main__":
    main()
