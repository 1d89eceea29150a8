"""The campaign config: every problem is found before anything runs, named by its key path."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest
from cli_support import BASE_CONFIG, validate

from onetoone.cli import ExitCode
from onetoone.cli._config import ConfigError, load_config, validate_config
from onetoone.cli._pipeline import redact_dsn


def _config(**changes: Any) -> dict[str, Any]:
    cfg = json.loads(json.dumps(BASE_CONFIG))
    for key, value in changes.items():
        node = cfg
        *parents, last = key.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return cfg


def _error(**changes: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        validate_config(_config(**changes))
    return info.value


def test_the_base_config_is_valid_and_matches_the_schema():
    data = validate_config(_config())
    validate("config", data)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"budgets": [{"name": "a", "limit": 1.0}, {"name": "b", "limit": "500"}]},
         "budgets[1].limit", "budgets[1].limit must be a number, got string '500'; fix: Most"),
        ({"budgets": [{"name": "a", "limit": 1.0, "limt": 2}]},
         "budgets[0].limt", "did you mean 'limit'?"),
        ({"budgets": [{"name": "a"}]}, "budgets[0].limit", "budgets[0].limit is missing"),
        ({"outputs": None}, "outputs", "outputs is missing; it is required"),
        ({"allocation__k": 0}, "allocation.k", "allocation.k must be >= 1, got 0"),
        ({"allocation__k": 2.5}, "allocation.k", "must be an integer, got number 2.5"),
        ({"allocation__k": True}, "allocation.k", "got boolean True"),
        ({"holdout__fraction": 1.0}, "holdout.fraction", "must be < 1"),
        ({"holdout__salt": ""}, "holdout.salt", "must not be empty"),
        ({"holdout__salt": None}, "holdout.salt", "holdout.salt is missing"),
        ({"affinity__method": "magic"}, "affinity.method", "must be one of \"hybrid\""),
        ({"sources__transactions__kind": "ftp"}, "sources.transactions.kind", "one of"),
        ({"sources__transactions": {"kind": "file"}}, "sources.transactions.path",
         "a file source needs path"),
        ({"sources__transactions": {"path": "x.parquet", "query": "select 1"}},
         "sources.transactions.query", "does not apply to a source of kind 'file'"),
        ({"sources__offers": {"kind": "postgres", "dsn_env": "X", "query": "q", "table": "t"}},
         "sources.offers.query", "has both 'query' and 'table'"),
        ({"sources__offers": {"kind": "postgres", "query": "q"}},
         "sources.offers.dsn_env", "has neither 'dsn_env' and 'dsn'"),
        ({"dates__end": "2017-05-01"}, "dates.end", "must be after the campaign start"),
        ({"dates__as_of": "soon"}, "dates.as_of", "must be an ISO date"),
        ({"dates__since": "2018-01-01"}, "dates.since", "must be before dates.as_of"),
        ({"measure__cost": "budget"}, "measure.cost", "a number or \"plan\""),
        ({"budgets": [{"name": "a", "limit": 1.0}, {"name": "a", "limit": 2.0}]},
         "budgets[1].name", "used twice"),
        ({"seed": -1}, "seed", "seed must be >= 0"),
        ({"colums": {}}, "colums", "did you mean 'columns'?"),
        ({"outputs__plan_format": "xlsx"}, "outputs.plan_format", "one of"),
        ({"outputs__plan_table": {"table": "t"}}, "outputs.plan_table.dsn_env", "neither"),
        ({"response": {"as_of": "2017-06-01"}}, "response.as_of", "must not be after"),
        ({"response": {"customer": "c"}}, "response.as_of", "response.as_of is missing"),
        ({"response": {"as_of": "2017-01-01", "method": "svm"}}, "response.method", "one of"),
    ],
)
def test_a_bad_config_names_the_key_and_the_fix(changes, field, message):
    error = _error(**changes)
    assert error.field == field
    assert message in str(error)


def test_nan_is_refused():
    assert _error(budgets=[{"name": "a", "limit": float("nan")}]).field == "budgets[0].limit"


def test_toml_dates_are_accepted(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[sources.transactions]\npath = "t.parquet"\n[dates]\nas_of = 2017-05-08\n'
        'end = 2017-06-19T00:00:00\n[outputs]\ndir = "out"\n'
    )
    cfg = load_config(path)
    assert cfg.data["dates"] == {"as_of": "2017-05-08", "end": "2017-06-19T00:00:00"}
    assert str(cfg.time("end")) == "2017-06-19T00:00:00"
    assert cfg.path("x.parquet") == str(tmp_path / "x.parquet")
    assert len(cfg.sha256) == 64


def test_the_config_hash_follows_the_content_not_the_layout(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[outputs]\ndir = "o"\n[dates]\nas_of = 2017-05-08\n'
                 '[sources.transactions]\npath = "t.parquet"\n')
    b.write_text('# comment\n[sources.transactions]\npath = "t.parquet"\n'
                 '[dates]\nas_of = "2017-05-08"\n[outputs]\ndir = "o"\n')
    assert load_config(a).sha256 == load_config(b).sha256


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("[outputs\ndir = 1", ExitCode.BAD_INPUT, "not valid TOML"),
        ('[outputs]\ndir = "o"\n[dates]\nas_of = 2017-05-08\n'
         '[sources.transactions]\npath = "t.parquet"\n[budgets]\nname = "x"\n',
         ExitCode.BAD_INPUT, "budgets must be an array, got table"),
    ],
)
def test_bad_config_files_exit_with_the_bad_input_code(cli, tmp_path, text, code, needle):
    path = tmp_path / "c.toml"
    path.write_text(text)
    got, out, err = cli("plan", "-c", str(path), "--json")
    assert got == code and needle in err
    validate("result", json.loads(out))


def test_a_missing_config_file_is_an_io_error(cli, tmp_path):
    code, _, err = cli("validate", "-c", str(tmp_path / "none.toml"))
    assert code == ExitCode.IO_ERROR and "none.toml" in err


def test_nothing_runs_before_the_whole_config_is_valid(cli, make_config, workdir):
    # the first sections are fine, the last one is not: no file is read or written
    code, _, err = cli("run", "-c", make_config(outputs={"dir": "out", "extra": 1}))
    assert code == ExitCode.BAD_INPUT and "outputs.extra" in err
    assert "reading" not in err
    assert not os.path.exists(os.path.join(workdir, "out"))


# --------------------------------------------------------------------------- PostgreSQL
# Runs against a real server: tests/db/test_cli_postgres.py. These need no server.
PG_SOURCES = {
    "transactions": {"kind": "postgres", "dsn_env": "ONETOONE_TEST_DSN",
                     "table": "cj.transactions"},
    "offers": {"kind": "postgres", "dsn_env": "ONETOONE_TEST_DSN",
               "query": "SELECT * FROM cj.offers"},
}
SECRET_DSN = "postgresql://shop:s3cr3t-pw@127.0.0.1:1/loyalty"


def test_a_postgres_source_without_the_module_is_a_missing_dependency(cli, make_config,
                                                                     monkeypatch):
    monkeypatch.setitem(sys.modules, "onetoone.io._postgres", None)
    monkeypatch.setenv("ONETOONE_TEST_DSN", SECRET_DSN)
    code, out, err = cli("validate", "-c", make_config(sources=PG_SOURCES), "--json")
    assert code == ExitCode.MISSING_DEPENDENCY
    assert "onetoone[postgres]" in err and "s3cr3t" not in err + out


def test_an_unset_dsn_variable_is_a_config_error(cli, make_config, monkeypatch):
    monkeypatch.delenv("ONETOONE_TEST_DSN", raising=False)
    code, out, _ = cli("validate", "-c", make_config(sources=PG_SOURCES), "--json")
    assert code == ExitCode.BAD_INPUT
    assert json.loads(out)["error"]["field"] == "sources.transactions.dsn_env"


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://shop:pw@db:5432/x", "postgresql://shop:***@db:5432/x"),
        ("postgresql://shop@db/x", "postgresql://shop@db/x"),
        ("host=db user=shop password=pw dbname=x", "host=db user=shop password=*** dbname=x"),
        ("host=db password='p w' dbname=x", "host=db password=*** dbname=x"),
    ],
)
def test_passwords_are_redacted(dsn, shown):
    assert redact_dsn(dsn) == shown


@pytest.mark.parametrize(
    ("command", "changes", "field"),
    [
        ("plan", {"sources": {"transactions": {"path": "transactions.parquet"}}},
         "sources.offers"),
        ("holdout", {"holdout": None}, "holdout"),
        ("measure", {"dates": {"as_of": "2017-05-08"}}, "dates.end"),
        ("report", {"holdout": None}, "holdout"),
    ],
)
def test_what_a_command_needs_is_checked_before_reading(cli, make_config, command, changes,
                                                        field):
    code, out, err = cli(command, "-c", make_config(**changes), "--json")
    assert code == ExitCode.BAD_INPUT and "reading" not in err
    assert json.loads(out)["error"]["field"] == field
