"""The report's "Lapsing customers in this campaign" section (issue 16)."""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import ValidationError
from onetoone.data import IdIndex
from onetoone.datasets import synthetic_transactions
from onetoone.measurement import measure_campaign
from onetoone.report import LapseSummary, render_html
from onetoone.value import CustomerValue, LapseRisk, TargetedRisk, targeted_risk

START, END = "2024-07-01", "2024-08-01"
FIELDS: dict[str, Any] = {
    "n_targeted": 1234,
    "n_at_risk": 87,
    "threshold": 0.3,
    "mean_risk": 0.4567,
    "at_risk_clv": 23456.78,
    "at_risk_value": 9876.54,
    "value_at_risk": 15000.25,
    "total_value_at_risk": 60001.0,
    "horizon_days": 28,
    "clv_horizon": "52 weeks",
    "n_missing": 3,
    "as_of": "2024-06-15",
}


@functools.cache
def _result() -> Any:
    tx = synthetic_transactions(300, 40, random_state=0)
    ids = tx.customers.values
    return measure_campaign(
        tx, treated=ids[::2], control=ids[1::2], start=START, end=END, cost=50.0
    )


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")


def test_without_lapse_no_section() -> None:
    page = render_html(result=_result())
    assert "Lapsing customers" not in page


def test_section_shows_the_inputs() -> None:
    page = render_html(result=_result(), lapse=LapseSummary(**FIELDS), currency="€")
    text = _text(page)
    assert "<h2>Lapsing customers in this campaign</h2>" in page
    assert "customers the plan targets 1,234" in text
    assert "lapse risk &ge; 30 %" in page and "87 (7.1 %)" in text  # 87 / 1234
    assert "their mean lapse risk (%) 45.7 %" in text
    assert "their CLV over 52 weeks (€) €23,456.78" in text
    assert "their value at risk (€) €9,876.54" in text
    assert "value at risk covered by the plan (all targeted) (€) €15,000.25" in text
    assert "€60,001.00 (the plan covers 25.0 %)" in text
    assert "without history (counted as 0) 3" in text
    assert "no purchase in the next 28 days as of 2024-06-15" in text
    assert "not measured here" in text  # no subgroup measurement: said, not invented
    assert "<script" not in page


def test_mapping_equals_summary_and_no_one_at_risk() -> None:
    a = render_html(result=_result(), lapse=FIELDS)
    assert a == render_html(result=_result(), lapse=LapseSummary(**FIELDS))
    none = FIELDS | {"n_at_risk": 0, "mean_risk": None, "at_risk_clv": 0.0, "at_risk_value": 0.0}
    text = _text(render_html(result=_result(), lapse=none))
    assert "at risk of lapsing" in text and " 0 (0.0 %)" in text
    assert "their mean lapse risk (%) &ndash;" in text


def test_measured_subgroup_effect_is_shown() -> None:
    sub = _result()
    page = render_html(result=_result(), lapse=FIELDS, lapse_result=sub)
    text = _text(page)
    assert "Measured effect on the at-risk customers" in text
    assert f"({sub.treated.n_customers:,} treated, {sub.control.n_customers:,} control)" in text
    assert f"${sub.lift.estimate:,.2f}" in text
    assert "not measured here" not in text


def test_subgroup_chosen_after_the_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="after the campaign start") as info:
        render_html(
            result=_result(), lapse=FIELDS | {"as_of": "2024-07-02"}, lapse_result=_result()
        )
    assert info.value.field == "lapse_result"


