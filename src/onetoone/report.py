"""One self-contained HTML report of a campaign: charts, figures, goals, allocation.

The file has no script, no stylesheet or font link and no network reference:
charts are SVG drawn by matplotlib (the ``report`` extra, imported lazily) and
embedded as ``data:`` images, so the report opens from a disk, an e-mail
attachment or an intranet share exactly as it was written.

This module reads the measurement types and a plain :class:`AllocationSummary`
of numbers; it imports no allocation code, so any allocator (or an ERP) can
fill the summary in.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from onetoone._optional import import_optional
from onetoone._version import __version__
from onetoone.errors import ValidationError
from onetoone.measurement import CampaignResult, Estimate, KpiSeries

__all__ = ["AllocationSummary", "render_html"]

_ALLOCATION_FIELDS = (
    "spend",
    "budget",
    "expected_return",
    "shadow_price",
    "gap",
    "n_customers",
    "n_offers",
    "status",
)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


@attrs.frozen
class AllocationSummary:
    """The numbers of an offer allocation that the report shows.

    Fill it from any allocator's result, e.g.
    ``AllocationSummary(spend=a.spend, budget=problem.budget,
    expected_return=a.value, shadow_price=a.duals[0], gap=a.gap)``.

    Attributes
    ----------
    spend : float
        Offer cost committed by the allocation.
    budget : float, optional
    expected_return : float, optional
        Expected incremental value of the allocated offers.
    shadow_price : float, optional
        Dual price of the budget: value of one more unit of budget.
    gap : float, optional
        Relative optimality gap of the allocation (0 = proven optimal).
    n_customers, n_offers : int, optional
        Customers reached and offers allocated.
    status : str, optional
        The solver's status message.

    Examples
    --------
    >>> AllocationSummary.from_mapping({"spend": 950.0, "budget": 1000.0}).spend
    950.0
    """

    spend: float = attrs.field(converter=float)
    budget: float | None = attrs.field(default=None, converter=_opt_float)
    expected_return: float | None = attrs.field(default=None, converter=_opt_float)
    shadow_price: float | None = attrs.field(default=None, converter=_opt_float)
    gap: float | None = attrs.field(default=None, converter=_opt_float)
    n_customers: int | None = attrs.field(default=None, converter=_opt_int)
    n_offers: int | None = attrs.field(default=None, converter=_opt_int)
    status: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AllocationSummary:
        """Build from a mapping with the attribute names as keys (``spend`` required)."""
        unknown = sorted(set(values) - set(_ALLOCATION_FIELDS))
        if unknown:
            raise ValidationError(
                f"allocation has unknown key(s) {unknown}; use {list(_ALLOCATION_FIELDS)}",
                field="allocation",
            )
        if "spend" not in values:
            raise ValidationError("allocation needs a 'spend' value", field="allocation")
        try:
            return cls(**dict(values))
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"allocation values must be numbers (status a str): {exc}", field="allocation"
            ) from exc


# --------------------------------------------------------------------------- charts
def _svg_img(fig: Any, alt: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue().encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _figure() -> tuple[Any, Any]:
    import_optional("matplotlib", purpose="onetoone.report.render_html")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(True, alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _date_axis(ax: Any, days: Any) -> None:
    if len(days) < 2:  # a one-day series: give the locator a range to work with
        one = np.timedelta64(1, "D")
        ax.set_xlim(days[0] - one, days[0] + one)
    mdates: Any = importlib.import_module("matplotlib.dates")
    loc = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _chart_revenue(k: KpiSeries) -> str:
    fig, ax = _figure()
    x = k.days
    pct = round(100 * (1 - k.alpha))
    ax.fill_between(
        x,
        k.incremental_revenue_low,
        k.incremental_revenue_high,
        alpha=0.25,
        color="#1f77b4",
        label=f"{pct}% interval",
    )
    ax.plot(x, k.incremental_revenue, color="#1f77b4", lw=2, label="incremental revenue")
    if bool(np.isfinite(k.revenue_goal).any()):
        ax.plot(x, k.revenue_goal, color="#2ca02c", ls="--", label="goal (pro rata)")
    ax.axhline(0.0, color="black", lw=0.8)
    _mark_off_track(ax, x, k.incremental_revenue, k.revenue_off_track, "revenue goal")
    ax.set_ylabel("cumulative incremental revenue")
    ax.set_title("Incremental revenue since the campaign start")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, "cumulative incremental revenue with its confidence band and goal")


def _mark_off_track(ax: Any, x: Any, y: Any, off: Any, goal: str) -> None:
    """Red dots on the days a goal was off track."""
    if bool(off.any()):
        ax.plot(x[off], y[off], "o", color="#d62728", ms=4, label=f"off track ({goal})")


def _chart_roi(k: KpiSeries) -> str:
    fig, ax = _figure()
    x = k.days
    ok = np.isfinite(k.roi)
    ax.fill_between(x[ok], k.roi_low[ok], k.roi_high[ok], alpha=0.25, color="#9467bd")
    ax.plot(x[ok], k.roi[ok], color="#9467bd", lw=2, label="ROI to date")
    if k.goals.target_roi is not None:
        ax.axhline(k.goals.target_roi, color="#2ca02c", ls="--", label="target ROI")
    ax.axhline(0.0, color="black", lw=0.8)
    _mark_off_track(ax, x, k.roi, k.roi_off_track & ok, "ROI goal")
    ax.set_ylabel("ROI")
    ax.set_title("Return on investment to date")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, "ROI to date with its confidence band and target")


def _chart_budget(k: KpiSeries) -> str:
    fig, ax = _figure()
    x = k.days
    ax.plot(x, k.cost, color="#ff7f0e", lw=2, label="cost to date")
    if k.goals.budget is not None:
        ax.plot(x, k.budget_goal, color="#2ca02c", ls="--", label="budget (pro rata)")
        ax.axhline(k.goals.budget, color="#2ca02c", lw=0.8, label="budget")
    _mark_off_track(ax, x, k.cost, k.budget_off_track, "budget")
    ax.set_ylabel("cost")
    ax.set_title("Spend against budget")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, "cumulative cost against the budget")


def _chart_redemptions(k: KpiSeries) -> str:
    fig, ax = _figure()
    if len(k.offers):
        order = np.argsort(-k.offer_redemption_rate)[:20]
        labels = [str(v) for v in k.offers[order]]
        ax.barh(labels[::-1], 100 * k.offer_redemption_rate[order][::-1], color="#17becf")
        ax.set_xlabel("% of treated customers who redeemed")
        title = "Redemption rate by offer"
        if len(k.offers) > 20:
            title += f" (top 20 of {len(k.offers)})"
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=7)
    else:
        ax.plot(k.days, 100 * k.redemption_rate, color="#17becf", lw=2, label="redemption rate")
        if bool(np.isfinite(k.redemption_goal).any()):
            ax.plot(k.days, 100 * k.redemption_goal, color="#2ca02c", ls="--", label="goal")
        off = k.redemption_off_track
        if bool(off.any()):
            ax.plot(
                k.days[off],
                100 * k.redemption_rate[off],
                "o",
                color="#d62728",
                ms=4,
                label="off track (redemption goal)",
            )
        ax.set_ylabel("% of treated customers")
        ax.set_title("Redemption rate to date")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        _date_axis(ax, k.days)
    return _svg_img(fig, "redemption rate by offer")


# --------------------------------------------------------------------------- tables
def _fmt(v: Any, spec: str = ",.2f") -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, float) and math.isnan(v):
        return "n/a"
    if isinstance(v, (float, int, np.floating, np.integer)):
        return format(v, spec)
    return html.escape(str(v))


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] | None = None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for r in rows:
        out.append("<tr><th>" + r[0] + "</th>" + "".join(f"<td>{c}</td>" for c in r[1:]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _est_row(name: str, e: Estimate, spec: str = ",.2f") -> tuple[str, ...]:
    return (
        html.escape(name),
        _fmt(e.estimate, spec),
        f"{_fmt(e.ci_low, spec)} .. {_fmt(e.ci_high, spec)}",
        _fmt(e.p_value, ".3g"),
        html.escape(e.method),
    )


def _when(t: np.datetime64) -> str:
    """A time as a date when it is midnight, else to the second."""
    day = t.astype("datetime64[D]")
    return str(day) if day == t else str(t).replace("T", " ")


def _result_section(r: CampaignResult) -> str:
    t, c = r.treated, r.control
    arms = _table(
        [
            ("customers", _fmt(t.n_customers, ",d"), _fmt(c.n_customers, ",d")),
            ("spend per customer", _fmt(t.spend_per_customer), _fmt(c.spend_per_customer)),
            ("total spend", _fmt(t.spend_total), _fmt(c.spend_total)),
            ("visit rate", _fmt(t.visit_rate, ".2%"), _fmt(c.visit_rate, ".2%")),
            ("spend per visit", _fmt(t.spend_per_visit), _fmt(c.spend_per_visit)),
            ("redemptions", _fmt(t.redemptions, ",d"), _fmt(c.redemptions, ",d")),
            ("redeemers", _fmt(t.redeemers, ",d"), _fmt(c.redeemers, ",d")),
            (
                "pre-period spend per customer",
                _fmt(t.pre_spend_per_customer),
                _fmt(c.pre_spend_per_customer),
            ),
        ],
        ("", "treated", "control"),
    )
    pct = round(100 * (1 - r.alpha))
    rows = [_est_row("lift per customer (Welch)", r.revenue.welch)]
    if r.revenue.cuped is not None:
        rows.append(_est_row("lift per customer (CUPED)", r.revenue.cuped))
    if r.revenue.bootstrap is not None:
        rows.append(_est_row("lift per customer (bootstrap)", r.revenue.bootstrap))
    rows.append(_est_row("incremental revenue", r.incremental_revenue))
    rows.append(_est_row("incremental margin", r.incremental_margin))
    if r.roi is not None:
        rows.append(_est_row("ROI (test: ROI = 0)", r.roi, ".1%"))
    rows.append(_est_row("visit-rate lift", r.visit_rate, ".3%"))
    rows.append(_est_row("spend-per-visit lift", r.spend_per_visit))
    est = _table(rows, ("", "estimate", f"{pct}% interval", "p-value", "method"))
    notes = []
    if r.revenue.cuped is not None:
        notes.append(
            f"CUPED on pre-period spend: correlation {_fmt(r.revenue.correlation, '.3f')}, "
            f"variance of the estimate reduced by {_fmt(r.revenue.variance_reduction, '.1%')}."
        )
    basis = (
        "revenue counted as margin (no margin rate given)"
        if r.margin_rate is None
        else f"margin rate {r.margin_rate:.0%}"
    )
    notes.append(f"Cost {_fmt(r.cost)}; {basis}.")
    return (
        f"<h2>Campaign result ({html.escape(_when(r.start))} to "
        f"{html.escape(_when(r.end))}, end exclusive)</h2>\n"
        + arms
        + "\n"
        + est
        + "\n"
        + "".join(f"<p>{n}</p>" for n in notes)
    )


def _kpi_section(k: KpiSeries) -> str:
    first = k.first_off_track
    if first is None:
        status = '<p class="ok">On track on every tracked day.</p>'
    else:
        d = int(np.flatnonzero(k.off_track)[0])
        status = (
            f'<p class="bad">Off track from {html.escape(str(first))}: '
            f"{html.escape(', '.join(k.reasons(d)))}.</p>"
        )
    g = k.goals
    goals = _table(
        [
            ("target ROI", _fmt(g.target_roi, ".1%"), _fmt(float(k.roi[-1]), ".1%")),
            (
                "target redemption rate",
                _fmt(g.target_redemption_rate, ".2%"),
                _fmt(float(k.redemption_rate[-1]), ".2%"),
            ),
            ("budget", _fmt(g.budget), _fmt(float(k.cost[-1]))),
            (
                "target incremental revenue",
                _fmt(g.target_incremental_revenue),
                _fmt(float(k.incremental_revenue[-1])),
            ),
        ],
        ("goal", "target", f"to date ({k.days[-1]})"),
    )
    charts = [_chart_revenue(k), _chart_roi(k), _chart_budget(k), _chart_redemptions(k)]
    return (
        f"<h2>Daily tracking ({len(k)} days, {k.n_treated:,} treated, "
        f"{k.n_control:,} control)</h2>\n"
        + status
        + "\n"
        + goals
        + "\n"
        + "\n".join(f'<div class="fig">{c}</div>' for c in charts)
    )


def _allocation_section(a: AllocationSummary) -> str:
    rows = [
        ("offer spend", _fmt(a.spend)),
        ("budget", _fmt(a.budget)),
        ("expected return", _fmt(a.expected_return)),
        ("shadow price of budget", _fmt(a.shadow_price, ".4g")),
        ("optimality gap", _fmt(a.gap, ".3%")),
        ("customers reached", _fmt(a.n_customers, ",d")),
        ("offers allocated", _fmt(a.n_offers, ",d")),
        ("status", _fmt(a.status)),
    ]
    return "<h2>Allocation</h2>\n" + _table(rows)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:60em;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8em 0}th,td{padding:.25em .8em;text-align:right;
border-bottom:1px solid #eee}th:first-child{text-align:left}
.chart{max-width:100%;height:auto}.fig{margin:1em 0}.ok{color:#2a7a2a}.bad{color:#b22}
footer{margin-top:2em;color:#777;font-size:.85em}
"""


