"""Public verbs: :func:`allocate`, :func:`lp_bound`, :func:`budget_curve`, and their results."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I32, I64, readonly
from onetoone._deprecation import renamed_kwargs, warn_deprecated
from onetoone._progress import ProgressCallback, check_progress
from onetoone.allocation._exact import solve_lp, solve_milp
from onetoone.allocation._problem import DEFAULT_BLOCK_SIZE, AllocationProblem
from onetoone.allocation._solve import (
    _Ctx,
    _drop_to_fit,
    _ratio_score,
    certified_bound,
    enforce_exact,
    exact_spend,
    exact_sum,
    exact_use,
    fill,
    greedy_bound,
    solve_dual,
    solve_greedy,
)
from onetoone.errors import LengthMismatchError, ValidationError

_LOG = logging.getLogger("onetoone.allocation")

__all__ = ["Allocation", "BudgetCurve", "LpBound", "allocate", "budget_curve", "lp_bound"]

Method = Literal["dual", "exact", "greedy"]
_METHODS = ("dual", "exact", "greedy")

#: status codes
OPTIMAL = 0  # gap within tolerance (exact: proven optimal within mip_rel_gap)
LIMIT = 1  # iteration or time limit reached; the plan is feasible, the gap is stated
NO_PLAN = 2  # the exact solver found no plan in time; the empty plan is returned

#: ``exact`` is optimal when HiGHS proves it and the certified gap is within
#: ``mip_rel_gap`` plus this slack (HiGHS measures its gap on the scaled model).
_GAP_SLACK = 1e-9

#: relative tolerance of ``objective`` against the sum of ``value`` (summation order)
_OBJECTIVE_RTOL = 1e-9


def _array(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Converter: a read-only numpy array (lists are accepted at run time)."""
    return readonly(np.asarray(a))


def _bad(message: str, field: str) -> ValidationError:
    return ValidationError(
        f"inconsistent Allocation: {message}; build allocations with allocate()", field=field
    )


def _check_int(x: Any, name: str) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < 0:
        raise _bad(f"{name} must be an int >= 0, got {x!r}", name)
    return int(x)


def _check_real(x: Any, name: str, *, posinf: bool = False) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise _bad(f"{name} must be a number, got {type(x).__name__}", name)
    v = float(x)
    if not (np.isfinite(v) or (posinf and v == np.inf)):
        raise _bad(f"{name} must be finite{' or +inf' if posinf else ''}, got {v!r}", name)
    return v


