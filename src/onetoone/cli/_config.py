"""The campaign config: read a TOML file and validate all of it before anything runs.

The shipped JSON Schema (``schemas/config.json``) is the one description of the
config: :func:`validate_config` walks it (the subset of draft 2020-12 the schema
uses: ``type``, ``properties``, ``required``, ``additionalProperties``, ``enum``,
bounds, ``minLength``, ``items``, ``$ref``), so the file users read with
``onetoone schema config`` and the checks cannot drift apart. Every error names
the key path (``budgets[1].limit``) and the fix (the key's ``description``).
Checks that relate several keys (a file source needs ``path``, ``end`` after
``start`` ...) follow in :func:`_semantic_checks`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import operator
import os
import tomllib
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from onetoone.cli._schemas import load_schema
from onetoone.errors import ValidationError


class ConfigError(ValidationError):
    """A campaign config that cannot run; ``field`` is the key path (``budgets[1].limit``)."""


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise AssertionError(f"schema type {kind!r} not handled")  # pragma: no cover


def _fix(schema: Mapping[str, Any]) -> str:
    text = schema.get("description")
    return f"; fix: {text}" if text else ""


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):  # pragma: no cover - the shipped schema uses local refs
            raise AssertionError(f"unsupported $ref {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _check(value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any]) -> None:
    schema = _resolve(schema, root)
    where = path or "the config"
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, t) for t in allowed):
            want = " or ".join("table" if t == "object" else t for t in allowed)
            article = "an" if want[0] in "aeiou" else "a"
            got = f"got {_type_name(value)} {value!r}"
            raise ConfigError(f"{where} must be {article} {want}, {got}{_fix(schema)}", field=path)
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(c) for c in schema["enum"])
        raise ConfigError(f"{where} must be one of {choices}, got {value!r}", field=path)
    if _is_type(value, "number"):
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{where} must be a number, got nan{_fix(schema)}", field=path)
        bounds = (
            ("minimum", operator.ge, ">="),
            ("maximum", operator.le, "<="),
            ("exclusiveMinimum", operator.gt, ">"),
            ("exclusiveMaximum", operator.lt, "<"),
        )
        for key, ok, sign in bounds:
            if key in schema and not ok(value, schema[key]):
                raise ConfigError(
                    f"{where} must be {sign} {schema[key]}, got {value!r}{_fix(schema)}",
                    field=path,
                )
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        raise ConfigError(f"{where} must not be empty{_fix(schema)}", field=path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], _join(path, i), root)
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                sub = _resolve(props.get(key, {}), root)
                raise ConfigError(
                    f"{_join(path, key)} is missing; it is required{_fix(sub)}",
                    field=_join(path, key),
                )
        for key, item in value.items():
            if key in props:
                _check(item, props[key], _join(path, key), root)
            elif schema.get("additionalProperties", True) is False:
                close = difflib.get_close_matches(key, list(props), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(
                    f"{_join(path, key)} is not a known key; {hint}"
                    f"the keys of {where} are {', '.join(props)}",
                    field=_join(path, key),
                )


def _to_json(value: Any) -> Any:
    """TOML values as JSON values: dates and times become ISO strings."""
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def validate_config(data: Any) -> dict[str, Any]:
    """Check a parsed config against the schema and the cross-key rules; return it as JSON values.

    Raises
    ------
    ConfigError
        The first problem, naming its key path and the fix.
    """
    data = _to_json(data)
    schema = load_schema("config")
    _check(data, schema, "", schema)
    _semantic_checks(data)
    assert isinstance(data, dict)
    return data


def _time(cfg: Mapping[str, Any], key: str, section: str = "dates") -> np.datetime64 | None:
    text = cfg.get(section, {}).get(key)
    if text is None:
        return None
    try:
        return np.datetime64(text, "s")
    except ValueError as exc:
        raise ConfigError(
            f"{section}.{key} must be an ISO date or time such as 2017-05-08, got {text!r}",
            field=f"{section}.{key}",
        ) from exc


def _one_of(table: Mapping[str, Any], path: str, keys: tuple[str, str], what: str) -> None:
    given = [k for k in keys if k in table]
    if len(given) != 1:
        a, b = keys
        problem = "both" if given else "neither"
        raise ConfigError(
            f"{path} has {problem} {a!r} and {b!r}; give exactly one ({what})",
            field=f"{path}.{keys[0]}",
        )


def _semantic_checks(cfg: Mapping[str, Any]) -> None:
    for name, src in cfg["sources"].items():
        path = f"sources.{name}"
        kind = src.get("kind", "file")
        file_keys, db_keys = ("path", "format"), ("dsn", "dsn_env", "query", "table")
        wrong = [k for k in (db_keys if kind == "file" else file_keys) if k in src]
        if wrong:
            raise ConfigError(
                f"{path}.{wrong[0]} does not apply to a source of kind {kind!r}; remove it or "
                f"set kind = {'postgres' if kind == 'file' else 'file'!r}",
                field=f"{path}.{wrong[0]}",
            )
        if kind == "file" and "path" not in src:
            raise ConfigError(
                f"{path}.path is missing; a file source needs path = \"...\" "
                "(or kind = \"postgres\" with dsn_env and query or table)",
                field=f"{path}.path",
            )
        if kind == "postgres":
            _one_of(src, path, ("dsn_env", "dsn"), "where to connect")
            _one_of(src, path, ("query", "table"), "what to read")
    plan_table = cfg["outputs"].get("plan_table")
    if plan_table is not None:
        _one_of(plan_table, "outputs.plan_table", ("dsn_env", "dsn"), "where to connect")
    response_as_of = _time(cfg, "as_of", "response")
    as_of, since = _time(cfg, "as_of"), _time(cfg, "since")
    if response_as_of is not None and as_of is not None and not response_as_of <= as_of:
        raise ConfigError(
            f"response.as_of ({response_as_of}) must not be after dates.as_of ({as_of}): the "
            "response model learns from a past campaign",
            field="response.as_of",
        )
    start, end = _time(cfg, "start"), _time(cfg, "end")
    if since is not None and as_of is not None and not since < as_of:
        raise ConfigError(
            f"dates.since ({since}) must be before dates.as_of ({as_of})", field="dates.since"
        )
    begin = start if start is not None else as_of
    if end is not None and begin is not None and not begin < end:
        raise ConfigError(
            f"dates.end ({end}) must be after the campaign start ({begin}); end is exclusive: "
            "give the day after the last day",
            field="dates.end",
        )
    names = [b["name"] for b in cfg.get("budgets", [])]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(
                f"budgets[{i}].name {name!r} is used twice; give each budget its own name",
                field=f"budgets[{i}].name",
            )
    cost = cfg.get("measure", {}).get("cost")
    if isinstance(cost, str) and cost != "plan":
        raise ConfigError(
            f"measure.cost must be a number or \"plan\" (the plan's spend), got {cost!r}",
            field="measure.cost",
        )
    if isinstance(cost, (int, float)) and not (cost >= 0 and math.isfinite(cost)):
        raise ConfigError(
            f"measure.cost must be a finite number >= 0, got {cost!r}", field="measure.cost"
        )


@attrs.frozen
class Config:
    """A validated campaign config.

    Attributes
    ----------
    data : dict
        The config as JSON values (dates as ISO strings), exactly as written.
    base_dir : str
        The config file's folder; relative paths are relative to it.
    sha256 : str
        SHA-256 of the config's canonical JSON (sorted keys), recorded in the
        certificate so a run can be matched to its config.
    """

    data: Mapping[str, Any]
    base_dir: str
    sha256: str

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table (empty when absent)."""
        value = self.data.get(name, {})
        assert isinstance(value, Mapping)
        return value

    def path(self, text: str) -> str:
        """``text`` resolved against the config's folder (``~`` expanded)."""
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(text)))

    def time(self, key: str, section: str = "dates") -> np.datetime64 | None:
        """``<section>.<key>`` (default ``dates``) as datetime64[s], or None."""
        return _time(self.data, key, section)

    def require(self, section: str, key: str | None = None, *, why: str) -> Any:
        """``section[.key]``, or a ConfigError saying which command needs it."""
        table = self.data.get(section)
        if table is None or (key is not None and key not in table):
            path = section if key is None else f"{section}.{key}"
            raise ConfigError(f"{path} is missing; {why}", field=path)
        return table if key is None else table[key]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML campaign config.

    Raises
    ------
    FileNotFoundError
        No such file.
    ConfigError
        Not TOML (or not UTF-8, or nested too deeply), or a key missing,
        unknown or of the wrong type (named).
    """
    text_path = os.fspath(path)
    try:
        with open(text_path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot read the config {text_path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{text_path} is not valid TOML: {exc}", field="") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8; tomllib raises this one untyped
        raise ConfigError(
            f"{text_path} is not valid TOML: not UTF-8 text ({exc.reason} at byte "
            f"{exc.start}); save the config as UTF-8",
            field="",
        ) from exc
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError(
            f"{text_path} is not valid TOML for a campaign config: its arrays or tables are "
            "nested too deeply",
            field="",
        ) from None
    data = validate_config(raw)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return Config(
        data=data,
        base_dir=os.path.dirname(os.path.abspath(text_path)),
        sha256=hashlib.sha256(canonical).hexdigest(),
    )
