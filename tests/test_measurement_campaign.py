"""measure_campaign and track_kpis on transaction logs."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.stats

from onetoone.data import Transactions
from onetoone.datasets import synthetic_transactions
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.measurement import (
    Goals,
    Redemptions,
    compare_arms,
    measure_campaign,
    track_kpis,
)

START, END = "2024-07-01", "2024-08-01"
PRE = ("2024-01-01", "2024-07-01")


@functools.cache
def _log() -> Transactions:
    return synthetic_transactions(1500, 120, random_state=12)


def _arms() -> tuple[np.ndarray, np.ndarray]:
    ids = _log().customers.values
    return ids[::3], np.setdiff1d(ids, ids[::3])


def _reference_arrays(
    tx: Transactions, ids: np.ndarray, start: str, end: str
) -> tuple[np.ndarray, np.ndarray]:
    """Spend and visits per customer with pandas (an independent computation)."""
    df = tx.to_pandas()
    df = df[(df["timestamp"] >= start) & (df["timestamp"] < end)]
    g = df.groupby("customer").agg(spend=("value", "sum"), visits=("basket", "nunique"))
    g = g.reindex(ids, fill_value=0)
    return g["spend"].to_numpy(dtype=float), g["visits"].to_numpy(dtype=float)


def test_hand_computed_campaign() -> None:
    tx = Transactions.from_arrays(
        customer=["a", "a", "b", "c", "d", "e", "f", "a", "e"],
        item=[1, 2, 1, 1, 1, 1, 1, 1, 1],
        basket=[1, 1, 2, 3, 4, 5, 6, 7, 8],
        timestamp=[
            "2024-03-02",
            "2024-03-02",
            "2024-03-03",
            "2024-03-04",
            "2024-03-05",
            "2024-03-06",
            "2024-03-06",
            "2024-02-01",
            "2024-02-15",
        ],
        value=[10.0, 5.0, 8.0, 2.0, 1.0, 4.0, 0.5, 7.0, 3.0],
    )
    red = Redemptions.from_arrays(
        customer=["a", "a", "b", "d", "a"],
        timestamp=["2024-03-02", "2024-03-03", "2024-03-03", "2024-03-05", "2024-04-01"],
    )
    res = measure_campaign(
        tx,
        treated=["a", "b", "c"],
        control=["d", "e", "f"],
        start="2024-03-01",
        end="2024-03-08",
        cost=3.0,
        margin_rate=0.5,
        redemptions=red,
        pre_period=("2024-01-01", "2024-03-01"),
    )
    t, c = res.treated, res.control
    assert (t.n_customers, t.spend_total, t.visit_rate, t.visits_per_customer) == (
        3,
        25.0,
        1.0,
        1.0,
    )
    assert (c.spend_total, c.spend_per_visit) == (5.5, 5.5 / 3)
    assert (t.redemptions, t.redeemers, c.redemptions, c.redeemers) == (3, 2, 1, 1)
    assert res.redemptions_outside == 1
    assert (t.pre_spend_per_customer, c.pre_spend_per_customer) == (7.0 / 3, 1.0)
    ref = scipy.stats.ttest_ind([15.0, 8.0, 2.0], [1.0, 4.0, 0.5], equal_var=False)
    assert res.revenue.welch.p_value == ref.pvalue
    lift = res.lift.estimate  # CUPED-adjusted (pre-period given)
    assert res.incremental_revenue.estimate == pytest.approx(3 * lift)
    assert res.incremental_margin.estimate == pytest.approx(1.5 * lift)
    assert res.roi is not None
    assert res.roi.estimate == pytest.approx((1.5 * lift - 3.0) / 3.0)
    assert res.breakeven_lift == pytest.approx(3.0 / 1.5)
    assert "ROI:" in res.summary()


def test_measure_campaign_equals_compare_arms_on_reference_arrays() -> None:
    tx = _log()
    t, c = _arms()
    res = measure_campaign(
        tx, treated=t, control=c, start=START, end=END, cost=500.0, pre_period=PRE
    )
    yt, vt = _reference_arrays(tx, t, START, END)
    yc, vc = _reference_arrays(tx, c, START, END)
    xt, _ = _reference_arrays(tx, t, *PRE)
    xc, _ = _reference_arrays(tx, c, *PRE)
    ref = compare_arms(yt, yc, covariate_treated=xt, covariate_control=xc)
    assert res.revenue.welch.ci_low == pytest.approx(ref.welch.ci_low, rel=1e-10)
    assert res.revenue.welch.p_value == pytest.approx(ref.welch.p_value, rel=1e-9)
    assert res.revenue.cuped is not None and ref.cuped is not None
    assert res.revenue.cuped.ci_high == pytest.approx(ref.cuped.ci_high, rel=1e-10)
    assert res.treated.visit_rate == pytest.approx((vt > 0).mean())
    assert res.control.visits_per_customer == pytest.approx(vc.mean())
    assert res.control.spend_per_visit == pytest.approx(yc.sum() / vc.sum())
    assert res.lift is res.revenue.cuped
    assert res.revenue.variance_reduction > 0.2  # synthetic habits persist across periods


def test_planted_effect_is_recovered() -> None:
    base = synthetic_transactions(3000, 100, random_state=21)
    ids = base.customers.values
    rng = np.random.default_rng(0)
    treated = ids[rng.random(len(ids)) < 0.5]
    control = np.setdiff1d(ids, treated)
    # every treated customer spends 6.0 more during the campaign (one extra line each)
    extra_t = np.datetime64("2024-07-10") + rng.integers(0, 86400 * 10, len(treated)).astype(
        "timedelta64[s]"
    )
    df = base.to_pandas()
    tx = Transactions.from_arrays(
        customer=np.r_[df["customer"].to_numpy(), treated],
        item=np.r_[df["item"].to_numpy(), np.zeros(len(treated), dtype=np.int64)],
        timestamp=np.r_[df["timestamp"].to_numpy().astype("datetime64[s]"), extra_t],
        value=np.r_[df["value"].to_numpy(), np.full(len(treated), 6.0)],
    )
    res = measure_campaign(
        tx, treated=treated, control=control, start=START, end=END, cost=1.0, pre_period=PRE
    )
    assert res.lift.ci_low < 6.0 < res.lift.ci_high
    assert res.lift.std_error < res.revenue.welch.std_error


def test_roi_p_value_tests_break_even() -> None:
    tx = _log()
    t, c = _arms()
    res = measure_campaign(
        tx, treated=t, control=c, start=START, end=END, cost=2000.0, margin_rate=0.25
    )
    yt, _ = _reference_arrays(tx, t, START, END)
    yc, _ = _reference_arrays(tx, c, START, END)
    be = 2000.0 / (0.25 * len(t))
    ref = scipy.stats.ttest_ind(yt - be, yc, equal_var=False)
    assert res.roi is not None
    assert res.roi.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert res.roi.ci_low == pytest.approx(0.25 * len(t) * res.lift.ci_low / 2000.0 - 1)


def test_cost_zero_bootstrap_and_unknown_keep() -> None:
    tx = _log()
    t, c = _arms()
    res = measure_campaign(
        tx,
        treated=np.r_[t, [10**9, 10**9 + 1]],
        control=c,
        start=START,
        end=END,
        cost=0.0,
        unknown="keep",
        bootstrap=50,
        random_state=0,
    )
    assert res.roi is None and res.roi_bootstrap is None and np.isnan(res.breakeven_lift)
    assert res.treated.n_not_in_log == 2 and res.treated.n_customers == len(t) + 2
    assert res.revenue.bootstrap is not None
    assert "undefined (cost is 0)" in res.summary()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"control": "overlap"}, ValidationError, r"treated and control overlap: 1 customer"),
        ({"treated": []}, EmptyInputError, "treated is empty"),
        ({"treated": [1]}, ValidationError, "treated has 1 customer"),
        (
            {"treated": [10**9, 10**9 + 1]},
            UnknownIdError,
            r"treated: 2 customer\(s\) are not in the transaction log",
        ),
        (
            {"end": "2024-06-01"},
            ValidationError,
            r"end \(2024-06-01T00:00:00\) must be after start",
        ),
        ({"cost": -5.0}, ValidationError, "cost must be a finite number >= 0"),
        ({"cost": float("nan")}, ValidationError, "cost must be a finite number >= 0"),
        (
            {"pre_period": ("2024-01-01", "2024-07-15")},
            ValidationError,
            "pre_period must end on or before the campaign start",
        ),
        (
            {"pre_period": 0},
            ValidationError,
            r"pre_period as a number of days must lie in \[1, 36,525\]",
        ),
        ({"margin_rate": 1.5}, ValidationError, r"margin_rate must lie in \(0, 1\]"),
        ({"unknown": "drop"}, ValidationError, r"measure_campaign\(unknown='drop'\) is refused"),
        ({"unknown": "zero!"}, ValidationError, "unknown must be one of 'raise', 'drop', 'keep'"),
        ({"start": "not a date"}, ValidationError, "start='not a date' is not a valid time"),
        ({"redemptions": [1, 2]}, ValidationError, "redemptions must be a Redemptions"),
    ],
)
def test_measure_campaign_bad_input(kwargs: dict[str, object], error: type, message: str) -> None:
    t, c = _arms()
    args: dict[str, object] = {"treated": t, "control": c, "start": START, "end": END, "cost": 10.0}
    if kwargs.get("control") == "overlap":
        kwargs = {"control": np.r_[c, t[:1]]}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        measure_campaign(_log(), **args)  # type: ignore[arg-type]


def test_duplicate_ids_and_wrong_log_type() -> None:
    t, c = _arms()
    with pytest.raises(ValidationError, match=r"control holds 1 duplicate id\(s\)"):
        measure_campaign(_log(), treated=t, control=np.r_[c, c[:1]], start=START, end=END, cost=1.0)
    with pytest.raises(ValidationError, match="transactions must be a onetoone Transactions"):
        measure_campaign(
            [1, 2],
            treated=t,
            control=c,
            start=START,
            end=END,  # type: ignore[arg-type]
            cost=1.0,
        )


# --------------------------------------------------------------------------- track_kpis
@pytest.mark.parametrize("pre", [None, PRE])
def test_track_kpis_last_day_equals_measure_campaign(pre: object) -> None:
    tx = _log()
    t, c = _arms()
    kw = {
        "treated": t,
        "control": c,
        "start": START,
        "end": END,
        "cost": 900.0,
        "margin_rate": 0.3,
        "pre_period": pre,
    }
    res = measure_campaign(tx, **kw)  # type: ignore[arg-type]
    k = track_kpis(tx, goals=Goals(), **kw)  # type: ignore[arg-type]
    assert len(k) == 31 and k.method == res.lift.method
    assert k.lift[-1] == pytest.approx(res.lift.estimate, rel=1e-9)
    assert k.lift_low[-1] == pytest.approx(res.lift.ci_low, rel=1e-9)
    assert k.lift_high[-1] == pytest.approx(res.lift.ci_high, rel=1e-9)
    assert k.p_value[-1] == pytest.approx(res.lift.p_value, rel=1e-7)
    assert res.roi is not None
    assert k.roi[-1] == pytest.approx(res.roi.estimate, rel=1e-9)
    assert k.spend_treated[-1] == pytest.approx(res.treated.spend_per_customer, rel=1e-12)


def test_track_kpis_every_day_equals_a_shorter_campaign() -> None:
    tx = _log()
    t, c = _arms()
    k = track_kpis(
        tx, treated=t, control=c, start=START, end=END, cost=100.0, goals=Goals(), pre_period=PRE
    )
    for d in (0, 4, 17):
        end = np.datetime64(START) + np.timedelta64(d + 1, "D")
        res = measure_campaign(
            tx, treated=t, control=c, start=START, end=end, cost=1.0, pre_period=PRE
        )
        assert k.lift[d] == pytest.approx(res.lift.estimate, rel=1e-9, abs=1e-12)
        assert k.lift_low[d] == pytest.approx(res.lift.ci_low, rel=1e-9)
        assert k.incremental_revenue_high[d] == pytest.approx(len(t) * res.lift.ci_high, rel=1e-9)


def test_track_kpis_goals_flags_and_redemptions() -> None:
    tx = _log()
    t, c = _arms()
    rng = np.random.default_rng(3)
    who = rng.choice(t, 200)
    when = np.datetime64(START) + rng.integers(0, 10 * 86400, 200).astype("timedelta64[s]")
    red = Redemptions.from_arrays(
        customer=np.r_[who, c[:5]],
        timestamp=np.r_[when, when[:5]],
        offer=np.r_[np.where(np.arange(200) % 4 == 0, "B", "A"), ["A"] * 5],
    )
    daily = np.zeros(31)
    daily[:5] = 400.0  # burns the whole budget in the first five days
    goals = Goals(
        target_roi=5.0,
        target_redemption_rate=0.9,
        budget=2000.0,
        target_incremental_revenue=1e7,
        warmup_days=2,
    )
    k = track_kpis(
        tx, treated=t, control=c, start=START, end=END, cost=daily, goals=goals, redemptions=red
    )
    assert not k.off_track[:2].any()  # warm-up
    assert k.budget_off_track[2]  # 1200 spent by day 3 against a pro-rata 194
    assert k.roi_off_track[5:].all()  # ROI 500 % is out of reach
    assert k.revenue_off_track[2:].all()
    assert k.redemption_off_track[-1]
    assert k.first_off_track == np.datetime64("2024-07-03")
    assert "budget" in k.reasons(2)
    assert k.cost[-1] == 2000.0 and k.budget_burn[-1] == 1.0
    assert k.redemptions[-1] == 200  # control redemptions are not counted
    assert k.redeemers[-1] == len(np.unique(who))
    assert k.offers.tolist() == ["A", "B"]
    pairs = {(o, w) for o, w in zip(np.where(np.arange(200) % 4 == 0, "B", "A"), who, strict=True)}
    assert k.offer_redeemers.tolist() == [
        sum(o == "A" for o, _ in pairs),
        sum(o == "B" for o, _ in pairs),
    ]
    assert "first off track on 2024-07-03" in k.summary()


def test_track_kpis_on_track_and_as_of() -> None:
    tx = _log()
    t, c = _arms()
    goals = Goals(target_roi=-1.0, budget=1000.0, tolerance=0.5)
    k = track_kpis(
        tx, treated=t, control=c, start=START, end=END, cost=1000.0, goals=goals, as_of="2024-07-11"
    )
    assert len(k) == 10 and not k.off_track.any() and k.first_off_track is None
    assert k.cost[-1] == pytest.approx(1000.0 * 10 / 31)
    # never off track, but ROI >= -100 % is not shown by an interval reaching below -100 %
    assert not k.on_track.any() and set(k.roi_status[3:]) == {"not yet decided"}
    assert set(k.budget_status[3:]) == {"on track"}
    assert "overall: not yet decided on 2024-07-10" in k.summary()
    # a front-loaded cost is on track against a front-loaded budget path, not a linear one
    daily = np.full(31, 10.0)
    daily[0] = 500.0
    lin = track_kpis(
        tx,
        treated=t,
        control=c,
        start=START,
        end=END,
        cost=daily,
        goals=Goals(budget=800.0, warmup_days=0),
    )
    up = track_kpis(
        tx,
        treated=t,
        control=c,
        start=START,
        end=END,
        cost=daily,
        goals=Goals(budget=800.0, budget_upfront=500.0, warmup_days=0),
    )
    assert lin.budget_off_track[0] and not up.budget_off_track.any()
    assert up.budget_goal[-1] == pytest.approx(800.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cost": [1.0, 2.0]}, r"cost as daily amounts needs one value per campaign day \(31\)"),
        ({"cost": -1.0}, "cost must be a finite number >= 0"),
        ({"goals": {"budget": 3}}, r"goals must be a Goals\(...\)"),
        ({"as_of": "2024-06-01"}, "as_of .* must be after start"),
        ({"end": START}, "must be after start"),
    ],
)
def test_track_kpis_bad_input(kwargs: dict[str, object], message: str) -> None:
    t, c = _arms()
    args: dict[str, object] = {
        "treated": t,
        "control": c,
        "start": START,
        "end": END,
        "cost": 10.0,
        "goals": Goals(),
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        track_kpis(_log(), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -1.0}, "Goals.budget must be a finite number >= 0"),
        ({"target_redemption_rate": 2.0}, r"Goals.target_redemption_rate must lie in \[0, 1\]"),
        ({"warmup_days": -1}, "Goals.warmup_days must be an int >= 0"),
        ({"target_roi": -2.0}, "Goals.target_roi must be a finite number >= -1"),
        ({"budget_upfront": 5.0}, r"Goals.budget_upfront \(5.0\) needs a budget"),
    ],
)
def test_goals_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Goals(**kwargs)  # type: ignore[arg-type]
