from __future__ import annotations

import numpy as np
import pytest

import onetoone
from onetoone._random import check_random_state
from onetoone.errors import (
    LengthMismatchError,
    MissingDependencyError,
    OneToOneError,
    UnknownIdError,
    ValidationError,
)


def test_error_hierarchy_lets_callers_catch_one_base() -> None:
    assert issubclass(LengthMismatchError, ValidationError)
    assert issubclass(ValidationError, OneToOneError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(UnknownIdError, KeyError)
    assert issubclass(MissingDependencyError, ImportError)
    err = ValidationError("bad", field="price")
    assert err.field == "price"
    assert str(UnknownIdError("id 7 not known")) == "id 7 not known"


def test_check_random_state_is_reproducible() -> None:
    a = check_random_state(3).random(5)
    b = check_random_state(3).random(5)
    assert np.array_equal(a, b)
    g = np.random.default_rng(1)
    assert check_random_state(g) is g


@pytest.mark.parametrize("bad", [-1, 1.5, "seed", True])
def test_check_random_state_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValidationError, match="random_state"):
        check_random_state(bad)  # type: ignore[arg-type]


def test_public_api_is_sorted_and_importable() -> None:
    names = [n for n in onetoone.__all__ if n != "__version__"]
    assert names == sorted(names), "keep onetoone.__all__ sorted"
    assert len(set(names)) == len(names)
    for name in names:
        obj = getattr(onetoone, name)
        module = getattr(obj, "__module__", "onetoone")
        assert module.startswith("onetoone"), (name, module)
