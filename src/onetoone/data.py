"""Typed data model: id indexes, the transaction log, a product catalogue.

Every later stage works on dense integer codes; :class:`IdIndex` maps the
retailer's own ids (ints or strings) to codes and back at the edges.
:class:`Transactions` holds a validated, sorted transaction log as read-only
numpy columns, and the :class:`IngestionReport` of what was dropped on the way
in, by reason: nothing is lost silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import (
    SECONDS_PER_DAY,
    TimeLike,
    as_1d,
    as_float,
    as_id_column,
    check_lengths,
    check_nonempty,
    readonly,
    to_datetime64,
)
from onetoone._checks import check_num_threads
from onetoone._deprecation import policy_value
from onetoone._optional import import_optional
from onetoone._progress import ProgressCallback, check_progress
from onetoone.errors import EmptyInputError, FormatError, UnknownIdError, ValidationError

_T = TypeVar("_T")
_log = logging.getLogger("onetoone.data")

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "Catalogue",
    "IdIndex",
    "IngestionReport",
    "Transactions",
    "UnknownPolicy",
    "customer_item_matrix",
]

InvalidPolicy = Literal["raise", "drop"]
#: What a stage does with an id that is not in the index it is looked up in:
#: ``"raise"`` an :class:`~onetoone.errors.UnknownIdError` (the default everywhere),
#: ``"drop"`` the row or pair (counted), or ``"keep"`` it with the stage's neutral
#: meaning (code -1, cold-start scores, a customer who bought nothing).
UnknownPolicy = Literal["raise", "drop", "keep"]
ReturnsPolicy = Literal["raise", "drop", "keep"]
ZeroQuantityPolicy = Literal["drop", "raise", "keep"]
#: The :data:`UnknownPolicy` values ingestion accepts: a row needs a code, so no "keep".
IngestUnknownPolicy = Literal["raise", "drop"]
Weight = Literal["quantity", "value", "lines", "baskets"]


# --------------------------------------------------------------------------- ids
_I64_MIN, _I64_MAX, _U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_FLOAT_EXACT = 2.0**53  # every integer up to here is an exact double, beyond it not all are
_ID_FIX = "ids must be all ints (int64 or uint64) or all strings"


def _ints_to_array(ints: list[int], name: str) -> npt.NDArray[Any]:
    """Python ints -> int64 if they all fit, else uint64 if they all fit, else refuse."""
    if not ints:
        return np.zeros(0, dtype=np.int64)
    lo, hi = min(ints), max(ints)
    if lo >= _I64_MIN and hi <= _I64_MAX:
        return np.array(ints, dtype=np.int64)
    if lo >= 0 and hi <= _U64_MAX:
        return np.array(ints, dtype=np.uint64)
    if lo < 0 and hi > _I64_MAX:
        raise ValidationError(
            f"{name} mixes negative ids ({lo}) and ids above 2**63-1 ({hi}), which no 64-bit "
            f"integer type holds together; pass the ids as strings",
            field=name,
        )
    bad = lo if lo < _I64_MIN else hi
    raise ValidationError(
        f"{name} holds the id {bad}, outside the 64-bit range -2**63 .. 2**64-1; "
        "pass the ids as strings",
        field=name,
    )


def _floats_to_ints(a: npt.NDArray[np.floating[Any]], name: str) -> npt.NDArray[np.int64]:
    """Integral floats of magnitude <= 2**53 -> int64 (exact); anything else is refused."""
    a = a.astype(np.float64, copy=False)
    if not bool(np.all(np.isfinite(a))):
        raise ValidationError(
            f"{name} holds NaN or infinite floats; ids must be ints or strings (drop or fill "
            "missing ids first, or use a nullable integer column such as pandas 'Int64')",
            field=name,
        )
    if not bool(np.all(a == np.round(a))):
        raise ValidationError(
            f"{name} holds non-integer floats (e.g. {a[a != np.round(a)][0]!r}); "
            "ids must be ints or strings",
            field=name,
        )
    if len(a) and float(np.abs(a).max()) > _FLOAT_EXACT:
        raise ValidationError(
            f"{name} holds float ids beyond 2**53 (e.g. {float(np.abs(a).max())!r}), which a "
            "float cannot store exactly, so distinct ids may have merged; read the column as "
            "integers (pandas 'Int64'/'UInt64', Arrow int64/uint64) or strings",
            field=name,
        )
    return a.astype(np.int64)


def _objects_to_ids(a: npt.NDArray[Any], name: str) -> npt.NDArray[Any]:
    """Classify a 1-D object array of ids: all str, or all int-valued numbers."""
    # numpy scalars (np.int64, np.str_, ...) become Python ints, floats and strs
    values = [v.item() if isinstance(v, np.generic) else v for v in a.tolist()]
    kinds = {type(v) for v in values}
    if kinds <= {str}:
        return np.array(values, dtype=str) if values else np.zeros(0, dtype="U1")
    if kinds <= {int, float}:
        if float in kinds:
            f = np.array([v for v in values if isinstance(v, float)], dtype=np.float64)
            _floats_to_ints(f, name)  # refuses NaN, non-integral and inexact floats
            values = [int(v) for v in values]
        return _ints_to_array(values, name)
    names = ", ".join(sorted(k.__name__ for k in kinds))
    if len(kinds) > 1:
        raise ValidationError(
            f"{name} mixes id types ({names}); {_ID_FIX}: convert the column to one type "
            "(e.g. all strings) so that 1 and '1' are not silently merged",
            field=name,
        )
    raise ValidationError(f"{name} holds {names} values; {_ID_FIX}", field=name)


def _normalise_ids(values: Any, name: str) -> npt.NDArray[Any]:
    """External ids as a 1-D int64, uint64 or str array, exactly as given.

    Integers keep their value exactly: int64 stays int64, uint64 stays uint64
    (card numbers up to 2**64-1), smaller integer types widen to int64.
    Refused with a :class:`~onetoone.errors.ValidationError` naming ``name``:
    booleans, bytes, NaN/inf, non-integral floats, floats beyond 2**53 (not
    exact), Python ints outside the 64-bit range, negatives mixed with ids
    above 2**63-1, and mixed types (``[1, "1"]``).
    """
    if isinstance(values, (list, tuple)):
        # np.asarray would turn [1, "1"] into two equal strings and [2**64-1, -1] into floats
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        return _objects_to_ids(as_id_column(values, name), name)
    a = as_1d(values, name)
    kind = a.dtype.kind
    if kind == "i":
        return a.astype(np.int64, copy=False)
    if kind == "u":
        return a if a.dtype.itemsize == 8 else a.astype(np.int64)
    if kind == "U":
        return a
    if kind == "f":
        return _floats_to_ints(a, name)
    if kind == "O":
        if len(a) == 0:
            return a.astype("U1")
        return _objects_to_ids(a, name)
    what = {"b": "booleans", "S": "bytes (decode them to str)"}.get(kind, f"dtype {a.dtype}")
    raise ValidationError(f"{name} must hold ints or strings, got {what}; {_ID_FIX}", field=name)


def _readonly_ids(values: Any) -> npt.NDArray[Any]:
    a = np.asarray(values)
    if a.dtype.kind == "i" or (a.dtype.kind == "u" and a.dtype.itemsize < 8):
        a = a.astype(np.int64, copy=False)
    return readonly(a)


@attrs.frozen(eq=False)
class IdIndex:
    """A bijection between external ids and dense codes ``0 .. len-1``.

    Codes follow the sorted order of the ids, so two indexes built from the same
    set of ids agree, whatever order the ids came in.
    String ids are stored as numpy unicode, which cannot represent trailing NUL
    characters (``"a\\x00"`` reads back as ``"a"``); strip them beforehand.

    Parameters
    ----------
    values : array of int64, uint64 or str
        The unique external ids, sorted; ``values[code]`` is the id of ``code``.
        Integer ids keep their type: uint64 ids (up to ``2**64 - 1``, e.g. card
        numbers) stay uint64, other integers are held as int64.
        Use :meth:`from_values` or :meth:`factorize` rather than building it by hand.

    Examples
    --------
    >>> idx = IdIndex.from_values(["b", "a", "c", "a"])
    >>> idx.encode(["c", "a"]).tolist()
    [2, 0]
    >>> idx.decode([0, 2]).tolist()
    ['a', 'c']
    """

    values: npt.NDArray[Any] = attrs.field(converter=_readonly_ids)

    def __attrs_post_init__(self) -> None:
        v = self.values
        if v.ndim != 1:
            raise ValidationError("IdIndex values must be one-dimensional", field="values")
        if v.dtype.kind not in "iuU":
            raise ValidationError(
                f"IdIndex values must be int64, uint64 or str, got {v.dtype}", field="values"
            )
        if len(v) > 1 and not bool(np.all(v[1:] > v[:-1])):
            raise ValidationError(
                "IdIndex values must be sorted and unique; use IdIndex.from_values", field="values"
            )
        if len(v) >= np.iinfo(np.int32).max:
            raise ValidationError("IdIndex holds at most 2**31 - 2 ids", field="values")

    @classmethod
    def from_values(cls, ids: Any, *, name: str = "ids") -> IdIndex:
        """Build the index of the distinct ids in ``ids``.

        Examples
        --------
        >>> IdIndex.from_values([30, 10, 30]).to_list()
        [10, 30]
        """
        return cls(np.unique(_normalise_ids(ids, name)))

    @classmethod
    def factorize(cls, ids: Any, *, name: str = "ids") -> tuple[IdIndex, npt.NDArray[np.int32]]:
        """Build the index of ``ids`` and return it with the code of each element.

        Examples
        --------
        >>> idx, codes = IdIndex.factorize(["b", "a", "b"])
        >>> idx.to_list(), codes.tolist()
        (['a', 'b'], [1, 0, 1])
        """
        a = _normalise_ids(ids, name)
        if a.dtype.kind in "iu" and len(a):
            lo, hi = int(a.min()), int(a.max())
            span = hi - lo + 1
            if span <= 4 * len(a) + (1 << 20):  # dense ids: a lookup table, no sort
                base = a.dtype.type(lo)
                offset = (a - base).astype(np.intp, copy=False)  # exact: 0 <= a - lo < span
                present = np.zeros(span, dtype=bool)
                present[offset] = True
                code_of = np.cumsum(present, dtype=np.int32)  # < 2**31: span is bounded
                code_of -= 1
                uniq_dense = np.flatnonzero(present).astype(a.dtype) + base
                return cls(uniq_dense), code_of[offset]
        hashed = _hash_factorize(a)
        if hashed is not None:
            return cls(hashed[0]), hashed[1]
        uniq, inverse = np.unique(a, return_inverse=True)
        return cls(uniq), inverse.astype(np.int32).reshape(-1)

    @classmethod
    def factorize_unique(
        cls, ids: Any, *, name: str, fix: str, what: str = "id"
    ) -> tuple[IdIndex, npt.NDArray[np.int32]]:
        """:meth:`factorize` for ids that must be distinct.

        Raises :class:`~onetoone.errors.ValidationError` naming ``name``, the
        number of duplicates, up to three of them, and ``fix``.

        Examples
        --------
        >>> IdIndex.factorize_unique([2, 1], name="ids", fix="list each id once")[1].tolist()
        [1, 0]
        """
        index, codes = cls.factorize(ids, name=name)
        if len(index) != len(codes):
            dup = index.decode(np.flatnonzero(np.bincount(codes) > 1)[:3])
            raise ValidationError(
                f"{name} holds {len(codes) - len(index)} duplicate {what}(s), "
                f"e.g. {dup.tolist()}; {fix}",
                field=name,
            )
        return index, codes

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __contains__(self, id_: object) -> bool:
        try:
            return bool(self.encode([id_], unknown="keep")[0] >= 0)
        except ValidationError:
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdIndex):
            return NotImplemented
        return self.values.dtype.kind == other.values.dtype.kind and bool(
            np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((len(self), self.values[:8].tobytes()))

    def __repr__(self) -> str:
        head = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in self.values[:3])
        more = ", ..." if len(self) > 3 else ""
        return f"IdIndex([{head}{more}], n={len(self)})"

    @property
    def kind(self) -> Literal["int", "str"]:
        """``"int"`` or ``"str"``: the type of the external ids."""
        return "str" if self.values.dtype.kind == "U" else "int"

    def encode(
        self,
        ids: Any,
        *,
        unknown: Literal["raise", "keep"] = "raise",
        field: str = "ids",
    ) -> npt.NDArray[np.int32]:
        """Codes of ``ids``.

        Parameters
        ----------
        ids : array-like
            External ids of this index's type.
        unknown : {"raise", "keep"}
            The :data:`UnknownPolicy` for an id not in the index: raise
            :class:`~onetoone.errors.UnknownIdError` (default), or keep it with
            code ``-1``. ``"drop"`` is refused (the codes stay aligned with
            ``ids``; filter ``codes >= 0`` instead). The old value ``"mask"``
            still means ``"keep"``, with a deprecation warning.
        field : str
            Name used in error messages.

        Returns
        -------
        int32 array
            One code per id, in the order given.

        Raises
        ------
        UnknownIdError
            An id not in the index under ``unknown="raise"``.
        ValidationError
            Ids of another type than the index's, or a bad ``unknown``.

        Examples
        --------
        >>> idx = IdIndex.from_values([10, 20, 30])
        >>> idx.encode([30, 10]).tolist()
        [2, 0]
        >>> idx.encode([20, 99], unknown="keep").tolist()
        [1, -1]
        """
        unknown = _encode_iv(unknown)
        a = _normalise_ids(ids, field)
        if len(a) == 0:
            return np.zeros(0, dtype=np.int32)
        if len(self) == 0:
            pos = np.zeros(len(a), dtype=np.int64)
            found = np.zeros(len(a), dtype=bool)
        else:
            if (a.dtype.kind == "U") != (self.kind == "str"):
                raise ValidationError(
                    f"{field} are {'strings' if a.dtype.kind == 'U' else 'ints'} but the index "
                    f"holds {self.kind}s; convert them to the index's id type",
                    field=field,
                )
            original = a  # for messages: the ids as given, before any dtype conversion
            a, representable = _to_index_dtype(a, self.values.dtype)
            pos = np.searchsorted(self.values, a)
            pos_c = np.minimum(pos, len(self) - 1)
            found = self.values[pos_c] == a
            if representable is not None:
                found &= representable
            pos = pos_c
        if not bool(found.all()):
            if unknown == "raise":
                bad = (original if len(self) else a)[~found]
                raise UnknownIdError(
                    f"{field}: {len(bad)} id(s) not in the index, e.g. {bad[:3].tolist()}; "
                    "pass unknown='keep' to get code -1 for them, or rebuild the index",
                    field=field,
                )
            return np.where(found, pos, -1).astype(np.int32)
        return pos.astype(np.int32)

    def decode(self, codes: Any) -> npt.NDArray[Any]:
        """External ids of ``codes``; raises for codes outside ``0 .. len-1``.

        Examples
        --------
        >>> IdIndex.from_values(["x", "y"]).decode([1, 1, 0]).tolist()
        ['y', 'y', 'x']
        """
        c = np.asarray(codes)
        if c.dtype.kind not in "iu":
            raise ValidationError(f"codes must be integers, got {c.dtype}", field="codes")
        if c.size and (int(c.min()) < 0 or int(c.max()) >= len(self)):
            raise UnknownIdError(
                f"codes must lie in 0..{len(self) - 1}; got range {int(c.min())}..{int(c.max())}",
                field="codes",
            )
        out: npt.NDArray[Any] = self.values[c]
        return out

    def to_list(self) -> list[Any]:
        """The ids as Python ints or strs."""
        return list(self.values.tolist())


#: Below this many ids, factorising sorts them (np.unique) instead of hashing them.
_HASH_MIN_ROWS = 1024


def _hash_factorize(
    a: npt.NDArray[Any],
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32]] | None:
    """Sorted unique ids and the code of each element, by hashing; None without pyarrow.

    Arrow's hash kernel (``dictionary_encode``) finds the distinct values in one
    linear pass; only the distinct values are then sorted, and the codes remapped
    to that order, so the result equals ``np.unique(a, return_inverse=True)``
    without a comparison sort over ``a``.
    """
    if len(a) < _HASH_MIN_ROWS:  # np.unique is as fast on small inputs
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pyarrow is an optional extra
        return None
    enc = _dictionary_encode(pa, pc, a)
    if enc is None:
        return None
    first_seen = enc.dictionary.to_numpy(zero_copy_only=False)
    if a.dtype.kind == "U":
        first_seen = first_seen.astype(a.dtype)
    order = np.argsort(first_seen, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes: npt.NDArray[np.int32] = rank[enc.indices.to_numpy(zero_copy_only=False)]
    return first_seen[order], codes


def _dictionary_encode(pa: Any, pc: Any, a: npt.NDArray[Any]) -> Any:
    """Arrow's hash encoding of ``a``, or None when Arrow cannot hold it.

    Strings that are not valid Unicode (lone surrogates) have no UTF-8 form;
    they fall back to sorting.
    """
    try:
        return pc.dictionary_encode(pa.array(a))
    except (pa.ArrowException, UnicodeError, ValueError, TypeError):
        return None


def _to_index_dtype(
    a: npt.NDArray[Any], dtype: np.dtype[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_] | None]:
    """``a`` cast exactly to an index's integer dtype, with the mask of ids it can hold.

    Mixing int64 and uint64 in numpy comparisons goes through float64, which
    merges distinct large ids; ids the index's type cannot represent (negative
    ids for a uint64 index, ids above 2**63-1 for an int64 one) are not in it.
    """
    if a.dtype == dtype or a.dtype.kind == "U":
        return a, None
    if dtype == np.uint64:  # a is int64
        ok = a >= 0
        return np.where(ok, a, 0).astype(np.uint64), ok
    ok = a <= np.uint64(_I64_MAX)  # index int64, a uint64
    return np.where(ok, a, np.uint64(0)).astype(np.int64), ok


def _encode_iv(unknown: object) -> Literal["raise", "keep"]:
    """The unknown-id policy of :meth:`IdIndex.encode` ("mask" is the old "keep")."""
    if unknown == "raise" or unknown == "keep":  # the fast path, no warning machinery
        return "raise" if unknown == "raise" else "keep"
    value = policy_value(
        unknown,
        "unknown",
        ("raise", "drop", "keep"),
        renamed={"mask": "keep"},
        func="IdIndex.encode",
    )
    if value == "drop":
        raise ValidationError(
            "IdIndex.encode cannot drop unknown ids: it returns one code per id, aligned with "
            "the ids given; pass unknown='keep' (code -1) and filter codes >= 0",
            field="unknown",
        )
    return "keep"


# --------------------------------------------------------------------------- report
@attrs.frozen
class IngestionReport:
    """What ingestion kept and dropped, by reason.

    Attributes
    ----------
    n_input : int
        Rows received.
    n_kept : int
        Rows in the resulting :class:`Transactions`.
    dropped : Mapping[str, int]
        Rows dropped per reason (only reasons with at least one row). Reasons:
        ``missing_id``, ``bad_timestamp``, ``non_finite``, ``negative_value``,
        ``negative_discount``, ``zero_quantity``, ``return_line``,
        ``unknown_customer``, ``unknown_item``.
    dropped_rows : Mapping[str, ndarray]
        For each reason, the input row positions (0-based) that were dropped,
        so a caller can inspect or re-ingest them.
    n_returns_kept : int
        Return lines (negative quantity) kept under ``returns="keep"``.
    policies : Mapping[str, str]
        The policies in force.

    Examples
    --------
    >>> tx = Transactions.from_arrays(customer=[1, 2, 3], item=[5, 5, 5],
    ...     timestamp=["2024-01-01", "not a time", "2024-01-02"], value=[1.0, 2.0, -3.0],
    ...     invalid="drop")
    >>> r = tx.report
    >>> r.n_input, r.n_kept, r.n_dropped, dict(r.dropped)
    (3, 1, 2, {'bad_timestamp': 1, 'negative_value': 1})
    >>> r.dropped_rows["bad_timestamp"].tolist()
    [1]
    >>> print(r.summary())
    ingested 1 of 3 rows
      dropped 1 rows: bad_timestamp
      dropped 1 rows: negative_value
    """

    n_input: int
    n_kept: int
    dropped: Mapping[str, int]
    dropped_rows: Mapping[str, npt.NDArray[np.int64]] = attrs.field(repr=False)
    n_returns_kept: int
    policies: Mapping[str, str]

    @property
    def n_dropped(self) -> int:
        """Total rows dropped."""
        return self.n_input - self.n_kept

    def summary(self) -> str:
        """One human-readable paragraph."""
        lines = [f"ingested {self.n_kept:,} of {self.n_input:,} rows"]
        for reason, n in sorted(self.dropped.items()):
            lines.append(f"  dropped {n:,} rows: {reason}")
        if self.n_returns_kept:
            lines.append(f"  kept {self.n_returns_kept:,} return lines (negative quantity)")
        return "\n".join(lines)


# --------------------------------------------------------------------------- parsing helpers
def _parse_timestamps(
    values: Any, name: str
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_] | None]:
    """Return (timestamps as datetime64[s], bad mask or None if none). Bad rows hold NaT."""
    a = as_1d(values, name)
    if a.dtype.kind == "M":
        ts = a.astype("datetime64[s]")
        # NaT is the smallest int64: the mask is built only when the minimum is NaT
        if len(ts) and int(ts.view(np.int64).min()) == np.iinfo(np.int64).min:
            return ts, np.isnat(ts)
        return ts, None
    if a.dtype.kind in "iuf" or a.dtype.kind == "b":
        raise ValidationError(
            f"{name} must be datetimes or ISO strings, got numbers ({a.dtype}); for epoch "
            f"seconds pass numpy.asarray({name}, dtype='datetime64[s]')",
            field=name,
        )
    try:
        ts = a.astype("datetime64[s]")
        return ts, np.isnat(ts)
    except (TypeError, ValueError):
        pass
    # Slow path, only reached when some value does not parse: parse distinct values.
    uniq, inverse = np.unique(a.astype(str), return_inverse=True)
    parsed = np.empty(len(uniq), dtype="datetime64[s]")
    for i, s in enumerate(uniq):
        try:
            parsed[i] = np.datetime64(s, "s")
        except (TypeError, ValueError):
            parsed[i] = np.datetime64("NaT")
    ts = parsed[inverse.reshape(-1)]
    return ts, np.isnat(ts)


def _first_rows(mask: npt.NDArray[np.bool_], k: int = 3) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)[:k]]


def _ranges(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Concatenate ``arange(s, s + l)`` for each (s, l), vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    if bool((lengths == 0).any()):
        starts, lengths = starts[lengths > 0], lengths[lengths > 0]
    # one array, one cumulative sum: steps of 1 inside a range, a jump where one starts
    out = np.ones(total, dtype=np.int64)
    out[0] = starts[0]
    out[np.cumsum(lengths[:-1])] = starts[1:] - starts[:-1] - lengths[:-1] + 1
    np.cumsum(out, out=out)
    return out


# --------------------------------------------------------------------------- transactions
def _check_column(name: str, dtype: Any) -> Any:
    def validator(inst: Any, attribute: Any, value: npt.NDArray[Any]) -> None:
        if value.ndim != 1 or value.dtype != dtype:
            raise ValidationError(
                f"Transactions.{name} must be a 1-D {np.dtype(dtype)} array; "
                "build Transactions with Transactions.from_arrays / from_pandas / from_arrow",
                field=name,
            )

    return validator


@attrs.frozen(eq=False)
class Transactions:
    """A validated transaction log, one row per basket line, as read-only columns.

    Rows are sorted by customer, then by basket time (the basket's first line),
    then basket, then line time. Build it with :meth:`from_arrays`,
    :meth:`from_pandas`, :meth:`from_arrow` or :meth:`from_parquet`.

    Attributes
    ----------
    customer, item : int32 arrays
        Codes into :attr:`customers` and :attr:`items`.
    basket : int32 array
        Dense basket codes ``0 .. n_baskets-1``, increasing along the rows. A
        basket id is scoped to its customer.
    timestamp : datetime64[s] array
        Line time.
    quantity, value, discount : float64 arrays
        Units, amount paid (net of discount) and discount given (>= 0).
    customers, items : IdIndex
        External ids.
    report : IngestionReport
        What was dropped on the way in, by reason.

    Examples
    --------
    >>> tx = Transactions.from_arrays(
    ...     customer=["ann", "ann", "bob"], item=[10, 11, 10],
    ...     timestamp=["2024-01-02", "2024-01-02", "2024-01-05"],
    ...     value=[2.0, 3.5, 2.0])
    >>> tx.n_rows, tx.n_customers, tx.n_items, tx.n_baskets
    (3, 2, 2, 2)
    >>> tx.customers.decode(tx.customer).tolist()
    ['ann', 'ann', 'bob']
    """

    customer: npt.NDArray[np.int32] = attrs.field(validator=_check_column("customer", np.int32))
    item: npt.NDArray[np.int32] = attrs.field(validator=_check_column("item", np.int32))
    basket: npt.NDArray[np.int32] = attrs.field(validator=_check_column("basket", np.int32))
    timestamp: npt.NDArray[np.datetime64] = attrs.field(
        validator=_check_column("timestamp", "datetime64[s]")
    )
    quantity: npt.NDArray[np.float64] = attrs.field(validator=_check_column("quantity", np.float64))
    value: npt.NDArray[np.float64] = attrs.field(validator=_check_column("value", np.float64))
    discount: npt.NDArray[np.float64] = attrs.field(validator=_check_column("discount", np.float64))
    customers: IdIndex
    items: IdIndex
    report: IngestionReport = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        n = len(self.customer)
        for name in ("item", "basket", "timestamp", "quantity", "value", "discount"):
            col = getattr(self, name)
            if len(col) != n:
                raise ValidationError(
                    f"Transactions.{name} has {len(col)} rows, customer has {n}", field=name
                )
            readonly(col)
            col.flags.writeable = False
        self.customer.flags.writeable = False

    # ------------------------------------------------------------------ sizes
    @property
    def n_rows(self) -> int:
        return int(self.customer.shape[0])

    def __len__(self) -> int:
        return self.n_rows

    @property
    def n_customers(self) -> int:
        """Size of the customer index (customers may have no rows in a window)."""
        return len(self.customers)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_baskets(self) -> int:
        return int(self.basket[-1]) + 1 if self.n_rows else 0

    @property
    def period(self) -> tuple[np.datetime64, np.datetime64]:
        """First and last line time."""
        if self.n_rows == 0:
            raise EmptyInputError("the log has no rows", field="transactions")
        return self.timestamp.min(), self.timestamp.max()

    @property
    def nbytes(self) -> int:
        """Bytes held by the row columns."""
        return sum(
            getattr(self, c).nbytes
            for c in ("customer", "item", "basket", "timestamp", "quantity", "value", "discount")
        )

    # ------------------------------------------------------------------ windows
    def between(self, start: TimeLike | None = None, end: TimeLike | None = None) -> Transactions:
        """Rows with ``start <= timestamp < end`` (either bound optional).

        The result keeps the same :attr:`customers` and :attr:`items` indexes, so
        codes stay comparable across windows. Basket codes are renumbered.
        """
        mask = np.ones(self.n_rows, dtype=bool)
        if start is not None:
            mask &= self.timestamp >= to_datetime64(start, "start")
        if end is not None:
            mask &= self.timestamp < to_datetime64(end, "end")
        return self.subset(mask)

    def subset(self, mask: npt.NDArray[np.bool_]) -> Transactions:
        """The rows where ``mask`` is True, keeping the customer and item indexes.

        Row order is preserved; basket codes are renumbered densely.
        """
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.n_rows,):
            raise ValidationError(
                f"mask must be a boolean array of {self.n_rows} rows, "
                f"got {mask.dtype} {mask.shape}",
                field="mask",
            )
        if bool(mask.all()):
            return self
        b = self.basket[mask]
        new_b = np.zeros(len(b), dtype=np.int32)
        if len(b):
            new_b[1:] = np.cumsum(b[1:] != b[:-1], dtype=np.int64).astype(np.int32)
        return attrs.evolve(
            self,
            customer=self.customer[mask],
            item=self.item[mask],
            basket=new_b,
            timestamp=self.timestamp[mask],
            quantity=self.quantity[mask],
            value=self.value[mask],
            discount=self.discount[mask],
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        *,
        customer: Any,
        item: Any,
        timestamp: Any,
        value: Any,
        quantity: Any = None,
        basket: Any = None,
        discount: Any = None,
        returns: ReturnsPolicy = "raise",
        invalid: InvalidPolicy = "raise",
        unknown: IngestUnknownPolicy = "raise",
        zero_quantity: ZeroQuantityPolicy = "drop",
        customers: IdIndex | None = None,
        items: IdIndex | None = None,
        num_threads: int = 0,
        progress: ProgressCallback | None = None,
    ) -> Transactions:
        """Validate and index a transaction log given as columns.

        Parameters
        ----------
        customer, item : array-like of int or str
            External customer and item ids.
        timestamp : array-like
            ``datetime64`` values or ISO strings (``"2024-01-31 09:15"``).
        value : array-like of float
            Amount paid for the line, net of discounts (>= 0 except on return lines).
        quantity : array-like of float, optional
            Units; defaults to 1 per line. Zero has its own policy (see
            ``zero_quantity``); negative marks a return line (see ``returns``).
        basket : array-like, optional
            Basket (receipt) id, scoped to the customer. Defaults to one basket
            per (customer, timestamp).
        discount : array-like of float, optional
            Discount given on the line (>= 0); defaults to 0.
        returns : {"raise", "drop", "keep"}
            What to do with return lines (negative quantity): raise
            :class:`~onetoone.errors.ValidationError` (default), drop and count
            them, or keep them (their value may then be negative, and they net
            against spend in profiles).
        invalid : {"raise", "drop"}
            What to do with invalid rows (missing id, unparseable time, NaN or
            inf, negative value or discount): raise (default) or drop and count
            them by reason in :attr:`report`.
        unknown : {"raise", "drop"}
            With ``customers``/``items`` given, what to do with ids not in them
            (the :data:`UnknownPolicy` values): raise
            :class:`~onetoone.errors.UnknownIdError` (default) or drop the rows
            and count them under ``unknown_customer`` / ``unknown_item``.
            ``"keep"`` is refused: a row needs a code in both indexes.
        zero_quantity : {"drop", "raise", "keep"}
            What to do with lines of quantity 0 (voids, coupon-only lines:
            8,869 in Complete Journey): drop them and count them in
            :attr:`report` under ``zero_quantity`` (default, the same in every
            ingestion path and in :func:`onetoone.datasets.complete_journey`),
            raise :class:`~onetoone.errors.ValidationError`, or keep them.
        customers, items : IdIndex, optional
            Use these indexes instead of building them from the data, e.g. to
            keep codes aligned with an earlier log or a fitted model.
        num_threads : int
            Threads for the independent stages of a large log (item ids hashed
            while the baskets are ordered; the columns gathered in parallel):
            0 (default) uses every core, 1 runs on the calling thread only. The
            result does not depend on it.
        progress : callable, optional
            Called as ``progress(stage, 4)`` after each of the four stages of
            ingestion: the rows checked (invalid rows counted and dropped), the
            customer and basket ids coded, the rows ordered (item ids coded), the
            columns gathered. Ingestion is a few vectorised passes over the whole
            log, not a loop over blocks of rows, so it reports stages, not rows
            (see :mod:`onetoone._progress`; the command line draws a bar). The
            result does not depend on it.

        Returns
        -------
        Transactions

        Raises
        ------
        LengthMismatchError
            Columns of different lengths.
        EmptyInputError
            No rows, or no rows left after dropping.
        ValidationError
            An invalid row under ``invalid="raise"`` or a return line under
            ``returns="raise"``; the message names the column, counts the rows and
            shows the first positions; or ``progress`` is not callable.
        UnknownIdError
            An id not in a given index under ``unknown="raise"``.

        Notes
        -----
        Cost is linear in the rows except for two small sorts: ids are factorised
        by hashing (Arrow's hash kernel when pyarrow is installed, else
        ``np.unique``) and only the distinct ids are sorted; the baskets, about
        ten times fewer than the lines, are put in (customer, first time, basket
        id) order by a stable sort on time (linear on a log written in time
        order) and a counting sort on the customer, and the lines then follow
        their basket by one counting sort. When the lines of a basket are
        adjacent (a log written basket by basket), integer customer and basket
        ids are coded and ordered per run of lines rather than per line. No
        comparison sort runs over the whole log. Peak extra memory is about
        1.5x the bytes of the input columns (``benchmarks/scale.py``).

        Examples
        --------
        >>> tx = Transactions.from_arrays(
        ...     customer=[1, 1, 2], item=["a", "b", "a"],
        ...     timestamp=["2024-01-01", "2024-01-01", "2024-01-02"],
        ...     value=[2.0, -1.0, 3.0], quantity=[1, -1, 1], returns="drop")
        >>> tx.n_rows, dict(tx.report.dropped)
        (2, {'return_line': 1})
        >>> later = Transactions.from_arrays(
        ...     customer=[2, 3], item=["a", "a"], timestamp=["2024-02-01"] * 2,
        ...     value=[1.0, 1.0], customers=tx.customers, unknown="drop")
        >>> later.customers.decode(later.customer).tolist(), dict(later.report.dropped)
        ([2], {'unknown_customer': 1})
        >>> seen = []
        >>> _ = Transactions.from_arrays(
        ...     customer=[1], item=["a"], timestamp=["2024-01-01"], value=[1.0],
        ...     progress=lambda done, total: seen.append((done, total)))
        >>> seen
        [(1, 4), (2, 4), (3, 4), (4, 4)]
        """
        policies = _ingest_iv(
            returns,
            invalid,
            unknown,
            zero_quantity,
            customers,
            items,
            num_threads,
            progress=progress,
        )
        return _build_transactions(
            cls,
            customer=customer,
            item=item,
            timestamp=timestamp,
            value=value,
            quantity=quantity,
            basket=basket,
            discount=discount,
            policies=policies,
            missing=None,
            stages=_Stages(policies.progress, _BUILD_STAGES),
        )

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        customer: str = "customer",
        item: str = "item",
        timestamp: str = "timestamp",
        value: str = "value",
        quantity: str | None = None,
        basket: str | None = None,
        discount: str | Sequence[str] | None = None,
        returns: ReturnsPolicy = "raise",
        invalid: InvalidPolicy = "raise",
        unknown: IngestUnknownPolicy = "raise",
        zero_quantity: ZeroQuantityPolicy = "drop",
        customers: IdIndex | None = None,
        items: IdIndex | None = None,
        num_threads: int = 0,
        progress: ProgressCallback | None = None,
    ) -> Transactions:
        """Build from a pandas DataFrame, naming the columns to use.

        ``discount`` may name several columns, which are summed (e.g. the retail,
        coupon and coupon-match discounts of Complete Journey). Nulls in id
        columns count as invalid rows (``missing_id``). Without ``quantity=``,
        a column named ``"quantity"`` is used when the frame has one (so
        zero-quantity lines meet the ``zero_quantity`` policy); otherwise each
        line counts one unit.

        Parameters
        ----------
        df : pandas.DataFrame
        customer, item, timestamp, value : str
            Names of the required columns.
        quantity, basket : str, optional
            Names of the optional columns (see above for ``quantity``).
        discount : str or list of str, optional
            Name(s) of the discount column(s), summed.
        returns, invalid, unknown, zero_quantity, customers, items, num_threads
            The policies, indexes and threads of :meth:`from_arrays`.
        progress : callable, optional
            Called as ``progress(stage, 5)`` after each stage: the frame's columns
            read into arrays, then the four stages of :meth:`from_arrays`.

        Returns
        -------
        Transactions

        Raises
        ------
        ValidationError
            ``df`` is not a DataFrame, a named column is missing or appears
            more than once, a column has the wrong type, a bad policy or
            ``progress``, or an invalid row (see :meth:`from_arrays`).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"household": [7, 7, None], "sku": ["a", "b", "a"],
        ...                    "when": ["2024-01-01", "2024-01-01", "2024-01-02"],
        ...                    "paid": [1.5, 2.0, 3.0]})
        >>> tx = Transactions.from_pandas(df, customer="household", item="sku",
        ...                               timestamp="when", value="paid", invalid="drop")
        >>> tx.n_rows, dict(tx.report.dropped)
        (2, {'missing_id': 1})
        """
        policies = _ingest_iv(
            returns,
            invalid,
            unknown,
            zero_quantity,
            customers,
            items,
            num_threads,
            progress=progress,
        )
        pd = import_optional("pandas", purpose="Transactions.from_pandas")
        if not isinstance(df, pd.DataFrame):
            raise ValidationError(
                f"df must be a pandas DataFrame, got {type(df).__name__}; use "
                "Transactions.from_arrow for Arrow tables, polars or DuckDB, from_parquet for "
                "a file path, from_arrays for columns",
                field="df",
            )
        quantity = _default_quantity(quantity, list(df.columns))
        names = _requested_columns(customer, item, timestamp, value, quantity, basket, discount)
        _check_missing_columns(list(df.columns), names, "DataFrame")
        _check_duplicate_columns(list(df.columns), names, "DataFrame")
        id_cols = [customer, item] + ([basket] if basket else [])
        missing = np.asarray(df[id_cols].isna().any(axis=1).to_numpy(), dtype=bool)

        def col(name: str) -> npt.NDArray[Any]:
            s = df[name]
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            if name in id_cols and missing.any():
                s = s.where(~missing, s.dropna().iloc[0] if s.notna().any() else 0)
            if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(
                s.dtype
            ):
                na = np.nan if s.dtype.kind == "f" or name not in id_cols else 0
                if s.dtype.kind == "M":
                    return np.asarray(s.to_numpy())
                return np.asarray(s.to_numpy(na_value=na))
            return np.asarray(s.to_numpy(dtype=object))

        stages = _Stages(policies.progress, _BUILD_STAGES + 1)
        columns = _read_columns(col, customer, item, timestamp, value, quantity, basket, discount)
        stages.step()  # the columns read into arrays
        return _build_transactions(
            cls, **columns, policies=policies, missing=missing, stages=stages
        )

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        customer: str = "customer",
        item: str = "item",
        timestamp: str = "timestamp",
        value: str = "value",
        quantity: str | None = None,
        basket: str | None = None,
        discount: str | Sequence[str] | None = None,
        returns: ReturnsPolicy = "raise",
        invalid: InvalidPolicy = "raise",
        unknown: IngestUnknownPolicy = "raise",
        zero_quantity: ZeroQuantityPolicy = "drop",
        customers: IdIndex | None = None,
        items: IdIndex | None = None,
        num_threads: int = 0,
        progress: ProgressCallback | None = None,
    ) -> Transactions:
        """Build from an Arrow table, or anything Arrow can read as one.

        Accepts a ``pyarrow.Table``/``RecordBatch`` or any object exporting the
        Arrow C stream interface (a polars DataFrame, a DuckDB relation via
        ``.arrow()``, an ADBC cursor's ``fetch_arrow_table()``). Column arguments,
        policies, indexes and ``num_threads`` are those of :meth:`from_pandas`;
        nulls in id columns count as ``missing_id``. ``progress``, optional, is
        called as ``progress(stage, 5)`` after each stage: the table's columns read
        into arrays, then the four stages of :meth:`from_arrays` (stages, not
        rows: each is one vectorised pass).

        Returns
        -------
        Transactions

        Raises
        ------
        ValidationError
            ``table`` cannot be read as an Arrow table, a named column is
            missing, duplicated or of an unreadable type, a bad policy or
            ``progress``, or an invalid row (see :meth:`from_arrays`).

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"customer": [1, 2], "item": [10, 10],
        ...               "timestamp": ["2024-01-01", "2024-01-03"], "value": [2.0, 4.0]})
        >>> tx = Transactions.from_arrow(t)
        >>> tx.n_customers, float(tx.value.sum())
        (2, 6.0)
        """
        policies = _ingest_iv(
            returns,
            invalid,
            unknown,
            zero_quantity,
            customers,
            items,
            num_threads,
            progress=progress,
        )
        pa = import_optional("pyarrow", purpose="Transactions.from_arrow")
        pc = import_optional("pyarrow.compute", purpose="Transactions.from_arrow")
        tbl = _to_arrow_table(pa, table)
        quantity = _default_quantity(quantity, tbl.column_names)
        names = _requested_columns(customer, item, timestamp, value, quantity, basket, discount)
        _check_missing_columns(tbl.column_names, names, "table")
        _check_duplicate_columns(tbl.column_names, names, "table")
        tbl = tbl.select(names)
        id_cols = [customer, item] + ([basket] if basket else [])
        missing = np.zeros(tbl.num_rows, dtype=bool)
        for c in id_cols:
            if tbl.column(c).null_count:
                missing |= np.asarray(pc.is_null(tbl.column(c)).to_numpy(zero_copy_only=False))

        def col(name: str) -> npt.NDArray[Any]:
            try:
                return arrow_col(name)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                if isinstance(exc, ValidationError):
                    raise
                raise ValidationError(
                    f"column {name!r} of Arrow type {tbl.column(name).type} cannot be read "
                    f"({exc}); cast it to an integer, string, float or timestamp column",
                    field=name,
                ) from exc

        def arrow_col(name: str) -> npt.NDArray[Any]:
            c = tbl.column(name)
            if pa.types.is_decimal(c.type):
                if name in id_cols:
                    raise ValidationError(
                        f"column {name!r} holds decimals ({c.type}); ids must be integers or "
                        "strings: cast it to int64, uint64 or string",
                        field=name,
                    )
                c = c.cast(pa.float64())
            if pa.types.is_timestamp(c.type) and c.type.tz is not None:
                c = c.cast(pa.timestamp(c.type.unit))
            if pa.types.is_dictionary(c.type):
                c = c.cast(c.type.value_type)
            if c.null_count:
                if name in id_cols:
                    fill = pc.min(c).as_py()
                    c = pc.fill_null(c, fill)
                elif pa.types.is_floating(c.type) or pa.types.is_integer(c.type):
                    c = pc.fill_null(c.cast(pa.float64()), float("nan"))
            if pa.types.is_large_string(c.type) or pa.types.is_string_view(c.type):
                c = c.cast(pa.string())
            return np.asarray(c.to_numpy())

        stages = _Stages(policies.progress, _BUILD_STAGES + 1)
        columns = _read_columns(col, customer, item, timestamp, value, quantity, basket, discount)
        stages.step()  # the columns read into arrays
        return _build_transactions(
            cls, **columns, policies=policies, missing=missing, stages=stages
        )

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        customer: str = "customer",
        item: str = "item",
        timestamp: str = "timestamp",
        value: str = "value",
        quantity: str | None = None,
        basket: str | None = None,
        discount: str | Sequence[str] | None = None,
        returns: ReturnsPolicy = "raise",
        invalid: InvalidPolicy = "raise",
        unknown: IngestUnknownPolicy = "raise",
        zero_quantity: ZeroQuantityPolicy = "drop",
        customers: IdIndex | None = None,
        items: IdIndex | None = None,
        num_threads: int = 0,
        progress: ProgressCallback | None = None,
    ) -> Transactions:
        """Read the named columns of a Parquet file (or dataset directory).

        Column arguments, policies, indexes and ``num_threads`` are those of
        :meth:`from_pandas`. ``progress``, optional, is called as
        ``progress(stage, 6)`` after each stage: the file read, then the five
        stages of :meth:`from_arrow`.

        Returns
        -------
        Transactions

        Raises
        ------
        FileNotFoundError
            No file or directory at ``path``.
        FormatError
            ``path`` is not a readable Parquet file (corrupt, truncated, another
            format); the message names the path.
        ValidationError
            A named column is missing, or as for :meth:`from_arrow`.

        Examples
        --------
        >>> import os, tempfile
        >>> import pyarrow as pa, pyarrow.parquet as pq
        >>> path = os.path.join(tempfile.mkdtemp(), "log.parquet")
        >>> pq.write_table(pa.table({"customer": ["x", "y"], "item": [1, 2],
        ...     "timestamp": ["2024-01-01", "2024-01-02"], "value": [1.0, 2.0]}), path)
        >>> Transactions.from_parquet(path).customers.to_list()
        ['x', 'y']
        """
        policies = _ingest_iv(
            returns,
            invalid,
            unknown,
            zero_quantity,
            customers,
            items,
            num_threads,
            progress=progress,
        )
        stages = _Stages(policies.progress, _BUILD_STAGES + 2)
        pa = import_optional("pyarrow", purpose="Transactions.from_parquet")
        pq = import_optional("pyarrow.parquet", purpose="Transactions.from_parquet")
        if not isinstance(path, (str, os.PathLike)):
            raise ValidationError(
                f"path must be a str or os.PathLike naming a Parquet file, got "
                f"{type(path).__name__}; for a DataFrame or table use from_pandas / from_arrow",
                field="path",
            )
        where = os.fspath(path)
        if not os.path.exists(where):
            raise FileNotFoundError(f"no Parquet file or directory at {where!r}")
        try:
            schema = pq.read_schema(where) if os.path.isfile(where) else None
            if schema is None:
                columns = list(pq.ParquetDataset(where).schema.names)
            else:
                columns = list(schema.names)
            quantity = _default_quantity(quantity, columns)
            names = _requested_columns(customer, item, timestamp, value, quantity, basket, discount)
            _check_missing_columns(columns, names, f"Parquet file {where!r}")
            table = pq.read_table(where, columns=names)
        except (pa.ArrowException, OSError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise FormatError(
                f"{where!r} is not a readable Parquet file ({exc}); check the path, or "
                "rewrite the file (it may be truncated or in another format)"
            ) from exc
        stages.step()  # the file read
        return cls.from_arrow(
            table,
            num_threads=num_threads,
            progress=stages.rest(),
            customer=customer,
            item=item,
            timestamp=timestamp,
            value=value,
            quantity=quantity,
            basket=basket,
            discount=discount,
            returns=returns,
            invalid=invalid,
            unknown=unknown,
            zero_quantity=zero_quantity,
            customers=customers,
            items=items,
        )

    def to_pandas(self) -> pd.DataFrame:
        """The log as a DataFrame with external ids (needs pandas)."""
        pandas = import_optional("pandas", purpose="Transactions.to_pandas")
        frame: pd.DataFrame = pandas.DataFrame(
            {
                "customer": self.customers.decode(self.customer),
                "item": self.items.decode(self.item),
                "basket": self.basket,
                "timestamp": self.timestamp,
                "quantity": self.quantity,
                "value": self.value,
                "discount": self.discount,
            }
        )
        return frame


def _build_transactions(
    cls: type[Transactions],
    *,
    customer: Any,
    policies: _Policies,
    **columns: Any,
) -> Transactions:
    """The body of :meth:`Transactions.from_arrays` for validated policies.

    ``columns`` are the other keywords of :func:`_build_on` but ``pool``: the
    thread pool (``policies.num_threads``) lives as long as the ingestion.
    """
    n_rows = len(customer) if hasattr(customer, "__len__") else 0
    with _Pool(policies.num_threads, n_rows) as pool:
        return _build_on(cls, customer=customer, policies=policies, pool=pool, **columns)


def _build_on(
    cls: type[Transactions],
    *,
    customer: Any,
    item: Any,
    timestamp: Any,
    value: Any,
    quantity: Any,
    basket: Any,
    discount: Any,
    policies: _Policies,
    missing: npt.NDArray[np.bool_] | None,
    stages: _Stages,
    pool: _Pool,
) -> Transactions:
    """:func:`_build_transactions` with its thread pool.

    ``missing`` flags rows whose id was null in a DataFrame or Arrow table
    (counted as ``missing_id``); ``from_arrays`` itself has no nulls to flag.
    ``stages`` is told when each of its last :data:`_BUILD_STAGES` stages ends.
    """
    returns, invalid, unknown = policies.returns, policies.invalid, policies.unknown
    zero_quantity = policies.zero_quantity
    customers, items = policies.customers, policies.items
    cust_raw = as_id_column(customer, "customer")
    n = len(cust_raw)
    item_raw = as_id_column(item, "item")
    ts_raw = as_1d(timestamp, "timestamp")
    val = as_float(value, "value")
    qty = np.ones(n) if quantity is None else as_float(quantity, "quantity")
    disc = np.zeros(n) if discount is None else as_float(discount, "discount")
    bsk_raw = None if basket is None else as_id_column(basket, "basket")
    check_lengths(
        n,
        item=item_raw,
        timestamp=ts_raw,
        value=val,
        quantity=qty,
        discount=disc,
        basket=bsk_raw,
        missing=missing,
    )
    check_nonempty(n, "transactions")
    # every row's item hashed on the pool from the start; the index is pruned to the kept
    # rows' items once the drops are known
    item_job: Future[tuple[IdIndex, npt.NDArray[np.int32]]] | None = None
    if items is None and pool.threads > 1:
        item_job = pool.submit(_factorize_items, item_raw)

    ts, bad_ts = _parse_timestamps(ts_raw, "timestamp")
    reasons: dict[str, npt.NDArray[np.bool_]] = {}
    if missing is not None and missing.any():
        reasons["missing_id"] = missing
    if bad_ts is not None:
        reasons["bad_timestamp"] = bad_ts
    # a mask is built only when a reduction shows some row may be flagged (a finite sum
    # has no NaN or inf term; NaN fails every comparison, so the masks are then built)
    if not all(np.isfinite(np.sum(c)) for c in (val, qty, disc)):
        reasons["non_finite"] = ~(np.isfinite(val) & np.isfinite(qty) & np.isfinite(disc))
    q_min = float(qty.min())
    is_return = None if q_min >= 0 else qty < 0
    if not float(val.min()) >= 0:
        reasons["negative_value"] = (val < 0) if is_return is None else (val < 0) & ~is_return
    if not float(disc.min()) >= 0:
        reasons["negative_discount"] = disc < 0
    is_zero = None if q_min > 0 else qty == 0

    fields = {
        "missing_id": "customer/item/basket",
        "bad_timestamp": "timestamp",
        "non_finite": "value/quantity/discount",
        "negative_value": "value",
        "negative_discount": "discount",
    }
    for reason, mask in reasons.items():
        if invalid == "raise" and mask.any():
            raise ValidationError(
                f"{fields[reason]}: {int(mask.sum())} row(s) are invalid ({reason}), first at "
                f"row(s) {_first_rows(mask)}; fix them or pass invalid='drop' to drop and "
                "count them in Transactions.report",
                field=fields[reason].split("/")[0],
            )
    if returns == "raise" and is_return is not None and is_return.any():
        raise ValidationError(
            f"quantity: {int(is_return.sum())} return line(s) (negative quantity), first at "
            f"row(s) {_first_rows(is_return)}; choose returns='drop' or returns='keep'",
            field="quantity",
        )
    if zero_quantity == "raise" and is_zero is not None and is_zero.any():
        raise ValidationError(
            f"quantity: {int(is_zero.sum())} line(s) have quantity 0, first at row(s) "
            f"{_first_rows(is_zero)}; choose zero_quantity='drop' (count them in "
            "Transactions.report) or zero_quantity='keep'",
            field="quantity",
        )
    if zero_quantity == "drop" and is_zero is not None:
        reasons["zero_quantity"] = is_zero
    if returns == "drop" and is_return is not None:
        reasons["return_line"] = is_return

    # ids: build or look up the indexes on rows still alive
    alive = np.ones(n, dtype=bool)
    dropped: dict[str, npt.NDArray[np.int64]] = {}

    def drop(reason: str, mask: npt.NDArray[np.bool_]) -> None:
        if not mask.any():
            return
        newly = mask & alive
        if newly.any():
            dropped[reason] = np.flatnonzero(newly).astype(np.int64)
            alive[newly] = False

    for reason, mask in reasons.items():
        drop(reason, mask)

    # with no customer index the rows may be handled in the log's own positions (below):
    # items of a given index are then coded on every row now, so unknown ones are dropped
    # (or refused) before the rows are grouped; ids of rows dropped already are not reported
    item_all: npt.NDArray[np.int32] | None = None
    if items is not None and customers is None:
        item_all = _encode_items(items, item_raw, alive if dropped else None)
        unknown_item = (item_all < 0) & alive
        if bool(unknown_item.any()):
            # customers are read before items: an unreadable customer id comes first
            _check_customer_ids(cust_raw, alive)
            if unknown == "raise":
                bad = np.asarray(item_raw)[unknown_item]
                raise UnknownIdError(
                    f"item: {len(bad)} row(s) with ids not in the given index, e.g. "
                    f"{bad[:3].tolist()}; pass unknown='drop' to drop and count them, or pass "
                    "a larger index",
                    field="item",
                )
            drop("unknown_item", unknown_item)
    if not bool(alive.any()):
        raise _no_rows_left(dropped)
    stages.step()  # the columns checked, invalid rows counted and dropped
    ts_i = ts.view(np.int64)
    # Integer customer and basket ids written basket by basket are handled per run of
    # rows (a basket's lines), in the log's own row positions: no copy of the kept rows
    whole = (
        _whole_runs(cust_raw, bsk_raw, alive if dropped else None) if customers is None else None
    )

    def new_item_index() -> tuple[IdIndex, npt.NDArray[np.int32]]:
        """The index of the kept rows' items and every row's code into it."""
        try:
            built = item_job.result() if item_job is not None else _factorize_items(item_raw)
        except ValidationError:
            if not dropped:
                raise
            # an unreadable id may sit on a dropped row, which is never read: the kept
            # rows' ids alone (their own error, if one of them is unreadable)
            return _factorize_kept_items(item_raw, alive)
        return _prune_items(*built, dropped)

    keep: npt.NDArray[np.intp] | None = None
    basket_ids: npt.NDArray[Any] | None
    group_basket: npt.NDArray[np.int32] | None
    g_cust: npt.NDArray[np.int32] | None
    try:
        if whole is not None:
            cust_n, bsk_n, runs = whole
            items_done = None
            if item_job is not None:  # pruned by the item thread when it is done
                items_done = _then(item_job, new_item_index)
            # the runs' first times (a pass over the rows) on the pool meanwhile
            t_job = pool.submit(_run_min, ts_i, runs, n)
            cust_index, cust_k = IdIndex.factorize(cust_n[runs.start], name="customer")
            basket_ids, bcode = _run_basket_codes(bsk_n[runs.start], cust_n[runs.start])
            del cust_n, bsk_n, whole
            group, n_groups, group_basket, g_cust = _scoped_groups(cust_k, len(cust_index), bcode)
            del bcode
            stages.step()  # customer and basket ids coded
            t_unit = t_job.result()
            order = _order_units(
                group, n_groups, cust_k, t_unit, basket_ids, group_basket, g_cust, runs
            )
            del group, t_unit
            if item_all is not None:
                item_index, item_codes = cast(IdIndex, items), item_all
            elif items_done is not None:
                item_index, item_codes = items_done.result()
            else:
                item_index, item_codes = new_item_index()
        else:
            keep = np.flatnonzero(alive)
            cust_k, cust_index = _kept_codes(cust_raw, keep, customers, "customer", unknown)
            if bool((cust_k < 0).any()):
                keep, (cust_k,) = _drop_unknown(drop, "unknown_customer", n, keep, cust_k, ())
                if len(keep) == 0:
                    raise _no_rows_left(dropped)
            if item_all is not None:
                item_codes, item_index = item_all[keep], cast(IdIndex, items)
            elif items is None:
                item_index, item_codes = new_item_index()
                item_codes = item_codes[keep]
            else:
                item_codes, item_index = _kept_codes(item_raw, keep, items, "item", unknown)
                if bool((item_codes < 0).any()):
                    keep, (item_codes, cust_k) = _drop_unknown(
                        drop, "unknown_item", n, keep, item_codes, (cust_k,)
                    )
                    if len(keep) == 0:
                        raise _no_rows_left(dropped)
            ts_k = ts_i[keep]
            runs = None
            if bsk_raw is None:  # a basket is a (customer, timestamp) pair
                group, n_groups = _pair_groups(cust_k, len(cust_index), ts_k)
                basket_ids = group_basket = g_cust = None
            else:
                bsk_k = _normalise_ids(bsk_raw[keep], "basket")
                runs = _basket_runs(bsk_k, cust_k)
                if runs is not None:  # rows grouped by basket: work on the runs, not rows
                    bsk_k, cust_k = bsk_k[runs.start], cust_k[runs.start]
                basket_ids, bcode = _first_seen_codes(bsk_k, "basket")
                del bsk_k
                group, n_groups, group_basket, g_cust = _scoped_groups(
                    cust_k, len(cust_index), bcode
                )
                del bcode
            stages.step()  # customer and basket ids coded
            t_unit = ts_k if runs is None else _run_min(ts_k, runs, len(ts_k))
            order = _order_units(
                group, n_groups, cust_k, t_unit, basket_ids, group_basket, g_cust, runs
            )
            del group, ts_k, t_unit
    except BaseException:
        if item_job is not None:
            # no thread left running; the error raised is the one of the stage that failed
            # (customers are read before items, items before baskets, as on one thread)
            wait([item_job])
        raise
    report = IngestionReport(
        n_input=n,
        n_kept=int(order.lines.sum()),
        dropped={k: len(v) for k, v in dropped.items()},
        dropped_rows=dropped,
        n_returns_kept=(
            int(np.count_nonzero(is_return & alive))
            if returns == "keep" and is_return is not None
            else 0
        ),
        policies={
            "returns": returns,
            "invalid": invalid,
            "unknown": unknown,
            "zero_quantity": zero_quantity,
        },
    )
    _log.info("%s", report.summary())
    placed = _place_rows(order, runs, keep, (ts_i, qty, val, disc), item_codes, pool)
    stages.step()  # the rows ordered, the item ids coded
    result = cls(
        customer=placed.customer,
        item=placed.item,
        basket=placed.basket,
        timestamp=placed.columns[0].view("datetime64[s]"),
        quantity=placed.columns[1],
        value=placed.columns[2],
        discount=placed.columns[3],
        customers=cust_index,
        items=item_index,
        report=report,
    )
    stages.step()  # the columns gathered into the result
    return result


def _no_rows_left(dropped: Mapping[str, npt.NDArray[np.int64]]) -> EmptyInputError:
    """The error when every row was dropped, with the count per reason."""
    counts = ", ".join(f"{k}: {len(v)}" for k, v in dropped.items())
    return EmptyInputError(
        f"no rows left after dropping invalid rows ({counts})", field="transactions"
    )


class _Pool:
    """A thread pool for the independent stages of ingestion, or the calling thread.

    ``num_threads`` follows the library's convention (0: every core); logs below
    ``_POOL_MIN_ROWS`` rows, or one thread, run inline.
    """

    def __init__(self, num_threads: int, n_rows: int) -> None:
        cores = os.cpu_count() or 1
        wanted = cores if num_threads == 0 else num_threads
        self.threads = 1 if n_rows < _POOL_MIN_ROWS else max(1, min(wanted, 4))
        self._executor = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """``fn(*args)`` on a thread of the pool, or now when there is none."""
        if self._executor is not None:
            return self._executor.submit(fn, *args)
        done: Future[_T] = Future()
        done.set_result(fn(*args))
        return done

    def map(self, fn: Callable[..., _T], *iterables: Any) -> list[_T]:
        """``[fn(*args) for args in zip(*iterables)]``, on the pool's threads."""
        if self._executor is None:
            return [fn(*args) for args in zip(*iterables, strict=True)]
        return list(self._executor.map(fn, *iterables))


