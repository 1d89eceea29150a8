"""Progress: callbacks from the long steps, a bar only on a terminal."""

from __future__ import annotations

import io

import numpy as np
import pytest

import onetoone as oto
from onetoone._progress import ProgressBar, check_progress
from onetoone.datasets import synthetic_transactions
from onetoone.errors import ValidationError


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_score_offers_reports_every_block():
    tx = synthetic_transactions(200, 30, random_state=0)
    model = oto.fit_affinity(tx, method="repeat")
    items = tx.items.values
    offers = oto.Offers.from_pairs(["a", "a", "b"], items[:3], items=tx.items, cost=1.0)
    seen: list[tuple[int, int | None]] = []
    for threads in (1, 2):
        seen.clear()
        oto.score_offers(model, None, offers, block_size=64, num_threads=threads,
                         progress=lambda d, t: seen.append((d, t)))
        assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_allocate_reports_its_sweeps_and_ends_complete():
    rng = np.random.default_rng(0)
    p = oto.AllocationProblem.from_dense(rng.random((300, 5)), rng.random((300, 5)),
                                         budgets=[oto.Budget("b", 20.0)], k=2)
    seen: list[tuple[int, int | None]] = []
    a = oto.allocate(p, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == a.iterations
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert a.objective == oto.allocate(p).objective


@pytest.mark.parametrize("bad", [1, "bar"])
def test_a_progress_that_is_not_callable_is_refused(bad):
    with pytest.raises(ValidationError, match="progress must be None or a callable") as info:
        check_progress(bad)
    assert info.value.field == "progress"
    p = oto.AllocationProblem.from_dense([[1.0]], [[1.0]])
    with pytest.raises(ValidationError, match="progress"):
        oto.allocate(p, progress=bad)


def test_the_bar_draws_on_a_terminal_only():
    pipe = io.StringIO()
    with ProgressBar("x", stream=pipe) as bar:
        bar(1, 2)
        bar(2, 2)
    assert pipe.getvalue() == ""
    tty = _Tty()
    with ProgressBar("x", stream=tty) as bar:
        bar(1, 2)
        bar(2, 2)
    assert "x" in tty.getvalue()
    quiet = _Tty()
    with ProgressBar("x", stream=quiet, enabled=False) as bar:
        bar(2, 2)
    assert quiet.getvalue() == ""


def test_the_bar_works_without_tqdm(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    tty = _Tty()
    with ProgressBar("scoring", stream=tty) as bar:
        bar(3, 3)
    assert "scoring [" in tty.getvalue() and "3/3" in tty.getvalue()
    assert tty.getvalue().endswith("\r\033[K")


@pytest.mark.parametrize(("method", "key"), [("als", "iterations"), ("bpr", "bpr_iterations")])
def test_fit_affinity_reports_every_sweep(method, key):
    tx = synthetic_transactions(60, 20, random_state=0)
    seen: list[tuple[int, int | None]] = []
    model = oto.fit_affinity(tx, method=method, factors=4, num_threads=1, random_state=0,
                             progress=lambda d, t: seen.append((d, t)), **{key: 3})
    assert seen == [(1, 3), (2, 3), (3, 3)]
    again = oto.fit_affinity(tx, method=method, factors=4, num_threads=1, random_state=0,
                             **{key: 3})
    assert np.array_equal(model.user_factors, again.user_factors)


def test_fit_affinity_refuses_a_progress_that_is_not_callable():
    tx = synthetic_transactions(20, 10, random_state=0)
    with pytest.raises(ValidationError, match="progress must be None or a callable"):
        oto.fit_affinity(tx, method="repeat", progress="yes")


def test_measure_campaign_reports_its_bootstrap_blocks():
    tx = synthetic_transactions(400, 30, random_state=2)
    ids = tx.customers.values
    seen: list[tuple[int, int | None]] = []
    kwargs = {"treated": ids[::2], "control": ids[1::2], "start": "2024-07-01",
              "end": "2024-08-01", "cost": 10.0, "bootstrap": 300, "random_state": 0}
    with_bar = oto.measure_campaign(tx, progress=lambda d, t: seen.append((d, t)), **kwargs)
    assert seen and seen[-1] == (300, 300)
    assert all(t == 300 for _, t in seen)
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    without = oto.measure_campaign(tx, **kwargs)  # progress changes nothing
    assert without.revenue.bootstrap is not None and with_bar.revenue.bootstrap is not None
    assert with_bar.revenue.bootstrap.ci_low == without.revenue.bootstrap.ci_low
    seen.clear()
    oto.measure_campaign(tx, **{**kwargs, "bootstrap": 0}, progress=lambda d, t: seen.append(d))
    assert seen == []
    with pytest.raises(ValidationError, match="progress must be None or a callable"):
        oto.measure_campaign(tx, progress=3, **kwargs)


# ---------------------------------------------------------------------------- ingestion
def _log_table():
    import pyarrow as pa

    tx = synthetic_transactions(80, 15, random_state=3)
    frame = tx.to_pandas()
    return pa.Table.from_pandas(frame, preserve_index=False)


def _ingest(how: str, table, tmp_path, **kwargs):
    if how == "arrays":
        cols = {c: table.column(c).to_numpy() for c in
                ("customer", "item", "timestamp", "value", "quantity", "basket", "discount")}
        return oto.Transactions.from_arrays(**cols, **kwargs)
    names = {"quantity": "quantity", "basket": "basket", "discount": "discount"}
    if how == "arrow":
        return oto.Transactions.from_arrow(table, **names, **kwargs)
    if how == "pandas":
        return oto.Transactions.from_pandas(table.to_pandas(), **names, **kwargs)
    import pyarrow.parquet as pq

    path = tmp_path / "log.parquet"
    if not path.exists():
        pq.write_table(table, path)
    return oto.Transactions.from_parquet(path, **names, **kwargs)


_STAGES = {"arrays": 4, "arrow": 5, "pandas": 5, "parquet": 6}


@pytest.mark.parametrize("how", sorted(_STAGES))
@pytest.mark.parametrize("threads", [1, 2])
def test_ingestion_reports_each_stage_and_changes_nothing(how, threads, tmp_path):
    table = _log_table()
    seen: list[tuple[int, int | None]] = []
    with_cb = _ingest(how, table, tmp_path, num_threads=threads,
                      progress=lambda d, t: seen.append((d, t)))
    total = _STAGES[how]
    assert seen == [(d, total) for d in range(1, total + 1)]
    without = _ingest(how, table, tmp_path, num_threads=threads)
    for name in ("customer", "item", "basket", "timestamp", "quantity", "value", "discount"):
        assert np.array_equal(getattr(with_cb, name), getattr(without, name)), name
    assert with_cb.customers == without.customers and with_cb.items == without.items
    assert with_cb.report == without.report


def test_ingestion_reports_nothing_past_a_failure():
    seen: list[int] = []
    with pytest.raises(ValidationError, match="return line"):
        oto.Transactions.from_arrays(customer=[1, 2], item=[1, 1], timestamp=["2024-01-01"] * 2,
                                     value=[1.0, 1.0], quantity=[1.0, -1.0],
                                     progress=lambda d, t: seen.append(d))
    assert seen == []  # the checks come first: no stage was finished


@pytest.mark.parametrize("how", sorted(_STAGES))
@pytest.mark.parametrize("bad", [1, "bar"])
def test_ingestion_refuses_a_progress_that_is_not_callable(how, bad, tmp_path):
    with pytest.raises(ValidationError, match="progress must be None or a callable") as info:
        _ingest(how, _log_table(), tmp_path, progress=bad)
    assert info.value.field == "progress"


def _run_cli(stream: io.StringIO, *argv: str) -> int:
    import contextlib

    from onetoone.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stream):
        return main(list(argv))


def test_the_cli_draws_the_ingestion_stages_on_a_terminal_only(make_config, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain bar: its text is known
    cfg = make_config()
    tty = _Tty()
    assert _run_cli(tty, "validate", "-c", cfg) == 0
    assert "ingesting" in tty.getvalue() and "] 5/5" in tty.getvalue()
    quiet = _Tty()
    assert _run_cli(quiet, "validate", "-c", cfg, "--quiet") == 0
    assert quiet.getvalue() == ""
    pipe = io.StringIO()
    assert _run_cli(pipe, "validate", "-c", cfg) == 0
    assert "ingesting" not in pipe.getvalue() and "\r" not in pipe.getvalue()
