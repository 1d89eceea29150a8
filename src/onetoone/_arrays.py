"""Small array helpers shared by every stage: read-only conversion and checks."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone.errors import EmptyInputError, LengthMismatchError, ValidationError

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
DT = npt.NDArray[np.datetime64]

TimeLike = str | _dt.datetime | _dt.date | np.datetime64


def readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return ``a`` flagged read-only (a view if ``a`` is writeable)."""
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def as_1d(values: Any, name: str) -> npt.NDArray[Any]:
    """Convert ``values`` to a 1-D numpy array or raise naming ``name``."""
    if values is None or isinstance(values, (str, bytes, dict)):
        raise ValidationError(
            f"{name} must be an array or list (one value per row), got "
            f"{type(values).__name__}"
            + (f" {values!r:.40}" if isinstance(values, str) else "")
            + "; pass a flat column",
            field=name,
        )
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValidationError(
            f"{name} must be one-dimensional, got shape {a.shape}; pass a flat column",
            field=name,
        )
    return a


def as_id_column(values: Any, name: str) -> npt.NDArray[Any]:
    """A 1-D array of ids that keeps a list's element types (see ``IdIndex``).

    ``numpy.asarray([1, "1"])`` gives two equal strings and
    ``numpy.asarray([2**64 - 1, -1])`` two floats; a list or tuple is therefore
    kept as an object array, classified later by the id normaliser.
    """
    if isinstance(values, (list, tuple)):
        obj = np.empty(len(values), dtype=object)
        try:
            obj[:] = values
        except (ValueError, TypeError):
            obj = np.asarray(values, dtype=object)
        return as_1d(obj, name)
    return as_1d(values, name)


def as_float(values: Any, name: str) -> npt.NDArray[np.float64]:
    """Convert to float64, raising a named error for non-numeric input."""
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


def check_lengths(n: int, **columns: npt.NDArray[Any] | None) -> None:
    """Raise :class:`LengthMismatchError` if a given column's length is not ``n``."""
    for name, col in columns.items():
        if col is not None and len(col) != n:
            raise LengthMismatchError(
                f"{name} has {len(col)} rows but customer has {n}; "
                "all columns must be aligned row by row",
                field=name,
            )


def check_nonempty(n: int, name: str) -> None:
    if n == 0:
        raise EmptyInputError(f"{name} is empty; pass at least one row", field=name)


def to_datetime64(value: TimeLike, name: str) -> np.datetime64:
    """Parse a scalar time (ISO string, datetime, date, numpy datetime64) to seconds.

    Bare numbers (``int``, ``float``, ``bool``, numpy numbers) are refused:
    ``20240501`` is not 1 May 2024 but 233 days after the Unix epoch, and
    silently reading it so would select the wrong window. A pandas
    ``Timestamp`` is a ``datetime`` and is accepted.

    Raises
    ------
    ValidationError
        ``value`` is a number, does not parse, or is NaT; the message names
        ``name`` and says what to pass instead.
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


_TIME_MIN = np.datetime64("0001-01-01T00:00:00", "s")
_TIME_MAX = np.datetime64("9999-12-31T23:59:59", "s")


SECONDS_PER_DAY = 86400.0
