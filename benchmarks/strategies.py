"""Strategy benchmark: mass vs segment vs one-to-one, on real data and with known truth.

1. Replay on Complete Journey Type A campaigns 8 and 27. Each strategy sees the
   log before the campaign start (affinity "hybrid", offer score = sum over the
   coupon's products, isotonic calibration on the two weeks before the start,
   no assumed discount effect) and chooses 5 coupons per targeted household
   from the campaign's coupons, under the same budget (5 coupons sent per
   household). Choices are scored against what households did during the
   campaign: redemptions of the chosen coupons, coupons with a covered product
   bought, and spend on covered products, per household, with paired bootstrap
   intervals over households. Offline replay: households received the
   retailer's own selection, so this measures anticipation of demand, not the
   coupons' causal effect.
2. Simulator (known truth): markets of 2,000 customers, 400 items, 40 offers,
   26 weeks of history; strategies maximise the *incremental* objective with an
   assumed elasticity of 5 (the simulator's true mean effect is 6), at a small
   and a large budget, plus a "little history" market (3 weeks) and a market of
   alike customers (same tastes, same price sensitivity). A fourth column runs
   one-to-one on the *redemption* objective (every redemption counts, as most
   coupon programmes are judged). The figure is the true expected incremental
   profit of each plan (and its ROI), mean and 95 % interval over independent
   markets (seeds).

Run ``python benchmarks/strategies.py`` (``--quick``: one campaign, two seeds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line

from onetoone.bench import (
    make_context,
    market_offers,
    mass,
    one_to_one,
    replay_campaign,
    segment,
    simulate,
    simulate_market,
)
from onetoone.datasets import complete_journey
from onetoone.offers import Offers

STRATEGIES: dict[str, Any] = {"mass": mass, "segment": segment, "one_to_one": one_to_one}
K = 5


def replay(campaigns: list[int], n_boot: int) -> None:
    cj = complete_journey()
    tx = cj.transactions
    for cid in campaigns:
        c = cj.campaign(cid)
        known = np.isin(c.coupon_product, tx.items.values)
        offers = Offers.from_pairs(
            c.coupon_upc[known], c.coupon_product[known], items=tx.items, cost=1.0
        )
        hh = c.households[np.isin(c.households, tx.customers.values)]
        t0 = time.perf_counter()
        ctx = make_context(
            tx,
            offers,
            as_of=c.start,
            budget=float(K * len(hh)),
            k=K,
            customer_ids=hh,
            budget_on="sent",
            horizon_days=14,
            catalogue=cj.catalogue,
            random_state=0,
        )
        res = replay_campaign(
            ctx,
            STRATEGIES,
            start=c.start,
            end=c.end + np.timedelta64(1, "D"),
            redemptions=(c.redemption_household, c.redemption_coupon),
            n_boot=n_boot,
            random_state=0,
        )
        print(
            f"\n-- replay: campaign {cid} ({c.campaign_type}, {c.start} .. {c.end}), "
            f"{len(hh):,} households, {offers.n_offers} coupons, {K} per household "
            f"(context {time.perf_counter() - t0:.0f} s)"
        )
        print(res.summary())
        print("paired difference with mass, per household [95% interval]:")
        for s, name in enumerate(res.strategies[1:], start=1):
            d, lo, hi = res.diff_vs_first[s], res.diff_low[s], res.diff_high[s]
            cells = "".join(
                f"{d[j]:>+10.3f} [{lo[j]:+.3f}, {hi[j]:+.3f}]" for j in range(len(res.metrics))
            )
            print(f"{name:<14}{'':>7}{cells}")


def simulated(seeds: list[int], budgets: tuple[float, ...]) -> None:
    big = budgets[-1]
    scenarios: list[tuple[str, dict[str, Any], float]] = [
        *[("26 weeks history", {}, b) for b in budgets],
        ("3 weeks history", {"history_weeks": 3}, big),
        ("alike customers", {"sensitivity_shape": 1000.0, "taste_scale": 0.0}, big),
    ]
    names = [*STRATEGIES, "one_to_one (redemptions)"]
    print(
        f"\n-- simulator: true incremental profit per plan (mean [95% interval] over "
        f"{len(seeds)} markets), mean ROI in brackets"
    )
    print(f"{'scenario':<34}" + "".join(f"{n:>30}" for n in names))
    for label, market_kw, budget in scenarios:
        profit: dict[str, list[float]] = {n: [] for n in names}
        roi: dict[str, list[float]] = {n: [] for n in names}
        for seed in seeds:
            kw: dict[str, Any] = {"history_weeks": 26, **market_kw}
            m = simulate_market(2000, 400, 40, random_state=seed, **kw)
            ctx_kw: dict[str, Any] = dict(
                as_of=m.campaign_start,
                budget=budget,
                k=2,
                horizon_days=14,
                elasticity=5.0,
                random_state=seed,
            )
            ctx = make_context(m.history, market_offers(m), objective="incremental", **ctx_kw)
            runs = [(n, f, ctx) for n, f in STRATEGIES.items()]
            red = make_context(m.history, market_offers(m), objective="redemptions", **ctx_kw)
            runs.append(("one_to_one (redemptions)", one_to_one, red))
            for name, f, c in runs:
                r = simulate(f, m, budget=budget, context=c, random_state=seed)
                profit[name].append(r.outcome.incremental_profit)
                roi[name].append(r.outcome.roi)
        row = f"{label + f', budget {budget:g}':<34}"
        for name in names:
            v = np.asarray(profit[name])
            half = 1.96 * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
            rr = np.asarray(roi[name])
            r_mean = float(np.nanmean(rr)) if np.isfinite(rr).any() else float("nan")
            row += (
                f"{v.mean():>9.1f} [{v.mean() - half:6.1f},{v.mean() + half:6.1f}] ({r_mean:5.2f})"
            )
        print(row)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(machine_line())
    t0 = time.perf_counter()
    replay([8] if args.quick else [8, 27], n_boot=200 if args.quick else 1000)
    simulated([0, 1] if args.quick else list(range(8)), (20.0, 150.0))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
