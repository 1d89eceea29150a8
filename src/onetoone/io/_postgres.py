"""PostgreSQL in and out through ADBC: Arrow tables without row-by-row conversion.

:func:`read_postgres` runs a query (or reads a whole table) and returns a
``pyarrow.Table``; :func:`write_postgres` writes a ``pyarrow.Table`` to a table in
one transaction (bulk ``COPY`` through ``adbc_ingest``). Both need the
``postgres`` extra (``pip install 'onetoone[postgres]'``: ``adbc-driver-postgresql``,
``adbc-driver-manager`` and ``pyarrow``), imported inside the functions.

Safety rules, all tested against a real server (``tests/db``):

- Values never go into SQL text. A query takes bind parameters: positional
  (``$1``, ``$2`` ... with a sequence) or named (``:name`` with a mapping,
  rewritten to positional placeholders outside quotes, comments and ``::``
  casts). Table names must match ``name`` or ``schema.name`` with each part
  ``[A-Za-z_][A-Za-z0-9_]*`` (at most 63 characters) and are double-quoted, so
  their case is kept exactly as written.
- Passwords never appear in messages: every error names the data source by its
  redacted DSN (:func:`redact_dsn`), and the driver's own text is scrubbed too;
  driver exceptions are not chained (their text could hold the DSN).
- Nothing is lost silently. A read records, in the table's schema metadata under
  ``b"onetoone.postgres"`` (JSON), the number of rows, the NULL count of every
  column, and each conversion made; the same summary is logged (logger
  ``onetoone.io.postgres``, INFO; WARNING when a column has NULLs).

Type mapping on read: ``int2/int4/int8`` stay integers (ids as ``int64``),
``text/varchar`` are strings, ``timestamptz`` is an Arrow UTC timestamp (the
library reads it as UTC wall time, see :meth:`onetoone.data.Transactions.from_arrow`),
``timestamp`` (without time zone) is a naive timestamp taken as written.
``numeric``/``decimal`` columns are converted **explicitly to float64** (about 15
significant digits; the conversion is recorded); other types the driver cannot
map to Arrow are kept as their text form (recorded too).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from onetoone._optional import import_optional
from onetoone.errors import DataSourceError, ValidationError
from onetoone.io._dsn import _KV_PASSWORD, _URI_QUERY_PASSWORD, _URI_USERINFO
from onetoone.io._dsn import passwords as _passwords
from onetoone.io._dsn import scrub as _scrub

__all__ = ["redact_dsn", "read_postgres", "write_postgres"]

_LOG = logging.getLogger("onetoone.io.postgres")

#: Schema metadata key of the read summary.
METADATA_KEY = b"onetoone.postgres"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PURPOSE = "PostgreSQL I/O"
_FIX_CONNECT = (
    "check the host, port, database name, user and password in the DSN (for example "
    "postgresql://user:PASSWORD@host:5432/dbname), that the server is running and accepts "
    "TCP connections from this machine, and that the user may log in"
)


# --------------------------------------------------------------------------- DSN


def redact_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``***``.

    Handles URIs (``postgresql://user:pw@host/db``, ``?password=pw``) and
    key=value strings (``host=h password=pw``).

    Parameters
    ----------
    dsn : str

    Returns
    -------
    str

    Examples
    --------
    >>> redact_dsn("postgresql://shop:s3cret@db.example:5432/erp?sslmode=require")
    'postgresql://shop:***@db.example:5432/erp?sslmode=require'
    >>> redact_dsn("host=db.example user=shop password='s3 cret' dbname=erp")
    'host=db.example user=shop password=*** dbname=erp'
    """
    out = _URI_USERINFO.sub(lambda m: f"{m.group(1)}:***@", dsn)
    out = _URI_QUERY_PASSWORD.sub(lambda m: f"{m.group(1)}***", out)
    if not dsn.lower().startswith(("postgresql://", "postgres://")):
        out = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}***", out)
    return _scrub(out, _passwords(dsn))


