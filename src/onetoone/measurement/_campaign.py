"""Campaign measurement from a transaction log: arm figures, lift, ROI."""

from __future__ import annotations

import logging
import math
import time
from typing import Any, NamedTuple

import attrs
import numpy as np
import scipy.stats

from onetoone._arrays import TimeLike
from onetoone._deprecation import renamed_kwargs
from onetoone._progress import ProgressCallback, check_progress
from onetoone._random import RandomState, check_random_state
from onetoone.data import Transactions
from onetoone.errors import ValidationError
from onetoone.measurement._arms import (
    Arms,
    MeasureUnknownPolicy,
    PrePeriod,
    Redemptions,
    check_cost,
    check_margin_rate,
    check_unknown,
    check_window_in_log,
    coverage_warning,
    gather,
    redemptions_in_arms,
    resolve_arms,
    resolve_design,
    resolve_pre_period,
    resolve_window,
    spend_and_visits,
)
from onetoone.measurement._holdout import Holdout
from onetoone.measurement._stats import (
    NOT_RANDOMISED,
    ArmComparison,
    Estimate,
    SampleRatio,
    _check_alpha,
    _check_bootstrap,
    check_currency,
    compare_arms,
    format_money,
    ratio_difference,
)

__all__ = ["ArmSummary", "CampaignResult", "measure_campaign"]

_LOG = logging.getLogger("onetoone.measurement")


@attrs.frozen
class ArmSummary:
    """Descriptive figures of one arm over the campaign window.

    Attributes
    ----------
    n_customers : int
    n_not_in_log : int
        Customers absent from the log, counted as buying nothing (``unknown="keep"``).
    spend_total, spend_per_customer : float
        Amount paid in the window, in total and per customer.
    visit_rate : float
        Share of customers with at least one basket.
    visits_per_customer : float
    spend_per_visit : float
        Total spend / total baskets (NaN without baskets).
    pre_spend_per_customer : float
        Pre-period spend per customer (NaN without ``pre_period``).
    redemptions, redeemers : int
        Redemptions in the window and distinct customers who redeemed.

    Examples
    --------
    >>> a = ArmSummary(n_customers=200, n_not_in_log=0, spend_total=5000.0,
    ...                spend_per_customer=25.0, visit_rate=0.6, visits_per_customer=1.5,
    ...                spend_per_visit=16.67, pre_spend_per_customer=float("nan"),
    ...                redemptions=40, redeemers=30)
    >>> a.redemption_rate
    0.15
    """

    n_customers: int
    n_not_in_log: int
    spend_total: float
    spend_per_customer: float
    visit_rate: float
    visits_per_customer: float
    spend_per_visit: float
    pre_spend_per_customer: float
    redemptions: int
    redeemers: int

    def __attrs_post_init__(self) -> None:
        for name in ("n_customers", "n_not_in_log", "redemptions", "redeemers"):
            v: object = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValidationError(
                    f"ArmSummary.{name} must be an int >= 0, got {v!r}", field=name
                )
        if self.n_customers < 1:
            raise ValidationError("ArmSummary.n_customers must be >= 1", field="n_customers")
        for name in ("n_not_in_log", "redeemers"):
            if getattr(self, name) > self.n_customers:
                raise ValidationError(
                    f"ArmSummary.{name} ({getattr(self, name)}) exceeds n_customers "
                    f"({self.n_customers})",
                    field=name,
                )
        if not (math.isnan(self.visit_rate) or 0.0 <= self.visit_rate <= 1.0):
            raise ValidationError(
                f"ArmSummary.visit_rate must lie in [0, 1], got {self.visit_rate!r}",
                field="visit_rate",
            )

    @property
    def redemption_rate(self) -> float:
        """Redeemers / customers."""
        return self.redeemers / self.n_customers


