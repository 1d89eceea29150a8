"""Two-arm comparisons: Welch, CUPED, bootstrap and the delta method.

Everything here works on plain per-customer arrays, so data without a
transaction log (a randomised e-mail test such as Hillstrom's) and
:func:`~onetoone.measurement.measure_campaign` share one implementation.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import scipy.stats

from onetoone._arrays import as_float
from onetoone._estimate import Estimate
from onetoone._progress import ProgressCallback, check_progress
from onetoone._random import RandomState, check_random_state
from onetoone.errors import EmptyInputError, ValidationError

__all__ = [
    "SRM_THRESHOLD",
    "ArmComparison",
    "Estimate",
    "SampleRatio",
    "compare_arms",
    "ratio_difference",
]

_F64 = npt.NDArray[np.float64]

#: Elements of the (replicates x customers) index block drawn at once by the bootstrap.
_BOOTSTRAP_BLOCK_ELEMENTS = 4_000_000

#: p-value below which the arm sizes are flagged as a sample-ratio mismatch (GrowthBook's).
SRM_THRESHOLD = 0.001

_SRM_STATUSES = ("ok", "mismatch", "not checked", "not applicable")


#: The warning every observational (not randomised) comparison carries, in the
#: console summary and the HTML report alike.
NOT_RANDOMISED = (
    "NOT RANDOMISED: the control group was not drawn at random (e.g. matched on "
    "past behaviour), so the lift mixes the campaign's effect with how customers "
    "were selected; read it as an association, not a proven effect"
)

@attrs.frozen
class SampleRatio:
    """Sample-ratio check: are the arm sizes what the assignment promised?

    A randomised split that sends a share ``f`` of customers to control gives
    arm sizes close to ``f`` and ``1 - f``. Arms much further from it than
    chance allows (a *sample-ratio mismatch*) mean customers were lost, added or
    moved between arms after the draw, so the comparison may be biased whatever
    its interval says (Fabijan et al. 2019; GrowthBook and Statsig run this test
    before they report any lift).

    Attributes
    ----------
    status : {"ok", "mismatch", "not checked", "not applicable"}
        ``"mismatch"`` when ``p_value < threshold``; ``"not checked"`` when the
        assigned fraction is unknown; ``"not applicable"`` for an
        observational (non-randomised) comparison.
    n_treated, n_control : int
        Observed arm sizes.
    expected_control_fraction : float
        The assigned holdout (control) share (NaN when unknown).
    chi2 : float
        Pearson's chi-square statistic of the two arm sizes against
        ``(1 - f, f)`` (1 degree of freedom; NaN when not run).
    p_value : float
        Its p-value (NaN when not run).
    threshold : float
        The p-value below which a mismatch is flagged (default 0.001).

    Examples
    --------
    >>> sr = compare_arms([1.0, 2.0] * 60, [1.0, 3.0] * 40, holdout_fraction=0.5).sample_ratio
    >>> sr.status, round(sr.p_value, 4)
    ('ok', 0.0047)
    >>> compare_arms([1.0, 2.0] * 300, [1.0, 3.0] * 200, holdout_fraction=0.5).sample_ratio.status
    'mismatch'
    """

    status: str = attrs.field(validator=attrs.validators.in_(_SRM_STATUSES))
    n_treated: int
    n_control: int
    expected_control_fraction: float = float("nan")
    chi2: float = float("nan")
    p_value: float = float("nan")
    threshold: float = SRM_THRESHOLD

    def __attrs_post_init__(self) -> None:
        for name in ("n_treated", "n_control"):
            v: object = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValidationError(
                    f"SampleRatio.{name} must be an int >= 0, got {v!r}", field=name
                )

    @property
    def mismatch(self) -> bool:
        """True when the arm sizes are a sample-ratio mismatch."""
        return self.status == "mismatch"

    @property
    def observed_control_fraction(self) -> float:
        """``n_control / (n_treated + n_control)``."""
        return self.n_control / (self.n_treated + self.n_control)

    def __str__(self) -> str:
        n = self.n_treated + self.n_control
        frac = self.observed_control_fraction
        seen = f"{self.n_control:,} of {n:,} customers in control ({frac:.1%})"
        if self.status == "not applicable":
            return (
                "sample-ratio check: not applicable, the comparison is observational (the "
                "control group was not drawn at random)"
            )
        if self.status == "not checked":
            return (
                f"sample-ratio check: not run, the assigned holdout fraction is unknown ({seen}); "
                "pass holdout= (the Holdout) or holdout_fraction="
            )
        assigned = f"{self.expected_control_fraction:.1%} assigned"
        if self.status == "ok":
            return f"sample-ratio check: ok, {seen}, {assigned} (chi-square p = {self.p_value:.3g})"
        return (
            f"SAMPLE-RATIO MISMATCH: {seen} where {assigned} (chi-square p = "
            f"{self.p_value:.3g} < {self.threshold:g}); customers were lost, added or moved "
            "between arms after the draw, so the lift may be biased: find the cause before "
            "trusting it"
        )


def check_currency(currency: Any) -> str:
    """A currency symbol (``"$"``, ``"€"``) or ISO 4217 code (``"EUR"``); ``""`` for none."""
    if not isinstance(currency, str) or len(currency) > 8 or not currency.isprintable():
        raise ValidationError(
            f"currency must be a short str, a symbol such as '$' or an ISO code such as 'EUR' "
            f"('' for none), got {currency!r}",
            field="currency",
        )
    return currency.strip()


def format_money(value: float, currency: str, spec: str = ",.2f") -> str:
    """``-$1,234.50`` for a symbol, ``-1,234.50 EUR`` for a code, ``NaN`` as ``n/a``.

    ``spec="auto"``: whole units from 1,000, cents from 1, else 3 significant digits.
    """
    if math.isnan(value):
        return "n/a"
    if spec == "auto":  # whole units from 1,000, cents from 1, else 3 significant digits
        a = abs(value)
        spec = ",.0f" if a >= 1000 else ",.2f" if a >= 1 or a == 0 else ".3g"
    body = format(abs(value), spec)
    sign = "-" if value < 0 else ""
    if not currency:
        return sign + body
    if currency.isalpha() and len(currency) > 1:
        return f"{sign}{body} {currency}"
    return f"{sign}{currency}{body}"


def check_fraction(value: Any, name: str) -> float:
    """A holdout fraction in (0, 1), or raise naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (0.0 < float(value) < 1.0)
    ):
        raise ValidationError(
            f"{name} must be the assigned control (holdout) share, a number in (0, 1), got "
            f"{value!r}",
            field=name,
        )
    return float(value)


