"""Issue 13 vocabulary in measurement: unknown=, *_ids, deprecations, self-validating values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from onetoone import (
    ArmSummary,
    Balance,
    Estimate,
    Goals,
    Holdout,
    Redemptions,
    UnknownIdError,
    ValidationError,
    assign_holdout,
    build_profiles,
    measure_campaign,
    track_kpis,
)
from onetoone.datasets import synthetic_transactions
from onetoone.errors import OneToOneDeprecationWarning
from onetoone.measurement import hash_unit
from onetoone.measurement._campaign import _CampaignInputs, _measure_campaign_iv
from onetoone.measurement._kpis import _KpiInputs, _track_kpis_iv

TX = synthetic_transactions(200, 30, random_state=11)
IDS = TX.customers.values
WINDOW: dict[str, Any] = {"start": "2024-07-01", "end": "2024-08-01"}
STRANGERS = np.array([10**9, 10**9 + 1])


def _arms() -> dict[str, Any]:
    return {"treated": np.r_[IDS[::2], STRANGERS], "control": IDS[1::2]}


# ------------------------------------------------------------------ unknown=
def test_unknown_raise_names_the_fix() -> None:
    with pytest.raises(UnknownIdError, match="pass unknown='keep' to count them") as info:
        measure_campaign(TX, **_arms(), **WINDOW, cost=1.0)
    assert info.value.field == "treated"


def test_unknown_keep_counts_absent_customers_as_buying_nothing() -> None:
    res = measure_campaign(TX, **_arms(), **WINDOW, cost=1.0, unknown="keep")
    assert res.treated.n_not_in_log == 2
    assert res.treated.n_customers == len(IDS[::2]) + 2
    k = track_kpis(TX, **_arms(), **WINDOW, cost=1.0, goals=Goals(), unknown="keep")
    assert k.n_treated == res.treated.n_customers
    assert k.lift[-1] == pytest.approx(res.lift.estimate)


@pytest.mark.parametrize("func", [measure_campaign, track_kpis])
def test_unknown_drop_is_refused_with_the_reason(func: Any) -> None:
    extra = {"goals": Goals()} if func is track_kpis else {}
    match = r"unknown='drop'\) is refused.*bias the lift"
    with pytest.raises(ValidationError, match=match) as info:
        func(TX, **_arms(), **WINDOW, cost=1.0, unknown="drop", **extra)
    assert info.value.field == "unknown"


@pytest.mark.parametrize("func", [measure_campaign, track_kpis])
def test_old_missing_keyword_and_zero_value_still_work_and_warn(func: Any) -> None:
    extra = {"goals": Goals()} if func is track_kpis else {}
    new = func(TX, **_arms(), **WINDOW, cost=1.0, unknown="keep", **extra)
    with pytest.warns(OneToOneDeprecationWarning) as record:
        old = func(TX, **_arms(), **WINDOW, cost=1.0, missing="zero", **extra)
    messages = " | ".join(str(w.message) for w in record)
    assert "(missing=...) is renamed: pass unknown=" in messages
    assert "'zero' is renamed 'keep'" in messages
    if func is measure_campaign:
        assert old.lift == new.lift
    else:
        assert np.array_equal(old.lift, new.lift)
    with pytest.warns(OneToOneDeprecationWarning, match="'zero' is renamed 'keep'"):
        func(TX, **_arms(), **WINDOW, cost=1.0, unknown="zero", **extra)


def test_missing_and_unknown_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="got both missing= .deprecated. and unknown="):
        measure_campaign(TX, **_arms(), **WINDOW, cost=1.0, missing="zero", unknown="keep")  # type: ignore[call-arg]


# ------------------------------------------------------------------ typed _iv
def test_iv_functions_return_typed_inputs() -> None:
    t, c = IDS[::2], IDS[1::2]
    inp = _measure_campaign_iv(
        TX, t, c, "2024-07-01", "2024-08-01", 5, 30, 0.5, None, "raise", 0, 0.1, None, 0.5, False
    )
    assert isinstance(inp, _CampaignInputs)
    assert inp.cost == 5.0 and isinstance(inp.cost, float) and inp.alpha == 0.1
    assert inp.pre_period is not None and inp.pre_period[1] == inp.start
    assert inp.holdout_fraction == 0.5 and inp.arms.n_treated == len(t)
    k = _track_kpis_iv(
        TX,
        t,
        c,
        Goals(),
        31.0,
        "2024-07-01",
        "2024-08-01",
        None,
        None,
        None,
        None,
        "raise",
        0.05,
        None,
        None,
        False,
    )
    assert isinstance(k, _KpiInputs)
    assert (k.n_days, k.n_total, float(k.daily_cost.sum())) == (31, 31, 31.0)


# ------------------------------------------------------------------ *_ids and deprecated names
def test_holdout_customer_ids_and_deprecated_customers() -> None:
    h = assign_holdout([3, 1, 2, 4], fraction=0.5, salt="v")
    assert h.customer_ids.tolist() == [3, 1, 2, 4]
    with pytest.warns(OneToOneDeprecationWarning, match="use Holdout.customer_ids"):
        old = h.customers
    assert old is h.customer_ids


def test_customers_keyword_is_deprecated_for_ids() -> None:
    with pytest.warns(OneToOneDeprecationWarning, match=r"assign_holdout\(customers=...\)"):
        h = assign_holdout(customers=[1, 2, 3], fraction=0.5, salt="v")  # type: ignore[call-arg]
    assert h == h and h.customer_ids.tolist() == [1, 2, 3]
    with pytest.warns(OneToOneDeprecationWarning, match=r"hash_unit\(customers=...\)"):
        u = hash_unit(customers=[42], salt="spring-2024")  # type: ignore[call-arg]
    assert u.tolist() == hash_unit([42], salt="spring-2024").tolist()
    assert hash_unit(customer_ids=[42], salt="spring-2024")[0] == u[0]
    p = build_profiles(TX, as_of="2025-01-01")
    with pytest.warns(OneToOneDeprecationWarning, match=r"select\(customers=...\)"):
        codes = p.select(customers=IDS[:2])  # type: ignore[call-arg]
    assert codes.tolist() == p.select(customer_ids=IDS[:2]).tolist() == [0, 1]


def test_redemptions_ids_and_deprecated_names() -> None:
    r = Redemptions.from_arrays(customer=[5, 6], timestamp=["2024-07-02"] * 2, offer=["A", "B"])
    assert r.customer_ids.tolist() == [5, 6]
    assert r.offer_ids is not None and r.offer_ids.tolist() == ["A", "B"]
    with pytest.warns(OneToOneDeprecationWarning, match="use Redemptions.customer_ids"):
        assert r.customer.tolist() == [5, 6]
    with pytest.warns(OneToOneDeprecationWarning, match="use Redemptions.offer_ids"):
        offer = r.offer
    assert offer is not None and offer.tolist() == ["A", "B"]


def test_redemptions_by_offer_use_offer_ids() -> None:
    t = IDS[::2]
    r = Redemptions.from_arrays(
        customer=[t[0], t[1], t[1]], timestamp=["2024-07-02"] * 3, offer=["A", "A", "B"]
    )
    k = track_kpis(
        TX, treated=t, control=IDS[1::2], **WINDOW, cost=1.0, goals=Goals(), redemptions=r
    )
    assert k.offers.tolist() == ["A", "B"] and k.offer_redeemers.tolist() == [2, 1]


# ------------------------------------------------------------------ value objects validate
def _holdout(**over: Any) -> Holdout:
    base: dict[str, Any] = {
        "customer_ids": np.array([1, 2]),
        "in_holdout": np.array([True, False]),
        "unit": np.array([0.1, 0.9]),
        "fraction": 0.5,
        "salt": "s",
    }
    return Holdout(**(base | over))


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"customer_ids": np.array([1.5, 2.0])}, "customer_ids", "1-D array of int or str ids"),
        ({"in_holdout": np.array([1, 0])}, "in_holdout", "bool array of 2 entries"),
        ({"in_holdout": np.array([True])}, "in_holdout", "bool array of 2 entries"),
        ({"unit": np.array([0.1, 1.0])}, "unit", r"2 floats in \[0, 1\)"),
        ({"fraction": 1.0}, "fraction", r"number in \(0, 1\)"),
        ({"fraction": True}, "fraction", r"number in \(0, 1\)"),
        ({"salt": ""}, "salt", "non-empty str"),
        ({"stratum": np.array([0, 1], np.int32)}, "stratum", "given together"),
        (
            {"stratum": np.array([0, 2], np.int32), "strata_labels": np.array(["a", "b"])},
            "stratum",
            r"integer codes in 0..1",
        ),
        ({"balance": "good"}, "balance", "Balance or None"),
    ],
    ids=repr,
)
def test_holdout_validates_itself(over: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        _holdout(**over)
    assert info.value.field == field


def test_balance_validates_itself() -> None:
    ok: dict[str, Any] = {
        "features": ("monetary",),
        "mean_treated": [1.0],
        "mean_control": [1.0],
        "smd": [0.0],
        "n_treated": 3,
        "n_control": 3,
    }
    assert Balance(**ok).is_balanced()
    with pytest.raises(ValidationError, match="one value per feature") as info:
        Balance(**(ok | {"smd": [0.0, 0.1]}))
    assert info.value.field == "smd"
    with pytest.raises(ValidationError, match="n_control must be an int >= 0"):
        Balance(**(ok | {"n_control": -1}))
    with pytest.raises(ValidationError, match="threshold must be a number > 0"):
        Balance(**ok).is_balanced(threshold=0)


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"std_error": -0.1}, "std_error", "std_error must be >= 0"),
        ({"ci_low": 3.0}, "ci_low", "must not exceed ci_high"),
        ({"p_value": 1.5}, "p_value", r"p_value must lie in \[0, 1\]"),
        ({"confidence": 95.0}, "confidence", r"confidence must lie in \(0, 1\]"),
        ({"df": 0.0}, "df", "df must be > 0"),
        ({"method": ""}, "method", "non-empty str"),
        ({"estimate": "1.0"}, "estimate", "must be a real number, got str"),
        ({"null": True}, "null", "must be a real number, got bool"),
    ],
    ids=repr,
)
def test_estimate_validates_itself(over: dict[str, Any], field: str, match: str) -> None:
    base: dict[str, Any] = {
        "estimate": 1.0,
        "std_error": 0.5,
        "ci_low": 0.0,
        "ci_high": 2.0,
        "p_value": 0.04,
        "df": 10,
        "confidence": 0.95,
        "method": "welch",
    }
    e = Estimate(**base)
    assert isinstance(e.df, float) and e.null == 0.0
    with pytest.raises(ValidationError, match=match) as info:
        Estimate(**(base | over))
    assert info.value.field == field


def test_estimate_allows_nan_where_a_method_gives_none() -> None:
    nan = float("nan")
    e = Estimate(1.0, 0.0, 1.0, 1.0, nan, nan, 0.95, "welch")
    assert math.isnan(e.p_value) and not e.significant


def test_arm_summary_validates_itself() -> None:
    base: dict[str, Any] = {
        "n_customers": 10,
        "n_not_in_log": 0,
        "spend_total": 10.0,
        "spend_per_customer": 1.0,
        "visit_rate": 0.5,
        "visits_per_customer": 1.0,
        "spend_per_visit": 2.0,
        "pre_spend_per_customer": float("nan"),
        "redemptions": 1,
        "redeemers": 1,
    }
    assert ArmSummary(**base).redemption_rate == 0.1
    for over, field in (
        ({"n_customers": 0}, "n_customers"),
        ({"redeemers": 11}, "redeemers"),
        ({"n_not_in_log": 11}, "n_not_in_log"),
        ({"visit_rate": 1.5}, "visit_rate"),
        ({"redemptions": 1.0}, "redemptions"),
    ):
        with pytest.raises(ValidationError) as info:
            ArmSummary(**(base | over))
        assert info.value.field == field


def test_redemptions_validate_themselves() -> None:
    ts = np.array(["2024-01-01"], dtype="datetime64[s]")
    with pytest.raises(ValidationError, match="timestamp has 1 rows for 2 redemptions"):
        Redemptions(customer_ids=np.array([1, 2]), timestamp=ts)
    with pytest.raises(ValidationError, match="datetime64"):
        Redemptions(customer_ids=np.array([1]), timestamp=np.array(["2024-01-01"]))
    with pytest.raises(ValidationError, match="offer_ids has 2 rows for 1 redemptions"):
        Redemptions(customer_ids=np.array([1]), timestamp=ts, offer_ids=np.array(["a", "b"]))
    with pytest.raises(ValidationError, match="offer has 1 rows for 2 customer ids"):
        Redemptions.from_arrays(customer=[1, 2], timestamp=["2024-01-01"] * 2, offer=["a"])