@attrs.frozen
class CampaignResult:
    """What a campaign did: per-arm figures, incremental revenue, margin and ROI.

    Attributes
    ----------
    start, end : numpy.datetime64
        The measured window ``start <= t < end``.
    pre_period : (datetime64, datetime64) or None
        The covariate window for CUPED.
    treated, control : ArmSummary
    revenue : ArmComparison
        Spend per customer, treated vs control: Welch, CUPED, bootstrap.
    lift : Estimate
        Incremental revenue per treated customer: CUPED when a pre-period was
        given, else Welch (``revenue.primary``).
    incremental_revenue : Estimate
        ``lift * n_treated``: revenue the campaign added over the treated arm.
    incremental_margin : Estimate
        ``margin_rate * incremental_revenue`` (revenue itself when
        ``margin_rate`` is None).
    roi : Estimate or None
        ``(incremental_margin - cost) / cost``; its ``p_value`` tests ROI = 0
        (break-even). None when ``cost == 0``.
    roi_bootstrap : Estimate or None
        The same from the bootstrap interval of the lift.
    visit_rate : Estimate
        Difference in the share of customers who visited (Welch on 0/1).
    spend_per_visit : Estimate
        Difference in spend per visit (delta method).
    cost : float
    margin_rate : float or None
    breakeven_lift : float
        Lift per treated customer at which ROI = 0 (NaN when ``cost == 0``).
    redemptions_outside : int
        Redemptions given but not counted: outside the window or by customers
        in neither arm.
    alpha : float
    sample_ratio : SampleRatio
        Sample-ratio check of the arm sizes against the assigned holdout
        fraction (``"not applicable"`` for an observational comparison).
    observational : bool
        True when the arms were not randomised (e.g. a matched control).
    log_period : (datetime64, datetime64) or None
        First and last transaction time of the log measured.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> from onetoone.measurement import assign_holdout, measure_campaign
    >>> tx = synthetic_transactions(400, 60, random_state=5)
    >>> h = assign_holdout(tx.customers.values, fraction=0.5, salt="cr")
    >>> res = measure_campaign(tx, holdout=h, start="2024-10-01", end="2024-11-01",
    ...                        cost=200.0, margin_rate=0.3)
    >>> res.treated.n_customers + res.control.n_customers, res.lift.method
    (400, 'welch')
    >>> res.sample_ratio.status, res.roi.confidence
    ('ok', 0.95)
    """

    start: np.datetime64
    end: np.datetime64
    pre_period: tuple[np.datetime64, np.datetime64] | None
    treated: ArmSummary
    control: ArmSummary
    revenue: ArmComparison
    lift: Estimate
    incremental_revenue: Estimate
    incremental_margin: Estimate
    roi: Estimate | None
    roi_bootstrap: Estimate | None
    visit_rate: Estimate
    spend_per_visit: Estimate
    cost: float
    margin_rate: float | None
    breakeven_lift: float
    redemptions_outside: int
    alpha: float
    sample_ratio: SampleRatio = attrs.field(
        default=attrs.Factory(
            lambda self: SampleRatio(
                "not checked", self.treated.n_customers, self.control.n_customers
            ),
            takes_self=True,
        )
    )
    observational: bool = False
    log_period: tuple[np.datetime64, np.datetime64] | None = None

    def __attrs_post_init__(self) -> None:
        if not self.end > self.start:
            raise ValidationError(
                f"CampaignResult.end ({self.end}) must be after start ({self.start})", field="end"
            )
        for name in ("treated", "control"):
            if not isinstance(getattr(self, name), ArmSummary):
                raise ValidationError(f"CampaignResult.{name} must be an ArmSummary", field=name)
        for name in (
            "lift",
            "incremental_revenue",
            "incremental_margin",
            "visit_rate",
            "spend_per_visit",
        ):
            if not isinstance(getattr(self, name), Estimate):
                raise ValidationError(f"CampaignResult.{name} must be an Estimate", field=name)
        if not 0.0 < self.alpha < 1.0:
            raise ValidationError(
                f"CampaignResult.alpha must lie in (0, 1), got {self.alpha!r}", field="alpha"
            )
        if not (math.isfinite(self.cost) and self.cost >= 0):
            raise ValidationError(
                f"CampaignResult.cost must be finite and >= 0, got {self.cost!r}", field="cost"
            )

    @property
    def srm_p_value(self) -> float:
        """p-value of the sample-ratio check (NaN when not run or not applicable)."""
        return self.sample_ratio.p_value

    @property
    def warnings(self) -> tuple[str, ...]:
        """Everything a reader must know before trusting the figures, one sentence each.

        The console summary and the HTML report both print these.
        """
        out = []
        if self.observational:
            out.append(NOT_RANDOMISED)
        if self.sample_ratio.status in ("mismatch", "not checked"):
            out.append(str(self.sample_ratio))
        if self.log_period is not None:
            w = coverage_warning("campaign", self.start, self.end, self.log_period)
            if w is not None:
                out.append(w)
            if self.pre_period is not None:
                w = coverage_warning(
                    "pre-period", self.pre_period[0], self.pre_period[1], self.log_period
                )
                if w is not None:
                    out.append(w)
        if self.margin_rate is None and self.roi is not None:
            out.append(
                "NO MARGIN RATE: all incremental revenue is counted as margin, so the ROI is an "
                "upper bound; pass margin_rate= for the true return"
            )
        return tuple(out)

    def summary(self, *, currency: str = "$") -> str:
        """A plain-text ROI summary, warnings first.

        Parameters
        ----------
        currency : str
            Symbol (``"$"``) or ISO code (``"EUR"``) shown on every amount.
        """
        cur = check_currency(currency)
        t, c = self.treated, self.control
        pct = round(100 * (1 - self.alpha))

        def money(v: float) -> str:
            return format_money(v, cur)

        def est(e: Estimate) -> str:
            p = "" if math.isnan(e.p_value) else f", p={e.p_value:.3g}"
            big = max(abs(e.estimate), abs(e.ci_low), abs(e.ci_high))
            spec = ",.0f" if big >= 1000 else ",.2f" if big >= 1 else ".3g"
            return (
                f"{format_money(e.estimate, cur, spec)} [{pct}% CI "
                f"{format_money(e.ci_low, cur, spec)} .. {format_money(e.ci_high, cur, spec)}]"
                f"{p} ({e.method})"
            )

        unit = f" ({cur})" if cur else ""
        lines = [
            f"campaign {_when(self.start)} .. {_when(self.end)} (end exclusive), "
            f"{'observational' if self.observational else 'randomised'} comparison",
        ]
        lines += [f"WARNING: {w}" for w in self.warnings]
        lines += [
            f"{'':<26}{'treated':>14}{'control':>14}",
            f"{'customers':<26}{t.n_customers:>14,}{c.n_customers:>14,}",
            f"{'spend per customer' + unit:<26}{t.spend_per_customer:>14,.3f}"
            f"{c.spend_per_customer:>14,.3f}",
            f"{'visit rate':<26}{t.visit_rate:>14.2%}{c.visit_rate:>14.2%}",
            f"{'spend per visit' + unit:<26}{t.spend_per_visit:>14,.3f}{c.spend_per_visit:>14,.3f}",
            f"{'redemptions (redeemers)':<26}{f'{t.redemptions} ({t.redeemers})':>14}"
            f"{f'{c.redemptions} ({c.redeemers})':>14}",
        ]
        if self.pre_period is not None:
            lines.append(
                f"{'pre-period spend' + unit:<26}{t.pre_spend_per_customer:>14,.3f}"
                f"{c.pre_spend_per_customer:>14,.3f}"
            )
        lines.append(f"lift per customer (Welch): {est(self.revenue.welch)}")
        if self.revenue.cuped is not None:
            lines.append(
                f"lift per customer (CUPED):  {est(self.revenue.cuped)}  theta="
                f"{self.revenue.theta:.4g}, variance reduction "
                f"{self.revenue.variance_reduction:.2%}"
            )
        if self.revenue.bootstrap is not None:
            lines.append(f"lift per customer (bootstrap): {est(self.revenue.bootstrap)}")
        lines.append(f"incremental revenue: {est(self.incremental_revenue)}")
        basis = (
            "revenue (no margin_rate)" if self.margin_rate is None else f"{self.margin_rate:.0%}"
        )
        lines.append(f"incremental margin at {basis}: {est(self.incremental_margin)}")
        lines.append(f"cost: {money(self.cost)} (the base of the ROI)")
        if self.roi is None:
            lines.append("ROI: undefined (cost is 0)")
        else:
            r = self.roi
            lines.append(
                f"ROI: {r.estimate:.1%} [{pct}% CI {r.ci_low:.1%} .. {r.ci_high:.1%}], "
                f"p(ROI = 0) = {r.p_value:.3g}"
            )
        v = self.visit_rate
        lines.append(
            f"visit-rate lift: {100 * v.estimate:+.2f} percentage points [{pct}% CI "
            f"{100 * v.ci_low:+.2f} .. {100 * v.ci_high:+.2f}], p={v.p_value:.3g}"
        )
        lines.append(f"spend-per-visit lift: {est(self.spend_per_visit)}")
        lines.append(str(self.sample_ratio))
        return "\n".join(lines)


