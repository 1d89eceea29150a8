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


def pytest_ignore_collect(collection_path: Any, config: pytest.Config) -> bool | None:
    """Do not collect conftest files a second time as doctest modules.

    ``--doctest-modules`` would import every ``conftest.py`` under the shared module
    name ``conftest``, and tests/cli's and tests/db's would clash; they hold no
    doctests, and pytest loads them as plugins anyway.
    """
    if getattr(collection_path, "name", "") == "conftest.py":
        return True
    return None