#: Below this many rows, ingestion runs on the calling thread (threads would not pay).
_POOL_MIN_ROWS = 100_000


def _kept_codes(
    raw: npt.NDArray[Any],
    keep: npt.NDArray[np.intp],
    index: IdIndex | None,
    name: str,
    unknown: IngestUnknownPolicy,
) -> tuple[npt.NDArray[np.int32], IdIndex]:
    """Codes of the kept rows' ids (-1 for ids not in a given index) and the index used."""
    sub = raw if len(keep) == len(raw) else raw[keep]
    if index is None:
        index, codes = IdIndex.factorize(sub, name=name)
        return codes, index
    codes = index.encode(sub, unknown="keep", field=name)
    if unknown == "raise" and bool((codes < 0).any()):
        bad = sub[codes < 0]
        raise UnknownIdError(
            f"{name}: {len(bad)} row(s) with ids not in the given index, e.g. "
            f"{bad[:3].tolist()}; pass unknown='drop' to drop and count them, or pass a "
            "larger index",
            field=name,
        )
    return codes, index


def _drop_unknown(
    drop: Any,
    reason: str,
    n: int,
    keep: npt.NDArray[np.intp],
    codes: npt.NDArray[np.int32],
    others: tuple[npt.NDArray[Any], ...],
) -> tuple[npt.NDArray[np.intp], tuple[npt.NDArray[Any], ...]]:
    """Drop (and count under ``reason``) the kept rows whose code is -1."""
    unknown = codes < 0
    mask = np.zeros(n, dtype=bool)
    mask[keep[unknown]] = True
    drop(reason, mask)
    ok = ~unknown
    return keep[ok], (codes[ok], *(o[ok] for o in others))


