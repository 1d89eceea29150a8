"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one file run in order, in one namespace, in a child Python process whose
working directory (and TMPDIR) is a fresh temporary directory, with deprecation warnings
turned into errors: a page that uses a deprecated spelling fails. A failure names the
file, the block's number among the file's python blocks and its line, and shows the
traceback with the page's own line numbers.

A block that cannot run by design is marked by an HTML comment on the line just before
its fence, ``<!-- no-run: the reason -->``; the harness skips it and prints the reason.
Keep such exceptions rare: prefer a block that substitutes a temporary file.

``docs/api.md`` is generated from docstrings (their examples run as doctests) and is not
read here. ``examples/quickstart.py`` is generated from docs/quickstart.md: run
``python tests/test_docs_run.py`` after editing the page.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

import onetoone

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]
QUICKSTART = ROOT / "docs" / "quickstart.md"
QUICKSTART_EXAMPLE = ROOT / "examples" / "quickstart.py"

#: Pages owned by other work in flight whose blocks do not run yet, with the reason. Each
#: is a strict xfail: once the page runs, the test fails until its entry is removed here.
PENDING: dict[str, str] = {
}

#: Pages whose blocks need an optional extra, with the module that tells it is installed:
#: skipped (with the reason) when it is missing, unless ONETOONE_REQUIRE_DASK=1 asks a
#: run with the extra to fail instead.
REQUIRES: dict[str, tuple[str, str]] = {
    "docs/scale.md": ("dask", "dask"),
}

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
_NO_RUN = re.compile(r"^\s*<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced ```python block of a Markdown file."""

    file: str  # path relative to the repository root, for messages
    path: str  # absolute path: tracebacks show the page's own lines
    n: int  # 1-based number among the file's python blocks
    line: int  # 1-based line of the first code line
    code: str
    no_run: str | None  # the reason of a `<!-- no-run: ... -->` marker


def extract_blocks(text: str, path: Path) -> list[Block]:
    """The ```python blocks of a Markdown text, in order, with their no-run markers."""
    try:
        rel = str(path.relative_to(ROOT))
    except ValueError:
        rel = str(path)
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, indent = m["fence"], m["info"].lower(), len(m["indent"])
        start = i + 1
        j = start
        while j < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]
        ):
            j += 1
        if j == len(lines):
            raise ValueError(f"{rel}:{i + 1}: code fence {fence}{info} is never closed")
        marker = _NO_RUN.match(lines[i - 1]) if i > 0 else None
        if info in ("python", "py", "python3"):
            body = [ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines[start:j]]
            reason = None
            if marker:
                reason = marker["reason"]
                if not reason:
                    raise ValueError(f"{rel}:{i}: <!-- no-run: --> needs a reason")
            blocks.append(
                Block(rel, str(path), len(blocks) + 1, start + 1, "\n".join(body) + "\n", reason)
            )
        elif marker:
            raise ValueError(
                f"{rel}:{i}: <!-- no-run --> must be on the line just before a ```python fence"
            )
        i = j + 1
    for k, ln in enumerate(lines):
        if _NO_RUN.match(ln) and not (k + 1 < len(lines) and _FENCE.match(lines[k + 1])):
            raise ValueError(
                f"{rel}:{k + 1}: <!-- no-run --> must be on the line just before a ```python fence"
            )
    return blocks


# The child process: run the blocks in one namespace, stop at the first failure.
_DRIVER = r"""
import json, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
ns = {"__name__": "__main__"}
for b in blocks:
    where = f"{b['file']} python block {b['n']} (line {b['line']})"
    if b["no_run"] is not None:
        print(f"[docs-run] not run: {where}: {b['no_run']}", flush=True)
        continue
    try:
        # padded so that tracebacks give the line numbers of the page itself
        code = compile("\n" * (b["line"] - 1) + b["code"], b["path"], "exec")
        exec(code, ns)
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            continue
        sys.stdout.flush()
        sys.stderr.write(f"[docs-run] FAILED {where}\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)  # not this frame
        sys.exit(1)
    print(f"[docs-run] ok: {where}", flush=True)
"""