def _check_allocation(a: Any) -> None:
    """An :class:`Allocation`'s invariants: sizes, codes, figures and certificate agree.

    Each check is one pass over an array (no solve), so building an allocation
    stays cheap next to computing it.
    """
    if not isinstance(a.method, str) or not a.method:
        raise _bad(f"method must be a non-empty str, got {a.method!r}", "method")
    n_c = _check_int(a.n_customers, "n_customers")
    n_o = _check_int(a.n_offers, "n_offers")
    if not isinstance(a.budget_names, tuple) or not all(isinstance(n, str) for n in a.budget_names):
        raise _bad("budget_names must be a tuple of str", "budget_names")
    if len(set(a.budget_names)) != len(a.budget_names):
        raise _bad(f"budget_names {list(a.budget_names)} are not distinct", "budget_names")
    n_b = len(a.budget_names)
    n_pairs = a.customer.shape[0] if a.customer.ndim == 1 else -1
    unit = {"pair": (n_pairs, "chosen pair"), "budget": (n_b, "budget"), "offer": (n_o, "offer")}
    per = dict.fromkeys(("customer", "offer", "value", "cost"), "pair")
    per |= dict.fromkeys(("budget_limit", "budget_spend", "budget_price"), "budget")
    per |= dict.fromkeys(("offer_count", "offer_usage", "cap", "cap_price"), "offer")
    for name, u in per.items():
        arr: npt.NDArray[Any] = getattr(a, name)
        ints = name in ("customer", "offer", "offer_count")
        if arr.ndim != 1 or arr.dtype.kind not in ("iu" if ints else "iuf"):
            raise _bad(
                f"{name} must be a 1-D {'int' if ints else 'numeric'} array, got "
                f"{arr.dtype} of shape {arr.shape}",
                name,
            )
        size, label = unit[u]
        if arr.shape[0] != size:
            raise LengthMismatchError(
                f"inconsistent Allocation: {name} has {arr.shape[0]} entries for {size} "
                f"{label}(s); build allocations with allocate()",
                field=name,
            )
    for name, n in (("customer", n_c), ("offer", n_o)):
        codes = getattr(a, name)
        if n_pairs and (int(codes.min()) < 0 or int(codes.max()) >= n):
            raise _bad(
                f"{name} codes must lie in [0, {n}), got values in "
                f"[{int(codes.min())}, {int(codes.max())}]",
                name,
            )
    if n_pairs > 1:
        key = a.customer.astype(np.int64) * max(n_o, 1) + a.offer
        if not bool((np.diff(key) > 0).all()):
            raise _bad("the (customer, offer) pairs must be sorted and distinct", "customer")
    for name in ("value", "cost", "budget_spend", "budget_price", "offer_usage", "cap_price"):
        arr = getattr(a, name)
        if not bool(np.isfinite(arr).all()):
            raise _bad(f"{name} holds NaN or infinite values", name)
    for name in ("budget_limit", "cap"):
        arr = getattr(a, name)
        if bool(np.isnan(arr).any()) or bool((arr == -np.inf).any()):
            raise _bad(f"{name} holds NaN or -inf (use +inf for no limit)", name)
    if not np.array_equal(a.offer_count, np.bincount(a.offer, minlength=n_o)):
        raise _bad("offer_count differs from the number of chosen pairs per offer", "offer_count")
    over = np.flatnonzero(a.budget_spend > a.budget_limit)
    if len(over):
        b = int(over[0])
        raise _bad(
            f"budget {a.budget_names[b]!r} spends {float(a.budget_spend[b])!r} over its "
            f"limit {float(a.budget_limit[b])!r}",
            "budget_spend",
        )
    over = np.flatnonzero(a.offer_usage > a.cap)
    if len(over):
        o = int(over[0])
        raise _bad(
            f"offer {o} uses {float(a.offer_usage[o])!r} of its cap {float(a.cap[o])!r}",
            "offer_usage",
        )
    objective = _check_real(a.objective, "objective")
    bound = _check_real(a.bound, "bound", posinf=True)
    gap = _check_real(a.gap, "gap")
    if gap < 0:
        raise _bad(f"gap must be >= 0, got {gap!r}", "gap")
    _check_real(a.elapsed_s, "elapsed_s")
    total = float(np.sum(a.value))
    scale = float(np.sum(np.abs(a.value)))
    if abs(objective - total) > _OBJECTIVE_RTOL * scale + 1e-300:
        raise _bad(
            f"objective {objective!r} differs from the sum of the values {total!r}", "objective"
        )
    if bound < objective:
        raise _bad(f"bound {bound!r} is below the objective {objective!r}", "bound")
    expected_gap = _gap(bound, objective)
    if not math.isclose(gap, expected_gap, rel_tol=1e-9, abs_tol=1e-12):
        raise _bad(
            f"gap {gap!r} disagrees with the bound and the objective "
            f"((bound - objective) / bound = {expected_gap!r}; 1 without a finite bound)",
            "gap",
        )
    _check_int(a.iterations, "iterations")
    _check_int(a.evaluations, "evaluations")
    if not isinstance(a.success, (bool, np.bool_)):
        raise _bad(f"success must be a bool, got {a.success!r}", "success")
    if isinstance(a.status, (bool, np.bool_)) or a.status not in (OPTIMAL, LIMIT, NO_PLAN):
        raise _bad(f"status must be 0, 1 or 2, got {a.status!r}", "status")
    if bool(a.success) != (a.status == OPTIMAL):
        raise _bad(f"success={a.success} contradicts status {a.status}", "success")
    if not isinstance(a.message, str):
        raise _bad(f"message must be a str, got {type(a.message).__name__}", "message")