def check_transactions(transactions: Any, name: str = "transactions") -> None:
    """Raise a :class:`~onetoone.errors.ValidationError` unless ``transactions`` is one."""
    if not isinstance(transactions, Transactions):
        raise ValidationError(
            f"{name} must be a Transactions log, got {type(transactions).__name__}; build it "
            "with Transactions.from_arrays / from_pandas / from_arrow / from_parquet",
            field=name,
        )


def _counting_argsort(keys: npt.NDArray[Any], n_keys: int) -> npt.NDArray[Any]:
    """Stable argsort of integer ``keys`` in ``0 .. n_keys-1``: a counting sort, O(n + n_keys).

    The CSR to CSC conversion of a one-row sparse matrix whose column indices are
    the keys and whose data are the row positions is exactly a counting sort
    (scipy's compiled ``csr_tocsc``): positions come out grouped by key, in their
    original order within a key.
    """
    n = len(keys)
    idx = np.int32 if max(n, n_keys) < np.iinfo(np.int32).max else np.int64
    m = sp.csr_array(
        (np.arange(n, dtype=idx), keys.astype(idx, copy=False), np.array([0, n], dtype=idx)),
        shape=(1, n_keys),
    )
    out: npt.NDArray[Any] = m.tocsc().data
    return out


def _first_seen_codes(
    raw: npt.NDArray[Any], name: str
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32]]:
    """Distinct ids (in any order) and the code of each element into them.

    Hashing when pyarrow is there (no sort at all: the distinct ids are not
    needed in order), else ``np.unique``.
    """
    a = _normalise_ids(raw, name)
    if len(a) >= _HASH_MIN_ROWS:
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
        except ImportError:  # pragma: no cover - pyarrow is an optional extra
            pass
        else:
            enc = _dictionary_encode(pa, pc, a)
            if enc is not None:
                uniq = enc.dictionary.to_numpy(zero_copy_only=False)
                if a.dtype.kind == "U":
                    uniq = uniq.astype(a.dtype)
                codes = enc.indices.to_numpy(zero_copy_only=False)
                return uniq, codes.astype(np.int32, copy=False)
    uniq, inverse = np.unique(a, return_inverse=True)
    return uniq, inverse.astype(np.int32).reshape(-1)


