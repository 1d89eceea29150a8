"""The S-learner's interaction-penalty selection rules (TO loss, R-loss, one-SE rule)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _uplift_data import binary_data as _binary
from _uplift_data import continuous_data as _continuous
from onetoone.uplift import INTERACTION_GRID, fit_uplift
from onetoone.uplift import _learners as L


def test_choose_least_mean_loss_and_the_one_se_rule_by_hand() -> None:
    # 3 folds x 6 grid entries; means: 2.0, 1.5, 1.1, 1.0, 1.2, 1.4 -> least at index 3
    loss = np.array(
        [
            [2.0, 1.5, 1.1, 0.9, 1.2, 1.4],
            [2.0, 1.5, 1.1, 1.0, 1.2, 1.4],
            [2.0, 1.5, 1.1, 1.1, 1.2, 1.4],
        ]
    )
    assert L._s_choose(loss, one_se=False) == INTERACTION_GRID[3]
    # SE of the best over folds: sd(0.9, 1.0, 1.1) / sqrt(3) = 0.1 / sqrt(3) = 0.0577;
    # 1.1 (index 2) is outside 1.0 + 0.0577, so the one-SE rule keeps index 3
    assert L._s_choose(loss, one_se=True) == INTERACTION_GRID[3]
    loss[:, 2] = 1.05  # now within one SE: the more penalised entry wins
    assert L._s_choose(loss, one_se=True) == INTERACTION_GRID[2]
    loss[:, 0] = 1.0  # a tie with the best: the earlier (no interactions) entry
    assert L._s_choose(loss, one_se=False) is None
    assert L._s_choose(loss, one_se=True) is None


def test_paired_one_se_rule_uses_the_se_of_the_per_fold_difference() -> None:
    # fold-level spread shared by every entry: the unpaired SE is wide, the paired one not
    common = np.array([[0.0], [10.0], [20.0]])
    loss = common + np.array([[1.30, 1.1, 1.0, 1.2, 1.3, 1.4]] * 3)
    loss[:, 1] += [0.0, 0.01, -0.01]  # entry 1: +0.1 on average, SE of the difference 0.0058
    loss[:, 2] += [0.0, 0.0, 0.0]
    assert L._s_choose(loss, one_se=True) is None  # unpaired: SE 5.8 covers everything
    assert L._s_choose(loss, one_se=True, paired=True) == INTERACTION_GRID[2]
    loss[:, 1] = loss[:, 2] + [0.0, 0.02, -0.01]  # mean +0.0033, SE of the difference 0.0088
    assert L._s_choose(loss, one_se=True, paired=True) == INTERACTION_GRID[1]


def test_r_loss_matches_a_hand_computation_on_one_fold_layout() -> None:
    d = _continuous(n=600, seed=4)
    x, arm, y = d["x"], d["arm"], d["y"]
    codes = arm.astype(np.intp)
    fold = L._folds(codes, codes, 2, np.random.default_rng(0))
    e = np.where(arm == 1, 0.5, 0.5)
    fits = L._Fits()
    to, rl = L._s_cv_losses(
        x, codes, y, 2, fold, 2, e, binary=False, l2=1.0, max_iter=100, fits=fits
    )
    j = INTERACTION_GRID.index(10.0)
    held, tr = fold == 0, fold != 0
    b0, coef = L._s_fit(
        x[tr],
        codes[tr],
        y[tr],
        2,
        binary=False,
        l2=1.0,
        interaction_l2=10.0,
        max_iter=100,
        fits=fits,
    )
    mu = b0[None, :] + x[held] @ coef.T
    tau = mu[:, 1] - mu[:, 0]
    mb, mc = L.ridge_solve(x[tr], y[tr][:, None], l2=1.0)
    m = mb[0] + x[held] @ mc[0]
    w = (arm[held] == 1).astype(float)
    want_r = np.mean(((y[held] - m) - (w - 0.5) * tau) ** 2)
    psi = np.where(w == 1, 1.0, -1.0) * y[held] / 0.5
    want_to = np.mean((psi - tau) ** 2)
    assert math.isclose(rl[0, j], want_r, rel_tol=1e-10)
    assert math.isclose(to[0, j], want_to, rel_tol=1e-10)


@pytest.mark.parametrize("n_t", [1, 2])
def test_every_rule_picks_a_grid_penalty_and_the_default_is_fit_uplifts(n_t: int) -> None:
    d = _binary(n=3000, n_t=n_t, seed=2)
    pens = L._s_penalties(d["x"], d["arm"], d["y"], random_state=5)
    assert set(pens) == set(L._S_RULES)
    grid = {None if m is None else float(m) for m in INTERACTION_GRID}
    assert set(pens.values()) <= grid
    m = fit_uplift(d["x"], d["arm"], d["y"], random_state=5)
    assert m.interaction_l2 == pens[L._S_RULE]


def test_the_one_se_rule_never_picks_a_less_penalised_entry() -> None:
    order = {m: i for i, m in enumerate(INTERACTION_GRID)}
    for seed in range(3):
        d = _binary(n=2000, seed=seed)
        p = L._s_penalties(d["x"], d["arm"], d["y"], random_state=seed)
        assert order[p["to_1se"]] <= order[p["to"]]
        assert order[p["r_1se"]] <= order[p["r"]]
        assert order[p["to_1se_d"]] <= order[p["to"]]
        assert order[p["r_1se_d"]] <= order[p["r"]]
