"""Generate docs/api.md from the public API's docstrings.

Run ``python docs/gen_api.py`` after changing a public name or docstring; the
test suite fails when docs/api.md is out of date (tests/test_docs.py).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import onetoone

HEADER = """# API reference

Generated from the docstrings by `python docs/gen_api.py`; do not edit by hand.
Every name below is importable from `onetoone` (``from onetoone import X``).
Topical modules: `onetoone.datasets` (extra `datasets`) and `onetoone.report` (extra
`report`), imported as `from onetoone.report import render_html`.

"""


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


def render() -> str:
    parts = [HEADER]
    modules = [("onetoone", onetoone)]
    import onetoone.datasets as ds
    import onetoone.report as report

    modules.append(("onetoone.datasets", ds))
    modules.append(("onetoone.report", report))
    for mod_name, mod in modules:
        parts.append(f"# `{mod_name}`\n")
        for name in sorted(mod.__all__, key=str.lower):
            if name == "__version__":
                continue
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
