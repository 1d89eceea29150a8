"""Quick start: from a small transaction log to customer profiles.

Mirrors docs/quickstart.md; run by the test suite.
"""

from __future__ import annotations

import numpy as np

from onetoone import Catalogue, Transactions, ValidationError, build_profiles

# A log as a retail system exports it: one row per receipt line.
log = {
    "customer": ["C1", "C1", "C1", "C2", "C2", "C3"],
    "item": ["milk", "bread", "milk", "milk", "beer", "wine"],
    "basket": ["r1", "r1", "r2", "r3", "r3", "r4"],
    "timestamp": [
        "2024-03-01 09:00",
        "2024-03-01 09:00",
        "2024-03-08 10:30",
        "2024-03-02 18:00",
        "2024-03-02 18:00",
        "2024-03-09 12:00",
    ],
    "value": [1.2, 2.5, 1.2, 1.2, 6.0, -9.0],  # the last line is corrupt: a negative price
    "quantity": [1, 1, 1, 1, 6, 1],
}

# Bad rows are never dropped silently: by default they raise, naming the column and row ...
try:
    Transactions.from_arrays(**log)
except ValidationError as err:
    print("refused:", err)

# ... or they are dropped on request and counted by reason.
tx = Transactions.from_arrays(**log, invalid="drop")
print(tx.report.summary())
assert tx.report.dropped == {"negative_value": 1}

catalogue = Catalogue.from_arrays(
    item=["milk", "bread", "beer", "wine"], category=["dairy", "bakery", "drinks", "drinks"]
)
profiles = build_profiles(tx, as_of="2024-03-10", catalogue=catalogue)
print(profiles.summary())

c1 = profiles.select(["C1"])[0]
assert profiles.frequency[c1] == 2 and np.isclose(profiles.monetary[c1], 4.9)
assert np.isclose(profiles.ipi_mean_days[c1], 7 + 1.5 / 24)
print("C1 visits every", round(float(profiles.ipi_mean_days[c1]), 2), "days")
