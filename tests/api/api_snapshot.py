"""The public API as data: every public name and signature, for the API-policy test.

``python tests/api/api_snapshot.py --write`` stores the current surface in
``tests/api/released.json``; do it when a version is released (see docs/api.md,
"API policy"). Between releases, tests/api/test_api_policy.py requires every
difference from that file to be named in CHANGELOG.md's Unreleased section.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RELEASED = HERE / "released.json"

def _documented_modules() -> tuple[str, ...]:
    """docs/gen_api.py's ``MODULES``: the one list of the documented public modules."""
    path = HERE.parents[1] / "docs" / "gen_api.py"
    spec = importlib.util.spec_from_file_location("_onetoone_gen_api", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.MODULES)


#: Every public namespace: a name in one of these ``__all__`` lists is a promise. The
#: documented modules, plus ``errors`` (its names are documented at the top level) and the
#: deprecated ``strategies`` shim.
MODULES = (*_documented_modules(), "onetoone.errors", "onetoone.strategies")


def _sig(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _describe(obj: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if inspect.isclass(obj):
        out[""] = "class" + ("" if issubclass(obj, BaseException) else _sig(obj))
        for name, member in sorted(vars(obj).items()):
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                out["." + name] = "property"
            elif isinstance(member, (classmethod, staticmethod)):
                out["." + name] = type(member).__name__ + _sig(member.__func__)
            elif callable(member):
                out["." + name] = _sig(member)
    elif callable(obj):
        out[""] = "def" + _sig(obj)
    else:
        out[""] = "const " + type(obj).__name__
    return out


def collect() -> dict[str, str]:
    """``{"module.Name[.member]": signature}`` for every public name."""
    api: dict[str, str] = {}
    for mod_name in MODULES:
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        for name in getattr(mod, "__all__", ()):
            if name == "__version__":
                continue
            for member, sig in _describe(getattr(mod, name)).items():
                api[f"{mod_name}.{name}{member}"] = sig
    return dict(sorted(api.items()))


def main(argv: list[str]) -> int:
    if argv[1:] == ["--write"]:
        RELEASED.write_text(json.dumps(collect(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {RELEASED}")
        return 0
    print(json.dumps(collect(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
