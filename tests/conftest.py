from __future__ import annotations

import functools
from typing import Any

import pytest


@functools.cache
def _complete_journey() -> Any:
    from onetoone.datasets import complete_journey

    return complete_journey()


@pytest.fixture(scope="session")
def cj() -> Any:
    """The Complete Journey data, loaded once per test session."""
    return _complete_journey()