@attrs.frozen(eq=False)
class Allocation:
    """A feasible allocation with its certificate (bound, gap, prices) and effort.

    Attributes
    ----------
    method : str
        ``"dual"``, ``"exact"`` or ``"greedy"``.
    customer, offer : int32 arrays
        The chosen pairs, sorted by customer then offer.
    value, cost : float64 arrays
        Expected value and cost of each chosen pair.
    objective : float
        Total expected value of the plan (correctly rounded sum of ``value``).
    bound : float
        A proven upper bound on the best possible objective, never below
        ``objective``: the best Lagrangian dual value found (``dual``,
        ``greedy``), or the smaller of the Lagrangian at the LP relaxation's
        prices and HiGHS' MILP bound (``exact``). Dual values are summed exactly
        and raised by a bound on their rounding, so floating point (or HiGHS'
        tolerances) cannot put the bound below a feasible plan.
    gap : float
        ``(bound - objective) / bound`` (0 when the bound is 0, 1 when there is no
        finite bound): the plan is within this fraction of the optimum.
    budget_names : tuple of str
    budget_limit, budget_spend : float64 arrays
        Limit and total usage of each budget; ``budget_spend <= budget_limit``,
        exactly as printed: the spend is the correctly rounded sum
        (``math.fsum``) of the chosen pairs' usages, whose exact sum is within
        the limit too.
    budget_price : float64 array
        Dual price of each budget: the objective gained per extra unit of budget
        (the shadow price). From the Lagrangian (``dual``), the LP relaxation
        (``exact``), or the greedy's critical ratio (``greedy``, a rough guide).
    offer_count : int64 array
        Customers receiving each offer.
    offer_usage : float64 array
        Usage of each offer's cap (equals ``offer_count`` without ``cap_usage``),
        correctly rounded like ``budget_spend`` and never above ``cap``.
    cap : float64 array
        Each offer's cap (``inf``: none).
    cap_price : float64 array
        Dual price of each cap: gain per extra unit of cap.
    iterations : int
        Sweeps of the dual method, rounds of the greedy, 1 for exact.
    evaluations : int
        Passes over all candidates (dual and greedy).
    elapsed_s : float
    success : bool
    status : int
        0: converged (``dual``: gap <= tol; ``exact``: HiGHS proved its plan
        optimal, the plan meets every limit in exact arithmetic as HiGHS returned
        it, and the reported gap is <= ``mip_rel_gap`` (+ 1e-9);
        ``greedy``: always, it is a heuristic run to completion);
        1: iteration/time limit reached, or (``exact``) HiGHS' plan had to be
        repaired: the plan is feasible and ``gap`` says how good it is; 2: no plan
        found by the exact solver in time (the empty plan is returned).
    message : str

    Notes
    -----
    An allocation checks itself when built (also through :func:`attrs.evolve`):
    array lengths agree, codes lie in their ranges, pairs are sorted and
    distinct, ``offer_count`` counts the pairs, ``budget_spend <= budget_limit``
    and ``offer_usage <= cap`` exactly, every figure is finite (limits, caps and
    ``bound`` may be ``+inf``), ``bound >= objective`` and
    ``success == (status == 0)``; otherwise it raises
    :class:`~onetoone.errors.ValidationError` naming the field.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, allocate
    >>> p = AllocationProblem.from_dense(np.array([[4.0, 3.0], [3.0, 1.0]]), np.ones((2, 2)),
    ...                                  budgets=[Budget("total", 1.0)])
    >>> a = allocate(p, method="exact")
    >>> len(a), a.customer.tolist(), a.offer.tolist(), a.objective, a.success
    (1, [0], [0], 4.0, True)
    >>> a.budget_spend.tolist(), a.offers_for(0).tolist(), a.offers_for(1).tolist()
    ([1.0], [0], [])
    """

    method: str
    n_customers: int
    n_offers: int
    customer: I32 = attrs.field(converter=_array)
    offer: I32 = attrs.field(converter=_array)
    value: F64 = attrs.field(converter=_array)
    cost: F64 = attrs.field(converter=_array)
    objective: float
    bound: float
    gap: float
    budget_names: tuple[str, ...]
    budget_limit: F64 = attrs.field(converter=_array)
    budget_spend: F64 = attrs.field(converter=_array)
    budget_price: F64 = attrs.field(converter=_array)
    offer_count: I64 = attrs.field(converter=_array)
    offer_usage: F64 = attrs.field(converter=_array)
    cap: F64 = attrs.field(converter=_array)
    cap_price: F64 = attrs.field(converter=_array)
    iterations: int
    evaluations: int
    elapsed_s: float
    success: bool
    status: int
    message: str

    def __len__(self) -> int:
        return int(self.customer.shape[0])

    @property
    def total_cost(self) -> float:
        """Total expected cost of the chosen pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, allocate
        >>> a = allocate(AllocationProblem.from_dense([[3.0, 1.0]], [[0.5, 0.25]], k=2))
        >>> a.total_cost
        0.75
        """
        return float(self.cost.sum())

    def __attrs_post_init__(self) -> None:
        _check_allocation(self)

    def offers_for(self, customer: int) -> I32:
        """Offer codes given to one customer code (empty if none), ascending.

        Parameters
        ----------
        customer : int
            A customer code in ``[0, n_customers)``. For external ids use
            :meth:`Plan.offers_for`.

        Returns
        -------
        int32 array
            The codes of the offers this customer receives.

        Raises
        ------
        ValidationError
            ``customer`` is not an int code in ``[0, n_customers)``.

        Examples
        --------
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, allocate
        >>> a = allocate(AllocationProblem.from_dense(np.array([[3.0, 1.0], [2.0, 4.0]]),
        ...                                           np.ones((2, 2)), k=2))
        >>> a.offers_for(1).tolist()
        [0, 1]
        """
        code = _offers_for_iv(self, customer)
        lo, hi = np.searchsorted(self.customer, [code, code + 1])
        return self.offer[lo:hi]

    def offers_of(self, customer: int) -> I32:
        """Deprecated alias of :meth:`offers_for` (removed in 0.3).

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from onetoone.allocation import AllocationProblem, allocate
        >>> a = allocate(AllocationProblem.from_dense(np.array([[3.0]]), np.ones((1, 1))))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     a.offers_of(0).tolist()
        [0]
        """
        warn_deprecated("Allocation.offers_of is renamed: use Allocation.offers_for")
        return self.offers_for(customer)

    def summary(self) -> str:
        """A short human-readable report.

        Examples
        --------
        >>> from onetoone.allocation import AllocationProblem, Budget, allocate
        >>> a = allocate(AllocationProblem.from_dense([[3.0]], [[1.0]],
        ...                                           budgets=[Budget("total", 1.0)]))
        >>> print(a.summary().splitlines()[0])
        allocation (dual): 1 offers to 1 customers
        """
        lines = [
            f"allocation ({self.method}): {len(self)} offers to "
            f"{len(np.unique(self.customer))} customers",
            f"  objective {self.objective:,.4f}  bound {self.bound:,.4f}  gap {self.gap:.4%}",
        ]
        for i, name in enumerate(self.budget_names):
            lines.append(
                f"  budget {name!r}: spend {self.budget_spend[i]:,.4f} of "
                f"{self.budget_limit[i]:,.4f}, shadow price {self.budget_price[i]:.4f}"
            )
        lines.append(
            f"  {self.iterations} iterations, {self.elapsed_s:.3f} s, status {self.status}: "
            f"{self.message}"
        )
        return "\n".join(lines)


