"""Every public name documents itself with a numpydoc example that runs.

The examples themselves run as doctests (``--doctest-modules``); this test makes sure
none is missing, in every public module (the API policy's list).
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest
from api_snapshot import MODULES

_DEPRECATED_MODULES = {"onetoone.strategies"}


def _public() -> list[tuple[str, str]]:
    out = []
    for mod_name in MODULES:
        if mod_name in _DEPRECATED_MODULES:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        out += [(mod_name, n) for n in getattr(mod, "__all__", ()) if n != "__version__"]
    return out


@pytest.mark.parametrize(("module", "name"), _public())
def test_every_public_name_has_a_running_example(module: str, name: str) -> None:
    obj = getattr(importlib.import_module(module), name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return  # constants and type aliases are described in their module's docstring
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{module}.{name} has no docstring"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # errors: described by their docstring; raised in the examples of others
    assert "Examples\n--------" in doc and ">>> " in doc, (
        f"{module}.{name} has no numpydoc Examples section with a doctest"
    )
