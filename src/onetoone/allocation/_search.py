"""The price search of the Lagrangian dual, over an evaluation oracle.

One implementation for every engine. The search only sees prices and reduced
figures: an oracle evaluates every customer's best plan at prices ``(lam, mu)``
and returns the Lagrangian term and the usage of each budget and cap. The
one-machine solver (:mod:`onetoone.allocation._solve`) sums over blocks of
customers in memory; the Dask one (:mod:`onetoone.distributed._dual`) sums over
partitions, reducing only those figures to the client.

The search minimises the dual ``L(lam, mu) = lagr + lam . B + mu . cap`` over
prices ``>= 0``: Gauss-Seidel line searches (Illinois false position) on the
budget prices, a safeguarded Jacobi step on the cap prices towards each offer's
own target, then Marsten's box-step cutting planes when the coordinate steps
stall. Every evaluation is a valid upper bound (weak duality); the best is kept.
"""

from __future__ import annotations

from typing import Protocol

import attrs
import numpy as np
from scipy.optimize import linprog

from onetoone._arrays import F64, I64

#: Largest price tried: ``price * usage`` and ``price * limit`` stay finite for inputs
#: within the accepted magnitudes (``<= 1e100``) of all but subnormal limits.
MAX_PRICE = 1e200


class Evaluation(Protocol):
    """What an oracle returns for prices ``(lam, mu)``."""

    @property
    def lagr(self) -> float:
        """Sum over customers of their best plan's reduced value."""
        ...

    @property
    def spend(self) -> F64:
        """Usage of each budget by those plans."""
        ...

    @property
    def use(self) -> F64:
        """Cap usage of each offer by those plans."""
        ...


@attrs.frozen
class Figures:
    """A plain :class:`Evaluation` (the sums over partitions, for instance)."""

    lagr: float
    spend: F64
    use: F64


class PriceOracle(Protocol):
    """The engine behind the search: evaluations at given prices."""

    def evaluate(self, lam: F64, mu: F64) -> Evaluation:
        """Every customer's best plan at prices ``(lam, mu)``, summed."""
        ...

    def cap_targets(self, lam: F64, mu: F64, offers: I64) -> tuple[F64, Evaluation]:
        """Per offer of ``offers``, its own cap price target, and the evaluation at (lam, mu).

        The target is the smallest price ``>= 0`` at which the candidates' margins
        (the own-offer price at which each is still chosen, the other prices held
        fixed) fit under the offer's cap.
        """
        ...

    def budget_top(self, b: int) -> float:
        """A price of budget ``b`` above which no pair using it is worth choosing."""
        ...


