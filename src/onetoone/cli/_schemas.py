"""The JSON Schemas shipped with the package (``onetoone/cli/schemas/*.json``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from onetoone.errors import ValidationError

#: Shipped schemas: name -> what it describes.
SCHEMAS: dict[str, str] = {
    "config": "the campaign config (TOML, read by every subcommand)",
    "plan": "the plan table (plan.parquet): one row per (customer, offer) given",
    "certificate": "the plan's certificate (certificate.json)",
    "holdout": "the holdout table (holdout.parquet)",
    "measurement": "the measurement result (measurement.json)",
    "kpis": "the daily KPI series (kpis.json)",
    "result": "the one JSON document `--json` prints on stdout",
}


def schema_text(name: str) -> str:
    """The text of the shipped schema ``name`` (see :data:`SCHEMAS`)."""
    if name not in SCHEMAS:
        raise ValidationError(
            f"unknown schema {name!r}; choose one of {', '.join(SCHEMAS)}", field="name"
        )
    return (resources.files("onetoone.cli") / "schemas" / f"{name}.json").read_text("utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """The shipped schema ``name`` as a dict."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema
