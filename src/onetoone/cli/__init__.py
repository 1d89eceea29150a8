"""The ``onetoone`` command line: a campaign from one config file, step by step or at once.

Every subcommand reads a TOML campaign config (``--config``; see
``onetoone schema config`` and ``docs/cli.md``), validates all of it before
doing anything, runs the pipeline up to its step over the public API, and
writes its outputs atomically into ``[outputs] dir`` (a failing command leaves
that folder as it was). Human messages go to stderr; ``--json`` prints one JSON
document on stdout (``onetoone schema result``); the exit code says what
happened (:class:`ExitCode`).

=============  ===========================================================
subcommand     writes
=============  ===========================================================
``validate``   nothing: ingests the log and prints the ingestion report
``profile``    ``profiles.parquet``
``fit``        ``affinity.npz``, ``response.npz``, ``uplift.npz``,
               ``frequency.npz``, ``spend.npz``, ``value.parquet``,
               ``lapse.npz`` (``--model``: one file set per kind)
``score``      ``scores.parquet``
``plan``       ``plan.parquet``, ``certificate.json`` (+ the plan table)
``holdout``    ``holdout.parquet``
``measure``    ``measurement.json``, ``kpis.json``
``report``     ``report.html``
``run``        all of the above
``schema``     prints a shipped JSON Schema
=============  ===========================================================
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from onetoone._version import __version__
from onetoone.errors import (
    InfeasibleError,
    MissingDependencyError,
    OneToOneError,
    ValidationError,
)

__all__ = ["ExitCode", "main"]


class ExitCode(enum.IntEnum):
    """Exit codes of the ``onetoone`` command.

    Attributes
    ----------
    OK : 0
        Success.
    INTERNAL_ERROR : 1
        A bug: an unexpected exception (the message asks for a report; ``-v``
        shows the traceback).
    USAGE : 2
        Bad command-line arguments (argparse's own code).
    BAD_INPUT : 3
        A bad config (unknown key, wrong type, missing key) or bad data (a
        missing column, rows refused by the ingestion policies, unknown ids).
    INFEASIBLE : 4
        The budgets or caps admit no plan (e.g. a negative budget limit).
    MISSING_DEPENDENCY : 5
        An optional dependency is not installed (the message names the extra).
    IO_ERROR : 6
        A file or database could not be read or written (missing file,
        permissions, unreachable server).

    Examples
    --------
    >>> ExitCode.INFEASIBLE, int(ExitCode.BAD_INPUT)
    (<ExitCode.INFEASIBLE: 4>, 3)
    """

    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    INFEASIBLE = 4
    MISSING_DEPENDENCY = 5
    IO_ERROR = 6


log = logging.getLogger("onetoone.cli")


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code of an exception (see :class:`ExitCode`).

    An ``OSError`` is an I/O failure even when it is also a library error
    (:class:`onetoone.errors.DataSourceError`: an unreachable database, a wrong
    password).
    """
    if isinstance(exc, InfeasibleError):
        return ExitCode.INFEASIBLE
    if isinstance(exc, MissingDependencyError):
        return ExitCode.MISSING_DEPENDENCY
    if isinstance(exc, OSError):  # before OneToOneError: DataSourceError is both
        return ExitCode.IO_ERROR
    if isinstance(exc, (ValidationError, OneToOneError)):
        return ExitCode.BAD_INPUT
    return ExitCode.INTERNAL_ERROR


_EXAMPLE = "example:\n  onetoone {name} --config campaign.toml{extra}\n"


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on our stream and our code."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from onetoone.cli._commands import COMMANDS, MODEL_KINDS
    from onetoone.cli._schemas import SCHEMAS

    codes = "\n".join(f"  {int(c)}  {c.name}" for c in ExitCode)
    parser = _Parser(
        prog="onetoone",
        description="Personalised offers from a transaction log: validate, profile, fit, "
        "score, plan, holdout, measure and report, from one TOML campaign config.",
        epilog="example:\n  onetoone run --config campaign.toml --json\n\nexit codes:\n"
        + codes
        + "\n\nSee docs/cli.md; `onetoone schema config` prints the config's JSON Schema.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"onetoone {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="print one JSON result document on stdout"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no messages or progress, only errors"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", help="debug messages (and tracebacks)"
    )
    with_config = _Parser(add_help=False, parents=[common])
    with_config.add_argument(
        "-c", "--config", required=True, metavar="FILE", help="the campaign config (TOML)"
    )
    with_config.add_argument(
        "-o", "--output-dir", metavar="DIR", help="override [outputs] dir of the config"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in COMMANDS.items():
        extra = " --model affinity" if name == "fit" else ""
        p = sub.add_parser(
            name,
            parents=[with_config],
            help=cmd.help,
            description=cmd.help,
            epilog=_EXAMPLE.format(name=name, extra=extra) + "\nexit codes:\n" + codes,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "fit":
            p.add_argument(
                "--model",
                action="append",
                choices=list(MODEL_KINDS),
                help="model kind to fit (repeatable; default: every kind the config has)",
            )
    p = sub.add_parser(
        "schema",
        parents=[common],
        help="print a shipped JSON Schema",
        description="Print a JSON Schema (draft 2020-12) shipped with onetoone: "
        + "; ".join(f"{k}: {v}" for k, v in SCHEMAS.items()),
        epilog="example:\n  onetoone schema config > config.schema.json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", choices=list(SCHEMAS), help="which schema")
    return parser


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Messages to stderr (looked up at emit time, so tests can capture it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``onetoone`` command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        An :class:`ExitCode`.

    Examples
    --------
    >>> import contextlib, io, json
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = main(["schema", "certificate"])
    >>> code, json.loads(out.getvalue())["$schema"]
    (0, 'https://json-schema.org/draft/2020-12/schema')
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    root = logging.getLogger("onetoone")
    handler = _Handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level, old_propagate = root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(
        logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    )
    root.propagate = False
    try:
        return _dispatch(args)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        root.propagate = old_propagate


def _emit(doc: dict[str, Any], stream: TextIO | None = None) -> None:
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(doc, sort_keys=True, allow_nan=False) + "\n")
    out.flush()


def _dispatch(args: argparse.Namespace) -> int:
    from onetoone.cli._commands import COMMANDS, run_command

    command: str = args.command
    try:
        if command == "schema":
            from onetoone.cli._schemas import schema_text

            sys.stdout.write(schema_text(args.name))
            return int(ExitCode.OK)
        result = run_command(COMMANDS[command], args)
    except KeyboardInterrupt:
        log.error("interrupted; nothing was written")
        return 130
    except Exception as exc:
        from onetoone.cli._pipeline import scrub

        code = exit_code_of(exc)
        message = scrub(str(exc))  # no password, whatever a driver's message holds
        if code is ExitCode.INTERNAL_ERROR:
            log.error(
                "internal error: %s: %s\nthis is a bug in onetoone; please report it with the "
                "traceback (run again with -v)", type(exc).__name__, message,
            )
            log.debug("%s", scrub("".join(traceback.format_exception(exc))))
        else:
            log.error("error: %s", message)
        if getattr(args, "json", False):
            _emit(
                {
                    "command": command,
                    "status": "error",
                    "exit_code": int(code),
                    "version": __version__,
                    "error": {
                        "type": type(exc).__name__,
                        "message": message,
                        "field": getattr(exc, "field", None),
                    },
                }
            )
        return int(code)
    if args.json:
        fields = dict(result)
        warnings = fields.pop("warnings", [])
        _emit(
            {
                "command": command,
                "status": "warning" if warnings else "ok",
                "exit_code": 0,
                "version": __version__,
                **({"warnings": warnings} if warnings else {}),
                **fields,
            }
        )
    return int(ExitCode.OK)

