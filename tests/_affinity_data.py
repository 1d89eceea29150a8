"""Small known logs shared by the affinity tests."""

from __future__ import annotations

import numpy as np

from onetoone.data import Catalogue, Transactions


def habit_log() -> Transactions:
    """Three customers with plain habits, January 2024.

    * ``ann`` buys ``x`` in each of her 6 baskets, and ``y`` twice.
    * ``bob`` buys ``y`` and ``z`` in each of his 4 baskets.
    * ``cat`` buys ``z`` and ``w`` once, on 2024-01-30.
    * ``dan`` only buys (``x``) after 2024-02-01, so he is cold before that.
    * ``new`` (an item) is only bought after 2024-02-01.
    """
    rows = []
    for d in range(6):
        rows.append(("ann", "x", f"2024-01-{d + 2:02d}"))
    rows += [("ann", "y", "2024-01-02"), ("ann", "y", "2024-01-03")]
    for d in range(4):
        rows.append(("bob", "y", f"2024-01-{d + 10:02d}"))
        rows.append(("bob", "z", f"2024-01-{d + 10:02d}"))
    rows += [("cat", "z", "2024-01-30"), ("cat", "w", "2024-01-30")]
    rows += [("dan", "x", "2024-02-10"), ("dan", "new", "2024-02-11")]
    c, i, t = zip(*rows, strict=True)
    return Transactions.from_arrays(customer=c, item=i, timestamp=t, value=np.ones(len(c)))


def habit_catalogue() -> Catalogue:
    return Catalogue.from_arrays(
        item=["x", "y", "z", "w", "new"],
        category=["dairy", "bakery", "bakery", "produce", "dairy"],
        brand=["A", "B", "B", "C", "A"],
    )


def group_log(random_state: int = 0) -> Transactions:
    """40 customers in two taste groups over 12 items (0-5 and 6-11).

    Each customer buys 3 to 5 items of their group, several times, with
    customer ``c``'s favourite item ``c % 6`` (+6 for group 1) in every basket.
    """
    rng = np.random.default_rng(random_state)
    cust, item, day = [], [], []
    for c in range(40):
        g = c % 2
        base = 6 * g
        fav = base + (c // 2) % 6
        others = rng.choice(np.arange(base, base + 6), size=rng.integers(2, 5), replace=False)
        for b in range(6):
            cust += [c, c]
            item += [fav, int(others[b % len(others)])]
            day += [b * 3 + 1, b * 3 + 1]
    ts = np.datetime64("2024-03-01", "s") + np.asarray(day) * np.timedelta64(86400, "s")
    return Transactions.from_arrays(
        customer=cust, item=item, timestamp=ts, value=np.ones(len(cust))
    )