@attrs.frozen(eq=False)
class LpBound:
    """The LP relaxation of a problem solved by HiGHS (``scipy.optimize.linprog``).

    Attributes
    ----------
    value : float
        Optimal LP objective: an upper bound on every feasible plan.
    x : float64 array
        Fractional solution per candidate (in the problem's candidate order).
    budget_price, cap_price : float64 arrays
        LP dual prices of the budget and cap rows (``>= 0``).
    elapsed_s : float
    success : bool
    status : int
        ``scipy.optimize.linprog`` status.
    message : str

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, lp_bound
    >>> p = AllocationProblem.from_dense([[2.0, 1.0]], [[1.0, 1.0]], k=2,
    ...                                  budgets=[Budget("total", 1.5)])
    >>> lp = lp_bound(p)
    >>> round(lp.value, 6), lp.x.round(3).tolist(), lp.success
    (2.5, [1.0, 0.5], True)
    """

    value: float
    x: F64 = attrs.field(converter=_array)
    budget_price: F64 = attrs.field(converter=_array)
    cap_price: F64 = attrs.field(converter=_array)
    elapsed_s: float
    success: bool
    status: int
    message: str

    def __attrs_post_init__(self) -> None:
        _check_lp_bound(self)


@attrs.frozen(eq=False)
class BudgetCurve:
    """Objective versus the limit of one budget (the retailer's return curve).

    Attributes
    ----------
    budget : str
        Name of the budget that varies.
    limit : float64 array
        The limits, ascending (the ``limits`` passed to :func:`budget_curve`,
        sorted). A curve is row-shaped, one row per limit, so its columns are
        singular like ``objective`` and ``spend``, and ``limit`` is the
        :attr:`Budget.limit` of each row.
    objective, bound, gap, spend, price : float64 arrays
        Per limit: the plan's objective, its proven upper bound and gap, the
        budget's spend and its shadow price (the return of the next unit).
    elapsed_s : float
        Total time for the curve.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, budget_curve
    >>> p = AllocationProblem.from_dense([[4.0], [3.0]], [[1.0], [1.0]],
    ...                                  budgets=[Budget("total", 1.0)])
    >>> c = budget_curve(p, [2.0, 1.0])
    >>> c.budget, c.limit.tolist(), c.objective.tolist(), c.spend.tolist()
    ('total', [1.0, 2.0], [4.0, 7.0], [1.0, 2.0])
    """

    budget: str
    limit: F64 = attrs.field(converter=_array)
    objective: F64 = attrs.field(converter=_array)
    bound: F64 = attrs.field(converter=_array)
    gap: F64 = attrs.field(converter=_array)
    spend: F64 = attrs.field(converter=_array)
    price: F64 = attrs.field(converter=_array)
    elapsed_s: float

    def __attrs_post_init__(self) -> None:
        _check_budget_curve(self)

    @property
    def marginal_return(self) -> F64:
        """Objective gained per unit of budget between consecutive limits.

        One fewer entry than ``limit``; ``nan`` where two limits are equal.

        Examples
        --------
        >>> from onetoone.allocation import AllocationProblem, Budget, budget_curve
        >>> p = AllocationProblem.from_dense([[4.0], [3.0]], [[1.0], [1.0]],
        ...                                  budgets=[Budget("total", 1.0)])
        >>> budget_curve(p, [0.0, 1.0, 2.0]).marginal_return.tolist()
        [4.0, 3.0]
        """
        dl = np.diff(self.limit)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(dl > 0, np.diff(self.objective) / np.where(dl > 0, dl, 1.0), np.nan)


def _offers_for_iv(a: Allocation, customer: Any) -> int:
    if isinstance(customer, (bool, np.bool_)) or not isinstance(customer, (int, np.integer)):
        raise ValidationError(
            f"customer must be an int code, got {type(customer).__name__}; for an external "
            "id use Plan.offers_for(customer_id)",
            field="customer",
        )
    if not 0 <= customer < a.n_customers:
        raise ValidationError(
            f"customer code {int(customer)} is out of range [0, {a.n_customers}); for an "
            "external id use Plan.offers_for(customer_id)",
            field="customer",
        )
    return int(customer)


def _check_floats(obj: object, names: tuple[str, ...], n: int | None, what: str) -> int:
    """Each named field is a 1-D numeric array of one common length (``n`` if given)."""
    for name in names:
        arr: npt.NDArray[Any] = getattr(obj, name)
        if arr.ndim != 1 or arr.dtype.kind not in "iuf":
            raise ValidationError(
                f"inconsistent {what}: {name} must be a 1-D numeric array, got {arr.dtype} "
                f"of shape {arr.shape}",
                field=name,
            )
        if n is None:
            n = int(arr.shape[0])
        elif arr.shape[0] != n:
            raise LengthMismatchError(
                f"inconsistent {what}: {name} has {arr.shape[0]} entries, expected {n}",
                field=name,
            )
    return 0 if n is None else n


