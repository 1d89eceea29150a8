"""The library logs through `logging` (loggers "onetoone.*") and never prints."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import numpy as np

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


def test_each_main_step_logs_one_info_line_with_sizes_and_time(caplog, capsys):
    from onetoone.datasets import synthetic_transactions

    tx = synthetic_transactions(300, 40, random_state=1)
    items = tx.items.values
    offers = oto.Offers.from_pairs(["a", "a", "b", "c"], items[:4], items=tx.items, cost=1.0)
    with caplog.at_level(logging.INFO, logger="onetoone"):
        caplog.clear()
        model = oto.fit_affinity(tx, method="repeat", as_of="2024-07-01")
        scores = oto.score_offers(model, None, offers)
        c, o, s = scores.to_candidates()
        problem = oto.AllocationProblem.from_candidates(
            c, o, s, np.ones(len(s)), n_customers=len(scores.customers), n_offers=3,
            budgets=[oto.Budget("b", 50.0)])
        oto.allocate(problem)
        ids = tx.customers.values
        oto.measure_campaign(tx, treated=ids[::2], control=ids[1::2], start="2024-07-01",
                             end="2024-08-01", cost=10.0, bootstrap=20, random_state=0)
    lines = {r.getMessage().split("(")[0].split(":")[0]: r for r in caplog.records
             if r.name != "onetoone.data"}
    assert set(lines) == {"fit_affinity", "score_offers", "allocate", "measure_campaign"}
    for record in lines.values():
        assert record.levelno == logging.INFO and record.getMessage().endswith("s")
        assert re.search(r"in \d+\.\d{3}s$", record.getMessage())
    assert f"{tx.n_customers} customers" in lines["fit_affinity"].getMessage()
    assert f"{len(scores.customers)} customers x 3 offers" in lines["score_offers"].getMessage()
    assert "150 treated, 150 control, 20 bootstrap" in lines["measure_campaign"].getMessage()
    assert capsys.readouterr() == ("", "")  # logged, never printed