def sample_ratio(
    n_treated: int,
    n_control: int,
    *,
    holdout_fraction: float | None,
    observational: bool,
    threshold: float = SRM_THRESHOLD,
) -> SampleRatio:
    """Chi-square goodness-of-fit test of the arm sizes against the assigned fraction."""
    if observational:
        return SampleRatio("not applicable", n_treated, n_control, threshold=threshold)
    if holdout_fraction is None:
        return SampleRatio("not checked", n_treated, n_control, threshold=threshold)
    f = float(holdout_fraction)
    n = n_treated + n_control
    res = scipy.stats.chisquare([n_treated, n_control], [n * (1.0 - f), n * f])
    p = float(res.pvalue)
    return SampleRatio(
        "mismatch" if p < threshold else "ok",
        n_treated,
        n_control,
        expected_control_fraction=f,
        chi2=float(res.statistic),
        p_value=p,
        threshold=threshold,
    )


def _check_design(holdout_fraction: Any, observational: Any) -> float | None:
    if not isinstance(observational, bool):
        raise ValidationError(
            f"observational must be True or False, got {observational!r}", field="observational"
        )
    if holdout_fraction is None:
        return None
    if observational:
        raise ValidationError(
            "holdout_fraction is for randomised arms, but observational=True; give one or the "
            "other",
            field="holdout_fraction",
        )
    return check_fraction(holdout_fraction, "holdout_fraction")


