"""The API policy, enforced: a public name or signature never changes silently.

``released.json`` is the public surface of the last release (regenerate it with
``python tests/api/api_snapshot.py --write`` when releasing). Every name added,
removed or changed since then must be named, in backticks, in the CHANGELOG's
``Unreleased`` section (``Class.member`` for a method or property).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from api_snapshot import MODULES, RELEASED, collect

ROOT = Path(__file__).parents[2]


def _unreleased() -> str:
    text = (ROOT / "CHANGELOG.md").read_text()
    m = re.search(r"^## \[Unreleased\](.*?)(?=^## \[)", text + "\n## [", re.S | re.M)
    assert m, "CHANGELOG.md has no '## [Unreleased]' section"
    return m.group(1)


#: The last part of every public module's name ("data", "uplift", ...).
_MODULE_NAMES = {m.rsplit(".", 1)[-1] for m in MODULES if m != "onetoone"}


def _mentioned(key: str, spans: list[str]) -> bool:
    parts = key.split(".")
    # onetoone[.module].Name[.member]: the class or function name starts with a capital
    # or is the last part; a member is written Class.member.
    names = [p for p in parts[1:] if p not in _MODULE_NAMES]
    token = ".".join(names[-2:]) if len(names) >= 2 else names[-1]
    pattern = re.compile(rf"(?<!\w){re.escape(token)}(?!\w)")
    return any(pattern.search(s) for s in spans)


def api_changes() -> dict[str, str]:
    before: dict[str, str] = json.loads(RELEASED.read_text())
    now = collect()
    changes = {}
    for key in sorted(set(before) | set(now)):
        if key not in now:
            changes[key] = "removed"
        elif key not in before:
            changes[key] = "added"
        elif before[key] != now[key]:
            changes[key] = "changed"
    return changes


def test_every_public_change_is_in_the_changelog() -> None:
    spans = re.findall(r"`([^`]+)`", _unreleased())
    changes = api_changes()

    def covered(key: str) -> bool:
        # a member of a class added or removed as a whole is covered by the class entry
        parent = key.rsplit(".", 1)[0]
        return _mentioned(key, spans) or (changes.get(parent) in ("added", "removed")
                                          and _mentioned(parent, spans))

    missing = [f"{key} ({how})" for key, how in changes.items() if not covered(key)]
    assert not missing, (
        "public API changed without a CHANGELOG entry; name each in backticks under "
        "'## [Unreleased]' with its migration:\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("key", ["onetoone.Plan.offers_for", "onetoone.allocate"])
def test_mention_rule(key: str) -> None:
    name = key.split(".", 1)[1]
    assert _mentioned(key, [f"{name}(x)"])
    assert not _mentioned(key, ["something_else"])


def test_the_reference_opens_with_the_policy_and_the_vocabulary() -> None:
    """docs/api.md is generated; its hand-written preamble must be there (it once was not)."""
    api = (ROOT / "docs" / "api.md").read_text()
    for heading in ("## What is public", "## One vocabulary", "## API policy"):
        assert heading in api, heading
    assert api.index("## API policy") < api.index("# `onetoone`")
