"""Fixtures of the command-line tests, defined in cli_support.py.

Helpers are imported from ``cli_support`` (a unique module name) rather than from
``conftest``, whose name is shared with tests/db/conftest.py.
"""

from cli_support import cli, make_config, sample_dir, workdir

__all__ = ["cli", "make_config", "sample_dir", "workdir"]
