"""Docs stay in step with the code.

The code blocks of README.md and docs/*.md are run by tests/test_docs_run.py; this file
checks the generated API reference, the README's commands and the links between pages.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import onetoone

ROOT = Path(__file__).parents[1]


def test_api_reference_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_api.py"), "--check"], cwd=ROOT)
    assert proc.returncode == 0, "docs/api.md is stale: run `python docs/gen_api.py`"


def test_every_public_name_is_documented() -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    missing = [n for n in onetoone.__all__ if n != "__version__" and f"`{n}`" not in api]
    assert not missing, missing
    for name in onetoone.__all__:
        obj = getattr(onetoone, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    # ... as commands of a ```bash block, and as targets of the Makefile
    bash = "\n".join(re.findall(r"^```bash\n(.*?)^```", readme, flags=re.M | re.S))
    commands = {ln.split("#")[0].strip() for ln in bash.splitlines()}
    assert {"make demo", "make test"} <= commands, commands
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)


def test_relative_links_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
