"""``onetoone.save`` / ``onetoone.load``: one pair of verbs for every persisted object.

Every persistable value (an :class:`~onetoone.AffinityModel`, a
:class:`~onetoone.ResponseModel`, a :class:`~onetoone.Plan`) is written as one
``.npz`` archive of plain arrays plus a JSON header naming its ``kind`` and
``format_version``; nothing is pickled, and a load checks the whole file before
building anything (see ``onetoone._persist``).
"""

from __future__ import annotations

import os
from typing import Any, TypeVar, overload

from onetoone._persist import read_kind
from onetoone.affinity import AffinityModel, ResponseModel
from onetoone.affinity import _io as _affinity_io
from onetoone.allocation import Plan
from onetoone.allocation import _plan as _plan_io
from onetoone.errors import FormatError, ValidationError
from onetoone.uplift import UpliftModel
from onetoone.uplift import _io as _uplift_io
from onetoone.value import FrequencyModel, LapseModel, SpendModel
from onetoone.value import _io as _value_io
from onetoone.value import _lapse as _lapse_io

__all__ = ["Persistable", "load", "save"]

#: Everything :func:`save` writes and :func:`load` reads.
Persistable = (
    AffinityModel | ResponseModel | Plan | UpliftModel | LapseModel | FrequencyModel | SpendModel
)
_KINDS: dict[str, type[Persistable]] = {
    "AffinityModel": AffinityModel,
    "ResponseModel": ResponseModel,
    "Plan": Plan,
    "UpliftModel": UpliftModel,
    "LapseModel": LapseModel,
    "FrequencyModel": FrequencyModel,
    "SpendModel": SpendModel,
}
T = TypeVar(
    "T", AffinityModel, ResponseModel, Plan, UpliftModel, LapseModel, FrequencyModel, SpendModel
)


def _path_iv(path: object) -> str:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"path must be a str or os.PathLike, got {type(path).__name__}; "
            "pass a file name such as 'model.npz'",
            field="path",
        )
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ValidationError("path must name a file with a str path", field="path")
    return target


def save(obj: Persistable, path: str | os.PathLike[str]) -> None:
    """Write a model or a plan to ``path`` (an ``.npz`` file), atomically.

    Parameters
    ----------
    obj : Persistable
        What to save: an AffinityModel, ResponseModel, Plan, UpliftModel,
        LapseModel, FrequencyModel or SpendModel.
    path : str or os.PathLike
        The file to write; it must end in ``.npz``. The file is written to a
        temporary name first and moved into place, so a crash never leaves a
        half-written file under ``path``.

    Raises
    ------
    ValidationError
        ``obj`` is not persistable, or ``path`` does not end in ``.npz`` (for a
        plan as Parquet, write ``plan.to_arrow()`` with ``pyarrow.parquet``).

    See Also
    --------
    load : read it back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, onetoone as oto
    >>> problem = oto.AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)))
    >>> plan = oto.Plan(oto.allocate(problem), customers=oto.IdIndex.from_values([7, 9]),
    ...                 offers=oto.IdIndex.from_values(["a", "b"]))
    >>> path = os.path.join(tempfile.mkdtemp(), "plan.npz")
    >>> oto.save(plan, path)
    >>> oto.load(path, oto.Plan).offers_for(9).tolist()
    ['b']
    """
    target = _path_iv(path)
    if isinstance(obj, Plan):
        _plan_io.save_plan(obj, target)
    elif isinstance(obj, (AffinityModel, ResponseModel)):
        _affinity_io.save(obj, target)
    elif isinstance(obj, UpliftModel):
        _uplift_io.save_uplift(obj, target)
    elif isinstance(obj, LapseModel):
        _lapse_io.save_lapse(obj, target)
    elif isinstance(obj, (FrequencyModel, SpendModel)):
        _value_io.save_value_model(obj, target)
    else:
        raise ValidationError(
            "save() writes an AffinityModel, a ResponseModel, a Plan, an UpliftModel, a "
            f"LapseModel, a FrequencyModel or a SpendModel, got {type(obj).__name__}",
            field="obj",
        )


@overload
def load(path: str | os.PathLike[str], kind: type[T]) -> T: ...


@overload
def load(path: str | os.PathLike[str], kind: None = None) -> Persistable: ...


def load(path: str | os.PathLike[str], kind: type[Any] | None = None) -> Persistable:
    """Read a model or a plan written by :func:`save`, checking the whole file first.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save` (or by ``save_plan`` / ``affinity.save``).
    kind : type, optional
        The type you expect (``AffinityModel``, ``ResponseModel``, ``Plan``,
        ``UpliftModel``, ``LapseModel``, ``FrequencyModel`` or ``SpendModel``);
        a file holding anything else is refused, and type checkers know the
        result's type. ``None`` returns whatever the file holds.

    Returns
    -------
    AffinityModel, ResponseModel, Plan, UpliftModel, LapseModel, FrequencyModel or SpendModel

    Raises
    ------
    FormatError
        Not a onetoone file, another kind than ``kind``, a future format
        version, or any part damaged or inconsistent. Nothing is unpickled.
    FileNotFoundError
        There is no file at ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import onetoone as oto
    >>> r = oto.fit_response([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], method="logistic")
    >>> path = os.path.join(tempfile.mkdtemp(), "response.npz")
    >>> oto.save(r, path)
    >>> type(oto.load(path)).__name__
    'ResponseModel'
    >>> oto.load(path, oto.Plan)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onetoone.errors.FormatError: ...response.npz holds a ResponseModel, not a Plan
    """
    target = _path_iv(path)
    if kind is not None and kind not in _KINDS.values():
        raise ValidationError(
            "kind must be AffinityModel, ResponseModel, Plan, UpliftModel, LapseModel, "
            f"FrequencyModel, SpendModel or None, got {kind!r}",
            field="kind",
        )
    file_kind = read_kind(target)
    if file_kind not in _KINDS:
        raise FormatError(f"{target} holds a {file_kind!r}, which onetoone.load does not read")
    if kind is not None and _KINDS[file_kind] is not kind:
        raise FormatError(f"{target} holds a {file_kind}, not a {kind.__name__}")
    if file_kind == "Plan":
        return _plan_io.load_plan(target)
    if file_kind == "UpliftModel":
        return _uplift_io.load_uplift(target)
    if file_kind == "LapseModel":
        return _lapse_io.load_lapse(target)
    if file_kind in _value_io.KINDS:
        return _value_io.load_value_model(target)
    obj = _affinity_io.load(target)
    if not isinstance(obj, (AffinityModel, ResponseModel)):  # pragma: no cover - loader's promise
        raise FormatError(f"{target} did not hold a model")
    return obj