def _pow2_scale(*arrays: _F64 | None) -> float:
    """A power of two near the largest magnitude: dividing by it is exact and keeps
    sums of squares inside float64 (values near 1e308 would overflow them)."""
    m = max((float(np.max(np.abs(a))) for a in arrays if a is not None and len(a)), default=0.0)
    if m == 0.0 or not math.isfinite(m):
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1] - 1)


def _too_large(field: str, what: str) -> ValidationError:
    return ValidationError(
        f"{field}: {what} overflows float64 (the values are too large, about 1e308); "
        "express the outcome in larger units (e.g. thousands) and compare again",
        field=field,
    )


@attrs.frozen(eq=False)
class ArmComparison:
    """Treated vs control on one per-customer outcome.

    Attributes
    ----------
    n_treated, n_control : int
    mean_treated, mean_control : float
        Outcome means per arm.
    std_treated, std_control : float
        Outcome standard deviations per arm (``ddof=1``).
    welch : Estimate
        Difference of means with Welch's unequal-variance t interval and test;
        equal to ``scipy.stats.ttest_ind(t, c, equal_var=False)`` and its
        ``confidence_interval(1 - alpha)``.
    cuped : Estimate or None
        The same on the CUPED-adjusted outcome, when covariates were given.
    theta : float
        CUPED coefficient ``cov(y, x) / var(x)`` on both arms pooled (NaN without covariates).
    correlation : float
        Pooled correlation of outcome and covariate (NaN without covariates).
    variance_reduction : float
        ``1 - var(cuped estimate) / var(welch estimate)``, the share of the
        estimator's variance CUPED removed (can be slightly negative when the
        covariate is useless; NaN without covariates).
    bootstrap : Estimate or None
        Percentile bootstrap of the primary estimator (CUPED with theta
        re-estimated in every replicate when covariates were given).
    covariate_mean_treated, covariate_mean_control : float
        Covariate means per arm (NaN without covariates): a balance check.
    sample_ratio : SampleRatio
        The sample-ratio check of the arm sizes against the assigned fraction.

    Examples
    --------
    >>> cmp = compare_arms([3.0, 5.0, 4.0, 6.0], [2.0, 3.0, 4.0, 3.0])
    >>> cmp.n_treated, cmp.mean_treated, cmp.mean_control, cmp.welch.estimate
    (4, 4.5, 3.0, 1.5)
    >>> cmp.cuped is None, cmp.primary is cmp.welch
    (True, True)
    """

    n_treated: int
    n_control: int
    mean_treated: float
    mean_control: float
    std_treated: float
    std_control: float
    welch: Estimate
    cuped: Estimate | None
    theta: float
    correlation: float
    variance_reduction: float
    bootstrap: Estimate | None
    covariate_mean_treated: float
    covariate_mean_control: float
    sample_ratio: SampleRatio = attrs.field(
        default=attrs.Factory(
            lambda self: SampleRatio("not checked", self.n_treated, self.n_control),
            takes_self=True,
        )
    )

    def __attrs_post_init__(self) -> None:
        for name in ("n_treated", "n_control"):
            v: object = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValidationError(
                    f"ArmComparison.{name} must be an int >= 1, got {v!r}", field=name
                )
        for name in ("welch", "cuped", "bootstrap"):
            e: object = getattr(self, name)
            if (e is not None or name == "welch") and not isinstance(e, Estimate):
                raise ValidationError(
                    f"ArmComparison.{name} must be an Estimate"
                    + ("" if name == "welch" else " or None"),
                    field=name,
                )
        if not isinstance(self.sample_ratio, SampleRatio):
            raise ValidationError(
                "ArmComparison.sample_ratio must be a SampleRatio", field="sample_ratio"
            )

    @property
    def srm_p_value(self) -> float:
        """p-value of the sample-ratio check (NaN when not run)."""
        return self.sample_ratio.p_value

    @property
    def primary(self) -> Estimate:
        """The CUPED estimate when available, else Welch."""
        return self.cuped if self.cuped is not None else self.welch


