"""Offers: what a retailer can give, the items each covers, its cost and value.

An :class:`Offers` is a sparse offer x item incidence over an item
:class:`~onetoone.data.IdIndex`, with a cost to the retailer per redemption, an
optional value (e.g. margin) per redemption and an optional eligibility
structure (which customers may receive which offer). Build it from a
coupon -> product table with :meth:`Offers.from_pairs`, or from category /
brand rules over a :class:`~onetoone.data.Catalogue` with
:meth:`Offers.from_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onetoone._arrays import as_1d, as_float, as_id_column, check_lengths, readonly
from onetoone._deprecation import policy_value
from onetoone.data import Catalogue, IdIndex, UnknownPolicy
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError

__all__ = ["Offers"]

_F64 = npt.NDArray[np.float64]
CostLike = float | int | Mapping[Any, float] | npt.ArrayLike | None
#: What :meth:`Offers.from_pairs` / :meth:`Offers.from_rules` do with an offer that
#: covers no item of the index: raise (default) or leave it out (counted).
EmptyOffersPolicy = Literal["raise", "drop"]


def _opt_readonly(a: _F64 | None) -> _F64 | None:
    return None if a is None else readonly(a)


def _count(inst: Offers, attribute: Any, value: object) -> None:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0):
        raise ValidationError(
            f"Offers.{attribute.name} must be an int >= 0, got {value!r}", field=attribute.name
        )


def _check_index_field(inst: Offers, attribute: Any, value: Any) -> None:
    if not isinstance(value, IdIndex):
        raise ValidationError(
            f"Offers.{attribute.name} must be an IdIndex, got {type(value).__name__}",
            field=attribute.name,
        )


def _check_incidence(inst: Offers, attribute: Any, m: sp.csr_array) -> None:
    if not isinstance(m, sp.csr_array):
        raise ValidationError(
            "Offers.incidence must be a scipy.sparse.csr_array", field="incidence"
        )


@attrs.frozen(eq=False)
class Offers:
    """A set of offers over an item index.

    Attributes
    ----------
    ids : IdIndex
        Offer ids; row ``k`` of every array is offer code ``k``.
    items : IdIndex
        The items the incidence columns refer to.
    incidence : scipy.sparse.csr_array
        ``(n_offers, n_items)`` 0/1 matrix: offer ``k`` covers item ``j``.
        Every offer covers at least one item.
    cost : float64 array
        Cost to the retailer per redemption (>= 0), one per offer.
    value : float64 array or None
        Value (e.g. margin) per redemption where known; NaN where unknown.
    eligibility : scipy.sparse.csr_array or None
        ``(n_eligible_customers, n_offers)`` boolean: who may receive what.
        Customers outside :attr:`eligible_customers` are eligible for nothing.
    eligible_customers : IdIndex or None
        Customer ids of the eligibility rows.
    n_unknown_items : int
        (offer, item) pairs dropped at construction because the item was not
        in :attr:`items` (only under ``unknown_items="drop"``).
    n_dropped_offers : int
        Offers left out at construction because they covered no item of
        :attr:`items` (only under ``empty_offers="drop"``).

    Examples
    --------
    >>> items = IdIndex.from_values([10, 11, 12])
    >>> offers = Offers.from_pairs(["a", "a", "b"], [10, 11, 12], items=items, cost=1.5)
    >>> offers.n_offers, offers.incidence.toarray().tolist()
    (2, [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """

    ids: IdIndex = attrs.field(validator=_check_index_field)
    items: IdIndex = attrs.field(validator=_check_index_field)
    incidence: sp.csr_array = attrs.field(validator=_check_incidence, repr=False)
    cost: _F64 = attrs.field(converter=readonly, repr=False)
    value: _F64 | None = attrs.field(default=None, converter=_opt_readonly, repr=False)
    eligibility: sp.csr_array | None = attrs.field(default=None, repr=False)
    eligible_customers: IdIndex | None = None
    n_unknown_items: int = attrs.field(default=0, validator=_count)
    n_dropped_offers: int = attrs.field(default=0, validator=_count)

    def __attrs_post_init__(self) -> None:
        n, m = len(self.ids), len(self.items)
        if n == 0:
            raise EmptyInputError("offers is empty; give at least one offer", field="ids")
        if self.incidence.shape != (n, m):
            raise ValidationError(
                f"incidence has shape {self.incidence.shape}, expected ({n}, {m}) "
                "(n_offers, n_items)",
                field="incidence",
            )
        sizes = np.diff(self.incidence.indptr)
        if bool((sizes == 0).any()):
            empty = self.ids.decode(np.flatnonzero(sizes == 0)[:3])
            raise EmptyInputError(
                f"{int((sizes == 0).sum())} offer(s) cover no item, e.g. {empty.tolist()}; "
                "every offer must cover at least one item of the index (Offers.from_pairs and "
                "Offers.from_rules leave such offers out with empty_offers='drop')",
                field="incidence",
            )
        self.incidence.data.flags.writeable = False
        if self.cost.shape != (n,) or self.cost.dtype != np.float64:
            raise ValidationError(f"cost must be a float64 array of {n} values", field="cost")
        if not bool(np.all(np.isfinite(self.cost))) or bool((self.cost < 0).any()):
            raise ValidationError("cost must be finite and >= 0 for every offer", field="cost")
        if self.value is not None:
            if self.value.shape != (n,) or self.value.dtype != np.float64:
                raise ValidationError(f"value must be a float64 array of {n} values", field="value")
            if bool(np.isinf(self.value).any()):
                raise ValidationError(
                    "value must be finite where known (NaN marks unknown), not infinite",
                    field="value",
                )
        if (self.eligibility is None) != (self.eligible_customers is None):
            raise ValidationError(
                "eligibility and eligible_customers must be given together", field="eligibility"
            )
        if self.eligibility is not None and self.eligible_customers is not None:
            shape = (len(self.eligible_customers), n)
            if self.eligibility.shape != shape:
                raise ValidationError(
                    f"eligibility has shape {self.eligibility.shape}, expected {shape}",
                    field="eligibility",
                )

    @property
    def n_offers(self) -> int:
        """Number of offers (rows of :attr:`incidence`)."""
        return len(self.ids)

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Number of items each offer covers."""
        out: npt.NDArray[np.int64] = np.diff(self.incidence.indptr).astype(np.int64)
        return out

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_pairs(
        cls,
        offer_ids: Any,
        item_ids: Any,
        *,
        items: IdIndex | None = None,
        cost: CostLike = 0.0,
        value: CostLike = None,
        eligibility: tuple[Any, Any] | None = None,
        unknown_items: UnknownPolicy = "raise",
        empty_offers: EmptyOffersPolicy = "raise",
    ) -> Offers:
        """Build offers from aligned (offer id, item id) pairs, e.g. a coupon -> product table.

        Parameters
        ----------
        offer_ids, item_ids : array-like
            One pair per row; duplicates are merged.
        items : IdIndex, optional
            The item index the offers refer to (default: the distinct ``item_ids``).
            Items need not be known to an affinity model: :func:`score_offers`
            maps them by id and has its own ``unknown_items`` policy.
        cost, value : float, mapping or array-like, optional
            Per redemption: a scalar for every offer, a mapping offer id -> number,
            or an array aligned with the pairs (constant within an offer).
            ``value`` defaults to unknown (None).
        eligibility : (customer_ids, offer_ids), optional
            Pairs of who may receive which offer.
        unknown_items : {"raise", "drop"}
            Items not in ``items``: raise :class:`~onetoone.errors.UnknownIdError`
            (default), or drop those pairs and count them in :attr:`n_unknown_items`.
            ``"keep"`` is refused: the incidence has no column for an item
            outside ``items`` (pass ``items=None`` to index every item given).
        empty_offers : {"raise", "drop"}
            Offers left covering no item of ``items`` (all their pairs
            dropped under ``unknown_items="drop"``): raise
            :class:`~onetoone.errors.EmptyInputError` naming them (default), or
            leave them out, with their eligibility, counted in
            :attr:`n_dropped_offers`.

        Raises
        ------
        LengthMismatchError, EmptyInputError, UnknownIdError, ValidationError

        Examples
        --------
        Offer ``"c"`` only covers an item outside the index: drop the unknown
        pair, then the offer left with no item.

        >>> items = IdIndex.from_values(["x", "y"])
        >>> offers = Offers.from_pairs(["a", "b", "c"], ["x", "y", "zz"], items=items,
        ...                            unknown_items="drop", empty_offers="drop")
        >>> offers.ids.to_list(), offers.n_unknown_items, offers.n_dropped_offers
        (['a', 'b'], 1, 1)
        """
        o, it, policy, empty = _from_pairs_iv(
            offer_ids, item_ids, items, unknown_items, empty_offers
        )
        ids, ocode = IdIndex.factorize(o, name="offer_ids")
        if items is None:
            items = IdIndex.from_values(it, name="item_ids")
        icode = items.encode(it, unknown="keep", field="item_ids")
        unknown = icode < 0
        n_unknown = int(unknown.sum())
        keep = ~unknown
        inc = sp.coo_array(
            (np.ones(int(keep.sum())), (ocode[keep], icode[keep])), shape=(len(ids), len(items))
        ).tocsr()
        inc.sum_duplicates()
        inc.data[:] = 1.0
        if n_unknown and policy == "raise":
            bad = list(dict.fromkeys(it[unknown].tolist()))
            left = _empty_offer_ids(inc, ids)
            fix = "pass unknown_items='drop' to drop and count them"
            if len(left):
                fix = (
                    f"pass unknown_items='drop', empty_offers='drop' to drop them and the "
                    f"{len(left)} offer(s) left with no item, e.g. {left[:3].tolist()}"
                )
            raise UnknownIdError(
                f"item_ids: {n_unknown} pair(s) name items not in the item index, e.g. "
                f"{bad[:3]}; {fix}",
                field="item_ids",
            )
        cost_a = _per_offer(cost, ids, ocode, len(o), "cost", default=0.0)
        value_a = None if value is None else _per_offer(value, ids, ocode, len(o), "value")
        elig, elig_c = _eligibility(eligibility, ids)
        return _build(
            cls,
            ids,
            items,
            inc,
            cost_a,
            value_a,
            elig,
            elig_c,
            n_unknown,
            empty,
            why="once the pairs of items outside the index are dropped"
            if n_unknown
            else "in the item index",
        )

    @classmethod
    def from_rules(
        cls,
        catalogue: Catalogue,
        *,
        offer_ids: Any,
        category: Any = None,
        brand: Any = None,
        items: IdIndex | None = None,
        cost: CostLike = 0.0,
        value: CostLike = None,
        eligibility: tuple[Any, Any] | None = None,
        empty_offers: EmptyOffersPolicy = "raise",
    ) -> Offers:
        """Build one offer per rule: all catalogue items of a category and/or brand.

        Parameters
        ----------
        catalogue : Catalogue
        offer_ids : array-like
            One id per rule (unique).
        category, brand : array-like of str or None, optional
            The category / brand label each offer covers (None: any). At least one
            of the two must be given; where both are, an item must match both.
        items : IdIndex, optional
            Item index of the result (default ``catalogue.items``); catalogue items
            outside it are left out.
        cost, value, eligibility
            As in :meth:`from_pairs` (arrays align with ``offer_ids``).
        empty_offers : {"raise", "drop"}
            A rule that matches no item of ``items``: raise (default), or leave
            the offer out, counted in :attr:`n_dropped_offers`.

        Raises
        ------
        EmptyInputError
            A rule matches no item (under ``empty_offers="raise"``).
        UnknownIdError
            A category or brand label is not in the catalogue.

        Examples
        --------
        >>> cat = Catalogue.from_arrays(item=[1, 2, 3], category=["milk", "bread", "milk"])
        >>> offers = Offers.from_rules(cat, offer_ids=["m", "b"], category=["milk", "bread"])
        >>> offers.ids.to_list(), offers.incidence.toarray().tolist()
        (['b', 'm'], [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
        """
        o, empty = _from_rules_iv(catalogue, offer_ids, category, brand, items, empty_offers)
        ids, ocode = IdIndex.factorize(o, name="offer_ids")
        if len(ids) != len(o):
            raise ValidationError("offer_ids must be unique, one per rule", field="offer_ids")
        target = catalogue.items if items is None else items
        n_rules = len(o)
        cols = np.arange(len(catalogue.items))
        mask = np.ones((n_rules, len(cols)), dtype=bool)
        for labels, index, codes, name in (
            (category, catalogue.categories, catalogue.category, "category"),
            (brand, catalogue.brands, catalogue.brand, "brand"),
        ):
            if labels is None:
                continue
            if index is None or codes is None:
                raise ValidationError("this catalogue has no brand column", field="brand")
            lab = as_1d(labels, name)
            check_lengths(n_rules, **{name: lab})
            given = np.array([v is not None for v in lab.astype(object)], dtype=bool)
            want = np.full(n_rules, -1, dtype=np.int32)
            if given.any():
                want[given] = index.encode(lab[given].astype(str), field=name)
            mask &= ~given[:, None] | (codes[None, :] == want[:, None])
        rule, cat_item = np.nonzero(mask)
        tcode = target.encode(catalogue.items.values[cat_item], unknown="keep", field="items")
        ok = tcode >= 0
        inc = sp.csr_array(
            (np.ones(int(ok.sum())), (ocode[rule[ok]], tcode[ok])), shape=(len(ids), len(target))
        )
        inc.sum_duplicates()
        cost_a = _per_offer(cost, ids, ocode, n_rules, "cost", default=0.0)
        value_a = None if value is None else _per_offer(value, ids, ocode, n_rules, "value")
        elig, elig_c = _eligibility(eligibility, ids)
        return _build(
            cls,
            ids,
            target,
            inc,
            cost_a,
            value_a,
            elig,
            elig_c,
            0,
            empty,
            why="(their rule matches no item of the index)",
        )

    def eligible_mask(self, customers: IdIndex) -> sp.csr_array | None:
        """Eligibility rows for ``customers`` (customers not listed: no offer), or None.

        Parameters
        ----------
        customers : IdIndex
            The customers of the rows, e.g. ``OfferScores.customers``.

        Returns
        -------
        scipy.sparse.csr_array or None
            ``(len(customers), n_offers)`` boolean; None when the offers carry
            no eligibility (everyone may receive every offer).

        Examples
        --------
        >>> items = IdIndex.from_values(["x", "y"])
        >>> offers = Offers.from_pairs(["a", "b"], ["x", "y"], items=items,
        ...                            eligibility=([7, 7, 8], ["a", "b", "b"]))
        >>> offers.eligible_mask(IdIndex.from_values([7, 8, 9])).toarray().tolist()
        [[True, True], [False, True], [False, False]]
        """
        _eligible_mask_iv(self, customers)
        if self.eligibility is None or self.eligible_customers is None:
            return None
        rows = self.eligible_customers.encode(customers.values, unknown="keep", field="customers")
        e = self.eligibility
        sel = sp.csr_array(
            (np.ones(int((rows >= 0).sum())), (np.flatnonzero(rows >= 0), rows[rows >= 0])),
            shape=(len(customers), e.shape[0]),
        )
        out: sp.csr_array = sp.csr_array((sel @ e.astype(np.float64)) > 0)
        return out


def _eligible_mask_iv(offers: Offers, customers: object) -> None:
    if not isinstance(customers, IdIndex):
        raise ValidationError(
            f"customers must be an IdIndex, got {type(customers).__name__}; pass e.g. "
            "OfferScores.customers, or IdIndex.from_values(customer_ids)",
            field="customers",
        )
    known = offers.eligible_customers
    if known is not None and len(customers) and len(known) and customers.kind != known.kind:
        raise ValidationError(
            f"customers are {customers.kind}s but eligibility lists {known.kind}s",
            field="customers",
        )


def _from_pairs_iv(
    offer_ids: Any, item_ids: Any, items: object, unknown_items: object, empty_offers: object
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], str, str]:
    o = as_id_column(offer_ids, "offer_ids")
    it = as_id_column(item_ids, "item_ids")
    check_lengths(len(o), item_ids=it)
    if len(o) == 0:
        raise EmptyInputError("offer_ids is empty; give at least one pair", field="offer_ids")
    unknown = policy_value(
        unknown_items, "unknown_items", ("raise", "drop", "keep"), func="Offers.from_pairs"
    )
    if unknown == "keep":
        raise ValidationError(
            "Offers.from_pairs cannot keep items outside `items` (the incidence has no column "
            "for them); pass unknown_items='drop' to drop those pairs, or items=None to index "
            "every item id given",
            field="unknown_items",
        )
    empty = policy_value(empty_offers, "empty_offers", ("raise", "drop"), func="Offers.from_pairs")
    _check_index(items, "items")
    return o, it, unknown, empty


def _from_rules_iv(
    catalogue: object,
    offer_ids: Any,
    category: object,
    brand: object,
    items: object,
    empty_offers: object,
) -> tuple[npt.NDArray[Any], str]:
    if not isinstance(catalogue, Catalogue):
        raise ValidationError(
            f"catalogue must be a Catalogue (Catalogue.from_arrays / from_pandas), got "
            f"{type(catalogue).__name__}",
            field="catalogue",
        )
    _check_index(items, "items")
    o = as_id_column(offer_ids, "offer_ids")
    if len(o) == 0:
        raise EmptyInputError("offer_ids is empty; give at least one rule", field="offer_ids")
    if category is None and brand is None:
        raise ValidationError("give category= or brand= (or both) rules", field="category")
    empty = policy_value(empty_offers, "empty_offers", ("raise", "drop"), func="Offers.from_rules")
    return o, empty


def _empty_offer_ids(inc: sp.csr_array, ids: IdIndex) -> npt.NDArray[Any]:
    return ids.decode(np.flatnonzero(np.diff(inc.indptr) == 0))


def _build(
    cls: type[Offers],
    ids: IdIndex,
    items: IdIndex,
    inc: sp.csr_array,
    cost: _F64,
    value: _F64 | None,
    elig: sp.csr_array | None,
    elig_c: IdIndex | None,
    n_unknown: int,
    empty_offers: str,
    *,
    why: str,
) -> Offers:
    """The offers, with those covering no item refused or left out (``empty_offers``)."""
    empty = np.diff(inc.indptr) == 0
    n_empty = int(empty.sum())
    if n_empty and empty_offers == "raise":
        raise EmptyInputError(
            f"{n_empty} offer(s) cover no item {why}, e.g. "
            f"{ids.decode(np.flatnonzero(empty)[:3]).tolist()}; pass empty_offers='drop' to "
            "leave them out (counted in Offers.n_dropped_offers), or give an item index that "
            "holds their items",
            field="empty_offers",
        )
    if n_empty:
        if n_empty == len(ids):
            raise EmptyInputError(
                f"every offer ({n_empty}) covers no item {why}, so empty_offers='drop' leaves "
                "none; give an item index that holds the offers' items",
                field="empty_offers",
            )
        keep = np.flatnonzero(~empty)
        ids = IdIndex(ids.values[keep])
        inc = sp.csr_array(inc[keep])
        cost = cost[keep]
        value = None if value is None else value[keep]
        if elig is not None:
            elig = sp.csr_array(elig[:, keep])
    return cls(
        ids=ids,
        items=items,
        incidence=inc,
        cost=cost,
        value=value,
        eligibility=elig,
        eligible_customers=elig_c,
        n_unknown_items=n_unknown,
        n_dropped_offers=n_empty,
    )


def _check_index(items: object, name: str) -> None:
    if items is not None and not isinstance(items, IdIndex):
        raise ValidationError(
            f"{name} must be an IdIndex or None, got {type(items).__name__}; pass e.g. "
            "transactions.items, or IdIndex.from_values(ids)",
            field=name,
        )


def _per_offer(
    spec: CostLike,
    ids: IdIndex,
    ocode: npt.NDArray[np.int32],
    n_pairs: int,
    name: str,
    *,
    default: float | None = None,
) -> _F64:
    n = len(ids)
    if spec is None:
        if default is None:
            raise ValidationError(f"{name} is required", field=name)
        return np.full(n, default)
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return np.full(n, float(spec))
    if isinstance(spec, Mapping):
        keys = as_1d(list(spec.keys()), name)
        vals = as_float(list(spec.values()), name)
        code = ids.encode(keys, unknown="keep", field=name)
        if (code < 0).any():
            raise UnknownIdError(
                f"{name}: {int((code < 0).sum())} offer id(s) not among the offers, e.g. "
                f"{keys[code < 0][:3].tolist()}",
                field=name,
            )
        out = np.full(n, np.nan)
        out[code] = vals
        if np.isnan(out).any():
            missing = ids.decode(np.flatnonzero(np.isnan(out))[:3])
            raise ValidationError(
                f"{name}: no value for {int(np.isnan(out).sum())} offer(s), e.g. "
                f"{missing.tolist()}; give every offer a {name}",
                field=name,
            )
        return out
    a = as_float(spec, name)
    check_lengths(n_pairs, **{name: a})
    out = np.full(n, np.nan)
    out[ocode] = a
    back = out[ocode]
    if not bool(np.all((back == a) | (np.isnan(back) & np.isnan(a)))):
        raise ValidationError(
            f"{name} differs between rows of the same offer; give one {name} per offer",
            field=name,
        )
    return out


def _eligibility(
    eligibility: tuple[Any, Any] | None, ids: IdIndex
) -> tuple[sp.csr_array | None, IdIndex | None]:
    if eligibility is None:
        return None, None
    pair: object = eligibility
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise ValidationError(
            "eligibility must be a (customer_ids, offer_ids) pair of arrays", field="eligibility"
        )
    c = as_id_column(eligibility[0], "eligibility customer_ids")
    o = as_id_column(eligibility[1], "eligibility offer_ids")
    check_lengths(len(c), eligibility_offer_ids=o)
    customers, ccode = IdIndex.factorize(c, name="eligibility customer_ids")
    ocode = ids.encode(o, field="eligibility offer_ids")
    m = sp.coo_array(
        (np.ones(len(c), dtype=bool), (ccode, ocode)), shape=(len(customers), len(ids))
    ).tocsr()
    m.sum_duplicates()
    return m, customers
