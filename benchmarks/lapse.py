"""Lapse risk on the Complete Journey: does it rank the households that lapse better than recency?

Run:  PYTHONPATH=src python benchmarks/lapse.py [--n-boot N] [--horizon DAYS] [--quick]

Protocol (issue 16), for each cut ``C``: the households are those with a purchase
before ``C`` (``timestamp < C``); a household *lapses* when it has no purchase in
``[C, C + H)`` (``H`` = 92 days: the 13.1 weeks from 2017-07-01 to 2017-10-01).
Every score is computed from rows before ``C`` only; the models are fitted by
``fit_lapse(tx, as_of=C, horizon_days=H)``, i.e. on the earlier cut ``C - H``
(features there, labels in ``[C - H, C)``), never on the holdout.

Scores: ``recency`` (days since the last shopping day), ``recency / own mean
gap`` (the issue's second baseline; one-day households get the shrunk mean gap,
see ``lapse_features``), ``1 - P(alive)`` of the library's BG/NBD and MBG/NBD
(``purchase_summary(unit="W")``, ``fit_frequency``, ``p_alive``), two
principled, monotone alternatives -- the ``gap_survival`` feature alone
(empirical conditional gap survival, unfitted; any increasing calibration gives
the same AUC) and a gamma renewal process with a
dropout share fitted by maximum likelihood on the earlier cut -- and the library's
``fit_lapse`` logistic model, also with three profile features. AUC with average
ranks for ties; the interval is a paired bootstrap over households (same
resample for both scores, seeded, 2,000 resamples) of the AUC difference, 95 %
percentile: every score against recency, and the logistic model against the
*strongest* of the issue's baselines at that cut (recency or MBG/NBD, the
higher AUC) and against MBG/NBD.

The development cut is 2017-07-01 (2,393 households, 126 lapsed: the issue's
figures). Earlier and later cuts are printed too: the issue judges the model on a
cut we do not tune on, so the defaults were chosen once and not per cut.

Measured 2026-12-02 on 2 shared cores (load average 4.2 at the start), AUC;
``logistic - strongest`` is the logistic model minus the stronger of recency and
MBG/NBD at that cut (``*``: MBG/NBD), with its 95 % interval:

==========  =====  ======  =======  =========  ======  =======  =======  ========
cut         hh     lapsed  recency  rec / gap  BG/NBD  MBG/NBD  renewal  logistic
==========  =====  ======  =======  =========  ======  =======  =======  ========
2017-05-01  2,327  93      0.843    0.740      0.572   0.833    0.863    0.848
2017-06-01  2,372  115     0.839    0.726      0.639   0.846    0.814    0.874
2017-07-01  2,393  126     0.871    0.753      0.680   0.863    0.822    0.907
2017-08-01  2,414  137     0.860    0.725      0.650   0.819    0.844    0.897
2017-09-01  2,430  140     0.868    0.750      0.644   0.809    0.844    0.905
2017-10-01  2,446  142     0.857    0.763      0.669   0.837    0.824    0.891
==========  =====  ======  =======  =========  ======  =======  =======  ========

==========  ==========================  =========================
cut         logistic - strongest        logistic - MBG/NBD
==========  ==========================  =========================
2017-05-01  +0.005 [-0.020, +0.031]     +0.015 [-0.011, +0.039]
2017-06-01  +0.028 [+0.007, +0.047] *   +0.028 [+0.007, +0.047]
2017-07-01  +0.036 [+0.021, +0.054]     +0.044 [+0.029, +0.058]
2017-08-01  +0.037 [+0.016, +0.060]     +0.078 [+0.057, +0.100]
2017-09-01  +0.037 [+0.014, +0.063]     +0.096 [+0.063, +0.129]
2017-10-01  +0.034 [+0.014, +0.056]     +0.054 [+0.033, +0.076]
==========  ==========================  =========================

BG/NBD and MBG/NBD columns are ``1 - P(alive)`` of the library's models (the
issue's 0.673 came from a quick stand-in fit; the library's BG/NBD gives 0.680,
its MBG/NBD 0.863, at 2017-07-01); ``renewal`` the gamma renewal with dropout.
At 2017-05-01 the lapse model beats NEITHER baseline: its intervals against
recency and against MBG/NBD both span 0. That cut trains on 2017-01-29, four
weeks after the log starts: too little rhythm to learn from. At every later cut
it beats the strongest baseline (MBG/NBD at 2017-06-01, recency elsewhere).
The issue's 0.723 for recency / own mean gap is not
reproduced: it depends on how one-day households are scored (0.562 if their ratio
is 0, 0.756 if it is the largest, 0.685 with the tenure as their gap, 0.707 over
repeat households only); this script uses the shrunk mean gap (0.753).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from _machine import machine_line
from scipy.optimize import minimize_scalar
from scipy.special import expit, gammaincc
from scipy.stats import rankdata

from onetoone.data import Transactions
from onetoone.datasets import complete_journey
from onetoone.value import fit_frequency, fit_lapse, lapse_features, p_alive, purchase_summary

CUTS = ("2017-05-01", "2017-06-01", "2017-07-01", "2017-08-01", "2017-09-01", "2017-10-01")
DEV = "2017-07-01"


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Rank AUC of ``score`` for ``y == 1`` (average ranks for ties)."""
    r = rankdata(score)
    n1 = y.sum()
    n0 = len(y) - n1
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_rows(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of each row of ``scores`` against the matching row of ``y`` (resamples)."""
    r = rankdata(scores, axis=1)
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    out: np.ndarray = ((r * y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return out


def paired_diff(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float]:
    """95 % percentile interval of AUC(a) - AUC(b), households resampled (both scores alike)."""
    rng = np.random.default_rng(seed)
    lo_hi = []
    diffs = []
    for start in range(0, n_boot, 250):  # blocks of resamples: memory bounded
        k = min(250, n_boot - start)
        idx = rng.integers(0, len(y), size=(k, len(y)))
        yy = y[idx]
        diffs.append(auc_rows(a[idx], yy) - auc_rows(b[idx], yy))
    d = np.concatenate(diffs)
    lo_hi = np.percentile(d, [2.5, 97.5])
    return float(lo_hi[0]), float(lo_hi[1])


def lapsed(tx: Transactions, customers: np.ndarray, cut: np.datetime64, h: float) -> np.ndarray:
    end = cut + np.timedelta64(round(h * 86400), "s")
    w = (tx.timestamp >= cut) & (tx.timestamp < end)
    bought = np.zeros(tx.n_customers, dtype=bool)
    bought[tx.customer[w]] = True
    return ~bought[tx.customers.encode(customers)]


def _renewal_parts(tx: Transactions, cut: np.datetime64, h: float) -> tuple[Any, ...]:
    """``S_i(e)``, ``S_i(e + H)`` of a gamma renewal process with a pooled shape ``k``.

    Gaps between shopping days ~ Gamma(shape ``k``, mean ``m_i``): ``m_i`` the
    customer's mean gap shrunk to the population's (``mean_gap_days`` with two
    pseudo-gaps), ``k`` = 1 / mean squared coefficient of variation of the
    customers with three or more shopping days (method of moments).
    """
    f = lapse_features(tx, as_of=cut, horizon_days=h)
    e, n, m, sd = f["recency_days"], f["frequency"], f["mean_gap_days"], f["sd_gap_days"]
    ng = n - 1.0
    total = m * ng
    pop = total.sum() / ng.sum()
    ms = (total + 2.0 * pop) / (ng + 2.0)
    ok = ng >= 2
    k = 1.0 / np.mean((sd[ok] / m[ok]) ** 2)
    return f, gammaincc(k, k * e / ms), gammaincc(k, k * (e + h) / ms)


def renewal_dropout(tx: Transactions, cut: np.datetime64, h: float) -> np.ndarray:
    """A principled alternative: gamma renewal with a dropout share, ML on the earlier cut.

    ``P(lapse) = (pi + (1 - pi) S(e + H)) / (pi + (1 - pi) S(e))``: a dead
    customer never buys, an alive one's open gap must exceed ``e + H`` given it
    exceeds ``e``; ``pi`` is fitted by maximum likelihood on the training cut's
    labels (``cut - H``), never on the holdout.
    """
    dt = np.timedelta64(round(h * 86400), "s")
    f0, se0, seh0 = _renewal_parts(tx, cut - dt, h)
    y0 = lapsed(tx, f0.customers.values, cut - dt, h)

    def prob(lp: float, se: np.ndarray, seh: np.ndarray) -> np.ndarray:
        pi = expit(lp)
        out: np.ndarray = np.clip((pi + (1 - pi) * seh) / (pi + (1 - pi) * se), 1e-12, 1 - 1e-12)
        return out

    def nll(lp: float) -> float:
        p = prob(lp, se0, seh0)
        return float(-np.sum(np.where(y0, np.log(p), np.log1p(-p))))

    lp = float(minimize_scalar(nll, bounds=(-20.0, 5.0), method="bounded").x)
    _, se, seh = _renewal_parts(tx, cut, h)
    return prob(lp, se, seh)


def frequency_dropout(tx: Transactions, cut: np.datetime64, method: str) -> tuple[Any, Any]:
    """``1 - P(alive)`` of the library's BG/NBD or MBG/NBD, fitted at ``cut`` on rows before it.

    ``purchase_summary(tx, as_of=cut, unit="W")`` (shopping days, weeks) then
    ``fit_frequency(summary, method=...)`` and ``p_alive``: the models of
    ``onetoone.value``, not a stand-in. Returns the ids and the scores.
    """
    s = purchase_summary(tx, as_of=cut, unit="W")
    model = fit_frequency(s, method=method)  # type: ignore[arg-type]
    if not model.success:
        print(f"  warning: {method} fit at {str(cut)[:10]}: {model.message}")
    return s.customers, 1.0 - p_alive(model, s)


def evaluate(tx: Transactions, cut_s: str, h: float, n_boot: int) -> None:
    cut = np.datetime64(cut_s, "s")
    t0 = time.perf_counter()
    f = lapse_features(tx, as_of=cut, horizon_days=h)
    y = lapsed(tx, f.customers.values, cut, h)
    scores: dict[str, np.ndarray] = {
        "recency": f["recency_days"],
        "recency / own mean gap": f["recency_ratio"],
        "gap_survival (unfitted)": f["gap_survival"],
    }
    fits = {}
    for method, label in (("bgnbd", "BG/NBD"), ("mbgnbd", "MBG/NBD")):
        ids, dead = frequency_dropout(tx, cut, method)
        assert ids == f.customers
        scores[f"1 - P(alive), {label}"] = dead
    scores["gamma renewal + dropout"] = renewal_dropout(tx, cut, h)
    for name, kw in (
        ("logistic model", {}),
        (
            "logistic + profile",
            {"profile_features": ("avg_basket_value", "discount_share", "distinct_items")},
        ),
    ):
        m = fit_lapse(tx, as_of=cut, horizon_days=h, random_state=0, **kw)  # type: ignore[arg-type]
        r = m.predict(tx, as_of=cut)
        assert r.customers == f.customers
        scores[name] = r.risk
        fits[name] = m
    elapsed = time.perf_counter() - t0
    end = cut + np.timedelta64(round(h * 86400), "s")
    print(
        f"\ncut {cut_s}: {len(y):,} households, {int(y.sum())} lapsed in [{cut_s}, "
        f"{str(end)[:10]}); models fitted at {str(fits['logistic model'].fit_as_of)[:10]} "
        f"({fits['logistic model'].n_train:,} households, {fits['logistic model'].n_lapsed} "
        f"lapsed, l2={fits['logistic model'].l2:g}); {elapsed:.1f} s"
    )
    base = scores["recency"]
    for name, sc in scores.items():
        a = auc(sc, y)
        if name == "recency":
            print(f"  {name:26s} AUC {a:.3f}")
            continue
        lo, hi = paired_diff(sc, base, y, n_boot, seed=0)
        print(
            f"  {name:26s} AUC {a:.3f}  vs recency {a - auc(base, y):+.3f} [{lo:+.3f}, {hi:+.3f}]"
        )
    # the lapse model against the STRONGEST baseline of the two the issue names at this
    # cut (recency, or 1 - P(alive) of the MBG/NBD), paired bootstrap as above
    strong = max(("recency", "1 - P(alive), MBG/NBD"), key=lambda k: auc(scores[k], y))
    model_auc = auc(scores["logistic model"], y)
    lo, hi = paired_diff(scores["logistic model"], scores[strong], y, n_boot, seed=0)
    verdict = (
        "beats it" if lo > 0 else ("worse" if hi < 0 else "does NOT beat it (interval spans 0)")
    )
    print(
        f"  logistic vs strongest baseline ({strong}, AUC {auc(scores[strong], y):.3f}): "
        f"{model_auc - auc(scores[strong], y):+.3f} [{lo:+.3f}, {hi:+.3f}] -> {verdict}"
    )
    lo, hi = paired_diff(scores["logistic model"], scores["1 - P(alive), MBG/NBD"], y, n_boot, 0)
    print(
        f"  logistic vs MBG/NBD: {model_auc - auc(scores['1 - P(alive), MBG/NBD'], y):+.3f} "
        f"[{lo:+.3f}, {hi:+.3f}]"
    )
    if y.sum():
        p = scores["logistic model"]
        print(
            f"  calibration (logistic): mean predicted {p.mean():.3f}, observed "
            f"{y.mean():.3f}; gamma renewal + dropout "
            f"{scores['gamma renewal + dropout'].mean():.3f}"
        )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--horizon", type=float, default=92.0)
    ap.add_argument("--cuts", nargs="*", default=list(CUTS))
    ap.add_argument("--quick", action="store_true", help="development and last cut, 200 resamples")
    args = ap.parse_args()
    if args.quick:
        args.n_boot, args.cuts = 200, [DEV, CUTS[-1]]
    print(machine_line(("numpy", "scipy")))
    cj = complete_journey()
    tx = cj.transactions
    print(
        f"Complete Journey: {tx.n_rows:,} lines, {tx.n_customers:,} households, "
        f"H = {args.horizon:g} days"
    )
    for c in args.cuts:
        evaluate(tx, c, args.horizon, args.n_boot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