def _render_html_iv(
    result: Any, kpis: Any, allocation: Any, title: Any
) -> AllocationSummary | None:
    if result is None and kpis is None:
        raise ValidationError(
            "render_html needs a CampaignResult (result=) or a KpiSeries (kpis=)", field="result"
        )
    if result is not None and not isinstance(result, CampaignResult):
        raise ValidationError(
            f"result must be a CampaignResult, got {type(result).__name__}", field="result"
        )
    if kpis is not None:
        if not isinstance(kpis, KpiSeries):
            raise ValidationError(
                f"kpis must be a KpiSeries, got {type(kpis).__name__}", field="kpis"
            )
        if len(kpis) == 0:
            raise ValidationError("kpis has no days to draw", field="kpis")
    if not isinstance(title, str):
        raise ValidationError("title must be a str", field="title")
    if allocation is None or isinstance(allocation, AllocationSummary):
        return allocation
    if isinstance(allocation, Mapping):
        return AllocationSummary.from_mapping(allocation)
    raise ValidationError(
        "allocation must be an AllocationSummary, a mapping of its fields, or None",
        field="allocation",
    )


def render_html(
    *,
    result: CampaignResult | None = None,
    kpis: KpiSeries | None = None,
    allocation: AllocationSummary | Mapping[str, Any] | None = None,
    title: str = "Campaign report",
    path: str | os.PathLike[str] | None = None,
) -> str:
    """Render one self-contained HTML report; optionally write it to ``path``.

    Parameters
    ----------
    result : CampaignResult, optional
        Arm figures, lift, margin and ROI with intervals.
    kpis : KpiSeries, optional
        Daily series: charts of cumulative incremental revenue with its
        confidence band against the goal, ROI to date, cost against budget,
        redemption rate by offer (or over time), and the goal table.
    allocation : AllocationSummary or mapping, optional
        Numbers of the offer allocation (spend, budget, expected return,
        shadow price, gap ...), filled in by the caller.
    title : str
    path : path-like, optional
        Write the HTML there (UTF-8).

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    ValidationError
        Neither ``result`` nor ``kpis``, or arguments of the wrong type.
    MissingDependencyError
        Charts need matplotlib (``pip install 'onetoone[report]'``).

    Notes
    -----
    Charts are SVG from matplotlib's object-oriented API (no ``pyplot``, so no
    global state and no GUI backend), each embedded as a base64 ``data:``
    image so their element ids cannot collide. The page has no ``<script>``.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> from onetoone.measurement import measure_campaign
    >>> tx = synthetic_transactions(300, 40, random_state=0)
    >>> ids = tx.customers.values
    >>> res = measure_campaign(tx, treated=ids[::2], control=ids[1::2],
    ...                        start="2024-07-01", end="2024-08-01", cost=50.0)
    >>> page = render_html(result=res, allocation={"spend": 50.0, "budget": 60.0})
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page
    (True, False)
    """
    alloc = _render_html_iv(result, kpis, allocation, title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if result is not None:
        parts.append(_result_section(result))
    if kpis is not None:
        parts.append(_kpi_section(kpis))
    if alloc is not None:
        parts.append(_allocation_section(alloc))
    parts.append(
        f"<footer>onetoone {html.escape(__version__)}: intervals are two-sided; see "
        "docs/measurement.md for the methods.</footer></body></html>"
    )
    page = "\n".join(parts) + "\n"
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
    return page