def _pair_groups(
    cust: npt.NDArray[np.int32], n_cust: int, ts_i: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int32], int]:
    """Dense codes of the (customer, timestamp) pairs, in any order."""
    if len(ts_i) == 0:
        return np.zeros(0, dtype=np.int32), 0
    t0 = int(ts_i.min())
    span = int(ts_i.max()) - t0 + 1
    if span * max(n_cust, 1) < (1 << 62):
        key = cust.astype(np.int64) * span + (ts_i - t0)
        uniq, codes = _first_seen_codes(key, "key")
        return codes, len(uniq)
    order = np.lexsort((ts_i, cust))  # pragma: no cover - a log spanning > 5,000 years
    new = np.ones(len(order), dtype=bool)
    new[1:] = (cust[order][1:] != cust[order][:-1]) | (ts_i[order][1:] != ts_i[order][:-1])
    codes = np.empty(len(order), dtype=np.int32)
    codes[order] = np.cumsum(new) - 1
    return codes, int(new.sum())


def _scoped_groups(
    cust: npt.NDArray[np.int32], n_cust: int, bcode: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int32], int, npt.NDArray[np.int32], npt.NDArray[np.int32] | None]:
    """Dense codes of the (customer, basket) pairs, with each pair's basket and customer.

    A basket id is scoped to its customer. When every basket id belongs to one
    customer (the usual case) the basket codes are the pair codes already, and
    each pair's customer comes with them; otherwise it is None (not computed).
    """
    n_b = int(bcode.max()) + 1 if len(bcode) else 0
    owner = np.empty(n_b, dtype=np.int32)
    owner[bcode] = cust
    if bool(np.array_equal(owner[bcode], cust)):
        return bcode, n_b, np.arange(n_b, dtype=np.int32), owner
    key = bcode.astype(np.int64) * max(n_cust, 1) + cust
    uniq, codes = _first_seen_codes(key, "key")
    return codes, len(uniq), (uniq // max(n_cust, 1)).astype(np.int32), None


class _Runs(NamedTuple):
    """Runs of consecutive rows with the same (customer, basket): first row and length.

    ``bounds`` cuts the whole log into segments (every run, and the runs of
    dropped rows between them): segment ``k`` is rows ``bounds[k]`` to
    ``bounds[k + 1]``, and run ``i`` is segment ``segment[i]``.
    """

    start: npt.NDArray[np.intp]
    length: npt.NDArray[np.int64]
    bounds: npt.NDArray[np.int64]
    segment: npt.NDArray[np.int64]


#: Rows are handled run by run when the runs are at most this share of the rows.
_RUNS_MAX_SHARE = 0.5


def _basket_runs(
    bsk: npt.NDArray[Any], cust: npt.NDArray[Any], alive: npt.NDArray[np.bool_] | None = None
) -> _Runs | None:
    """The runs of consecutive rows of one (customer, basket), if they are few enough.

    Logs are usually written basket by basket, so the ~10 lines of a basket are
    adjacent: hashing, ordering and placing the runs rather than the rows does
    ten times less random-access work. A basket may still span several runs
    (rows interleaved); the runs are then grouped like rows would be. With
    ``alive``, a run also ends where a dropped row starts or ends, and the runs
    of dropped rows are left out (the runs then have gaps between them).
    Returns None when the rows are too shuffled for runs to pay.
    """
    n = len(bsk)
    if n < 2:
        return None
    brk = bsk[1:] != bsk[:-1]
    brk |= cust[1:] != cust[:-1]
    if alive is not None:
        brk |= alive[1:] != alive[:-1]
    n_runs = int(np.count_nonzero(brk)) + 1
    if n_runs > _RUNS_MAX_SHARE * n:
        return None
    start = np.empty(n_runs, dtype=np.intp)
    start[0] = 0
    start[1:] = np.flatnonzero(brk) + 1
    del brk
    length = np.empty(n_runs, dtype=np.int64)
    length[:-1] = start[1:] - start[:-1]
    length[-1] = n - start[-1]
    bounds = np.empty(n_runs + 1, dtype=np.int64)
    bounds[:-1] = start
    bounds[-1] = n
    if alive is None:
        segment = np.arange(n_runs, dtype=np.int64)
    else:
        segment = np.flatnonzero(alive[start]).astype(np.int64, copy=False)
        start, length = start[segment], length[segment]
    return _Runs(start=start, length=length, bounds=bounds, segment=segment)


def _run_min(ts_i: npt.NDArray[np.int64], runs: _Runs, n: int) -> npt.NDArray[np.int64]:
    """The earliest time of each run (runs in increasing order, gaps allowed)."""
    end = runs.start + runs.length
    if len(runs.start) and bool(
        (runs.start[1:] == end[:-1]).all() and runs.start[0] == 0 and end[-1] == n
    ):
        out: npt.NDArray[np.int64] = np.minimum.reduceat(ts_i, runs.start)
        return out
    # gaps: reduce over [start, end) pairs; the odd slots (a gap, or one row) are ignored
    bounds = np.empty(2 * len(runs.start), dtype=np.intp)
    bounds[0::2] = runs.start
    bounds[1::2] = end
    if bounds[-1] == n:
        bounds = bounds[:-1]
    out = np.minimum.reduceat(ts_i, bounds)[0::2]
    return out


def _run_basket_codes(
    ids: npt.NDArray[Any], cust: npt.NDArray[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32]]:
    """:func:`_first_seen_codes` of the runs' basket ids, without hashing when all differ.

    Each basket is usually one run (or a few adjacent ones, where dropped rows
    split it: those share a code), so the ids of runs that do not continue the
    run before are usually distinct: then they are their own codes. Checked by
    one sort of those ids, which is quick on ids mostly in increasing order (as
    basket numbers are written). ``cust`` is each run's customer.
    """
    if len(ids) >= 2:
        new = np.ones(len(ids), dtype=bool)
        new[1:] = (ids[1:] != ids[:-1]) | (cust[1:] != cust[:-1])
        heads = ids[new] if not bool(new.all()) else ids
        s = np.sort(heads)
        if bool((s[1:] != s[:-1]).all()):
            del s
            if len(heads) == len(ids):
                return ids, np.arange(len(ids), dtype=np.int32)
            codes = np.cumsum(new, dtype=np.int32)
            codes -= 1
            return heads, codes
        del s
    return _first_seen_codes(ids, "basket")


def _whole_runs(
    cust_raw: npt.NDArray[Any],
    bsk_raw: npt.NDArray[Any] | None,
    alive: npt.NDArray[np.bool_] | None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], _Runs] | None:
    """Integer customer and basket ids with the runs of the kept rows, if runs pay.

    Only integer ids: they are read as they are, so no row that is dropped can
    make the ids fail to read. ``alive`` (None: every row) marks the kept rows;
    the runs hold only those. Returns None otherwise.
    """
    if bsk_raw is None or cust_raw.dtype.kind not in "iu" or bsk_raw.dtype.kind not in "iu":
        return None
    cust_n = _normalise_ids(cust_raw, "customer")
    bsk_n = _normalise_ids(bsk_raw, "basket")
    runs = _basket_runs(bsk_n, cust_n, alive)
    return None if runs is None else (cust_n, bsk_n, runs)


