"""Scalar and length checks shared by every stage (the library's own infrastructure).

Each raises :class:`~onetoone.errors.ValidationError` (or a subclass) naming the
argument and the fix; stages call them from their ``_<name>_iv`` functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone.errors import LengthMismatchError, ValidationError

__all__ = [
    "check_alpha",
    "check_int",
    "check_num_threads",
    "check_real",
    "check_same_length",
    "is_int",
    "is_real",
]


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
    what: str | None = None,
) -> float:
    """``v`` as a finite float in ``[low, high]`` (``(low, high]`` if not ``low_inclusive``).

    Bools, strings, arrays and non-finite values are refused; ``what`` replaces the
    default "must be a finite number ..." in the message.
    """
    x = float("nan")
    if is_real(v):
        try:
            x = float(v)  # type: ignore[arg-type]
        except OverflowError:
            x = float("nan")
    ok = bool(np.isfinite(x)) and (x >= low if low_inclusive else x > low)
    ok = ok and (high is None or x <= high)
    if not ok:
        if what is None:
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
