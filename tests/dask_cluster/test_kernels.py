"""The per-partition kernels: plain functions of Arrow data (no Dask needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

from onetoone import Transactions, build_profiles  # noqa: E402
from onetoone.distributed import (  # noqa: E402
    candidate_block,
    dual_step,
    profile_partition,
)
from onetoone.errors import ValidationError  # noqa: E402

BUDGET = [("total", 10.0, "cost", None)]


def _table() -> pa.Table:
    # customer 7: offers 0 (v 3, c 1), 1 (v 2, c 1); customer 8: offer 1 (v 1, c 2)
    return pa.table(
        {
            "customer": [7, 8, 7],
            "offer": [0, 1, 1],
            "value": [3.0, 1.0, 2.0],
            "cost": [1.0, 2.0, 1.0],
        }
    )


def test_dual_step_known_answer() -> None:
    b = candidate_block(_table(), n_offers=2, budgets=BUDGET, k=1)
    # lam = 0.8: reduced values 7: [2.2, 1.2] -> offer 0; 8: [1 - 1.6] < 0 -> nothing
    s = dual_step(b, [0.8], [0.0, 0.0], want_chosen=True)
    assert s.lagr == pytest.approx(2.2)
    assert s.spend.tolist() == [1.0]
    assert s.use.tolist() == [1.0, 0.0]
    assert s.value == 3.0
    # cap price 1.5 on offer 0: 7 now prefers offer 1 (1.2 > 0.7)
    s2 = dual_step(b, [0.8], [1.5, 0.0])
    assert s2.lagr == pytest.approx(1.2)
    assert s2.use.tolist() == [0.0, 1.0]
    # k = 2 takes both of customer 7's positive pairs
    b2 = candidate_block(_table(), n_offers=2, budgets=BUDGET, k=2)
    assert dual_step(b2, [0.8], [0.0, 0.0]).lagr == pytest.approx(3.4)


def test_block_drops_pairs_that_never_fit_and_counts_them() -> None:
    t = _table().append_column("big", pa.array([1.0, 50.0, 1.0]))
    b = candidate_block(t, n_offers=2, budgets=[("b", 10.0, "big", None)])
    assert b.n_ineligible == 1 and b.n_candidates == 2  # customer 8's pair needs 50 > 10


def test_budget_restricted_to_offers() -> None:
    b = candidate_block(_table(), n_offers=2, budgets=[("o1", 10.0, "cost", [1])])
    assert b.usage[0][b.offer == 0].tolist() == [0.0]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"offer": [0, 2, 1]}, "offer codes in"),
        ({"value": [np.nan, 1.0, 2.0]}, "NaN or inf"),
        ({"cost": [1.0, -2.0, 1.0]}, "must be >= 0"),
        ({"offer": [0, 1, 0]}, "listed twice"),
    ],
)
def test_block_bad_input(change: dict[str, list[float]], match: str) -> None:
    cols = {n: _table().column(n).to_pylist() for n in _table().column_names}
    cols.update(change)
    with pytest.raises(ValidationError, match=match):
        candidate_block(pa.table(cols), n_offers=2, budgets=BUDGET)


def test_block_duplicate_is_caught_even_when_one_copy_is_ineligible() -> None:
    t = pa.table(
        {"customer": [1, 1], "offer": [0, 0], "value": [-1.0, 2.0], "cost": [1.0, 1.0]}
    )
    with pytest.raises(ValidationError, match="listed twice"):
        candidate_block(t, n_offers=1)


def test_block_missing_column_and_bad_arguments() -> None:
    with pytest.raises(ValidationError, match=r"\['cost'\] missing"):
        candidate_block(_table().drop(["cost"]), n_offers=2, budgets=BUDGET)
    with pytest.raises(ValidationError, match="n_offers"):
        candidate_block(_table(), n_offers=0)
    with pytest.raises(ValidationError, match="k must be"):
        candidate_block(_table(), n_offers=2, k=-1)
    b = candidate_block(_table(), n_offers=2, budgets=BUDGET)
    with pytest.raises(ValidationError, match="lam must have shape"):
        dual_step(b, [1.0, 2.0], [0.0, 0.0])


def test_profile_partition_equals_one_machine_and_reports_drops() -> None:
    t = pa.table(
        {
            "customer": ["a", "b", "a", "c"],
            "item": [1, 2, 3, 1],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-02-01", "2024-01-05"],
            "value": [2.0, 3.0, 4.0, -1.0],
        }
    )
    out = profile_partition(t, as_of="2024-03-01", ingest={"invalid": "drop"})
    meta = json.loads(out.schema.metadata[b"onetoone.ingestion"])
    assert meta == {"n_input": 4, "n_kept": 3, "dropped": {"negative_value": 1}}
    one = build_profiles(Transactions.from_arrow(t, invalid="drop"), as_of="2024-03-01")
    exp = one.to_dict()
    assert out.column("customer").to_pylist() == exp["customer"].tolist()
    for name in ("monetary", "frequency", "recency_days", "ipi_mean_days"):
        np.testing.assert_array_equal(out.column(name).to_numpy(), exp[name])


def test_kernels_refuse_other_inputs() -> None:
    with pytest.raises(ValidationError, match="pyarrow Table"):
        profile_partition([1, 2, 3], as_of="2024-01-01")
    with pytest.raises(ValidationError, match=r"\['customer'\] missing"):
        profile_partition(pa.table({"x": [1]}), as_of="2024-01-01")