@pytest.mark.parametrize(
    ("over", "field", "match"),
    [
        ({"n_targeted": -1}, "n_targeted", "n_targeted must be an int >= 0"),
        ({"n_targeted": 1.5}, "n_targeted", "n_targeted must be an int"),
        ({"n_at_risk": 2000}, "n_at_risk", "exceeds n_targeted"),
        ({"n_missing": 2000}, "n_missing", "exceeds n_targeted"),
        ({"threshold": 1.5}, "threshold", "threshold must be a finite number"),
        ({"mean_risk": float("nan")}, "mean_risk", "mean_risk must be a finite number"),
        ({"mean_risk": None}, "mean_risk", "must be given when n_at_risk > 0"),
        ({"mean_risk": 0.1}, "mean_risk", "below the threshold"),
        ({"at_risk_clv": -1.0}, "at_risk_clv", "at_risk_clv must be a finite number >= 0"),
        ({"value_at_risk": float("inf")}, "value_at_risk", "must be a finite number"),
        ({"at_risk_value": 20000.0}, "at_risk_value", "exceeds value_at_risk"),
        ({"total_value_at_risk": 10.0}, "value_at_risk", "exceeds total_value_at_risk"),
        ({"horizon_days": 0}, "horizon_days", "horizon_days must be a finite number > 0"),
        ({"clv_horizon": 52}, "clv_horizon", "clv_horizon must be a str"),
        ({"as_of": 20240615}, "as_of", "bare number"),
        ({"n_targeted": "12"}, "n_targeted", "must be an int"),
    ],
    ids=repr,
)
def test_lapse_summary_validates_itself(over: dict[str, Any], field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        LapseSummary(**(FIELDS | over))
    assert info.value.field == field
    with pytest.raises(ValidationError, match=match):
        render_html(result=_result(), lapse=FIELDS | over)


def test_render_html_lapse_bad_input() -> None:
    with pytest.raises(ValidationError, match="lapse must be a LapseSummary") as info:
        render_html(result=_result(), lapse=[1, 2])  # type: ignore[arg-type]
    assert info.value.field == "lapse"
    with pytest.raises(ValidationError, match="unknown key"):
        render_html(result=_result(), lapse=FIELDS | {"risk": 1.0})
    with pytest.raises(ValidationError, match="missing a field"):
        render_html(result=_result(), lapse={"n_targeted": 3})
    with pytest.raises(ValidationError, match="lapse_result needs lapse="):
        render_html(result=_result(), lapse_result=_result())
    with pytest.raises(ValidationError, match="lapse_result must be a CampaignResult"):
        render_html(result=_result(), lapse=FIELDS, lapse_result="x")  # type: ignore[arg-type]


# ------------------------------------------------------------------ the value-side helper
def _value_risk() -> tuple[CustomerValue, LapseRisk]:
    ids = IdIndex.from_values([7, 8, 9, 10])
    v = CustomerValue(
        ids,
        p_alive=[0.9, 0.5, 0.2, 0.7],
        expected_purchases=[4.0, 1.0, 0.5, 2.0],
        expected_spend=[25.0, 10.0, 10.0, 5.0],
        clv=[100.0, 10.0, 5.0, 8.0],
        horizon=52.0,
        period=1.0,
        discount_rate=0.0,
        margin=1.0,
    )
    r = LapseRisk(ids, [0.3, 0.9, 0.8, 0.5], np.datetime64("2024-06-01", "s"), 28.0)
    return v, r


def test_targeted_risk_hand_computed_and_rendered() -> None:
    v, r = _value_risk()
    t = targeted_risk(v, r, np.array([7, 8, 8, 9, 42]), threshold=0.5)
    # targeted 7, 8, 9, 42 (no history); at risk 8 (0.9) and 9 (0.8)
    assert (t.n_targeted, t.n_at_risk, t.features.n_missing) == (4, 2, 1)
    assert t.at_risk_ids.tolist() == [8, 9]
    assert t.mean_risk == pytest.approx(0.85)
    assert t.at_risk_clv == 15.0 and t.at_risk_value == pytest.approx(13.0)
    assert t.value_at_risk == pytest.approx(43.0)  # 30 + 9 + 4
    assert t.base_value_at_risk == pytest.approx(47.0)  # + 10's 4
    s = LapseSummary(**t.report_fields())
    assert s.as_of == np.datetime64("2024-06-01", "s") and s.n_missing == 1
    text = _text(render_html(result=_result(), lapse=t.report_fields() | {"clv_horizon": "a year"}))
    assert "2 (50.0 %)" in text and "$43.00" in text and "covers 91.5 %" in text


def test_targeted_risk_threshold_edges() -> None:
    v, r = _value_risk()
    assert targeted_risk(v, r, [7, 8], threshold=0.0).n_at_risk == 2
    nobody = targeted_risk(v, r, [7, 8], threshold=1.0)
    assert nobody.n_at_risk == 0 and nobody.mean_risk is None
    LapseSummary(**nobody.report_fields())  # a valid summary with no one at risk


@pytest.mark.parametrize(
    ("kw", "field", "match"),
    [
        ({"customer_ids": []}, "customer_ids", "non-empty 1-d"),
        ({"customer_ids": "7"}, "customer_ids", "array of the targeted"),
        ({"customer_ids": [[7]]}, "customer_ids", "non-empty 1-d"),
        ({"threshold": 1.5}, "threshold", "probability in"),
        ({"threshold": float("nan")}, "threshold", "probability in"),
        ({"value": "v"}, "value", "value must be a CustomerValue"),
        ({"risk": None}, "risk", "risk must be a LapseRisk"),
    ],
    ids=repr,
)
def test_targeted_risk_bad_input(kw: dict[str, Any], field: str, match: str) -> None:
    v, r = _value_risk()
    args: dict[str, Any] = {"value": v, "risk": r, "customer_ids": [7], "threshold": 0.5} | kw
    with pytest.raises(ValidationError, match=match) as info:
        targeted_risk(args.pop("value"), args.pop("risk"), args.pop("customer_ids"), **args)
    assert info.value.field == field


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 1.0),  # lapse risk
            st.floats(0.0, 1e9),  # CLV
            st.booleans(),  # targeted
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(0.0, 1.0),
)
def test_targeted_risk_always_fills_a_valid_summary(
    rows: list[tuple[float, float, bool]], threshold: float
) -> None:
    n = len(rows)
    ids = IdIndex.from_values(np.arange(n, dtype=np.uint64) + np.uint64(2**64 - 1 - n))
    risk_v = np.array([r[0] for r in rows])
    clv = np.array([r[1] for r in rows])
    v = CustomerValue(
        ids,
        p_alive=np.full(n, 0.5),
        expected_purchases=np.ones(n),
        expected_spend=np.ones(n),
        clv=clv,
        horizon=52.0,
        period=1.0,
        discount_rate=0.0,
        margin=1.0,
    )
    r = LapseRisk(ids, risk_v, np.datetime64("2024-06-01", "s"), 28.0)
    chosen = np.array([r_[2] for r_ in rows])
    targets = ids.values[chosen] if chosen.any() else ids.values[:1]
    t = targeted_risk(v, r, targets, threshold=threshold)
    s = LapseSummary(**t.report_fields())  # never invalid
    sel = np.isin(ids.values, targets)
    at = sel & (risk_v >= threshold)
    assert s.n_targeted == sel.sum() and s.n_at_risk == at.sum()
    assert s.value_at_risk == pytest.approx((risk_v * clv)[sel].sum(), rel=1e-12, abs=1e-9)
    assert s.at_risk_clv == pytest.approx(clv[at].sum(), rel=1e-12, abs=1e-9)


def test_targeted_risk_validates_itself() -> None:
    v, r = _value_risk()
    t = targeted_risk(v, r, [7, 8])
    with pytest.raises(ValidationError, match="as_of must be a numpy.datetime64") as info:
        TargetedRisk(t.features, threshold=0.5, base_value_at_risk=50.0, as_of="2024-01-01")  # type: ignore[arg-type]
    assert info.value.field == "as_of"
    with pytest.raises(ValidationError, match="must cover the whole base") as info:
        TargetedRisk(t.features, threshold=0.5, base_value_at_risk=1.0, as_of=r.as_of)
    assert info.value.field == "base_value_at_risk"
    with pytest.raises(ValidationError, match="features must be a ValueFeatures"):
        TargetedRisk("f", threshold=0.5, base_value_at_risk=1.0, as_of=r.as_of)  # type: ignore[arg-type]
