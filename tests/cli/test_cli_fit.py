"""`onetoone fit --model uplift | value | lapse`: onetoone.uplift and onetoone.value."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from cli_support import validate

import onetoone as oto
from onetoone.cli import ExitCode
from onetoone.io import read_table, write_table
from onetoone.uplift import UpliftModel
from onetoone.value import FrequencyModel, LapseModel, SpendModel

pa = pytest.importorskip("pyarrow")

UPLIFT = {"features": ["recency", "spend"], "treatment": "arm", "outcome": "visited"}


@pytest.fixture
def uplift_rows(workdir: str) -> str:
    """A past test: two features, a randomised arm, a visit that the offer makes likelier."""
    rng = np.random.default_rng(0)
    n = 2000
    recency, spend = rng.exponential(30.0, n), rng.gamma(2.0, 40.0, n)
    arm = rng.integers(0, 2, n)
    p = 1.0 / (1.0 + np.exp(-(-1.0 - recency / 60.0 + spend / 200.0 + 0.8 * arm)))
    table = pa.table({"customer": np.arange(n), "recency": recency, "spend": spend,
                      "arm": arm, "visited": (rng.random(n) < p).astype(np.int64),
                      "segment": np.where(arm == 1, "a", "b")})
    path = os.path.join(workdir, "uplift.parquet")
    write_table(table, path)
    return path


def _uplift_config(make_config, **changes):
    sources = {"transactions": {"path": "transactions.parquet"},
               "offers": {"path": "offers.parquet"}, "uplift": {"path": "uplift.parquet"}}
    return make_config(sources=sources, **changes)


def test_fit_uplift_writes_a_model_that_loads(cli, make_config, workdir, uplift_rows):
    cfg = _uplift_config(make_config, uplift=UPLIFT)
    code, out, err = cli("fit", "-c", cfg, "--model", "uplift", "--json")
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    validate("result", doc)
    summary = doc["summary"]["models"]["uplift"]
    assert summary == {"method": "s", "outcome_type": "binary", "n_rows": 2000,
                       "n_features": 2, "control": "0", "treatments": ["1"]}
    assert list(doc["outputs"]) == ["uplift.npz"]
    model = oto.load(os.path.join(workdir, "out", "uplift.npz"), UpliftModel)
    x = np.array([[10.0, 80.0], [90.0, 20.0]])
    effect = model.predict(x)
    assert np.all(np.asarray(effect) > 0)  # the offer helps everyone in this test


@pytest.mark.parametrize(
    ("uplift", "field", "needle"),
    [
        ({**UPLIFT, "features": ["recency", "nope"]}, "uplift.features[1]", "'nope'"),
        ({**UPLIFT, "features": ["recency", "segment"]}, "uplift.features[1]", "not numeric"),
        ({**UPLIFT, "treatment": "segment", "control": "zzz"}, "uplift.control", "zzz"),
        ({**UPLIFT, "propensity": "spend"}, "uplift.propensity", "propensit"),
        ({**UPLIFT, "method": "q"}, "uplift.method", "must be one of"),
        ({"features": ["recency"], "treatment": "arm"}, "uplift.outcome", "missing"),
    ],
)
def test_fit_uplift_bad_input_names_the_key(cli, make_config, workdir, uplift_rows, uplift,
                                            field, needle):
    code, out, err = cli("fit", "-c", _uplift_config(make_config, uplift=uplift),
                         "--model", "uplift", "--json")
    assert code == ExitCode.BAD_INPUT, err
    error = json.loads(out)["error"]
    assert error["field"] == field and needle in error["message"], error
    assert not os.path.exists(os.path.join(workdir, "out"))


def test_fit_uplift_without_its_section_or_source(cli, make_config, uplift_rows):
    code, out, _ = cli("fit", "-c", make_config(), "--model", "uplift", "--json")
    assert code == ExitCode.BAD_INPUT and json.loads(out)["error"]["field"] == "uplift"
    code, out, _ = cli("fit", "-c", make_config(uplift=UPLIFT), "--model", "uplift", "--json")
    assert code == ExitCode.BAD_INPUT
    assert json.loads(out)["error"]["field"] == "sources.uplift"


def test_fit_value_and_lapse(cli, make_config, workdir):
    cfg = make_config(value={"horizon": 26, "margin": 0.3, "lapse_horizon_days": 28})
    code, out, err = cli("fit", "-c", cfg, "--model", "value", "--model", "lapse", "--json")
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    validate("result", doc)
    assert sorted(doc["outputs"]) == ["frequency.npz", "lapse.npz", "spend.npz", "value.parquet"]
    folder = os.path.join(workdir, "out")
    freq = oto.load(os.path.join(folder, "frequency.npz"), FrequencyModel)
    oto.load(os.path.join(folder, "spend.npz"), SpendModel)
    lapse = oto.load(os.path.join(folder, "lapse.npz"), LapseModel)
    assert freq.method == "bgnbd" and lapse.horizon_days == 28.0
    table = read_table(os.path.join(folder, "value.parquet"))
    assert table.column_names == ["customer_id", "p_alive", "expected_purchases",
                                  "expected_spend", "clv", "lapse_risk"]
    p_alive, clv = table.column("p_alive").to_numpy(), table.column("clv").to_numpy()
    risk = table.column("lapse_risk").to_numpy()
    assert table.num_rows == doc["summary"]["models"]["value"]["n_customers"] > 100
    assert np.all((p_alive >= 0) & (p_alive <= 1)) and np.all(clv >= 0)
    assert np.all((risk > 0) & (risk < 1))  # every customer with a purchase has a risk
    # more likely alive, less likely to lapse: the two models agree on the ordering
    assert np.corrcoef(p_alive, risk)[0, 1] < 0
    assert doc["summary"]["models"]["value"]["clv_total"] == pytest.approx(clv.sum())
    # fit without --model fits every kind the config has
    code, out, err = cli("fit", "-c", cfg, "--json", "-o", os.path.join(workdir, "all"))
    assert code == ExitCode.OK, err
    assert set(json.loads(out)["summary"]["models"]) == {"affinity", "value", "lapse"}


@pytest.mark.parametrize(
    ("value", "model", "field"),
    [
        ({"unit": "M"}, "value", "value.unit"),
        ({"horizon": 0}, "value", "value.horizon"),
        ({"margin": 1.5}, "value", "value.margin"),
        ({}, "lapse", "value.lapse_horizon_days"),
        (None, "value", "value"),
    ],
)
def test_fit_value_bad_input_names_the_key(cli, make_config, workdir, value, model, field):
    cfg = make_config() if value is None else make_config(value=value)
    code, out, err = cli("fit", "-c", cfg, "--model", model, "--json")
    assert code == ExitCode.BAD_INPUT, err
    assert json.loads(out)["error"]["field"] == field
    assert not os.path.exists(os.path.join(workdir, "out"))


def test_the_documented_value_fit_runs(cli, make_config, workdir):
    import contextlib
    import re
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    snippet = re.search(r"<!-- file: campaign.toml \(value\) -->\n```toml\n(.*?)```", page,
                        re.S)
    command = re.search(r"<!-- cli-run-value -->\n```console\n\$ (.*?)\n```", page, re.S)
    assert snippet and command
    path = make_config()
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n" + snippet[1])
    argv = command[1].split()
    assert argv[:2] == ["onetoone", "fit"]
    with contextlib.chdir(workdir):
        code, _, err = cli(*argv[1:])
    assert code == ExitCode.OK, err
    assert {"value.parquet", "lapse.npz"} <= set(os.listdir(os.path.join(workdir, "out")))


def test_the_documented_uplift_config_is_valid():
    import re
    import tomllib
    from pathlib import Path

    from cli_support import BASE_CONFIG

    from onetoone.cli._config import validate_config

    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", page, re.S) if "[uplift]" in b]
    doc = tomllib.loads(block)
    cfg = json.loads(json.dumps(BASE_CONFIG))
    cfg["sources"].update(doc["sources"])
    cfg["uplift"] = doc["uplift"]
    assert validate_config(cfg)["uplift"]["method"] == "dr"
