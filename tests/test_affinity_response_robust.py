"""Calibration stays finite and sensible on heavy-tailed scores with rare positives."""

from __future__ import annotations

import numpy as np
import pytest

from onetoone import fit_response


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_calibration_on_heavy_tailed_scores_with_rare_positives(method: str) -> None:
    rng = np.random.default_rng(0)
    s = rng.lognormal(-4.0, 2.5, 60_000)  # scores spanning 1e-7 .. 1e+1
    p_true = 0.002 + 0.02 * (s > np.quantile(s, 0.9))
    y = rng.random(len(s)) < p_true
    r = fit_response(s, y, method=method)  # filterwarnings=error: no overflow warnings
    p = r.predict_proba(s)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert abs(p.mean() - y.mean()) < 0.25 * y.mean()
    assert p[s > np.quantile(s, 0.99)].mean() > p[s < np.quantile(s, 0.5)].mean()
    assert np.isfinite(r.predict_proba([1e6, -1e6])).all()
