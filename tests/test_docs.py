"""Docs stay in step with the code."""

from __future__ import annotations

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