@attrs.define
class PriceSearch:
    """State of the price search: current prices, best bound, cutting planes.

    ``budgets`` and ``capped`` are the prices the search moves (the others stay
    at zero); ``box_scale`` is the smallest half-width of the box step's first box.
    """

    oracle: PriceOracle
    limits: F64  # per budget (inf: no limit)
    caps: F64  # per offer (inf: no cap)
    budgets: I64
    capped: I64
    box_scale: float
    lam: F64
    mu: F64
    bound: float = np.inf
    best_lam: F64 | None = None
    best_mu: F64 | None = None
    evals: int = 0
    cuts_y: list[F64] = attrs.Factory(list)
    cuts_f: list[float] = attrs.Factory(list)
    cuts_g: list[F64] = attrs.Factory(list)
    _fb: np.ndarray | None = None
    _fc: np.ndarray | None = None

    @property
    def dim(self) -> int:
        """Number of prices the search moves."""
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

    def value(self, lam: F64, mu: F64, lagr: float) -> float:
        """The dual at (lam, mu) given the oracle's Lagrangian term."""
        if self._fb is None or self._fc is None:
            self._fb = np.isfinite(self.limits)
            self._fc = np.isfinite(self.caps)
        fb, fc = self._fb, self._fc
        return float(lagr + lam[fb] @ self.limits[fb] + mu[fc] @ self.caps[fc])

    def track(self, lam: F64, mu: F64, ev: Evaluation) -> float:
        """Record the dual value at (lam, mu) and its subgradient as a cutting plane."""
        val = self.value(lam, mu, ev.lagr)
        self.evals += 1
        g = np.concatenate(
            [
                self.limits[self.budgets] - ev.spend[self.budgets],
                self.caps[self.capped] - ev.use[self.capped],
            ]
        )
        self.cuts_y.append(self.pack(lam, mu))
        self.cuts_f.append(val)
        self.cuts_g.append(g)
        if val < self.bound:
            self.bound = val
            self.best_lam = lam.copy()
            self.best_mu = mu.copy()
        return val

    def run(self, lam: F64, mu: F64) -> tuple[float, Evaluation]:
        """Evaluate and record the dual at (lam, mu)."""
        ev = self.oracle.evaluate(lam, mu)
        return self.track(lam, mu, ev), ev

    # ------------------------------------------------------------------ steps
    def step(self, box_mode: bool, tol: float) -> bool:
        """One sweep over the prices; True when the dual is certified minimised.

        Coordinate steps (a line search per budget, then a cap step), or, in
        ``box_mode``, box-step cutting planes around the best prices.
        """
        if self.dim == 0:
            self.run(self.lam, self.mu)
            return True
        if not box_mode:
            for b in self.budgets.tolist():
                self.lam[b] = self.line_search(int(b), 0.05 * tol)
            if len(self.capped):
                self.cap_sweep()
            return self.dim == 1
        return self.box_step(8 + 2 * self.dim, tol)

    def line_search(self, b: int, rel_tol: float) -> float:
        """The price of budget ``b`` minimising the dual along it (Illinois false position)."""
        lim = float(self.limits[b])
        if not np.isfinite(lim):
            return 0.0

        def run(x: float) -> float:
            lam = self.lam.copy()
            lam[b] = x
            _, ev = self.run(lam, self.mu)
            return float(ev.spend[b]) - lim

        x0 = float(self.lam[b])
        g0 = run(x0)
        if g0 <= 0.0:
            if x0 == 0.0:
                return 0.0
            hi, ghi = x0, g0
            lo = x0 / 4.0
            glo = run(lo)
            if glo <= 0.0:
                g_zero = run(0.0)
                if g_zero <= 0.0:
                    return 0.0
                hi, ghi, lo, glo = lo, glo, 0.0, g_zero
        else:
            lo, glo = x0, g0
            # a price above it makes every such pair worthless
            top = min(self.oracle.budget_top(b), MAX_PRICE)
            hi = min(max(2.0 * x0, 1e-12), top) if x0 > 0 else top
            ghi = run(hi)
            if ghi > 0.0 and hi < top:
                lo, glo = hi, ghi
                hi = top
                ghi = run(hi)
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
            gx = run(x)
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
        return hi

    def cap_sweep(self) -> None:
        """The cap prices: a Jacobi step to each offer's own target, safeguarded.

        A full step, else a half step, whichever does not increase the dual; else
        one offer at a time (Gauss-Seidel), each set exactly to its target.
        """
        caps = self.capped
        target, ev = self.oracle.cap_targets(self.lam, self.mu, caps)
        cur = self.track(self.lam, self.mu, ev)
        step = target - self.mu[caps]
        if not bool(np.any(step != 0.0)):
            return
        for alpha in (1.0, 0.5):
            mu = self.mu.copy()
            mu[caps] += alpha * step
            f, _ = self.run(self.lam, mu)
            if f <= cur:
                self.mu = mu
                return
        for o in caps[np.argsort(-np.abs(step), kind="stable")].tolist():
            t, ev = self.oracle.cap_targets(self.lam, self.mu, np.array([o], dtype=np.int64))
            self.track(self.lam, self.mu, ev)
            self.mu[o] = t[0]

    def box_step(self, n_steps: int, tol: float) -> bool:
        """Cutting planes in a moving box (Marsten's box-step) from the best prices.

        Every evaluation so far is a cut ``L(y) >= f_i + g_i . (y - y_i)``; the
        model's minimum in a box around the best point is the next trial point.
        Used when coordinate steps stall at a kink of the (piecewise-linear) dual.
        Returns True when the model certifies the dual minimised within ``tol``.
        """
        assert self.best_lam is not None and self.best_mu is not None
        center = self.pack(self.best_lam, self.best_mu)
        dim = len(center)
        if dim == 0:
            return True
        delta = 0.5 * max(float(np.abs(center).max()), self.box_scale)
        for _ in range(n_steps):
            ys = np.array(self.cuts_y)
            fs = np.array(self.cuts_f)
            gs = np.array(self.cuts_g)
            # variables (y, t): minimise t s.t. g_i.y - t <= g_i.y_i - f_i
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
            model = float(res.x[-1])
            f_best = self.bound
            predicted = f_best - model
            if predicted <= 0.1 * tol * max(abs(f_best), 1e-300):
                in_box = bool(
                    np.all((y > lo + 1e-9 * delta) | (lo == 0.0)) and np.all(y < hi - 1e-9 * delta)
                )
                if in_box:
                    return True
                delta *= 2.0
                continue
            lam, mu = self.unpack(y)
            f, _ = self.run(lam, mu)
            if f <= f_best - 0.1 * predicted:
                center = y
                if bool(np.any(np.isclose(y, hi)) or np.any(np.isclose(y, lo) & (lo > 0))):
                    delta *= 2.0
            else:
                delta *= 0.5
        return False
