"""Shared input handling for campaign measurement: arms, windows, redemptions."""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import SECONDS_PER_DAY, TimeLike, as_1d, as_id_column, readonly, to_datetime64
from onetoone._deprecation import policy_value, warn_deprecated
from onetoone.data import IdIndex, Transactions
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.measurement._holdout import Holdout
from onetoone.measurement._stats import _check_design, check_fraction

__all__ = ["Redemptions"]

#: The :data:`~onetoone.data.UnknownPolicy` values measurement accepts for arm
#: customers absent from the log: ``"raise"`` or ``"keep"`` (a customer who bought
#: nothing). ``"drop"`` is refused: it would bias the lift.
MeasureUnknownPolicy = Literal["raise", "keep"]
PrePeriod = tuple[TimeLike, TimeLike] | int | None
_F64 = npt.NDArray[np.float64]
_I32 = npt.NDArray[np.int32]


def _ids_column(inst: Any, attribute: Any, value: npt.NDArray[Any]) -> None:
    if value.ndim != 1 or value.dtype.kind not in "iuU":
        raise ValidationError(
            f"Redemptions.{attribute.name} must be a 1-D array of int or str ids, got "
            f"{value.dtype} with shape {value.shape}; build it with Redemptions.from_arrays",
            field=attribute.name,
        )


def _timestamps(inst: Any, attribute: Any, value: npt.NDArray[Any]) -> None:
    if value.ndim != 1 or value.dtype != np.dtype("datetime64[s]"):
        raise ValidationError(
            f"Redemptions.timestamp must be a 1-D datetime64[s] array, got {value.dtype}; "
            "build it with Redemptions.from_arrays",
            field="timestamp",
        )


def _offer_ids(value: Any) -> npt.NDArray[np.str_] | None:
    return None if value is None else readonly(np.asarray(value))


@attrs.frozen(eq=False)
class Redemptions:
    """Offer redemptions: who redeemed, when, and (optionally) which offer.

    Build it with :meth:`from_arrays`, whose keywords name the columns
    (``customer=``, ``timestamp=``, ``offer=``).

    Attributes
    ----------
    customer_ids : array of int64, uint64 or str
        External customer id of each redemption.
    timestamp : datetime64[s] array
    offer_ids : array of str or None
        Offer (coupon) label of each redemption, for rates by offer.

    Examples
    --------
    >>> r = Redemptions.from_arrays(customer=[1, 2, 2], timestamp=["2024-03-01"] * 3,
    ...                             offer=["A", "A", "B"])
    >>> len(r), r.customer_ids.tolist(), r.offer_ids.tolist()
    (3, [1, 2, 2], ['A', 'A', 'B'])
    """

    customer_ids: npt.NDArray[Any] = attrs.field(converter=readonly, validator=_ids_column)
    timestamp: npt.NDArray[np.datetime64] = attrs.field(converter=readonly, validator=_timestamps)
    offer_ids: npt.NDArray[np.str_] | None = attrs.field(default=None, converter=_offer_ids)

    def __attrs_post_init__(self) -> None:
        n = len(self.customer_ids)
        if len(self.timestamp) != n:
            raise ValidationError(
                f"timestamp has {len(self.timestamp)} rows for {n} redemptions",
                field="timestamp",
            )
        if self.offer_ids is not None:
            if self.offer_ids.ndim != 1 or self.offer_ids.dtype.kind != "U":
                raise ValidationError(
                    f"offer_ids must be a 1-D array of str labels, got {self.offer_ids.dtype}",
                    field="offer_ids",
                )
            if len(self.offer_ids) != n:
                raise ValidationError(
                    f"offer_ids has {len(self.offer_ids)} rows for {n} redemptions",
                    field="offer_ids",
                )

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def customer(self) -> npt.NDArray[Any]:
        """Deprecated: the external ids are :attr:`customer_ids`."""
        warn_deprecated("Redemptions.customer is renamed: use Redemptions.customer_ids")
        return self.customer_ids

    @property
    def offer(self) -> npt.NDArray[np.str_] | None:
        """Deprecated: the offer labels are :attr:`offer_ids`."""
        warn_deprecated("Redemptions.offer is renamed: use Redemptions.offer_ids")
        return self.offer_ids

    @classmethod
    def from_arrays(cls, *, customer: Any, timestamp: Any, offer: Any = None) -> Redemptions:
        """Build from aligned columns (timestamps as datetime64 or ISO strings).

        Parameters
        ----------
        customer : array-like of int or str
            External customer id of each redemption (stored as :attr:`customer_ids`).
        timestamp : array-like
            ``datetime64`` values or ISO strings.
        offer : array-like, optional
            Offer label of each redemption (stored as str in :attr:`offer_ids`).

        Returns
        -------
        Redemptions

        Raises
        ------
        ValidationError
            Ids of mixed or unsupported types, unparseable or missing times,
            columns of different lengths.

        Examples
        --------
        >>> r = Redemptions.from_arrays(customer=["ann"], timestamp=["2024-03-01 10:00"])
        >>> r.customer_ids.tolist(), str(r.timestamp[0]), r.offer_ids
        (['ann'], '2024-03-01T10:00:00', None)
        """
        cust, codes = IdIndex.factorize(as_id_column(customer, "customer"), name="customer")
        ts_raw = as_1d(timestamp, "timestamp")
        try:
            ts = ts_raw.astype("datetime64[s]")
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                "timestamp must be datetime64 values or ISO strings", field="timestamp"
            ) from exc
        if bool(np.isnat(ts).any()):
            raise ValidationError(
                f"timestamp holds {int(np.isnat(ts).sum())} missing time(s)", field="timestamp"
            )
        off = None if offer is None else as_1d(offer, "offer").astype(str)
        for name, col in (("timestamp", ts), ("offer", off)):
            if col is not None and len(col) != len(codes):
                raise ValidationError(
                    f"{name} has {len(col)} rows for {len(codes)} customer ids; give one "
                    "value per redemption",
                    field=name,
                )
        return cls(customer_ids=cust.values[codes], timestamp=ts, offer_ids=off)


