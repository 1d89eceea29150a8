"""Save and load uplift models: one ``.npz`` of plain arrays plus a JSON header, no pickle."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from onetoone._persist import Field, Member, load_npz, save_npz
from onetoone.errors import FormatError, ValidationError
from onetoone.uplift._learners import METHODS, OUTCOME_TYPES, UpliftModel

__all__ = ["FORMAT_VERSION", "KIND", "load_uplift", "save_uplift"]

#: Version of the file layout written by :func:`save_uplift`. Version 2 adds the
#: S-learner (``method="s"``) and its ``interaction_l2`` header field; version-1
#: files (no S-learner, no such field) still load.
FORMAT_VERSION = 2
#: The ``kind`` in the file's header.
KIND = "UpliftModel"

_FIELDS_V1: dict[str, Field] = {
    "method": Field("str", choices=("t", "dr", "x")),
    "outcome_type": Field("str", choices=OUTCOME_TYPES),
    "l2": Field("float", lo=0.0),
    "n_folds": Field("int", lo=0, hi=100),
    "converged": Field("bool"),
    "iterations": Field("int", lo=0),
    "elapsed_s": Field("float", lo=0.0),
}
_FIELDS: dict[str, Field] = {
    **_FIELDS_V1,
    "method": Field("str", choices=METHODS),
    "interaction_l2": Field("float", lo=0.0, nullable=True),
}
_MEMBERS: dict[str, Member] = {
    "arms": Member("iuU", ("n_arms",)),
    "arm_counts": Member("iu", ("n_arms",), dtype="int64", lo=1),
    "outcome_intercept": Member("f", ("n_arms",), dtype="float64"),
    "outcome_coef": Member("f", ("n_arms", "n_features"), dtype="float64"),
    "effect_intercept": Member("f", ("n_arms-1",), dtype="float64", required=False),
    "effect_coef": Member("f", ("n_arms-1", "n_features"), dtype="float64", required=False),
}


def save_uplift(model: UpliftModel, path: str | os.PathLike[str]) -> None:
    """Save an :class:`UpliftModel` to ``path`` (``.npz``, no pickle), losslessly.

    The arm labels (control first), every component's coefficients and the
    training counts are arrays; the method, outcome type, penalty and
    convergence are the JSON header, with ``kind="UpliftModel"`` and
    ``format_version``. The write is atomic (temporary file, then rename).

    Raises
    ------
    ValidationError
        ``model`` is not an :class:`UpliftModel`, or ``path`` does not end in
        ``.npz`` (``field="path"``).

    Examples
    --------
    >>> import os, tempfile
    >>> m = UpliftModel(method="t", outcome_type="continuous", control=0, treatments=(1,),
    ...                 outcome_intercept=[1.0, 1.5], outcome_coef=[[0.0], [1.0]])
    >>> path = os.path.join(tempfile.mkdtemp(), "uplift.npz")
    >>> save_uplift(m, path)
    >>> load_uplift(path).outcome_coef.tolist()
    [[0.0], [1.0]]
    """
    if not isinstance(model, UpliftModel):
        raise ValidationError(
            f"save_uplift() takes an UpliftModel, got {type(model).__name__}", field="model"
        )
    arms = np.asarray(model.arms)
    counts = model.arm_counts
    if counts is None:  # a hand-built model: counts unknown, stored as 1 per arm
        counts = np.ones(len(model.arms), dtype=np.int64)
    arrays: dict[str, npt.NDArray[Any]] = {
        "arms": arms,
        "arm_counts": counts,
        "outcome_intercept": model.outcome_intercept,
        "outcome_coef": model.outcome_coef,
    }
    if model.effect_intercept is not None and model.effect_coef is not None:
        arrays["effect_intercept"] = model.effect_intercept
        arrays["effect_coef"] = model.effect_coef
    meta = {
        "method": model.method,
        "outcome_type": model.outcome_type,
        "l2": model.l2,
        "n_folds": model.n_folds,
        "interaction_l2": model.interaction_l2,
        "converged": model.converged,
        "iterations": model.iterations,
        "elapsed_s": model.elapsed_s,
    }
    save_npz(path, kind=KIND, version=FORMAT_VERSION, arrays=arrays, meta=meta)


def load_uplift(path: str | os.PathLike[str]) -> UpliftModel:
    """Load an :class:`UpliftModel` written by :func:`save_uplift`, checking it first.

    Every header field is checked for its type and range, every array for its
    dtype (floats for coefficients, never object), its shape against the
    others (one intercept and one coefficient row per arm, the same number of
    features everywhere) before it is read, and its values (finite
    coefficients, positive counts); then the parts against each other (two or
    more distinct arms, effect models present exactly for the DR- and
    X-learners, folds only for the DR-learner). Unknown members are refused
    before anything is decompressed.

    Raises
    ------
    FormatError
        Not a onetoone uplift file, an unsupported ``format_version``, or any
        missing, malformed or inconsistent part.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> m = UpliftModel(method="x", outcome_type="binary", control="none", treatments=("a",),
    ...                 outcome_intercept=[0.0, 0.1], outcome_coef=[[0.0], [0.0]],
    ...                 effect_intercept=[0.02], effect_coef=[[0.01]])
    >>> path = os.path.join(tempfile.mkdtemp(), "uplift.npz")
    >>> save_uplift(m, path)
    >>> m2 = load_uplift(path)
    >>> m2.treatments, m2.predict([[1.0]]).tolist()
    (('a',), [0.03])
    """
    target = os.fspath(path)
    try:
        arrays, meta = load_npz(
            target, kind=KIND, versions=(FORMAT_VERSION,), fields=_FIELDS, members=_MEMBERS
        )
    except FormatError as exc2:
        try:
            arrays, meta = load_npz(
                target, kind=KIND, versions=(1,), fields=_FIELDS_V1, members=_MEMBERS
            )
        except FormatError as exc1:
            if "format_version" in str(exc1) and "format_version" in str(exc2):
                raise FormatError(
                    f"{target}: unsupported format_version; this onetoone reads UpliftModel "
                    "files of format_version 1 and 2; re-save it with a matching onetoone "
                    "version"
                ) from exc2
            raise (exc1 if "format_version" in str(exc2) else exc2) from None
        meta["interaction_l2"] = None

    def bad(msg: str) -> FormatError:
        return FormatError(f"{target}: inconsistent UpliftModel file: {msg}")

    arms = arrays["arms"]
    if len(arms) < 2:
        raise bad(f"it has {len(arms)} arm(s); a model has a control and at least one treatment")
    if len(np.unique(arms)) != len(arms):
        raise bad("the arm labels are not distinct")
    method = meta["method"]
    folds = meta["n_folds"]
    if (
        (method == "dr" and folds < 2)
        or (method in ("t", "x") and folds != 0)
        or (method == "s" and folds == 1)
    ):
        raise bad(f"n_folds={folds} does not fit method {method!r}")
    has_effect = "effect_intercept" in arrays, "effect_coef" in arrays
    if has_effect != ((method in ("dr", "x")),) * 2:
        raise bad(f"method {method!r} must have effect models exactly when it is 'dr' or 'x'")
    labels = arms.tolist()
    try:
        return UpliftModel(
            method=method,
            outcome_type=meta["outcome_type"],
            control=labels[0],
            treatments=tuple(labels[1:]),
            outcome_intercept=arrays["outcome_intercept"],
            outcome_coef=arrays["outcome_coef"],
            effect_intercept=arrays.get("effect_intercept"),
            effect_coef=arrays.get("effect_coef"),
            arm_counts=arrays["arm_counts"],
            l2=meta["l2"],
            n_folds=meta["n_folds"],
            interaction_l2=meta["interaction_l2"],
            converged=meta["converged"],
            iterations=meta["iterations"],
            elapsed_s=meta["elapsed_s"],
        )
    except ValidationError as exc:
        raise bad(str(exc)) from exc
