"""Argument checks of the bench, written against numpy and the public errors only.

The bench is a client of the library's public API (docs/api.md, "API policy"): it
imports no private module of another package. The few helpers it needs are here;
their messages follow the library's (``onetoone._arrays``, ``onetoone._random``,
the affinity stage's option checks) so a user reads the same words everywhere.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError

#: What ``random_state=`` accepts everywhere (the library's one randomness convention).
RandomState: TypeAlias = int | np.random.Generator | None
#: A scalar time: ISO string, datetime, date or numpy datetime64.
TimeLike: TypeAlias = str | _dt.datetime | _dt.date | np.datetime64

_TIME_MIN = np.datetime64("0001-01-01T00:00:00", "s")
_TIME_MAX = np.datetime64("9999-12-31T23:59:59", "s")


def readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return ``a`` flagged read-only (a view if ``a`` is writeable)."""
    a = np.asarray(a)
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def is_real(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def check_int(v: object, name: str, low: int, high: int | None = None, hint: str = "") -> int:
    """``v`` as an int in ``[low, high]``, or raise naming ``name``."""
    if not (is_int(v) and low <= v and (high is None or v <= high)):  # type: ignore[operator]
        rng = f">= {low:,}" if high is None else f">= {low:,} and <= {high:,}"
        raise ValidationError(f"{name} must be an int {rng}, got {v!r}{hint}", field=name)
    out: int = int(v)  # type: ignore[call-overload]
    return out


def check_real(
    v: object,
    name: str,
    low: float,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    hint: str = "",
) -> float:
    """``v`` as a finite float in ``[low, high]`` (``(low, high]`` if not ``low_inclusive``)."""
    x = float("nan")
    if is_real(v):
        try:
            x = float(v)  # type: ignore[arg-type]
        except OverflowError:
            x = float("nan")
    ok = bool(np.isfinite(x)) and (x >= low if low_inclusive else x > low)
    ok = ok and (high is None or x <= high)
    if not ok:
        what = f"must be a finite number {'>=' if low_inclusive else '>'} {low:g}"
        what += "" if high is None else f" and <= {high:g}"
        raise ValidationError(f"{name} {what}, got {v!r}{hint}", field=name)
    return x


def check_num_threads(num_threads: object) -> int:
    return check_int(num_threads, "num_threads", 0, 1024, hint=" (0: all cores)")


def check_alpha(alpha: object) -> float:
    if not (is_real(alpha) and 0 < float(alpha) < 1):  # type: ignore[arg-type]
        raise ValidationError(
            f"alpha must lie in (0, 1), got {alpha!r}; e.g. 0.05 for 95% intervals",
            field="alpha",
        )
    return float(alpha)  # type: ignore[arg-type]


def check_random_state(random_state: object) -> np.random.Generator:
    """``random_state`` as a :class:`numpy.random.Generator` (None: fresh entropy)."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, bool):
        raise ValidationError("random_state must be an int, not a bool", field="random_state")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValidationError(
                f"random_state must be a non-negative int, got {random_state}",
                field="random_state",
            )
        return np.random.default_rng(int(random_state))
    raise ValidationError(
        "random_state must be an int, a numpy.random.Generator or None, "
        f"got {type(random_state).__name__}",
        field="random_state",
    )


def as_1d(values: Any, name: str) -> npt.NDArray[Any]:
    """``values`` as a 1-D array, or raise naming ``name``."""
    if values is None or isinstance(values, (str, bytes, dict)):
        raise ValidationError(
            f"{name} must be an array or list (one value per row), got "
            f"{type(values).__name__}; pass a flat column",
            field=name,
        )
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValidationError(
            f"{name} must be one-dimensional, got shape {a.shape}; pass a flat column",
            field=name,
        )
    return a


def as_float(values: Any, name: str) -> npt.NDArray[np.float64]:
    """``values`` as a 1-D float64 array, or raise naming ``name``."""
    a = as_1d(values, name)
    if a.dtype.kind == "c":
        raise ValidationError(
            f"{name} must be real numbers, got complex ({a.dtype}); pass the real part",
            field=name,
        )
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"{name} must be numeric, got dtype {a.dtype}; convert the column to numbers",
                field=name,
            ) from exc
    return np.asarray(a, dtype=np.float64)


def check_same_length(
    n: int, first: str, columns: dict[str, npt.NDArray[Any]], *, per: str = "row"
) -> None:
    """Raise :class:`LengthMismatchError` if a column's length is not ``n`` (``first``'s)."""
    for name, col in columns.items():
        if len(col) != n:
            raise LengthMismatchError(
                f"{name} has {len(col)} entries but {first} has {n}; one per {per}",
                field=name,
            )


def check_nonempty(n: int, name: str) -> None:
    if n == 0:
        raise EmptyInputError(f"{name} is empty; pass at least one row", field=name)


def to_datetime64(value: object, name: str) -> np.datetime64:
    """A scalar time (ISO string, datetime, date, numpy datetime64) in seconds.

    Bare numbers are refused (``20240501`` is not 1 May 2024), as everywhere in
    the library; a timezone-aware datetime is converted to UTC.
    """
    if isinstance(value, (bool, int, float, complex, np.number, np.bool_)):
        raise ValidationError(
            f"{name}={value!r} is a bare number, which is not read as a time (it would be "
            f"taken as seconds since 1970); pass an ISO date such as '2024-05-01', a "
            f"datetime.date/datetime or a numpy.datetime64 (for epoch seconds: "
            f"numpy.datetime64({value!r}, 's'))",
            field=name,
        )
    if not isinstance(value, (str, _dt.date, np.datetime64)):
        raise ValidationError(
            f"{name} must be a time, got {type(value).__name__}; pass an ISO date such as "
            "'2024-05-01', a datetime.date/datetime or a numpy.datetime64",
            field=name,
        )
    try:
        if isinstance(value, _dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        out: np.datetime64 = np.datetime64(value, "s")  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{name}={value!r} is not a valid time; pass an ISO date such as '2017-06-01', "
            "a datetime.date/datetime or a numpy.datetime64",
            field=name,
        ) from exc
    if np.isnat(out):
        raise ValidationError(f"{name} is NaT; pass a real time", field=name)
    if not (_TIME_MIN <= out <= _TIME_MAX):
        raise ValidationError(
            f"{name}={value!r} is outside the years 1 to 9999 (numpy wraps such times "
            "silently); pass a real calendar time",
            field=name,
        )
    return out
