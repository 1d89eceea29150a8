"""Properties of config validation: any value anywhere is accepted or refused by name."""

from __future__ import annotations

import json
from typing import Any

from cli_support import BASE_CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.cli._config import ConfigError, validate_config

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, prefix: str = "") -> list[str]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, f"{prefix}.{k}" if prefix else k)
    return out


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from([*_paths(BASE_CONFIG), "new", "sources.new", "dates.new"]),
       value=_VALUES)
def test_any_value_at_any_key_is_accepted_or_refused_with_a_key_path(where, value):
    cfg = json.loads(json.dumps(BASE_CONFIG))
    node = cfg
    *parents, last = where.split(".")
    for p in parents:
        node = node[p]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    try:
        validate_config(cfg)
    except ConfigError as exc:
        assert exc.field is not None
        assert str(exc).startswith(exc.field.split("[")[0].split(".")[0]) or exc.field == ""