def _welch(yt: _F64, yc: _F64, alpha: float, method: str) -> Estimate:
    const_t = bool(np.ptp(yt) == 0)
    const_c = bool(np.ptp(yc) == 0)
    if const_t and const_c:
        # constant within both arms: the difference is known exactly, no test is possible
        d = float(yt[0] - yc[0])
        return Estimate(d, 0.0, d, d, float("nan"), float("nan"), 1.0 - alpha, method)
    vt = 0.0 if const_t else float(np.var(yt, ddof=1))
    vc = 0.0 if const_c else float(np.var(yc, ddof=1))
    with warnings.catch_warnings():
        if const_t or const_c:
            # scipy warns of "catastrophic cancellation" for an arm whose values are all
            # equal; here they are exactly equal, so its variance is truly 0
            warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        res = scipy.stats.ttest_ind(yt, yc, equal_var=False)
    ci = res.confidence_interval(confidence_level=1.0 - alpha)
    return Estimate(
        estimate=float(np.mean(yt) - np.mean(yc)),
        std_error=math.sqrt(vt / len(yt) + vc / len(yc)),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        df=float(res.df),
        confidence=1.0 - alpha,
        method=method,
    )


def _real(values: Any, name: str) -> _F64:
    """A 1-D float64 array; complex input is refused (not silently cut to its real part)."""
    if np.asarray(values).dtype.kind == "c":
        raise ValidationError(
            f"{name} holds complex numbers; pass real values (one per customer)", field=name
        )
    return as_float(values, name)


def _compare_arms_iv(
    outcome_treated: Any,
    outcome_control: Any,
    covariate_treated: Any,
    covariate_control: Any,
    alpha: float,
    bootstrap: int,
) -> tuple[_F64, _F64, _F64 | None, _F64 | None]:
    yt = _real(outcome_treated, "outcome_treated")
    yc = _real(outcome_control, "outcome_control")
    for name, a in (("outcome_treated", yt), ("outcome_control", yc)):
        if len(a) == 0:
            raise EmptyInputError(f"{name} is empty; each arm needs customers", field=name)
        if len(a) < 2:
            raise ValidationError(
                f"{name} has 1 customer; each arm needs at least 2 for a variance", field=name
            )
        if not bool(np.all(np.isfinite(a))):
            raise ValidationError(
                f"{name} holds {int((~np.isfinite(a)).sum())} NaN or infinite value(s); "
                "give every customer a finite outcome (0 for no purchase)",
                field=name,
            )
    if (covariate_treated is None) != (covariate_control is None):
        raise ValidationError(
            "covariate_treated and covariate_control must be given together (or neither)",
            field="covariate_treated" if covariate_treated is None else "covariate_control",
        )
    xt = xc = None
    if covariate_treated is not None:
        xt = _real(covariate_treated, "covariate_treated")
        xc = _real(covariate_control, "covariate_control")
        for name, x, y in (("covariate_treated", xt, yt), ("covariate_control", xc, yc)):
            if len(x) != len(y):
                raise ValidationError(
                    f"{name} has {len(x)} values for {len(y)} outcomes; align them per customer",
                    field=name,
                )
            if not bool(np.all(np.isfinite(x))):
                raise ValidationError(
                    f"{name} holds NaN or infinite values; use 0 for no pre-period activity",
                    field=name,
                )
    _check_alpha(alpha)
    _check_bootstrap(bootstrap)
    return yt, yc, xt, xc


def _check_alpha(alpha: Any) -> None:
    if not (isinstance(alpha, (float, int)) and 0.0 < float(alpha) < 1.0):
        raise ValidationError(f"alpha must lie in (0, 1), got {alpha!r}", field="alpha")


