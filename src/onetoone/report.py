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
import functools
import html
import importlib
import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from onetoone._arrays import to_datetime64
from onetoone._checks import check_int, check_real, is_int, is_real
from onetoone._optional import import_optional
from onetoone._version import __version__
from onetoone.errors import ValidationError
from onetoone.measurement import CampaignResult, Estimate, KpiSeries
from onetoone.measurement._stats import check_currency, format_money

__all__ = ["AllocationSummary", "LapseSummary", "render_html"]

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


def _opt_nonneg(inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValidationError(
            f"AllocationSummary.{attribute.name} must be a finite number >= 0 (or None), "
            f"got {value!r}",
            field=attribute.name,
        )


def _opt_finite(inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and not math.isfinite(value):
        raise ValidationError(
            f"AllocationSummary.{attribute.name} must be finite (or None), got {value!r}",
            field=attribute.name,
        )


def _opt_gap(inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValidationError(
            f"AllocationSummary.gap must lie in [0, 1] (a relative gap), got {value!r}",
            field="gap",
        )


def _opt_str(inst: Any, attribute: Any, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(
            f"AllocationSummary.status must be a str or None, got {type(value).__name__}",
            field="status",
        )


@attrs.frozen
class AllocationSummary:
    """The numbers of an offer allocation that the report shows.

    A plain record, so any allocator (or an ERP) can fill it in; from
    onetoone's :class:`~onetoone.allocation.Allocation` ``a`` with one budget::

        AllocationSummary(spend=a.budget_spend[0], budget=a.budget_limit[0],
                          expected_return=a.objective, shadow_price=a.budget_price[0],
                          gap=a.gap, n_customers=len(np.unique(a.customer)),
                          n_offers=len(a.offer), status=a.message)

    It validates itself: amounts finite, ``spend``, ``budget`` and the counts
    >= 0, ``gap`` in [0, 1].

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
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, allocate
    >>> p = AllocationProblem.from_dense(np.array([[4.0, 3.0], [3.0, 1.0]]), np.ones((2, 2)),
    ...                                  budgets=[Budget("total", 1.0)])
    >>> a = allocate(p)
    >>> s = AllocationSummary(spend=a.budget_spend[0], budget=a.budget_limit[0],
    ...                       expected_return=a.objective, shadow_price=a.budget_price[0],
    ...                       gap=a.gap, n_offers=len(a.offer))
    >>> s.spend, s.budget, s.expected_return, s.n_offers
    (1.0, 1.0, 4.0, 1)
    >>> AllocationSummary.from_mapping({"spend": 950.0, "budget": 1000.0}).spend
    950.0
    """

    spend: float = attrs.field(converter=float, validator=_opt_nonneg)
    budget: float | None = attrs.field(default=None, converter=_opt_float, validator=_opt_nonneg)
    expected_return: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_opt_finite
    )
    shadow_price: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_opt_finite
    )
    gap: float | None = attrs.field(default=None, converter=_opt_float, validator=_opt_gap)
    n_customers: int | None = attrs.field(default=None, converter=_opt_int, validator=_opt_nonneg)
    n_offers: int | None = attrs.field(default=None, converter=_opt_int, validator=_opt_nonneg)
    status: str | None = attrs.field(default=None, validator=_opt_str)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AllocationSummary:
        """Build from a mapping with the attribute names as keys (``spend`` required).

        Raises
        ------
        ValidationError
            An unknown key, no ``spend``, or a value that is not a number.

        Examples
        --------
        >>> AllocationSummary.from_mapping({"spend": 5, "gap": 0.0}).gap
        0.0
        """
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
        except ValidationError:
            raise
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"allocation values must be numbers (status a str): {exc}", field="allocation"
            ) from exc


_LAPSE_FIELDS = (
    "n_targeted",
    "n_at_risk",
    "threshold",
    "mean_risk",
    "at_risk_clv",
    "at_risk_value",
    "value_at_risk",
    "total_value_at_risk",
    "horizon_days",
    "clv_horizon",
    "n_missing",
    "as_of",
)


def _opt_time(v: Any) -> np.datetime64 | None:
    if v is None:
        return None
    try:
        return to_datetime64(v, "LapseSummary.as_of")
    except ValidationError as exc:
        raise ValidationError(str(exc), field="as_of") from None


def _as_count(v: Any) -> Any:
    return int(v) if is_int(v) else v  # anything else is refused by the validator


def _as_num(v: Any) -> Any:
    return float(v) if is_real(v) else v


def _as_opt_num(v: Any) -> Any:
    return None if v is None else _as_num(v)


def _lapse_check(attribute: Any, check: Any, value: Any) -> None:
    if value is None and (attribute.default is None or attribute.name == "mean_risk"):
        return
    try:
        check(value, f"LapseSummary.{attribute.name}")
    except ValidationError as exc:
        raise ValidationError(str(exc), field=attribute.name) from None


def _v_count(inst: Any, attribute: Any, value: Any) -> None:
    _lapse_check(attribute, lambda v, n: check_int(v, n, 0), value)


def _v_money(inst: Any, attribute: Any, value: Any) -> None:
    _lapse_check(attribute, lambda v, n: check_real(v, n, 0.0), value)


def _v_prob(inst: Any, attribute: Any, value: Any) -> None:
    _lapse_check(attribute, lambda v, n: check_real(v, n, 0.0, 1.0), value)


def _v_positive(inst: Any, attribute: Any, value: Any) -> None:
    _lapse_check(attribute, lambda v, n: check_real(v, n, 0.0, low_inclusive=False), value)


def _opt_label(v: Any) -> str | None:
    if v is not None and not isinstance(v, str):
        raise ValidationError(
            f"LapseSummary.clv_horizon must be a str such as '52 weeks' (or None), got "
            f"{type(v).__name__}",
            field="clv_horizon",
        )
    return v


@attrs.frozen
class LapseSummary:
    """The lapsing customers a campaign targets, as plain numbers the report shows.

    A plain record like :class:`AllocationSummary`, so the report needs no
    value-model code: :func:`onetoone.value.targeted_risk` fills it
    (``LapseSummary(**t.report_fields())``), and any other system can.

    It validates itself: counts are ints >= 0 with ``n_at_risk`` and
    ``n_missing`` at most ``n_targeted``; probabilities in [0, 1]; amounts
    finite and >= 0, the at-risk customers' value at risk at most the plan's,
    the plan's at most the whole base's; ``mean_risk`` given exactly when
    someone is at risk, and at least ``threshold``.

    Attributes
    ----------
    n_targeted : int
        Distinct customers the campaign (the plan) targets.
    n_at_risk : int
        Of those, the customers whose lapse risk is ``>= threshold``.
    threshold : float
        The lapse risk from which a customer counts as at risk.
    mean_risk : float or None
        Mean lapse risk of the at-risk customers (None when there are none).
    at_risk_clv, at_risk_value : float
        Total CLV and total value at risk (lapse risk x CLV) of the at-risk customers.
    value_at_risk : float
        Value at risk of all the targeted customers: what the plan covers.
    total_value_at_risk : float, optional
        Value at risk of every customer, to show the share the plan covers.
    horizon_days : float
        Lapse = no purchase in the next ``horizon_days`` days.
    clv_horizon : str, optional
        The CLV's horizon in words, e.g. ``"52 weeks"``.
    n_missing : int
        Targeted customers without history (no risk, no value: counted as 0).
    as_of : time, optional
        When the risk was computed; with a measured subgroup it must be at or
        before the campaign start.

    Examples
    --------
    >>> s = LapseSummary(n_targeted=1000, n_at_risk=120, threshold=0.3, mean_risk=0.42,
    ...                  at_risk_clv=30000.0, at_risk_value=12600.0, value_at_risk=20000.0,
    ...                  horizon_days=28, as_of="2024-06-01")
    >>> s.n_at_risk, s.horizon_days, str(s.as_of)
    (120, 28.0, '2024-06-01T00:00:00')
    """

    n_targeted: int = attrs.field(converter=_as_count, validator=_v_count)
    n_at_risk: int = attrs.field(converter=_as_count, validator=_v_count)
    threshold: float = attrs.field(converter=_as_num, validator=_v_prob)
    mean_risk: float | None = attrs.field(converter=_as_opt_num, validator=_v_prob)
    at_risk_clv: float = attrs.field(converter=_as_num, validator=_v_money)
    at_risk_value: float = attrs.field(converter=_as_num, validator=_v_money)
    value_at_risk: float = attrs.field(converter=_as_num, validator=_v_money)
    horizon_days: float = attrs.field(converter=_as_num, validator=_v_positive)
    total_value_at_risk: float | None = attrs.field(
        default=None, converter=_as_opt_num, validator=_v_money
    )
    clv_horizon: str | None = attrs.field(default=None, converter=_opt_label)
    n_missing: int = attrs.field(default=0, converter=_as_count, validator=_v_count)
    as_of: np.datetime64 | None = attrs.field(default=None, converter=_opt_time)

    def __attrs_post_init__(self) -> None:
        def bad(name: str, msg: str) -> ValidationError:
            return ValidationError(f"LapseSummary.{name} {msg}", field=name)

        if self.n_at_risk > self.n_targeted:
            raise bad("n_at_risk", f"({self.n_at_risk}) exceeds n_targeted ({self.n_targeted})")
        if self.n_missing > self.n_targeted:
            raise bad("n_missing", f"({self.n_missing}) exceeds n_targeted ({self.n_targeted})")
        if (self.mean_risk is None) != (self.n_at_risk == 0):
            raise bad(
                "mean_risk",
                "must be given when n_at_risk > 0 and None when no one is at risk, got "
                f"{self.mean_risk!r} with n_at_risk={self.n_at_risk}",
            )
        if self.mean_risk is not None and self.mean_risk < self.threshold:
            raise bad(
                "mean_risk",
                f"({self.mean_risk:g}) is below the threshold ({self.threshold:g}): the "
                "at-risk customers' mean risk cannot be",
            )

        def above(a: float, b: float) -> bool:
            return a > b * (1 + 1e-9) + 1e-9

        if above(self.at_risk_value, self.value_at_risk):
            raise bad("at_risk_value", "exceeds value_at_risk (the at-risk are part of the plan)")
        if self.total_value_at_risk is not None and above(
            self.value_at_risk, self.total_value_at_risk
        ):
            raise bad("value_at_risk", "exceeds total_value_at_risk (the plan is part of the base)")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LapseSummary:
        """Build from a mapping with the attribute names as keys.

        Raises
        ------
        ValidationError
            An unknown or missing key, or a value of the wrong type.

        Examples
        --------
        >>> LapseSummary.from_mapping({"n_targeted": 10, "n_at_risk": 0, "threshold": 0.5,
        ...     "mean_risk": None, "at_risk_clv": 0.0, "at_risk_value": 0.0,
        ...     "value_at_risk": 3.5, "horizon_days": 28}).value_at_risk
        3.5
        """
        unknown = sorted(set(values) - set(_LAPSE_FIELDS))
        if unknown:
            raise ValidationError(
                f"lapse has unknown key(s) {unknown}; use {list(_LAPSE_FIELDS)}", field="lapse"
            )
        try:
            return cls(**dict(values))
        except TypeError as exc:
            raise ValidationError(f"lapse is missing a field: {exc}", field="lapse") from exc


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


def _unit(currency: str) -> str:
    return f" ({currency})" if currency else ""


def _chart_revenue(k: KpiSeries, cur: str) -> str:
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
    ax.plot(x, k.incremental_revenue, color="#1f77b4", lw=2, label="extra revenue to date")
    if bool(np.isfinite(k.revenue_goal).any()):
        ax.plot(x, k.revenue_goal, color="#2ca02c", ls="--", label="goal (pro rata)")
    ax.axhline(0.0, color="black", lw=0.8)
    _mark_off_track(ax, x, k.incremental_revenue, k.revenue_off_track, "revenue goal")
    ax.set_ylabel("extra revenue to date" + _unit(cur))
    ax.set_title("Extra (incremental) revenue since the campaign start" + _unit(cur))
    _money_axis(ax, cur)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, f"cumulative incremental revenue in {cur or 'money'} with its band")


