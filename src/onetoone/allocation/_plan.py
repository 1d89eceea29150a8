"""Plans: an :class:`Allocation` tied to external ids, saved and exported safely.

The solvers work in dense codes; a retail system needs "customer 1234 gets
coupon ABC". A :class:`Plan` pairs an allocation with the
:class:`~onetoone.data.IdIndex` of its customers and offers (for example
``OfferScores.customers`` / ``OfferScores.offers``), gives its rows with the
external ids, and round-trips through :func:`save_plan` / :func:`load_plan`: one
``.npz`` of plain arrays plus a JSON header with ``kind`` and ``format_version``,
read with ``allow_pickle=False``. :meth:`Plan.to_arrow` gives the same rows as
an Arrow table (write it to Parquet for other systems) whose schema metadata
carries the format version and the plan's certificate.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._optional import import_optional
from onetoone._persist import (
    MAGIC,
    Field,
    Member,
    check_suffix,
    load_ids,
    load_npz,
    save_npz,
)
from onetoone.allocation._api import Allocation
from onetoone.data import IdIndex
from onetoone.errors import FormatError, ValidationError

__all__ = ["PLAN_FORMAT_VERSION", "Plan", "load_plan", "save_plan"]

#: Version of the file layout written by :func:`save_plan` and :meth:`Plan.to_arrow`.
PLAN_FORMAT_VERSION = 1

# Allocation fields stored as arrays / in the JSON header (everything else is derived)
_ARRAYS = (
    "customer",
    "offer",
    "value",
    "cost",
    "budget_limit",
    "budget_spend",
    "budget_price",
    "offer_count",
    "offer_usage",
    "cap",
    "cap_price",
)
_SCALARS = (
    "method",
    "n_customers",
    "n_offers",
    "objective",
    "bound",
    "gap",
    "iterations",
    "evaluations",
    "elapsed_s",
    "success",
    "status",
    "message",
)


def _check_plan(plan: Plan) -> None:
    if not isinstance(plan.allocation, Allocation):
        raise ValidationError(
            f"allocation must be an Allocation (from allocate), got "
            f"{type(plan.allocation).__name__}",
            field="allocation",
        )
    for name, idx, n in (
        ("customers", plan.customers, plan.allocation.n_customers),
        ("offers", plan.offers, plan.allocation.n_offers),
    ):
        if not isinstance(idx, IdIndex):
            raise ValidationError(
                f"{name} must be an IdIndex, got {type(idx).__name__}; use the "
                f"OfferScores.{name} the problem was built from, or IdIndex.from_values",
                field=name,
            )
        if len(idx) != n:
            raise ValidationError(
                f"{name} has {len(idx)} ids but the allocation has {n} {name} codes; pass "
                "the index the problem's codes refer to",
                field=name,
            )


@attrs.frozen(eq=False)
class Plan:
    """An :class:`Allocation` with the external ids of its customers and offers.

    Attributes
    ----------
    allocation : Allocation
        The solver's result (codes, values, certificate, prices).
    customers, offers : IdIndex
        The ids behind the allocation's customer and offer codes; their lengths
        must equal ``allocation.n_customers`` and ``allocation.n_offers``.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, allocate
    >>> from onetoone.data import IdIndex
    >>> problem = AllocationProblem.from_dense(
    ...     np.array([[3.0, 1.0], [2.0, 4.0]]), np.ones((2, 2)),
    ...     budgets=[Budget("total", 2.0)])
    >>> plan = Plan(allocate(problem), customers=IdIndex.from_values([17, 42]),
    ...             offers=IdIndex.from_values(["A", "B"]))
    >>> cols = plan.columns()
    >>> cols["customer_id"].tolist(), cols["offer_id"].tolist()
    ([17, 42], ['A', 'B'])
    >>> plan.offers_for(42).tolist()
    ['B']
    """

    allocation: Allocation
    customers: IdIndex
    offers: IdIndex

    def __attrs_post_init__(self) -> None:
        _check_plan(self)

    def __len__(self) -> int:
        return len(self.allocation)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The chosen pairs as columns ``customer_id, offer_id, value, cost``.

        One row per (customer, offer) given, sorted by customer code then offer
        code, with the external ids.

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, Budget, allocate
        >>> from onetoone.data import IdIndex
        >>> problem = AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)),
        ...                                        budgets=[Budget("total", 2.0)])
        >>> plan = Plan(allocate(problem), customers=IdIndex.from_values([17, 42]),
        ...             offers=IdIndex.from_values(["A", "B"]))
        >>> {k: v.tolist() for k, v in plan.columns().items()}
        {'customer_id': [17, 42], 'offer_id': ['A', 'B'], 'value': [3.0, 4.0], 'cost': [1.0, 1.0]}
        """
        a = self.allocation
        return {
            "customer_id": self.customers.decode(a.customer),
            "offer_id": self.offers.decode(a.offer),
            "value": np.asarray(a.value),
            "cost": np.asarray(a.cost),
        }

    def offers_for(self, customer_id: Any) -> npt.NDArray[Any]:
        """External ids of the offers given to one customer (empty if none).

        The id counterpart of :meth:`Allocation.offers_for`, which takes and
        returns codes.

        Parameters
        ----------
        customer_id : int or str
            An external id in ``customers``.

        Returns
        -------
        array
            The offers' external ids, in offer-code order.

        Raises
        ------
        UnknownIdError
            ``customer_id`` is not in ``customers``.

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, Budget, allocate
        >>> from onetoone.data import IdIndex
        >>> problem = AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)),
        ...                                        budgets=[Budget("total", 2.0)])
        >>> plan = Plan(allocate(problem), customers=IdIndex.from_values([17, 42]),
        ...             offers=IdIndex.from_values(["A", "B"]))
        >>> plan.offers_for(42).tolist(), plan.offers_for(17).tolist()
        (['B'], ['A'])
        """
        code = int(self.customers.encode([customer_id], field="customer_id")[0])
        return self.offers.decode(self.allocation.offers_for(code))

    def certificate(self) -> dict[str, Any]:
        """The plan's scalar certificate and budgets as JSON-ready Python values.

        ``objective``, ``bound``, ``gap``, ``method``, ``status``, ``message``
        and, per budget, its limit, spend and shadow price (non-finite numbers
        become ``None``).

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, Budget, allocate
        >>> from onetoone.data import IdIndex
        >>> problem = AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)),
        ...                                        budgets=[Budget("total", 2.0)])
        >>> plan = Plan(allocate(problem), customers=IdIndex.from_values([17, 42]),
        ...             offers=IdIndex.from_values(["A", "B"]))
        >>> cert = plan.certificate()
        >>> cert["objective"], cert["n_pairs"], cert["budgets"][0]["spend"]
        (7.0, 2, 2.0)
        """
        a = self.allocation

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(float(x)) else None

        return {
            "method": a.method,
            "objective": num(a.objective),
            "bound": num(a.bound),
            "gap": num(a.gap),
            "status": int(a.status),
            "success": bool(a.success),
            "message": a.message,
            "n_pairs": len(a),
            "n_customers": int(a.n_customers),
            "n_offers": int(a.n_offers),
            "budgets": [
                {
                    "name": name,
                    "limit": num(a.budget_limit[i]),
                    "spend": num(a.budget_spend[i]),
                    "shadow_price": num(a.budget_price[i]),
                }
                for i, name in enumerate(a.budget_names)
            ],
        }

    def to_arrow(self) -> Any:
        """The chosen pairs as a ``pyarrow.Table`` (needs the ``arrow`` extra).

        Columns as :meth:`columns`; the schema metadata key ``b"onetoone"``
        holds a JSON header ``{"format", "kind": "PlanTable", "format_version",
        "meta": certificate()}``. Write it with ``pyarrow.parquet.write_table``
        for an ERP or a warehouse; keep :func:`save_plan`'s ``.npz`` as the
        lossless archive (it also holds per-offer counts and cap prices).

        Raises
        ------
        MissingDependencyError
            pyarrow is not installed.

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, Budget, allocate
        >>> from onetoone.data import IdIndex
        >>> problem = AllocationProblem.from_dense([[3.0, 1.0], [2.0, 4.0]], np.ones((2, 2)),
        ...                                        budgets=[Budget("total", 2.0)])
        >>> plan = Plan(allocate(problem), customers=IdIndex.from_values([17, 42]),
        ...             offers=IdIndex.from_values(["A", "B"]))
        >>> table = plan.to_arrow()
        >>> table.column_names, table.num_rows
        (['customer_id', 'offer_id', 'value', 'cost'], 2)
        """
        pa = import_optional("pyarrow", purpose="Plan.to_arrow")
        header = {
            "format": MAGIC,
            "kind": "PlanTable",
            "format_version": PLAN_FORMAT_VERSION,
            "meta": self.certificate(),
        }
        table = pa.table(self.columns())
        return table.replace_schema_metadata(
            {b"onetoone": json.dumps(header, sort_keys=True).encode("utf-8")}
        )