def _then(job: Future[Any], fn: Callable[[], _T]) -> Future[_T]:
    """``fn()`` run by ``job``'s thread as soon as ``job`` is done (no thread waits)."""
    out: Future[_T] = Future()

    def run(_: Future[Any]) -> None:
        try:
            out.set_result(fn())
        except BaseException as exc:  # handed to whoever waits for the result
            out.set_exception(exc)

    job.add_done_callback(run)
    return out


def _factorize_items(raw: npt.NDArray[Any]) -> tuple[IdIndex, npt.NDArray[np.int32]]:
    """The index of every row's item and the codes (a function to run on a pool)."""
    return IdIndex.factorize(raw, name="item")


def _factorize_kept_items(
    raw: npt.NDArray[Any], alive: npt.NDArray[np.bool_]
) -> tuple[IdIndex, npt.NDArray[np.int32]]:
    """The index of the kept rows' items, and every row's code (0 on dropped rows)."""
    index, kept = IdIndex.factorize(raw[alive], name="item")
    codes = np.zeros(len(raw), dtype=np.int32)
    codes[alive] = kept
    return index, codes


def _encode_items(
    items: IdIndex, raw: npt.NDArray[Any], alive: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.int32]:
    """Every row's code in ``items`` (-1: unknown), reading only the kept rows' ids.

    The ids of dropped rows (``alive`` False) are never read: an unreadable one
    (NaN, mixed types) is not an error. Rows are coded all at once, and again
    on the kept rows only when that fails.
    """
    try:
        return items.encode(raw, unknown="keep", field="item")
    except ValidationError:
        if alive is None:
            raise
    codes = np.full(len(raw), -1, dtype=np.int32)
    codes[alive] = items.encode(raw[alive], unknown="keep", field="item")
    return codes


