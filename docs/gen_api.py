"""Generate docs/api.md from the public API's docstrings.

Run ``python docs/gen_api.py`` after changing a public name, a docstring or
``docs/api_policy.md`` (the preamble); the
test suite fails when docs/api.md is out of date (tests/test_docs.py).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import onetoone

#: The hand-written preamble: what is public, the vocabulary and the API policy.
HEADER = Path(__file__).with_name("api_policy.md").read_text() + "\n"


def _section(name: str, obj: object) -> str:
    kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "constant"
    out = [f"## `{name}` ({kind})", ""]
    if callable(obj):
        try:
            sig = str(inspect.signature(obj))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            sig = "(...)"
        out += ["```python", f"{name}{sig}", "```", ""]
    doc = inspect.getdoc(obj) if kind != "constant" else None
    if kind == "constant":
        out += ["```python", f"{name} = {obj!r}", "```", ""]
    elif doc:
        out += ["```text", doc, "```", ""]
    if inspect.isclass(obj):
        for meth_name, meth in sorted(vars(obj).items()):
            if meth_name.startswith("_"):
                continue
            fn = meth.__func__ if isinstance(meth, (classmethod, staticmethod)) else meth
            if not callable(fn) and not isinstance(meth, property):
                continue
            if isinstance(meth, property):
                mdoc = inspect.getdoc(meth) or ""
                out += [
                    f"- `{name}.{meth_name}` (property): {mdoc.splitlines()[0] if mdoc else ''}"
                ]
                continue
            try:
                msig = str(inspect.signature(fn))
            except (TypeError, ValueError):
                msig = "(...)"
            mdoc = inspect.getdoc(fn) or ""
            first = mdoc.split("\n\n")[0].replace("\n", " ")
            out += [f"- `{name}.{meth_name}{msig}`: {first}"]
        out.append("")
    return "\n".join(out)


#: Public modules in reading order; a name re-exported at the top level is shown once.
MODULES = (
    "onetoone",
    "onetoone.data",
    "onetoone.profiles",
    "onetoone.value",
    "onetoone.offers",
    "onetoone.affinity",
    "onetoone.response",
    "onetoone.uplift",
    "onetoone.allocation",
    "onetoone.measurement",
    "onetoone.report",
    "onetoone.datasets",
    "onetoone.io",
    "onetoone.cli",
    "onetoone.bench",
    "onetoone.distributed",
)


def render() -> str:
    import importlib

    parts = [HEADER]
    shown = {id(getattr(onetoone, n)) for n in onetoone.__all__ if n != "__version__"}
    for mod_name in MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:  # a namespace not built yet
            continue
        names = [n for n in sorted(mod.__all__, key=str.lower) if n != "__version__"]
        if mod_name != "onetoone":
            names = [n for n in names if id(getattr(mod, n)) not in shown or
                     isinstance(getattr(mod, n), (int, float, str, tuple))]
        if not names:
            continue
        parts.append(f"# `{mod_name}`\n")
        if mod_name != "onetoone":
            parts.append(f"Import as `from {mod_name} import ...`.\n")
        for name in names:
            parts.append(_section(name, getattr(mod, name)))
    return "\n".join(parts).rstrip() + "\n"


def main() -> int:
    target = Path(__file__).with_name("api.md")
    text = render()
    if "--check" in sys.argv:
        return 0 if target.read_text() == text else 1
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
