"""Reference fits in a separate environment: pymc-marketing (MAP) and lifetimes.

Run by ``benchmarks/customer_value.py`` with the interpreter of a venv that has
``pymc-marketing`` and/or ``lifetimes`` (e.g. ``/tmp/value-venv``), never
imported by onetoone. Usage: ``python _value_reference.py SUMMARY.npz OUT.json``;
the npz holds ``frequency``, ``recency``, ``T`` arrays. Prints nothing; writes
one JSON object with, per library, the parameters, the wall time or the error.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings
from importlib import metadata
from typing import Any

import numpy as np


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def run_lifetimes(d: dict[str, np.ndarray]) -> dict[str, Any]:
    import pandas as pd
    from lifetimes import BetaGeoFitter

    df = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})
    t0 = time.perf_counter()
    try:
        m = BetaGeoFitter(penalizer_coef=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(df["frequency"], df["recency"], df["T"])
        p = {k: float(m.params_[k]) for k in ("r", "alpha", "a", "b")}
        return {"params": p, "seconds": time.perf_counter() - t0, "version": _version("lifetimes")}
    except Exception as exc:  # report the failure, it is the finding
        return {"error": f"{type(exc).__name__}: {exc}", "version": _version("lifetimes"),
                "trace": traceback.format_exc(limit=3)}


def run_pymc_marketing(d: dict[str, np.ndarray]) -> dict[str, Any]:
    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel

    df = pd.DataFrame({
        "customer_id": np.arange(len(d["frequency"])),
        "frequency": d["frequency"],
        "recency": d["recency"],
        "T": d["T"],
    })
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = BetaGeoModel(data=df)
            m.build_model()
            m.fit(method="map", progressbar=False)
        fit_s = time.perf_counter() - t0
        post = m.fit_summary()
        p = {k: float(post.loc[k]) if k in post.index else float("nan")
             for k in ("r", "alpha", "a", "b")}
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.expected_purchases(future_t=39)
        return {"params": p, "seconds": fit_s, "predict_seconds": time.perf_counter() - t1,
                "version": _version("pymc-marketing")}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "version": _version("pymc-marketing"),
                "trace": traceback.format_exc(limit=3)}


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    which = sys.argv[3].split(",") if len(sys.argv) > 3 else ["lifetimes", "pymc_marketing"]
    with np.load(src, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    res: dict[str, Any] = {"numpy": _version("numpy"), "pandas": _version("pandas")}
    if "lifetimes" in which:
        res["lifetimes"] = run_lifetimes(d)
    if "pymc_marketing" in which:
        res["pymc_marketing"] = run_pymc_marketing(d)
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