def _path_iv(path: Any, func: str) -> str:
    """``path`` as a str, or ValidationError naming ``path`` (a bytes path is refused)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(
            f"{func}: path must be a str or os.PathLike, got {type(path).__name__}; pass a "
            "file name such as 'plan.npz'",
            field="path",
        )
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ValidationError(
            f"{func}: path must be a text path, got {target!r}; decode it first", field="path"
        )
    return target


def _save_plan_iv(plan: Any, path: Any) -> tuple[Plan, str]:
    if not isinstance(plan, Plan):
        raise ValidationError(
            f"save_plan takes a Plan, got {type(plan).__name__}; wrap the Allocation with "
            "Plan(allocation, customers=..., offers=...)",
            field="plan",
        )
    target = _path_iv(path, "save_plan")
    check_suffix(
        target,
        what="saving a Plan",
        hint="for Parquet, write plan.to_arrow() with pyarrow.parquet.write_table",
    )
    return plan, target


def _load_plan_iv(path: Any) -> str:
    return _path_iv(path, "load_plan")


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Save a :class:`Plan` to ``path`` (``.npz``, no pickle), losslessly.

    Stores the allocation's arrays (pairs, values, budgets, per-offer counts,
    caps and prices), its scalar certificate, and the customer and offer ids;
    :func:`load_plan` reads it back. The write is atomic (temporary file, then
    rename). An infinite ``bound`` (no bound proven) is stored as JSON ``null``.

    Raises
    ------
    ValidationError
        ``plan`` is not a :class:`Plan`, or ``path`` does not end in ``.npz``
        (``field="path"``): the file is always an ``.npz`` archive, so another
        suffix is refused rather than written misleadingly. For Parquet, write
        ``pyarrow.parquet.write_table(plan.to_arrow(), "plan.parquet")``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, allocate
    >>> from onetoone.data import IdIndex
    >>> problem = AllocationProblem.from_dense(np.array([[3.0, 1.0]]), np.ones((1, 2)), k=2)
    >>> plan = Plan(allocate(problem), customers=IdIndex.from_values(["c1"]),
    ...             offers=IdIndex.from_values(["A", "B"]))
    >>> path = os.path.join(tempfile.mkdtemp(), "plan.npz")
    >>> save_plan(plan, path)
    >>> load_plan(path).columns()["offer_id"].tolist()
    ['A', 'B']
    """
    plan, target = _save_plan_iv(plan, path)
    a = plan.allocation
    arrays: dict[str, npt.NDArray[Any]] = {k: np.asarray(getattr(a, k)) for k in _ARRAYS}
    arrays["customer_ids"] = plan.customers.values
    arrays["offer_ids"] = plan.offers.values
    meta: dict[str, Any] = {k: getattr(a, k) for k in _SCALARS}
    for k in ("objective", "bound", "gap", "elapsed_s"):
        meta[k] = float(meta[k])
    if meta["bound"] == math.inf:
        meta["bound"] = None  # JSON has no infinity: null means no finite bound was proven
    for k in ("n_customers", "n_offers", "iterations", "evaluations", "status"):
        meta[k] = int(meta[k])
    meta["success"] = bool(meta["success"])
    meta["budget_names"] = list(a.budget_names)
    save_npz(
        target,
        kind="Plan",
        version=PLAN_FORMAT_VERSION,
        arrays=arrays,
        meta=meta,
        hint="for Parquet, write plan.to_arrow() with pyarrow.parquet.write_table",
    )


