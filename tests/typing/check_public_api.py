"""Type-checked by `make typecheck` (mypy --strict): the public API as a user calls it.

Not collected by pytest; if a public signature changes incompatibly, this file stops
type-checking and the change needs a CHANGELOG entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

import onetoone as oto


def user_code() -> None:
    tx: oto.Transactions = oto.Transactions.from_arrays(
        customer=[1, 2],
        item=["a", "b"],
        timestamp=["2024-01-01", "2024-01-02"],
        value=[1.0, 2.0],
        invalid="drop",
        returns="keep",
    )
    report: oto.IngestionReport = tx.report
    dropped: int = report.n_dropped
    idx: oto.IdIndex = tx.customers
    codes: npt.NDArray[np.int32] = idx.encode([1], unknown="mask")
    m: sp.csr_array = oto.customer_item_matrix(tx, weight="baskets", as_of="2024-01-02")
    cat = oto.Catalogue.from_arrays(item=["a"], category=["x"])
    p: oto.Profiles = oto.build_profiles(tx, as_of="2024-02-01", since=None, catalogue=cat)
    x: npt.NDArray[np.float64] = p.matrix(["recency_days", "monetary"])
    market: oto.Market = oto.simulate_market(10, 10, 2, random_state=np.random.default_rng(0))
    out: oto.PlanOutcome = oto.evaluate_plan(market, [0], [1], random_state=1)
    est: oto.OffPolicyEstimate = oto.ips([1.0], [0.5], [1.0], alpha=0.1)
    problem = oto.AllocationProblem.from_dense(np.ones((2, 1)), np.ones((2, 1)), k=1)
    allocation: oto.Allocation = oto.allocate(problem, method="dual")
    plan = oto.Plan(allocation, customers=idx, offers=oto.IdIndex.from_values(["c"]))
    rows: dict[str, npt.NDArray[Any]] = plan.columns()
    model: oto.AffinityModel = oto.fit_affinity(tx, method="repeat", num_threads=0)
    offers = oto.Offers.from_pairs(
        ["o1", "o2"], ["a", "zz"], items=tx.items, unknown_items="drop", empty_offers="drop"
    )
    scores: oto.OfferScores = oto.score_offers(
        model, [1, 3], offers, unknown_customers="drop", unknown_items="keep", num_threads=0
    )
    items: oto.ItemScores = oto.score_items(model, customer_ids=[1], item_ids=["a"])
    outcomes: npt.NDArray[np.int8] = scores.outcome_matrix([1], ["o1"], unknown="drop")
    response: oto.ResponseModel = oto.fit_response(scores.to_dense(), outcomes)
    oto.save_plan(plan, "plan.npz")
    again: oto.Plan = oto.load_plan("plan.npz")
    del dropped, codes, m, x, out, est, rows, again, items, response
