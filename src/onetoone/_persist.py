"""Safe persistence: one ``.npz`` file of plain arrays plus JSON metadata, never pickle.

Every stage saves its value objects the same way: named numeric or string
arrays, and a JSON document (stored inside the archive as UTF-8 bytes) that
names the file's ``kind`` and ``format_version``. Writes go to a temporary file
first and are moved into place, so a crash never leaves a half-written file
under the final name; a path whose suffix is not ``.npz`` is refused.

Reading trusts nothing in the file. :func:`load_npz` checks, in this order and
before it decompresses any array:

1. the zip directory: only ``<name>.npy`` members, no duplicates, no
   encryption, stored or deflated, and declared sizes the archive can hold (a
   deflated member cannot expand more than :data:`MAX_RATIO` times);
2. the JSON header: exact keys, ``kind``, ``format_version`` (an ``int``, not a
   ``bool``), and each metadata field against its :class:`Field` (type, range,
   choices; sizes such as ``n_customers`` are bound here);
3. each member against its :class:`Member`: a known name, an allowed numeric
   or string dtype (never object, complex or structured), the number of
   dimensions, a shape that agrees with the sizes bound so far, and a declared
   byte size equal to what that shape implies;

and only then reads each array (at most its declared size) and checks its
values (finite, in range). A failure of any check raises
:class:`~onetoone.errors.FormatError` naming the file and the part at fault.
Loaders add the checks that relate several parts (sorted pairs, CSR structure
via :func:`unpack_csr`).

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
>>> save_npz(path, kind="Demo", version=1, arrays={"a": np.arange(3)}, meta={"n": 3})
>>> arrays, meta = load_npz(path, kind="Demo", versions=(1,),
...                         fields={"n": Field("int", lo=0, size="n")},
...                         members={"a": Member("iu", ("n",), lo=0)})
>>> arrays["a"].tolist(), meta["n"]
([0, 1, 2], 3)
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone.data import IdIndex
from onetoone.errors import FormatError, ValidationError

__all__ = [
    "read_kind",
    "MAX_RATIO",
    "Field",
    "Member",
    "check_suffix",
    "csr_members",
    "load_ids",
    "load_npz",
    "pack_csr",
    "save_npz",
    "unpack_csr",
]

MAGIC = "onetoone"
_META_KEY = "__onetoone_meta__"
SUFFIX = ".npz"
#: A deflated member may declare at most this many bytes per compressed byte (deflate's
#: own limit is about 1032), plus :data:`_SLACK`; a larger claim is a zip bomb or a lie.
MAX_RATIO = 1100
_SLACK = 4096
_MAX_HEADER_BYTES = 16 << 20  # the JSON header member
_MAX_NPY_HEADER = 10_000  # numpy's own default for .npy headers
_MAX_MEMBERS = 4096  # members of an archive read without a spec
_HEADER_KEYS = frozenset({"format", "kind", "format_version", "meta"})

Dim = int | str
FieldType = Literal["int", "float", "bool", "str", "strs", "dict"]


def _short(v: Any, n: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


@attrs.frozen
class Field:
    """Spec of one field of a file's JSON metadata.

    Parameters
    ----------
    type : {"int", "float", "bool", "str", "strs", "dict"}
        ``int`` is a JSON integer (never ``true``/``false``); ``float`` a JSON
        number, finite; ``strs`` a list of strings; ``dict`` an object whose keys
        are exactly those of ``fields``.
    lo, hi : float, optional
        Inclusive bounds of an ``int`` or ``float``.
    choices : tuple of str, optional
        Allowed values of a ``str``.
    nullable : bool
        JSON ``null`` is allowed (read as ``None``).
    size : str, optional
        Name under which an ``int`` (or the length of a ``strs``) is bound, so
        members' shapes can refer to it.
    unique : bool
        The strings of a ``strs`` must be distinct.
    max_len : int
        Longest string accepted.
    fields : Mapping[str, Field], optional
        The fields of a ``dict``.
    """

    type: FieldType
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    size: str | None = None
    unique: bool = False
    max_len: int = 10_000
    fields: Mapping[str, Field] | None = None


@attrs.frozen
class Member:
    """Spec of one array member of an archive.

    Parameters
    ----------
    kinds : str
        Allowed numpy dtype kinds: ``"f"`` float, ``"i"``/``"u"`` integer,
        ``"U"`` unicode, ``"b"`` bool.
    shape : tuple of int or str
        One entry per dimension: a fixed length, or a size expression
        ``"name"``, ``"name+1"``, ``"name-1"``. A name bound by the header or an
        earlier member must agree; an unbound plain name is bound by this
        member's declared shape.
    dtype : str, optional
        The dtype the array is converted to after its checks (the values must
        fit it exactly); ``None`` keeps the stored dtype (in native byte order).
    lo, hi : float or str, optional
        Inclusive bounds of the values; a string is a size expression.
    finite : bool
        Floats must be finite; with ``posinf`` also ``+inf`` is allowed.
    posinf : bool
        ``+inf`` is allowed (for caps and limits); NaN never is.
    required : bool
        The member must be present.
    """

    kinds: str
    shape: tuple[Dim, ...]
    dtype: str | None = None
    lo: float | str | None = None
    hi: float | str | None = None
    finite: bool = True
    posinf: bool = False
    required: bool = True


# --------------------------------------------------------------------------- writing
def check_suffix(path: str | os.PathLike[str], *, what: str, hint: str = "") -> str:
    """The path as a string, or ValidationError if it does not end in ``.npz``.

    A file is never written in one format under another format's name (a
    ``plan.parquet`` holding an ``.npz`` archive misleads every reader).
    """
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ValidationError(
            f"path must be a str or os.PathLike[str], got {target!r}", field="path"
        )
    suffix = os.path.splitext(target)[1]
    if suffix.lower() != SUFFIX:
        got = f"suffix {suffix!r}" if suffix else "no suffix"
        raise ValidationError(
            f"path {target!r} has {got}, but {what} writes a {SUFFIX} archive; name the file "
            f"'...{SUFFIX}'" + (f" ({hint})" if hint else ""),
            field="path",
        )
    return target


def save_npz(
    path: str | os.PathLike[str],
    *,
    kind: str,
    version: int,
    arrays: Mapping[str, npt.NDArray[Any]],
    meta: Mapping[str, Any],
    compress: bool = True,
    hint: str = "",
) -> None:
    """Write ``arrays`` and JSON ``meta`` to ``path`` (which must end in ``.npz``).

    Raises :class:`~onetoone.errors.ValidationError` for a path without the
    ``.npz`` suffix (``hint`` is added to the message), an object array (which
    would need pickle) or metadata that is not JSON-serialisable.
    """
    target = check_suffix(path, what=f"saving a {kind}", hint=hint)
    for name, a in arrays.items():
        if name == _META_KEY:
            raise ValidationError(f"array name {name!r} is reserved", field="arrays")
        if np.asarray(a).dtype.kind == "O":
            raise ValidationError(
                f"array {name!r} has dtype object, which cannot be saved without pickle; "
                "convert it to numbers or fixed-width strings",
                field=name,
            )
    header = {"format": MAGIC, "kind": kind, "format_version": int(version), "meta": dict(meta)}
    try:
        text = json.dumps(header, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata is not JSON-serialisable: {exc}", field="meta") from exc
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"cannot write {target}: the folder {directory} does not exist; create it first"
        )
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if compress:
                np.savez_compressed(f, allow_pickle=False, **payload)
            else:
                np.savez(f, allow_pickle=False, **payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would (mkstemp makes it 0600)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- reading
# Errors that reading untrusted bytes can raise: each means "damaged file".
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    SyntaxError,
    OverflowError,
    RecursionError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
)

_EXPR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)([+-]\d+)?$")


def _resolve(expr: Dim | float, sizes: Mapping[str, int]) -> float | None:
    """The value of a size expression (None if its name is not bound yet)."""
    if not isinstance(expr, str):
        return expr
    m = _EXPR.match(expr)
    if m is None:  # a bug in a spec, not in a file
        raise AssertionError(f"bad size expression {expr!r}")
    if m.group(1) not in sizes:
        return None
    return sizes[m.group(1)] + int(m.group(2) or 0)


class _Reader:
    """One archive being read: the file's name for messages, the sizes bound so far."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.sizes: dict[str, int] = {}

    def fail(self, msg: str) -> FormatError:
        return FormatError(f"{self.target}: {msg}")

    # ---------------------------------------------------------------- zip directory
    def directory(
        self, zf: zipfile.ZipFile, members: Mapping[str, Member] | None
    ) -> dict[str, zipfile.ZipInfo]:
        archive_size = os.path.getsize(self.target)
        infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in zf.infolist():
            name = info.filename
            if not name.endswith(".npy") or "/" in name or "\\" in name:
                raise self.fail(f"unexpected archive member {_short(name)}; not a onetoone file")
            key = name[:-4]
            if key in infos:
                raise self.fail(f"archive member {_short(name)} appears twice")
            if key != _META_KEY and members is not None and key not in members:
                want = ", ".join(sorted(members))
                raise self.fail(
                    f"unknown archive member {_short(name)} (this file kind holds {want}); "
                    "the file was altered or written by another program"
                )
            if info.flag_bits & 0x1:
                raise self.fail(f"archive member {_short(name)} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.fail(
                    f"archive member {_short(name)} uses compression method "
                    f"{info.compress_type}; only stored or deflated members are read"
                )
            if info.compress_size > archive_size:
                raise self.fail(f"archive member {_short(name)} claims more bytes than the file")
            limit = (
                info.compress_size
                if info.compress_type == zipfile.ZIP_STORED
                else MAX_RATIO * info.compress_size + _SLACK
            )
            if info.file_size > limit:
                raise self.fail(
                    f"archive member {_short(name)} declares {info.file_size:,} bytes from "
                    f"{info.compress_size:,} compressed bytes (a zip bomb or a damaged file)"
                )
            total += info.file_size
            infos[key] = info
            if members is None and len(infos) > _MAX_MEMBERS:
                raise self.fail(f"more than {_MAX_MEMBERS} archive members")
        if total > MAX_RATIO * archive_size + _SLACK * max(len(infos), 1):
            raise self.fail("the archive declares more data than it can hold (a zip bomb)")
        return infos

    # ---------------------------------------------------------------- one .npy member
    def npy_header(
        self, zf: zipfile.ZipFile, info: zipfile.ZipInfo
    ) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
        """Shape, Fortran order, dtype and header length of a member, data unread."""
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                    f, max_header_size=_MAX_NPY_HEADER
                )
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                    f, max_header_size=_MAX_NPY_HEADER
                )
            else:
                raise ValueError(f".npy format version {version} is not read")
            return tuple(int(s) for s in shape), bool(fortran), dtype, int(f.tell())

    def check_layout(
        self, name: str, spec: Member | None, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> None:
        """dtype, dimensions and shape of a member against its spec (binds new sizes)."""
        kinds = spec.kinds if spec is not None else "biufU"
        if (
            dtype.hasobject
            or dtype.fields is not None
            or dtype.subdtype is not None
            or dtype.kind not in kinds
            or dtype.itemsize == 0
        ):
            raise self.fail(
                f"member {name!r} has dtype {dtype}; expected "
                + " or ".join(
                    {"f": "float", "i": "int", "u": "uint", "U": "str", "b": "bool"}[k]
                    for k in kinds
                )
            )
        if spec is None:
            return
        if len(shape) != len(spec.shape):
            raise self.fail(
                f"member {name!r} has {len(shape)} dimension(s), expected {len(spec.shape)}"
            )
        for axis, (got, want) in enumerate(zip(shape, spec.shape, strict=True)):
            need = _resolve(want, self.sizes)
            if need is None:  # an unbound plain name: this member declares it
                assert isinstance(want, str)
                self.sizes[want] = got
            elif got != need:
                what = f" ({want})" if isinstance(want, str) else ""
                raise self.fail(
                    f"member {name!r} has {got:,} entries along axis {axis}, expected "
                    f"{int(need):,}{what}"
                )

    def read_data(
        self,
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        shape: tuple[int, ...],
        fortran: bool,
        dtype: np.dtype[Any],
        header_len: int,
    ) -> npt.NDArray[Any]:
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if info.file_size != header_len + nbytes:
            raise self.fail(
                f"member {info.filename!r} declares {info.file_size:,} bytes but its shape "
                f"{shape} of {dtype} needs {header_len + nbytes:,}"
            )
        with zf.open(info) as f:
            f.read(header_len)
            buf = f.read(nbytes)
            if len(buf) != nbytes or f.read(1):
                raise self.fail(f"member {info.filename!r} is truncated")
        flat = np.frombuffer(buf, dtype=dtype, count=count)
        arr = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
        out: npt.NDArray[Any] = np.ascontiguousarray(arr, dtype=dtype.newbyteorder("="))
        return out

    def check_values(self, name: str, spec: Member, a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if a.dtype.kind == "f":
            bad = np.isnan(a) | (np.isinf(a) & ((a < 0) | (not spec.posinf)))
            if spec.finite and bool(bad.any()):
                allowed = "finite or +inf" if spec.posinf else "finite"
                raise self.fail(f"member {name!r} holds {int(bad.sum())} value(s) not {allowed}")
        for bound, side in ((spec.lo, "lo"), (spec.hi, "hi")):
            if bound is None or a.size == 0 or a.dtype.kind not in "fiub":
                continue
            b = _resolve(bound, self.sizes)
            assert b is not None, f"size {bound!r} of {name!r} not bound"
            extreme = a.min() if side == "lo" else a.max()
            if (side == "lo" and extreme < b) or (side == "hi" and extreme > b):
                word = "below" if side == "lo" else "above"
                raise self.fail(
                    f"member {name!r} holds {_short(extreme.item())}, {word} the allowed "
                    f"{'minimum' if side == 'lo' else 'maximum'} {_short(b)}"
                )
        if spec.dtype is not None and a.dtype != np.dtype(spec.dtype):
            target = np.dtype(spec.dtype)
            if a.dtype.kind in "iu" and target.kind in "iu" and a.size:
                info = np.iinfo(target)
                if int(a.min()) < info.min or int(a.max()) > info.max:
                    raise self.fail(f"member {name!r} does not fit {target}")
            with np.errstate(over="ignore", invalid="ignore"):
                conv = a.astype(target)
            finite_only = target.kind == "f" and spec.finite and not spec.posinf
            if finite_only and not bool(np.isfinite(conv).all()):
                raise self.fail(f"member {name!r} overflows {target}")
            a = conv
        return a

    # ---------------------------------------------------------------- JSON header
    def header(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
        if info.file_size > _MAX_HEADER_BYTES:
            raise self.fail("the onetoone header is implausibly large")
        shape, fortran, dtype, hlen = self.npy_header(zf, info)
        if dtype != np.uint8 or len(shape) != 1:
            raise self.fail("the onetoone header is not a byte string")
        raw = self.read_data(zf, info, shape, fortran, dtype, hlen)

        def no_constants(s: str) -> Any:
            raise ValueError(f"{s} is not a JSON number")

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            out = dict(pairs)
            if len(out) != len(pairs):
                raise ValueError("a key appears twice")
            return out

        try:
            header = json.loads(
                raw.tobytes().decode("utf-8"),
                parse_constant=no_constants,
                object_pairs_hook=no_duplicates,
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.fail(f"the header is not valid JSON ({_short(str(exc), 120)})") from exc
        if not isinstance(header, dict):
            raise self.fail("the header is not a JSON object")
        return header

    def fields(self, where: str, spec: Mapping[str, Field], got: Any) -> dict[str, Any]:
        if not isinstance(got, dict):
            raise self.fail(f"{where} is not a JSON object")
        extra = sorted(set(got) - set(spec))
        missing = sorted(set(spec) - set(got))
        if extra or missing:
            parts = ([f"unknown {extra}"] if extra else []) + (
                [f"missing {missing}"] if missing else []
            )
            raise self.fail(f"{where} has {' and '.join(parts)} field(s)")
        return {k: self.field(f"{where}.{k}", f, got[k]) for k, f in spec.items()}

    def field(self, where: str, f: Field, v: Any) -> Any:
        if v is None and f.nullable:
            return None

        def bad(what: str) -> FormatError:
            return self.fail(f"header field {where} must be {what}, got {_short(v)}")

        rng = "" if f.lo is None and f.hi is None else f" in [{f.lo}, {f.hi}]"
        if f.type == "int":
            if (
                type(v) is not int
                or (f.lo is not None and v < f.lo)
                or (f.hi is not None and v > f.hi)
            ):
                raise bad(f"an integer{rng}")
            if f.size is not None:
                self.sizes[f.size] = v
            return v
        if f.type == "float":
            if type(v) not in (int, float):
                raise bad(f"a number{rng}")
            try:
                x = float(v)
            except OverflowError:
                x = math.inf
            if (
                not math.isfinite(x)
                or (f.lo is not None and x < f.lo)
                or (f.hi is not None and x > f.hi)
            ):
                raise bad(f"a finite number{rng}")
            return x
        if f.type == "bool":
            if type(v) is not bool:
                raise bad("true or false")
            return v
        if f.type == "str":
            if type(v) is not str or len(v) > f.max_len:
                raise bad(f"a string of at most {f.max_len} characters")
            if f.choices is not None and v not in f.choices:
                raise bad(f"one of {list(f.choices)}")
            return v
        if f.type == "strs":
            if type(v) is not list or not all(type(s) is str and len(s) <= f.max_len for s in v):
                raise bad("a list of strings")
            if f.unique and len(set(v)) != len(v):
                raise bad("a list of distinct strings")
            if f.size is not None:
                self.sizes[f.size] = len(v)
            return list(v)
        assert f.fields is not None, f"field {where} of type dict needs fields"
        return self.fields(f"header field {where}", f.fields, v)


def load_npz(
    path: str | os.PathLike[str],
    *,
    kind: str | Collection[str],
    versions: Collection[int],
    fields: Mapping[str, Field] | Callable[[str], Mapping[str, Field]] | None = None,
    members: Mapping[str, Member] | Callable[[str], Mapping[str, Member]] | None = None,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """Read a file written by :func:`save_npz`, checking it against a spec; ``(arrays, meta)``.

    Parameters
    ----------
    path : str or os.PathLike
    kind : str or collection of str
        Accepted kinds; the file's own kind is returned in ``meta["__kind__"]``.
    versions : collection of int
        Accepted ``format_version`` values.
    fields : Mapping[str, Field] or callable, optional
        The metadata's fields (exactly these keys), or a function of the kind
        returning them. ``None`` returns the metadata unchecked.
    members : Mapping[str, Member] or callable, optional
        The archive's arrays (no other names accepted), or a function of the
        kind returning them. ``None`` accepts any member of a plain numeric,
        bool or string dtype (for tools that inspect files).

    Raises
    ------
    FormatError
        Not an ``.npz`` archive, no onetoone header, another ``kind``, a
        ``format_version`` not in ``versions``, or any part not as specified
        (see the module's docstring for the checks and their order).
    FileNotFoundError
        No file at ``path``.
    """
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ValidationError(
            f"path must be a str or os.PathLike[str], got {target!r}", field="path"
        )
    r = _Reader(target)
    kinds = [kind] if isinstance(kind, str) else list(kind)
    try:
        with open(target, "rb") as f, zipfile.ZipFile(f) as zf:
            infos_all = r.directory(zf, None)
            meta_info = infos_all.pop(_META_KEY, None)
            if meta_info is None:
                raise r.fail("it has no onetoone header; it was not written by onetoone.save")
            header = r.header(zf, meta_info)
            if header.get("format") != MAGIC:
                raise r.fail("the header does not mark a onetoone file")
            file_kind = header.get("kind")
            if file_kind not in kinds:
                want = " or ".join(repr(k) for k in kinds)
                raise r.fail(f"it holds a {_short(file_kind)}, not a {want}")
            version = header.get("format_version")
            if version is None:
                raise r.fail("the header has no format_version")
            if type(version) is not int or version not in versions:
                raise r.fail(
                    f"it has format_version {_short(version)}; this onetoone reads "
                    f"{sorted(versions)}; re-save it with a matching onetoone version"
                )
            extra = sorted(set(header) - _HEADER_KEYS)
            if extra:
                raise r.fail(f"the header has unknown key(s) {_short(extra)}")
            assert isinstance(file_kind, str)
            spec_m = members(file_kind) if callable(members) else members
            spec_f = fields(file_kind) if callable(fields) else fields
            if spec_m is not None:  # unknown names, before anything is decompressed
                r.directory(zf, spec_m)
            if spec_f is None:
                meta = header.get("meta")
                if not isinstance(meta, dict):
                    raise r.fail("the header's meta is not a JSON object")
            else:
                meta = r.fields("the header's meta", spec_f, header.get("meta"))
            arrays = _read_members(r, zf, infos_all, spec_m)
    except FileNotFoundError:
        raise
    except FormatError:
        raise
    except _READ_ERRORS as exc:
        raise FormatError(
            f"{target} is not a readable .npz file ({_short(str(exc), 160)})"
        ) from exc
    meta["__kind__"] = file_kind
    return arrays, meta


def read_kind(path: str | os.PathLike[str]) -> str:
    """The ``kind`` a onetoone file declares, reading only its directory and header.

    Raises :class:`~onetoone.errors.FormatError` for a file that is not a onetoone
    ``.npz`` file, and ``FileNotFoundError`` when there is none.
    """
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ValidationError(
            f"path must be a str or os.PathLike[str], got {target!r}", field="path"
        )
    r = _Reader(target)
    try:
        with open(target, "rb") as f, zipfile.ZipFile(f) as zf:
            infos = r.directory(zf, None)
            meta_info = infos.get(_META_KEY)
            if meta_info is None:
                raise r.fail("it has no onetoone header; it was not written by onetoone.save")
            header = r.header(zf, meta_info)
    except FileNotFoundError:
        raise
    except FormatError:
        raise
    except _READ_ERRORS as exc:
        raise FormatError(
            f"{target} is not a readable .npz file ({_short(str(exc), 160)})"
        ) from exc
    kind = header.get("kind")
    if header.get("format") != MAGIC or not isinstance(kind, str):
        raise r.fail("the header does not mark a onetoone file")
    return kind


def _read_members(
    r: _Reader,
    zf: zipfile.ZipFile,
    infos: Mapping[str, zipfile.ZipInfo],
    spec: Mapping[str, Member] | None,
) -> dict[str, npt.NDArray[Any]]:
    names = list(spec) if spec is not None else sorted(infos)
    layouts: dict[str, tuple[tuple[int, ...], bool, np.dtype[Any], int]] = {}
    for name in names:  # pass 1: every layout, before any data is read
        m = spec[name] if spec is not None else None
        if name not in infos:
            if m is not None and m.required:
                raise r.fail(f"missing part {name!r}")
            continue
        try:
            layout = r.npy_header(zf, infos[name])
        except _READ_ERRORS as exc:
            raise r.fail(f"member {name!r} is not a .npy array ({_short(str(exc), 120)})") from exc
        r.check_layout(name, m, layout[0], layout[2])
        count = math.prod(layout[0])
        if infos[name].file_size != layout[3] + count * layout[2].itemsize:
            raise r.fail(
                f"member {name!r} declares {infos[name].file_size:,} bytes but its shape "
                f"{layout[0]} of {layout[2]} needs {layout[3] + count * layout[2].itemsize:,}"
            )
        layouts[name] = layout
    out: dict[str, npt.NDArray[Any]] = {}
    for name, (shape, fortran, dtype, hlen) in layouts.items():  # pass 2: data and values
        a = r.read_data(zf, infos[name], shape, fortran, dtype, hlen)
        out[name] = r.check_values(name, spec[name], a) if spec is not None else a
    return out


# --------------------------------------------------------------------------- sparse
def pack_csr(name: str, m: sp.csr_array) -> dict[str, npt.NDArray[Any]]:
    """The arrays that describe CSR matrix ``m``, under keys prefixed ``name``."""
    return {
        f"{name}.data": np.asarray(m.data),
        f"{name}.indices": np.asarray(m.indices),
        f"{name}.indptr": np.asarray(m.indptr),
        f"{name}.shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_members(name: str, rows: str, cols: str, *, lo: float | None = None) -> dict[str, Member]:
    """Member specs of a CSR matrix saved by :func:`pack_csr` with ``rows x cols`` sizes.

    Data must be finite floats (``>= lo`` if given); the number of stored
    entries is bound as size ``"<name>.nnz"``.
    """
    nnz = f"{name}_nnz".replace(".", "_")
    return {
        f"{name}.shape": Member("iu", (2,), dtype="int64", lo=0),
        f"{name}.indptr": Member("iu", (f"{rows}+1",), dtype="int64", lo=0),
        f"{name}.indices": Member("iu", (nnz,), dtype="int32", lo=0, hi=f"{cols}-1"),
        f"{name}.data": Member("f", (nnz,), dtype="float64", lo=lo),
    }


def unpack_csr(
    name: str, arrays: Mapping[str, npt.NDArray[Any]], *, shape: tuple[int, int] | None = None
) -> sp.csr_array:
    """Rebuild the CSR matrix saved by :func:`pack_csr`, checking its structure first.

    The stored shape must be two non-negative ints (equal to ``shape`` if given),
    ``indptr`` must start at 0, never decrease and end at the number of stored
    entries, and the column indices must lie in range and increase strictly
    within each row (canonical form: sorted, no duplicates). Anything else
    raises :class:`FormatError` before scipy sees the arrays (scipy trusts
    them, and out-of-range indices crash the process).
    """
    try:
        raw_shape = np.asarray(arrays[f"{name}.shape"])
        data = np.asarray(arrays[f"{name}.data"])
        indices = np.asarray(arrays[f"{name}.indices"])
        indptr = np.asarray(arrays[f"{name}.indptr"])
    except KeyError as exc:
        raise FormatError(f"sparse matrix {name!r} is incomplete in the file: {exc}") from exc

    def bad(msg: str) -> FormatError:
        return FormatError(f"sparse matrix {name!r} is corrupt: {msg}")

    if raw_shape.shape != (2,) or raw_shape.dtype.kind not in "iu":
        raise bad("its shape is not two integers")
    n_rows, n_cols = int(raw_shape[0]), int(raw_shape[1])
    if n_rows < 0 or n_cols < 0 or max(n_rows, n_cols) >= np.iinfo(np.int32).max:
        raise bad(f"shape ({n_rows}, {n_cols}) is out of range")
    if shape is not None and (n_rows, n_cols) != tuple(shape):
        raise bad(f"shape ({n_rows}, {n_cols}) differs from the expected {tuple(shape)}")
    for part, a, kinds in (
        ("data", data, "f"),
        ("indices", indices, "iu"),
        ("indptr", indptr, "iu"),
    ):
        if a.ndim != 1 or a.dtype.kind not in kinds:
            raise bad(f"{part} is not a 1-D array of {'floats' if kinds == 'f' else 'ints'}")
    nnz = len(data)
    if len(indices) != nnz:
        raise bad(f"{len(indices)} indices for {nnz} values")
    if len(indptr) != n_rows + 1:
        raise bad(f"indptr has {len(indptr)} entries, expected {n_rows + 1}")
    ptr = indptr.astype(np.int64) if indptr.dtype != np.uint64 else indptr
    if int(ptr[0]) != 0 or int(ptr[-1]) != nnz or bool((np.diff(ptr) < 0).any()):
        raise bad("indptr must start at 0, never decrease and end at the number of values")
    if not bool(np.isfinite(data).all()):
        raise bad("data holds NaN or infinite values")
    if nnz:
        if int(indices.min()) < 0 or int(indices.max()) >= n_cols:
            raise bad(f"column indices must lie in 0..{n_cols - 1}")
        idx = indices.astype(np.int64)
        row_start = np.zeros(nnz, dtype=bool)
        starts = ptr[1:-1]
        row_start[starts[starts < nnz].astype(np.int64)] = True
        if not bool(((np.diff(idx) > 0) | row_start[1:]).all()):
            raise bad("column indices must increase strictly within each row")
    index_dtype = np.int32 if nnz < np.iinfo(np.int32).max else np.int64
    m = sp.csr_array(
        (
            np.asarray(data, dtype=np.float64),
            indices.astype(index_dtype),
            ptr.astype(index_dtype),
        ),
        shape=(n_rows, n_cols),
    )
    m.has_sorted_indices = True
    return m


def load_ids(values: npt.NDArray[Any], name: str) -> IdIndex:
    """The :class:`~onetoone.data.IdIndex` stored as array ``name``.

    Integers are widened to int64 (uint64 ids above ``2**63 - 1`` stay uint64);
    IdIndex's own checks (one dimension, ints or strings, sorted and unique)
    apply; a failure is a damaged file, so it is raised as :class:`FormatError`.
    """
    v = values
    if v.dtype.kind == "i" or (v.dtype.kind == "u" and (v.size == 0 or int(v.max()) < 2**63)):
        v = v.astype(np.int64)
    try:
        return IdIndex(v)
    except ValidationError as exc:
        raise FormatError(f"{name}: {exc}") from exc