#: The most bootstrap replicates a call may ask for (as ``replay_campaign``'s ``n_boot``).
MAX_BOOTSTRAP = 1_000_000


def _check_bootstrap(bootstrap: Any) -> None:
    if (
        isinstance(bootstrap, bool)
        or not isinstance(bootstrap, (int, np.integer))
        or not (bootstrap == 0 or 10 <= bootstrap <= MAX_BOOTSTRAP)
    ):
        raise ValidationError(
            f"bootstrap must be 0 (off) or a number of replicates from 10 to "
            f"{MAX_BOOTSTRAP:,}, got {bootstrap!r}",
            field="bootstrap",
        )


def _pooled_theta(yt: _F64, yc: _F64, xt: _F64, xc: _F64) -> tuple[float, float, float]:
    """CUPED theta, pooled correlation and pooled covariate mean."""
    y = np.concatenate([yt, yc])
    x = np.concatenate([xt, xc])
    mx = float(x.mean())
    dx = x - mx
    dy = y - y.mean()
    sxx = float(dx @ dx)
    syy = float(dy @ dy)
    sxy = float(dx @ dy)
    theta = sxy / sxx if sxx > 0 else 0.0
    corr = sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")
    return theta, corr, mx


def compare_arms(
    outcome_treated: Any,
    outcome_control: Any,
    *,
    covariate_treated: Any = None,
    covariate_control: Any = None,
    alpha: float = 0.05,
    bootstrap: int = 0,
    random_state: RandomState = None,
    holdout_fraction: float | None = None,
    observational: bool = False,
    progress: ProgressCallback | None = None,
) -> ArmComparison:
    """Compare a per-customer outcome between a treated and a control arm.

    Parameters
    ----------
    outcome_treated, outcome_control : array-like of float
        One value per customer (0 for customers who did nothing).
    covariate_treated, covariate_control : array-like of float, optional
        A pre-period value per customer (e.g. spend before the campaign) for
        CUPED. It must not be affected by the treatment.
    alpha : float
        1 - confidence level of the intervals.
    bootstrap : int
        Number of bootstrap replicates (0: none; otherwise at least 10).
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.
    holdout_fraction : float, optional
        The share of customers assigned to control when the arms were drawn
        (``Holdout.fraction``); the arm sizes are then tested against it
        (:class:`SampleRatio`). None: the check is not run, and says so.
    observational : bool
        True when the arms were not randomised (e.g. a matched control): the
        sample-ratio check does not apply.
    progress : callable, optional
        ``progress(done, total)``, called after each block of bootstrap
        replicates (``total = bootstrap``); not called without a bootstrap.

    Returns
    -------
    ArmComparison

    Raises
    ------
    EmptyInputError
        An empty arm.
    ValidationError
        An arm with one customer, non-finite values, misaligned covariates,
        a bad ``alpha``, ``bootstrap`` or ``holdout_fraction``, or values so
        large (near 1e308) that the difference or its standard error cannot be
        represented in float64. (An outcome constant within both arms gives a
        zero-width interval and a NaN p-value.)

    Notes
    -----
    *Welch*: ``d = mean_t - mean_c``, ``se = sqrt(s_t^2/n_t + s_c^2/n_c)``,
    Welch-Satterthwaite degrees of freedom, computed by
    :func:`scipy.stats.ttest_ind` with ``equal_var=False`` (Welch 1947).

    *CUPED* (Deng, Xu, Kohavi & Walker 2013): ``y' = y - theta (x - mean(x))``
    with ``theta = cov(y, x) / var(x)`` on both arms pooled; since ``x`` is
    measured before treatment, ``E[mean_t(x) - mean_c(x)] = 0`` under
    randomisation and the adjusted difference is unbiased, with variance
    reduced by about ``corr(y, x)^2``.

    *Bootstrap*: arms resampled independently with replacement (Efron &
    Tibshirani 1993), the primary estimator recomputed (theta included), and the
    ``alpha/2`` and ``1 - alpha/2`` percentiles taken.

    *Sample ratio*: Pearson's chi-square test of ``(n_t, n_c)`` against
    ``n (1 - f, f)``, flagged below :data:`SRM_THRESHOLD` (0.001).

    Everything is computed on the values divided by a power of two near their
    largest magnitude (exact), so values up to the float64 limit give the same
    figures as moderate ones; a result that itself overflows raises.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pre = rng.gamma(2.0, 50.0, 2000)
    >>> post = 0.8 * pre + rng.normal(0, 20, 2000)
    >>> post[:1000] += 5.0                     # first half treated, true lift 5
    >>> cmp = compare_arms(post[:1000], post[1000:],
    ...                    covariate_treated=pre[:1000], covariate_control=pre[1000:])
    >>> cmp.cuped.ci_low < 5.0 < cmp.cuped.ci_high
    True
    >>> cmp.variance_reduction > 0.8
    True
    """
    yt, yc, xt, xc = _compare_arms_iv(
        outcome_treated, outcome_control, covariate_treated, covariate_control, alpha, bootstrap
    )
    f = _check_design(holdout_fraction, observational)
    report = check_progress(progress)
    srm = sample_ratio(len(yt), len(yc), holdout_fraction=f, observational=observational)
    sy = _pow2_scale(yt, yc)
    sx = _pow2_scale(xt, xc)
    yt, yc = yt / sy, yc / sy
    if xt is not None and xc is not None:
        xt, xc = xt / sx, xc / sx
    out = _compare_scaled(yt, yc, xt, xc, alpha, bootstrap, random_state, srm, report)
    return _unscale(out, sy, sx)