_MAX_CODES = int(np.iinfo(np.int32).max) - 1

# The file's layout, checked by load_npz before any array is read (see onetoone._persist)
_FIELDS: dict[str, Field] = {
    "method": Field("str", choices=("dual", "exact", "greedy")),
    "n_customers": Field("int", lo=0, hi=_MAX_CODES, size="n_customers"),
    "n_offers": Field("int", lo=0, hi=_MAX_CODES, size="n_offers"),
    "objective": Field("float"),
    "bound": Field("float", nullable=True),  # null: no finite bound was proven (+inf)
    "gap": Field("float", lo=0.0),
    "iterations": Field("int", lo=0),
    "evaluations": Field("int", lo=0),
    "elapsed_s": Field("float", lo=0.0),
    "success": Field("bool"),
    "status": Field("int", lo=0, hi=2),
    "message": Field("str", max_len=100_000),
    "budget_names": Field("strs", size="n_budgets", unique=True),
}
_MEMBERS: dict[str, Member] = {
    "customer_ids": Member("iuU", ("n_customers",)),
    "offer_ids": Member("iuU", ("n_offers",)),
    "customer": Member("iu", ("n_pairs",), dtype="int32", lo=0, hi="n_customers-1"),
    "offer": Member("iu", ("n_pairs",), dtype="int32", lo=0, hi="n_offers-1"),
    "value": Member("fiu", ("n_pairs",), dtype="float64"),
    "cost": Member("fiu", ("n_pairs",), dtype="float64", lo=0.0),
    "budget_limit": Member("fiu", ("n_budgets",), dtype="float64", lo=0.0, posinf=True),
    "budget_spend": Member("fiu", ("n_budgets",), dtype="float64", lo=0.0),
    "budget_price": Member("fiu", ("n_budgets",), dtype="float64"),
    "offer_count": Member("iu", ("n_offers",), dtype="int64", lo=0, hi="n_pairs"),
    "offer_usage": Member("fiu", ("n_offers",), dtype="float64", lo=0.0),
    "cap": Member("fiu", ("n_offers",), dtype="float64", lo=0.0, posinf=True),
    "cap_price": Member("fiu", ("n_offers",), dtype="float64"),
}
# relative tolerance of the objective against the sum of the stored values
_OBJECTIVE_RTOL = 1e-9