def _check_customer_ids(cust_raw: npt.NDArray[Any], alive: npt.NDArray[np.bool_]) -> None:
    """Raise the error of the kept rows' customer ids, if they cannot be read."""
    if cust_raw.dtype.kind not in "iu":  # integers are always read
        _normalise_ids(cust_raw[alive], "customer")


def _prune_items(
    index: IdIndex, codes: npt.NDArray[np.int32], dropped: Mapping[str, npt.NDArray[np.int64]]
) -> tuple[IdIndex, npt.NDArray[np.int32]]:
    """``index`` without the ids seen only on dropped rows, and the codes into it.

    An id seen only on dropped rows is not in the log: it is taken out of the
    index and every code recoded (the codes of dropped rows are then meaningless).
    """
    if not dropped:
        return index, codes
    gone = np.concatenate(list(dropped.values()))
    counts = np.bincount(codes, minlength=len(index))
    counts -= np.bincount(codes[gone], minlength=len(index))
    used = counts > 0
    if bool(used.all()):
        return index, codes
    remap = np.cumsum(used, dtype=np.int32)
    remap -= 1
    return IdIndex(index.values[used]), remap[codes]


class _UnitOrder(NamedTuple):
    """Units (rows, or runs of rows) in log order, and the baskets they make.

    ``perm`` lists the units in order; ``first_unit[r]`` is the position in
    ``perm`` of the first unit of the basket of rank ``r`` (None when each
    basket is one unit: it is then ``r``); ``lines`` and ``customer`` are per
    basket, in rank order.
    """

    perm: npt.NDArray[np.intp]
    first_unit: npt.NDArray[np.int64] | None
    lines: npt.NDArray[np.int64]
    customer: npt.NDArray[np.int32]


def _order_units(
    group: npt.NDArray[np.int32],
    n_groups: int,
    cust: npt.NDArray[np.int32],
    t_unit: npt.NDArray[np.int64],
    basket_ids: npt.NDArray[Any] | None,
    group_basket: npt.NDArray[np.int32] | None,
    g_cust: npt.NDArray[np.int32] | None = None,
    runs: _Runs | None = None,
) -> _UnitOrder:
    """Unit order by (customer, basket's first time, basket id, position).

    ``group`` is the dense basket code (any numbering) of each unit -- a row,
    or a run of rows when ``runs`` is given -- ``cust`` the customer of each
    unit, ``t_unit`` its earliest time, ``g_cust`` the customer of each basket
    when known already. The baskets, about ten times fewer than the rows, are
    put in order by a stable sort on their first time and a counting sort on
    their customer (ties broken by the basket id); the units then follow their
    basket's rank by one counting sort (linear, stable; a plain inverse when
    each basket is one unit). No comparison sort over the rows.
    """
    n_units = len(group)
    if g_cust is None:
        g_cust = np.empty(n_groups, dtype=np.int32)
        g_cust[group] = cust  # every line of a basket has the basket's customer
    # a basket split only by dropped lines is consecutive units: codes never decrease
    head: npt.NDArray[np.intp] | None = None
    if n_units == n_groups:  # one unit per basket: group is a permutation
        t_first = np.empty(n_groups, dtype=np.int64)
        t_first[group] = t_unit
    elif bool((group[1:] >= group[:-1]).all()):
        head = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        t_first = np.minimum.reduceat(t_unit, head)
    else:
        t_first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(t_first, group, t_unit)
    # (customer, first time) by two stable passes: a sort by time (linear on baskets
    # already in time order, as a log written as it happened has them), then a counting
    # sort by customer; ties keep the baskets' code order
    by_time = np.argsort(t_first, kind="stable")
    border = by_time[_counting_argsort(g_cust[by_time], int(g_cust.max()) + 1)]
    del by_time
    if basket_ids is not None and group_basket is not None and n_groups > 1:
        # ties (same customer, same first time) are broken by the basket id
        c_o, t_o = g_cust[border], t_first[border]
        tie = (c_o[1:] == c_o[:-1]) & (t_o[1:] == t_o[:-1])
        if bool(tie.any()):
            in_tie = np.zeros(n_groups, dtype=bool)
            in_tie[1:] |= tie
            in_tie[:-1] |= tie
            pos = np.flatnonzero(in_tie)
            sub = border[pos]
            ids = basket_ids[group_basket[sub]]
            border[pos] = sub[np.lexsort((ids, t_first[sub], g_cust[sub]))]
    del t_first
    if head is not None:  # each basket's units are consecutive: expand the baskets
        count = np.diff(np.r_[head, n_units]).astype(np.int64)[border]
        uperm = _ranges(head[border].astype(np.int64), count).astype(np.intp, copy=False)
        first_unit: npt.NDArray[np.int64] | None = np.r_[0, np.cumsum(count)]
        weights = runs.length if runs is not None else np.ones(n_units, dtype=np.int64)
        lines = np.add.reduceat(weights, head)[border].astype(np.int64, copy=False)
        return _UnitOrder(perm=uperm, first_unit=first_unit, lines=lines, customer=g_cust[border])
    rank = np.empty(n_groups, dtype=np.int32)
    rank[border] = np.arange(n_groups, dtype=np.int32)
    unit_rank = rank[group]
    del rank
    first_unit = None
    if n_units == n_groups:
        uperm = np.empty(n_units, dtype=np.intp)
        uperm[unit_rank] = np.arange(n_units, dtype=np.intp)
    else:
        uperm = _counting_argsort(unit_rank, n_groups).astype(np.intp, copy=False)
        first_unit = np.r_[0, np.cumsum(np.bincount(unit_rank, minlength=n_groups))]
    if runs is None:
        lines = np.bincount(unit_rank, minlength=n_groups)
    elif n_units == n_groups:
        lines = runs.length[uperm]
    else:
        lines = np.bincount(unit_rank, weights=runs.length, minlength=n_groups).astype(np.int64)
    return _UnitOrder(perm=uperm, first_unit=first_unit, lines=lines, customer=g_cust[border])


try:  # scipy's compiled copy of selected CSR rows: one memmove per run, GIL released
    from scipy.sparse._sparsetools import csr_row_index as _csr_row_index
except ImportError:  # pragma: no cover - a scipy without it: numpy's take is used
    _csr_row_index = None


def _copy_runs_works(copy: Any) -> bool:
    """Whether ``copy`` (scipy's private ``csr_row_index``) behaves as this module expects.

    It is private to scipy: a release that changes its arguments or results makes
    ingestion fall back to ``numpy.take`` instead of failing or writing garbage.
    Checked once, on two tiny known answers (int64/float64 and int32/bool pairs).
    """
    if copy is None:
        return False
    try:
        bounds = np.array([0, 2, 3, 5], dtype=np.int64)
        seg = np.array([2, 0], dtype=np.int64)
        ij, x = np.arange(5, dtype=np.int64) * 10, np.arange(5, dtype=np.float64) / 2
        out_j, out_x = np.zeros(4, dtype=np.int64), np.zeros(4)
        copy(2, seg, bounds, ij, x, out_j, out_x)
        item, zero = np.arange(5, dtype=np.int32) + 7, np.zeros(5, dtype=np.bool_)
        out_i, scratch = np.zeros(4, dtype=np.int32), np.empty(4, dtype=np.bool_)
        copy(2, seg.astype(np.int32), bounds.astype(np.int32), item, zero, out_i, scratch)
    except Exception:  # any failure means: do not use it
        return False
    return (
        out_j.tolist() == [30, 40, 0, 10]
        and out_x.tolist() == [1.5, 2.0, 0.0, 0.5]
        and out_i.tolist() == [10, 11, 7, 8]
    )


#: Runs are copied with :func:`_csr_row_index` (else gathered with ``numpy.take``).
_COPY_RUNS = _copy_runs_works(_csr_row_index)


