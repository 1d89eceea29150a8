"""Tables in and out: Parquet, CSV and Arrow IPC files through pyarrow.

The outer shells (the ``onetoone`` command line, an ERP plugin) move tables
between files and the pipeline with two functions: :func:`read_table` and
:func:`write_table`. Both need the ``arrow`` extra (``pip install
'onetoone[arrow]'``); pyarrow is imported inside them, so importing this module
costs nothing.

Writes are atomic: the table is written to a temporary file in the target's
folder and moved into place with :func:`os.replace`, so a crash or an error
never leaves a half-written file under the final name (an existing file is
replaced only by a complete one).

The format is taken from ``format=`` or else from the file name's suffix:

============  ==========================================
format        suffixes
============  ==========================================
``parquet``   ``.parquet``, ``.pq``
``csv``       ``.csv``
``arrow``     ``.arrow``, ``.feather``, ``.ipc`` (Arrow IPC file format)
============  ==========================================

PostgreSQL tables are read and written by ``onetoone.io._postgres`` (the
``postgres`` extra), which the command line imports lazily for a source of
``kind = "postgres"`` and for ``[outputs] plan_table``. The seam is two functions:

- ``read_postgres(dsn, *, query=None, table=None, params=None) -> pyarrow.Table``:
  exactly one of ``query`` / ``table``; values only through ``params``, never in
  the SQL text.
- ``write_postgres(dsn, table, data, *, if_exists="replace")`` (``"replace"``,
  ``"append"`` or ``"fail"``): ``data`` is a ``pyarrow.Table`` (the plan, with
  columns ``customer_id, offer_id, value, cost``), written in one transaction.

Both raise :class:`OSError` (e.g. :class:`ConnectionError` for an unreachable
server; the command exits with its I/O code) or :class:`~onetoone.errors.ValidationError`
(a bad argument), and never put the password in a message. Without the module the
command raises :class:`~onetoone.errors.MissingDependencyError` naming the extra.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Literal

from onetoone._optional import import_optional
from onetoone.errors import FormatError, ValidationError

__all__ = ["FORMATS", "Format", "format_of", "read_table", "write_table"]

#: A file format :func:`read_table` and :func:`write_table` understand.
Format = Literal["parquet", "csv", "arrow"]

#: The formats, in the order they are documented.
FORMATS: tuple[str, ...] = ("parquet", "csv", "arrow")

_SUFFIXES: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}


def _path_iv(path: Any, field: str) -> str:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"{field} must be a str or os.PathLike path, got {type(path).__name__}",
            field=field,
        )
    text = os.fspath(path)
    if not text:
        raise ValidationError(f"{field} must be a non-empty path", field=field)
    return text


def format_of(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The file format of ``path``: ``format`` if given, else from its suffix.

    Parameters
    ----------
    path : str or os.PathLike
    format : {"parquet", "csv", "arrow"}, optional

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    ValidationError
        ``format`` is not one of :data:`FORMATS`, or it is None and the suffix
        is not known (``field="format"``).

    Examples
    --------
    >>> format_of("plan.parquet"), format_of("log.CSV"), format_of("x.feather")
    ('parquet', 'csv', 'arrow')
    >>> format_of("data.txt", "csv")
    'csv'
    >>> format_of("data.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onetoone.errors.ValidationError: cannot tell the format of 'data.txt' from its suffix; ...
    """
    text = _path_iv(path, "path")
    if format is not None:
        if format not in FORMATS:
            raise ValidationError(
                f"format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}",
                field="format",
            )
        return format
    suffix = os.path.splitext(text)[1].lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise ValidationError(
        f"cannot tell the format of {os.path.basename(text)!r} from its suffix; pass "
        f"format= one of {', '.join(map(repr, FORMATS))} (suffixes {', '.join(_SUFFIXES)})",
        field="format",
    )


