"""Save and load affinity and response models: ``.npz`` + JSON header, no pickle."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone._persist import load_ids, load_npz, pack_csr, save_npz, unpack_csr
from onetoone.affinity._model import AffinityModel
from onetoone.affinity._response import ReliabilityTable, ResponseModel
from onetoone.errors import FormatError, ValidationError

__all__ = ["FORMAT_VERSION", "load", "save"]

#: Version of the file layout written by :func:`save`.
FORMAT_VERSION = 1


def save(obj: AffinityModel | ResponseModel, path: str | os.PathLike[str]) -> None:
    """Save a fitted :class:`AffinityModel` or :class:`ResponseModel` to ``path`` (``.npz``).

    The file holds plain arrays and a JSON header with ``kind`` and
    ``format_version``; it is read back with :func:`load` and never uses pickle.

    Examples
    --------
    >>> import os, tempfile
    >>> from onetoone.affinity import fit_affinity
    >>> from onetoone.datasets import synthetic_transactions
    >>> m = fit_affinity(synthetic_transactions(30, 20, random_state=0), method="repeat")
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(m, path)
    >>> load(path).repeat.nnz == m.repeat.nnz
    True
    """
    if isinstance(obj, AffinityModel):
        arrays: dict[str, npt.NDArray[Any]] = {
            "customers": obj.customers.values,
            "items": obj.items.values,
            "last_days": obj.last_days,
            "popularity": obj.popularity,
            "item_category": obj.item_category,
            "item_baskets": obj.item_baskets,
            **pack_csr("repeat", obj.repeat),
        }
        if obj.user_factors is not None and obj.item_factors is not None:
            arrays["user_factors"] = obj.user_factors
            arrays["item_factors"] = obj.item_factors
        meta: dict[str, Any] = {
            "method": obj.method,
            "as_of": str(obj.as_of.astype("datetime64[s]")),
            "params": dict(obj.params),
            "fit_seconds": obj.fit_seconds,
        }
        save_npz(path, kind="AffinityModel", version=FORMAT_VERSION, arrays=arrays, meta=meta)
        return
    if isinstance(obj, ResponseModel):
        r = obj.reliability
        arrays = {
            "x": obj.x,
            "y": obj.y,
            "rel_lower": r.lower,
            "rel_upper": r.upper,
            "rel_mean_predicted": r.mean_predicted,
            "rel_observed_rate": r.observed_rate,
            "rel_count": r.count,
        }
        meta = {"method": obj.method, "n": obj.n, "n_positive": obj.n_positive, "brier": obj.brier}
        save_npz(path, kind="ResponseModel", version=FORMAT_VERSION, arrays=arrays, meta=meta)
        return
    raise ValidationError(
        f"save() takes an AffinityModel or a ResponseModel, got {type(obj).__name__}",
        field="obj",
    )


def load(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save` (an AffinityModel or a ResponseModel).

    Raises
    ------
    FormatError
        Not a onetoone model file, an unsupported ``format_version``, or
        missing / inconsistent parts.
    """
    arrays, meta = load_npz(
        path, kind=("AffinityModel", "ResponseModel"), versions=(FORMAT_VERSION,)
    )
    kind = meta["__kind__"]
    try:
        if kind == "AffinityModel":
            return AffinityModel(
                method=str(meta["method"]),
                customers=load_ids(arrays["customers"], "customers"),
                items=load_ids(arrays["items"], "items"),
                as_of=np.datetime64(meta["as_of"], "s"),
                params=dict(meta["params"]),
                repeat=unpack_csr("repeat", arrays),
                last_days=arrays["last_days"],
                popularity=arrays["popularity"],
                item_category=arrays["item_category"],
                item_baskets=arrays["item_baskets"],
                user_factors=arrays.get("user_factors"),
                item_factors=arrays.get("item_factors"),
                fit_seconds=float(meta["fit_seconds"]),
            )
        return ResponseModel(
            method=str(meta["method"]),
            x=arrays["x"],
            y=arrays["y"],
            reliability=ReliabilityTable(
                lower=arrays["rel_lower"],
                upper=arrays["rel_upper"],
                mean_predicted=arrays["rel_mean_predicted"],
                observed_rate=arrays["rel_observed_rate"],
                count=arrays["rel_count"],
            ),
            n=int(meta["n"]),
            n_positive=int(meta["n_positive"]),
            brier=float(meta["brier"]),
        )
    except KeyError as exc:
        raise FormatError(f"{os.fspath(path)}: missing part {exc} in a {kind} file") from exc
    except ValidationError as exc:
        raise FormatError(f"{os.fspath(path)}: inconsistent {kind} file: {exc}") from exc
