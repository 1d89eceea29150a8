"""Daily cumulative campaign KPIs against goals: the daily control loop."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.stats

from onetoone._arrays import TimeLike, as_float, readonly, to_datetime64
from onetoone._deprecation import renamed_kwargs
from onetoone.data import Transactions
from onetoone.errors import ValidationError
from onetoone.measurement._arms import (
    Arms,
    MeasureUnknownPolicy,
    PrePeriod,
    Redemptions,
    check_margin_rate,
    check_unknown,
    check_window_in_log,
    coverage_warning,
    day_index,
    gather,
    redemptions_in_arms,
    resolve_arms,
    resolve_design,
    resolve_pre_period,
    resolve_window,
    spend_and_visits,
    window_mask,
)
from onetoone.measurement._holdout import Holdout
from onetoone.measurement._stats import (
    NOT_RANDOMISED,
    SampleRatio,
    _check_alpha,
    check_currency,
    format_money,
    sample_ratio,
)

__all__ = ["GOALS", "Goals", "KpiSeries", "track_kpis"]

_F64 = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_S = npt.NDArray[np.str_]

#: The goals :func:`track_kpis` judges, in the order they are reported.
GOALS = ("roi", "revenue", "redemption", "budget")

_PER_OFFER = ("offers", "offer_redeemers", "offer_redemption_rate")

ON_TRACK, OFF_TRACK, UNDECIDED, NO_GOAL = "on track", "off track", "not yet decided", "no goal"
_LABEL = {
    "roi": "ROI",
    "revenue": "incremental revenue",
    "redemption": "redemptions",
    "budget": "budget",
}


def _opt_nonneg(name: str) -> Any:
    def check(inst: Any, attribute: Any, value: float | None) -> None:
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValidationError(
                f"Goals.{name} must be a finite number >= 0, got {value!r}", field=name
            )

    return check


def _opt_rate(inst: Any, attribute: Any, value: float | None) -> None:
    if value is not None and not (0.0 <= value <= 1.0):
        raise ValidationError(
            f"Goals.target_redemption_rate must lie in [0, 1], got {value!r}",
            field="target_redemption_rate",
        )


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(
            f"Goals.{name} must be a number, got {type(value).__name__} {value!r}", field=name
        )
    v = float(value)
    if not math.isfinite(v):
        raise ValidationError(f"Goals.{name} must be finite, got {value!r}", field=name)
    return v


def _opt_num(value: Any, name: str) -> float | None:
    return None if value is None else _number(name, value)


def _conv_target_roi(value: Any) -> float | None:
    return _opt_num(value, "target_roi")


def _conv_target_redemption_rate(value: Any) -> float | None:
    return _opt_num(value, "target_redemption_rate")


def _conv_budget(value: Any) -> float | None:
    return _opt_num(value, "budget")


def _conv_target_incremental_revenue(value: Any) -> float | None:
    return _opt_num(value, "target_incremental_revenue")


def _conv_budget_upfront(value: Any) -> float:
    return _number("budget_upfront", value)


def _conv_tolerance(value: Any) -> float:
    return _number("tolerance", value)


@attrs.frozen
class Goals:
    """What the user wants from a campaign, checked every day by :func:`track_kpis`.

    Attributes
    ----------
    target_roi : float, optional
        Target ROI at the end (0.0 = break even). A day is *on track* when the
        whole confidence interval of ROI to date is above it, *off track* when
        the whole interval is below it, and *not yet decided* otherwise.
    target_redemption_rate : float, optional
        Target share of treated customers who redeem by the end. On track when
        the rate to date reaches ``(1 - tolerance)`` times the pro-rata target,
        else off track (a count, known exactly).
    budget : float, optional
        Total budget. Off track when cost to date exceeds the budget, or
        ``(1 + tolerance)`` times the pro-rata budget (burning too fast), else
        on track.
    target_incremental_revenue : float, optional
        Target incremental revenue at the end. On track when the whole interval
        to date is at or above ``(1 - tolerance)`` times pro rata, off track
        when it is below, else not yet decided.
    budget_upfront : float
        Part of the budget planned to be spent on the first day (e.g. printing
        and mailing); the pro-rata budget path is ``budget_upfront + (budget -
        budget_upfront) * elapsed share``.
    tolerance : float
        Slack around the pro-rata paths (default 0.1).
    warmup_days : int
        Days at the start on which no goal is judged (too little data): every
        goal is "not yet decided" then.

    Examples
    --------
    >>> Goals(target_roi=0.0, budget=5000.0).budget
    5000.0
    """

    target_roi: float | None = attrs.field(default=None, converter=_conv_target_roi)
    target_redemption_rate: float | None = attrs.field(
        default=None, converter=_conv_target_redemption_rate, validator=_opt_rate
    )
    budget: float | None = attrs.field(
        default=None, converter=_conv_budget, validator=_opt_nonneg("budget")
    )
    target_incremental_revenue: float | None = attrs.field(
        default=None, converter=_conv_target_incremental_revenue
    )
    budget_upfront: float = attrs.field(
        default=0.0,
        converter=_conv_budget_upfront,
        validator=_opt_nonneg("budget_upfront"),
    )
    tolerance: float = attrs.field(
        default=0.1, converter=_conv_tolerance, validator=_opt_nonneg("tolerance")
    )
    warmup_days: Any = attrs.field(default=3)

    def __attrs_post_init__(self) -> None:
        if (
            isinstance(self.warmup_days, bool)
            or not isinstance(self.warmup_days, int)
            or self.warmup_days < 0
        ):
            raise ValidationError(
                f"Goals.warmup_days must be an int >= 0, got {self.warmup_days!r}",
                field="warmup_days",
            )
        if self.budget_upfront > 0 and (self.budget is None or self.budget_upfront > self.budget):
            raise ValidationError(
                f"Goals.budget_upfront ({self.budget_upfront}) needs a budget at least as large",
                field="budget_upfront",
            )
        if self.target_roi is not None and not (
            math.isfinite(self.target_roi) and self.target_roi >= -1.0
        ):
            raise ValidationError(
                f"Goals.target_roi must be a finite number >= -1, got {self.target_roi!r}",
                field="target_roi",
            )


@attrs.frozen(eq=False)
class KpiSeries:
    """Campaign KPIs per day, cumulative from the start, with goal checks.

    Every array has one entry per tracked day; entry ``d`` covers
    ``[start, start + d + 1 days)``.

    Attributes
    ----------
    days : datetime64[D] array
        The calendar day of each entry.
    n_treated, n_control : int
    spend_treated, spend_control : float arrays
        Cumulative spend per customer in each arm.
    lift, lift_low, lift_high, p_value : float arrays
        Incremental revenue per treated customer with its Welch interval
        (CUPED-adjusted when a pre-period was given) and p-value.
    incremental_revenue, incremental_revenue_low, incremental_revenue_high : float arrays
        ``n_treated`` times the lift.
    incremental_margin : float array
    cost : float array
        Cumulative cost.
    roi, roi_low, roi_high : float arrays
        ``(incremental margin - cost) / cost`` to date (NaN while cost is 0).
    redemptions, redeemers : int arrays
        Cumulative redemptions and distinct redeeming treated customers.
    redemption_rate : float array
        ``redeemers / n_treated``.
    budget_burn : float array
        ``cost / budget`` (NaN without a budget goal).
    revenue_goal, redemption_goal, budget_goal : float arrays
        The pro-rata goal paths (NaN where no goal).
    roi_status, revenue_status, redemption_status, budget_status : str arrays
        Each goal judged each day: ``"on track"``, ``"off track"``, ``"not yet
        decided"`` (an interval that straddles the target, or a warm-up day) or
        ``"no goal"`` (see :class:`Goals`).
    status : str array
        All goals together: off track when any goal is, on track when every
        goal set is, ``"no goal"`` without goals, else not yet decided.
    roi_off_track, revenue_off_track, redemption_off_track, budget_off_track : bool arrays
        ``<goal>_status == "off track"`` (never set during warm-up).
    off_track : bool array
        The union of the flags.
    offers, offer_redeemers, offer_redemption_rate : arrays
        Redemption by offer over the tracked window (empty without offer labels).
    goals : Goals
    method : str
        ``"welch"`` or ``"cuped-welch"``.
    alpha : float
    sample_ratio : SampleRatio
        Sample-ratio check of the arm sizes (see :func:`measure_campaign`).
    observational : bool
        True when the arms were not randomised.
    log_period : (datetime64, datetime64) or None
        First and last transaction time of the log.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> from onetoone.measurement import Goals, track_kpis
    >>> tx = synthetic_transactions(300, 40, random_state=2)
    >>> ids = tx.customers.values
    >>> k = track_kpis(tx, treated=ids[::2], control=ids[1::2], start="2024-06-01",
    ...                end="2024-06-11", cost=100.0, goals=Goals(budget=120.0),
    ...                holdout_fraction=0.5)
    >>> len(k), str(k.days[0]), float(k.cost[-1]), str(k.budget_status[-1])
    (10, '2024-06-01', 100.0, 'on track')
    """

    days: npt.NDArray[np.datetime64] = attrs.field(converter=readonly)
    n_treated: int
    n_control: int
    spend_treated: _F64 = attrs.field(converter=readonly)
    spend_control: _F64 = attrs.field(converter=readonly)
    lift: _F64 = attrs.field(converter=readonly)
    lift_low: _F64 = attrs.field(converter=readonly)
    lift_high: _F64 = attrs.field(converter=readonly)
    p_value: _F64 = attrs.field(converter=readonly)
    incremental_revenue: _F64 = attrs.field(converter=readonly)
    incremental_revenue_low: _F64 = attrs.field(converter=readonly)
    incremental_revenue_high: _F64 = attrs.field(converter=readonly)
    incremental_margin: _F64 = attrs.field(converter=readonly)
    cost: _F64 = attrs.field(converter=readonly)
    roi: _F64 = attrs.field(converter=readonly)
    roi_low: _F64 = attrs.field(converter=readonly)
    roi_high: _F64 = attrs.field(converter=readonly)
    redemptions: npt.NDArray[np.int64] = attrs.field(converter=readonly)
    redeemers: npt.NDArray[np.int64] = attrs.field(converter=readonly)
    redemption_rate: _F64 = attrs.field(converter=readonly)
    budget_burn: _F64 = attrs.field(converter=readonly)
    revenue_goal: _F64 = attrs.field(converter=readonly)
    redemption_goal: _F64 = attrs.field(converter=readonly)
    budget_goal: _F64 = attrs.field(converter=readonly)
    roi_off_track: _B = attrs.field(converter=readonly)
    revenue_off_track: _B = attrs.field(converter=readonly)
    redemption_off_track: _B = attrs.field(converter=readonly)
    budget_off_track: _B = attrs.field(converter=readonly)
    off_track: _B = attrs.field(converter=readonly)
    roi_status: _S = attrs.field(converter=readonly)
    revenue_status: _S = attrs.field(converter=readonly)
    redemption_status: _S = attrs.field(converter=readonly)
    budget_status: _S = attrs.field(converter=readonly)
    status: _S = attrs.field(converter=readonly)
    offers: npt.NDArray[np.str_] = attrs.field(converter=readonly)
    offer_redeemers: npt.NDArray[np.int64] = attrs.field(converter=readonly)
    offer_redemption_rate: _F64 = attrs.field(converter=readonly)
    goals: Goals
    method: str
    alpha: float
    sample_ratio: SampleRatio = attrs.field(
        default=attrs.Factory(
            lambda self: SampleRatio("not checked", self.n_treated, self.n_control),
            takes_self=True,
        )
    )
    observational: bool = False
    log_period: tuple[np.datetime64, np.datetime64] | None = None

    def __attrs_post_init__(self) -> None:
        n = len(self.days)
        for f in attrs.fields(KpiSeries):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and f.name not in _PER_OFFER and v.shape != (n,):
                raise ValidationError(
                    f"KpiSeries.{f.name} must hold one value per day ({n}), got shape {v.shape}",
                    field=f.name,
                )
        k = len(self.offers)
        for name in _PER_OFFER:
            if getattr(self, name).shape != (k,):
                raise ValidationError(
                    f"KpiSeries.{name} must hold one value per offer ({k})", field=name
                )
        if not isinstance(self.goals, Goals):
            raise ValidationError("KpiSeries.goals must be a Goals", field="goals")
        for name in ("n_treated", "n_control"):
            c: object = getattr(self, name)
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
                raise ValidationError(f"KpiSeries.{name} must be an int >= 1", field=name)
        if not 0.0 < self.alpha < 1.0:
            raise ValidationError(
                f"KpiSeries.alpha must lie in (0, 1), got {self.alpha!r}", field="alpha"
            )

    def __len__(self) -> int:
        return len(self.days)

    @property
    def first_off_track(self) -> np.datetime64 | None:
        """The first day flagged off track, or None."""
        hit = np.flatnonzero(self.off_track)
        return self.days[hit[0]] if len(hit) else None

    @property
    def on_track(self) -> _B:
        """Days on which every goal set was on track."""
        return np.asarray(self.status == ON_TRACK)

    @property
    def goal_names(self) -> tuple[str, ...]:
        """The goals set (names from :data:`GOALS`)."""
        return tuple(g for g in GOALS if self._target(g) is not None)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a reader must know before trusting the series (as in ``CampaignResult``)."""
        out = []
        if self.observational:
            out.append(NOT_RANDOMISED)
        if self.sample_ratio.status in ("mismatch", "not checked"):
            out.append(str(self.sample_ratio))
        if self.log_period is not None and len(self):
            end = self.days[-1].astype("datetime64[s]") + np.timedelta64(86400, "s")
            w = coverage_warning(
                "tracked", self.days[0].astype("datetime64[s]"), end, self.log_period
            )
            if w is not None:
                out.append(w)
        return tuple(out)

    def _target(self, goal: str) -> float | None:
        g = self.goals
        return {
            "roi": g.target_roi,
            "revenue": g.target_incremental_revenue,
            "redemption": g.target_redemption_rate,
            "budget": g.budget,
        }[goal]

    def reasons(self, day: int) -> list[str]:
        """Names of the goals missed on day index ``day``."""
        return [g for g in GOALS if bool(getattr(self, f"{g}_off_track")[day])]

    def goal_verdicts(self, day: int = -1, *, currency: str = "$") -> list[str]:
        """One plain sentence per goal set: its status on day index ``day`` and why."""
        cur = check_currency(currency)
        d = day if day >= 0 else len(self) + day
        pct = round(100 * (1 - self.alpha))
        g = self.goals
        out = []
        warm = d < g.warmup_days
        for goal in self.goal_names:
            st = str(getattr(self, f"{goal}_status")[d])
            if goal == "roi":
                lo, hi, r = self.roi_low[d], self.roi_high[d], self.roi[d]
                why = (
                    "no cost yet, so no ROI"
                    if not math.isfinite(r)
                    else f"ROI to date {r:.1%}, {pct}% interval {lo:.1%} to {hi:.1%}, "
                    + (
                        "entirely above the target"
                        if st == ON_TRACK
                        else "entirely below the target"
                        if st == OFF_TRACK
                        else "which contains the target: the data cannot tell yet"
                    )
                )
                head = f"ROI goal (at least {g.target_roi:.1%})"
            elif goal == "revenue":
                lo = self.incremental_revenue_low[d]
                hi = self.incremental_revenue_high[d]
                path = self.revenue_goal[d]
                why = (
                    f"incremental revenue to date {format_money(self.incremental_revenue[d], cur)}"
                    f", {pct}% interval {format_money(lo, cur)} to {format_money(hi, cur)}, "
                    f"against {format_money((1 - g.tolerance) * path, cur)} due by now"
                )
                head = (
                    "incremental revenue goal "
                    f"({format_money(float(g.target_incremental_revenue or 0.0), cur)})"
                )
            elif goal == "redemption":
                why = (
                    f"{self.redemption_rate[d]:.2%} of treated customers redeemed against "
                    f"{(1 - g.tolerance) * self.redemption_goal[d]:.2%} due by now"
                )
                head = f"redemption goal ({float(g.target_redemption_rate or 0.0):.1%})"
            else:
                why = (
                    f"cost to date {format_money(self.cost[d], cur)} against "
                    f"{format_money(self.budget_goal[d], cur)} planned by now"
                )
                head = f"budget ({format_money(float(g.budget or 0.0), cur)})"
            if warm:
                why = f"warm-up day {d + 1} of {g.warmup_days}: too early to judge"
            out.append(f"{head}: {st} ({why})")
        return out

    def verdict(self, *, currency: str = "$") -> str:
        """The overall status on the last tracked day, in one sentence."""
        if not len(self):
            return "nothing tracked yet"
        last = str(self.status[-1])
        day = self.days[-1]
        if last == NO_GOAL:
            return f"no goals set: nothing to judge (last tracked day {day})"
        goals = self.goal_names
        undecided = [x for x in goals if getattr(self, f"{x}_status")[-1] == UNDECIDED]
        off = [x for x in goals if getattr(self, f"{x}_status")[-1] == OFF_TRACK]
        if last == ON_TRACK:
            text = f"on track on {day}: every goal is met with confidence"
        elif last == OFF_TRACK:
            text = f"off track on {day}: {', '.join(_LABEL[x] for x in off)}"
        else:
            text = (
                f"not yet decided on {day}: the {' and '.join(_LABEL[x] for x in undecided)} "
                f"goal{'s' if len(undecided) > 1 else ''} cannot be judged yet (the interval "
                "contains the target)"
            )
        first = self.first_off_track
        if first is not None and last != OFF_TRACK:
            text += f" (was off track on some days, first on {first})"
        elif first is not None:
            text += f" (first off track on {first})"
        return text

    def summary(self, *, currency: str = "$") -> str:
        """Warnings, one line per week and the last day with its status, and the verdicts."""
        cur = check_currency(currency)
        pct = round(100 * (1 - self.alpha))
        unit = f" ({cur})" if cur else ""
        lines = [f"WARNING: {w}" for w in self.warnings]
        lines.append(
            f"{'day':<12}{'lift/cust' + unit:>14}{f'{pct}% CI':>22}{'cost' + unit:>12}"
            f"{'ROI':>9}{f'ROI {pct}% CI':>22}{'redeem':>8}  status"
        )
        idx = sorted({*range(6, len(self), 7), len(self) - 1})
        for d in idx:
            ci = f"{self.lift_low[d]:.3f} .. {self.lift_high[d]:.3f}"
            rci = f"{self.roi_low[d]:.0%} .. {self.roi_high[d]:.0%}"
            st = str(self.status[d])
            why = self.reasons(d) if st == OFF_TRACK else []
            lines.append(
                f"{self.days[d]!s:<12}{self.lift[d]:>14.3f}{ci:>22}{self.cost[d]:>12,.0f}"
                f"{self.roi[d]:>9.1%}{rci:>22}{self.redemption_rate[d]:>8.2%}  {st}"
                + (f" ({', '.join(why)})" if why else "")
            )
        lines.append(f"overall: {self.verdict(currency=cur)}")
        lines += [f"  {v}" for v in self.goal_verdicts(-1, currency=cur)]
        first = self.first_off_track
        if first is not None:
            lines.append(
                f"first off track on {first}: "
                + ", ".join(self.reasons(int(np.flatnonzero(self.off_track)[0])))
            )
        return "\n".join(lines)


