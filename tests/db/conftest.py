"""The session's throwaway PostgreSQL server (see pg_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_server import Server, running_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """A running throwaway server; stopped and removed when the session ends."""
    with running_server() as server:
        yield server