def run_blocks(
    blocks: list[Block], workdir: Path, timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run ``blocks`` in one child process with ``workdir`` as working and temp directory."""
    spec = workdir / "_docs_run_blocks.json"
    spec.write_text(json.dumps([asdict(b) for b in blocks]), encoding="utf-8")
    src = str(Path(onetoone.__file__).parents[1])  # the onetoone under test
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])]),
        TMPDIR=str(workdir),
        MPLBACKEND="Agg",
    )
    return subprocess.run(
        [
            sys.executable,
            "-W", "error::DeprecationWarning",
            "-W", "error::FutureWarning",
            "-c", _DRIVER, str(spec),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _failure(proc: subprocess.CompletedProcess[str]) -> str:
    return f"{proc.stderr[-6000:]}\n--- stdout (end) ---\n{proc.stdout[-2000:]}"


def _doc_params() -> list[object]:
    params: list[object] = []
    for path in DOCS:
        rel = str(path.relative_to(ROOT))
        marks: list[pytest.MarkDecorator] = []
        if "complete_journey(" in path.read_text(encoding="utf-8"):
            marks.append(pytest.mark.slow)
        if rel in PENDING:
            marks.append(pytest.mark.xfail(strict=True, reason=PENDING[rel]))
        if rel in REQUIRES:
            module, extra = REQUIRES[rel]
            if importlib.util.find_spec(module) is None and not os.environ.get(
                "ONETOONE_REQUIRE_DASK"
            ):
                reason = f"needs the {extra!r} extra (pip install 'onetoone[{extra}]')"
                marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(path, id=rel, marks=marks))
    return params


@pytest.mark.parametrize("doc", _doc_params())
def test_doc_blocks_run(doc: Path, tmp_path: Path) -> None:
    blocks = extract_blocks(doc.read_text(encoding="utf-8"), doc)
    if not blocks:
        return
    proc = run_blocks(blocks, tmp_path)
    for line in proc.stdout.splitlines():
        if line.startswith("[docs-run] not run"):
            print(line)  # reported in the test's output (pytest -rA, or on failure)
    assert proc.returncode == 0, _failure(proc)


# ------------------------------------------------------------------ the harness itself
def test_harness_names_the_failing_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\ntext\n\n<!-- no-run: needs a warehouse -->\n"
        "```python\nimport warehouse\n```\n\n```bash\nexit 1\n```\n\n"
        "```python\ny = x + 1\nraise KeyError(y)\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(page.read_text(encoding="utf-8"), page)
    assert [(b.n, b.line, b.no_run) for b in blocks] == [
        (1, 4, None),
        (2, 11, "needs a warehouse"),
        (3, 19, None),
    ]
    proc = run_blocks(blocks, tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "not run: " in proc.stdout and "block 2 (line 11): needs a warehouse" in proc.stdout
    assert "FAILED" in proc.stderr and "python block 3 (line 19)" in proc.stderr
    assert f'File "{page}", line 20' in proc.stderr  # the page's own line
    assert "KeyError: 2" in proc.stderr  # block 3 saw block 1's x: one namespace


def test_harness_turns_deprecations_into_failures(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nimport warnings\nwarnings.warn('old', FutureWarning)\n```\n", encoding="utf-8"
    )
    proc = run_blocks(extract_blocks(page.read_text(encoding="utf-8"), page), tmp_path, 60)
    assert proc.returncode == 1 and "FutureWarning: old" in proc.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```python\nx = 1\n", "never closed"),
        ("<!-- no-run: why -->\n```bash\nls\n```\n", "just before a ```python fence"),
        ("<!-- no-run: why -->\n\n```python\nx = 1\n```\n", "just before a ```python fence"),
        ("<!-- no-run: -->\n```python\nx = 1\n```\n", "needs a reason"),
    ],
    ids=["unclosed-fence", "marker-before-bash", "marker-then-blank-line", "marker-no-reason"],
)
def test_extractor_rejects_broken_markup(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        extract_blocks(text, Path("page.md"))


def test_every_doc_parses() -> None:
    for path in DOCS:
        extract_blocks(path.read_text(encoding="utf-8"), path)  # raises on broken markup


# ------------------------------------------------------------------ examples/quickstart.py
_HEADER = '''"""Quick start: from the Complete Journey log to a measured, budgeted coupon plan.

Generated from docs/quickstart.md by ``python tests/test_docs_run.py``: edit the page,
then regenerate (tests/test_docs_run.py checks that the two agree). Run by the test suite.
"""
'''


def quickstart_script(page: str) -> str:
    """examples/quickstart.py as generated from the text of docs/quickstart.md."""
    heading_at: list[tuple[int, str]] = [
        (i + 1, ln[3:].strip()) for i, ln in enumerate(page.splitlines()) if ln.startswith("## ")
    ]
    parts = [_HEADER]
    last_heading = ""
    for b in extract_blocks(page, QUICKSTART):
        if b.no_run is not None:
            raise ValueError(f"docs/quickstart.md block {b.n}: the quick start must run whole")
        heading = max(((ln, h) for ln, h in heading_at if ln < b.line), default=(0, ""))[1]
        if heading and heading != last_heading:
            parts.append(f"# {heading}\n{b.code}")
        else:
            parts.append(b.code)
        last_heading = heading
    return "\n".join(parts)


def test_quickstart_example_is_generated_from_the_page() -> None:
    expected = quickstart_script(QUICKSTART.read_text(encoding="utf-8"))
    actual = QUICKSTART_EXAMPLE.read_text(encoding="utf-8")
    assert actual == expected, (
        "examples/quickstart.py differs from docs/quickstart.md's code: run "
        "`python tests/test_docs_run.py` to regenerate it"
    )


if __name__ == "__main__":
    QUICKSTART_EXAMPLE.write_text(
        quickstart_script(QUICKSTART.read_text(encoding="utf-8")), encoding="utf-8"
    )
    print(f"wrote {QUICKSTART_EXAMPLE.relative_to(ROOT)}")
