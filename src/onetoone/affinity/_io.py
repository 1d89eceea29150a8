"""Save and load affinity and response models: ``.npz`` + JSON header, no pickle."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone._persist import (
    Field,
    Member,
    csr_members,
    load_ids,
    load_npz,
    pack_csr,
    save_npz,
    unpack_csr,
)
from onetoone.affinity._model import METHODS, WEIGHTINGS, AffinityModel
from onetoone.affinity._response import ReliabilityTable, ResponseModel
from onetoone.errors import FormatError, ValidationError

__all__ = ["FORMAT_VERSION", "load", "save"]

#: Version of the file layout written by :func:`save`.
FORMAT_VERSION = 1


def save(obj: AffinityModel | ResponseModel, path: str | os.PathLike[str]) -> None:
    """Save a fitted :class:`AffinityModel` or :class:`ResponseModel` to ``path`` (``.npz``).

    The file holds plain arrays and a JSON header with ``kind`` and
    ``format_version``; it is read back with :func:`load` and never uses pickle.

    Raises
    ------
    ValidationError
        ``obj`` is neither model, or ``path`` does not end in ``.npz``
        (``field="path"``): the file is always an ``.npz`` archive, so another
        suffix is refused rather than written misleadingly.

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


_MAX_IDS = int(np.iinfo(np.int32).max) - 1
_POS = 5e-324  # smallest positive double: "> 0" as an inclusive bound

#: The hyperparameters an AffinityModel file must carry (the keys of fit_affinity's options).
_PARAMS: dict[str, Field] = {
    "factors": Field("int", lo=1),
    "regularization": Field("float", lo=0.0),
    "iterations": Field("int", lo=1),
    "weighting": Field("str", choices=WEIGHTINGS),
    "bm25_k1": Field("float", lo=_POS),
    "bm25_b": Field("float", lo=0.0, hi=1.0),
    "alpha": Field("float", lo=_POS),
    "learning_rate": Field("float", lo=_POS),
    "bpr_iterations": Field("int", lo=1),
    "half_life_days": Field("float", lo=_POS),
    "repeat_saturation": Field("float", lo=_POS),
    "cf_weight": Field("float", lo=0.0),
    "popularity_weight": Field("float", lo=0.0),
}
_AFFINITY_FIELDS: dict[str, Field] = {
    "method": Field("str", choices=METHODS),
    "as_of": Field("str", max_len=64),
    "params": Field("dict", fields=_PARAMS),
    "fit_seconds": Field("float", lo=0.0),
}
_AFFINITY_MEMBERS: dict[str, Member] = {
    "customers": Member("iuU", ("n_customers",)),
    "items": Member("iuU", ("n_items",)),
    **csr_members("repeat", "n_customers", "n_items", lo=0.0),
    "last_days": Member("fiu", ("repeat_nnz",), dtype="float64", lo=0.0),
    "popularity": Member("fiu", ("n_items",), dtype="float64", lo=0.0, hi=1.0),
    "item_category": Member("iu", ("n_items",), dtype="int32", lo=-1),
    "item_baskets": Member("fiu", ("n_items",), dtype="float64", lo=0.0),
    "user_factors": Member("f", ("n_customers", "n_factors"), dtype="float32", required=False),
    "item_factors": Member("f", ("n_items", "n_factors"), dtype="float32", required=False),
}
_RESPONSE_FIELDS: dict[str, Field] = {
    "method": Field("str", choices=("isotonic", "logistic")),
    "n": Field("int", lo=1),
    "n_positive": Field("int", lo=0),
    "brier": Field("float", lo=0.0, hi=1.0),
}
_RESPONSE_MEMBERS: dict[str, Member] = {
    "x": Member("fiu", ("n_knots",), dtype="float64"),
    "y": Member("fiu", ("n_knots",), dtype="float64"),
    "rel_lower": Member("fiu", ("n_bins",), dtype="float64"),
    "rel_upper": Member("fiu", ("n_bins",), dtype="float64"),
    "rel_mean_predicted": Member("fiu", ("n_bins",), dtype="float64", lo=0.0, hi=1.0),
    "rel_observed_rate": Member("fiu", ("n_bins",), dtype="float64", lo=0.0, hi=1.0),
    "rel_count": Member("iu", ("n_bins",), dtype="int64", lo=0),
}
# Scores are float32: a factor dot product, weighted, must stay well inside its range
_F32_SAFE = float(np.finfo(np.float32).max) / 4
# Derived cold-start state is (categories x factors); allow this many cells beyond the items'
_MIN_CATEGORY_CELLS = 1 << 24


def _fields(kind: str) -> dict[str, Field]:
    return _AFFINITY_FIELDS if kind == "AffinityModel" else _RESPONSE_FIELDS


def _members(kind: str) -> dict[str, Member]:
    return _AFFINITY_MEMBERS if kind == "AffinityModel" else _RESPONSE_MEMBERS


def _row_norm_max(f: npt.NDArray[np.float32]) -> float:
    if f.size == 0:
        return 0.0
    return float(np.sqrt(np.max(np.einsum("ij,ij->i", f, f, dtype=np.float64))))