def read_table(path: str | os.PathLike[str], format: str | None = None) -> Any:
    """Read a Parquet, CSV or Arrow IPC file into a ``pyarrow.Table``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    format : {"parquet", "csv", "arrow"}, optional
        Default: from the suffix (see :func:`format_of`). CSV columns get
        pyarrow's type inference (integers, floats, ISO timestamps, strings).

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FormatError
        The file is not a readable table of that format.
    ValidationError
        A bad ``path`` or ``format``.
    MissingDependencyError
        pyarrow is not installed (``pip install 'onetoone[arrow]'``).

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow as pa
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> write_table(pa.table({"customer": [1, 2], "value": [2.5, 1.0]}), path)
    >>> read_table(path).to_pydict()
    {'customer': [1, 2], 'value': [2.5, 1.0]}
    """
    fmt = format_of(path, format)
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise FileNotFoundError(f"cannot read {text}: no such file")
    pa = import_optional("pyarrow", purpose="read_table")
    try:
        if fmt == "parquet":
            pq = import_optional("pyarrow.parquet", purpose="read_table")
            return pq.read_table(text)
        if fmt == "csv":
            return _read_csv(pa, text)
        ipc = import_optional("pyarrow.ipc", purpose="read_table")
        with pa.memory_map(text, "r") as source:
            return ipc.open_file(source).read_all()
    except (pa.ArrowException, ValueError) as exc:
        raise FormatError(f"cannot read {text} as {fmt}: {exc}") from exc


def _read_csv(pa: Any, path: str) -> Any:
    """pyarrow's CSV reader, with integer columns beyond int64 read exactly as uint64.

    pyarrow infers an integer column with a value above ``2**63 - 1`` (a uint64 id)
    as float64, which would silently round the ids; such columns are read again as
    text and, when every value is an integer, cast to uint64 exactly.
    """
    csv = import_optional("pyarrow.csv", purpose="read_table")
    pc = import_optional("pyarrow.compute", purpose="read_table")
    table = csv.read_csv(path)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    if not floats:
        return table
    raw = csv.read_csv(
        path,
        convert_options=csv.ConvertOptions(
            include_columns=floats,
            column_types={name: pa.string() for name in floats},
            strings_can_be_null=True,
        ),
    )
    for name in floats:
        col = raw.column(name)
        if col.null_count == len(col) or not pc.all(
            pc.match_substring_regex(col, r"^\+?[0-9]+$")
        ).as_py():
            continue
        try:
            exact = pc.cast(col, pa.uint64())
        except pa.ArrowInvalid:  # beyond uint64: keep the float column
            continue
        table = table.set_column(table.schema.get_field_index(name), name, exact)
    return table


def write_table(table: Any, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write a ``pyarrow.Table`` to a Parquet, CSV or Arrow IPC file, atomically.

    Parameters
    ----------
    table : pyarrow.Table
    path : str or os.PathLike
        The file to write (replaced if it exists); its folder must exist.
    format : {"parquet", "csv", "arrow"}, optional
        Default: from the suffix (see :func:`format_of`).

    Raises
    ------
    ValidationError
        ``table`` is not a ``pyarrow.Table``, or a bad ``path`` or ``format``.
    FileNotFoundError
        The folder of ``path`` does not exist.
    MissingDependencyError
        pyarrow is not installed.

    Notes
    -----
    The table is written to a temporary file in the same folder, which is then
    moved over ``path`` with :func:`os.replace` (atomic on POSIX and Windows
    within one file system). On any error the temporary file is removed and
    ``path`` is left as it was. Schema metadata (such as the ``b"onetoone"``
    header of :meth:`Plan.to_arrow <onetoone.Plan.to_arrow>`) is kept in
    Parquet and Arrow files; CSV has no place for it.

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow as pa
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "plan.parquet")
    >>> write_table(pa.table({"customer_id": [7], "offer_id": ["a"]}), path)
    >>> read_table(path).num_rows, sorted(os.listdir(folder))
    (1, ['plan.parquet'])
    """
    fmt = format_of(path, format)
    pa = import_optional("pyarrow", purpose="write_table")
    if not isinstance(table, pa.Table):
        raise ValidationError(
            f"table must be a pyarrow.Table, got {type(table).__name__}", field="table"
        )
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"cannot write {target}: the folder {directory} does not exist; create it first"
        )
    suffix = os.path.splitext(target)[1] or f".{fmt}"
    fd, tmp = tempfile.mkstemp(prefix=".onetoone-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        if fmt == "parquet":
            pq = import_optional("pyarrow.parquet", purpose="write_table")
            pq.write_table(table, tmp)
        elif fmt == "csv":
            csv = import_optional("pyarrow.csv", purpose="write_table")
            csv.write_csv(table, tmp)
        else:
            ipc = import_optional("pyarrow.ipc", purpose="write_table")
            with pa.OSFile(tmp, "wb") as sink, ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would (mkstemp makes it 0600)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
