"""What the report tells its reader (issue 12, defects 11, 12, 13): headlines, warnings, units."""

from __future__ import annotations

import base64
import functools
import re
from typing import Any

import numpy as np
import pytest

from onetoone.datasets import synthetic_transactions
from onetoone.measurement import Goals, assign_holdout, measure_campaign, track_kpis
from onetoone.report import render_html

START, END = "2024-07-01", "2024-08-01"


@functools.cache
def _tx() -> Any:
    return synthetic_transactions(900, 60, random_state=8)


def _pair(**kw: Any) -> tuple[Any, Any]:
    tx = _tx()
    args: dict[str, Any] = {
        "start": START,
        "end": END,
        "cost": 400.0,
        "margin_rate": 0.3,
        "pre_period": 90,
    }
    args.update(kw)
    res = measure_campaign(tx, **args)
    k = track_kpis(tx, goals=Goals(target_roi=0.0, budget=1000.0), **args)
    return res, k


def _svgs(page: str) -> list[str]:
    return [
        base64.b64decode(m).decode("utf-8")
        for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_observational_warning_of_the_console_is_in_the_html() -> None:
    ids = _tx().customers.values
    res, k = _pair(treated=ids[::2], control=ids[1::2], observational=True)
    page = render_html(result=res, kpis=k)
    assert "NOT RANDOMISED" in res.summary()
    for w in res.warnings + k.warnings:  # every console warning is in the report
        assert w.replace("'", "&#x27;") in page
    assert '<p class="warn"><strong>Warning:</strong> NOT RANDOMISED' in page
    text = _text(page)
    assert "Can we trust the comparison? Only partly." in text
    assert "This is an association, not a proven effect" in text


def test_four_headlines_answer_the_manager() -> None:
    h = assign_holdout(_tx().customers.values, fraction=0.5, salt="report-content")
    res, k = _pair(holdout=h)
    text = _text(render_html(result=res, kpis=k))
    for q in (
        "Did it work?",
        "What did it return?",
        "Is it on track?",
        "Can we trust the comparison?",
    ):
        assert text.count(q) == 1
    assert re.search(r"Did it work\? (Yes|No|Not shown)", text)
    assert re.search(r"What did it return\? Return on investment -?[\d,]+ % \(95% interval", text)
    assert (
        "Is it on track? Not yet decided on 2024-07-31" in text
        or ("Is it on track? On track on 2024-07-31" in text)
        or "Is it on track? Off track on 2024-07-31" in text
    )
    assert "Can we trust the comparison? Yes, as far as the checks go" in text
    # one lift row in the main table; the unadjusted one is a labelled check
    assert text.count("extra spend per treated customer ($)") == 1
    assert "Checks: the extra spend per treated customer by other methods" in text


def test_roi_chart_is_in_percent_like_the_table() -> None:
    ids = _tx().customers.values
    res, k = _pair(treated=ids[::2], control=ids[1::2], holdout_fraction=0.5)
    page = render_html(result=res, kpis=k)
    roi_svg = next(s for s in _svgs(page) if "Return on investment to date" in s)
    assert "ROI to date (%)" in roi_svg and "0 %" in roi_svg
    # the table and the chart's last point agree in percent
    assert f"{100 * res.roi.estimate:,.1f} %" in page
    assert float(k.roi[-1]) == pytest.approx(res.roi.estimate, rel=1e-9)


@pytest.mark.parametrize(
    ("currency", "shown"), [("$", "$400.00"), ("EUR", "400.00 EUR"), ("€", "€400.00")]
)
def test_every_money_figure_and_axis_carries_the_currency(currency: str, shown: str) -> None:
    ids = _tx().customers.values
    res, k = _pair(treated=ids[::2], control=ids[1::2], holdout_fraction=0.5)
    alloc = {
        "spend": 380.0,
        "budget": 400.0,
        "expected_return": 900.0,
        "shadow_price": 0.0,
        "gap": 0.0,
        "n_customers": 700,
        "n_offers": 2000,
        "status": "gap 0 <= tol 1e-4",
    }
    page = render_html(
        result=res, kpis=k, allocation=alloc, currency=currency, cost_note="400 coupons at 1 each"
    )
    text = _text(page).replace("&#x27;", "'")
    assert f"Cost ({shown})" in text and "the base of the return on investment" in text
    assert "here: 400 coupons at 1 each" in text
    unit = f"({currency})"
    for label in (
        "spend per customer",
        "extra spend per treated customer",
        "cost to date",
        "planned offer cost (expected)",
        "allocation budget",
    ):
        assert f"{label} {unit}" in text, label
    money_svgs = [
        s for s in _svgs(page) if "Extra (incremental) revenue" in s or "Spend against budget" in s
    ]
    assert len(money_svgs) == 2 and all(unit in s for s in money_svgs)
    # the three cost-like figures are each defined in plain words
    for term in ("Cost to date", "Budget", "Planned offer cost", "Allocation budget"):
        assert f"<dt>{term} (" in page
    # 700 planned customers vs the measured arm: explained
    assert "The plan reaches 700 customers, while the measurement compares" in text


def test_no_jargon_in_the_labels_methods_in_footnotes() -> None:
    ids = _tx().customers.values
    res, k = _pair(treated=ids[::2], control=ids[1::2], holdout_fraction=0.5)
    alloc = {"spend": 1.0, "shadow_price": 0.0, "gap": 0.0, "status": "gap 0.00e+00 <= tol 1e-04"}
    page = render_html(result=res, kpis=k, allocation=alloc)
    body, methods = page.split("<h2>Methods</h2>")
    for jargon in ("cuped-welch", "(affine)", "delta", "shadow price", "<= tol", "sweep"):
        assert jargon not in body, jargon
    assert "adjusted for pre-campaign spend" in body and "CUPED" in methods
    assert "value of one more $1 of budget</th><td>$0.000 (the budget does not limit" in body
    assert "The solver&#x27;s own message: gap 0.00e+00 &lt;= tol 1e-04" in methods


def test_sample_ratio_mismatch_is_flagged_in_the_report() -> None:
    h = assign_holdout(_tx().customers.values, fraction=0.5, salt="report-content")
    res, k = _pair(holdout=h, control=h.control[: len(h.control) // 3])
    assert res.sample_ratio.mismatch
    page = render_html(result=res, kpis=k)
    assert "<strong>Warning:</strong> SAMPLE-RATIO MISMATCH" in page
    assert "Can we trust the comparison? No. The arm sizes do not match" in _text(page)


def test_goal_status_per_day_and_overall_in_the_report() -> None:
    ids = _tx().customers.values
    _, k = _pair(treated=ids[::2], control=ids[1::2], holdout_fraction=0.5)
    page = render_html(kpis=k)
    assert "On track on every tracked day" not in page
    rows = re.findall(r"<tr><th>(2024-07-\d\d)</th>.*?</tr>", page)
    assert rows == [str(d) for d in k.days[[6, 13, 20, 27, 30]]]
    css = {"on track": "ok", "off track": "bad"}
    for d in (6, 13, 20, 27, 30):
        st = str(k.status[d])
        assert f'<span class="{css.get(st, "undecided")}">{st}</span>' in page
    assert np.all(k.roi_status[k.goals.warmup_days :] != "no goal")