@attrs.frozen(eq=False)
class Arms:
    """Resolved arms: external ids and codes into the log (-1: not in the log)."""

    ids_treated: npt.NDArray[Any]
    ids_control: npt.NDArray[Any]
    codes_treated: _I32
    codes_control: _I32

    @property
    def n_treated(self) -> int:
        return len(self.codes_treated)

    @property
    def n_control(self) -> int:
        return len(self.codes_control)


def _arm_ids(values: Any, name: str) -> npt.NDArray[Any]:
    a = as_1d(values, name)
    if len(a) == 0:
        raise EmptyInputError(f"{name} is empty; each arm needs at least 2 customers", field=name)
    index, _ = IdIndex.factorize_unique(a, name=name, fix="list each customer once")
    if len(index) < 2:
        raise ValidationError(
            f"{name} has 1 customer; each arm needs at least 2 for a variance", field=name
        )
    return index.values


def check_unknown(unknown: object, func: str) -> MeasureUnknownPolicy:
    """The arm customers' unknown-id policy ("zero" is the old "keep"; "drop" refused)."""
    value = policy_value(
        unknown, "unknown", ("raise", "drop", "keep"), renamed={"zero": "keep"}, func=func
    )
    if value == "drop":
        raise ValidationError(
            f"{func}(unknown='drop') is refused: arm customers absent from the log are mostly "
            "customers who bought nothing, and dropping them would keep only shoppers and bias "
            "the lift; pass unknown='keep' (counted with spend 0) or unknown='raise' (the "
            "default: usually an id mismatch to fix)",
            field="unknown",
        )
    return "raise" if value == "raise" else "keep"


def resolve_arms(
    transactions: Transactions, treated: Any, control: Any, unknown: MeasureUnknownPolicy
) -> Arms:
    """Validate the arms (non-empty, distinct, disjoint, in the log) and encode them."""
    t = _arm_ids(treated, "treated")
    c = _arm_ids(control, "control")
    if (t.dtype.kind == "U") != (c.dtype.kind == "U"):
        raise ValidationError(
            "treated and control ids have different types (ints vs strings)", field="control"
        )
    both = np.intersect1d(t, c)
    if len(both):
        raise ValidationError(
            f"treated and control overlap: {len(both)} customer(s) are in both arms, e.g. "
            f"{both[:3].tolist()}; each customer belongs to exactly one arm",
            field="control",
        )
    codes = []
    for name, ids in (("treated", t), ("control", c)):
        code = transactions.customers.encode(ids, unknown="keep", field=name)
        absent = code < 0
        if unknown == "raise" and bool(absent.any()):
            raise UnknownIdError(
                f"{name}: {int(absent.sum())} customer(s) are not in the transaction log, e.g. "
                f"{ids[absent][:3].tolist()}; check the ids (type, spelling), or pass "
                "unknown='keep' to count them as customers who bought nothing",
                field=name,
            )
        codes.append(code)
    return Arms(ids_treated=t, ids_control=c, codes_treated=codes[0], codes_control=codes[1])


