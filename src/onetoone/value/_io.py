"""Save and load the value models: one ``.npz`` of plain arrays plus a JSON header, no pickle."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone._persist import Field, Member, load_npz, save_npz
from onetoone.errors import FormatError, ValidationError
from onetoone.value._models import _FREQ_PARAMS, _SPEND_PARAMS, METHODS, FrequencyModel, SpendModel

__all__ = ["FORMAT_VERSION", "KINDS", "load_value_model", "save_value_model"]

#: Version of the file layout written by :func:`save_value_model`.
FORMAT_VERSION = 1
#: The ``kind`` in the file's header, per model type.
KINDS = ("FrequencyModel", "SpendModel")

_COMMON: dict[str, Field] = {
    "log_likelihood": Field("float", nullable=True),
    "n_customers": Field("int", lo=0),
    "success": Field("bool"),
    "status": Field("int", lo=-1000, hi=1000),
    "message": Field("str"),
    "iterations": Field("int", lo=0),
    "elapsed_s": Field("float", lo=0.0),
}
_FIELDS: dict[str, dict[str, Field]] = {
    "FrequencyModel": {
        **_COMMON,
        "method": Field("str", choices=METHODS),
        "unit_days": Field("float", lo=0.0, nullable=True),
    },
    "SpendModel": dict(_COMMON),
}


def _members(k: int) -> dict[str, Member]:
    return {
        "params": Member("f", (k,), dtype="float64", lo=0.0),
        "std_errors": Member("f", (k,), dtype="float64", lo=0.0, required=False),
    }


def save_value_model(model: FrequencyModel | SpendModel, path: str | os.PathLike[str]) -> None:
    """Save a :class:`FrequencyModel` or :class:`SpendModel` to ``path`` (``.npz``, no pickle).

    The parameters (and standard errors, when all are finite; otherwise they
    are not written and load back empty) are arrays; everything else is the
    JSON header. The write is atomic.
    """
    names: tuple[str, ...]
    if isinstance(model, FrequencyModel):
        kind, names = "FrequencyModel", _FREQ_PARAMS
    elif isinstance(model, SpendModel):
        kind, names = "SpendModel", _SPEND_PARAMS
    else:
        raise ValidationError(
            f"save_value_model() takes a FrequencyModel or a SpendModel, got "
            f"{type(model).__name__}",
            field="model",
        )
    arrays: dict[str, npt.NDArray[Any]] = {
        "params": np.array([model.params[k] for k in names], dtype=np.float64)
    }
    se = np.array([model.std_errors.get(k, np.nan) for k in names], dtype=np.float64)
    if bool(np.all(np.isfinite(se))):
        arrays["std_errors"] = se
    ll = model.log_likelihood
    meta: dict[str, Any] = {
        "log_likelihood": ll if np.isfinite(ll) else None,
        "n_customers": model.n_customers,
        "success": model.success,
        "status": model.status,
        "message": model.message,
        "iterations": model.iterations,
        "elapsed_s": model.elapsed_s,
    }
    if isinstance(model, FrequencyModel):
        meta["method"] = model.method
        meta["unit_days"] = model.unit_days
    save_npz(path, kind=kind, version=FORMAT_VERSION, arrays=arrays, meta=meta)


def load_value_model(path: str | os.PathLike[str]) -> FrequencyModel | SpendModel:
    """Load a model written by :func:`save_value_model`, checking the whole file first.

    Raises
    ------
    FormatError
        Not a value-model file, an unsupported version, or any part missing,
        malformed or out of range (parameters must lie in [1e-12, 1e12]).
    """
    arrays, meta = load_npz(
        path,
        kind=KINDS,
        versions=(FORMAT_VERSION,),
        fields=lambda kind: _FIELDS[kind],
        members=lambda kind: _members(len(_FREQ_PARAMS if kind == "FrequencyModel"
                                          else _SPEND_PARAMS)),
    )
    is_freq = "method" in meta
    names = _FREQ_PARAMS if is_freq else _SPEND_PARAMS
    params = arrays["params"]
    if not bool(np.all(params > 0)):
        raise FormatError(f"{os.fspath(path)}: params must be > 0, got {params.tolist()}")
    p = dict(zip(names, params.tolist(), strict=True))
    se = (dict(zip(names, arrays["std_errors"].tolist(), strict=True))
          if "std_errors" in arrays else {})
    ll = float("nan") if meta["log_likelihood"] is None else float(meta["log_likelihood"])
    common: dict[str, Any] = {
        "log_likelihood": ll,
        "n_customers": int(meta["n_customers"]),
        "success": bool(meta["success"]),
        "status": int(meta["status"]),
        "message": str(meta["message"]),
        "iterations": int(meta["iterations"]),
        "elapsed_s": float(meta["elapsed_s"]),
    }
    try:
        if is_freq:
            return FrequencyModel(meta["method"], p, se, unit_days=meta["unit_days"], **common)
        return SpendModel(p, se, **common)
    except ValidationError as exc:  # e.g. unit_days = 0, a parameter out of range
        raise FormatError(f"{os.fspath(path)}: inconsistent value-model file: {exc}") from exc