def _unscale(c: ArmComparison, sy: float, sx: float) -> ArmComparison:
    """Map a comparison of ``y / sy`` and ``x / sx`` back to the original units."""
    if sy == 1.0 and sx == 1.0:
        return c
    with np.errstate(over="ignore"):
        out = attrs.evolve(
            c,
            mean_treated=c.mean_treated * sy,
            mean_control=c.mean_control * sy,
            std_treated=c.std_treated * sy,
            std_control=c.std_control * sy,
            welch=c.welch.affine(sy),
            cuped=None if c.cuped is None else c.cuped.affine(sy),
            theta=c.theta * (sy / sx),
            bootstrap=None if c.bootstrap is None else c.bootstrap.affine(sy),
            covariate_mean_treated=c.covariate_mean_treated * sx,
            covariate_mean_control=c.covariate_mean_control * sx,
        )
    for e in (out.welch, out.cuped, out.bootstrap):
        if e is not None and not all(
            math.isfinite(v) for v in (e.estimate, e.std_error, e.ci_low, e.ci_high)
        ):
            field = (
                "outcome_treated"
                if abs(out.mean_treated) >= abs(out.mean_control)
                else ("outcome_control")
            )
            raise _too_large(field, f"the {e.method} difference or its standard error")
    if not all(math.isfinite(v) for v in (out.std_treated, out.std_control)):
        field = "outcome_treated" if not math.isfinite(out.std_treated) else "outcome_control"
        raise _too_large(field, "the standard deviation")
    if out.cuped is not None and not math.isfinite(out.theta):
        raise _too_large("covariate_treated", "the CUPED coefficient theta")
    return out