def _check_plan_file(target: str, f: dict[str, Any]) -> None:
    """Relations between a plan file's parts (each part was checked on its own)."""

    def bad(msg: str) -> FormatError:
        return FormatError(f"{target}: inconsistent Plan file: {msg}")

    cust, off = f["customer"], f["offer"]
    key = cust.astype(np.int64) * max(int(f["n_offers"]), 1) + off
    if len(key) > 1 and not bool((np.diff(key) > 0).all()):
        raise bad("the (customer, offer) pairs must be sorted and distinct")
    if not np.array_equal(f["offer_count"], np.bincount(off, minlength=int(f["n_offers"]))):
        raise bad("offer_count differs from the number of pairs per offer")
    over = f["budget_spend"] > f["budget_limit"]
    if bool(over.any()):
        b = int(np.flatnonzero(over)[0])
        raise bad(
            f"budget {f['budget_names'][b]!r} spends {float(f['budget_spend'][b])!r} over its "
            f"limit {float(f['budget_limit'][b])!r}"
        )
    if bool((f["offer_usage"] > f["cap"]).any()):
        raise bad("an offer's usage exceeds its cap")
    total = math.fsum(f["value"].tolist())
    scale = math.fsum(np.abs(f["value"]).tolist())
    if abs(f["objective"] - total) > _OBJECTIVE_RTOL * scale + 1e-300:
        raise bad(f"objective {f['objective']!r} differs from the sum of the values {total!r}")
    if f["bound"] < f["objective"] - _OBJECTIVE_RTOL * scale:
        raise bad(f"bound {f['bound']!r} is below the objective {f['objective']!r}")
    if f["success"] != (f["status"] == 0):
        raise bad(f"success={f['success']} contradicts status {f['status']}")


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Load a plan written by :func:`save_plan`, checking every part before use.

    Each header field is checked for its type and range, each array for its
    dtype, shape (against the header's counts, before it is read) and values,
    and then the parts against each other: pairs sorted and distinct, codes
    inside the id ranges, ``offer_count`` equal to the pairs per offer, spend
    within each budget's limit and usage within each cap, the objective equal
    to the sum of the values. Unknown archive members are refused before
    anything is decompressed.

    Raises
    ------
    FormatError
        Not a onetoone plan file, an unsupported ``format_version``, or any
        missing, malformed or inconsistent part (including a part the
        :class:`~onetoone.allocation.Allocation` constructor refuses).
    ValidationError
        ``path`` is not a str or ``os.PathLike``.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> from onetoone.allocation import AllocationProblem, allocate
    >>> from onetoone.data import IdIndex
    >>> problem = AllocationProblem.from_dense([[3.0], [1.0]], [[1.0], [1.0]])
    >>> path = os.path.join(tempfile.mkdtemp(), "plan.npz")
    >>> save_plan(Plan(allocate(problem), customers=IdIndex.from_values(["c1", "c2"]),
    ...                offers=IdIndex.from_values(["A"])), path)
    >>> plan = load_plan(path)
    >>> plan.offers_for("c2").tolist(), plan.allocation.objective
    (['A'], 4.0)
    """
    target = _load_plan_iv(path)
    arrays, meta = load_npz(
        target, kind="Plan", versions=(PLAN_FORMAT_VERSION,), fields=_FIELDS, members=_MEMBERS
    )
    customers = load_ids(arrays.pop("customer_ids"), "customer_ids")
    offers = load_ids(arrays.pop("offer_ids"), "offer_ids")
    fields: dict[str, Any] = {**arrays, **{k: meta[k] for k in _SCALARS}}
    if fields["bound"] is None:
        fields["bound"] = math.inf
    fields["budget_names"] = tuple(meta["budget_names"])
    _check_plan_file(target, fields)
    try:
        return Plan(Allocation(**fields), customers=customers, offers=offers)
    except ValidationError as exc:
        raise FormatError(f"{target}: inconsistent Plan file: {exc}") from exc