def _run_copier(
    runs: _Runs | None,
    keep: npt.NDArray[np.intp] | None,
    columns: Sequence[npt.NDArray[Any]],
    item: npt.NDArray[np.int32],
) -> Callable[[npt.NDArray[np.intp], list[npt.NDArray[Any]], npt.NDArray[np.int32]], None] | None:
    """A function copying whole runs of the log into the outputs, or None.

    A run is a contiguous slice of every column, so placing the rows is a
    series of short block copies. scipy's ``csr_row_index`` does exactly that
    for the selected rows of a CSR matrix -- here the log's segments
    (``runs.bounds``) -- copying an index-typed and a data-typed array per
    call: (time, value), (quantity as int64 bits, discount), (item, a zero
    byte). Bits are copied, never converted. Used only when the units are
    runs in the log's own positions and the columns have the expected types.
    """
    if (
        not _COPY_RUNS
        or runs is None
        or keep is not None
        or len(columns) != 4
        or columns[0].dtype != np.int64
        or any(c.dtype != np.float64 or not c.flags.c_contiguous for c in columns[1:])
        or not columns[0].flags.c_contiguous
        or item.dtype != np.int32
        or len(item) >= np.iinfo(np.int32).max
    ):
        return None
    ts, qty, val, disc = columns
    qty_bits = qty.view(np.int64)
    bounds, bounds32 = runs.bounds, runs.bounds.astype(np.int32)
    zero = np.zeros(len(item), dtype=np.bool_)  # never written: the kernel's second array

    def copy(units: npt.NDArray[np.intp], outs: list[npt.NDArray[Any]], item_out: Any) -> None:
        seg = runs.segment[units]
        m = len(seg)
        cast(Any, _csr_row_index)(m, seg, bounds, ts, val, outs[0], outs[2])
        cast(Any, _csr_row_index)(m, seg, bounds, qty_bits, disc, outs[1].view(np.int64), outs[3])
        scratch = np.empty(len(item_out), dtype=np.bool_)
        cast(Any, _csr_row_index)(m, seg.astype(np.int32), bounds32, item, zero, item_out, scratch)

    return copy


class _Placed(NamedTuple):
    """The result's row columns, in log order."""

    customer: npt.NDArray[np.int32]
    basket: npt.NDArray[np.int32]
    item: npt.NDArray[np.int32]
    columns: list[npt.NDArray[Any]]


def _place_rows(
    order: _UnitOrder,
    runs: _Runs | None,
    keep: npt.NDArray[np.intp] | None,
    columns: Sequence[npt.NDArray[Any]],
    item: npt.NDArray[np.int32],
    pool: _Pool,
) -> _Placed:
    """Every column gathered into log order, in blocks of baskets on the pool's threads.

    The units' positions (``runs`` of positions, or single positions) index
    ``item``; ``keep`` (None: the same
    positions) maps them to the rows of ``columns``, whose first column is the
    time as int64. Each block of baskets writes its own slice of every output
    (numpy releases the GIL), so no full-length permutation is kept. Lines of a
    basket are then sorted by time only in the baskets whose lines are out of
    time order (no comparison sort over the rows).
    """
    lines = order.lines
    n_b = len(lines)
    ends = np.cumsum(lines)
    n_out = int(ends[-1]) if n_b else 0
    outs = [np.empty(n_out, dtype=c.dtype) for c in columns]
    item_out = np.empty(n_out, dtype=np.int32)
    customer = np.empty(n_out, dtype=np.int32)
    basket = np.empty(n_out, dtype=np.int32)
    # blocks of baskets with about the same number of rows, a few per thread
    n_blocks = 1 if pool.threads == 1 else 4 * pool.threads
    cuts = np.searchsorted(ends, np.arange(1, n_blocks) * (n_out / n_blocks), side="right")
    b_bounds = np.unique(np.r_[0, cuts, n_b]).tolist()
    u_bounds = b_bounds if order.first_unit is None else order.first_unit[b_bounds].tolist()

    copy_runs = _run_copier(runs, keep, columns, item)

    def block(k: int) -> npt.NDArray[np.int64]:
        b0, b1, u0, u1 = b_bounds[k], b_bounds[k + 1], u_bounds[k], u_bounds[k + 1]
        r0 = int(ends[b0 - 1]) if b0 else 0
        r1 = int(ends[b1 - 1]) if b1 else 0
        units = order.perm[u0:u1]
        if copy_runs is not None:  # run by run, straight from the log's columns
            copy_runs(units, [out[r0:r1] for out in outs], item_out[r0:r1])
        else:
            pos = units
            if runs is not None:
                pos = _ranges(runs.start[units].astype(np.int64, copy=False), runs.length[units])
            rows = pos if keep is None else keep[pos]
            for col, out in zip(columns, outs, strict=True):
                np.take(col, rows, out=out[r0:r1], mode="clip")
            del rows
            np.take(item, pos, out=item_out[r0:r1], mode="clip")
            del pos
        customer[r0:r1] = np.repeat(order.customer[b0:b1], lines[b0:b1])
        basket[r0:r1] = np.repeat(np.arange(b0, b1, dtype=np.int32), lines[b0:b1])
        # rows earlier in time than the row before them, other than a basket's first row
        t = outs[0][r0:r1]
        down = np.flatnonzero(t[1:] < t[:-1]) + (r0 + 1)
        late: npt.NDArray[np.int64] = down[basket[down] == basket[down - 1]]
        return late

    late = np.concatenate([*pool.map(block, range(len(b_bounds) - 1)), np.zeros(0, np.int64)])
    if len(late):  # some baskets have lines out of time order: sort those lines only
        bad = np.zeros(n_b, dtype=bool)
        bad[basket[late]] = True
        pos = np.flatnonzero(bad[basket])
        new = pos[np.lexsort((pos, outs[0][pos], basket[pos]))]
        for out in [*outs, item_out]:
            out[pos] = out[new]
    return _Placed(customer=customer, basket=basket, item=item_out, columns=outs)


def _check_policy(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(
            f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}", field=name
        )


@attrs.frozen
class _Policies:
    """The validated ingestion policies of one call."""

    returns: ReturnsPolicy
    invalid: InvalidPolicy
    unknown: IngestUnknownPolicy
    zero_quantity: ZeroQuantityPolicy
    customers: IdIndex | None
    items: IdIndex | None
    num_threads: int
    progress: ProgressCallback | None = None


#: Stages of :func:`_build_transactions`: rows checked, ids coded, rows ordered, columns
#: gathered. ``from_arrow``/``from_pandas`` add one (columns read), ``from_parquet`` two.
_BUILD_STAGES = 4


