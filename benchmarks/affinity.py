"""Affinity benchmark: quality on Complete Journey Type A campaigns, overhead vs implicit, scale.

Run:  PYTHONPATH=src python benchmarks/affinity.py [--quick] [--threads N]

(a) Quality. For each personalised (Type A) campaign: fit on transactions
    strictly before the campaign start, score every campaign coupon (coupon ->
    products from the coupons table; the offer score is the max, or the sum,
    over its products) for every targeted household, and report over households
    with at least one redemption the mean per-household AUC of redeemed vs
    not-redeemed coupons (ties count one half) and hit@10 (a redeemed coupon
    among the household's 10 best). Campaigns 8 and 27 were used to choose the
    hybrid's defaults; 13 and 18 (the other Type A campaigns) were held out.
    Then paired differences hybrid - baseline per campaign and pooled (mean
    and 95 % stratified paired-bootstrap interval over households).
(a') Development grid (``--only grid``). Hybrid variants meant to lift hit@10
    (standardised ALS, item-item CF, restock damping, breadth-aware
    aggregation, repeat half-life / saturation, promotion / "bought on deal"
    signals, category affinity of never-bought items), on campaigns 8 and 27
    only, each compared with repeat under the same aggregate; plus diagnostics
    of what repeat misses and of the response history before each campaign.
(b) Overhead. onetoone's ``fit_affinity(method="als")`` + ``score_items(top_k=10)``
    against calling implicit directly on the same matrix (same weighting,
    factors, iterations, threads, seed), side by side, median of runs.
(c) Scale. Top-10 offer scoring (hybrid, max) for synthetic customers x 5k
    offers: customers per second and peak traced memory, for growing customer
    counts with the same block size (memory must stay flat).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.special import comb
from scipy.stats import rankdata

from onetoone.affinity import fit_affinity, fit_response, score_items, score_offers
from onetoone.data import IdIndex, customer_item_matrix
from onetoone.datasets import complete_journey, synthetic_transactions
from onetoone.offers import Offers


def machine() -> str:
    import implicit
    import threadpoolctl

    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except OSError:
        pass
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return (
        f"machine: nproc={os.cpu_count()} memory={mem} {platform.machine()} "
        f"python={platform.python_version()}\n"
        f"versions: numpy={np.__version__} scipy={scipy.__version__} "
        f"implicit={implicit.__version__} blas={[b['internal_api'] for b in blas]}"
    )


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[float, list[float], Any]:
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


# --------------------------------------------------------------------------- (a) quality
def per_household(s: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row AUC of positives vs the rest (ties one half) and hit@10 (ties by column)."""
    r = rankdata(s, axis=1)
    npos = p.sum(1)
    auc = ((r * p).sum(1) - npos * (npos + 1) / 2) / (npos * (s.shape[1] - npos))
    top = np.argsort(-s, axis=1, kind="stable")[:, :10]
    return auc, np.take_along_axis(p, top, axis=1).any(axis=1)


