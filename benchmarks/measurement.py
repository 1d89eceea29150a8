"""Measurement benchmark: a Complete Journey campaign, its report, and timings.

What it does
------------
1. Complete Journey campaign 13 (Type A, 2017-08-08 .. 2017-09-24): targeted
   households are "treated"; the control is households *not* targeted by it,
   matched to the treated on pre-period (90 days) spend deciles x visit-frequency
   quintiles by sampling
   the same number from each decile of both groups. THIS IS OBSERVATIONAL, NOT
   RANDOMISED: the retailer chose whom to target, so the lift mixes the
   campaign's effect with whatever drove the targeting beyond pre-period spend.
   Costs are not in the data: the ROI uses a stated assumption.
2. Prints the arm figures, lift (Welch, CUPED, bootstrap), ROI, the daily KPI
   summary, and writes the HTML report to ``--out`` (default
   ``benchmarks/results/measurement/``, git-ignored).
3. Times ``measure_campaign`` against a pandas reference computing the same arm
   figures (groupby + scipy Welch) on the same data in the same process, and
   ``track_kpis`` against a loop of ``measure_campaign`` over days, plus
   ``assign_holdout`` on 1M ids; median of ``--runs`` after one warm-up.

Run ``python benchmarks/measurement.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats

from onetoone.datasets import complete_journey, synthetic_transactions
from onetoone.measurement import (
    Goals,
    Redemptions,
    assign_holdout,
    check_balance,
    matched_control,
    measure_campaign,
    track_kpis,
)
from onetoone.profiles import build_profiles
from onetoone.report import AllocationSummary, render_html

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = 13
PRE_DAYS = 90
#: Assumed costs (not in the data): mailing per targeted household, and per redemption.
COST_PER_HOUSEHOLD = 0.50
COST_PER_REDEMPTION = 1.50
MARGIN_RATE = 0.30


def machine() -> str:
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import matplotlib
    import pandas

    return (
        f"machine: {platform.machine()} nproc={os.cpu_count()} memory={mem}; "
        f"python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, pandas {pandas.__version__}, matplotlib {matplotlib.__version__}"
    )


def timeit(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def pandas_arm_figures(
    df: Any, treated: np.ndarray, control: np.ndarray, start: Any, end: Any
) -> dict[str, float]:
    """The reference: the same arm figures and Welch lift with pandas + scipy."""
    w = df[(df["timestamp"] >= start) & (df["timestamp"] < end)]
    g = w.groupby("customer").agg(spend=("value", "sum"), visits=("basket", "nunique"))
    t = g.reindex(treated, fill_value=0)
    c = g.reindex(control, fill_value=0)
    res = scipy.stats.ttest_ind(t["spend"], c["spend"], equal_var=False)
    ci = res.confidence_interval()
    return {
        "spend_t": float(t["spend"].mean()),
        "spend_c": float(c["spend"].mean()),
        "visit_t": float((t["visits"] > 0).mean()),
        "visit_c": float((c["visits"] > 0).mean()),
        "spv_t": float(t["spend"].sum() / t["visits"].sum()),
        "lo": float(ci.low),
        "hi": float(ci.high),
    }


def complete_journey_campaign(out: Path, runs: int, bootstrap: int) -> None:
    t0 = time.perf_counter()
    cj = complete_journey()
    tx = cj.transactions
    camp = cj.campaign(CAMPAIGN)
    print(f"loaded Complete Journey in {time.perf_counter() - t0:.1f} s: {tx.n_rows:,} rows")
    start = camp.start
    end = camp.end + np.timedelta64(1, "D")  # the source's end date is inclusive
    pre = build_profiles(tx, as_of=start, since=start - np.timedelta64(PRE_DAYS, "D"))
    ids = tx.customers.values
    targeted = np.isin(ids, camp.households)
    treated, control = matched_control(
        pre,
        treated=camp.households[np.isin(camp.households, ids)],
        features=["monetary", "frequency"],
        n_bins=[10, 5],
        random_state=0,
    )
    print(
        f"\ncampaign {CAMPAIGN} ({camp.campaign_type}) {camp.start} .. {camp.end}: "
        f"{targeted.sum():,} targeted, {(~targeted).sum():,} not targeted; matched on "
        f"{PRE_DAYS}-day pre-period spend deciles x visit quintiles -> {len(treated):,} treated vs "
        f"{len(control):,} control"
    )
    print("OBSERVATIONAL, NOT RANDOMISED: targeting was chosen by the retailer.")
    bal = check_balance(
        pre,
        treated=treated,
        control=control,
        features=["monetary", "frequency", "recency_days", "avg_basket_value", "discount_share"],
    )
    print(f"pre-period balance after matching (max |SMD| {bal.max_abs_smd:.3f}):")
    print(bal.summary())

    red = Redemptions.from_arrays(
        customer=camp.redemption_household,
        timestamp=camp.redemption_date,
        offer=camp.redemption_coupon.astype(str),
    )
    in_t = np.isin(camp.redemption_household, treated)
    red_day = ((camp.redemption_date[in_t] - start) // np.timedelta64(1, "D")).astype(int)
    n_days = int((end - start) // np.timedelta64(1, "D"))
    daily = np.bincount(red_day[red_day < n_days], minlength=n_days) * COST_PER_REDEMPTION
    daily = daily.astype(float)
    daily[0] += COST_PER_HOUSEHOLD * len(treated)
    cost = float(daily.sum())
    print(
        f"\nassumed cost (not in the data): ${COST_PER_HOUSEHOLD:.2f} per targeted household "
        f"+ ${COST_PER_REDEMPTION:.2f} per redemption = ${cost:,.2f}; margin rate "
        f"{MARGIN_RATE:.0%}"
    )
    kw: dict[str, Any] = {
        "treated": treated,
        "control": control,
        "start": start,
        "end": end,
        "pre_period": PRE_DAYS,
        "margin_rate": MARGIN_RATE,
        "redemptions": red,
    }
    res = measure_campaign(tx, cost=cost, bootstrap=bootstrap, random_state=0, **kw)
    print(res.summary())
    goals = Goals(
        target_roi=0.0,
        target_redemption_rate=0.15,
        budget=1.1 * cost,
        budget_upfront=COST_PER_HOUSEHOLD * len(treated),
        target_incremental_revenue=10_000.0,
    )
    k = track_kpis(tx, cost=daily, goals=goals, **kw)
    print("\ndaily tracking:")
    print(k.summary())

    out.mkdir(parents=True, exist_ok=True)
    report = out / f"campaign_{CAMPAIGN}.html"
    render_html(
        result=res,
        kpis=k,
        title=f"Complete Journey campaign {CAMPAIGN} (observational)",
        allocation=AllocationSummary(
            spend=cost, budget=goals.budget, n_customers=len(treated), status="illustrative"
        ),
        path=report,
    )
    print(f"\nreport written to {report}")

    # timings: same arm figures, onetoone vs pandas reference
    df = tx.to_pandas()
    ref = pandas_arm_figures(df, treated, control, start, end)
    ours = measure_campaign(tx, cost=cost, **{**kw, "pre_period": None})
    assert np.isclose(ours.treated.spend_per_customer, ref["spend_t"], rtol=1e-10)
    assert np.isclose(ours.control.visit_rate, ref["visit_c"], rtol=1e-12)
    assert np.isclose(ours.revenue.welch.ci_low, ref["lo"], rtol=1e-9)
    rows = []
    m_ours, t_ours = timeit(
        lambda: measure_campaign(tx, cost=cost, **{**kw, "pre_period": None}), runs
    )
    m_ref, t_ref = timeit(lambda: pandas_arm_figures(df, treated, control, start, end), runs)
    rows.append(("CJ arm figures + Welch", m_ours, m_ref, t_ours, t_ref, "pandas groupby"))
    m_k, t_k = timeit(lambda: track_kpis(tx, cost=daily, goals=goals, **kw), runs)

    def loop_days() -> None:
        for d in range(1, n_days + 1):  # the reference: one full measurement per day
            measure_campaign(tx, cost=cost, **{**kw, "end": start + np.timedelta64(d, "D")})

    m_l, t_l = timeit(loop_days, max(1, runs // 3))
    rows.append((f"CJ daily KPIs ({n_days} days)", m_k, m_l, t_k, t_l, "measure_campaign/day"))
    print_table(rows)


def scale(n_customers: int, runs: int) -> None:
    t0 = time.perf_counter()
    tx = synthetic_transactions(n_customers, 2000, random_state=0)
    print(
        f"\nsynthetic log: {n_customers:,} customers, {tx.n_rows:,} rows "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    h = assign_holdout(tx.customers.values, fraction=0.2, salt="bench")
    kw: dict[str, Any] = {
        "treated": h.treated,
        "control": h.control,
        "start": "2024-07-01",
        "end": "2024-08-01",
        "cost": 1000.0,
        "margin_rate": 0.3,
    }
    df = tx.to_pandas()
    start, end = np.datetime64("2024-07-01"), np.datetime64("2024-08-01")
    m_ours, t_ours = timeit(lambda: measure_campaign(tx, **kw), runs)
    m_ref, t_ref = timeit(lambda: pandas_arm_figures(df, h.treated, h.control, start, end), runs)
    m_k, t_k = timeit(lambda: track_kpis(tx, goals=Goals(), **kw, pre_period=90), runs)
    ids = np.arange(1_000_000 if n_customers >= 10_000 else 100_000)
    m_h, t_h = timeit(lambda: assign_holdout(ids, fraction=0.1, salt="bench"), max(1, runs // 2))
    print_table(
        [
            ("synthetic arm figures + Welch", m_ours, m_ref, t_ours, t_ref, "pandas groupby"),
        ]
    )
    print(f"track_kpis, 31 days with CUPED: median {m_k * 1e3:.1f} ms  raw {fmt(t_k)}")
    print(
        f"assign_holdout, {len(ids):,} ids (one SHA-256 each): median {m_h:.2f} s "
        f"= {m_h / len(ids) * 1e6:.2f} us/id  raw {fmt(t_h)}"
    )


def fmt(ts: list[float]) -> str:
    return "[" + ", ".join(f"{t * 1e3:.1f}" for t in ts) + "] ms"


def print_table(rows: list[tuple[str, float, float, list[float], list[float], str]]) -> None:
    print(f"\n{'task':<34}{'onetoone ms':>13}{'reference ms':>14}{'ratio':>8}  reference")
    for name, a, b, ta, tb, ref in rows:
        print(f"{name:<34}{a * 1e3:>13.1f}{b * 1e3:>14.1f}{b / a:>7.1f}x  {ref}")
        print(f"{'':<34}raw onetoone {fmt(ta)}; reference {fmt(tb)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument("--runs", type=int, default=None, help="timed runs per task (median)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "measurement")
    a = p.parse_args(argv)
    runs = a.runs or (2 if a.quick else 7)
    print(machine())
    print(f"method: 1 warm-up, median of {runs} runs (time.perf_counter), same process")
    complete_journey_campaign(a.out, runs, bootstrap=200 if a.quick else 2000)
    scale(2_000 if a.quick else 20_000, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