def _affinity(target: str, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> Any:
    def bad(msg: str) -> FormatError:
        return FormatError(f"{target}: inconsistent AffinityModel file: {msg}")

    try:
        as_of = np.datetime64(meta["as_of"], "s")
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad(f"as_of {meta['as_of']!r} is not a time") from exc
    if np.isnat(as_of):
        raise bad("as_of is not a time (NaT)")
    customers = load_ids(arrays["customers"], "customers")
    items = load_ids(arrays["items"], "items")
    n_c, n_i = len(customers), len(items)
    repeat = unpack_csr("repeat", arrays, shape=(n_c, n_i))
    uf, itf = arrays.get("user_factors"), arrays.get("item_factors")
    if (uf is None) != (itf is None):
        raise bad("user_factors and item_factors must be both present or both absent")
    p = meta["params"]
    n_f = 0 if uf is None else int(uf.shape[1])
    cat = arrays["item_category"]
    n_cat = int(cat.max()) + 2 if len(cat) else 1
    if n_cat * (n_f + 1) > max(_MIN_CATEGORY_CELLS, 4 * n_i * (n_f + 1)):
        raise bad(f"item_category holds code {n_cat - 2:,}, far more categories than items")
    for k in ("cf_weight", "popularity_weight"):
        if p[k] > _F32_SAFE:
            raise bad(f"params {k}={p[k]!r} overflows single-precision scores")
    if uf is not None and itf is not None:
        dot = _row_norm_max(uf) * _row_norm_max(itf)
        if dot * max(p["cf_weight"], 1.0) + p["popularity_weight"] + 1.0 > _F32_SAFE:
            raise bad("the factors are too large: their scores would overflow single precision")
    return AffinityModel(
        method=meta["method"],
        customers=customers,
        items=items,
        as_of=as_of,
        params=p,
        repeat=repeat,
        last_days=arrays["last_days"],
        popularity=arrays["popularity"],
        item_category=cat,
        item_baskets=arrays["item_baskets"],
        user_factors=uf,
        item_factors=itf,
        fit_seconds=meta["fit_seconds"],
    )


def _response(target: str, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> Any:
    def bad(msg: str) -> FormatError:
        return FormatError(f"{target}: inconsistent ResponseModel file: {msg}")

    x, y, method = arrays["x"], arrays["y"], meta["method"]
    if meta["n_positive"] > meta["n"]:
        raise bad(f"n_positive={meta['n_positive']} exceeds n={meta['n']}")
    if int(arrays["rel_count"].sum()) != meta["n"]:
        raise bad("the reliability table's counts do not add up to n")
    if bool((arrays["rel_lower"] > arrays["rel_upper"]).any()):
        raise bad("a reliability bin's lower score exceeds its upper score")
    if method == "isotonic":
        if len(x) < 1 or bool((np.diff(x) <= 0).any()):
            raise bad("isotonic knots x must be at least one, strictly increasing")
        if bool(((y < 0) | (y > 1)).any()) or bool((np.diff(y) < 0).any()):
            raise bad("isotonic probabilities y must lie in [0, 1] and never decrease")
    elif len(x) != 2 or not float(y[1]) > 0:
        raise bad("a logistic model holds x = [intercept, slope] and y = [mean, std > 0]")
    return ResponseModel(
        method=method,
        x=x,
        y=y,
        reliability=ReliabilityTable(
            lower=arrays["rel_lower"],
            upper=arrays["rel_upper"],
            mean_predicted=arrays["rel_mean_predicted"],
            observed_rate=arrays["rel_observed_rate"],
            count=arrays["rel_count"],
        ),
        n=meta["n"],
        n_positive=meta["n_positive"],
        brier=meta["brier"],
    )


def load(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save` (an AffinityModel or a ResponseModel).

    Nothing in the file is trusted: every header field is checked for its type
    and range, every array for its dtype, shape (against the other parts, before
    it is read) and values (finite factors, probabilities in ``[0, 1]``), the
    sparse repeat matrix for its structure (index bounds, monotone ``indptr``,
    sorted indices) and the parts against each other, before any of it is used.
    Unknown archive members are refused before anything is decompressed.

    Raises
    ------
    FormatError
        Not a onetoone model file, an unsupported ``format_version``, or any
        missing, malformed or inconsistent part.

    Examples
    --------
    >>> import os, tempfile
    >>> from onetoone.affinity import fit_response
    >>> path = os.path.join(tempfile.mkdtemp(), "response.npz")
    >>> save(fit_response([0.0, 1.0, 2.0], [0, 1, 1]), path)
    >>> load(path).n_positive
    2
    """
    target = os.fspath(path)
    arrays, meta = load_npz(
        target,
        kind=("AffinityModel", "ResponseModel"),
        versions=(FORMAT_VERSION,),
        fields=_fields,
        members=_members,
    )
    kind = meta["__kind__"]
    try:
        if kind == "AffinityModel":
            return _affinity(target, arrays, meta)
        return _response(target, arrays, meta)
    except ValidationError as exc:
        raise FormatError(f"{target}: inconsistent {kind} file: {exc}") from exc
