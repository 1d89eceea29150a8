"""Deprecation machinery: the one place that knows how a public name is retired.

The API policy (docs/api.md, "API policy"): a public name, parameter or value that
changes keeps working for one minor version with a :class:`OneToOneDeprecationWarning`
that names the replacement, then is removed. Every such change is listed in
``CHANGELOG.md`` with its migration.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from onetoone.errors import OneToOneDeprecationWarning, ValidationError

__all__ = ["deprecated_alias", "moved_names", "policy_value", "renamed_kwargs", "warn_deprecated"]

P = ParamSpec("P")
R = TypeVar("R")

#: The release in which names deprecated now are removed.
REMOVAL = "0.3"


def warn_deprecated(message: str, *, stacklevel: int = 3) -> None:
    """Emit a :class:`OneToOneDeprecationWarning` with the removal release appended."""
    warnings.warn(
        f"{message} (deprecated in 0.2, removed in {REMOVAL})",
        OneToOneDeprecationWarning,
        stacklevel=stacklevel,
    )


def moved_names(module: str, moves: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) serving names that moved elsewhere.

    ``moves`` maps an old name to ``"package.module:name"``; reading the old name
    warns and returns the object from its new home.
    """

    def __getattr__(name: str) -> Any:
        target = moves.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        mod_name, _, attr = target.partition(":")
        warn_deprecated(
            f"{module}.{name} moved: use `from {mod_name} import {attr}`", stacklevel=3
        )
        return getattr(importlib.import_module(mod_name), attr)

    return __getattr__


def renamed_kwargs(**renames: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept old keyword names for one minor version: ``@renamed_kwargs(old="new")``."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ValidationError(
                            f"{func.__name__}() got both {old}= (deprecated) and {new}=; "
                            f"pass only {new}=",
                            field=new,
                        )
                    warn_deprecated(
                        f"{func.__name__}({old}=...) is renamed: pass {new}=...", stacklevel=3
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def policy_value(
    value: object,
    name: str,
    allowed: tuple[str, ...],
    *,
    renamed: Mapping[str, str] | None = None,
    func: str = "",
) -> str:
    """Check a policy string; map a deprecated value to its new spelling with a warning."""
    if isinstance(value, str) and renamed and value in renamed:
        new = renamed[value]
        where = f"{func}({name}=...)" if func else f"{name}="
        warn_deprecated(f"{where}: {value!r} is renamed {new!r}", stacklevel=4)
        value = new
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}",
            field=name,
        )
    return value


def deprecated_alias(func: Callable[P, R], old: str, new: str) -> Callable[P, R]:
    """A deprecated alias of ``func`` under the name ``old`` that points to ``new``."""

    @functools.wraps(func)
    def alias(*args: P.args, **kwargs: P.kwargs) -> R:
        warn_deprecated(f"{old} is renamed: use {new}", stacklevel=3)
        return func(*args, **kwargs)

    alias.__name__ = old.rpartition(".")[2]
    alias.__qualname__ = alias.__name__
    alias.__doc__ = f"Deprecated alias of :func:`{new}` (removed in {REMOVAL})."
    return alias