def tie_hit(s: np.ndarray, p: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-row hit@k with ties at the k-th score broken uniformly at random (expected value).

    The headline hit@10 breaks ties by coupon order (``argsort(kind="stable")``);
    this is the tie-aware counterpart, as AUC counts ties one half: 1 if a
    positive scores above the k-th score, else the chance that a random choice
    of the free slots among the tied scores takes at least one tied positive.
    """
    kth = -np.partition(-s, k - 1, axis=1)[:, k - 1 : k]
    gt, eq = s > kth, s == kth
    hit_gt = (p & gt).any(axis=1)
    n_eq, p_eq = eq.sum(axis=1), (p & eq).sum(axis=1)
    m = k - gt.sum(axis=1)
    miss = comb(n_eq - p_eq, m) / comb(n_eq, m)
    return np.where(hit_gt, 1.0, np.where(p_eq > 0, 1.0 - miss, 0.0))


def campaign_eval(
    cj: Any, cid: int, threads: int, methods: list[str], cf: dict[str, int]
) -> list[tuple[Any, ...]]:
    tx = cj.transactions
    ca = cj.campaign(cid)
    offers = Offers.from_pairs(ca.coupon_upc, ca.coupon_product)
    hh = np.unique(ca.households)
    redeemed = np.isin(ca.redemption_household, hh)
    rh = ca.redemption_household[redeemed]
    rc = offers.ids.encode(ca.redemption_coupon[redeemed])
    from onetoone.data import IdIndex

    h_idx = IdIndex.from_values(hh)
    pos = (
        sp.csr_array(
            (np.ones(len(rh)), (h_idx.encode(rh), rc)), shape=(len(h_idx), offers.n_offers)
        ).toarray()
        > 0
    )
    keep = pos.any(axis=1)
    rows = []

    def measure(name: str, scores: np.ndarray, fit_s: float, agg: str) -> None:
        s, p = scores[keep], pos[keep]
        auc, hit = per_household(s, p)
        rows.append((cid, name, agg, auc, hit, tie_hit(s, p), int(keep.sum()), fit_s))

    rng = np.random.default_rng(cid)
    measure("random", rng.random(pos.shape), 0.0, "-")
    models = {}
    for method in methods:
        m = fit_affinity(
            tx,
            as_of=ca.start,
            method=method,  # type: ignore[arg-type]
            catalogue=cj.catalogue,
            num_threads=threads,
            random_state=0,
            **cf,  # type: ignore[arg-type]
        )
        models[method] = m
        aggs = ("max", "sum") if method in ("hybrid", "repeat", "popularity") else ("max",)
        for agg in aggs:
            sc = score_offers(
                m, h_idx, offers, aggregate=agg, unknown_items="drop", unknown_customers="keep"
            )
            assert sc.dense is not None
            measure(method, sc.dense, m.fit_seconds, agg)
    return rows


def quality(
    cj: Any, campaigns: list[int], threads: int, methods: list[str], cf: dict[str, int]
) -> None:
    print(
        "\n(a) quality: mean per-household AUC and hit@10 over households with a redemption "
        "(hit~: hit@10 with ties at the 10th score averaged, see tie_hit)"
    )
    print(
        f"{'campaign':>8} {'role':>8} {'method':>10} {'agg':>4} {'AUC':>6} {'hit@10':>6} "
        f"{'hit~':>6} {'hh':>4} {'fit s':>6}"
    )
    per: dict[tuple[int, str, str], tuple[np.ndarray, np.ndarray]] = {}
    for cid in campaigns:
        role = "tuned" if cid in (8, 27) else "held-out"
        for c, name, agg, auc, hit, thit, n, fit_s in campaign_eval(cj, cid, threads, methods, cf):
            print(
                f"{c:>8} {role:>8} {name:>10} {agg:>4} {auc.mean():6.3f} {hit.mean():6.3f} "
                f"{thit.mean():6.3f} {n:>4} {fit_s:6.2f}"
            )
            per[c, name, agg] = (auc, hit.astype(np.float64))
    if "hybrid" in methods:
        paired(per, campaigns, [m for m in methods if m != "hybrid"])


def _boot_ci(
    d: list[np.ndarray], rng: np.random.Generator, n_boot: int = 4000
) -> tuple[float, float, float]:
    """Mean of the pooled per-household differences and a 95 % percentile interval.

    Households are resampled within each campaign (stratified paired bootstrap),
    so every campaign keeps its size in every replicate.
    """
    n = np.array([len(x) for x in d])
    tot = np.zeros(n_boot)
    for x in d:
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        tot += x[idx].sum(axis=1)
    boot = tot / n.sum()
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(np.concatenate(d).mean()), float(lo), float(hi)


def paired(
    per: dict[tuple[int, str, str], tuple[np.ndarray, np.ndarray]],
    campaigns: list[int],
    baselines: list[str],
) -> None:
    """Paired differences hybrid - baseline (same households, same aggregate).

    Per campaign and pooled over ``campaigns``: mean difference in per-household
    AUC and in hit@10 with a 95 % stratified paired-bootstrap interval
    (households resampled, seed 0), and the discordant households for hit@10
    (hybrid hits where the baseline misses / the reverse): with no discordant
    household the two top-10 lists are equivalent for every household.
    """
    print(
        "\npaired differences hybrid - baseline (same aggregate), mean [95% paired bootstrap]; "
        "'+h/-h' = households hybrid hits and the baseline misses / the reverse"
    )
    print(f"{'baseline':>10} {'agg':>4} {'campaign':>9} {'dAUC':>24} {'d hit@10':>24} {'+h/-h':>7}")
    rng = np.random.default_rng(0)
    for base in baselines:
        for agg in ("max", "sum"):
            if (campaigns[0], base, agg) not in per or (campaigns[0], "hybrid", agg) not in per:
                continue
            groups: list[tuple[str, list[int]]] = [(str(c), [c]) for c in campaigns]
            if len(campaigns) > 1:
                groups.append(("pooled", campaigns))
            for label, cs in groups:
                da = [per[c, "hybrid", agg][0] - per[c, base, agg][0] for c in cs]
                dh = [per[c, "hybrid", agg][1] - per[c, base, agg][1] for c in cs]
                ma, la, ha = _boot_ci(da, rng)
                mh, lh, hh = _boot_ci(dh, rng)
                plus = sum(int((x > 0).sum()) for x in dh)
                minus = sum(int((x < 0).sum()) for x in dh)
                print(
                    f"{base:>10} {agg:>4} {label:>9} {ma:+8.4f} [{la:+.4f}, {ha:+.4f}] "
                    f"{mh:+8.4f} [{lh:+.4f}, {hh:+.4f}] {plus:>3}/{minus:<3}"
                )


def calibration(cj: Any, threads: int) -> None:
    """Fit the response model on campaign 8's hybrid scores; check it on campaign 13."""
    tx = cj.transactions
    out = []
    for cid in (8, 13):
        ca = cj.campaign(cid)
        offers = Offers.from_pairs(ca.coupon_upc, ca.coupon_product)
        m = fit_affinity(
            tx, as_of=ca.start, catalogue=cj.catalogue, num_threads=threads, random_state=0
        )
        sc = score_offers(
            m, np.unique(ca.households), offers, unknown_items="drop", unknown_customers="keep"
        )
        c, o, s = sc.to_candidates()
        red = set(zip(ca.redemption_household.tolist(), ca.redemption_coupon.tolist(), strict=True))
        hh, cp = sc.customers.decode(c), sc.offers.decode(o)
        y = np.fromiter(
            ((h, q) in red for h, q in zip(hh.tolist(), cp.tolist(), strict=True)),
            dtype=bool,
            count=len(c),
        )
        out.append((s, y))
    resp = fit_response(out[0][0], out[0][1], method="isotonic", n_bins=8)
    print("\ncalibration: isotonic response model fitted on campaign 8 (hybrid, max)")
    print(resp.reliability.to_text())
    print(f"train ECE={resp.reliability.expected_calibration_error:.4f} brier={resp.brier:.5f}")
    p13 = resp.predict_proba(out[1][0])
    y13 = out[1][1]
    print(
        f"held-out campaign 13: mean predicted {p13.mean():.4f} vs observed {y13.mean():.4f}; "
        f"brier {np.mean((p13 - y13) ** 2):.5f} (base-rate brier "
        f"{np.mean((y13.mean() - y13) ** 2):.5f})"
    )


# --------------------------------------------------------------------------- (a') dev grid
def _offer_max(s: np.ndarray, a: sp.csr_array) -> np.ndarray:
    """Per-offer max of item scores (the ``"max"`` aggregate, for grid variants)."""
    return np.stack(
        [s[:, a.indices[a.indptr[o] : a.indptr[o + 1]]].max(axis=1) for o in range(a.shape[0])],
        axis=1,
    )


def _auc_hit(o: np.ndarray, pos: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    auc, hit = per_household(o[keep], pos[keep])
    return float(auc.mean()), float(hit.mean())


def _grid_campaign(
    cj: Any, cid: int, threads: int, cf: dict[str, int]
) -> dict[str, tuple[float, float]]:
    """AUC / hit@10 of every grid variant on one campaign (see :func:`dev_grid`)."""
    from onetoone.affinity._model import _pair_stats
    from onetoone.affinity._score import _customers_iv, _offers_iv, _Scorer

    tx = cj.transactions
    ca = cj.campaign(cid)
    offers = Offers.from_pairs(ca.coupon_upc, ca.coupon_product)
    hh = np.unique(ca.households)
    h_idx = IdIndex.from_values(hh)
    red = np.isin(ca.redemption_household, hh)
    pos = (
        sp.csr_array(
            (
                np.ones(int(red.sum())),
                (
                    h_idx.encode(ca.redemption_household[red]),
                    offers.ids.encode(ca.redemption_coupon[red]),
                ),
            ),
            shape=(len(hh), offers.n_offers),
        ).toarray()
        > 0
    )
    keep = pos.any(axis=1)

    def fit(method: str, **kw: Any) -> Any:
        return fit_affinity(
            tx,
            as_of=ca.start,
            method=method,  # type: ignore[arg-type]
            catalogue=cj.catalogue,
            num_threads=threads,
            random_state=0,
            **{**cf, **kw},
        )

    als = fit("als")
    a, cols, _, _ = _offers_iv(als, offers, "max", "drop")
    _, codes, _, _ = _customers_iv(als, h_idx, "keep", "dev_grid")

    def items(m: Any) -> np.ndarray:
        return _Scorer(m, cols, None).block(codes).astype(np.float64)

    rep_m = fit("repeat")
    r, f, p = items(rep_m), items(als), items(fit("popularity"))
    warm = (codes >= 0) & rep_m.has_history[np.maximum(codes, 0)]
    # exact per-customer standardisation of the ALS score over all seen items
    v = als.item_factors[als.seen_items].astype(np.float64)
    u = np.zeros((len(codes), v.shape[1]))
    u[warm] = als.user_factors[codes[warm]]
    sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", u, np.cov(v.T), u), 1e-12))
    z = np.where(warm[:, None], (f - (u @ v.mean(0))[:, None]) / sd[:, None], 0.0)
    # days since the last purchase of each scored item (0: never bought)
    rp = rep_m.repeat
    last = sp.csr_array((rep_m.last_days + 1e-9, rp.indices, rp.indptr), shape=rp.shape)
    cc = np.maximum(cols, 0)
    lst = last[np.maximum(codes, 0)][:, cc].toarray()
    lst[:, cols < 0] = 0.0
    lst[~warm] = 0.0
    # item-item cosine over binary customer x item incidence
    xb = sp.csr_array(customer_item_matrix(tx, weight="baskets", as_of=ca.start))
    xb.data[:] = 1.0
    xn = xb @ sp.diags_array(1.0 / np.sqrt(np.maximum(np.asarray(xb.sum(0)).ravel(), 1.0)))
    xh = xb[np.maximum(codes, 0)]
    ii = np.asarray((xh @ xn.T).toarray() @ xn[:, cc].toarray())
    ii /= np.maximum(np.asarray(xh.sum(1)).ravel(), 1.0)[:, None]
    ii[:, cols < 0] = 0.0
    ii[~warm] = 0.0
    # promotion signals: the same decayed basket counts over discounted lines only
    # (discount > 0: retail + coupon + coupon-match discounts), plus undecayed counts
    txb = tx.between(None, rep_m.as_of)
    hl = float(rep_m.params["half_life_days"])
    pr_m, _, pc_m = _pair_stats(txb.subset(txb.discount > 0), rep_m.as_of, hl)
    _, _, nc_m = _pair_stats(txb, rep_m.as_of, hl)

    def dense(m: sp.csr_array) -> np.ndarray:
        d = np.asarray(m[np.maximum(codes, 0)][:, cc].toarray(), dtype=np.float64)
        d[:, cols < 0] = 0.0
        d[~warm] = 0.0
        return d

    rd, pd, pc, nc = dense(rep_m.repeat), dense(pr_m), dense(pc_m), dense(nc_m)
    share = np.where(nc > 0, pc / np.maximum(nc, 1.0), 0.0)  # per-pair share of baskets on deal
    item_rate = np.asarray(pc_m.sum(0)).ravel() / np.maximum(np.asarray(nc_m.sum(0)).ravel(), 1)
    irate = np.where(cols >= 0, item_rate[cc], 0.0)[None, :]  # item's share of baskets on deal
    cust_rate = np.asarray(pc_m.sum(1)).ravel() / np.maximum(np.asarray(nc_m.sum(1)).ravel(), 1)
    crate = np.where(warm, cust_rate[np.maximum(codes, 0)], 0.0)[:, None]
    k = float(rep_m.params["repeat_saturation"])

    def sat(x: np.ndarray) -> np.ndarray:
        return x / (x + k)

    # diagnostic: households whose redeemed coupon is not in repeat's top 10
    o_r, o_n, o_p = _offer_max(r, a), _offer_max(nc, a), _offer_max(pd, a)
    top_r = np.argsort(-o_r, axis=1, kind="stable")[:, :10]
    miss = keep & ~np.take_along_axis(pos, top_r, axis=1).any(axis=1)
    bought, on_deal = (o_n > 0) & pos, (o_p > 0) & pos
    had, dealt = (o_n > 0)[keep], ((o_p > 0) & (o_n > 0))[keep]
    pk = pos[keep]
    deal_red = dealt[pk].sum() / max(int(had[pk].sum()), 1)
    deal_not = dealt[~pk].sum() / max(int(had[~pk].sum()), 1)
    print(
        f"  campaign {cid}: repeat misses {int(miss.sum())} of {int(keep.sum())} households; of "
        f"those, {int(bought[miss].any(1).sum())} had bought a product of a redeemed coupon "
        f"before, {int(on_deal[miss].any(1).sum())} on deal. Of coupons already bought, "
        f"{deal_red:.3f} of redeemed vs {deal_not:.3f} of not-redeemed were bought on deal"
    )
    # response history: redemptions (any campaign) dated before this campaign's start
    rdm = cj.redemptions.columns
    early = rdm["redemption_date"] < ca.start
    prior = set(
        zip(rdm["household_id"][early].tolist(), rdm["coupon_upc"][early].tolist(), strict=True)
    )
    now = list(zip(ca.redemption_household.tolist(), ca.redemption_coupon.tolist(), strict=True))
    red_c = np.unique(ca.redemption_coupon)
    print(
        f"  campaign {cid}: {int(early.sum())} redemptions (any campaign) before its start; "
        f"{int(np.isin(red_c, rdm['coupon_upc'][early]).sum())} of its {len(red_c)} redeemed "
        f"coupons had been redeemed before by anyone, {sum(x in prior for x in now)} of its "
        f"{len(now)} redemptions repeat an earlier one by the same household; "
        f"{int(np.isin(np.unique(ca.redemption_household), rdm['household_id'][early]).sum())} of "
        f"its {int(keep.sum())} redeeming households had redeemed anything before"
    )
    tie = 0.01 * f + 0.001 * p
    hyb = r + tie
    # the customer's category affinity (the unseen-item fallback) for seen items they never bought
    d = rep_m._derived
    grp = np.where((cols >= 0) & (rep_m.item_category[cc] >= 0), rep_m.item_category[cc], -1)
    grp = np.where(grp >= 0, grp, d.global_group)
    catm = d.sat_group[np.maximum(codes, 0)].toarray()[:, grp]
    catm[~warm] = 0.0
    unbought = ((cols >= 0) & d.seen[cc])[None, :] & (rd <= 0)
    variants: dict[str, Callable[[], np.ndarray]] = {
        "repeat (baseline)": lambda: _offer_max(r, a),
        "hybrid (default)": lambda: _offer_max(hyb, a),
        "hybrid cf_weight=0.1": lambda: _offer_max(r + 0.1 * f + 0.001 * p, a),
        "hybrid cf_weight=1": lambda: _offer_max(r + f + 0.001 * p, a),
        "hybrid half_life=30": lambda: _offer_max(
            items(fit("repeat", half_life_days=30.0)) + tie, a
        ),
        "hybrid half_life=365": lambda: _offer_max(
            items(fit("repeat", half_life_days=365.0)) + tie, a
        ),
        "hybrid saturation=0.25": lambda: _offer_max(
            items(fit("repeat", repeat_saturation=0.25)) + tie, a
        ),
        "hybrid saturation=4": lambda: _offer_max(
            items(fit("repeat", repeat_saturation=4.0)) + tie, a
        ),
        "repeat + 0.01 z": lambda: _offer_max(r + 0.01 * z, a),
        "repeat + 0.1 z": lambda: _offer_max(r + 0.1 * z, a),
        "repeat * exp(0.03 z) + tie": lambda: _offer_max(r * np.exp(0.03 * z) + tie, a),
        "hybrid + 0.03 max(z-4,0)": lambda: _offer_max(hyb + 0.03 * np.maximum(z - 4, 0), a),
        "hybrid + 0.1 max(z-4,0)": lambda: _offer_max(hyb + 0.1 * np.maximum(z - 4, 0), a),
        "repeat + 0.01 ii + pop": lambda: _offer_max(r + 0.01 * ii + 0.001 * p, a),
        "repeat + 0.1 ii + pop": lambda: _offer_max(r + 0.1 * ii + 0.001 * p, a),
        "hybrid restock a=.3 7d": lambda: _offer_max(
            r * (1 - 0.3 * np.exp(-lst / 7) * (lst > 0)) + tie, a
        ),
        "hybrid restock a=.3 14d": lambda: _offer_max(
            r * (1 - 0.3 * np.exp(-lst / 14) * (lst > 0)) + tie, a
        ),
        "hybrid restock a=.5 7d": lambda: _offer_max(
            r * (1 - 0.5 * np.exp(-lst / 7) * (lst > 0)) + tie, a
        ),
        "hybrid max+0.01sum": lambda: _offer_max(hyb, a) + 0.01 * np.asarray((a @ hyb.T).T),
        "hybrid deal baskets x1.5": lambda: _offer_max(hyb + sat(rd + 0.5 * pd) - sat(rd), a),
        "hybrid deal baskets x2": lambda: _offer_max(hyb + sat(rd + pd) - sat(rd), a),
        "hybrid deal baskets x3": lambda: _offer_max(hyb + sat(rd + 2 * pd) - sat(rd), a),
        "hybrid + 0.03 sat(deal)": lambda: _offer_max(hyb + 0.03 * sat(pd), a),
        "hybrid + 0.3 sat(deal)": lambda: _offer_max(hyb + 0.3 * sat(pd), a),
        "repeat(1+0.25 share) + tie": lambda: _offer_max(r * (1 + 0.25 * share) + tie, a),
        "repeat(1+1 share) + tie": lambda: _offer_max(r * (1 + share) + tie, a),
        "rep(1+0.01 itemdeal) + tie": lambda: _offer_max(r * (1 + 0.01 * irate) + tie, a),
        "rep(1+0.1 itemdeal) + tie": lambda: _offer_max(r * (1 + 0.1 * irate) + tie, a),
        "rep(1+0.01 cust*item) + tie": lambda: _offer_max(r * (1 + 0.01 * crate * irate) + tie, a),
        "rep(1+0.1 cust*item) + tie": lambda: _offer_max(r * (1 + 0.1 * crate * irate) + tie, a),
        "hybrid + 0.1 cat (unbought)": lambda: _offer_max(hyb + 0.1 * catm * unbought, a),
        "hybrid + 0.25 cat (unbought)": lambda: _offer_max(hyb + 0.25 * catm * unbought, a),
        "hybrid + 1 cat (unbought)": lambda: _offer_max(hyb + catm * unbought, a),
    }
    out = {name: _auc_hit(make(), pos, keep) for name, make in variants.items()}
    out["repeat max+0.01sum (ref)"] = _auc_hit(
        _offer_max(r, a) + 0.01 * np.asarray((a @ r.T).T), pos, keep
    )
    return out


def dev_grid(cj: Any, threads: int, campaigns: list[int], cf: dict[str, int]) -> None:
    """Hybrid variants tried on the development campaigns only (never on 13 / 18).

    Item scores come from the library's own block scorer over the campaign's
    offer columns (exactly what ``score_offers`` aggregates), so the
    ``repeat`` and ``hybrid`` rows equal table (a). Variants not in the
    library are built here from the fitted models' arrays: ``z`` is the
    customer's ALS score standardised with the exact mean and standard
    deviation of ``x_u . y_i`` over all seen items (from the item factors'
    mean and covariance, so it does not depend on which items are scored),
    ``ii`` an item-item cosine score ``sum_i [x_ui>0] cos(i, j)`` over the
    customer's bought items (a CF alternative to ALS), ``restock`` damps
    items bought in the last days, and ``max+0.01sum`` adds coupon breadth.
    Promotion variants use the transactions' ``discount`` (> 0: the line was
    bought on deal): ``deal baskets xW`` counts a basket with the item on deal
    W times in the decayed repeat count before saturation, ``sat(deal)`` is
    the saturated decayed count of deal baskets alone, ``share`` the
    customer's share of their baskets with the item that were on deal,
    ``itemdeal`` the item's share of baskets on deal over all customers, and
    ``cust*item`` that times the customer's overall share of deal baskets.
    """
    print(
        "\n(a') development grid (campaigns "
        + ", ".join(map(str, campaigns))
        + " only): AUC / hit@10 per campaign; '>rep' = strictly beats repeat (same aggregate) "
        "on both figures in every campaign"
    )
    per = [_grid_campaign(cj, cid, threads, cf) for cid in campaigns]
    rows = {name: [p[name] for p in per] for name in per[0]}
    head = "".join(f"{'c' + str(c) + ' AUC':>9} {'hit@10':>6}" for c in campaigns)
    print(f"{'variant':>28}{head} {'>rep':>5}")
    for name, vals in rows.items():
        if name.endswith("(ref)"):
            continue
        base = rows["repeat max+0.01sum (ref)" if "sum" in name else "repeat (baseline)"]
        beats = all(v[0] > b[0] and v[1] > b[1] for v, b in zip(vals, base, strict=True))
        cells = "".join(f"{auc:9.4f} {hit:6.4f}" for auc, hit in vals)
        print(f"{name:>28}{cells} {'yes' if beats else 'no':>5}")
    cells = "".join(f"{auc:9.4f} {hit:6.4f}" for auc, hit in rows["repeat max+0.01sum (ref)"])
    print(f"{'repeat max+0.01sum (ref)':>28}{cells}")


# --------------------------------------------------------------------------- (b) overhead
def overhead(cj: Any, threads: int, runs: int, campaign: int, cf: dict[str, int]) -> None:
    import implicit
    import threadpoolctl
    from implicit.nearest_neighbours import bm25_weight

    tx = cj.transactions
    as_of = cj.campaign(campaign).start
    # the seed fit_affinity(random_state=0) hands to implicit, so both sides factorise alike
    seed = int(np.random.default_rng(0).integers(0, 2**31 - 1))
    opts: dict[str, Any] = {
        "regularization": 0.05,
        "factors": cf["factors"],
        "iterations": cf["iterations"],
    }

    def ours_fit() -> Any:
        return fit_affinity(
            tx, as_of=as_of, method="als", num_threads=threads, random_state=0, **opts
        )

    def direct_fit() -> Any:
        x = customer_item_matrix(tx, weight="baskets", as_of=as_of)
        c = sp.csr_matrix(bm25_weight(x.T, K1=100.0, B=0.8).T.tocsr(), dtype=np.float32)
        with threadpoolctl.threadpool_limits(1, "blas"):
            m = implicit.cpu.als.AlternatingLeastSquares(
                num_threads=threads, random_state=seed, **opts
            )
            m.fit(c, show_progress=False)
        return m, c

    # interleave the two sides so machine load hits both alike
    raw_o, raw_d, raw_so, raw_sd = [], [], [], []
    model = imodel = cmat = res = ids = None
    users = np.arange(tx.n_customers)

    def ours_score() -> Any:
        return score_items(model, top_k=10, num_threads=threads)

    def direct_score() -> Any:
        with threadpoolctl.threadpool_limits(1, "blas"):
            return imodel.recommend(users, cmat[users], N=10, filter_already_liked_items=False)

    for i in range(runs + 1):  # the first round is the warm-up
        t0 = time.perf_counter()
        model = ours_fit()
        t1 = time.perf_counter()
        imodel, cmat = direct_fit()
        t2 = time.perf_counter()
        res = ours_score()
        t3 = time.perf_counter()
        ids, _ = direct_score()
        t4 = time.perf_counter()
        if i:
            raw_o.append(t1 - t0)
            raw_d.append(t2 - t1)
            raw_so.append(t3 - t2)
            raw_sd.append(t4 - t3)
    t_ours, t_dir = statistics.median(raw_o), statistics.median(raw_d)
    s_ours, s_dir = statistics.median(raw_so), statistics.median(raw_sd)
    agree = float(
        np.mean(
            [
                len(set(a) & set(b)) / 10
                for a, b in zip(res.top_index.tolist(), ids.tolist(), strict=True)
            ]
        )
    )
    print(
        f"\n(b) overhead vs implicit on Complete Journey before campaign {campaign} "
        f"({tx.n_customers} customers x {tx.n_items} items, ALS factors={opts['factors']}, "
        f"{opts['iterations']} iterations, bm25, num_threads={threads}); interleaved runs, "
        f"median of {runs} after 1 warm-up round"
    )
    print(
        f"{'step':>22} {'onetoone s':>11} {'implicit s':>11} {'ratio':>6}  "
        "raw onetoone / raw implicit"
    )
    print(
        f"{'fit':>22} {t_ours:11.3f} {t_dir:11.3f} {t_ours / t_dir:6.3f}  "
        f"{[round(x, 3) for x in raw_o]} / {[round(x, 3) for x in raw_d]}"
    )
    print(
        f"{'score top-10 all cust.':>22} {s_ours:11.3f} {s_dir:11.3f} {s_ours / s_dir:6.3f}  "
        f"{[round(x, 3) for x in raw_so]} / {[round(x, 3) for x in raw_sd]}"
    )
    tot_o, tot_d = t_ours + s_ours, t_dir + s_dir
    print(f"{'fit + score':>22} {tot_o:11.3f} {tot_d:11.3f} {tot_o / tot_d:6.3f}")
    print(
        f"mean top-10 overlap with implicit's recommend: {agree:.3f}; identical factors: "
        f"{np.array_equal(model.item_factors, imodel.item_factors)} (same seed and kernel; the "
        "differences are items never bought before as_of, which implicit leaves at a zero "
        "factor and onetoone scores with the shrunk category-mean fallback)"
    )
    hyb = fit_affinity(tx, as_of=as_of, num_threads=threads, random_state=0, **opts)
    h_med, h_raw, _ = timed(lambda: score_items(hyb, top_k=10, num_threads=threads), runs)
    print(
        f"hybrid (no implicit counterpart): fit {hyb.fit_seconds:.3f}s, score top-10 "
        f"{h_med:.3f}s median {[round(x, 3) for x in h_raw]}"
    )


# --------------------------------------------------------------------------- (c) scale
def scale(threads: int, sizes: list[int], n_offers: int, quick: bool) -> None:
    n_items = 20_000 if not quick else 4_000
    n_fit = max(sizes)
    t0 = time.perf_counter()
    tx = synthetic_transactions(
        n_fit, n_items, visits_per_customer=6.0, lines_per_basket=5.0, random_state=0
    )
    t_gen = time.perf_counter() - t0
    m = fit_affinity(
        tx, method="hybrid", factors=32, iterations=5, num_threads=threads, random_state=0
    )
    rng = np.random.default_rng(0)
    per = rng.integers(1, 11, n_offers)
    o_ids = np.repeat(np.arange(n_offers), per)
    it = rng.choice(m.items.values, size=len(o_ids))
    offers = Offers.from_pairs(o_ids, it, items=m.items, cost=1.0)
    print(
        f"\n(c) scale: top-10 of {n_offers} offers (1-10 items each, {len(o_ids)} pairs, "
        f"{n_items} items), hybrid, max; synthetic log {tx.n_rows:,} rows "
        f"(generated in {t_gen:.1f}s, fitted in {m.fit_seconds:.1f}s)"
    )
    print(
        f"{'customers':>10} {'seconds':>8} {'cust/s':>9} {'peak traced MiB':>16} "
        f"{'result MiB':>11} {'peak - result':>14}"
    )
    for n in sizes:
        cust = m.customers.values[:n]
        tracemalloc.start()
        t0 = time.perf_counter()
        sc = score_offers(m, cust, offers, top_k=10, num_threads=threads)
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert sc.top_index is not None and sc.top_score is not None
        res = (sc.top_index.nbytes + sc.top_score.nbytes) / 2**20
        print(
            f"{n:>10} {dt:8.2f} {n / dt:9.0f} {peak / 2**20:16.1f} {res:11.1f} "
            f"{peak / 2**20 - res:14.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run of a few seconds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["quality", "grid", "overhead", "scale"], default=None)
    args = ap.parse_args()
    print(machine())
    print(f"command: {' '.join(sys.argv)}")
    methods = ["popularity", "repeat", "als", "bpr", "hybrid"]
    full_cf = {"factors": 64, "iterations": 15}  # the defaults
    quick_cf = {"factors": 16, "iterations": 3, "bpr_iterations": 10}  # smoke run only
    need_cj = args.only in (None, "quality", "grid", "overhead")
    cj = complete_journey() if need_cj else None
    if args.only in (None, "quality"):
        if args.quick:
            quality(cj, [27], args.threads, ["popularity", "repeat", "hybrid"], quick_cf)
        else:
            quality(cj, [8, 27, 13, 18], args.threads, methods, full_cf)
            calibration(cj, args.threads)
    if args.only in (None, "grid"):
        if args.quick:
            dev_grid(cj, args.threads, [27], quick_cf)
        else:
            dev_grid(cj, args.threads, [8, 27], full_cf)
    if args.only in (None, "overhead"):
        if args.quick:
            overhead(cj, args.threads, 1, 27, quick_cf)
        else:
            overhead(cj, args.threads, 3, 8, full_cf)
    if args.only in (None, "scale"):
        if args.quick:
            scale(args.threads, [1_000, 4_000], 500, True)
        else:
            scale(args.threads, [10_000, 30_000, 100_000], 5_000, False)


if __name__ == "__main__":
    main()
