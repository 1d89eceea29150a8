"""Synthetic randomised campaigns with a known uplift, shared by the uplift tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit


def binary_data(n: int = 20_000, n_t: int = 1, seed: int = 0) -> dict[str, Any]:
    """Logistic outcome with a treatment interaction; the true CATE is known per row."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    arm = rng.integers(0, n_t + 1, n)
    base = -0.5 + 0.8 * x[:, 0] - 0.4 * x[:, 1]
    mus = [expit(base)]
    for t in range(1, n_t + 1):
        mus.append(expit(base + 0.3 * t + (0.8 if t % 2 else -0.8) * x[:, 2]))
    mu = np.column_stack(mus)
    y = (rng.random(n) < mu[np.arange(n), arm]).astype(np.float64)
    return {"x": x, "arm": arm, "y": y, "mu": mu, "tau": mu[:, 1:] - mu[:, :1]}


def continuous_data(n: int = 20_000, seed: int = 1) -> dict[str, Any]:
    """Spend: linear outcome, effect 1 + 2 x1 (a linear CATE: every learner is unbiased)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    arm = rng.integers(0, 2, n)
    tau = 1.0 + 2.0 * x[:, 1]
    y = 5.0 + 3.0 * x[:, 0] - x[:, 2] + arm * tau + rng.normal(scale=2.0, size=n)
    return {"x": x, "arm": arm, "y": y, "tau": tau}


def small_data() -> dict[str, Any]:
    """200 rows, two arms, binary outcome: for bad-input tests."""
    d = binary_data(n=200, seed=9)
    return {"x": d["x"], "arm": d["arm"], "y": d["y"]}


def diff_se(y: np.ndarray, arm: np.ndarray, t: Any, c: Any) -> float:
    """Standard error of the difference in means of arm ``t`` and control ``c``."""
    a, b = y[arm == t], y[arm == c]
    return float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
