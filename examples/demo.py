"""The main job: onetoone on the dunnhumby Complete Journey, end to end.

Run with ``make demo``. Each stage prints what it produced; stages are added
as the library grows (profiles -> affinity -> allocation -> measurement).
"""

from __future__ import annotations

import time

import numpy as np

from onetoone import build_profiles
from onetoone.datasets import complete_journey


def main() -> None:
    t0 = time.perf_counter()
    cj = complete_journey()
    tx = cj.transactions
    first, last = tx.period
    print("== Complete Journey ==")
    print(
        f"{tx.n_rows:,} lines, {tx.n_customers:,} households, {tx.n_items:,} products, "
        f"{tx.n_baskets:,} baskets, {first} .. {last}"
    )
    print(tx.report.summary())

    print("\n== Customer profiles (one per household, point in time) ==")
    as_of = last + np.timedelta64(1, "s")
    profiles = build_profiles(tx, as_of=as_of, catalogue=cj.catalogue)
    print(profiles.summary())
    top = np.argsort(-profiles.monetary)[:3]
    for code in top:
        hh = profiles.customers.values[code]
        print(
            f"  household {hh}: {profiles.frequency[code]:.0f} visits, "
            f"${profiles.monetary[code]:,.0f} spent, every {profiles.ipi_mean_days[code]:.1f} "
            f"days, {profiles.discount_share[code]:.0%} of value as discount"
        )
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