class _KpiInputs(NamedTuple):
    """The validated, normalised arguments of :func:`track_kpis`."""

    arms: Arms
    start: np.datetime64
    n_days: int
    n_total: int
    daily_cost: _F64
    margin_rate: float | None
    pre_period: tuple[np.datetime64, np.datetime64] | None
    holdout_fraction: float | None
    log_period: tuple[np.datetime64, np.datetime64]
    alpha: float


def _track_kpis_iv(
    transactions: Any,
    treated: Any,
    control: Any,
    goals: Any,
    cost: Any,
    start: TimeLike,
    end: TimeLike,
    as_of: TimeLike | None,
    pre_period: PrePeriod,
    margin_rate: Any,
    redemptions: Any,
    unknown: Any,
    alpha: Any,
    holdout: Any,
    holdout_fraction: Any,
    observational: Any,
) -> _KpiInputs:
    if not isinstance(transactions, Transactions):
        raise ValidationError(
            f"transactions must be a onetoone Transactions, got {type(transactions).__name__}",
            field="transactions",
        )
    treated, control, fraction = resolve_design(
        treated, control, holdout, holdout_fraction, observational
    )
    if not isinstance(goals, Goals):
        raise ValidationError(
            f"goals must be a Goals(...), got {type(goals).__name__}; e.g. "
            "goals=Goals(target_roi=0.0)",
            field="goals",
        )
    if redemptions is not None and not isinstance(redemptions, Redemptions):
        raise ValidationError(
            "redemptions must be a Redemptions (Redemptions.from_arrays) or None",
            field="redemptions",
        )
    _check_alpha(alpha)
    s, e = resolve_window(start, end)
    day = np.timedelta64(86400, "s")
    n_total = int(-(-(e - s) // day))
    if as_of is None:
        n_days = n_total
    else:
        a = to_datetime64(as_of, "as_of")
        if not a > s:
            raise ValidationError(f"as_of ({a}) must be after start ({s})", field="as_of")
        n_days = min(n_total, int(-(-(a - s) // day)))
    check_window_in_log(transactions, s, min(e, s + n_days * day))
    if isinstance(cost, (int, float, np.integer, np.floating)) and not isinstance(cost, bool):
        c = float(cost)
        if not (math.isfinite(c) and c >= 0):
            raise ValidationError(
                f"cost must be a finite number >= 0 (the campaign's total cost), got {cost!r}",
                field="cost",
            )
        daily = np.full(n_total, c / n_total)
    else:
        daily = as_float(cost, "cost")
        if len(daily) != n_total:
            raise ValidationError(
                f"cost as daily amounts needs one value per campaign day ({n_total}), got "
                f"{len(daily)}; or pass the total as a number",
                field="cost",
            )
        if not bool(np.all(np.isfinite(daily) & (daily >= 0))):
            raise ValidationError("cost per day must be finite and >= 0", field="cost")
    m = check_margin_rate(margin_rate)
    pre = resolve_pre_period(pre_period, s)
    if pre is not None:
        check_window_in_log(transactions, pre[0], pre[1], names=("pre_period", "pre_period"))
    first, last = (t.astype("datetime64[s]") for t in transactions.period)
    policy = check_unknown(unknown, "track_kpis")
    arms = resolve_arms(transactions, treated, control, policy)
    return _KpiInputs(
        arms=arms,
        start=s,
        n_days=n_days,
        n_total=n_total,
        daily_cost=daily,
        margin_rate=m,
        pre_period=pre,
        holdout_fraction=fraction,
        log_period=(first, last),
        alpha=float(alpha),
    )


def _arm_day_sums(
    transactions: Transactions,
    s: np.datetime64,
    n_days: int,
    arm_of: npt.NDArray[np.int8],
    x_of: _F64 | None,
) -> tuple[_F64, _F64, _F64]:
    """Per arm (rows 0, 1) and day: cumulative sums over customers of S, S^2 and S*x.

    ``S_i(d)`` is customer i's cumulative spend through day d. Built from the
    (customer x day) CSR matrix of daily spend: within each row the cumulative
    sum gives S at every purchase day, and ``S^2`` grows there by
    ``v (2 S - v)``; bincount by (arm, day) and cumsum over days.
    """
    e = s + np.timedelta64(n_days * 86400, "s")
    tx = transactions
    keep = window_mask(tx, s, e)
    keep &= arm_of[tx.customer] >= 0
    cust = tx.customer[keep]
    day = day_index(tx.timestamp[keep], s)
    m = sp.coo_array(
        (tx.value[keep], (cust, day)), shape=(transactions.n_customers, n_days)
    ).tocsr()
    m.sum_duplicates()
    m.sort_indices()
    v = m.data
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    cs = np.cumsum(v)
    before_row = np.r_[0.0, cs][m.indptr[:-1]]
    s_cum = cs - np.repeat(before_row, np.diff(m.indptr))
    key = arm_of[rows].astype(np.int64) * n_days + m.indices
    size = 2 * n_days

    def cum(w: _F64) -> _F64:
        return np.cumsum(np.bincount(key, weights=w, minlength=size).reshape(2, n_days), axis=1)

    s1 = cum(v)
    s2 = cum(v * (2.0 * s_cum - v))
    sx = cum(v * x_of[rows]) if x_of is not None else np.zeros((2, n_days))
    return s1, s2, sx


@renamed_kwargs(missing="unknown")
def track_kpis(
    transactions: Transactions,
    *,
    treated: Any = None,
    control: Any = None,
    start: TimeLike,
    end: TimeLike,
    goals: Goals,
    cost: float | Any,
    pre_period: PrePeriod = None,
    margin_rate: float | None = None,
    redemptions: Redemptions | None = None,
    as_of: TimeLike | None = None,
    unknown: MeasureUnknownPolicy = "raise",
    alpha: float = 0.05,
    holdout: Holdout | None = None,
    holdout_fraction: float | None = None,
    observational: bool = False,
) -> KpiSeries:
    """Daily cumulative KPIs of a running (or finished) campaign against goals.

    Parameters
    ----------
    transactions : Transactions
    treated, control : array-like of ids
        Distinct, disjoint customer ids (default: the arms of ``holdout``).
    start, end : time
        The campaign window ``start <= t < end``; day ``d`` is
        ``[start + d days, start + d + 1 days)``.
    goals : Goals
    cost : float or array-like
        Total cost (burned evenly over the campaign's days) or the cost of each
        campaign day (length = number of days from start to end).
    pre_period : (start, end) pair, int or None
        CUPED covariate window, as in :func:`measure_campaign`.
    margin_rate : float, optional
        Margin per unit of revenue; None counts revenue as margin.
    redemptions : Redemptions, optional
    as_of : time, optional
        Track only the days before ``as_of`` (a running campaign).
    unknown : {"raise", "keep"}
        Arm customers not in the log, as in :func:`measure_campaign` (``"drop"``
        refused; the old ``missing=`` / ``"zero"`` spelling warns).
    alpha : float
        1 - confidence level.
    holdout, holdout_fraction, observational
        The design, as in :func:`measure_campaign`: the sample-ratio check and
        the warnings.

    Returns
    -------
    KpiSeries
        Its last day equals :func:`measure_campaign` over the same window (same
        lift, interval and ROI, to rounding).

    Raises
    ------
    ValidationError, EmptyInputError, UnknownIdError
        As :func:`measure_campaign` (including a tracked window outside the
        log), plus daily ``cost`` of the wrong length.

    Notes
    -----
    One pass over the window's rows: the (customer x day) matrix of daily spend
    gives each customer's running total at its purchase days, and
    ``np.bincount`` by (arm, day) plus ``np.cumsum`` over days turn those into
    per-day sums of ``S``, ``S^2`` (and ``S x`` for CUPED), from which the
    Welch interval of every day follows in closed form. Cost is O(rows +
    customers + days); no loop over customers or days.

    A goal is judged on the interval, never on the point estimate alone (see
    :class:`Goals`): "on track" needs the whole interval on the right side of
    the target, so a wide interval leaves a goal "not yet decided".

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> tx = synthetic_transactions(600, 80, random_state=3)
    >>> ids = tx.customers.values
    >>> k = track_kpis(tx, treated=ids[::2], control=ids[1::2], start="2024-07-01",
    ...                end="2024-08-01", cost=310.0, goals=Goals(budget=300.0))
    >>> len(k), float(k.cost[-1]), bool(k.budget_off_track[-1])
    (31, 310.0, True)
    >>> str(k.status[-1]), k.verdict()
    ('off track', 'off track on 2024-07-31: budget (first off track on 2024-07-31)')
    """
    inp = _track_kpis_iv(
        transactions,
        treated,
        control,
        goals,
        cost,
        start,
        end,
        as_of,
        pre_period,
        margin_rate,
        redemptions,
        unknown,
        alpha,
        holdout,
        holdout_fraction,
        observational,
    )
    arms, s, n_days, n_total, daily = (
        inp.arms,
        inp.start,
        inp.n_days,
        inp.n_total,
        inp.daily_cost,
    )
    m, pre, fraction, log_period = (
        inp.margin_rate,
        inp.pre_period,
        inp.holdout_fraction,
        inp.log_period,
    )
    n_t, n_c = arms.n_treated, arms.n_control
    arm_of = np.full(transactions.n_customers, -1, dtype=np.int8)
    arm_of[arms.codes_treated[arms.codes_treated >= 0]] = 0
    arm_of[arms.codes_control[arms.codes_control >= 0]] = 1

    x_of = None
    method = "welch"
    if pre is not None:
        x_of, _ = spend_and_visits(transactions, pre[0], pre[1])
        method = "cuped-welch"
    s1, s2, sx = _arm_day_sums(transactions, s, n_days, arm_of, x_of)
    n = np.array([[n_t], [n_c]], dtype=np.float64)
    mean = s1 / n
    var = np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1)
    lift = mean[0] - mean[1]
    if x_of is not None:
        xt, xc = gather(x_of, arms.codes_treated), gather(x_of, arms.codes_control)
        mx = np.array([[xt.mean()], [xc.mean()]])
        sxx = np.array([[((xt - xt.mean()) ** 2).sum()], [((xc - xc.mean()) ** 2).sum()]])
        cov_arm = sx - s1 * mx  # sum over the arm of (S - mean S)(x - mean x)
        # pooled theta over both arms
        x_all = np.concatenate([xt, xc])
        mx_all = float(x_all.mean())
        sxx_all = float(((x_all - mx_all) ** 2).sum())
        s1_all = s1.sum(axis=0)
        sxy_all = sx.sum(axis=0) - s1_all * mx_all
        theta = sxy_all / sxx_all if sxx_all > 0 else np.zeros(n_days)
        var = np.maximum(var - 2 * theta * cov_arm / (n - 1) + theta**2 * sxx / (n - 1), 0.0)
        lift = lift - theta * (mx[0, 0] - mx[1, 0])
    se2 = var[0] / n_t + var[1] / n_c
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(se2)
        df = se2**2 / ((var[0] / n_t) ** 2 / (n_t - 1) + (var[1] / n_c) ** 2 / (n_c - 1))
        tcrit = scipy.stats.t.ppf(1.0 - alpha / 2.0, df)
        p_value = 2.0 * scipy.stats.t.sf(np.abs(lift) / se, df)
    ok = se > 0
    lift_low = np.where(ok, lift - tcrit * se, lift)
    lift_high = np.where(ok, lift + tcrit * se, lift)
    p_value = np.where(ok, p_value, np.nan)

    margin = 1.0 if m is None else m
    cost_cum = np.cumsum(daily)[:n_days]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(cost_cum > 0, margin * n_t / np.where(cost_cum > 0, cost_cum, 1), np.nan)
    roi = scale * lift - 1.0
    roi_low = scale * lift_low - 1.0
    roi_high = scale * lift_high - 1.0

    # redemptions by treated customers, per day and by offer
    red_count = np.zeros(n_days, dtype=np.int64)
    redeemers = np.zeros(n_days, dtype=np.int64)
    offers = np.zeros(0, dtype=str)
    offer_redeemers = np.zeros(0, dtype=np.int64)
    e_tracked = s + np.timedelta64(n_days * 86400, "s")
    if redemptions is not None and len(redemptions):
        arm, pos, inside = redemptions_in_arms(redemptions, arms, s, e_tracked)
        sel = inside & (arm == 0)
        d_red = day_index(redemptions.timestamp[sel], s)
        red_count = np.cumsum(np.bincount(d_red, minlength=n_days))
        first_day = np.full(n_t, n_days, dtype=np.int64)
        np.minimum.at(first_day, pos[sel], d_red)
        redeemers = np.cumsum(np.bincount(first_day[first_day < n_days], minlength=n_days))
        if redemptions.offer_ids is not None:
            offers, o_code = np.unique(redemptions.offer_ids[sel], return_inverse=True)
            pair = np.unique(o_code.reshape(-1).astype(np.int64) * n_t + pos[sel])
            offer_redeemers = np.bincount(pair // n_t, minlength=len(offers)).astype(np.int64)
    red_rate = redeemers / n_t

    elapsed = np.arange(1, n_days + 1) / n_total
    nan = np.full(n_days, np.nan)
    g = goals
    revenue_goal = (
        nan if g.target_incremental_revenue is None else (g.target_incremental_revenue * elapsed)
    )
    redemption_goal = (
        nan if g.target_redemption_rate is None else (g.target_redemption_rate * elapsed)
    )
    budget_goal = (
        nan if g.budget is None else g.budget_upfront + (g.budget - g.budget_upfront) * elapsed
    )
    live = np.arange(n_days) >= g.warmup_days
    tol = g.tolerance

    def judge(target: float | None, on: _B, off: _B) -> _S:
        """Status per day: off / on where decided (after warm-up), else undecided."""
        if target is None:
            return np.full(n_days, NO_GOAL)
        st = np.full(n_days, UNDECIDED)
        st[live & on] = ON_TRACK
        st[live & off] = OFF_TRACK
        return st

    with np.errstate(invalid="ignore"):
        roi_st = judge(
            g.target_roi,
            roi_low > (g.target_roi or 0.0),  # NaN (no cost yet) compares False: undecided
            roi_high < (g.target_roi or 0.0),
        )
        rev_need = (1.0 - tol) * revenue_goal
        rev_st = judge(
            g.target_incremental_revenue, n_t * lift_low >= rev_need, n_t * lift_high < rev_need
        )
        red_need = (1.0 - tol) * redemption_goal
        red_st = judge(g.target_redemption_rate, red_rate >= red_need, red_rate < red_need)
        over = (cost_cum > (g.budget or 0.0)) | (cost_cum > (1.0 + tol) * budget_goal)
        bud_st = judge(g.budget, ~over, over)
    per_goal = np.stack([roi_st, rev_st, red_st, bud_st])
    is_set = per_goal != NO_GOAL
    status = np.full(n_days, NO_GOAL if not bool(is_set.any()) else UNDECIDED)
    if bool(is_set.any()):
        status[((per_goal == ON_TRACK) | ~is_set).all(axis=0)] = ON_TRACK
        status[(per_goal == OFF_TRACK).any(axis=0)] = OFF_TRACK
    roi_off, rev_off, red_off, bud_off = per_goal == OFF_TRACK
    with np.errstate(invalid="ignore", divide="ignore"):
        burn = nan if g.budget is None or g.budget == 0 else cost_cum / g.budget
    day0 = s.astype("datetime64[D]")
    return KpiSeries(
        days=day0 + np.arange(n_days).astype("timedelta64[D]"),
        n_treated=n_t,
        n_control=n_c,
        spend_treated=mean[0],
        spend_control=mean[1],
        lift=lift,
        lift_low=lift_low,
        lift_high=lift_high,
        p_value=p_value,
        incremental_revenue=n_t * lift,
        incremental_revenue_low=n_t * lift_low,
        incremental_revenue_high=n_t * lift_high,
        incremental_margin=margin * n_t * lift,
        cost=cost_cum,
        roi=roi,
        roi_low=roi_low,
        roi_high=roi_high,
        redemptions=red_count,
        redeemers=redeemers,
        redemption_rate=red_rate,
        budget_burn=burn,
        revenue_goal=revenue_goal,
        redemption_goal=redemption_goal,
        budget_goal=budget_goal,
        roi_off_track=roi_off,
        revenue_off_track=rev_off,
        redemption_off_track=red_off,
        budget_off_track=bud_off,
        off_track=roi_off | rev_off | red_off | bud_off,
        roi_status=roi_st,
        revenue_status=rev_st,
        redemption_status=red_st,
        budget_status=bud_st,
        status=status,
        offers=offers,
        offer_redeemers=offer_redeemers,
        offer_redemption_rate=offer_redeemers / n_t,
        goals=g,
        method=method,
        alpha=float(alpha),
        sample_ratio=sample_ratio(n_t, n_c, holdout_fraction=fraction, observational=observational),
        observational=observational,
        log_period=(log_period[0], log_period[1]),
    )