def _check_lp_bound(lp: LpBound) -> None:
    """An :class:`LpBound`'s invariants (``value`` is ``+inf`` when HiGHS found no solution)."""
    _check_floats(lp, ("x",), None, "LpBound")
    _check_floats(lp, ("budget_price",), None, "LpBound")
    _check_floats(lp, ("cap_price",), None, "LpBound")
    for name in ("x", "budget_price", "cap_price"):
        arr = getattr(lp, name)
        if not bool(np.isfinite(arr).all()) or (len(arr) and float(arr.min()) < 0):
            raise ValidationError(
                f"inconsistent LpBound: {name} must be finite and >= 0", field=name
            )
    v = float(lp.value)
    if np.isnan(v) or v == -np.inf:
        raise ValidationError(
            f"inconsistent LpBound: value must be a number or +inf, got {v!r}", field="value"
        )
    if bool(lp.success) != (lp.status == 0):
        raise ValidationError(
            f"inconsistent LpBound: success={lp.success} contradicts status {lp.status}",
            field="success",
        )


def _check_budget_curve(c: BudgetCurve) -> None:
    """A :class:`BudgetCurve`'s invariants: one row per limit, ascending, within each limit."""
    if not isinstance(c.budget, str):
        raise ValidationError(
            f"inconsistent BudgetCurve: budget must be a budget name, got {c.budget!r}",
            field="budget",
        )
    names = ("limit", "objective", "bound", "gap", "spend", "price")
    _check_floats(c, names, None, "BudgetCurve")
    for name in ("limit", "objective", "gap", "spend", "price"):
        if not bool(np.isfinite(getattr(c, name)).all()):
            raise ValidationError(
                f"inconsistent BudgetCurve: {name} holds NaN or infinite values", field=name
            )
    if bool(np.isnan(c.bound).any()) or bool((c.bound < c.objective).any()):
        raise ValidationError(
            "inconsistent BudgetCurve: every bound must be >= its objective", field="bound"
        )
    if bool((np.diff(c.limit) < 0).any()):
        raise ValidationError("inconsistent BudgetCurve: limit must be ascending", field="limit")
    if bool((c.spend > c.limit).any()):
        raise ValidationError("inconsistent BudgetCurve: a spend exceeds its limit", field="spend")


# ----------------------------------------------------------------- validation
def _allocate_iv(
    problem: Any,
    method: Any,
    tol: Any,
    max_iter: Any,
    time_limit: Any,
    block_size: Any,
    mip_rel_gap: Any,
    warm_start: Any,
) -> tuple[AllocationProblem, str, float, int, float | None, int, float]:
    if not isinstance(problem, AllocationProblem):
        raise ValidationError(
            f"problem must be an AllocationProblem, got {type(problem).__name__}; build one with "
            "AllocationProblem.from_dense or AllocationProblem.from_candidates",
            field="problem",
        )
    if method not in _METHODS:
        raise ValidationError(
            f"method must be one of {list(_METHODS)}, got {method!r}", field="method"
        )
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0.0 < tol < 1.0:
        raise ValidationError(f"tol must be a float in (0, 1), got {tol!r}", field="tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValidationError(f"max_iter must be an int >= 1, got {max_iter!r}", field="max_iter")
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not time_limit > 0
    ):
        raise ValidationError(
            f"time_limit must be None or a number of seconds > 0, got {time_limit!r}",
            field="time_limit",
        )
    if (
        isinstance(block_size, bool)
        or not isinstance(block_size, (int, np.integer))
        or block_size < 1
    ):
        raise ValidationError(
            f"block_size must be an int >= 1 (candidate pairs per block), got {block_size!r}",
            field="block_size",
        )
    if (
        isinstance(mip_rel_gap, bool)
        or not isinstance(mip_rel_gap, (int, float))
        or not 0.0 <= mip_rel_gap < 1.0
    ):
        raise ValidationError(
            f"mip_rel_gap must be a float in [0, 1), got {mip_rel_gap!r}", field="mip_rel_gap"
        )
    if warm_start is not None:
        if not isinstance(warm_start, Allocation):
            raise ValidationError(
                "warm_start must be an Allocation from an earlier allocate() call",
                field="warm_start",
            )
        if (
            len(warm_start.budget_price) != problem.n_budgets
            or len(warm_start.cap_price) != problem.n_offers
        ):
            raise ValidationError(
                "warm_start has prices for a different number of budgets or offers",
                field="warm_start",
            )
    return (
        problem,
        str(method),
        float(tol),
        int(max_iter),
        None if time_limit is None else float(time_limit),
        int(block_size),
        float(mip_rel_gap),
    )


# ----------------------------------------------------------------- assembling
def _gap(bound: float, objective: float) -> float:
    """``(bound - objective) / bound``; 0 for a zero bound, 1 without a finite bound."""
    if not np.isfinite(bound):
        return 1.0
    return (bound - objective) / abs(bound) if bound > 0 else 0.0


