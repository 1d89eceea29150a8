"""Collection rules for the whole repository (tests/ has its own conftest)."""

from __future__ import annotations

import importlib.util
import os

# The Dask adapters' doctests start a LocalCluster: they need the optional ``dask``
# extra. Without it they are not collected (tests/dask_cluster skips the same way),
# unless ONETOONE_REQUIRE_DASK=1 asks for a failure instead.
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("dask") is None and not os.environ.get("ONETOONE_REQUIRE_DASK"):
    collect_ignore_glob.append("src/onetoone/distributed/_dask.py")
