"""Tables in and out (placeholder in the s4-pg branch; the CLI branch owns this file).

PostgreSQL tables are read and written by ``onetoone.io._postgres`` (the
``postgres`` extra).
"""

from __future__ import annotations

__all__: list[str] = []
