"""Scalar times: bare numbers are refused at every public entry that takes a time.

``20240501`` is not 1 May 2024; read as a time it is 233 days after the Unix
epoch, which silently selected empty windows (issue 12, defect 6).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from onetoone import ValidationError, build_profiles
from onetoone._arrays import to_datetime64
from onetoone.affinity import fit_affinity, partial_fit
from onetoone.bench import (
    make_context,
    market_offers,
    mass,
    replay_campaign,
    simulate_market,
)
from onetoone.data import Transactions, customer_item_matrix
from onetoone.datasets import synthetic_transactions
from onetoone.measurement import Goals, measure_campaign, track_kpis

BARE_NUMBERS: list[Any] = [
    20240501,
    20240501.0,
    np.int64(20240501),
    np.float32(1.5),
    np.uint8(3),
    True,
    np.bool_(False),
    1_714_521_600,  # epoch seconds of 2024-05-01: still refused, say so explicitly
]


@functools.cache
def _tx() -> Transactions:
    return synthetic_transactions(40, 20, n_days=120, start="2024-01-01", random_state=0)


@functools.cache
def _market() -> Any:
    return simulate_market(60, 30, 4, history_weeks=6, random_state=1)


def _arms() -> tuple[Any, Any]:
    ids = _tx().customers.values
    return ids[::2], ids[1::2]


def _measure(**times: Any) -> Any:
    t, c = _arms()
    kw: dict[str, Any] = {"start": "2024-03-01", "end": "2024-04-01"} | times
    return measure_campaign(_tx(), treated=t, control=c, cost=1.0, **kw)


def _track(**times: Any) -> Any:
    t, c = _arms()
    kw: dict[str, Any] = {"start": "2024-03-01", "end": "2024-04-01"} | times
    return track_kpis(_tx(), treated=t, control=c, goals=Goals(), cost=1.0, **kw)


def _context(as_of: Any) -> Any:
    m = _market()
    return make_context(m.history, market_offers(m), as_of=as_of, budget=5.0, method="repeat")


def _replay(**times: Any) -> Any:
    m = _market()
    ctx = _context(m.campaign_start)
    end = m.campaign_start + np.timedelta64(14, "D")
    kw: dict[str, Any] = {"start": m.campaign_start, "end": end} | times
    return replay_campaign(ctx, {"mass": mass}, n_boot=10, **kw)


# entry name -> (field named in the error, call with the bare number in that argument)
ENTRIES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "build_profiles(as_of)": ("as_of", lambda v: build_profiles(_tx(), as_of=v)),
    "build_profiles(since)": (
        "since",
        lambda v: build_profiles(_tx(), as_of="2024-03-01", since=v),
    ),
    "customer_item_matrix(as_of)": ("as_of", lambda v: customer_item_matrix(_tx(), as_of=v)),
    "customer_item_matrix(since)": ("since", lambda v: customer_item_matrix(_tx(), since=v)),
    "Transactions.between(start)": ("start", lambda v: _tx().between(v)),
    "Transactions.between(end)": ("end", lambda v: _tx().between(None, v)),
    "fit_affinity(as_of)": (
        "as_of",
        lambda v: fit_affinity(_tx(), method="repeat", as_of=v),
    ),
    "partial_fit(as_of)": (
        "as_of",
        lambda v: partial_fit(
            fit_affinity(_tx(), method="repeat", as_of="2024-03-01"), _tx(), as_of=v
        ),
    ),
    "measure_campaign(start)": ("start", lambda v: _measure(start=v)),
    "measure_campaign(end)": ("end", lambda v: _measure(end=v)),
    "measure_campaign(pre_period[0])": (
        "pre_period[0]",
        lambda v: _measure(pre_period=(v, "2024-03-01")),
    ),
    "measure_campaign(pre_period[1])": (
        "pre_period[1]",
        lambda v: _measure(pre_period=("2024-01-01", v)),
    ),
    "track_kpis(start)": ("start", lambda v: _track(start=v)),
    "track_kpis(end)": ("end", lambda v: _track(end=v)),
    "track_kpis(as_of)": ("as_of", lambda v: _track(as_of=v)),
    "make_context(as_of)": ("as_of", _context),
    "replay_campaign(start)": ("start", lambda v: _replay(start=v)),
    "replay_campaign(end)": ("end", lambda v: _replay(end=v)),
    "synthetic_transactions(start)": (
        "start",
        lambda v: synthetic_transactions(5, 5, start=v, random_state=0),
    ),
}


@pytest.mark.parametrize("value", BARE_NUMBERS, ids=repr)
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_every_time_argument_refuses_bare_numbers(entry: str, value: Any) -> None:
    field, call = ENTRIES[entry]
    with pytest.raises(ValidationError, match="bare number") as info:
        call(value)
    assert info.value.field == field
    assert "ISO date" in str(info.value)


def test_integer_as_of_no_longer_gives_empty_profiles() -> None:
    """The issue's example: ``as_of=20240501`` gave all-empty profiles silently."""
    with pytest.raises(ValidationError, match=r"as_of=20240501 is a bare number"):
        build_profiles(_tx(), as_of=20240501)
    p = build_profiles(_tx(), as_of="2024-05-01")
    assert int(np.sum(p.frequency > 0)) > 0  # the ISO form reads the log


def test_integer_campaign_window_refused() -> None:
    with pytest.raises(ValidationError, match="start=20240301 is a bare number"):
        _measure(start=20240301, end=20240401)


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01",
        dt.date(2024, 5, 1),
        dt.datetime(2024, 5, 1),
        dt.datetime(2024, 5, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        np.datetime64("2024-05-01"),
        np.datetime64("2024-05-01T00:00:00.000", "ms"),
    ],
    ids=repr,
)
def test_scalar_time_forms_still_accepted(value: Any) -> None:
    assert to_datetime64(value, "as_of") == np.datetime64("2024-05-01T00:00:00", "s")


def test_pandas_timestamp_accepted() -> None:
    pd = pytest.importorskip("pandas")
    assert to_datetime64(pd.Timestamp("2024-05-01"), "as_of") == np.datetime64("2024-05-01", "s")


@pytest.mark.parametrize("value", [None, [2024], {"a": 1}, object()], ids=repr)
def test_non_time_objects_refused(value: Any) -> None:
    with pytest.raises(ValidationError, match="as_of must be a time") as info:
        to_datetime64(value, "as_of")
    assert info.value.field == "as_of"


def test_epoch_seconds_still_expressible() -> None:
    """The documented way to pass epoch seconds works everywhere a time is taken."""
    t = np.datetime64(1_714_521_600, "s")
    assert to_datetime64(t, "as_of") == np.datetime64("2024-05-01", "s")


@pytest.mark.parametrize("value", ["10000000000000000000000-01-01", "-5000-01-01", "10000-01-01"])
def test_times_beyond_the_calendar_are_refused(value: str) -> None:
    """numpy parses a 23-digit year and wraps it to a negative year without a word."""
    import onetoone as oto
    from onetoone.datasets import synthetic_transactions

    tx = synthetic_transactions(5, 5, n_days=10, random_state=0)
    with pytest.raises(oto.ValidationError, match="outside the years 1 to 9999"):
        oto.build_profiles(tx, as_of=value)