class _Source:
    """A DSN with the means to talk about it without its password."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.secrets = _passwords(dsn)
        self.shown = redact_dsn(dsn)

    def clean(self, text: str) -> str:
        return _scrub(text.replace(self.dsn, self.shown), self.secrets)


def _dsn_iv(dsn: Any, connect_timeout: Any) -> _Source:
    if not isinstance(dsn, str) or not dsn.strip():
        raise ValidationError(
            f"dsn must be a non-empty str, got {type(dsn).__name__}; pass a libpq connection "
            "string such as 'postgresql://user:PASSWORD@host:5432/dbname'",
            field="dsn",
        )
    src = _Source(dsn)
    if "\x00" in dsn:
        raise ValidationError(f"dsn {src.shown!r} holds a NUL character", field="dsn")
    is_uri = dsn.lower().startswith(("postgresql://", "postgres://"))
    if not is_uri and "=" not in dsn:
        raise ValidationError(
            f"dsn {src.shown!r} is neither a postgresql:// URI nor a key=value connection "
            "string; pass e.g. 'postgresql://user:PASSWORD@host:5432/dbname'",
            field="dsn",
        )
    if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int):
        raise ValidationError(
            f"connect_timeout must be an int number of seconds, got {connect_timeout!r}",
            field="connect_timeout",
        )
    if connect_timeout < 1:
        raise ValidationError(
            f"connect_timeout must be >= 1 second, got {connect_timeout}",
            field="connect_timeout",
        )
    return src


def _with_timeout(dsn: str, seconds: int) -> str:
    if "connect_timeout" in dsn:
        return dsn
    if dsn.lower().startswith(("postgresql://", "postgres://")):
        sep = "&" if "?" in dsn else "?"
        return f"{dsn}{sep}connect_timeout={seconds}"
    return f"{dsn} connect_timeout={seconds}"


# --------------------------------------------------------------------------- names


def _table_iv(table: Any, field: str = "table") -> tuple[str | None, str]:
    """``(schema, name)`` of a validated table name; ValidationError otherwise."""
    if not isinstance(table, str):
        raise ValidationError(
            f"{field} must be a str such as 'plan' or 'crm.plan', got {type(table).__name__}",
            field=field,
        )
    parts = table.split(".")
    if len(parts) > 2 or not all(_IDENT.fullmatch(p) for p in parts):
        raise ValidationError(
            f"{field} {table!r} is not a plain table name: use 'name' or 'schema.name' where "
            "each part starts with a letter or '_' and has only letters, digits and '_' "
            "(at most 63 characters); names are quoted, so case is kept as written",
            field=field,
        )
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def _quoted(schema: str | None, name: str) -> str:
    return f'"{name}"' if schema is None else f'"{schema}"."{name}"'


# --------------------------------------------------------------------------- params

_PARAM_TYPES = (type(None), bool, int, float, str, bytes)


def _param_iv(value: Any, where: str) -> None:
    import datetime
    import decimal

    ok = isinstance(value, (*_PARAM_TYPES, datetime.date, datetime.datetime, decimal.Decimal))
    if isinstance(value, (list, tuple)):
        for v in value:
            _param_iv(v, where)
        return
    if not ok:
        raise ValidationError(
            f"parameter {where} is a {type(value).__name__}; bind None, bool, int, float, str, "
            "bytes, Decimal, date, datetime, or a list of these",
            field="params",
        )


def _named_to_positional(query: str, params: Mapping[str, object]) -> tuple[str, list[object]]:
    """Rewrite ``:name`` placeholders to ``$k`` outside quotes, comments and ``::``."""
    out: list[str] = []
    order: dict[str, int] = {}
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in "'\"":
            j = i + 1
            while j < n:
                if query[j] == ch:
                    if j + 1 < n and query[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(query[i : j + 1])
            i = j + 1
        elif query.startswith("--", i):
            j = query.find("\n", i)
            j = n if j < 0 else j
            out.append(query[i:j])
            i = j
        elif query.startswith("/*", i):
            j = query.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(query[i:j])
            i = j
        elif ch == "$" and (m := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", query[i:])):
            tag = m.group(0)
            j = query.find(tag, i + len(tag))
            j = n if j < 0 else j + len(tag)
            out.append(query[i:j])
            i = j
        elif ch == "$" and re.match(r"\$\d", query[i:]):
            raise ValidationError(
                "query uses positional placeholders ($1 ...) but params is a mapping; pass "
                "params as a sequence, or write the placeholders as :name",
                field="params",
            )
        elif ch == ":" and query.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and (m := re.match(r":([A-Za-z_][A-Za-z0-9_]*)", query[i:])):
            name = m.group(1)
            if name not in params:
                raise ValidationError(
                    f"query uses the parameter :{name} but params has no key {name!r}; "
                    f"keys given: {sorted(params)}",
                    field="params",
                )
            order.setdefault(name, len(order) + 1)
            out.append(f"${order[name]}")
            i += len(m.group(0))
        else:
            out.append(ch)
            i += 1
    unused = sorted(set(params) - set(order))
    if unused:
        raise ValidationError(
            f"params has keys the query does not use: {unused}; use them as :name in the "
            "query or remove them",
            field="params",
        )
    return "".join(out), [params[k] for k in order]


def _read_iv(
    query: Any, table: Any, params: Any
) -> tuple[str, list[object] | None, Literal["query", "table"]]:
    if (query is None) == (table is None):
        raise ValidationError(
            "pass exactly one of query= (SQL text with bind parameters) or table= (a table name)",
            field="query" if query is not None else "table",
        )
    if table is not None:
        if params is not None:
            raise ValidationError(
                "params are for query=; a table is read whole (use query= with a WHERE "
                "clause and params to filter)",
                field="params",
            )
        schema, name = _table_iv(table)
        return f"SELECT * FROM {_quoted(schema, name)}", None, "table"
    if not isinstance(query, str) or not query.strip():
        raise ValidationError(
            f"query must be non-empty SQL text, got {query!r}; put values in params, "
            "never in the text",
            field="query",
        )
    if params is None:
        return query, None, "query"
    if isinstance(params, Mapping):
        bad = [k for k in params if not isinstance(k, str) or not _IDENT.fullmatch(k)]
        if bad:
            raise ValidationError(
                f"params keys must be identifiers used as :name in the query, got {bad!r}",
                field="params",
            )
        text, values = _named_to_positional(query, params)
    elif isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        text, values = query, list(params)
    else:
        raise ValidationError(
            f"params must be a mapping (for :name placeholders) or a sequence (for $1, $2 "
            f"...), got {type(params).__name__}",
            field="params",
        )
    values = [_plain(v) for v in values]
    for k, v in enumerate(values, start=1):
        _param_iv(v, f"${k}")
    return text, values, "query"


def _plain(value: Any) -> Any:
    """numpy scalars and 1-d arrays as the Python values they hold (for binding)."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- driver