def _result(
    p: AllocationProblem,
    method: str,
    chosen: npt.NDArray[np.bool_],
    *,
    bound: float,
    lam: F64,
    mu: F64,
    iterations: int,
    evaluations: int,
    t0: float,
    status: int,
    message: str,
) -> Allocation:
    # the solvers already decided feasibility on these exact sums; this is a guard
    if enforce_exact(p, chosen, np.asarray(p.value)) and status == OPTIMAL:
        status, message = LIMIT, f"{message}; a pair was dropped to meet a limit exactly"
    idx = np.flatnonzero(chosen)
    cust = p.customer[idx]
    off = p.offer[idx]
    order = np.lexsort((off, cust))
    idx = idx[order]
    # every reported sum is correctly rounded (math.fsum): the figures the
    # feasibility decision used, so budget_spend <= budget_limit holds as printed
    objective = exact_sum(p.value[idx])
    spend = exact_spend(p, idx)
    # never a bound below the plan in hand
    bound = max(bound, objective) if not np.isnan(bound) else np.inf
    gap = _gap(bound, objective)
    return Allocation(
        method=method,
        n_customers=p.n_customers,
        n_offers=p.n_offers,
        customer=p.customer[idx],
        offer=p.offer[idx],
        value=p.value[idx],
        cost=p.cost[idx],
        objective=objective,
        bound=float(bound),
        gap=float(gap),
        budget_names=p.budget_names,
        budget_limit=p.budget_limit,
        budget_spend=spend,
        budget_price=np.asarray(lam, dtype=np.float64),
        offer_count=np.bincount(p.offer[idx], minlength=p.n_offers).astype(np.int64),
        offer_usage=exact_use(p, idx),
        cap=p.cap,
        cap_price=np.asarray(mu, dtype=np.float64),
        iterations=int(iterations),
        evaluations=int(evaluations),
        elapsed_s=time.perf_counter() - t0,
        success=status == OPTIMAL,
        status=status,
        message=message,
    )


# ----------------------------------------------------------------- verbs
def allocate(
    problem: AllocationProblem,
    method: Method = "dual",
    *,
    tol: float = 1e-4,
    max_iter: int = 50,
    time_limit: float | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    mip_rel_gap: float = 1e-6,
    warm_start: Allocation | None = None,
    progress: ProgressCallback | None = None,
) -> Allocation:
    """Choose offers for customers to maximise expected value under budgets and caps.

    Parameters
    ----------
    problem : AllocationProblem
    method : {"dual", "exact", "greedy"}
        ``"dual"`` (default): Lagrangian relaxation of budgets and caps, prices by
        exact coordinate minimisation, then repair and greedy fill; scales to
        millions of customers. ``"exact"``: the MILP through
        ``scipy.optimize.milp`` (HiGHS), for small problems and as a reference.
        ``"greedy"``: value/cost-ratio greedy, the baseline.
    tol : float
        ``dual``: stop when the relative gap to the dual bound is below ``tol``.
    max_iter : int
        ``dual``: most sweeps over the prices.
    time_limit : float, optional
        ``exact``: seconds for each HiGHS call (LP and MILP).
    block_size : int
        Candidate pairs processed at once (bounds temporary memory).
    mip_rel_gap : float
        ``exact``: relative MIP gap at which HiGHS stops.
    warm_start : Allocation, optional
        ``dual``: start from this allocation's prices (e.g. a neighbouring budget).
    progress : callable, optional
        ``dual``: called as ``progress(sweep, max_iter)`` after each sweep over
        the prices (see :mod:`onetoone._progress`; the command line draws a bar).

    Returns
    -------
    Allocation
        Never over any budget or cap, respecting ``k``, groups and eligibility.

    Raises
    ------
    ValidationError
        If an argument is invalid; the message names it.

    Notes
    -----
    For prices ``lam >= 0`` (budgets) and ``mu >= 0`` (caps) the Lagrangian
    ``L = sum_b lam_b B_b + sum_o mu_o cap_o + sum_i max_{S_i} sum_{j in S_i}
    (v_j - lam . a_j - mu_o(j) w_j)`` is an upper bound on the LP relaxation and so
    on every plan; each customer's maximum is a top-k within groups (a laminar
    matroid, solved greedily). See ``docs/allocation.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, allocate
    >>> value = np.array([[4.0, 3.0], [3.0, 1.0], [2.0, 2.5]])
    >>> cost = np.ones((3, 2))
    >>> p = AllocationProblem.from_dense(value, cost, budgets=[Budget("total", 2.0)])
    >>> a = allocate(p)
    >>> a.customer.tolist(), a.offer.tolist(), a.objective
    ([0, 1], [0, 0], 7.0)
    >>> bool(a.budget_spend[0] <= 2.0), a.gap <= 1e-4
    (True, True)
    """
    p, meth, tol_, max_iter_, tl, bs, gap_ = _allocate_iv(
        problem, method, tol, max_iter, time_limit, block_size, mip_rel_gap, warm_start
    )
    report = check_progress(progress)
    # extreme but accepted inputs (a limit of 5e-324, usages of 1e-300) can overflow a
    # ratio or a price to inf; the solvers treat inf as "never fits", so no warning
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        out = _allocate(p, meth, tol_, max_iter_, tl, bs, gap_, warm_start, report)
    _LOG.info(
        "allocate(%s): %d customers, %d offers, %d candidates -> %d pairs, status %d, gap %.2e "
        "in %.3fs",
        meth, p.n_customers, p.n_offers, len(p.value), len(out.customer), out.status, out.gap,
        out.elapsed_s,
    )
    return out