def resolve_design(
    treated: Any, control: Any, holdout: Any, holdout_fraction: Any, observational: Any
) -> tuple[Any, Any, float | None]:
    """The arms and the assigned control share from ``holdout=`` or the explicit arguments."""
    fraction = _check_design(holdout_fraction, observational)
    if holdout is None:
        if treated is None or control is None:
            raise ValidationError(
                "give the arms: treated= and control= (customer ids), or holdout= (a Holdout "
                "from assign_holdout)",
                field="treated" if treated is None else "control",
            )
        return treated, control, fraction
    if not isinstance(holdout, Holdout):
        raise ValidationError(
            f"holdout must be a Holdout (from assign_holdout), got {type(holdout).__name__}",
            field="holdout",
        )
    if observational:
        raise ValidationError(
            "holdout= is a randomised split, but observational=True; drop one of them",
            field="observational",
        )
    if fraction is not None:
        raise ValidationError(
            "holdout_fraction is taken from holdout=; pass one of them",
            field="holdout_fraction",
        )
    t = holdout.treated if treated is None else treated
    c = holdout.control if control is None else control
    return t, c, check_fraction(holdout.fraction, "holdout.fraction")


def resolve_window(start: TimeLike, end: TimeLike) -> tuple[np.datetime64, np.datetime64]:
    s = to_datetime64(start, "start")
    e = to_datetime64(end, "end")
    if not e > s:
        raise ValidationError(
            f"end ({e}) must be after start ({s}); the window is start <= t < end",
            field="end",
        )
    return s, e


_DAY = np.timedelta64(86400, "s")
_MAX_PRE_DAYS = 36_525


def _fmt_t(t: np.datetime64) -> str:
    day = t.astype("datetime64[D]")
    return str(day) if day == t else str(t).replace("T", " ")


def check_window_in_log(
    transactions: Transactions,
    start: np.datetime64,
    end: np.datetime64,
    *,
    names: tuple[str, str] = ("start", "end"),
) -> tuple[np.datetime64, np.datetime64]:
    """Raise unless the log has transactions in ``[start, end)``; return the log's period.

    A window entirely before or after the log, or one in which nobody bought
    anything, would measure a lift of exactly 0 and an ROI of -1 from data that
    is simply not there.
    """
    if transactions.n_rows == 0:
        raise ValidationError(
            "transactions has no rows; load the log that covers the campaign",
            field="transactions",
        )
    first, last = (t.astype("datetime64[s]") for t in transactions.period)
    period = f"{_fmt_t(first)} .. {_fmt_t(last)}"
    window = f"{_fmt_t(start)} .. {_fmt_t(end)} (end exclusive)"
    label = "/".join(names)
    if end <= first or start > last:
        where, field = ("before", names[1]) if end <= first else ("after", names[0])
        raise ValidationError(
            f"{label}: the window {window} lies entirely {where} the transaction log, which "
            f"covers {period}; nothing can be measured there (lift 0, ROI -1 would be "
            f"artefacts). Pass {label} inside the log's period, or load the log that covers "
            "the campaign (check the year and the time zone)",
            field=field,
        )
    if not bool(window_mask(transactions, start, end).any()):
        raise ValidationError(
            f"{label}: the window {window} holds no transaction at all, although the log "
            f"covers {period} (a gap in the log?); pass {label} around the days the "
            "campaign ran, or load the missing data",
            field=names[0],
        )
    return first, last


def coverage_gaps(
    start: np.datetime64, end: np.datetime64, log_period: tuple[np.datetime64, np.datetime64]
) -> tuple[bool, bool]:
    """(log starts after the window's first day, log ends before the window's last day)."""
    first, last = log_period
    day = min(_DAY, end - start)
    return bool(first >= start + day), bool(last < end - day)


def coverage_warning(
    what: str,
    start: np.datetime64,
    end: np.datetime64,
    log_period: tuple[np.datetime64, np.datetime64],
) -> str | None:
    """A sentence when the log covers only part of ``[start, end)``, else None."""
    late, early = coverage_gaps(start, end, log_period)
    if not (late or early):
        return None
    first, last = log_period
    parts = []
    if late:
        parts.append(f"starts on {_fmt_t(first)}, after the {what} start {_fmt_t(start)}")
    if early:
        parts.append(f"ends on {_fmt_t(last)}, before the {what} end {_fmt_t(end)}")
    return (
        f"PARTIAL DATA: the transaction log {' and '.join(parts)}; the {what} figures cover "
        "only the days in the log (customers' missing days count as no purchase)"
    )