def _driver() -> Any:
    import_optional("pyarrow", purpose=_PURPOSE)
    import_optional("adbc_driver_manager", purpose=_PURPOSE)
    return import_optional("adbc_driver_postgresql.dbapi", purpose=_PURPOSE)


def _connect(dbapi: Any, src: _Source, connect_timeout: int) -> Any:
    message = None
    try:
        return dbapi.connect(_with_timeout(src.dsn, connect_timeout))
    except Exception as exc:  # the driver's errors carry no stable type for each cause
        message = src.clean(str(exc).strip())
    raise DataSourceError(f"cannot connect to PostgreSQL at {src.shown}: {message}; {_FIX_CONNECT}")


def _sqlstate(exc: BaseException) -> str:
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else ""


def _failure(src: _Source, exc: BaseException, doing: str, field: str) -> Exception:
    """A typed error for a driver failure while ``doing``, scrubbed of the password."""
    text = src.clean(str(exc).strip())
    state = _sqlstate(exc)
    # class 42: syntax error or access rule violation; 22: data exception; 23: constraint
    if state[:2] in {"42", "22", "23"}:
        return ValidationError(
            f"PostgreSQL at {src.shown} refused to {doing}: {text}; check {field} (names "
            "are case-sensitive as written) and the column types",
            field=field,
        )
    return DataSourceError(f"PostgreSQL at {src.shown} failed to {doing}: {text}")