def _when(t: np.datetime64) -> str:
    """A time as a date when it is midnight, else to the second."""
    day = t.astype("datetime64[D]")
    return str(day) if day == t else str(t).replace("T", " ")


class _CampaignInputs(NamedTuple):
    """The validated, normalised arguments of :func:`measure_campaign`."""

    arms: Arms
    start: np.datetime64
    end: np.datetime64
    cost: float
    margin_rate: float | None
    pre_period: tuple[np.datetime64, np.datetime64] | None
    holdout_fraction: float | None
    log_period: tuple[np.datetime64, np.datetime64]
    alpha: float
    bootstrap: int


def _measure_campaign_iv(
    transactions: Any,
    treated: Any,
    control: Any,
    start: TimeLike,
    end: TimeLike,
    cost: Any,
    pre_period: PrePeriod,
    margin_rate: float | None,
    redemptions: Any,
    unknown: Any,
    bootstrap: Any,
    alpha: Any,
    holdout: Any,
    holdout_fraction: Any,
    observational: Any,
) -> _CampaignInputs:
    if not isinstance(transactions, Transactions):
        raise ValidationError(
            f"transactions must be a onetoone Transactions, got {type(transactions).__name__}; "
            "build it with Transactions.from_arrays / from_pandas, or use compare_arms for "
            "per-customer arrays",
            field="transactions",
        )
    treated, control, fraction = resolve_design(
        treated, control, holdout, holdout_fraction, observational
    )
    s, e = resolve_window(start, end)
    log_period = check_window_in_log(transactions, s, e)
    c = check_cost(cost)
    m = check_margin_rate(margin_rate)
    pre = resolve_pre_period(pre_period, s)
    if pre is not None:
        check_window_in_log(transactions, pre[0], pre[1], names=("pre_period", "pre_period"))
    if redemptions is not None and not isinstance(redemptions, Redemptions):
        raise ValidationError(
            "redemptions must be a Redemptions (Redemptions.from_arrays) or None",
            field="redemptions",
        )
    _check_alpha(alpha)
    _check_bootstrap(bootstrap)
    policy = check_unknown(unknown, "measure_campaign")
    arms = resolve_arms(transactions, treated, control, policy)
    return _CampaignInputs(
        arms=arms,
        start=s,
        end=e,
        cost=c,
        margin_rate=m,
        pre_period=pre,
        holdout_fraction=fraction,
        log_period=log_period,
        alpha=float(alpha),
        bootstrap=int(bootstrap),
    )


