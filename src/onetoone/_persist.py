"""Safe persistence: one ``.npz`` file of plain arrays plus JSON metadata, never pickle.

Every stage saves its value objects the same way: named numeric or string
arrays, and a JSON document (stored inside the archive as UTF-8 bytes) that
names the file's ``kind`` and ``format_version``. :func:`load_npz` reads with
``allow_pickle=False`` and refuses a file of another kind, another version or
without the header, raising :class:`~onetoone.errors.FormatError`. Writes go to
a temporary file first and are moved into place, so a crash never leaves a
half-written file under the final name.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
>>> save_npz(path, kind="Demo", version=1, arrays={"a": np.arange(3)}, meta={"n": 3})
>>> arrays, meta = load_npz(path, kind="Demo", versions=(1,))
>>> arrays["a"].tolist(), meta["n"]
([0, 1, 2], 3)
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone.data import IdIndex
from onetoone.errors import FormatError, ValidationError

__all__ = ["load_ids", "load_npz", "pack_csr", "save_npz", "unpack_csr"]

MAGIC = "onetoone"
_META_KEY = "__onetoone_meta__"


def save_npz(
    path: str | os.PathLike[str],
    *,
    kind: str,
    version: int,
    arrays: Mapping[str, npt.NDArray[Any]],
    meta: Mapping[str, Any],
    compress: bool = True,
) -> None:
    """Write ``arrays`` and JSON ``meta`` to ``path`` (an ``.npz`` file).

    Raises :class:`~onetoone.errors.ValidationError` for an object array (which
    would need pickle) or metadata that is not JSON-serialisable.
    """
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
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if compress:
                np.savez_compressed(f, allow_pickle=False, **payload)
            else:
                np.savez(f, allow_pickle=False, **payload)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(
    path: str | os.PathLike[str], *, kind: str | Collection[str], versions: Collection[int]
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """Read a file written by :func:`save_npz`; return ``(arrays, meta)``.

    ``kind`` may name several accepted kinds; the file's own kind is then in
    ``meta["__kind__"]``.

    Raises
    ------
    FormatError
        Not an ``.npz`` archive, no onetoone header, another ``kind``, or a
        ``format_version`` not in ``versions``.
    """
    target = os.fspath(path)
    try:
        with np.load(target, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FormatError(f"{target} is not a readable .npz file ({exc})") from exc
    raw = arrays.pop(_META_KEY, None)
    if raw is None or raw.dtype != np.uint8:
        raise FormatError(f"{target} has no onetoone header; it was not written by onetoone.save")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{target}: the header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise FormatError(f"{target}: the header does not mark a onetoone file")
    kinds = [kind] if isinstance(kind, str) else list(kind)
    if header.get("kind") not in kinds:
        want = " or ".join(repr(k) for k in kinds)
        raise FormatError(f"{target} holds a {header.get('kind')!r}, not a {want}")
    version = header.get("format_version")
    if version is None:
        raise FormatError(f"{target}: the header has no format_version")
    if version not in versions:
        raise FormatError(
            f"{target} has format_version {version!r}; this onetoone reads "
            f"{sorted(versions)}; re-save it with a matching onetoone version"
        )
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise FormatError(f"{target}: the header's meta is not a JSON object")
    meta["__kind__"] = header["kind"]
    return arrays, meta


def pack_csr(name: str, m: sp.csr_array) -> dict[str, npt.NDArray[Any]]:
    """The arrays that describe CSR matrix ``m``, under keys prefixed ``name``."""
    return {
        f"{name}.data": np.asarray(m.data),
        f"{name}.indices": np.asarray(m.indices),
        f"{name}.indptr": np.asarray(m.indptr),
        f"{name}.shape": np.asarray(m.shape, dtype=np.int64),
    }


def unpack_csr(name: str, arrays: Mapping[str, npt.NDArray[Any]]) -> sp.csr_array:
    """Rebuild the CSR matrix saved by :func:`pack_csr`; FormatError if parts are missing."""
    try:
        shape = tuple(int(s) for s in arrays[f"{name}.shape"])
        m = sp.csr_array(
            (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
            shape=shape,
        )
    except KeyError as exc:
        raise FormatError(f"sparse matrix {name!r} is incomplete in the file: {exc}") from exc
    except ValueError as exc:
        raise FormatError(f"sparse matrix {name!r} is corrupt: {exc}") from exc
    return m


def load_ids(values: npt.NDArray[Any], name: str) -> IdIndex:
    """The :class:`~onetoone.data.IdIndex` stored as array ``name`` (ints widened to int64).

    IdIndex's own checks (one dimension, ints or strings, sorted and unique)
    apply; a failure is a damaged file, so it is raised as :class:`FormatError`.
    """
    v = values.astype(np.int64) if values.dtype.kind in "iu" else values
    try:
        return IdIndex(v)
    except ValidationError as exc:
        raise FormatError(f"{name}: {exc}") from exc