# --------------------------------------------------------------------------- read


def _normalise_read(pa: Any, pc: Any, tbl: Any) -> tuple[Any, dict[str, str]]:
    """Convert numeric to float64 and other opaque types to text; record each change."""
    converted: dict[str, str] = {}
    columns = []
    fields = []
    for field, col in zip(tbl.schema, tbl.columns, strict=True):
        typ = field.type
        meta = field.metadata or {}
        pg_type = meta.get(b"POSTGRESQL:type", meta.get(b"ADBC:postgresql:typname", b"")).decode()
        extension = isinstance(typ, pa.BaseExtensionType)
        if extension:
            pg_type = pg_type or str(getattr(typ, "type_name", ""))
            col = pa.chunked_array([c.storage for c in col.chunks], type=typ.storage_type)
        if pg_type == "numeric":
            # 'NaN' and '±Infinity' are valid numeric text and parse to float specials
            col = pc.cast(col, pa.float64())
            converted[field.name] = "numeric -> float64"
        elif extension:
            converted[field.name] = f"{pg_type or typ} -> {col.type}"
        if extension or pg_type == "numeric":
            field = pa.field(field.name, col.type, nullable=True, metadata=field.metadata)
        columns.append(col)
        fields.append(field)
    return pa.table(columns, schema=pa.schema(fields)), converted