def _money_axis(ax: Any, cur: str) -> None:
    ticker: Any = importlib.import_module("matplotlib.ticker")
    ax.yaxis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _pos: format_money(float(v), cur, ",.0f"))
    )


def _mark_off_track(ax: Any, x: Any, y: Any, off: Any, goal: str) -> None:
    """Red dots on the days a goal was off track."""
    if bool(off.any()):
        ax.plot(x[off], y[off], "o", color="#d62728", ms=4, label=f"off track ({goal})")


def _chart_roi(k: KpiSeries) -> str:
    """ROI in percent (the tables' unit), with its band and target."""
    fig, ax = _figure()
    x = k.days
    ok = np.isfinite(k.roi)
    pct = round(100 * (1 - k.alpha))
    ax.fill_between(
        x[ok],
        100 * k.roi_low[ok],
        100 * k.roi_high[ok],
        alpha=0.25,
        color="#9467bd",
        label=f"{pct}% interval",
    )
    ax.plot(x[ok], 100 * k.roi[ok], color="#9467bd", lw=2, label="ROI to date")
    if k.goals.target_roi is not None:
        ax.axhline(100 * k.goals.target_roi, color="#2ca02c", ls="--", label="target ROI")
    ax.axhline(0.0, color="black", lw=0.8)
    _mark_off_track(ax, x, 100 * k.roi, k.roi_off_track & ok, "ROI goal")
    ticker: Any = importlib.import_module("matplotlib.ticker")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f} %"))
    ax.set_ylabel("ROI to date (%)")
    ax.set_title("Return on investment to date (%; 0 % = break-even)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, "ROI to date in percent with its confidence band and target")


def _chart_budget(k: KpiSeries, cur: str) -> str:
    fig, ax = _figure()
    x = k.days
    ax.plot(x, k.cost, color="#ff7f0e", lw=2, label="cost to date")
    if k.goals.budget is not None:
        ax.plot(x, k.budget_goal, color="#2ca02c", ls="--", label="budget (pro rata)")
        ax.axhline(k.goals.budget, color="#2ca02c", lw=0.8, label="budget")
    _mark_off_track(ax, x, k.cost, k.budget_off_track, "budget")
    ax.set_ylabel("cost to date" + _unit(cur))
    ax.set_title("Spend against budget" + _unit(cur))
    _money_axis(ax, cur)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax, k.days)
    return _svg_img(fig, f"cumulative cost in {cur or 'money'} against the budget")