class _Stages:
    """Tells ``progress(done, total)`` when each of ``total`` ingestion stages ends.

    Ingestion is a few vectorised passes over the whole log, not a loop over
    blocks of rows, so its progress is counted in stages: a handful of calls
    per log, none per row.
    """

    __slots__ = ("done", "progress", "total")

    def __init__(self, progress: ProgressCallback | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def step(self) -> None:
        """One more stage done."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def rest(self) -> ProgressCallback | None:
        """A callback for a nested constructor that runs the remaining stages."""
        progress, offset = self.progress, self.done
        if progress is None:
            return None

        def shifted(done: int, total: int | None) -> None:
            progress(done + offset, None if total is None else total + offset)

        return shifted


def _ingest_iv(
    returns: object,
    invalid: object,
    unknown: object,
    zero_quantity: object,
    customers: object,
    items: object,
    num_threads: object = 0,
    *,
    progress: object = None,
) -> _Policies:
    """Validate the policies shared by every ``Transactions.from_*`` constructor."""
    _check_policy("returns", returns, ("raise", "drop", "keep"))
    _check_policy("invalid", invalid, ("raise", "drop"))
    if unknown == "keep":
        raise ValidationError(
            "unknown='keep' is not possible when ingesting: a row whose customer or item is "
            "not in the given index has no code to keep; pass unknown='drop' (rows dropped "
            "and counted in Transactions.report) or unknown='raise'",
            field="unknown",
        )
    _check_policy("unknown", unknown, ("raise", "drop"))
    _check_policy("zero_quantity", zero_quantity, ("drop", "raise", "keep"))
    for arg, given in (("customers", customers), ("items", items)):
        if given is not None and not isinstance(given, IdIndex):
            raise ValidationError(
                f"{arg} must be an IdIndex (e.g. an earlier log's .{arg}), got "
                f"{type(given).__name__}; build one with IdIndex.from_values",
                field=arg,
            )
    return _Policies(
        returns=cast(ReturnsPolicy, returns),
        invalid=cast(InvalidPolicy, invalid),
        unknown=cast(IngestUnknownPolicy, unknown),
        zero_quantity=cast(ZeroQuantityPolicy, zero_quantity),
        customers=cast("IdIndex | None", customers),
        items=cast("IdIndex | None", items),
        num_threads=check_num_threads(num_threads),
        progress=check_progress(progress),
    )


_COLUMN_ARGS = ("customer", "item", "timestamp", "value", "quantity", "basket", "discount")


def _requested_columns(*cols: str | Sequence[str] | None) -> list[str]:
    """The distinct column names asked for, in order; each must be a ``str``."""
    out: list[str] = []
    for arg, c in zip(_COLUMN_ARGS, cols, strict=True):
        if c is None and arg in _COLUMN_ARGS[:4]:
            raise ValidationError(
                f"{arg}= must name a column (a str), got None; the {arg} column is required",
                field=arg,
            )
        if c is None:
            continue
        many = arg == "discount" and isinstance(c, (list, tuple))
        for name in list(c) if many else [c]:
            if not isinstance(name, str):
                raise ValidationError(
                    f"{arg}= must name a column (a str"
                    + (", or a list of str" if arg == "discount" else "")
                    + f"), got {name!r}; pass the column's name, e.g. {arg}={arg!r}",
                    field=arg,
                )
            if name not in out:
                out.append(name)
    return out


def _check_duplicate_columns(columns: Sequence[Any], names: Sequence[str], what: str) -> None:
    seen: dict[Any, int] = {}
    for c in columns:
        seen[c] = seen.get(c, 0) + 1
    dup = [n for n in names if seen.get(n, 0) > 1]
    if dup:
        raise ValidationError(
            f"the {what} has {len(dup)} column name(s) used more than once among those "
            f"requested: {dup}; rename or drop the duplicates (pandas: "
            "df.loc[:, ~df.columns.duplicated()])",
            field=dup[0],
        )


def _check_missing_columns(columns: Sequence[Any], names: Sequence[str], what: str) -> None:
    present = set(columns)
    missing_cols = [c for c in names if c not in present]
    if missing_cols:
        raise ValidationError(
            f"columns {missing_cols} are not in the {what} (it has {list(columns)}); "
            "name the right columns with the customer=/item=/... keywords",
            field=missing_cols[0],
        )


def _default_quantity(quantity: str | None, columns: Sequence[Any]) -> str | None:
    """``quantity=None`` reads a column named ``"quantity"`` when there is one."""
    if quantity is None and "quantity" in set(columns):
        return "quantity"
    return quantity


def _read_columns(
    col: Callable[[str], npt.NDArray[Any]],
    customer: str,
    item: str,
    timestamp: str,
    value: str,
    quantity: str | None,
    basket: str | None,
    discount: str | Sequence[str] | None,
) -> dict[str, npt.NDArray[Any] | None]:
    """The named columns read by ``col``, as the keywords of :func:`_build_transactions`."""
    return {
        "customer": col(customer),
        "item": col(item),
        "timestamp": col(timestamp),
        "value": col(value),
        "quantity": None if quantity is None else col(quantity),
        "basket": None if basket is None else col(basket),
        "discount": _sum_discount(discount, col),
    }


def _sum_discount(discount: str | Sequence[str] | None, col: Any) -> npt.NDArray[np.float64] | None:
    if discount is None:
        return None
    names = [discount] if isinstance(discount, str) else list(discount)
    first = as_float(col(names[0]), names[0])
    if len(names) == 1:
        return first  # only read
    total = np.add(first, as_float(col(names[1]), names[1]))  # no copy of the first column
    for name in names[2:]:
        total += as_float(col(name), name)
    return total


def _to_arrow_table(pa: Any, table: Any) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    for attr in ("to_arrow", "arrow", "fetch_arrow_table"):
        if hasattr(table, attr):
            out = getattr(table, attr)()
            if isinstance(out, pa.RecordBatchReader):
                out = out.read_all()
            return _to_arrow_table(pa, out)
    raise ValidationError(
        f"cannot read a {type(table).__name__} as an Arrow table; pass a pyarrow.Table or an "
        "object with __arrow_c_stream__ (polars, DuckDB, ADBC)",
        field="table",
    )


# --------------------------------------------------------------------------- catalogue
@attrs.frozen(eq=False)
class Catalogue:
    """Item attributes: a category (and optionally a brand) per item.

    Attributes
    ----------
    items : IdIndex
        Items described.
    category : int32 array
        Code into :attr:`categories` per item, ``-1`` where unknown.
    categories : IdIndex
    brand : int32 array or None
        Code into :attr:`brands` per item, ``-1`` where unknown.
    brands : IdIndex or None

    Examples
    --------
    >>> cat = Catalogue.from_arrays(item=[1, 2, 3], category=["milk", "bread", "milk"])
    >>> cat.categories.to_list()
    ['bread', 'milk']
    >>> cat.category_codes(IdIndex.from_values([3, 9])).tolist()
    [1, -1]
    """

    items: IdIndex
    category: npt.NDArray[np.int32] = attrs.field(converter=readonly)
    categories: IdIndex
    brand: npt.NDArray[np.int32] | None = attrs.field(default=None)
    brands: IdIndex | None = None

    def __attrs_post_init__(self) -> None:
        if len(self.category) != len(self.items):
            raise ValidationError(
                f"category has {len(self.category)} entries for {len(self.items)} items",
                field="category",
            )
        if (self.brand is None) != (self.brands is None):
            raise ValidationError("brand and brands must be given together", field="brand")
        if self.brand is not None and len(self.brand) != len(self.items):
            raise ValidationError(
                f"brand has {len(self.brand)} entries for {len(self.items)} items", field="brand"
            )

    @classmethod
    def from_arrays(cls, *, item: Any, category: Any, brand: Any = None) -> Catalogue:
        """Build from aligned columns; ``None``/NaN/empty category or brand means unknown.

        Raises :class:`~onetoone.errors.ValidationError` for duplicate items.
        """
        item_a = as_id_column(item, "item")
        check_nonempty(len(item_a), "item")
        items, codes = IdIndex.factorize_unique(
            item_a, name="item", what="item", fix="a catalogue has one row per item"
        )
        order = np.argsort(codes)

        def encode(values: Any, name: str) -> tuple[npt.NDArray[np.int32], IdIndex]:
            a = as_1d(values, name)
            check_lengths(len(item_a), **{name: a})
            a = a[order]
            known = _known_labels(a)
            labels, lab_codes = IdIndex.factorize(a[known].astype(str), name=name)
            out = np.full(len(a), -1, dtype=np.int32)
            out[known] = lab_codes
            return out, labels

        cat_codes, categories = encode(category, "category")
        if brand is None:
            return cls(items=items, category=cat_codes, categories=categories)
        brand_codes, brands = encode(brand, "brand")
        return cls(
            items=items,
            category=cat_codes,
            categories=categories,
            brand=readonly(brand_codes),
            brands=brands,
        )

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        item: str = "item",
        category: str = "category",
        brand: str | None = None,
    ) -> Catalogue:
        """Build from a DataFrame with one row per item.

        Raises :class:`~onetoone.errors.ValidationError` when ``df`` is not a
        DataFrame, or a named column is missing or appears more than once.
        """
        pd = import_optional("pandas", purpose="Catalogue.from_pandas")
        if not isinstance(df, pd.DataFrame):
            raise ValidationError(
                f"df must be a pandas DataFrame, got {type(df).__name__}; use "
                "Catalogue.from_arrays for columns",
                field="df",
            )
        names: list[str] = []
        for arg, c in (("item", item), ("category", category), ("brand", brand)):
            if c is None and arg == "brand":
                continue
            if not isinstance(c, str):
                raise ValidationError(f"{arg}= must name a column (a str), got {c!r}", field=arg)
            names.append(c)
        _check_missing_columns(list(df.columns), names, "DataFrame")
        _check_duplicate_columns(list(df.columns), names, "DataFrame")
        return cls.from_arrays(
            item=df[item].to_numpy(),
            category=df[category].to_numpy(dtype=object),
            brand=None if brand is None else df[brand].to_numpy(dtype=object),
        )

    def category_codes(self, items: IdIndex) -> npt.NDArray[np.int32]:
        """Category code of each item of ``items`` (-1 if unknown or not catalogued)."""
        return _lookup(self.items, self.category, items)

    def brand_codes(self, items: IdIndex) -> npt.NDArray[np.int32]:
        """Brand code of each item of ``items`` (-1 if unknown or not catalogued)."""
        if self.brand is None:
            raise ValidationError("this catalogue has no brand column", field="brand")
        return _lookup(self.items, self.brand, items)


def _known_labels(a: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if a.dtype.kind == "f":
        return np.asarray(np.isfinite(a))
    if a.dtype.kind in "iuU":
        return np.asarray(a != "") if a.dtype.kind == "U" else np.ones(len(a), dtype=bool)
    known: npt.NDArray[np.bool_] = np.array(
        [v is not None and v == v and str(v) != "" for v in a], dtype=bool
    )
    return known


def _lookup(own: IdIndex, table: npt.NDArray[np.int32], items: IdIndex) -> npt.NDArray[np.int32]:
    if own.kind != items.kind:
        raise ValidationError(
            f"catalogue items are {own.kind}s but the items asked for are {items.kind}s",
            field="items",
        )
    codes = own.encode(items.values, unknown="keep", field="items")
    out = np.full(len(items), -1, dtype=np.int32)
    known = codes >= 0
    out[known] = table[codes[known]]
    return out


# --------------------------------------------------------------------------- matrices
def grouped_csr(
    row: npt.NDArray[np.integer[Any]],
    col: npt.NDArray[np.integer[Any]],
    data: npt.NDArray[Any],
    shape: tuple[int, int],
    *,
    block_cells: int = 1 << 22,
) -> sp.csr_array:
    """Canonical CSR (sorted indices, duplicates summed) from entries sorted by ``row``.

    Linear time, no comparison sort: with few columns, rows are processed in
    blocks whose dense ``rows x cols`` sums fit in ``block_cells`` cells
    (``np.bincount``); otherwise a round trip through CSC (a counting sort)
    orders each row's columns. Memory is bounded by the block or by the entries.
    """
    n_rows, n_cols = shape
    if len(row) == 0:
        return sp.csr_array(shape, dtype=np.float64)
    if n_cols <= block_cells // 64:
        return _blocked_dense_sums(row, col, data, shape, block_cells)
    counts = np.bincount(row, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    m = sp.csr_array((data, col, indptr), shape=shape)
    m.has_sorted_indices = False
    csc = m.tocsc()  # sorted row indices within each column
    csc.sum_duplicates()
    out = csc.tocsr()
    out.has_sorted_indices = True
    return out


def _blocked_dense_sums(
    row: npt.NDArray[np.integer[Any]],
    col: npt.NDArray[np.integer[Any]],
    data: npt.NDArray[Any],
    shape: tuple[int, int],
    block_cells: int,
) -> sp.csr_array:
    n_rows, n_cols = shape
    rows_per_block = max(1, block_cells // max(n_cols, 1))
    may_cancel = not bool(np.all(data > 0))
    bounds = np.searchsorted(row, np.arange(0, n_rows + rows_per_block, rows_per_block))
    indptr_parts = [np.zeros(1, dtype=np.int64)]
    idx_parts: list[npt.NDArray[Any]] = []
    val_parts: list[npt.NDArray[Any]] = []
    nnz = 0
    for b in range(len(bounds) - 1):  # a loop over blocks of rows, not over rows
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        r0 = b * rows_per_block
        n_blk = min(rows_per_block, n_rows - r0)
        if n_blk <= 0:
            break
        if hi > lo:
            key = (row[lo:hi].astype(np.int64) - r0) * n_cols + col[lo:hi]
            dense = np.bincount(key, weights=data[lo:hi], minlength=n_blk * n_cols)
            if may_cancel:  # a pair can sum to zero: find presence separately
                present = np.bincount(key, minlength=n_blk * n_cols) > 0
            else:
                present = dense != 0
            flat = np.flatnonzero(present)
            per_row = np.bincount(flat // n_cols, minlength=n_blk)
            idx_parts.append((flat % n_cols).astype(np.int32))
            val_parts.append(dense[flat])
        else:
            per_row = np.zeros(n_blk, dtype=np.int64)
        indptr_parts.append(nnz + np.cumsum(per_row))
        nnz += int(per_row.sum())
    indptr = np.concatenate(indptr_parts)
    if len(indptr) < n_rows + 1:
        indptr = np.r_[indptr, np.full(n_rows + 1 - len(indptr), nnz)]
    indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, dtype=np.int32)
    values = np.concatenate(val_parts) if val_parts else np.zeros(0)
    out = sp.csr_array((values, indices, indptr), shape=shape)
    out.has_sorted_indices = True
    return out


def distinct_per_row(
    row: npt.NDArray[np.integer[Any]], col: npt.NDArray[np.integer[Any]], shape: tuple[int, int]
) -> npt.NDArray[np.int64]:
    """Number of distinct ``col`` values per row, for entries sorted by ``row``.

    One counting sort by column (CSR -> CSC), after which each column's rows
    are sorted, so a repeated (row, col) pair is adjacent.
    """
    n_rows, n_cols = shape
    if len(row) == 0:
        return np.zeros(n_rows, dtype=np.int64)
    # int32 index arrays when every size fits: scipy then neither copies ``col`` to
    # int64 nor writes an int64 CSC (half the bytes moved by the counting sort)
    fits = max(len(row), n_rows, n_cols) <= np.iinfo(np.int32).max
    idx = np.int32 if fits else np.int64
    indptr = np.zeros(n_rows + 1, dtype=idx)
    np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
    data = np.ones(len(row), dtype=np.int8)
    csc = sp.csr_array((data, col.astype(idx, copy=False), indptr), shape=shape).tocsc()
    r = csc.indices
    first = np.empty(len(r), dtype=bool)
    first[0] = True
    np.not_equal(r[1:], r[:-1], out=first[1:])
    first[csc.indptr[:-1][np.diff(csc.indptr) > 0]] = True
    return np.bincount(r[first], minlength=n_rows)


#: Rows per block when distinct values are counted block by block (a block's counting
#: sort then stays in the CPU's cache).
_DISTINCT_BLOCK_ROWS = 1 << 18


def distinct_per_row_start(
    row: npt.NDArray[np.integer[Any]],
    col: npt.NDArray[np.integer[Any]],
    shape: tuple[int, int],
    pool: _Pool,
) -> Callable[[], npt.NDArray[np.int64]]:
    """:func:`distinct_per_row` started on ``pool``'s threads, block by block.

    The entries (sorted by ``row``) are cut into blocks of about
    :data:`_DISTINCT_BLOCK_ROWS` at row boundaries; each block's counting sort
    is small enough to stay in cache, and the blocks run on the pool while the
    caller goes on. Returns the function that waits for them and gives the
    counts.
    """
    n = len(row)
    n_rows = shape[0]
    n_blocks = max(1, min(n // _DISTINCT_BLOCK_ROWS, n_rows))
    if n_blocks == 1 or pool.threads == 1:
        done = pool.submit(distinct_per_row, row, col, shape)
        return done.result
    cuts = np.arange(1, n_blocks) * (n // n_blocks)
    # move each cut forward to the next change of row (blocks hold whole rows)
    first = np.searchsorted(row, row[cuts], side="left")
    bounds = np.unique(np.r_[0, first, n]).tolist()
    out = np.zeros(n_rows, dtype=np.int64)

    def block(k: int) -> None:
        a, b = bounds[k], bounds[k + 1]
        r = row[a:b]
        r0, r1 = int(r[0]), int(r[-1]) + 1
        out[r0:r1] = distinct_per_row(r - r0, col[a:b], (r1 - r0, shape[1]))

    jobs = [pool.submit(block, k) for k in range(len(bounds) - 1)]

    def result() -> npt.NDArray[np.int64]:
        for job in jobs:
            job.result()
        return out

    return result


def customer_item_matrix(
    transactions: Transactions,
    *,
    weight: Weight = "quantity",
    as_of: TimeLike | None = None,
    since: TimeLike | None = None,
) -> sp.csr_array:
    """Customer x item matrix of the log, in ``[since, as_of)``.

    Parameters
    ----------
    transactions : Transactions
    weight : {"quantity", "value", "lines", "baskets"}
        What a cell sums: units, amount paid, lines, or distinct baskets.
    as_of, since : time, optional
        Use only rows with ``since <= timestamp < as_of``.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(n_customers, n_items)``, float64, sorted indices, no explicit zeros
        for present pairs unless their weights net to zero (returns).

    Raises
    ------
    ValidationError
        ``transactions`` is not a log, an unknown ``weight``, a bad time.

    Examples
    --------
    >>> tx = Transactions.from_arrays(customer=[1, 1, 1, 2], item=["a", "a", "b", "b"],
    ...     timestamp=["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-03"],
    ...     value=[1.0, 1.0, 2.0, 2.0], quantity=[1, 2, 1, 1])
    >>> customer_item_matrix(tx).toarray().tolist()
    [[3.0, 1.0], [0.0, 1.0]]
    >>> customer_item_matrix(tx, weight="baskets").toarray().tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    >>> customer_item_matrix(tx, as_of="2024-01-02").toarray().tolist()
    [[3.0, 0.0], [0.0, 0.0]]
    """
    since64, as_of64 = _customer_item_matrix_iv(transactions, weight, as_of, since)
    tx = (
        transactions.between(since64, as_of64)
        if (as_of64 is not None or since64 is not None)
        else transactions
    )
    shape = (tx.n_customers, tx.n_items)
    if weight == "quantity":
        data = tx.quantity
    elif weight == "value":
        data = tx.value
    elif weight == "lines":
        data = np.ones(tx.n_rows)
    elif weight == "baskets":
        # one count per distinct (basket, item): drop repeated lines of an item in a basket
        key_sorted = np.lexsort((tx.item, tx.basket))
        b, it = tx.basket[key_sorted], tx.item[key_sorted]
        first = np.ones(len(b), dtype=bool)
        first[1:] = (b[1:] != b[:-1]) | (it[1:] != it[:-1])
        rows = np.sort(key_sorted[first])
        return grouped_csr(tx.customer[rows], tx.item[rows], np.ones(len(rows)), shape)
    else:
        raise ValidationError(
            f"weight must be 'quantity', 'value', 'lines' or 'baskets'; got {weight!r}",
            field="weight",
        )
    return grouped_csr(tx.customer, tx.item, data, shape)


def _customer_item_matrix_iv(
    transactions: Any, weight: Any, as_of: Any, since: Any
) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    check_transactions(transactions)
    if weight not in ("quantity", "value", "lines", "baskets"):
        raise ValidationError(
            f"weight must be 'quantity', 'value', 'lines' or 'baskets'; got {weight!r}",
            field="weight",
        )
    since64 = None if since is None else to_datetime64(since, "since")
    as_of64 = None if as_of is None else to_datetime64(as_of, "as_of")
    return since64, as_of64


def days_between(
    later: np.datetime64, earlier: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.float64]:
    """``later - earlier`` in fractional days."""
    return np.asarray(
        (later.astype("datetime64[s]").astype(np.int64) - earlier.astype(np.int64))
        / SECONDS_PER_DAY,
        dtype=np.float64,
    )