def read_postgres(
    dsn: str,
    *,
    query: str | None = None,
    table: str | None = None,
    params: Mapping[str, object] | Sequence[object] | None = None,
    connect_timeout: int = 10,
) -> Any:
    """Read the result of a query, or a whole table, as a ``pyarrow.Table``.

    Parameters
    ----------
    dsn : str
        A libpq connection string: ``postgresql://user:PASSWORD@host:5432/dbname``
        or ``host=... user=... password=... dbname=...``. Never shown unredacted.
    query : str, optional
        SQL text. Values go in ``params``, never in the text.
    table : str, optional
        A table to read whole: ``name`` or ``schema.name`` (quoted: case kept).
    params : mapping or sequence, optional
        Bind parameters: a sequence for ``$1, $2 ...``, a mapping for ``:name``.
        Values: None, bool, int, float, str, bytes, Decimal, date, datetime, or a
        list (or 1-d numpy array) of these (for ``= ANY(:ids)``); numpy scalars
        are bound as the Python values they hold.
    connect_timeout : int, default 10
        Seconds to wait for the server (unless the DSN sets ``connect_timeout``).

    Returns
    -------
    pyarrow.Table
        With the summary (rows, NULLs per column, conversions) as JSON in the
        schema metadata under ``b"onetoone.postgres"``.

    Raises
    ------
    ValidationError
        Neither or both of ``query``/``table``, a bad table name, bad params, or
        the server refused the SQL (syntax, unknown table or column).
    DataSourceError
        The server cannot be reached or the login fails (the message holds the
        redacted DSN and the fix), or the read fails on the server.
    MissingDependencyError
        Without the ``postgres`` extra.

    Examples
    --------
    Values go in ``params``; a table name is checked before any connection:

    >>> from onetoone.errors import ValidationError
    >>> try:
    ...     read_postgres("postgresql://shop:s3cret@db/erp", table="sales; drop table x")
    ... except ValidationError as exc:
    ...     print(exc.field, "s3cret" in str(exc))
    table False
    """
    src = _dsn_iv(dsn, connect_timeout)
    sql, values, what = _read_iv(query, table, params)
    dbapi = _driver()
    pa = import_optional("pyarrow", purpose=_PURPOSE)
    pc = import_optional("pyarrow.compute", purpose=_PURPOSE)
    conn = _connect(dbapi, src, connect_timeout)
    failure: Exception | None = None
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql, values)
                raw = cur.fetch_arrow_table()
            except Exception as exc:
                failure = _failure(src, exc, f"run the {what}", what)
        conn.rollback()
    finally:
        conn.close()
    if failure is not None:
        raise failure
    tbl, converted = _normalise_read(pa, pc, raw)
    nulls = {
        name: int(col.null_count) for name, col in zip(tbl.column_names, tbl.columns, strict=True)
    }
    summary = {"rows": tbl.num_rows, "nulls": nulls, "converted": converted}
    with_nulls = {k: v for k, v in nulls.items() if v}
    source = table if table is not None else "query"
    _LOG.info(
        "read %d rows from %s at %s; conversions: %s",
        tbl.num_rows,
        source,
        src.shown,
        converted or "none",
    )
    if with_nulls:
        _LOG.warning("read from %s at %s: NULLs per column %s", source, src.shown, with_nulls)
    meta = dict(tbl.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(summary, sort_keys=True).encode("utf-8")
    return tbl.replace_schema_metadata(meta)


# --------------------------------------------------------------------------- write

IfExists = Literal["fail", "replace", "append"]
_MODES = {"fail": "create", "replace": "replace", "append": "create_append"}


def _prepare_write(pa: Any, pc: Any, data: Any) -> Any:
    """``data`` as a pyarrow.Table whose columns PostgreSQL can hold exactly."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        raise ValidationError(
            f"data must be a pyarrow.Table, got {type(data).__name__}; convert with "
            "pyarrow.table(...) or Plan.to_arrow()",
            field="data",
        )
    if data.num_columns == 0:
        raise ValidationError("data has no columns; nothing to write", field="data")
    seen: set[str] = set()
    cols = []
    for name, col in zip(data.column_names, data.columns, strict=True):
        if not name or "\x00" in name or len(name.encode("utf-8")) > 63:
            raise ValidationError(
                f"column name {name!r} cannot be a PostgreSQL column: it must be 1 to 63 "
                "bytes without NUL (PostgreSQL would truncate a longer name); rename it",
                field="data",
            )
        if name in seen:
            raise ValidationError(f"data has the column {name!r} twice", field="data")
        seen.add(name)
        typ = col.type
        if pa.types.is_dictionary(typ):
            col = col.cast(typ.value_type)
            typ = col.type
        if pa.types.is_uint64(typ):
            top = pc.max(col).as_py()
            if top is not None and top > 2**63 - 1:
                raise ValidationError(
                    f"column {name!r} holds uint64 values above 2**63 - 1 ({top}), which "
                    "bigint cannot hold; cast the column to string first",
                    field="data",
                )
            col = col.cast(pa.int64())
        elif pa.types.is_unsigned_integer(typ):
            col = col.cast(pa.int64())
        elif pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
            col = col.cast(pa.string())
        elif pa.types.is_timestamp(typ) and typ.unit == "ns":
            try:
                col = col.cast(pa.timestamp("us", tz=typ.tz))  # safe: refuses lost precision
            except pa.ArrowInvalid as exc:
                raise ValidationError(
                    f"column {name!r} has nanoseconds PostgreSQL cannot hold (microsecond "
                    f"precision): {exc}; round it to microseconds first",
                    field="data",
                ) from None
        cols.append(col)
    return pa.table(cols, names=data.column_names)


def _if_exists_iv(if_exists: Any) -> None:
    if not isinstance(if_exists, str) or if_exists not in _MODES:
        raise ValidationError(
            f"if_exists must be one of 'fail', 'replace', 'append', got {if_exists!r}",
            field="if_exists",
        )


def write_postgres(
    dsn: str,
    table: str,
    data: Any,
    *,
    if_exists: IfExists = "fail",
    connect_timeout: int = 10,
) -> int:
    """Write an Arrow table to a PostgreSQL table in one transaction.

    The rows go by bulk ``COPY`` (``adbc_ingest``), with no SQL text built from
    values. The whole write (drop, create, copy) commits at once or not at all:
    after any failure the database is as it was (no new table, the old table
    intact).

    Parameters
    ----------
    dsn : str
        As for :func:`read_postgres`.
    table : str
        ``name`` or ``schema.name`` (quoted: case kept as written).
    data : pyarrow.Table
        For example ``Plan.to_arrow()``. Unsigned integers are written as
        ``bigint`` (refused above 2**63 - 1), ``timestamp[ns]`` as microseconds
        (refused if that would lose precision); the schema metadata is not written.
    if_exists : {"fail", "replace", "append"}, default "fail"
        When the table exists: raise, replace it, or append to it (created when
        missing).
    connect_timeout : int, default 10

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    ValidationError
        A bad table name, ``if_exists``, data, an existing table with
        ``if_exists="fail"``, or the server refused the rows (column mismatch).
    DataSourceError
        The server cannot be reached, the login fails, or the write fails.
    MissingDependencyError
        Without the ``postgres`` extra.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from onetoone.errors import ValidationError
    >>> try:
    ...     write_postgres("postgresql://shop:s3cret@db/erp", "plan", pa.table({"a": [1]}),
    ...                    if_exists="overwrite")
    ... except ValidationError as exc:
    ...     print(exc.field)
    if_exists
    """
    src = _dsn_iv(dsn, connect_timeout)
    schema, name = _table_iv(table)
    _if_exists_iv(if_exists)
    dbapi = _driver()
    pa = import_optional("pyarrow", purpose=_PURPOSE)
    pc = import_optional("pyarrow.compute", purpose=_PURPOSE)
    prepared = _prepare_write(pa, pc, data)
    nulls = {
        n: int(c.null_count)
        for n, c in zip(prepared.column_names, prepared.columns, strict=True)
        if c.null_count
    }
    conn = _connect(dbapi, src, connect_timeout)
    failure: Exception | None = None
    written = 0
    try:
        with conn.cursor() as cur:
            try:
                if if_exists == "fail":
                    cur.execute("SELECT to_regclass($1) IS NOT NULL", [_quoted(schema, name)])
                    exists = bool(cur.fetchone()[0])
                    if exists:
                        failure = ValidationError(
                            f"table {table!r} already exists at {src.shown}; pass "
                            "if_exists='replace' or 'append', or choose another name",
                            field="if_exists",
                        )
                if failure is None:
                    written = int(
                        cur.adbc_ingest(
                            name, prepared, mode=_MODES[if_exists], db_schema_name=schema
                        )
                    )
                    if written < 0:  # -1: the driver cannot tell
                        written = prepared.num_rows
                    if written != prepared.num_rows:
                        failure = DataSourceError(
                            f"PostgreSQL at {src.shown} took {written} of "
                            f"{prepared.num_rows} rows for {table!r}; nothing was written"
                        )
                    else:
                        conn.commit()
            except Exception as exc:
                failure = _failure(src, exc, f"write table {table!r}", "table")
        if failure is not None:
            conn.rollback()
    finally:
        conn.close()
    if failure is not None:
        raise failure
    _LOG.info("wrote %d rows to %s at %s (%s)", written, table, src.shown, if_exists)
    if nulls:
        _LOG.warning("wrote to %s at %s: NULLs per column %s", table, src.shown, nulls)
    return written