def resolve_pre_period(
    pre_period: PrePeriod, start: np.datetime64
) -> tuple[np.datetime64, np.datetime64] | None:
    if pre_period is None:
        return None
    if isinstance(pre_period, (int, np.integer)) and not isinstance(pre_period, bool):
        if not 1 <= pre_period <= _MAX_PRE_DAYS:
            raise ValidationError(
                f"pre_period as a number of days must lie in [1, {_MAX_PRE_DAYS:,}] (a "
                f"century), got {pre_period}; pass the days before start, e.g. 90",
                field="pre_period",
            )
        return start - np.timedelta64(int(pre_period) * 86400, "s"), start
    if not isinstance(pre_period, tuple) or len(pre_period) != 2:
        raise ValidationError(
            "pre_period must be None, a number of days before start, or a (start, end) pair",
            field="pre_period",
        )
    ps = to_datetime64(pre_period[0], "pre_period[0]")
    pe = to_datetime64(pre_period[1], "pre_period[1]")
    if not pe > ps:
        raise ValidationError(
            f"pre_period end ({pe}) must be after its start ({ps})", field="pre_period"
        )
    if pe > start:
        raise ValidationError(
            f"pre_period must end on or before the campaign start ({start}), got {pe}; a "
            "covariate measured during the campaign could be affected by it and bias CUPED",
            field="pre_period",
        )
    return ps, pe


def check_cost(cost: Any) -> float:
    if isinstance(cost, bool) or not isinstance(cost, (int, float, np.integer, np.floating)):
        raise ValidationError(f"cost must be a number >= 0, got {cost!r}", field="cost")
    c = float(cost)
    if not np.isfinite(c) or c < 0:
        raise ValidationError(
            f"cost must be a finite number >= 0 (the campaign's total cost), got {cost!r}",
            field="cost",
        )
    return c


def check_margin_rate(margin_rate: Any) -> float | None:
    if margin_rate is None:
        return None
    if (
        isinstance(margin_rate, bool)
        or not isinstance(margin_rate, (int, float, np.floating))
        or not (0.0 < float(margin_rate) <= 1.0)
    ):
        raise ValidationError(
            f"margin_rate must lie in (0, 1] (margin per unit of revenue), got {margin_rate!r}",
            field="margin_rate",
        )
    return float(margin_rate)


def window_mask(
    transactions: Transactions, start: np.datetime64, end: np.datetime64
) -> npt.NDArray[np.bool_]:
    """Rows with ``start <= timestamp < end``."""
    ts = transactions.timestamp.view(np.int64)  # datetime64[s] as int64: faster compares
    lo = int(start.astype("datetime64[s]").astype(np.int64))
    hi = int(end.astype("datetime64[s]").astype(np.int64))
    return np.asarray((ts >= lo) & (ts < hi))


def spend_and_visits(
    transactions: Transactions, start: np.datetime64, end: np.datetime64
) -> tuple[_F64, _F64]:
    """Per customer code: amount paid and number of baskets in ``[start, end)``.

    One boolean mask and two ``np.bincount``; basket codes increase along the
    rows, so a basket starts where the code changes among the kept rows.
    """
    keep = window_mask(transactions, start, end)
    n = transactions.n_customers
    cust = transactions.customer[keep]
    spend = np.bincount(cust, weights=transactions.value[keep], minlength=n)
    b = transactions.basket[keep]
    first = np.ones(len(b), dtype=bool)
    first[1:] = b[1:] != b[:-1]
    visits = np.bincount(cust[first], minlength=n).astype(np.float64)
    return np.asarray(spend, dtype=np.float64), visits


def gather(values: _F64, codes: _I32) -> _F64:
    """``values[codes]`` with 0 for code -1 (a customer not in the log)."""
    out = np.zeros(len(codes))
    ok = codes >= 0
    out[ok] = values[codes[ok]]
    return out


def day_index(
    timestamps: npt.NDArray[np.datetime64], start: np.datetime64
) -> npt.NDArray[np.int64]:
    """Whole days since ``start`` (floor)."""
    secs = timestamps.astype("datetime64[s]").astype(np.int64) - int(
        start.astype("datetime64[s]").astype(np.int64)
    )
    return np.floor_divide(secs, int(SECONDS_PER_DAY)).astype(np.int64)


def redemptions_in_arms(
    redemptions: Redemptions, arms: Arms, start: np.datetime64, end: np.datetime64
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Arm of each redemption (0 treated, 1 control, -1 neither), position in arm, in window."""
    r = redemptions.customer_ids
    arm = np.full(len(r), -1, dtype=np.int8)
    pos = np.full(len(r), -1, dtype=np.int64)
    for k, ids in enumerate((arms.ids_treated, arms.ids_control)):
        if len(r) == 0:
            break
        if (r.dtype.kind == "U") != (ids.dtype.kind == "U"):
            raise ValidationError(
                "redemption customer ids and arm ids have different types (ints vs strings)",
                field="redemptions",
            )
        p = np.searchsorted(ids, r)
        pc = np.minimum(p, len(ids) - 1)
        hit = ids[pc] == r
        arm[hit] = k
        pos[hit] = pc[hit]
    ts = redemptions.timestamp
    inside = (ts >= start) & (ts < end)
    return arm, pos, inside
