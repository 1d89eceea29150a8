"""An idiomatic pandas groupby computing the same features as ``build_profiles``.

The reference the profile benchmark and the cross-check test compare against.
Input: a DataFrame with columns customer, item, basket, timestamp, quantity,
value, discount (and optionally category), as a pandas user would hold the log.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def pandas_profiles(df: pd.DataFrame, as_of: Any, *, with_mix: bool = False) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    df = df[df["timestamp"] < as_of]
    df = df.assign(promo=(df["discount"] > 0).astype(np.float64))
    g = df.groupby("customer", sort=True)
    out = g.agg(
        n_lines=("value", "size"),
        monetary=("value", "sum"),
        units=("quantity", "sum"),
        disc=("discount", "sum"),
        promo=("promo", "sum"),
        first=("timestamp", "min"),
        last=("timestamp", "max"),
        distinct_items=("item", "nunique"),
    )
    baskets = (
        df.groupby(["customer", "basket"], sort=False)["timestamp"]
        .min()
        .rename("btime")
        .reset_index()
        .sort_values(["customer", "btime"])
    )
    baskets["gap"] = baskets.groupby("customer")["btime"].diff().dt.total_seconds() / 86400.0
    bg = baskets.groupby("customer").agg(frequency=("btime", "size"), ipi_mean_days=("gap", "mean"))
    bg["ipi_std_days"] = baskets.groupby("customer")["gap"].std(ddof=0)
    out = out.join(bg)
    day = pd.Timedelta(days=1)
    out["recency_days"] = (as_of - out["last"]) / day
    out["tenure_days"] = (as_of - out["first"]) / day
    out["avg_basket_value"] = out["monetary"] / out["frequency"]
    out["avg_basket_size"] = out["units"] / out["frequency"]
    out["avg_basket_lines"] = out["n_lines"] / out["frequency"]
    out["ipi_cv"] = out["ipi_std_days"] / out["ipi_mean_days"]
    out["discount_share"] = out["disc"] / (out["monetary"] + out["disc"])
    out["promo_line_share"] = out["promo"] / out["n_lines"]
    if with_mix:
        known = df[df["category"].notna()]
        cat = known.groupby(["customer", "category"])["value"].sum()
        share = cat / cat.groupby(level="customer").transform("sum")
        out.attrs["category_mix"] = share
    return out