def _allocate(
    p: AllocationProblem,
    meth: str,
    tol_: float,
    max_iter_: int,
    tl: float | None,
    bs: int,
    gap_: float,
    warm_start: Allocation | None,
    progress: ProgressCallback | None = None,
) -> Allocation:
    t0 = time.perf_counter()
    if meth == "dual":
        lam0 = None if warm_start is None else np.array(warm_start.budget_price)
        mu0 = None if warm_start is None else np.array(warm_start.cap_price)
        res = solve_dual(
            p, tol=tol_, max_iter=max_iter_, block_size=bs, lam0=lam0, mu0=mu0,
            progress=progress,
        )
        gap = _gap(max(res.bound, res.objective), res.objective)  # as reported
        ok = gap <= tol_
        return _result(
            p,
            "dual",
            res.chosen,
            bound=res.bound,
            lam=res.lam,
            mu=res.mu,
            iterations=res.sweeps,
            evaluations=res.evals,
            t0=t0,
            status=OPTIMAL if ok else LIMIT,
            message=(
                f"gap {gap:.2e} <= tol {tol_:.0e} after {res.sweeps} sweep(s)"
                if ok
                else f"stopped after {res.sweeps} sweep(s) with gap {gap:.2e} > tol {tol_:.0e}"
            ),
        )
    if meth == "greedy":
        chosen, rounds = solve_greedy(p, block_size=bs)
        bound, lam, mu = greedy_bound(p, chosen, block_size=bs)
        return _result(
            p,
            "greedy",
            chosen,
            bound=bound,
            lam=lam,
            mu=mu,
            iterations=rounds,
            evaluations=rounds + 3,
            t0=t0,
            status=OPTIMAL,
            message="greedy by value per unit of budget; bound from the dual at its critical ratio",
        )
    lp = solve_lp(p, time_limit=tl)
    mi = solve_milp(
        p, time_limit=tl, mip_rel_gap=gap_, upper_bound=lp.value if lp.success else np.inf
    )
    if mi.chosen is None:
        chosen = np.zeros(p.n_candidates, dtype=bool)
        proven, msg = False, f"HiGHS found no plan: {mi.message}"
    elif mi.fits:
        chosen = mi.chosen
        proven = mi.success
        msg = f"HiGHS MILP: {mi.message}"
    else:
        # HiGHS' answers kept exceeding a limit by rounding: repair and fill greedily
        chosen = mi.chosen
        ctx = _Ctx.build(p, bs)
        _drop_to_fit(
            p, chosen, np.array(p.value), np.ones(p.n_candidates) if ctx.w is None else ctx.w
        )
        fill(ctx, chosen, lambda i: _ratio_score(p, i))
        enforce_exact(p, chosen, np.array(p.value))
        proven = False
        msg = (
            f"HiGHS MILP plans exceeded a limit by rounding in {mi.rounds} solves; "
            "the last one was repaired and filled, its optimality is not proven"
        )
    objective = exact_sum(p.value[chosen])
    # both are upper bounds: the Lagrangian at the LP prices (rounded up) and HiGHS'
    # MILP bound over the plans that fit (the cuts remove only plans that do not)
    # (without the LP, e.g. out of time, the Lagrangian at zero prices: the sum of
    # each customer's best offers)
    bound = lp.value if lp.success else certified_bound(_Ctx.build(p, bs), lp.lam * 0, lp.mu * 0)
    if np.isfinite(mi.dual_bound):
        bound = min(bound, max(mi.dual_bound, objective))
    gap = _gap(bound, objective)
    if mi.chosen is None:
        status = NO_PLAN
    elif proven and gap <= gap_ + _GAP_SLACK:
        status = OPTIMAL
    else:
        status = LIMIT
        if proven:
            msg = f"{msg}; but the certified gap {gap:.2e} > mip_rel_gap {gap_:.0e}"
    return _result(
        p,
        "exact",
        chosen,
        bound=bound,
        lam=lp.lam,
        mu=lp.mu,
        iterations=mi.rounds,
        evaluations=0,
        t0=t0,
        status=status,
        message=msg,
    )


_LP_SOLVERS = ("highs-ipm", "highs-ds", "highs")


def _lp_bound_iv(
    problem: Any, time_limit: Any, solver: Any
) -> tuple[AllocationProblem, float | None, str]:
    p, *_ = _allocate_iv(problem, "exact", 1e-4, 1, time_limit, 1, 0.0, None)
    if solver not in _LP_SOLVERS:
        raise ValidationError(
            f"solver must be one of {list(_LP_SOLVERS)}, got {solver!r}", field="solver"
        )
    return p, None if time_limit is None else float(time_limit), str(solver)


