"""The price search of the distributed dual: a driver that sees only reduced figures.

It is given an oracle ``(lam, mu) -> (lagr, spend, use, magnitude)`` (the sums over
all partitions of :func:`~onetoone.distributed.dual_step`) and minimises the
Lagrangian dual ``L(lam, mu) = lagr + lam . B + mu . cap`` over prices ``>= 0``:
Gauss-Seidel line searches (Illinois false position) on the budget prices, a
vectorised bisection on the cap prices, then Marsten's box-step cutting planes
when the coordinate steps stall, as the one-machine solver does. Every evaluation
is a valid upper bound (weak duality); the best is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
from scipy.optimize import linprog

from onetoone._arrays import F64, I64

_EPS = float(np.finfo(np.float64).eps)
_MAX_PRICE = 1e200

Oracle = Callable[[F64, F64], tuple[float, F64, F64, float]]


@attrs.define
class DualSearch:
    """State of the price search (prices, best bound, cutting planes)."""

    oracle: Oracle
    limits: F64  # per budget (inf: no limit)
    caps: F64  # per offer (inf: no cap)
    budgets: I64  # budgets that can bind
    capped: I64  # offers whose cap can bind
    top_b: F64  # per budget: price above which no pair using it is chosen
    top_c: F64  # per offer
    lam: F64
    mu: F64
    bound: float = np.inf
    bound_mag: float = 0.0
    best_lam: F64 | None = None
    best_mu: F64 | None = None
    evals: int = 0
    cuts_y: list[F64] = attrs.Factory(list)
    cuts_f: list[float] = attrs.Factory(list)
    cuts_g: list[F64] = attrs.Factory(list)

    @property
    def dim(self) -> int:
        return len(self.budgets) + len(self.capped)

    def pack(self, lam: F64, mu: F64) -> F64:
        return np.concatenate([lam[self.budgets], mu[self.capped]])

    def unpack(self, y: F64) -> tuple[F64, F64]:
        lam = np.zeros_like(self.lam)
        mu = np.zeros_like(self.mu)
        nb = len(self.budgets)
        lam[self.budgets] = y[:nb]
        mu[self.capped] = y[nb:]
        return lam, mu

    def run(self, lam: F64, mu: F64) -> tuple[float, F64, F64]:
        """Evaluate the dual at (lam, mu); record it as a cut. Returns (value, spend, use)."""
        lagr, spend, use, mag = self.oracle(lam, mu)
        self.evals += 1
        fb, fc = self.budgets, self.capped
        val = float(lagr + lam[fb] @ self.limits[fb] + mu[fc] @ self.caps[fc])
        g = np.concatenate([self.limits[fb] - spend[fb], self.caps[fc] - use[fc]])
        self.cuts_y.append(self.pack(lam, mu))
        self.cuts_f.append(val)
        self.cuts_g.append(g)
        if val < self.bound:
            self.bound = val
            self.bound_mag = mag + float(
                np.abs(lam[fb] * self.limits[fb]).sum() + np.abs(mu[fc] * self.caps[fc]).sum()
            )
            self.best_lam = lam.copy()
            self.best_mu = mu.copy()
        return val, spend, use

    # ------------------------------------------------------------------ steps
    def line_search(self, b: int, rel_tol: float) -> None:
        """Minimise along budget ``b``'s price (Illinois false position)."""
        lim = float(self.limits[b])

        def g_at(x: float) -> float:
            lam = self.lam.copy()
            lam[b] = x
            _, spend, _ = self.run(lam, self.mu)
            return float(spend[b]) - lim

        x0 = float(self.lam[b])
        top = min(float(self.top_b[b]), _MAX_PRICE)
        g0 = g_at(x0)
        if g0 <= 0.0:
            if x0 == 0.0:
                self.lam[b] = 0.0
                return
            hi, ghi = x0, g0
            lo = x0 / 4.0
            glo = g_at(lo)
            if glo <= 0.0:
                gz = g_at(0.0)
                if gz <= 0.0:
                    self.lam[b] = 0.0
                    return
                hi, ghi, lo, glo = lo, glo, 0.0, gz
        else:
            lo, glo = x0, g0
            hi = min(max(2.0 * x0, 1e-12), top) if x0 > 0 else top
            ghi = g_at(hi)
            if ghi > 0.0 and hi < top:
                lo, glo, hi = hi, ghi, top
                ghi = g_at(hi)
        side = 0
        for _ in range(40):
            scale = max(abs(self.bound), 1e-300) if np.isfinite(self.bound) else 1.0
            if (hi - lo) * max(-ghi, 0.0) <= rel_tol * scale and (hi - lo) * glo <= rel_tol * scale:
                break
            if hi - lo <= 1e-12 * max(hi, 1e-300):
                break
            x = hi - ghi * (hi - lo) / (ghi - glo) if ghi != glo else 0.5 * (lo + hi)
            span = hi - lo
            x = min(max(x, lo + 1e-3 * span), hi - 1e-3 * span)
            gx = g_at(x)
            if gx > 0.0:
                lo, glo = x, gx
                if side == -1:
                    ghi *= 0.5
                side = -1
            else:
                hi, ghi = x, gx
                if side == 1:
                    glo *= 0.5
                side = 1
        self.lam[b] = hi

    def cap_bisection(self, steps: int = 30) -> None:
        """All capped offers' prices at once: bisection on each offer's own cap usage."""
        c = self.capped
        lo = np.zeros(len(c))
        hi = np.minimum(np.maximum(self.top_c[c], 1e-12), _MAX_PRICE)
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            mu = self.mu.copy()
            mu[c] = mid
            _, _, use = self.run(self.lam, mu)
            over = use[c] > self.caps[c]
            lo = np.where(over, mid, lo)
            hi = np.where(over, hi, mid)
            if bool(np.all(hi - lo <= 1e-9 * np.maximum(hi, 1e-300))):
                break
        self.mu[c] = hi

    def cap_step(self, targets: Callable[[F64, F64, I64], F64]) -> None:
        """Jacobi step on the cap prices to each offer's own target, safeguarded.

        ``targets(lam, mu, offers)`` returns, per offer of ``offers``, the smallest
        price at which its candidates' margins (the price each would still be
        chosen at) fit under its cap, the other prices held fixed. As the
        one-machine cap sweep: a full step, a half step, else one offer at a time
        (Gauss-Seidel), which never increases the dual.
        """
        c = self.capped
        cur, _, _ = self.run(self.lam, self.mu)
        step = targets(self.lam, self.mu, c) - self.mu[c]
        if not bool(np.any(step != 0.0)):
            return
        for alpha in (1.0, 0.5):
            mu = self.mu.copy()
            mu[c] = np.maximum(mu[c] + alpha * step, 0.0)
            f, _, _ = self.run(self.lam, mu)
            if f <= cur:
                self.mu = mu
                return
        for o in c[np.argsort(-np.abs(step), kind="stable")].tolist():
            one = np.array([o], dtype=np.int64)
            self.mu[o] = float(targets(self.lam, self.mu, one)[0])
        self.run(self.lam, self.mu)

    def box_step(self, n_steps: int, tol: float, value_scale: float) -> bool:
        """Cutting planes in a moving box around the best prices; True when certified."""
        assert self.best_lam is not None and self.best_mu is not None
        center = self.pack(self.best_lam, self.best_mu)
        dim = len(center)
        if dim == 0:
            return True
        delta = 0.5 * max(float(np.abs(center).max()), 1e-3 * value_scale)
        for _ in range(n_steps):
            ys, fs, gs = np.array(self.cuts_y), np.array(self.cuts_f), np.array(self.cuts_g)
            a_ub = np.hstack([gs, -np.ones((len(fs), 1))])
            b_ub = np.einsum("ij,ij->i", gs, ys) - fs
            lo = np.maximum(center - delta, 0.0)
            hi = center + delta
            c = np.zeros(dim + 1)
            c[-1] = 1.0
            res = linprog(
                c,
                A_ub=a_ub,
                b_ub=b_ub,
                bounds=[*zip(lo.tolist(), hi.tolist(), strict=True), (None, None)],
                method="highs",
            )
            if res.x is None:
                return False
            y = np.maximum(np.asarray(res.x[:dim], dtype=np.float64), 0.0)
            f_best = self.bound
            predicted = f_best - float(res.x[-1])
            if predicted <= 0.1 * tol * max(abs(f_best), 1e-300):
                inside = bool(
                    np.all((y > lo + 1e-9 * delta) | (lo == 0.0)) and np.all(y < hi - 1e-9 * delta)
                )
                if inside:
                    return True
                delta *= 2.0
                continue
            lam, mu = self.unpack(y)
            f, _, _ = self.run(lam, mu)
            if f <= f_best - 0.1 * predicted:
                center = y
            else:
                delta *= 0.5
        return False

    def certified_bound(self, n_terms: int) -> float:
        """The best dual value raised by a bound on its rounding (a proven upper bound)."""
        margin = (16.0 + np.log2(n_terms + 2)) * _EPS * self.bound_mag
        return float(np.nextafter(self.bound + margin * (1.0 + 1e-6), np.inf))
