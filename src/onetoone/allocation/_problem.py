"""The allocation problem: candidates (customer, offer, value, cost), budgets, caps.

Candidates are stored in the solver's order: customers grouped by their number of
eligible candidates ``d`` (then by customer code), each customer's candidates by
offer code. Customers with the same ``d`` therefore form a dense ``(n, d)`` block
that is a zero-copy reshape of the flat arrays, so the per-customer step (top-k
within groups of value minus priced cost) is a vectorised row operation with no
padding.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I32, I64, as_float, readonly
from onetoone.errors import InfeasibleError, LengthMismatchError, ValidationError

__all__ = ["AllocationProblem", "Budget"]

#: Default number of candidate pairs processed at once (bounds temporary memory).
DEFAULT_BLOCK_SIZE = 1 << 20

#: Largest magnitude accepted for a value, cost, usage or cap usage. Keeping every
#: input within ``1e100`` keeps every sum, price and product the solvers form finite
#: (a sum of 10**200 of them, a price times a limit), so no result is ever ``inf``.
MAX_MAGNITUDE = 1e100


def _budget_name(instance: Any, attribute: Any, name: Any) -> None:
    del instance, attribute
    if not isinstance(name, str) or not name:
        raise ValidationError(
            f"every Budget needs a non-empty str name, got {name!r}; e.g. Budget('total', 100.0)",
            field="budgets",
        )


def _budget_limit(limit: Any) -> float:
    """Converter: a real number (``inf`` allowed); ``NaN``, ``None``, str, bool refused."""
    if isinstance(limit, (bool, np.bool_)) or not isinstance(limit, numbers.Real):
        raise ValidationError(
            f"Budget limit must be a real number >= 0 (math.inf for no limit), "
            f"got {limit!r} ({type(limit).__name__}); convert it to a number",
            field="limit",
        )
    try:
        out = float(limit)
    except OverflowError:  # a Python int beyond float64: as good as no limit (or < 0)
        out = np.inf if int(limit) > 0 else -np.inf  # type: ignore[call-overload]
    return out


def _budget_limit_not_nan(instance: Any, attribute: Any, limit: float) -> None:
    del attribute
    if np.isnan(limit):
        raise ValidationError(
            f"budget {instance.name!r} limit is NaN; pass a number >= 0 (math.inf for no limit)",
            field="limit",
        )


@attrs.frozen(eq=False)
class Budget:
    """A global resource row: total usage of the chosen pairs must stay <= ``limit``.

    Parameters
    ----------
    name : str
        Label used in results and error messages (e.g. ``"total"``, ``"email"``).
    limit : float
        The most that may be used, ``>= 0`` (``inf`` for no limit).
    usage : array or None
        Per-pair usage of the resource. ``None`` (default) uses the problem's
        ``cost`` of each pair. Otherwise aligned with the input of the
        constructor: a ``(n_customers, n_offers)`` matrix for
        :meth:`AllocationProblem.from_dense`, one value per candidate for
        :meth:`AllocationProblem.from_candidates`. Must be finite and ``>= 0``.
    offers : array of int or None
        Offer codes the budget applies to (e.g. the offers of one channel or
        campaign); pairs of other offers use none of it. ``None``: all offers.

    Examples
    --------
    >>> Budget("total", 1000.0).limit
    1000.0

    A limit that is not a number is refused when the budget is built:

    >>> Budget("total", "1000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    onetoone.errors.ValidationError: Budget limit must be a real number ... got '1000' (str)...

    A negative limit is accepted here but makes the problem infeasible: building an
    :class:`AllocationProblem` with it raises :class:`~onetoone.errors.InfeasibleError`.
    """

    name: str = attrs.field(validator=_budget_name)
    limit: float = attrs.field(converter=_budget_limit, validator=_budget_limit_not_nan)
    usage: Any = None
    offers: Any = None


@attrs.frozen(eq=False)
class _Layout:
    """Degree blocks: rows ``row0[b]:row0[b]+nrows[b]`` hold ``deg[b]`` candidates each."""

    row_customer: I32  # customer code of each internal row
    row_k: I64  # max offers for each row
    deg: I64
    row0: I64
    cand0: I64
    nrows: I64

    def chunks(self, block_size: int) -> list[tuple[int, int, int, int, int]]:
        """``(row_start, row_stop, cand_start, cand_stop, d)`` blocks of <= block_size pairs."""
        out: list[tuple[int, int, int, int, int]] = []
        for d, r0, c0, n in zip(
            self.deg.tolist(),
            self.row0.tolist(),
            self.cand0.tolist(),
            self.nrows.tolist(),
            strict=True,
        ):
            step = max(1, block_size // d)
            for s in range(0, n, step):
                e = min(n, s + step)
                out.append((r0 + s, r0 + e, c0 + s * d, c0 + e * d, d))
        return out


def _budget_list(budgets: Any) -> list[Budget]:
    """``budgets`` as a list of Budget objects (a lone Budget or a str is refused)."""
    if isinstance(budgets, Budget):
        raise ValidationError(
            f"budgets must be a sequence of Budget objects, got a single Budget "
            f"({budgets.name!r}); pass budgets=[Budget(...)]",
            field="budgets",
        )
    if isinstance(budgets, (str, bytes)) or not isinstance(budgets, Sequence):
        raise ValidationError(
            f"budgets must be a sequence (list or tuple) of Budget objects, got "
            f"{type(budgets).__name__}; pass budgets=[Budget(name, limit), ...]",
            field="budgets",
        )
    _check_budget_types(budgets)
    return list(budgets)


def _check_budget_types(budgets: Sequence[Budget]) -> None:
    for b in budgets:
        if not isinstance(b, Budget):
            raise ValidationError(
                f"budgets must be Budget objects, got {type(b).__name__}; "
                "use onetoone.allocation.Budget(name, limit)",
                field="budgets",
            )


@attrs.frozen(eq=False)
class AllocationProblem:
    """A validated budget-constrained offer allocation problem.

    Build it with :meth:`from_dense` or :meth:`from_candidates`; the fields hold
    the eligible candidates in the solver's order (see the module notes) as
    read-only arrays.

    Attributes
    ----------
    n_customers, n_offers : int
        Sizes of the customer and offer code spaces.
    customer, offer : int32 arrays
        Codes of each eligible candidate pair.
    value, cost : float64 arrays
        Expected value and expected cost of each pair.
    usage : tuple of float64 arrays
        One array per budget: the pair's usage of that budget.
    budget_names : tuple of str
    budget_limit : float64 array
    k : int64 array
        Most offers each customer may receive (length ``n_customers``).
    group : int32 array or None
        Group of each offer; at most ``group_max`` offers per group per customer.
    group_max : int
    cap : float64 array
        Per-offer cap on the sum of ``cap_usage`` over its chosen pairs
        (``inf``: no cap). With ``cap_usage=None`` each pair counts 1, so the cap is
        the most customers that may receive the offer.
    cap_usage : float64 array or None
    min_value : float
        Pairs with ``value < min_value`` (or ``value <= 0``) are ineligible.
    n_ineligible : int
        Number of input pairs left out because of their value (reported, not silent).
    layout : object
        The degree blocks (internal; used by the solvers).

    Notes
    -----
    Build problems with :meth:`from_dense` or :meth:`from_candidates`, which
    validate and order the inputs; the plain constructor checks only that the
    arrays are consistent and the figures finite (it cannot reorder them).

    Examples
    --------
    >>> import numpy as np
    >>> p = AllocationProblem.from_dense(
    ...     np.array([[3.0, 1.0], [2.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 1.0]]),
    ...     budgets=[Budget("total", 2.0)])
    >>> p.n_candidates, p.n_ineligible
    (3, 1)
    """

    n_customers: int
    n_offers: int
    customer: I32 = attrs.field(converter=readonly)
    offer: I32 = attrs.field(converter=readonly)
    value: F64 = attrs.field(converter=readonly)
    cost: F64 = attrs.field(converter=readonly)
    usage: tuple[F64, ...]
    budget_names: tuple[str, ...]
    budget_limit: F64 = attrs.field(converter=readonly)
    k: I64 = attrs.field(converter=readonly)
    group: I32 | None
    group_max: int
    cap: F64 = attrs.field(converter=readonly)
    cap_usage: F64 | None
    min_value: float
    n_ineligible: int
    layout: _Layout

    def __attrs_post_init__(self) -> None:
        """Cheap consistency checks, so an inconsistent problem cannot be built.

        The plain constructor (and :func:`attrs.evolve`) does not order or scan
        the candidates; it checks that the arrays agree in length, that limits
        are not NaN and that the figures are finite and within
        :data:`MAX_MAGNITUDE` (``from_dense``/``from_candidates`` check the rest).
        """
        n = len(self.value)
        per_pair: dict[str, npt.NDArray[Any]] = {
            "customer": self.customer,
            "offer": self.offer,
            "cost": self.cost,
        }
        if self.cap_usage is not None:
            per_pair["cap_usage"] = self.cap_usage
        for i, u in enumerate(self.usage):
            per_pair[f"usage[{i}]"] = u
        for name, arr in per_pair.items():
            if len(arr) != n:
                raise LengthMismatchError(
                    f"{name} has {len(arr)} entries but value has {n}; build problems with "
                    "AllocationProblem.from_dense or from_candidates",
                    field=name,
                )
        nb = len(self.budget_names)
        if len(self.usage) != nb or len(self.budget_limit) != nb:
            raise LengthMismatchError(
                f"{nb} budget name(s) but {len(self.usage)} usage row(s) and "
                f"{len(self.budget_limit)} limit(s); they must match",
                field="budget_limit",
            )
        if len(self.k) != self.n_customers or len(self.cap) != self.n_offers:
            raise LengthMismatchError(
                f"k has {len(self.k)} entries for {self.n_customers} customers and cap "
                f"{len(self.cap)} for {self.n_offers} offers; they must match",
                field="k" if len(self.k) != self.n_customers else "cap",
            )
        if bool(np.isnan(self.budget_limit).any()) or bool(np.isnan(self.cap).any()):
            raise ValidationError("budget limits and caps must not be NaN", field="budget_limit")
        for name, arr in (("value", self.value), ("cost", self.cost)):
            _check_finite(arr, name)
            _check_magnitude(arr, name)

    # ------------------------------------------------------------------ views
    @property
    def n_candidates(self) -> int:
        """Number of eligible (customer, offer) pairs.

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 0.0]]), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 2.0), Budget("email", 1.0)])
        >>> p.n_candidates  # the pair of value 0 is not eligible
        3
        """
        return int(self.value.shape[0])

    @property
    def n_budgets(self) -> int:
        """Number of budgets.

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 0.0]]), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 2.0), Budget("email", 1.0)])
        >>> p.n_budgets
        2
        """
        return len(self.budget_names)

    def cap_weight(self) -> F64:
        """Per-candidate usage of its offer's cap (ones if ``cap_usage`` is None).

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 0.0]]), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 2.0), Budget("email", 1.0)])
        >>> p.cap_weight().tolist()
        [1.0, 1.0, 1.0]
        """
        if self.cap_usage is None:
            return np.ones(self.n_candidates)
        return self.cap_usage

    def budget_index(self, budget: int | str) -> int:
        """Index of a budget given by position or name.

        Raises
        ------
        ValidationError
            An unknown name, an index out of range, or neither a str nor an int.

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 0.0]]), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 2.0), Budget("email", 1.0)])
        >>> p.budget_index("email"), p.budget_index(0)
        (1, 0)
        """
        budget_: Any = budget
        return self._budget_index(budget_)

    def _budget_index(self, budget: Any) -> int:
        if isinstance(budget, str):
            if budget not in self.budget_names:
                raise ValidationError(
                    f"budget {budget!r} is not one of {list(self.budget_names)}", field="budget"
                )
            return self.budget_names.index(budget)
        if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
            if not 0 <= budget < self.n_budgets:
                raise ValidationError(
                    f"budget index {budget} is out of range for {self.n_budgets} budget(s)",
                    field="budget",
                )
            return int(budget)
        raise ValidationError("budget must be a budget name or index", field="budget")

    def with_budget_limit(self, budget: int | str, limit: float) -> AllocationProblem:
        """The same problem with one budget's limit changed (arrays are shared).

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.ones((2, 2)), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 1.0)])
        >>> p.with_budget_limit("total", 3.0).budget_limit.tolist()
        [3.0]
        """
        b = self.budget_index(budget)
        lim = _check_limit(_budget_limit(limit), self.budget_names[b])
        new = np.array(self.budget_limit, dtype=np.float64)
        new[b] = lim
        return attrs.evolve(self, budget_limit=new)

    def iter_chunks(self, block_size: int = DEFAULT_BLOCK_SIZE) -> Iterator[tuple[int, ...]]:
        """Yield ``(row_start, row_stop, cand_start, cand_stop, d)`` blocks.

        Customers with ``d`` candidates each form a dense block (see the module
        notes); a block holds at most ``block_size`` pairs (at least one row).

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 0.0]]), np.ones((2, 2)),
        ...                                  budgets=[Budget("total", 2.0), Budget("email", 1.0)])
        >>> list(p.iter_chunks())  # one customer with 1 candidate, one with 2
        [(0, 1, 0, 1, 1), (1, 2, 1, 3, 2)]
        """
        yield from self.layout.chunks(block_size)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_dense(
        cls,
        value: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        budgets: Sequence[Budget] = (),
        k: int | npt.ArrayLike = 1,
        eligible: npt.ArrayLike | None = None,
        group: npt.ArrayLike | None = None,
        group_max: int = 1,
        cap: float | npt.ArrayLike | None = None,
        cap_usage: npt.ArrayLike | None = None,
        min_value: float | None = None,
    ) -> AllocationProblem:
        """Build a problem from ``(n_customers, n_offers)`` value and cost matrices.

        Parameters
        ----------
        value, cost : array of shape (n_customers, n_offers)
            Expected value and expected cost (``>= 0``) of giving offer ``j`` to
            customer ``i``. Must be finite.
        budgets : sequence of Budget
            Global resource rows; a budget's ``usage`` (if given) is a matrix of
            the same shape.
        k : int or array of int
            Most offers per customer (scalar or one per customer), ``>= 0``.
        eligible : bool array of the same shape, optional
            Pairs that may be chosen (default: all).
        group : int array of length n_offers, optional
            Group of each offer (e.g. category); at most ``group_max`` offers per
            group per customer.
        group_max : int
            ``>= 1``.
        cap : float or array of length n_offers, optional
            Per-offer cap (``inf`` for none); scalar applies to every offer.
        cap_usage : array of the same shape, optional
            Per-pair usage of the offer's cap (e.g. redemption probability);
            default 1 per chosen pair (the cap counts customers).
        min_value : float, optional
            Pairs with a lower value are never chosen. Pairs with ``value <= 0``
            never are either: under upper-bound constraints they cannot help.

        Returns
        -------
        AllocationProblem

        Raises
        ------
        ValidationError
            For a wrong shape, a non-finite or negative cost, and so on; the
            message names the argument.
        InfeasibleError
            If a budget limit or a cap is negative: no plan can meet it.

        Examples
        --------
        >>> import numpy as np
        >>> p = AllocationProblem.from_dense(
        ...     np.array([[3.0, 1.0], [2.0, 4.0]]), np.ones((2, 2)), k=2,
        ...     eligible=np.array([[True, False], [True, True]]), cap=[1, 2],
        ...     budgets=[Budget("total", 2.0)])
        >>> p.n_candidates, p.k.tolist(), p.cap.tolist()
        (3, [2, 2], [1.0, 2.0])
        """
        v = np.asarray(value, dtype=np.float64) if _numeric(value, "value") else np.empty(0)
        c = np.asarray(cost, dtype=np.float64) if _numeric(cost, "cost") else np.empty(0)
        if v.ndim != 2:
            raise ValidationError(
                f"value must be a 2-D (n_customers, n_offers) matrix, got shape {v.shape}",
                field="value",
            )
        if c.shape != v.shape:
            raise LengthMismatchError(
                f"cost has shape {c.shape} but value has shape {v.shape}; they must match",
                field="cost",
            )
        n, m = v.shape
        mask = np.ones(v.shape, dtype=bool)
        if eligible is not None:
            e = np.asarray(eligible)
            if e.shape != v.shape or e.dtype != np.bool_:
                raise ValidationError(
                    f"eligible must be a boolean matrix of shape {v.shape}, "
                    f"got {e.dtype} of shape {e.shape}",
                    field="eligible",
                )
            mask &= e
        rows, cols = np.nonzero(mask)

        def pick(a: Any, name: str) -> Any:
            if a is None:
                return None
            arr = np.asarray(a, dtype=np.float64) if _numeric(a, name) else np.empty(0)
            if arr.shape != v.shape:
                raise LengthMismatchError(
                    f"{name} has shape {arr.shape} but value has shape {v.shape}; they must match",
                    field=name,
                )
            return arr[rows, cols]

        dense_budgets = [
            attrs.evolve(b, usage=pick(b.usage, f"budget {b.name!r} usage"))
            for b in _budget_list(budgets)
        ]
        return _from_candidates(
            cls,
            rows,
            cols,
            v[rows, cols],
            c[rows, cols],
            n_customers=n,
            n_offers=m,
            budgets=dense_budgets,
            k=k,
            group=group,
            group_max=group_max,
            cap=cap,
            cap_usage=pick(cap_usage, "cap_usage"),
            min_value=min_value,
            presorted=True,
        )

    @classmethod
    def from_candidates(
        cls,
        customer: npt.ArrayLike,
        offer: npt.ArrayLike,
        value: npt.ArrayLike,
        cost: npt.ArrayLike,
        *,
        n_customers: int,
        n_offers: int,
        budgets: Sequence[Budget] = (),
        k: int | npt.ArrayLike = 1,
        group: npt.ArrayLike | None = None,
        group_max: int = 1,
        cap: float | npt.ArrayLike | None = None,
        cap_usage: npt.ArrayLike | None = None,
        min_value: float | None = None,
    ) -> AllocationProblem:
        """Build a problem from sparse candidate lists (one row per eligible pair).

        Parameters
        ----------
        customer, offer : int arrays
            Codes in ``[0, n_customers)`` and ``[0, n_offers)``; each pair at most once.
        value, cost : float arrays
            Expected value and expected cost (``>= 0``) of each pair; finite.
        n_customers, n_offers : int
            Sizes of the code spaces (customers without candidates are allowed).
        budgets, k, group, group_max, cap, cap_usage, min_value
            As in :meth:`from_dense`; per-pair arrays (a budget's ``usage``,
            ``cap_usage``) are aligned with ``customer``.

        Returns
        -------
        AllocationProblem

        Examples
        --------
        >>> p = AllocationProblem.from_candidates(
        ...     [0, 0, 1], [0, 1, 1], [5.0, 4.0, 3.0], [2.0, 1.0, 1.0],
        ...     n_customers=2, n_offers=2, budgets=[Budget("total", 2.0)], cap=[1, 1])
        >>> p.n_candidates
        3
        """
        return _from_candidates(
            cls,
            customer,
            offer,
            value,
            cost,
            n_customers=n_customers,
            n_offers=n_offers,
            budgets=budgets,
            k=k,
            group=group,
            group_max=group_max,
            cap=cap,
            cap_usage=cap_usage,
            min_value=min_value,
            presorted=False,
        )


def _from_candidates(
    cls: type[AllocationProblem],
    customer: npt.ArrayLike,
    offer: npt.ArrayLike,
    value: npt.ArrayLike,
    cost: npt.ArrayLike,
    *,
    n_customers: int,
    n_offers: int,
    budgets: Sequence[Budget],
    k: int | npt.ArrayLike,
    group: npt.ArrayLike | None,
    group_max: int,
    cap: float | npt.ArrayLike | None,
    cap_usage: npt.ArrayLike | None,
    min_value: float | None,
    presorted: bool,
) -> AllocationProblem:
    """Validate and order candidates: :meth:`AllocationProblem.from_candidates`' work.

    ``presorted=True`` (used by :meth:`AllocationProblem.from_dense`, whose pairs
    come from ``numpy.nonzero`` in row-major order) skips the sort by
    ``(customer, offer)``: the caller promises the pairs are sorted and distinct.
    """
    n_c = _check_count(n_customers, "n_customers")
    n_o = _check_count(n_offers, "n_offers")
    cust = _codes(customer, "customer", n_c)
    off = _codes(offer, "offer", n_o)
    val = as_float(value, "value")
    cst = as_float(cost, "cost")
    n = len(cust)
    for name, col in (("offer", off), ("value", val), ("cost", cst)):
        if len(col) != n:
            raise LengthMismatchError(
                f"{name} has {len(col)} rows but customer has {n}; "
                "all candidate columns must be aligned row by row",
                field=name,
            )
    _check_finite(val, "value")
    _check_finite(cst, "cost")
    _check_nonnegative(cst, "cost")
    _check_magnitude(val, "value")
    _check_magnitude(cst, "cost")

    # budgets
    names: list[str] = []
    limits: list[float] = []
    raw_usage: list[F64 | None] = []
    for b in _budget_list(budgets):
        if b.name in names:
            raise ValidationError(
                f"budget name {b.name!r} is used twice; budget names must be unique",
                field="budgets",
            )
        names.append(b.name)
        limits.append(_check_limit(b.limit, b.name))
        u: F64 | None = None
        if b.usage is not None:
            u = as_float(b.usage, f"budget {b.name!r} usage")
            if len(u) != n:
                raise LengthMismatchError(
                    f"budget {b.name!r} usage has {len(u)} rows but there are {n} "
                    "candidates; pass one usage per candidate",
                    field="budgets",
                )
            _check_finite(u, f"budget {b.name!r} usage")
            _check_nonnegative(u, f"budget {b.name!r} usage")
            _check_magnitude(u, f"budget {b.name!r} usage")
        if b.offers is not None:
            sel = _codes(b.offers, f"budget {b.name!r} offers", n_o)
            inside = np.zeros(n_o, dtype=bool)
            inside[sel] = True
            base = cst if u is None else u
            u = np.where(inside[off], base, 0.0)
        raw_usage.append(u)

    # per-customer k
    kk = _per_customer_k(k, n_c, n_o)

    # groups
    grp: I32 | None = None
    if group is not None:
        g = np.asarray(group)
        if g.ndim != 1 or len(g) != n_o or g.dtype.kind not in "iu":
            raise ValidationError(
                f"group must be an int array with one group per offer (length {n_o}), "
                f"got {g.dtype} of shape {g.shape}",
                field="group",
            )
        if len(g) and int(g.min()) < 0:
            raise ValidationError("group codes must be >= 0", field="group")
        grp = g.astype(np.int32)
    if isinstance(group_max, bool) or not isinstance(group_max, (int, np.integer)):
        raise ValidationError("group_max must be an int >= 1", field="group_max")
    if group_max < 1:
        raise ValidationError(
            f"group_max must be >= 1, got {group_max}; drop the group's offers instead",
            field="group_max",
        )

    # caps
    cap_arr = _caps(cap, n_o)
    cu: F64 | None = None
    if cap_usage is not None:
        cu = as_float(cap_usage, "cap_usage")
        if len(cu) != n:
            raise LengthMismatchError(
                f"cap_usage has {len(cu)} rows but there are {n} candidates",
                field="cap_usage",
            )
        _check_finite(cu, "cap_usage")
        _check_nonnegative(cu, "cap_usage")
        _check_magnitude(cu, "cap_usage")

    # min value
    mv = 0.0
    if min_value is not None:
        if isinstance(min_value, (bool, np.bool_)) or not isinstance(min_value, numbers.Real):
            raise ValidationError(
                f"min_value must be a finite number or None, got {min_value!r} "
                f"({type(min_value).__name__})",
                field="min_value",
            )
        mv = float(min_value)
        if not np.isfinite(mv):
            raise ValidationError("min_value must be finite", field="min_value")

    # eligibility: positive value and >= min_value
    keep = val > 0.0
    if min_value is not None:
        keep &= val >= mv
    n_inel = int(n - np.count_nonzero(keep))

    # order: by (customer, offer), then customers by degree; reject duplicates
    if presorted:
        order = np.flatnonzero(keep)
    else:
        idx = np.flatnonzero(keep)
        key = cust[idx].astype(np.int64) * max(n_o, 1) + off[idx]
        if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):
            idx = idx[np.argsort(key, kind="stable")]
        order = idx
    c_s = cust[order]
    o_s = off[order]
    if len(order) > 1:
        dup = (c_s[1:] == c_s[:-1]) & (o_s[1:] == o_s[:-1])
        if bool(dup.any()):
            j = int(np.flatnonzero(dup)[0])
            raise ValidationError(
                f"pair (customer {int(c_s[j])}, offer {int(o_s[j])}) is listed more "
                "than once; each candidate pair must be unique",
                field="customer",
            )
    degree = np.bincount(c_s, minlength=n_c).astype(np.int64)
    indptr = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(degree, out=indptr[1:])
    active = np.flatnonzero(degree > 0)
    row_order = active[np.argsort(degree[active], kind="stable")]
    row_deg = degree[row_order]
    # permutation of (sorted) candidates into row order
    starts = indptr[row_order]
    total = int(row_deg.sum())
    rel = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(row_deg) - row_deg, row_deg)
    perm_in_sorted = np.repeat(starts, row_deg) + rel
    final = order[perm_in_sorted]

    deg_change = np.flatnonzero(np.diff(row_deg)) + 1 if len(row_deg) else np.empty(0, int)
    row0 = (
        np.concatenate([[0], deg_change]).astype(np.int64)
        if len(row_deg)
        else np.empty(0, np.int64)
    )
    nrows = np.diff(np.concatenate([row0, [len(row_deg)]])).astype(np.int64)
    deg = row_deg[row0] if len(row_deg) else np.empty(0, np.int64)
    cand0 = (
        np.concatenate([[0], np.cumsum(deg * nrows)[:-1]]).astype(np.int64)
        if len(deg)
        else np.empty(0, np.int64)
    )
    layout = _Layout(
        row_customer=readonly(row_order.astype(np.int32)),
        row_k=readonly(kk[row_order]),
        deg=readonly(deg.astype(np.int64)),
        row0=readonly(row0),
        cand0=readonly(cand0),
        nrows=readonly(nrows),
    )
    cst_f = readonly(np.ascontiguousarray(cst[final]))
    usage_rows = tuple(
        cst_f if u is None else readonly(np.ascontiguousarray(u[final])) for u in raw_usage
    )
    return cls(
        n_customers=n_c,
        n_offers=n_o,
        customer=np.ascontiguousarray(cust[final]).astype(np.int32, copy=False),
        offer=np.ascontiguousarray(off[final]).astype(np.int32, copy=False),
        value=np.ascontiguousarray(val[final]),
        cost=cst_f,
        usage=usage_rows,
        budget_names=tuple(names),
        budget_limit=np.array(limits, dtype=np.float64),
        k=kk,
        group=None if grp is None else readonly(grp),
        group_max=int(group_max),
        cap=cap_arr,
        cap_usage=None if cu is None else readonly(np.ascontiguousarray(cu[final])),
        min_value=mv,
        n_ineligible=n_inel,
        layout=layout,
    )


# ---------------------------------------------------------------- validation
def _numeric(a: Any, name: str) -> bool:
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValidationError(
            f"{name} must be numeric, got dtype {arr.dtype}; convert it to numbers", field=name
        )
    return True


#: Codes are int32 (as an ``IdIndex``'s): at most 2**31 - 2 customers or offers.
_MAX_COUNT = 2**31 - 2


def _check_count(n: Any, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= _MAX_COUNT:
        raise ValidationError(
            f"{name} must be an int from 0 to {_MAX_COUNT:,} (codes are int32), got {n!r}",
            field=name,
        )
    return int(n)


def _codes(a: Any, name: str, n: int) -> I32:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional, got shape {arr.shape}", field=name)
    if len(arr) == 0:
        return np.empty(0, dtype=np.int32)
    if arr.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must hold integer codes, got dtype {arr.dtype}; "
            "map ids to codes with onetoone.IdIndex",
            field=name,
        )
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n:
        raise ValidationError(
            f"{name} codes must lie in [0, {n}), got values in [{lo}, {hi}]", field=name
        )
    return arr.astype(np.int32)


def _check_finite(a: F64, name: str) -> None:
    if not bool(np.all(np.isfinite(a))):
        raise ValidationError(
            f"{name} holds NaN or infinite values; pass finite numbers", field=name
        )


def _check_magnitude(a: F64, name: str) -> None:
    if len(a) and float(np.abs(a).max()) > MAX_MAGNITUDE:
        raise ValidationError(
            f"{name} holds a magnitude of {float(np.abs(a).max()):g} > {MAX_MAGNITUDE:g}, the "
            "largest accepted (sums and prices of such numbers overflow float64); express "
            "them in larger units",
            field=name,
        )


def _check_nonnegative(a: F64, name: str) -> None:
    if len(a) and float(a.min()) < 0:
        raise ValidationError(
            f"{name} must be >= 0, got a minimum of {float(a.min())}; costs and usages "
            "cannot be negative",
            field=name,
        )


def _check_limit(limit: float, name: str) -> float:
    if np.isnan(limit):
        raise ValidationError(f"budget {name!r} limit is NaN; pass a number >= 0", field="budgets")
    if limit < 0:
        raise InfeasibleError(
            f"budget {name!r} has limit {limit} < 0: no plan can use less than nothing; "
            "pass a limit >= 0"
        )
    return float(limit)


def _per_customer_k(k: Any, n: int, n_offers: int) -> I64:
    """Offers per customer; a ``k`` above ``n_offers`` means the same as ``n_offers``."""
    if isinstance(k, (bool, np.bool_)):
        raise ValidationError("k must be an int or an int array, got a bool", field="k")
    if isinstance(k, int) and k > n_offers:
        k = n_offers  # a Python int too large for int64 means "no limit"
    arr = np.asarray(k)
    if arr.dtype.kind not in "iu" and not (
        arr.dtype.kind == "f"
        and bool(np.all(np.isfinite(arr)))
        and bool(np.all(arr == np.round(arr)))
    ):
        raise ValidationError(f"k must be an int or an int array, got dtype {arr.dtype}", field="k")
    if arr.ndim == 0:
        arr = np.full(n, arr[()], dtype=arr.dtype)
    elif arr.ndim != 1 or len(arr) != n:
        raise ValidationError(
            f"k must be a scalar or have one entry per customer ({n}), got shape {arr.shape}",
            field="k",
        )
    if len(arr) and arr.min() < 0:
        raise ValidationError(f"k must be >= 0 (offers per customer), got {arr.min()}", field="k")
    # clip before the cast: k = 1e308 (or 2**70) is "no limit", not an overflow
    arr = np.minimum(arr, n_offers).astype(np.int64)
    return readonly(arr)


def _caps(cap: Any, n_o: int) -> F64:
    if cap is None:
        return readonly(np.full(n_o, np.inf))
    arr = np.asarray(cap)
    if arr.dtype.kind not in "biuf":
        raise ValidationError(f"cap must be numeric, got dtype {arr.dtype}", field="cap")
    arr = arr.astype(np.float64)
    if arr.ndim == 0:
        arr = np.full(n_o, float(arr))
    elif arr.ndim != 1 or len(arr) != n_o:
        raise ValidationError(
            f"cap must be a scalar or have one entry per offer ({n_o}), got shape {arr.shape}",
            field="cap",
        )
    if bool(np.any(np.isnan(arr))):
        raise ValidationError("cap holds NaN; use inf for 'no cap'", field="cap")
    if len(arr) and float(arr.min()) < 0:
        o = int(np.argmin(arr))
        raise InfeasibleError(
            f"cap of offer {o} is {float(arr[o])} < 0: no plan can give an offer to fewer "
            "than zero customers; pass caps >= 0"
        )
    return readonly(arr)