def _compare_scaled(
    yt: _F64,
    yc: _F64,
    xt: _F64 | None,
    xc: _F64 | None,
    alpha: float,
    bootstrap: int,
    random_state: RandomState,
    srm: SampleRatio,
    progress: ProgressCallback | None = None,
) -> ArmComparison:
    welch = _welch(yt, yc, alpha, "welch")
    cuped = None
    theta = corr = var_red = float("nan")
    cmt = cmc = float("nan")
    if xt is not None and xc is not None:
        theta, corr, mx = _pooled_theta(yt, yc, xt, xc)
        cuped = _welch(yt - theta * (xt - mx), yc - theta * (xc - mx), alpha, "cuped-welch")
        # an outcome constant within both arms has no variance to reduce
        var_red = (
            1.0 - (cuped.std_error / welch.std_error) ** 2 if welch.std_error > 0 else float("nan")
        )
        cmt, cmc = float(xt.mean()), float(xc.mean())
    boot = None
    if bootstrap:
        boot = _bootstrap(
            yt, yc, xt, xc, alpha, int(bootstrap), check_random_state(random_state), progress
        )
    return ArmComparison(
        n_treated=len(yt),
        n_control=len(yc),
        mean_treated=float(yt.mean()),
        mean_control=float(yc.mean()),
        std_treated=float(np.std(yt, ddof=1)),
        std_control=float(np.std(yc, ddof=1)),
        welch=welch,
        cuped=cuped,
        theta=theta,
        correlation=corr,
        variance_reduction=var_red,
        bootstrap=boot,
        covariate_mean_treated=cmt,
        covariate_mean_control=cmc,
        sample_ratio=srm,
    )


def _resample_sums(
    y: _F64, x: _F64 | None, idx: npt.NDArray[np.intp]
) -> tuple[_F64, _F64, _F64, _F64]:
    """Per replicate (row of ``idx``): sums of y, x, x*x and x*y over the drawn customers."""
    yb = y[idx]
    sy = yb.sum(axis=1)
    if x is None:
        z = np.zeros(len(idx))
        return sy, z, z, z
    xb = x[idx]
    return sy, xb.sum(axis=1), (xb * xb).sum(axis=1), (xb * yb).sum(axis=1)