def roi_estimate(lift: Estimate, *, n_treated: int, margin: float, cost: float) -> Estimate:
    """ROI = (margin * n_treated * lift - cost) / cost, with a t test of ROI = 0 (private)."""
    scale = margin * n_treated / cost
    out = lift.affine(scale, -1.0, method=f"{lift.method} (affine)")
    if math.isnan(lift.p_value) or lift.std_error == 0:
        return attrs.evolve(out, null=0.0, p_value=float("nan"))
    breakeven = cost / (margin * n_treated)
    stat = (lift.estimate - breakeven) / lift.std_error
    dist = scipy.stats.norm if math.isinf(lift.df) else scipy.stats.t(lift.df)
    p = float(2.0 * dist.sf(abs(stat)))
    return attrs.evolve(out, null=0.0, p_value=p)


@renamed_kwargs(missing="unknown")
def measure_campaign(
    transactions: Transactions,
    *,
    treated: Any = None,
    control: Any = None,
    start: TimeLike,
    end: TimeLike,
    cost: float,
    pre_period: PrePeriod = None,
    margin_rate: float | None = None,
    redemptions: Redemptions | None = None,
    unknown: MeasureUnknownPolicy = "raise",
    bootstrap: int = 0,
    random_state: RandomState = None,
    alpha: float = 0.05,
    holdout: Holdout | None = None,
    holdout_fraction: float | None = None,
    observational: bool = False,
    progress: ProgressCallback | None = None,
) -> CampaignResult:
    """Measure a campaign: arm figures, incremental revenue and margin, ROI, intervals.

    Parameters
    ----------
    transactions : Transactions
        The log; it must cover the campaign window (and the pre-period).
    treated, control : array-like of ids
        Distinct, disjoint customer ids. Every customer counts, including those
        who bought nothing in the window (outcome 0). Default: the arms of
        ``holdout``.
    start, end : time
        The window ``start <= t < end`` (pass the day after an inclusive end
        date). It must overlap the log and hold transactions.
    cost : float
        Total campaign cost (>= 0), in the currency of ``value``.
    pre_period : (start, end) pair, int or None
        Covariate window for CUPED (must end on or before ``start``), or a number
        of days before ``start``. None: no CUPED.
    margin_rate : float, optional
        Margin per unit of revenue in (0, 1]; None counts revenue as margin
        (an upper bound on ROI, stated in the summary).
    redemptions : Redemptions, optional
        Counted per arm within the window.
    unknown : {"raise", "keep"}
        Arm customers not in the log (the :data:`~onetoone.data.UnknownPolicy`
        values): raise :class:`~onetoone.errors.UnknownIdError` (default,
        usually an id mismatch) or keep them as customers who bought nothing
        (outcome 0). ``"drop"`` is refused: the absent customers are mostly
        non-buyers, and dropping them would bias the lift. The old keyword
        ``missing=`` and value ``"zero"`` still work, with a deprecation warning.
    bootstrap : int
        Bootstrap replicates for an extra percentile interval (0: none).
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.
    alpha : float
        1 - confidence level.
    holdout : Holdout, optional
        The randomised split (:func:`assign_holdout`): supplies the arms (unless
        ``treated``/``control`` are given, e.g. the subset actually contacted)
        and the assigned fraction for the sample-ratio check.
    holdout_fraction : float, optional
        The assigned control share, when the arms come without a ``Holdout``.
        Without it (or ``holdout``) the sample-ratio check is not run, and the
        result says so.
    observational : bool
        True when the control group was not randomised (e.g.
        :func:`matched_control`): no sample-ratio check, and the result warns
        that the lift mixes effect and selection.
    progress : callable, optional
        ``progress(done, total)``, called after each block of bootstrap
        replicates (``total = bootstrap``), e.g. a progress bar.

    Returns
    -------
    CampaignResult

    Raises
    ------
    ValidationError
        Overlapping arms, duplicate ids, ``end`` not after ``start``, a window
        (or pre-period) entirely outside the log or without any transaction,
        negative or non-finite ``cost``, a pre-period overlapping the campaign,
        ``holdout`` with ``holdout_fraction`` or ``observational``, bad options.
    EmptyInputError
        An empty arm.
    UnknownIdError
        Arm customers not in the log (under ``unknown="raise"``).

    Notes
    -----
    The outcome is each customer's spend in the window; the lift and its
    intervals come from :func:`compare_arms` (Welch; CUPED on pre-period spend;
    bootstrap). Totals and ROI are affine maps of the per-customer lift ``d``:
    ``incremental revenue = n_t d``, ``margin = m n_t d`` and
    ``ROI = m n_t d / cost - 1``, so their intervals are the lift's interval
    mapped, and ROI's p-value tests ``d = cost / (m n_t)`` (break-even). Spend
    per visit is a ratio of per-customer sums, compared by the delta method
    (:func:`ratio_difference`); the visit rate by Welch on the 0/1 visited flag.

    The arm sizes are tested against the assigned fraction (chi-square,
    :class:`SampleRatio`). A window that the log covers only in part (it starts
    after the window's first day or ends before its last) is measured on the
    days present and reported in :attr:`CampaignResult.warnings`.

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> tx = synthetic_transactions(600, 80, random_state=3)
    >>> ids = tx.customers.values
    >>> res = measure_campaign(tx, treated=ids[::2], control=ids[1::2],
    ...                        start="2024-07-01", end="2024-08-01", cost=100.0,
    ...                        pre_period=("2024-01-01", "2024-07-01"), margin_rate=0.3)
    >>> res.treated.n_customers, res.control.n_customers
    (300, 300)
    >>> res.lift.method, res.revenue.variance_reduction > 0
    ('cuped-welch', True)
    >>> res.sample_ratio.status    # no holdout= or holdout_fraction= given
    'not checked'
    """
    inp = _measure_campaign_iv(
        transactions,
        treated,
        control,
        start,
        end,
        cost,
        pre_period,
        margin_rate,
        redemptions,
        unknown,
        bootstrap,
        alpha,
        holdout,
        holdout_fraction,
        observational,
    )
    rng = check_random_state(random_state)  # validated before any work, used by the bootstrap
    report = check_progress(progress)
    t0 = time.perf_counter()
    arms, s, e, c, m, pre = inp.arms, inp.start, inp.end, inp.cost, inp.margin_rate, inp.pre_period
    fraction, log_period = inp.holdout_fraction, inp.log_period
    spend, visits = spend_and_visits(transactions, s, e)
    yt, yc = gather(spend, arms.codes_treated), gather(spend, arms.codes_control)
    vt, vc = gather(visits, arms.codes_treated), gather(visits, arms.codes_control)
    xt = xc = None
    if pre is not None:
        pre_spend, _ = spend_and_visits(transactions, pre[0], pre[1])
        xt, xc = gather(pre_spend, arms.codes_treated), gather(pre_spend, arms.codes_control)
    revenue = compare_arms(
        yt,
        yc,
        covariate_treated=xt,
        covariate_control=xc,
        alpha=alpha,
        bootstrap=bootstrap,
        random_state=rng,
        holdout_fraction=fraction,
        observational=observational,
        progress=report,
    )
    visit_rate = compare_arms((vt > 0).astype(np.float64), (vc > 0).astype(np.float64), alpha=alpha)
    spv = ratio_difference(yt, vt, yc, vc, alpha=alpha)

    red_n = [0, 0]
    red_c = [0, 0]
    outside = 0
    if redemptions is not None and len(redemptions):
        arm, pos, inside = redemptions_in_arms(redemptions, arms, s, e)
        counted = inside & (arm >= 0)
        outside = int((~counted).sum())
        for k in (0, 1):
            sel = counted & (arm == k)
            red_n[k] = int(sel.sum())
            red_c[k] = len(np.unique(pos[sel]))

    def summary(k: int, y: Any, v: Any, x: Any, codes: Any) -> ArmSummary:
        tot_v = float(v.sum())
        return ArmSummary(
            n_customers=len(y),
            n_not_in_log=int((codes < 0).sum()),
            spend_total=float(y.sum()),
            spend_per_customer=float(y.mean()),
            visit_rate=float((v > 0).mean()),
            visits_per_customer=float(v.mean()),
            spend_per_visit=float(y.sum()) / tot_v if tot_v > 0 else float("nan"),
            pre_spend_per_customer=float(x.mean()) if x is not None else float("nan"),
            redemptions=red_n[k],
            redeemers=red_c[k],
        )

    n_t = arms.n_treated
    margin = 1.0 if m is None else m
    lift = revenue.primary
    inc_rev = lift.affine(float(n_t), method=lift.method)
    inc_margin = lift.affine(margin * n_t, method=lift.method)
    roi = roi_boot = None
    breakeven = float("nan")
    if c > 0:
        roi = roi_estimate(lift, n_treated=n_t, margin=margin, cost=c)
        breakeven = c / (margin * n_t)
        if revenue.bootstrap is not None:
            roi_boot = revenue.bootstrap.affine(margin * n_t / c, -1.0)
    _LOG.info(
        "measure_campaign: %d treated, %d control, %d bootstrap replicates in %.3fs",
        n_t, arms.n_control, int(bootstrap), time.perf_counter() - t0,
    )
    return CampaignResult(
        start=s,
        end=e,
        pre_period=pre,
        treated=summary(0, yt, vt, xt, arms.codes_treated),
        control=summary(1, yc, vc, xc, arms.codes_control),
        revenue=revenue,
        lift=lift,
        incremental_revenue=inc_rev,
        incremental_margin=inc_margin,
        roi=roi,
        roi_bootstrap=roi_boot,
        visit_rate=visit_rate.welch,
        spend_per_visit=spv,
        cost=c,
        margin_rate=m,
        breakeven_lift=breakeven,
        redemptions_outside=outside,
        alpha=float(alpha),
        sample_ratio=revenue.sample_ratio,
        observational=observational,
        log_period=log_period,
    )
