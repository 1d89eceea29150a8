"""The public surface of onetoone.allocation: examples that run, no private flags (issue 13)."""

from __future__ import annotations

import doctest
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import onetoone.allocation as allocation


def _public() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public class and function, and the public methods and properties of classes."""
    for name in allocation.__all__:
        obj = getattr(allocation, name)
        if not callable(obj):
            continue  # a constant (PLAN_FORMAT_VERSION) has no docstring of its own
        yield name, obj
        if inspect.isclass(obj):
            for attr, val in vars(obj).items():
                if attr.startswith("_"):
                    continue
                f = val.fget if isinstance(val, property) else getattr(val, "__func__", val)
                if callable(f):
                    yield f"{name}.{attr}", f


PUBLIC = dict(_public())


def test_the_public_names_are_found() -> None:
    assert {"allocate", "Allocation.offers_for", "Plan.offers_for", "budget_curve"} <= set(PUBLIC)
    assert "AllocationProblem.from_candidates" in PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_has_an_example(name: str) -> None:
    """A numpydoc Examples section with doctests (run by ``--doctest-modules`` over src)."""
    obj = inspect.unwrap(PUBLIC[name])
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc, f"{name} has no numpydoc Examples section"
    examples = doctest.DocTestParser().get_examples(doc.split("\nExamples\n--------\n")[1])
    assert examples, f"{name}'s Examples section has no doctest"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_no_private_flag_or_open_kwargs_in_a_public_signature(name: str) -> None:
    obj = PUBLIC[name]
    if inspect.isclass(obj):
        return  # attrs classes: their fields are their documented attributes
    try:
        params = inspect.signature(obj).parameters
    except ValueError:  # pragma: no cover - a builtin
        return
    for p in params.values():
        assert not p.name.startswith("_"), f"{name} has the private parameter {p.name}"
        assert p.kind is not inspect.Parameter.VAR_KEYWORD, f"{name} takes **{p.name}"
