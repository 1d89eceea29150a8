"""Issue 13 in affinity and offers: one unknown-id policy, one num_threads default,
frozen derived tables, read-only factors, the outcome matrix for fit_response."""

from __future__ import annotations

import functools
from typing import Any

import attrs
import numpy as np
import pytest

from _affinity_data import habit_catalogue, habit_log
from onetoone.affinity import AffinityModel, fit_affinity, partial_fit
from onetoone.affinity._model import _Derived

AS_OF = "2024-02-01"
TINY: dict[str, Any] = {"factors": 4, "iterations": 5, "num_threads": 1, "random_state": 0}


@functools.cache
def _fit(method: str = "hybrid") -> AffinityModel:
    return fit_affinity(
        habit_log(),
        as_of=AS_OF,
        method=method,  # type: ignore[arg-type]
        catalogue=habit_catalogue(),
        **TINY,
    )


# --------------------------------------------------------------------------- derived tables
def test_derived_tables_are_a_frozen_object_of_read_only_arrays() -> None:
    m = _fit("hybrid")
    d = m._derived
    assert isinstance(d, _Derived)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.seen = np.zeros(1, dtype=bool)  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m._derived = d  # type: ignore[misc]
    assert d.v_group is not None
    for a in (d.seen, d.has_history, d.fallback_group, d.pop_group, d.v_group):
        assert not a.flags.writeable
    for csr in (d.sat, d.sat_group):
        assert not (csr.data.flags.writeable or csr.indices.flags.writeable)
    assert m.has_history.tolist() == [True, True, True, False]  # dan buys after as_of
    assert not m.has_history.flags.writeable


def test_derived_tables_are_rebuilt_by_evolve() -> None:
    m = _fit("repeat")
    log = habit_log()
    dan = log.subset(log.customers.decode(log.customer) == "dan")
    m2 = partial_fit(m, dan, as_of="2024-03-01")
    assert m2._derived is not m._derived
    assert m2.has_history.tolist() == [True, True, True, True]


@pytest.mark.parametrize("method", ["hybrid", "als", "bpr"])
def test_factors_are_read_only(method: str) -> None:
    m = _fit(method)
    assert m.user_factors is not None and m.item_factors is not None
    for f in (m.user_factors, m.item_factors):
        assert not f.flags.writeable
        assert f.dtype == np.float32 and f.flags.c_contiguous
        with pytest.raises(ValueError, match="read-only"):
            f[0, 0] = 1.0


def test_model_keeps_callers_factor_arrays_writable() -> None:
    m = _fit("als")
    assert m.user_factors is not None and m.item_factors is not None
    uf, itf = np.array(m.user_factors), np.array(m.item_factors)
    m2 = attrs.evolve(m, user_factors=uf, item_factors=itf)
    assert uf.flags.writeable  # a read-only view, not the caller's array, is stored
    assert m2.user_factors is not None and not m2.user_factors.flags.writeable
