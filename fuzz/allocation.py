"""Fuzz the allocation solvers against brute force (not part of ``make test``).

    python fuzz/allocation.py --n 10000 --seed 0

Generates small random problems (up to 4 customers x 3 offers, so enumerating
every plan is exact) with the numbers that break floating point: decimal values
and usages (0.1, 0.2, 0.7), tiny (1e-12..1e-6) and huge (1e50..1e90) scales,
zeros, ties, limits equal to an exact sum of usages and one ulp either side of
it. Each problem is solved with every method (``dual``, ``greedy``, ``exact``)
and by ``lp_bound``, and checked:

- the reported budget spend and offer usage are within every limit and cap, and
  equal the correctly rounded sums (``math.fsum``) of the chosen pairs, whose
  exact (real-number) sums are within the limits too; counts
  respect ``k`` and ``group_max``; the objective is the exact sum of the values;
- the plan is feasible, so its objective is at most the brute-force optimum;
- every reported bound (and ``lp_bound``'s value) is at least the brute-force
  optimum and the plan's objective;
- ``success`` agrees with ``status`` and with the reported gap; an ``exact``
  result that claims optimality is within ``mip_rel_gap`` of brute force.

Prints the counts and exits 1 on any violation (or crash).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from onetoone.allocation import Allocation, AllocationProblem, Budget, allocate, lp_bound

MIP_REL_GAP = 1e-6
TOL = 1e-4
_DECIMALS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 0.05, 0.15, 2.5])


# ------------------------------------------------------------------ generation
def _numbers(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "decimal":
        return rng.choice(_DECIMALS, size=shape)
    if kind == "integer":  # ties
        return rng.integers(0, 4, size=shape).astype(float)
    if kind == "tiny":
        return rng.uniform(0, 1, size=shape) * 10.0 ** rng.uniform(-12, -6)
    if kind == "huge":
        return rng.uniform(0, 1, size=shape) * 10.0 ** rng.uniform(50, 90)
    if kind == "mixed":  # several orders of magnitude in one problem
        return rng.uniform(0, 1, size=shape) * 10.0 ** rng.integers(-8, 3, size=shape)
    return rng.uniform(0, 1, size=shape)


def _limit(rng: np.random.Generator, usage: np.ndarray) -> float:
    """A limit: a share of the total, an exact subset sum, one ulp around it, 0 or inf."""
    flat = usage.ravel()
    mode = rng.integers(0, 6)
    if mode == 0:
        return float(rng.uniform(0, 1) * flat.sum())
    if mode == 5:
        return float(rng.choice([0.0, np.inf, 0.7, 0.3]))
    pick = flat[rng.random(len(flat)) < 0.5]
    s = math.fsum(pick.tolist())
    if mode == 3:
        return math.nextafter(s, math.inf)
    if mode == 4:
        return max(0.0, math.nextafter(s, -math.inf))
    return s


def random_problem(rng: np.random.Generator) -> AllocationProblem:
    n = int(rng.integers(1, 5))
    m = int(rng.integers(1, 4))
    kinds = ["decimal", "integer", "tiny", "huge", "mixed", "uniform"]
    vk = kinds[rng.integers(0, len(kinds))]
    uk = kinds[rng.integers(0, len(kinds))]
    value = _numbers(rng, (n, m), vk)
    value[rng.random((n, m)) < 0.1] = 0.0
    cost = _numbers(rng, (n, m), uk)
    cost[rng.random((n, m)) < 0.15] = 0.0
    eligible = rng.random((n, m)) < 0.85
    budgets = []
    for b in range(int(rng.integers(0, 3))):
        usage = None if b == 0 else _numbers(rng, (n, m), kinds[rng.integers(0, len(kinds))])
        budgets.append(Budget(f"b{b}", _limit(rng, cost if usage is None else usage), usage=usage))
    k: Any = int(rng.integers(0, 4)) if rng.random() < 0.7 else rng.integers(0, 3, size=n)
    group = rng.integers(0, 2, size=m) if rng.random() < 0.3 else None
    cap = None
    cap_usage = None
    if rng.random() < 0.4:
        if rng.random() < 0.5:
            cap_usage = _numbers(rng, (n, m), "decimal" if rng.random() < 0.6 else "uniform")
            cap = np.array([_limit(rng, cap_usage[:, j]) for j in range(m)])
        else:
            cap = rng.integers(0, n + 1, size=m).astype(float)
        cap[rng.random(m) < 0.3] = np.inf
    min_value = None if rng.random() < 0.85 else float(np.median(value))
    return AllocationProblem.from_dense(
        value,
        cost,
        budgets=budgets,
        k=k,
        eligible=eligible,
        group=group,
        group_max=int(rng.integers(1, 3)),
        cap=cap,
        cap_usage=cap_usage,
        min_value=min_value,
    )


# ------------------------------------------------------------------ brute force
def _over(parts: np.ndarray, limit: float) -> bool:
    """The exact (real) sum of ``parts`` is above ``limit`` (fsum's sign is exact)."""
    return bool(np.isfinite(limit)) and math.fsum([*parts.tolist(), -limit]) > 0


def _exact_fits(p: AllocationProblem, idx: np.ndarray) -> bool:
    for b in range(p.n_budgets):
        if _over(p.usage[b][idx], float(p.budget_limit[b])):
            return False
    w = p.cap_weight()
    return not any(_over(w[idx[p.offer[idx] == o]], float(p.cap[o])) for o in range(p.n_offers))


def brute_force(p: AllocationProblem) -> float:
    """The best objective over all plans (feasibility in correctly rounded sums)."""
    n = p.n_candidates
    if n == 0:
        return 0.0
    masks = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    ok = np.ones(len(masks), dtype=bool)
    cust = np.zeros((n, p.n_customers))
    cust[np.arange(n), p.customer] = 1
    ok &= np.all(masks @ cust <= p.k, axis=1)
    if p.group is not None:
        ng = int(p.group.max()) + 1
        cg = np.zeros((n, p.n_customers * ng))
        cg[np.arange(n), p.customer * ng + p.group[p.offer]] = 1
        ok &= np.all(masks @ cg <= p.group_max, axis=1)
    # limits: a clear margin decides with float sums, exact sums near the limit
    near = np.zeros(len(masks), dtype=bool)
    rows = [(p.usage[b], float(p.budget_limit[b])) for b in range(p.n_budgets)]
    w = p.cap_weight()
    for o in range(p.n_offers):
        rows.append((np.where(p.offer == o, w, 0.0), float(p.cap[o])))
    for u, lim in rows:
        s = masks @ u
        tol = 1e-9 * (masks @ np.abs(u)) + 1e-300
        ok &= s <= lim + tol
        near |= np.abs(s - lim) <= tol
    for i in np.flatnonzero(ok & near):
        ok[i] = _exact_fits(p, np.flatnonzero(masks[i]))
    vals = masks[ok] @ p.value
    top = float(vals.max())
    close = np.flatnonzero(vals >= top * (1 - 1e-9))
    feas = masks[ok]
    return max(math.fsum(p.value[feas[i]].tolist()) for i in close)


# ------------------------------------------------------------------ checks
def _index(p: AllocationProblem, a: Allocation) -> np.ndarray:
    key = p.customer.astype(np.int64) * p.n_offers + p.offer
    want = a.customer.astype(np.int64) * p.n_offers + a.offer
    order = np.argsort(key)
    pos = np.searchsorted(key[order], want)
    idx = order[np.minimum(pos, len(key) - 1)] if len(key) else pos
    if len(want) and not np.array_equal(key[idx], want):
        raise AssertionError("a chosen pair is not a candidate")
    return np.asarray(idx, dtype=np.int64)


def check(p: AllocationProblem, a: Allocation, opt: float, bad: Callable[[str], None]) -> int:
    """Check one result; ``bad(kind)`` records a violation. Returns the checks made."""
    idx = _index(p, a)
    n = 0

    def expect(cond: bool, kind: str) -> None:
        nonlocal n
        n += 1
        if not cond:
            bad(f"{a.method}: {kind}")

    expect(len(np.unique(idx)) == len(idx), "pair chosen twice")
    expect(bool(np.all(np.bincount(a.customer, minlength=p.n_customers) <= p.k)), "k exceeded")
    if p.group is not None and len(idx):
        g = p.group[a.offer]
        _, cnt = np.unique(a.customer.astype(np.int64) * 8 + g, return_counts=True)
        expect(int(cnt.max()) <= p.group_max, "group_max exceeded")
    for b in range(p.n_budgets):
        exact = math.fsum(p.usage[b][idx].tolist())
        expect(bool(a.budget_spend[b] <= a.budget_limit[b]), "reported budget spend > limit")
        expect(exact <= p.budget_limit[b], "recomputed budget spend > limit")
        expect(not _over(p.usage[b][idx], float(p.budget_limit[b])), "exact spend > limit")
        expect(exact == a.budget_spend[b], "reported budget spend != exact sum")
    w = p.cap_weight()
    for o in range(p.n_offers):
        exact = math.fsum(w[idx[p.offer[idx] == o]].tolist())
        expect(bool(a.offer_usage[o] <= a.cap[o]), "reported offer usage > cap")
        expect(exact <= p.cap[o], "recomputed offer usage > cap")
        expect(not _over(w[idx[p.offer[idx] == o]], float(p.cap[o])), "exact usage > cap")
        expect(exact == a.offer_usage[o], "reported offer usage != exact sum")
    obj = math.fsum(p.value[idx].tolist())
    expect(obj == a.objective, "objective != exact sum of values")
    expect(a.objective <= opt, "objective above the brute-force optimum")
    expect(a.bound >= opt, "bound below the brute-force optimum")
    expect(a.bound >= a.objective, "bound below the objective")
    expect(a.success == (a.status == 0), "success disagrees with status")
    if a.method == "dual":
        expect(a.success == (a.gap <= TOL), "dual: success disagrees with the gap")
    if a.method == "exact" and a.success:
        expect(a.gap <= MIP_REL_GAP + 1e-9, "success with a gap > mip_rel_gap")
        expect(
            a.objective >= opt * (1 - MIP_REL_GAP - 1e-9),
            "optimal but below the brute-force optimum",
        )
    return n


def run(
    n_problems: int, seed: int, *, verbose: bool = True
) -> tuple[Counter[str], int, Counter[str]]:
    """Solve and check ``n_problems`` problems; returns (violations, checks, info)."""
    rng = np.random.default_rng(seed)
    violations: Counter[str] = Counter()
    info: Counter[str] = Counter()
    checks = 0
    examples: dict[str, int] = {}
    for i in range(n_problems):
        p = random_problem(rng)

        def bad(kind: str, i: int = i) -> None:
            violations[kind] += 1
            examples.setdefault(kind, i)

        try:
            opt = brute_force(p)
            for method in ("dual", "greedy", "exact"):
                a = allocate(p, method, tol=TOL, mip_rel_gap=MIP_REL_GAP)  # type: ignore[arg-type]
                checks += check(p, a, opt, bad)
                info[f"{method} status {a.status}"] += 1
                if a.objective == opt:
                    info[f"{method} found the optimum"] += 1
            lp = lp_bound(p)
            checks += 2
            if not lp.value >= opt:
                bad("lp_bound: value below the brute-force optimum")
            if not lp.success:
                bad("lp_bound: not successful")
        except Exception:  # a crash is a finding, counted and shown
            bad("crash")
            if verbose and violations["crash"] <= 3:
                traceback.print_exc()
    if verbose and examples:
        print("first problem index per violation kind:", examples)
    return violations, checks, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of problems")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    violations, checks, info = run(args.n, args.seed)
    print(
        f"allocation fuzz: {args.n} problems, {checks} checks, "
        f"{sum(violations.values())} violations, {time.perf_counter() - t0:.1f} s"
    )
    for kind, c in sorted(info.items()):
        print(f"  {kind}: {c}")
    for kind, c in sorted(violations.items()):
        print(f"  VIOLATION {kind}: {c}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
