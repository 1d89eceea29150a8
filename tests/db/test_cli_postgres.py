"""`onetoone run` against a real PostgreSQL server and against the same data as Parquet.

The session's throwaway server (the ``pg_server`` fixture) holds a Complete Journey
sample; the same campaign config runs once with Parquet sources and once with
``kind = "postgres"`` sources (in a child process, as the console script, and in-process),
and the plans, certificates and the plan table written back must agree exactly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import Server

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_support import (
    cli,
    make_config,
    sample_dir,
    to_toml,
    validate,
    workdir,
)

from onetoone.cli import ExitCode, exit_code_of
from onetoone.errors import DataSourceError
from onetoone.io import read_table
from onetoone.io._postgres import read_postgres, write_postgres

__all__ = ["cli", "make_config", "sample_dir", "workdir"]  # fixtures used below

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).parents[2]
ENV = "ONETOONE_TEST_DSN"
PG_SOURCES = {
    "transactions": {"kind": "postgres", "dsn_env": ENV, "table": "cli_cj.transactions"},
    "offers": {
        "kind": "postgres",
        "dsn_env": ENV,
        "query": "SELECT coupon_upc, product_id, cost FROM cli_cj.offers WHERE campaign_id = 8",
    },
}
PLAN_TABLE = {"dsn_env": ENV, "table": "cli_cj.offer_plan", "if_exists": "replace"}


@pytest.fixture(scope="module")
def cj_in_db(pg_server: Server, sample_dir: str) -> Iterator[Server]:
    """The Parquet sample of cli_support.write_sample, loaded into schema cli_cj."""
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(pg_server.dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS cli_cj")
        conn.commit()
    for name in ("transactions", "offers"):
        table = pq.read_table(os.path.join(sample_dir, f"{name}.parquet"))
        write_postgres(pg_server.dsn, f"cli_cj.{name}", table, if_exists="replace")
    yield pg_server


def _env(dsn: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env[ENV] = dsn
    return env


def _child(argv: list[str], cwd: str, dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onetoone", *argv], cwd=cwd, env=_env(dsn),
                          capture_output=True, text=True, timeout=300, check=False)


def _outputs(folder: str) -> dict[str, bytes]:
    return {name: Path(folder, name).read_bytes() for name in sorted(os.listdir(folder))}


def _no_password(password: str, *texts: str | bytes, folder: str | None = None) -> None:
    blobs = [t.encode() if isinstance(t, str) else t for t in texts]
    if folder is not None:
        blobs += list(_outputs(folder).values())
    for blob in blobs:
        assert password.encode() not in blob


def _cert(folder: str) -> dict[str, Any]:
    with open(os.path.join(folder, "certificate.json"), encoding="utf-8") as f:
        cert: dict[str, Any] = json.load(f)
    validate("certificate", cert)
    return cert


def _validate_outputs(folder: str) -> None:
    validate("plan", read_table(os.path.join(folder, "plan.parquet")).to_pylist())
    validate("holdout", read_table(os.path.join(folder, "holdout.parquet")).to_pylist())
    _cert(folder)
    for name in ("measurement", "kpis"):
        with open(os.path.join(folder, f"{name}.json"), encoding="utf-8") as f:
            validate(name, json.load(f))


def _bare(table: Any) -> Any:
    return pa.table(table.columns, names=table.column_names)


def test_run_against_postgres_equals_run_against_parquet(cj_in_db, cli, make_config, workdir,
                                                         monkeypatch):
    password = cj_in_db.password
    monkeypatch.setenv(ENV, cj_in_db.dsn)
    files_cfg = make_config(name="files.toml", outputs={"dir": "files"})
    code, out, err = cli("run", "-c", files_cfg, "--json")
    assert code == 0, err
    files_doc = json.loads(out)

    db_cfg = make_config(name="db.toml", sources=PG_SOURCES,
                         outputs={"dir": "db", "plan_table": PLAN_TABLE})
    # the console script in a child process, -v: every debug line must be password-free too
    proc = _child(["run", "-c", db_cfg, "--json", "-v"], workdir, cj_in_db.dsn)
    assert proc.returncode == 0, proc.stderr
    db_doc = json.loads(proc.stdout)
    validate("result", db_doc)
    assert db_doc["summary"]["plan"]["plan_table"] == "cli_cj.offer_plan"
    assert "***@" in proc.stderr  # the source is named by its redacted DSN
    _no_password(password, proc.stdout, proc.stderr, folder=os.path.join(workdir, "db"))

    # and in-process, into a second folder: the same files
    code, out, err = cli("run", "-c", db_cfg, "--json", "-v", "-o",
                         os.path.join(workdir, "db2"))
    assert code == 0, err
    _no_password(password, out, err, folder=os.path.join(workdir, "db2"))
    same, again = _outputs(os.path.join(workdir, "db")), _outputs(os.path.join(workdir, "db2"))
    assert same.keys() == again.keys()
    for name in same.keys() - {"report.html", "affinity.npz"}:  # these hold timings
        assert same[name] == again[name], name

    files, db = os.path.join(workdir, "files"), os.path.join(workdir, "db")
    _validate_outputs(files)
    _validate_outputs(db)
    assert sorted(os.listdir(files)) == sorted(os.listdir(db))
    plan_files = read_table(os.path.join(files, "plan.parquet"))
    plan_db = read_table(os.path.join(db, "plan.parquet"))
    assert plan_files.num_rows > 50
    assert plan_db.equals(plan_files)  # ids, offers, values, costs, row order
    assert plan_db.schema.metadata == plan_files.schema.metadata
    cert_files, cert_db = _cert(files), _cert(db)
    assert cert_files["inputs"]["transactions"]["kind"] == "file"
    fp = cert_db["inputs"]["transactions"]
    assert (fp["kind"], fp["table"]) == ("postgres", "cli_cj.transactions")
    assert fp["rows"] == cert_files["inputs"]["transactions"]["rows"]
    assert cert_db["inputs"]["offers"]["query"] == PG_SOURCES["offers"]["query"]
    for cert in (cert_files, cert_db):
        del cert["inputs"], cert["config_sha256"]  # the configs differ only in their sources
    assert cert_db == cert_files
    for name in ("holdout.parquet", "measurement.json", "kpis.json"):
        assert Path(files, name).read_bytes() == Path(db, name).read_bytes(), name
    assert db_doc["summary"]["measurement"] == files_doc["summary"]["measurement"]

    # the plan table written back holds exactly the Parquet plan
    back = read_postgres(cj_in_db.dsn, table="cli_cj.offer_plan")
    assert _bare(back).equals(_bare(plan_files))


@pytest.mark.parametrize("fault", ["unreachable", "wrong password"])
def test_a_database_that_refuses_is_an_io_error_with_the_redacted_dsn(
    cj_in_db, cli, make_config, workdir, monkeypatch, fault
):
    password = cj_in_db.password
    if fault == "unreachable":
        dsn = cj_in_db.dsn.replace(f":{cj_in_db.port}/", ":1/")
        shown = f"postgresql://{cj_in_db.user}:***@{cj_in_db.host}:1/{cj_in_db.dbname}"
        password_used = password
    else:
        password_used = "not-" + password[::-1]
        dsn = cj_in_db.dsn.replace(password, password_used)
        shown = f"postgresql://{cj_in_db.user}:***@{cj_in_db.host}:{cj_in_db.port}/"
    monkeypatch.setenv(ENV, dsn)
    cfg = make_config(sources=PG_SOURCES, outputs={"dir": "out", "plan_table": PLAN_TABLE})
    code, out, err = cli("run", "-c", cfg, "--json", "-v")
    assert code == ExitCode.IO_ERROR, err
    doc = json.loads(out)
    validate("result", doc)
    assert doc["error"]["type"] == "DataSourceError"
    assert shown in doc["error"]["message"] and shown in err
    for secret in {password, password_used}:
        assert secret not in out + err
    assert not os.path.exists(os.path.join(workdir, "out"))
    # the console script says the same, with the same code
    proc = _child(["validate", "-c", cfg], workdir, dsn)
    assert proc.returncode == ExitCode.IO_ERROR and shown in proc.stderr
    assert password_used not in proc.stdout + proc.stderr


def test_a_data_source_error_is_an_os_error_and_maps_to_the_io_code():
    exc = DataSourceError("cannot connect to postgresql://u:***@h/db")
    assert isinstance(exc, OSError)
    assert exit_code_of(exc) is ExitCode.IO_ERROR


def test_a_bad_query_is_bad_input_naming_the_source(cj_in_db, cli, make_config, monkeypatch):
    monkeypatch.setenv(ENV, cj_in_db.dsn)
    sources = {**PG_SOURCES, "offers": {**PG_SOURCES["offers"], "query": "SELEKT 1"}}
    code, out, err = cli("plan", "-c", make_config(sources=sources), "--json")
    assert code == ExitCode.BAD_INPUT, err
    doc = json.loads(out)
    assert doc["error"]["field"] == "sources.offers.query"
    assert "syntax error" in doc["error"]["message"]
    assert cj_in_db.password not in out + err



# --------------------------------------------------------------------------- docs/cli.md
_BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<info>\w+)\n(?P<body>.*?)```",
                    re.DOTALL)


def test_the_documented_postgres_commands_run(pg_server, tmp_path, monkeypatch):
    """docs/cli.md section 7 as written: load the sample, the config, the command."""
    page = ROOT / "docs" / "cli.md"
    blocks = [(m["marker"] or "", m["info"], m["body"])
              for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]
    section = page.read_text(encoding="utf-8").split("## 7. PostgreSQL")[1].split("\n## ")[0]
    data_block = next(body for marker, info, body in blocks if info == "python")
    (load_block,) = [body for marker, info, body in blocks
                     if info == "python" and marker.startswith("no-run") and body in section]
    (config,) = [body for marker, _, body in blocks if marker == "file: campaign.toml"]
    (db_part,) = [body for marker, _, body in blocks if marker.startswith("file: campaign-db")]
    (commands,) = [body for marker, _, body in blocks if marker == "cli-run-db"]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONETOONE_DSN", pg_server.dsn)
    for code in (data_block, load_block):
        exec(compile(code, str(page), "exec"), {"__name__": "__docs__"})
    cfg = tomllib.loads(config)
    cfg.update(tomllib.loads(db_part))  # "replace its [sources.*] and [outputs] tables"
    (tmp_path / "campaign-db.toml").write_text(to_toml(cfg), encoding="utf-8")

    argvs = [line[2:].split() for line in commands.splitlines() if line.startswith("$ onetoone")]
    assert argvs == [["onetoone", "run", "--config", "campaign-db.toml", "--json"]]
    proc = _child(argvs[0][1:], str(tmp_path), pg_server.dsn)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    validate("result", doc)
    assert doc["inputs"]["transactions"]["kind"] == "postgres"
    _no_password(pg_server.password, proc.stdout, proc.stderr, folder=str(tmp_path / "out-db"))
    plan = read_table(str(tmp_path / "out-db" / "plan.parquet"))
    back = read_postgres(pg_server.dsn, table="crm.offer_plan")
    assert back.column_names == ["customer_id", "offer_id", "value", "cost"]
    assert plan.num_rows > 0 and _bare(back).equals(_bare(plan))
