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
import onetoone.allocation as ota
import onetoone.bench as bench
from onetoone.data import customer_item_matrix


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
    codes: npt.NDArray[np.int32] = idx.encode([1], unknown="keep")
    again_tx: oto.Transactions = oto.Transactions.from_arrays(
        customer=[1], item=["a"], timestamp=["2024-01-03"], value=[1.0],
        customers=idx, unknown="drop", zero_quantity="keep",
    )
    holdout: oto.Holdout = oto.assign_holdout(idx.values, fraction=0.5, salt="s")
    held: npt.NDArray[Any] = holdout.customer_ids
    red = oto.Redemptions.from_arrays(customer=[1], timestamp=["2024-01-02"], offer=["o"])
    red_ids: npt.NDArray[Any] = red.customer_ids
    result: oto.CampaignResult = oto.measure_campaign(
        tx, holdout=holdout, start="2024-01-01", end="2024-01-03", cost=1.0, unknown="keep"
    )
    lift: oto.Estimate = result.lift
    m: sp.csr_array = customer_item_matrix(tx, weight="baskets", as_of="2024-01-02")
    cat = oto.Catalogue.from_arrays(item=["a"], category=["x"])
    p: oto.Profiles = oto.build_profiles(tx, as_of="2024-02-01", since=None, catalogue=cat)
    x: npt.NDArray[np.float64] = p.matrix(["recency_days", "monetary"])
    market: bench.Market = bench.simulate_market(10, 10, 2, random_state=np.random.default_rng(0))
    out: bench.PlanOutcome = bench.evaluate_plan(market, [0], [1], random_state=1)
    est: oto.Estimate = bench.ips([1.0], [0.5], [1.0], alpha=0.1)
    ess: float = bench.effective_sample_size([0.5], [1.0])
    ctx: bench.OfferContext = bench.make_context(
        market.history, bench.market_offers(market), as_of="2024-03-01", budget=1.0, num_threads=0
    )
    codes32: npt.NDArray[np.int32] = ctx.customer
    plans: dict[str, oto.Allocation] = bench.run_strategies(ctx, {"mass": bench.mass})
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
    offer_codes: npt.NDArray[np.int32] = allocation.offers_for(0)
    offer_ids: npt.NDArray[Any] = plan.offers_for(1)
    curve: ota.BudgetCurve = ota.budget_curve(
        ota.AllocationProblem.from_dense(
            np.ones((2, 1)), np.ones((2, 1)), budgets=[ota.Budget("total", 1.0)]
        ),
        [0.5, 1.0],
        budget="total",
    )
    limits: npt.NDArray[np.float64] = curve.limit
    oto.save(plan, "plan.npz")
    again: oto.Plan = oto.load("plan.npz", oto.Plan)
    anything: object = oto.load("plan.npz")
    del dropped, codes, m, x, out, est, ess, codes32, plans, rows, again, anything
    del again_tx, held, red_ids, lift, offer_codes, offer_ids, limits, items, response


def value_models() -> None:
    """onetoone.value as a user calls it: summary -> fits -> per-customer value, persisted."""
    from onetoone.datasets import cdnow
    from onetoone.value import (
        CustomerValue,
        FrequencyModel,
        PurchaseSummary,
        SpendModel,
        customer_value,
        expected_purchases,
        fit_frequency,
        fit_spend,
        p_alive,
        purchase_summary,
    )

    summary: PurchaseSummary = purchase_summary(cdnow(), as_of="1997-10-01", unit="W")
    own = PurchaseSummary.from_arrays(frequency=[1], recency=[2.0], T=[3.0], customer_ids=["a"])
    bg: FrequencyModel = fit_frequency(summary, method="mbgnbd")
    gg: SpendModel = fit_spend(summary)
    alive: npt.NDArray[np.float64] = p_alive(bg, own)
    future: npt.NDArray[np.float64] = expected_purchases(bg, summary, 13.0)
    value: CustomerValue = customer_value(bg, gg, summary, horizon=52.0, discount_rate=0.01)
    aligned: CustomerValue = value.reindex(summary.customers)
    oto.save(bg, "bg.npz")
    back: FrequencyModel = oto.load("bg.npz", FrequencyModel)
    del alive, future, aligned, back


def lapsing_in_the_report(value: object, risk: object, plan_ids: npt.NDArray[np.int64]) -> str:
    """targeted_risk -> report_fields -> render_html(lapse=), and a LapseSummary by hand."""
    from onetoone.report import LapseSummary, render_html
    from onetoone.value import CustomerValue, LapseRisk, TargetedRisk, targeted_risk

    assert isinstance(value, CustomerValue) and isinstance(risk, LapseRisk)
    t: TargetedRisk = targeted_risk(value, risk, plan_ids, threshold=0.2)
    at_risk: npt.NDArray[Any] = t.at_risk_ids
    mean: float | None = t.mean_risk
    own = LapseSummary(
        n_targeted=10,
        n_at_risk=0,
        threshold=0.5,
        mean_risk=None,
        at_risk_clv=0.0,
        at_risk_value=0.0,
        value_at_risk=1.0,
        horizon_days=28.0,
        as_of="2024-01-01",
    )
    del at_risk, mean
    return render_html(kpis=None, lapse=t.report_fields()) + render_html(kpis=None, lapse=own)
