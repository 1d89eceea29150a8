"""Passwords in libpq connection strings: find them, to keep them out of every message.

Shared by ``onetoone.io._postgres`` and the command line (which scrubs every message
it prints of the passwords of the connection strings it resolved). Standard library
only, so the command line can use it without the ``postgres`` extra.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

_KV_PASSWORD = re.compile(r"""(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)""", re.IGNORECASE)
_URI_USERINFO = re.compile(r"^(postgres(?:ql)?://[^:/?#@]*):([^@/?#]*)@", re.IGNORECASE)
_URI_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)
_URI_LOOSE = re.compile(r"://[^:/@]*:([^@]*)@")


def passwords(dsn: str) -> list[str]:
    """Every password spelled in ``dsn`` (URI userinfo, URI query, key=value)."""
    found: list[str] = []
    for loose in _URI_LOOSE.finditer(dsn):  # as spelled, even with '/' or '@' in it
        found += [loose.group(1), unquote(loose.group(1))]
    m = _URI_USERINFO.match(dsn)
    if m:
        found += [m.group(2), unquote(m.group(2))]
    if dsn.lower().startswith(("postgresql://", "postgres://")):
        try:
            query = urlsplit(dsn).query
            found += [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "password"]
        except ValueError:
            pass
        found += [m.group(2) for m in _URI_QUERY_PASSWORD.finditer(dsn)]
        return sorted({p for p in found if p}, key=len, reverse=True)
    for m in _KV_PASSWORD.finditer(dsn):
        raw = m.group(2)
        found.append(raw)
        if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
            found.append(re.sub(r"\\(.)", r"\1", raw[1:-1]))
    return sorted({p for p in found if p}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***`` (longest first)."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text
