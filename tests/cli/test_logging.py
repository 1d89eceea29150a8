"""The library logs through `logging` (loggers "onetoone.*") and never prints."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import onetoone as oto

SRC = Path(__file__).parents[2] / "src" / "onetoone"


def test_no_print_calls_in_the_library():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "print"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_ingestion_logs_its_report_on_the_onetoone_logger(caplog):
    with caplog.at_level(logging.INFO, logger="onetoone"):
        oto.Transactions.from_arrays(customer=[1, 2], item=[5, 5],
                                     timestamp=["2024-01-01", "2024-01-02"], value=[1.0, 0.0],
                                     quantity=[1.0, 0.0])
    (record,) = [r for r in caplog.records if r.name == "onetoone.data"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("ingested 1 of 2 rows")


def test_silent_without_a_handler(capsys):
    oto.Transactions.from_arrays(customer=[1], item=[5], timestamp=["2024-01-01"], value=[1.0])
    assert capsys.readouterr() == ("", "")