def _chart_redemptions(k: KpiSeries) -> str:
    fig, ax = _figure()
    if len(k.offers):
        order = np.argsort(-k.offer_redemption_rate)[:20]
        labels = [str(v) for v in k.offers[order]]
        ax.barh(labels[::-1], 100 * k.offer_redemption_rate[order][::-1], color="#17becf")
        ax.set_xlabel("% of treated customers who redeemed")
        title = "Redemption rate by offer (%)"
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
        ax.set_title("Redemption rate to date (%)")
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


def _money(v: float | None, cur: str, spec: str = ",.2f") -> str:
    if v is None:
        return "&ndash;"
    return html.escape(format_money(float(v), cur, spec))


def _pct(v: float | None, spec: str = ",.1f") -> str:
    if v is None or math.isnan(v):
        return "n/a" if v is not None else "&ndash;"
    return f"{format(100 * v, spec)} %"


def _table(
    rows: Sequence[tuple[str, ...]], header: tuple[str, ...] | None = None, cls: str = ""
) -> str:
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for r in rows:
        out.append("<tr><th>" + r[0] + "</th>" + "".join(f"<td>{c}</td>" for c in r[1:]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


#: Plain names of the estimation methods, with the footnote that explains each.
_METHODS = {
    "welch": ("difference of means", 1),
    "cuped-welch": ("adjusted for pre-campaign spend", 2),
    "bootstrap-percentile": ("bootstrap resampling", 3),
    "delta": ("ratio of totals", 4),
}

_FOOTNOTES = {
    1: "Difference of means: treated minus control, with Welch's t interval and test "
    "(unequal variances; Welch 1947).",
    2: "Adjusted for pre-campaign spend (CUPED; Deng et al. 2013): each customer's spend "
    "minus theta times their pre-period spend, which removes differences the customers "
    "brought with them and narrows the interval; then Welch's t interval.",
    3: "Bootstrap: the arms resampled with replacement, the estimate recomputed, and the "
    "central percentiles of the replicates taken (Efron and Tibshirani 1993).",
    4: "Ratio of totals: total spend / total visits per arm, interval by the delta method "
    "(Deng, Knoblich and Lu 2018).",
    5: "Sample-ratio check: Pearson's chi-square test of the arm sizes against the assigned "
    "holdout share; p below 0.001 flags a mismatch (as GrowthBook and Statsig do).",
    6: "Goals are judged on the interval: on track when the whole interval is on the right "
    "side of the target, off track when it is on the wrong side, not yet decided when it "
    "contains the target. Redemptions and cost are counted exactly.",
    7: "Plan quality: the relative gap between the plan's expected return and a proven upper "
    "bound on any plan's (0 % = proven best). Value of one more unit of budget: the budget's "
    "shadow price (0 when the budget does not limit the plan).",
}


def _method(e: Estimate) -> tuple[str, int | None]:
    base = e.method.split(" (")[0].split(" x ")[0]
    name, note = _METHODS.get(base, (e.method, None))
    return name, note


def _sup(n: int | None) -> str:
    return f'<sup><a href="#fn{n}">{n}</a></sup>' if n else ""


def _est_row(
    name: str, e: Estimate, fmt: Any, used: set[int], *, p: bool = True
) -> tuple[str, ...]:
    how, note = _method(e)
    if note:
        used.add(note)
    return (
        html.escape(name),
        fmt(e.estimate),
        f"{fmt(e.ci_low)} to {fmt(e.ci_high)}",
        _fmt(e.p_value, ".3g") if p else "&ndash;",
        html.escape(how) + _sup(note),
    )


def _when(t: np.datetime64) -> str:
    """A time as a date when it is midnight, else to the second."""
    day = t.astype("datetime64[D]")
    return str(day) if day == t else str(t).replace("T", " ")


# --------------------------------------------------------------------------- headlines
def _did_it_work(r: CampaignResult, cur: str) -> str:
    e, pct = r.lift, round(100 * (1 - r.alpha))
    m = functools.partial(format_money, currency=cur)
    amount = (
        f"{m(abs(e.estimate))} {'more' if e.estimate >= 0 else 'less'} per customer than the "
        f"control group ({pct}% interval {m(e.ci_low)} to {m(e.ci_high)} per customer; "
        f"{m(r.incremental_revenue.estimate)} in total over {r.treated.n_customers:,} treated "
        "customers)"
    )
    if e.ci_low > 0:
        text = f"Yes: treated customers spent {amount}."
    elif e.ci_high < 0:
        text = f"No, it lowered spend: treated customers spent {amount}."
    else:
        text = (
            f"Not shown: treated customers spent {amount}, but the interval includes zero, so "
            "the data cannot tell an effect from chance."
        )
    if r.observational:
        text += " This is an association, not a proven effect: the comparison is not randomised."
    return text


def _what_did_it_return(r: CampaignResult, cur: str) -> str:
    m = functools.partial(format_money, currency=cur)
    if r.roi is None:
        return (
            f"Unknown: the cost given is {m(0.0)}, so no return on investment can be computed; "
            "pass the campaign's cost."
        )
    e, pct = r.roi, round(100 * (1 - r.alpha))
    basis = (
        "revenue counted as margin, an upper bound"
        if r.margin_rate is None
        else f"margin at {r.margin_rate:.0%} of revenue"
    )
    text = (
        f"Return on investment {_pct(e.estimate, ',.0f')} ({pct}% interval "
        f"{_pct(e.ci_low, ',.0f')} to {_pct(e.ci_high, ',.0f')}): extra margin "
        f"{m(r.incremental_margin.estimate)} ({basis}) against a cost of {m(r.cost)}, so each "
        f"{m(1.0, spec=',.0f')} of cost brought back {m(1.0 + e.estimate)} of margin. "
    )
    if e.ci_low > 0:
        text += "It paid for itself."
    elif e.ci_high < 0:
        text += "It did not pay for itself."
    else:
        text += (
            "Whether it paid for itself is not yet known: the interval includes break-even (0 %)."
        )
    return text


def _can_we_trust(r: CampaignResult | None, k: KpiSeries | None, cur: str) -> str:
    src = r if r is not None else k
    assert src is not None
    sr = src.sample_ratio
    if src.observational:
        text = (
            "Only partly. The control group was not drawn at random (it was matched, or chosen "
            "otherwise), so the lift mixes the campaign's effect with how customers were "
            "selected."
        )
    elif sr.status == "mismatch":
        text = (
            f"No. The arm sizes do not match the assigned split: {sr.n_control:,} of "
            f"{sr.n_treated + sr.n_control:,} customers are in control "
            f"({sr.observed_control_fraction:.1%}) where {sr.expected_control_fraction:.1%} "
            f"were assigned (p = {sr.p_value:.2g}). Customers were lost or moved between arms; "
            "find the cause before trusting any figure here."
        )
    elif sr.status == "ok":
        text = (
            "Yes, as far as the checks go: the arms were randomised and their sizes match the "
            f"assigned split ({sr.observed_control_fraction:.1%} in control, "
            f"{sr.expected_control_fraction:.1%} assigned; p = {sr.p_value:.2g})."
        )
    else:
        text = (
            "Not verified: the assigned holdout share was not given, so the arm sizes "
            f"({sr.n_treated:,} treated, {sr.n_control:,} control) could not be checked; pass "
            "holdout= or holdout_fraction= when measuring."
        )
    if r is not None and r.pre_period is not None:
        m = functools.partial(format_money, currency=cur)
        text += (
            f" Before the campaign, treated customers spent {m(r.treated.pre_spend_per_customer)}"
            f" and control customers {m(r.control.pre_spend_per_customer)} each."
        )
    return text


def _headlines(r: CampaignResult | None, k: KpiSeries | None, cur: str) -> str:
    qa: list[tuple[str, str, str]] = []
    if r is not None:
        qa.append(("Did it work?", html.escape(_did_it_work(r, cur)), "work"))
        qa.append(("What did it return?", html.escape(_what_did_it_return(r, cur)), "return"))
    if k is not None:
        verdict = k.verdict(currency=cur)
        items = "".join(f"<li>{html.escape(v)}</li>" for v in k.goal_verdicts(-1, currency=cur))
        body = html.escape(verdict[0].upper() + verdict[1:]) + "." + _sup(6)
        if items:
            body += f"<ul>{items}</ul>"
        qa.append(("Is it on track?", body, "track"))
    else:
        qa.append(
            (
                "Is it on track?",
                "Not tracked: no daily series was given (track_kpis), so no goal is judged.",
                "track",
            )
        )
    qa.append(
        ("Can we trust the comparison?", html.escape(_can_we_trust(r, k, cur)) + _sup(5), "trust")
    )
    return "<h2>At a glance</h2>\n" + "\n".join(
        f'<div class="q" id="q-{key}"><h3>{html.escape(q)}</h3><p>{a}</p></div>' for q, a, key in qa
    )


def _warnings(r: CampaignResult | None, k: KpiSeries | None) -> str:
    seen: list[str] = []
    for src in (r, k):
        if src is not None:
            seen += [w for w in src.warnings if w not in seen]
    if not seen:
        return ""
    return (
        '<div class="warnings">\n'
        + "\n".join(f'<p class="warn"><strong>Warning:</strong> {html.escape(w)}</p>' for w in seen)
        + "\n</div>"
    )


# --------------------------------------------------------------------------- sections
def _result_section(r: CampaignResult, cur: str, used: set[int]) -> str:
    t, c = r.treated, r.control
    u = _unit(cur)
    mon = functools.partial(_money, cur=cur)
    arms = _table(
        [
            ("customers", _fmt(t.n_customers, ",d"), _fmt(c.n_customers, ",d")),
            ("spend per customer" + u, mon(t.spend_per_customer), mon(c.spend_per_customer)),
            ("total spend" + u, mon(t.spend_total), mon(c.spend_total)),
            ("share who visited (%)", _pct(t.visit_rate, ".2f"), _pct(c.visit_rate, ".2f")),
            ("spend per visit" + u, mon(t.spend_per_visit), mon(c.spend_per_visit)),
            ("redemptions (count)", _fmt(t.redemptions, ",d"), _fmt(c.redemptions, ",d")),
            ("customers who redeemed", _fmt(t.redeemers, ",d"), _fmt(c.redeemers, ",d")),
            (
                "pre-campaign spend per customer" + u,
                mon(t.pre_spend_per_customer),
                mon(c.pre_spend_per_customer),
            ),
        ],
        ("", "treated", "control"),
    )
    pct = round(100 * (1 - r.alpha))
    n_t = r.treated.n_customers
    margin = (
        "revenue counted as margin: no margin rate given"
        if r.margin_rate is None
        else f"{r.margin_rate:.0%} of revenue"
    )
    rows = [
        _est_row("extra spend per treated customer" + u, r.lift, mon, used),
        _est_row(
            f"extra revenue, all {n_t:,} treated customers" + u, r.incremental_revenue, mon, used
        ),
        _est_row(f"extra margin ({margin})" + u, r.incremental_margin, mon, used),
    ]
    if r.roi is not None:
        rows.append(
            _est_row(
                "return on investment (%; 0 % = break-even)",
                r.roi,
                functools.partial(_pct, spec=",.1f"),
                used,
            )
        )
    rows.append(
        _est_row(
            "change in share who visited (percentage points)",
            r.visit_rate,
            lambda v: f"{100 * v:+.2f}",
            used,
        )
    )
    rows.append(_est_row("change in spend per visit" + u, r.spend_per_visit, mon, used))
    est = _table(rows, ("", "estimate", f"{pct}% interval", "p-value", "how"))
    checks = []
    if r.revenue.cuped is not None:
        checks.append(_est_row("without the adjustment" + u, r.revenue.welch, mon, used))
    if r.revenue.bootstrap is not None:
        checks.append(_est_row("by bootstrap" + u, r.revenue.bootstrap, mon, used, p=False))
    check_html = ""
    if checks:
        check_html = (
            "<h3>Checks: the extra spend per treated customer by other methods</h3>\n"
            + _table(checks, ("", "estimate", f"{pct}% interval", "p-value", "how"))
        )
        if r.revenue.cuped is not None:
            check_html += (
                f"<p>The adjustment for pre-campaign spend (correlation "
                f"{_fmt(r.revenue.correlation, '.2f')} with campaign spend) narrowed the "
                f"interval: its variance is {_pct(r.revenue.variance_reduction, '.0f')} "
                "smaller.</p>"
            )
    return (
        f"<h2>Campaign result ({html.escape(_when(r.start))} to "
        f"{html.escape(_when(r.end))}, end exclusive)</h2>\n"
        + arms
        + "\n"
        + est
        + "\n"
        + check_html
    )


def _definitions(
    r: CampaignResult | None,
    k: KpiSeries | None,
    a: AllocationSummary | None,
    cur: str,
    cost_note: str | None,
) -> str:
    items: list[tuple[str, str]] = []
    if r is not None:
        cost = (
            "the campaign's total cost as given to measure_campaign(cost=), the base of the "
            "return on investment"
        )
        if cost_note:
            cost += f" &mdash; here: {html.escape(cost_note)}"
        items += [
            (f"Cost ({format_money(r.cost, cur)})", cost + "."),
            (
                "Extra (incremental) revenue",
                "what treated customers spent beyond what the control group shows they would "
                "have spent anyway.",
            ),
            ("Extra margin", "the part of the extra revenue the business keeps."),
            (
                "Return on investment (ROI)",
                "(extra margin &minus; cost) / cost: 0 % is break-even, &minus;100 % means "
                "nothing came back, 100 % means the cost came back twice.",
            ),
            (
                f"{round(100 * (1 - r.alpha))}% interval",
                "the range the true value lies in with that confidence; a figure whose "
                "interval contains 0 is not shown to differ from 0.",
            ),
        ]
    if k is not None:
        items.append(
            (
                f"Cost to date ({format_money(float(k.cost[-1]), cur)} by {k.days[-1]})",
                "the campaign's cost through each day: the total cost spread evenly over the "
                "campaign days, or as given per day.",
            )
        )
        if k.goals.budget is not None:
            items.append(
                (
                    f"Budget ({format_money(k.goals.budget, cur)})",
                    "the spending limit set in Goals(budget=); cost to date is compared with "
                    "its pro-rata path.",
                )
            )
    if a is not None:
        items.append(
            (
                f"Planned offer cost ({format_money(a.spend, cur)})",
                "what the allocation expects its offers to cost (expected redemptions times "
                "face value): a plan, not a measurement.",
            )
        )
        if a.budget is not None:
            items.append(
                (
                    f"Allocation budget ({format_money(a.budget, cur)})",
                    "the limit the allocation had to respect.",
                )
            )
    if not items:
        return ""
    return (
        "<h2>What the figures mean</h2>\n<dl>"
        + "".join(f"<dt>{html.escape(t)}</dt><dd>{d}</dd>" for t, d in items)
        + "</dl>"
    )


def _status_cell(st: str) -> str:
    cls = {"on track": "ok", "off track": "bad"}.get(st, "undecided")
    return f'<span class="{cls}">{html.escape(st)}</span>'


def _kpi_section(k: KpiSeries, cur: str) -> str:
    g = k.goals
    pct = round(100 * (1 - k.alpha))
    mon = functools.partial(_money, cur=cur)
    last = len(k) - 1
    rows = []
    if g.target_roi is not None:
        rows.append(
            (
                "return on investment (%)",
                f"at least {_pct(g.target_roi)}",
                _pct(float(k.roi[-1])),
                f"{_pct(float(k.roi_low[-1]))} to {_pct(float(k.roi_high[-1]))}",
                _status_cell(str(k.roi_status[-1])),
            )
        )
    if g.target_incremental_revenue is not None:
        rows.append(
            (
                "extra revenue" + _unit(cur),
                mon(g.target_incremental_revenue),
                mon(float(k.incremental_revenue[-1])),
                f"{mon(float(k.incremental_revenue_low[-1]))} to "
                f"{mon(float(k.incremental_revenue_high[-1]))}",
                _status_cell(str(k.revenue_status[-1])),
            )
        )
    if g.target_redemption_rate is not None:
        rows.append(
            (
                "treated customers who redeemed (%)",
                _pct(g.target_redemption_rate, ".2f"),
                _pct(float(k.redemption_rate[-1]), ".2f"),
                "counted exactly",
                _status_cell(str(k.redemption_status[-1])),
            )
        )
    if g.budget is not None:
        rows.append(
            (
                "cost against budget" + _unit(cur),
                mon(g.budget),
                mon(float(k.cost[-1])),
                "counted exactly",
                _status_cell(str(k.budget_status[-1])),
            )
        )
    goals = (
        _table(rows, ("goal", "target", f"to date ({k.days[-1]})", f"{pct}% interval", "status"))
        if rows
        else "<p>No goals were set (Goals()), so none is judged.</p>"
    )
    idx = sorted({*range(6, len(k), 7), last})
    week = _table(
        [
            (
                html.escape(str(k.days[d])),
                mon(float(k.incremental_revenue[d]), spec=",.0f"),
                f"{mon(float(k.incremental_revenue_low[d]), spec=',.0f')} to "
                f"{mon(float(k.incremental_revenue_high[d]), spec=',.0f')}",
                mon(float(k.cost[d])),
                _pct(float(k.roi[d]), ",.0f"),
                f"{_pct(float(k.roi_low[d]), ',.0f')} to {_pct(float(k.roi_high[d]), ',.0f')}",
                _status_cell(str(k.status[d])),
            )
            for d in idx
        ],
        (
            "day",
            "extra revenue to date" + _unit(cur),
            f"{pct}% interval",
            "cost to date" + _unit(cur),
            "ROI to date",
            f"{pct}% interval",
            "status",
        ),
    )
    charts = [
        _chart_revenue(k, cur),
        _chart_roi(k),
        _chart_budget(k, cur),
        _chart_redemptions(k),
    ]
    return (
        f"<h2>Daily tracking ({len(k)} days, {k.n_treated:,} treated, "
        f"{k.n_control:,} control)</h2>\n"
        + goals
        + "\n<h3>Status by week</h3>\n"
        + week
        + "\n"
        + "\n".join(f'<div class="fig">{c}</div>' for c in charts)
    )


def _allocation_section(
    a: AllocationSummary, r: CampaignResult | None, cur: str, used: set[int]
) -> str:
    mon = functools.partial(_money, cur=cur)
    used.add(7)
    price = a.shadow_price
    if price is None:
        price_text = "&ndash;"
    else:
        price_text = html.escape(format_money(price, cur, ",.3f"))
        if price == 0:
            price_text += " (the budget does not limit the plan)"
    if a.gap is None:
        quality = "&ndash;"
    elif a.gap <= 1e-4:
        quality = f"proven best (within {_pct(a.gap, '.2f')})"
    else:
        quality = f"within {_pct(a.gap, '.2f')} of the best possible plan"
    rows = [
        ("planned offer cost (expected)" + _unit(cur), mon(a.spend)),
        ("allocation budget" + _unit(cur), mon(a.budget)),
        ("expected return of the plan" + _unit(cur), mon(a.expected_return)),
        (f"value of one more {format_money(1.0, cur, ',.0f')} of budget", price_text),
        ("plan quality" + _sup(7), quality),
        ("customers in the plan", _fmt(a.n_customers, ",d")),
        ("offers in the plan", _fmt(a.n_offers, ",d")),
    ]
    notes = []
    if r is not None and a.n_customers is not None and a.n_customers != r.treated.n_customers:
        notes.append(
            f"The plan reaches {a.n_customers:,} customers, while the measurement compares "
            f"{r.treated.n_customers:,} treated customers with {r.control.n_customers:,} "
            "controls: only the customers given to measure_campaign are measured (e.g. those "
            "for whom a comparable control was found), and the plan may be a proposal rather "
            "than the campaign that ran."
        )
    return (
        "<h2>Offer plan (the allocation)</h2>\n"
        + _table(rows)
        + "".join(f'<p class="note">{n}</p>' for n in notes)
    )


def _lapse_section(s: LapseSummary, sub: CampaignResult | None, cur: str, used: set[int]) -> str:
    mon = functools.partial(_money, cur=cur)
    share = s.n_at_risk / s.n_targeted if s.n_targeted else float("nan")
    when = f" as of {html.escape(_when(s.as_of))}" if s.as_of is not None else ""
    clv_h = f" over {html.escape(s.clv_horizon)}" if s.clv_horizon else ""
    rows = [
        ("customers the plan targets", _fmt(s.n_targeted, ",d")),
        (
            f"at risk of lapsing (lapse risk &ge; {_pct(s.threshold, '.0f')})",
            f"{s.n_at_risk:,} ({_pct(share)})",
        ),
        ("their mean lapse risk (%)", _pct(s.mean_risk)),
        ("their CLV" + clv_h + _unit(cur), mon(s.at_risk_clv)),
        ("their value at risk" + _unit(cur), mon(s.at_risk_value)),
        ("value at risk covered by the plan (all targeted)" + _unit(cur), mon(s.value_at_risk)),
    ]
    if s.total_value_at_risk is not None:
        cover = s.value_at_risk / s.total_value_at_risk if s.total_value_at_risk > 0 else None
        rows.append(
            (
                "value at risk of all customers" + _unit(cur),
                mon(s.total_value_at_risk)
                + (f" (the plan covers {_pct(cover)})" if cover is not None else ""),
            )
        )
    if s.n_missing:
        rows.append(("targeted customers without history (counted as 0)", _fmt(s.n_missing, ",d")))
    intro = (
        f"<p>Lapse risk: the probability of no purchase in the next {s.horizon_days:g} days"
        f"{when}. Value at risk: lapse risk &times; CLV{clv_h}, what the campaign stands to "
        "keep if it brings a lapsing customer back.</p>"
    )
    if sub is None:
        measured = (
            '<p class="note">The effect on the at-risk customers is not measured here: '
            "pass lapse_result=, the campaign measured on the at-risk customers of both arms "
            "(risk computed before the campaign start), to show it.</p>"
        )
    else:
        pct = round(100 * (1 - sub.alpha))
        est = _table(
            [
                _est_row(
                    "extra spend per treated at-risk customer" + _unit(cur), sub.lift, mon, used
                ),
                _est_row(
                    f"extra revenue, {sub.treated.n_customers:,} treated at-risk customers"
                    + _unit(cur),
                    sub.incremental_revenue,
                    mon,
                    used,
                ),
            ],
            ("", "estimate", f"{pct}% interval", "p-value", "how"),
        )
        caveat = (
            " The comparison is not randomised: an association, not a proven effect."
            if sub.observational
            else ""
        )
        measured = (
            f"<h3>Measured effect on the at-risk customers ({sub.treated.n_customers:,} treated, "
            f"{sub.control.n_customers:,} control)</h3>\n" + est + '<p class="note">A subgroup '
            "has fewer customers than the whole campaign, so its interval is wider."
            + caveat
            + "</p>"
        )
    return (
        "<h2>Lapsing customers in this campaign</h2>\n"
        + intro
        + "\n"
        + _table(rows)
        + "\n"
        + measured
    )


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:60em;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
h3{font-size:1.02em;margin:.9em 0 .2em}
table{border-collapse:collapse;margin:.8em 0}th,td{padding:.25em .8em;text-align:right;
border-bottom:1px solid #eee}td{white-space:nowrap}th:first-child{text-align:left}
.chart{max-width:100%;height:auto}.fig{margin:1em 0}.ok{color:#2a7a2a}.bad{color:#b22}
.undecided{color:#8a6d00}.warnings{border:2px solid #b22;background:#fff4f4;padding:.2em 1em;
margin:1em 0}.warn{color:#811}.q p{margin:.2em 0 .6em}.note{color:#444}
dt{font-weight:600;margin-top:.4em}dd{margin-left:1.2em}
footer{margin-top:2em;color:#777;font-size:.85em}
"""


def _lapse_iv(lapse: Any, lapse_result: Any) -> LapseSummary | None:
    if lapse is None:
        if lapse_result is not None:
            raise ValidationError(
                "lapse_result needs lapse= (the at-risk customers it measures)",
                field="lapse_result",
            )
        return None
    if isinstance(lapse, LapseSummary):
        out = lapse
    elif isinstance(lapse, Mapping):
        out = LapseSummary.from_mapping(lapse)
    else:
        raise ValidationError(
            "lapse must be a LapseSummary, a mapping of its fields (e.g. "
            f"onetoone.value.targeted_risk(...).report_fields()), or None; got "
            f"{type(lapse).__name__}",
            field="lapse",
        )
    if lapse_result is not None:
        if not isinstance(lapse_result, CampaignResult):
            raise ValidationError(
                f"lapse_result must be a CampaignResult, got {type(lapse_result).__name__}",
                field="lapse_result",
            )
        if out.as_of is not None and out.as_of > lapse_result.start:
            raise ValidationError(
                f"lapse.as_of ({out.as_of}) is after the campaign start "
                f"({lapse_result.start}): a subgroup chosen on risk measured during the "
                "campaign is shaped by the campaign itself; compute the lapse risk at or "
                "before the start to measure its effect on the at-risk customers",
                field="lapse_result",
            )
    return out


def _render_html_iv(
    result: Any, kpis: Any, allocation: Any, title: Any, cost_note: Any
) -> AllocationSummary | None:
    if cost_note is not None and not isinstance(cost_note, str):
        raise ValidationError(
            "cost_note must be a str saying what the cost covers, or None", field="cost_note"
        )
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
    currency: str = "$",
    cost_note: str | None = None,
    lapse: LapseSummary | Mapping[str, Any] | None = None,
    lapse_result: CampaignResult | None = None,
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
    currency : str
        Symbol (``"$"``, ``"€"``) or ISO 4217 code (``"EUR"``) shown on every
        amount and money axis; ``""`` for none.
    cost_note : str, optional
        What the campaign's cost covers (e.g. "123 redeemed coupons at $1
        face value"), shown with the definition of cost.
    lapse : LapseSummary or mapping, optional
        The lapsing customers the campaign targets (how many, their lapse
        risk, CLV and value at risk), e.g.
        ``onetoone.value.targeted_risk(value, risk, plan.customers).report_fields()``:
        adds the section "Lapsing customers in this campaign".
    lapse_result : CampaignResult, optional
        The campaign measured on the at-risk customers of both arms (pass
        ``measure_campaign`` the at-risk treated and control ids); shown in that
        section. The risk must be computed at or before the campaign start.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    ValidationError
        Neither ``result`` nor ``kpis``, arguments of the wrong type, or a
        ``lapse_result`` whose subgroup was chosen on risk computed after the
        campaign start.
    MissingDependencyError
        Charts need matplotlib (``pip install 'onetoone[report]'``).

    Notes
    -----
    The page opens with every warning of the result and the series (the ones
    their ``summary()`` prints: a non-randomised comparison, a sample-ratio
    mismatch, partial data, no margin rate), then answers four questions in
    plain sentences: did it work, what did it return, is it on track, can we
    trust the comparison. Tables carry their units; methods are in footnotes.

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
    >>> "Did it work?" in page and "Cost ($50.00)</dt>" in page
    True
    """
    alloc = _render_html_iv(result, kpis, allocation, title, cost_note)
    lapsing = _lapse_iv(lapse, lapse_result)
    cur = check_currency(currency)
    used: set[int] = {5}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    parts.append(_warnings(result, kpis))
    parts.append(_headlines(result, kpis, cur))
    if result is not None:
        parts.append(_result_section(result, cur, used))
    if kpis is not None:
        used.add(6)
        parts.append(_kpi_section(kpis, cur))
    if alloc is not None:
        parts.append(_allocation_section(alloc, result, cur, used))
    if lapsing is not None:
        parts.append(_lapse_section(lapsing, lapse_result, cur, used))
    parts.append(_definitions(result, kpis, alloc, cur, cost_note))
    notes = dict(_FOOTNOTES)
    if alloc is not None and alloc.status:
        notes[7] += f" The solver's own message: {alloc.status}."
    parts.append(
        '<h2>Methods</h2>\n<ol class="notes">'
        + "".join(f'<li id="fn{n}" value="{n}">{html.escape(notes[n])}</li>' for n in sorted(used))
        + "</ol>"
    )
    parts.append(
        f"<footer>onetoone {html.escape(__version__)}: intervals are two-sided; see "
        "docs/measurement.md for the methods.</footer></body></html>"
    )
    page = "\n".join(parts) + "\n"
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
    return page