def lp_bound(
    problem: AllocationProblem,
    *,
    time_limit: float | None = None,
    solver: Literal["highs-ipm", "highs-ds", "highs"] = "highs-ipm",
) -> LpBound:
    """Solve the LP relaxation with HiGHS (``scipy.optimize.linprog``).

    Parameters
    ----------
    problem : AllocationProblem
    time_limit : float, optional
        Seconds for HiGHS.
    solver : {"highs-ipm", "highs-ds", "highs"}
        HiGHS interior point (default; with crossover, so the duals are those of
        a basic solution), dual simplex, or HiGHS' own choice. On these
        allocation LPs the interior point method is about 10x faster than the
        dual simplex.

    Returns
    -------
    LpBound

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, lp_bound
    >>> p = AllocationProblem.from_dense(np.array([[4.0], [3.0]]), np.array([[2.0], [2.0]]),
    ...                                  budgets=[Budget("total", 3.0)])
    >>> lp = lp_bound(p)
    >>> round(lp.value, 6), lp.budget_price.round(6).tolist()
    (5.5, [1.5])
    """
    p, tl, solver_ = _lp_bound_iv(problem, time_limit, solver)
    t0 = time.perf_counter()
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        out = solve_lp(p, time_limit=tl, solver=solver_)
    return LpBound(
        value=out.value,
        x=out.x,
        budget_price=out.lam,
        cap_price=out.mu,
        elapsed_s=time.perf_counter() - t0,
        success=out.success,
        status=out.status,
        message=out.message,
    )


def _budget_curve_iv(
    problem: Any,
    limits: Any,
    budget: Any,
    method: Any,
    tol: Any,
    max_iter: Any,
    time_limit: Any,
    block_size: Any,
) -> tuple[AllocationProblem, F64, int]:
    if not isinstance(problem, AllocationProblem):
        raise ValidationError(
            f"problem must be an AllocationProblem, got {type(problem).__name__}; build one with "
            "AllocationProblem.from_dense or AllocationProblem.from_candidates",
            field="problem",
        )
    if problem.n_budgets == 0:
        raise ValidationError(
            "problem has no budget to vary; add one with budgets=[Budget(...)]", field="budget"
        )
    if isinstance(limits, (str, bytes)):
        raise ValidationError(
            f"limits must be a non-empty 1-D sequence of numbers, got {limits!r}; pass e.g. "
            "limits=[100.0, 200.0] (the budget to vary goes in budget=)",
            field="limits",
        )
    arr = np.asarray(limits)
    if arr.ndim != 1 or len(arr) == 0 or arr.dtype.kind not in "iuf":
        raise ValidationError(
            "limits must be a non-empty 1-D sequence of numbers (the budget limits to solve "
            f"for), got {arr.dtype} of shape {arr.shape}",
            field="limits",
        )
    arr = arr.astype(np.float64)
    if not bool(np.all(np.isfinite(arr))) or float(arr.min()) < 0:
        raise ValidationError(
            "limits must be finite numbers >= 0; drop NaN, inf and negative limits",
            field="limits",
        )
    b = problem.budget_index(budget)
    _allocate_iv(problem, method, tol, max_iter, time_limit, block_size, 1e-6, None)
    return problem, np.sort(arr), b


@renamed_kwargs(budgets="limits")
def budget_curve(
    problem: AllocationProblem,
    limits: Sequence[float] | npt.ArrayLike,
    *,
    budget: int | str = 0,
    method: Method = "dual",
    tol: float = 1e-4,
    max_iter: int = 50,
    time_limit: float | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> BudgetCurve:
    """Objective, bound and shadow price versus one budget's limit (warm-started).

    Limits are solved in ascending order; with ``method="dual"`` each solve
    starts from the previous one's prices.

    Parameters
    ----------
    problem : AllocationProblem
        The problem; every other budget keeps its limit.
    limits : sequence of float
        The limits of ``budget`` to solve for (finite, ``>= 0``, any order).
        Renamed from ``budgets=`` (accepted with a deprecation warning until 0.3).
    budget : int or str
        The budget that varies, by name or position (default: the first).
    method, tol, max_iter, time_limit, block_size
        As in :func:`allocate`.

    Returns
    -------
    BudgetCurve
        One row per limit, ascending.

    Raises
    ------
    ValidationError
        If an argument is invalid, or the problem has no budget; the message
        names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from onetoone.allocation import AllocationProblem, Budget, budget_curve
    >>> p = AllocationProblem.from_dense(np.array([[4.0], [3.0], [1.0]]), np.ones((3, 1)),
    ...                                  budgets=[Budget("total", 1.0)])
    >>> c = budget_curve(p, [0.0, 1.0, 2.0, 3.0], budget="total")
    >>> c.limit.tolist(), c.objective.tolist()
    ([0.0, 1.0, 2.0, 3.0], [0.0, 4.0, 7.0, 8.0])
    >>> c.marginal_return.tolist()
    [4.0, 3.0, 1.0]
    """
    p, limits_, b = _budget_curve_iv(
        problem, limits, budget, method, tol, max_iter, time_limit, block_size
    )
    t0 = time.perf_counter()
    out = np.zeros((5, len(limits_)))
    prev: Allocation | None = None
    for i, lim in enumerate(limits_.tolist()):
        q = p.with_budget_limit(b, lim)
        a = allocate(
            q,
            method,
            tol=tol,
            max_iter=max_iter,
            time_limit=time_limit,
            block_size=block_size,
            warm_start=prev if method == "dual" else None,
        )
        out[:, i] = (a.objective, a.bound, a.gap, a.budget_spend[b], a.budget_price[b])
        prev = a
    return BudgetCurve(
        budget=p.budget_names[b],
        limit=limits_,
        objective=out[0],
        bound=out[1],
        gap=out[2],
        spend=out[3],
        price=out[4],
        elapsed_s=time.perf_counter() - t0,
    )