def _bootstrap(
    yt: _F64,
    yc: _F64,
    xt: _F64 | None,
    xc: _F64 | None,
    alpha: float,
    n_boot: int,
    rng: np.random.Generator,
    progress: ProgressCallback | None = None,
) -> Estimate:
    nt, nc = len(yt), len(yc)
    block = max(1, _BOOTSTRAP_BLOCK_ELEMENTS // max(nt, nc))
    reps = np.empty(n_boot)
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        it = rng.integers(0, nt, size=(b, nt))
        ic = rng.integers(0, nc, size=(b, nc))
        syt, sxt, sxxt, sxyt = _resample_sums(yt, xt, it)
        syc, sxc, sxxc, sxyc = _resample_sums(yc, xc, ic)
        d = syt / nt - syc / nc
        if xt is not None:
            n = nt + nc
            sx, sy = sxt + sxc, syt + syc
            sxx = sxxt + sxxc - sx * sx / n
            sxy = sxyt + sxyc - sx * sy / n
            theta = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
            d = d - theta * (sxt / nt - sxc / nc)
        reps[done : done + b] = d
        done += b
        if progress is not None:
            progress(done, n_boot)
    est = _primary_point(yt, yc, xt, xc)
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Estimate(
        estimate=est,
        std_error=float(np.std(reps, ddof=1)),
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=float("nan"),
        df=float("inf"),
        confidence=1.0 - alpha,
        method="bootstrap-percentile",
    )


def _primary_point(yt: _F64, yc: _F64, xt: _F64 | None, xc: _F64 | None) -> float:
    d = float(yt.mean() - yc.mean())
    if xt is None or xc is None:
        return d
    theta, _, _ = _pooled_theta(yt, yc, xt, xc)
    return d - theta * float(xt.mean() - xc.mean())


def _delta_ratio(num: _F64, den: _F64) -> tuple[float, float]:
    """Ratio of means and its delta-method variance."""
    n = len(num)
    mn, md = float(num.mean()), float(den.mean())
    if md * md == 0.0:
        return float("nan"), float("nan")
    r = mn / md
    vn = float(np.var(num, ddof=1))
    vd = float(np.var(den, ddof=1))
    cov = float(np.cov(num, den, ddof=1)[0, 1])
    var = (vn - 2.0 * r * cov + r * r * vd) / (n * md * md)
    return r, max(var, 0.0)


def _ratio_difference_iv(
    numerator_treated: Any,
    denominator_treated: Any,
    numerator_control: Any,
    denominator_control: Any,
    alpha: Any,
) -> tuple[_F64, _F64, _F64, _F64]:
    _check_alpha(alpha)
    arrays = []
    for name, v in (
        ("numerator_treated", numerator_treated),
        ("denominator_treated", denominator_treated),
        ("numerator_control", numerator_control),
        ("denominator_control", denominator_control),
    ):
        a = _real(v, name)
        if len(a) < 2:
            raise ValidationError(f"{name} needs at least 2 customers", field=name)
        if not bool(np.all(np.isfinite(a))):
            raise ValidationError(
                f"{name} holds {int((~np.isfinite(a)).sum())} NaN or infinite value(s); give "
                "every customer a finite value (0 for none)",
                field=name,
            )
        arrays.append(a)
    nt, dt, nc, dc = arrays
    if len(nt) != len(dt) or len(nc) != len(dc):
        raise ValidationError(
            "numerator and denominator must have one value per customer in each arm",
            field="denominator_treated" if len(nt) != len(dt) else "denominator_control",
        )
    return nt, dt, nc, dc


def ratio_difference(
    numerator_treated: Any,
    denominator_treated: Any,
    numerator_control: Any,
    denominator_control: Any,
    *,
    alpha: float = 0.05,
) -> Estimate:
    """Difference of two ratio metrics (e.g. spend per visit) by the delta method.

    Each arm's ratio is ``sum(numerator) / sum(denominator)`` over its
    customers (the customer is the randomisation unit, not the visit).

    Parameters
    ----------
    numerator_treated, denominator_treated, numerator_control, denominator_control : array-like
        Per-customer values, aligned within each arm.
    alpha : float
        1 - confidence level.

    Returns
    -------
    Estimate
        ``R_t - R_c`` with a normal interval; all NaN when an arm's
        denominators sum to zero.

    Raises
    ------
    ValidationError
        Fewer than 2 customers, NaN or infinite values, misaligned arrays, a bad
        ``alpha``, or ratios whose difference overflows float64.

    Notes
    -----
    With ``R = mean(n) / mean(d)``, the first-order Taylor expansion gives
    ``Var(R) ~ (s_n^2 - 2 R s_nd + R^2 s_d^2) / (N mean(d)^2)`` (Deng, Knoblich
    & Lu 2018, "Applying the delta method in metric analytics").

    Examples
    --------
    >>> e = ratio_difference([10.0, 20.0, 30.0], [1, 2, 2], [10.0, 10.0, 20.0], [1, 1, 2])
    >>> round(e.estimate, 6)   # 60/5 - 40/4
    2.0
    """
    nt, dt, nc, dc = _ratio_difference_iv(
        numerator_treated, denominator_treated, numerator_control, denominator_control, alpha
    )
    # exact power-of-two rescaling of each array keeps the variances inside float64 for
    # huge or tiny values; each arm's ratio is then mapped back to the original units
    parts = []
    for n_, d_ in ((nt, dt), (nc, dc)):
        sn, sd = _pow2_scale(n_), _pow2_scale(d_)
        r, v = _delta_ratio(n_ / sn, d_ / sd)
        unit = sn / sd
        parts.append((r * unit, math.sqrt(v) * unit))
    (rt, set_), (rc, sec) = parts
    est = rt - rc
    se = math.hypot(set_, sec)
    if math.isinf(est) or math.isinf(se):
        raise _too_large("numerator_treated", "the difference of the ratios or its standard error")
    z = float(scipy.stats.norm.ppf(1.0 - alpha / 2.0))
    p = float(2.0 * scipy.stats.norm.sf(abs(est) / se)) if se > 0 else float("nan")
    return Estimate(
        estimate=est,
        std_error=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        p_value=p,
        df=float("inf"),
        confidence=1.0 - alpha,
        method="delta",
    )
