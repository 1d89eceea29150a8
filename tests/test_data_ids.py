"""Ids round-trip exactly through every ingestion path, over the full 64-bit range.

uint64 ids such as card numbers (``2**64 - 1``, ``2**63``) were wrapped to
negative int64 on every path and in ``assign_holdout``; ids that cannot
round-trip (large floats, ``[1, "1"]``, Python ints beyond 64 bits) were
silently merged or raised a bare ``OverflowError`` (issue 12, defect 5).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone import Catalogue, IdIndex, Transactions, UnknownIdError, ValidationError
from onetoone.measurement import assign_holdout, hash_unit

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

CARDS = [2**64 - 1, 2**63, 2**64 - 1]
U64 = st.integers(0, 2**64 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
STR = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=6
)  # Arrow cannot hold lone surrogates


def _typed(ids: list[Any]) -> Any:
    """``ids`` as the array a caller would hold: uint64, int64 or str."""
    if isinstance(ids[0], str):
        return np.array(ids, dtype=str)
    if min(ids) >= 0 and max(ids) > 2**63 - 1:
        return np.array(ids, dtype=np.uint64)
    return np.array(ids, dtype=np.int64)


def _log(ids: Any) -> dict[str, Any]:
    n = len(ids)
    return {
        "customer": ids,
        "item": ids,
        "timestamp": np.datetime64("2024-01-01", "s") + np.arange(n).astype("timedelta64[s]"),
        "value": np.ones(n),
    }


def _via_arrays(ids: Any) -> Transactions:
    return Transactions.from_arrays(**_log(ids))


def _via_list(ids: Any) -> Transactions:
    return Transactions.from_arrays(**(_log(ids) | {"customer": list(ids.tolist())}))


def _via_pandas(ids: Any) -> Transactions:
    return Transactions.from_pandas(pd.DataFrame(_log(ids)))


def _via_pandas_nullable(ids: Any) -> Transactions:
    frame = pd.DataFrame(_log(ids))
    if ids.dtype.kind in "iu":
        frame["customer"] = frame["customer"].astype("UInt64" if ids.dtype.kind == "u" else "Int64")
    return Transactions.from_pandas(frame)


def _via_arrow(ids: Any) -> Transactions:
    return Transactions.from_arrow(pa.table(_log(ids)))


def _via_parquet(ids: Any) -> Transactions:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "log.parquet")
        pq.write_table(pa.table(_log(ids)), path)
        return Transactions.from_parquet(path)


PATHS: dict[str, Callable[[Any], Transactions]] = {
    "from_arrays": _via_arrays,
    "from_arrays(list)": _via_list,
    "from_pandas": _via_pandas,
    "from_pandas(nullable)": _via_pandas_nullable,
    "from_arrow": _via_arrow,
    "from_parquet": _via_parquet,
}


def _check_round_trip(tx: Transactions, ids: list[Any]) -> None:
    # rows are re-ordered by customer; compare the multiset of (customer, item) pairs
    got = sorted(
        zip(
            tx.customers.decode(tx.customer).tolist(),
            tx.items.decode(tx.item).tolist(),
            strict=True,
        )
    )
    assert got == sorted(zip(ids, ids, strict=True))
    assert tx.customers.to_list() == sorted(set(ids))


@pytest.mark.parametrize("path", sorted(PATHS))
def test_card_numbers_survive_every_path(path: str) -> None:
    tx = PATHS[path](np.array(CARDS, dtype=np.uint64))
    _check_round_trip(tx, CARDS)
    assert tx.customers.values.dtype == np.uint64
    assert tx.customers.decode(tx.customer).min() == 2**63  # not -2**63


@pytest.mark.parametrize("path", sorted(PATHS))
@settings(max_examples=25, deadline=None)
@given(
    ids=st.one_of(
        st.lists(U64, min_size=1, max_size=12),
        st.lists(I64, min_size=1, max_size=12),
        st.lists(STR, min_size=1, max_size=12),
    )
)
def test_ids_round_trip_through_every_path(path: str, ids: list[Any]) -> None:
    _check_round_trip(PATHS[path](_typed(ids)), ids)


@given(ids=st.lists(st.one_of(U64, I64), min_size=1, max_size=30))
def test_idindex_exact_over_64_bits(ids: list[int]) -> None:
    if min(ids) < 0 and max(ids) > 2**63 - 1:  # no 64-bit type holds both: refused
        with pytest.raises(ValidationError, match="mixes negative ids"):
            IdIndex.factorize(ids)
        return
    idx, codes = IdIndex.factorize(ids)
    assert idx.decode(codes).tolist() == ids
    assert idx.encode(ids).tolist() == codes.tolist()
    assert idx.to_list() == sorted(set(ids))
    assert idx.values.dtype == (np.uint64 if max(ids) > 2**63 - 1 else np.int64)


def test_uint64_index_keeps_uint64_and_int64_keeps_int64() -> None:
    assert IdIndex.from_values(np.array([5, 2**64 - 1], np.uint64)).values.dtype == np.uint64
    assert IdIndex.from_values(np.array([5, 7], np.uint64)).values.dtype == np.uint64
    assert IdIndex.from_values(np.array([-5, 7], np.int32)).values.dtype == np.int64
    assert IdIndex.from_values(np.array([5, 7], np.uint16)).values.dtype == np.int64
    assert IdIndex(np.array([1, 2], np.uint64)).values.dtype == np.uint64


def test_encode_across_int64_and_uint64_is_exact() -> None:
    big = IdIndex.from_values(np.array([3, 2**63, 2**64 - 1], np.uint64))
    # -1 and -2**63 share their bits with 2**64-1 and 2**63: they must not be found
    q = np.array([-1, -(2**63), 3], np.int64)
    assert big.encode(q, unknown="keep").tolist() == [-1, -1, 0]
    with pytest.raises(UnknownIdError, match=r"2 id\(s\) not in the index"):
        big.encode(q)
    assert -1 not in big and 2**64 - 1 in big and 2**64 not in big
    small = IdIndex.from_values([-1, 3])
    assert small.encode(np.array([2**64 - 1, 3], np.uint64), unknown="keep").tolist() == [-1, 1]
    assert big.decode([1, 2]).tolist() == [2**63, 2**64 - 1]


def test_catalogue_with_card_numbers() -> None:
    cat = Catalogue.from_arrays(item=[2**64 - 1, 2**63], category=["a", "b"])
    assert cat.items.to_list() == [2**63, 2**64 - 1]
    q = IdIndex.from_values(np.array([2**63, 2**64 - 1, 7], np.uint64))
    assert cat.category_codes(q).tolist() == [-1, 1, 0]  # q is sorted: 7, 2**63, 2**64-1
    neg = IdIndex.from_values([-1, -(2**63)])
    assert cat.category_codes(neg).tolist() == [-1, -1]


def _hash_reference(salt: str, id_: int | str) -> float:
    digest = hashlib.sha256(f"{salt}:{id_}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) * 2.0**-53


@settings(max_examples=50, deadline=None)
@given(
    ids=st.lists(U64, min_size=1, max_size=20, unique=True), salt=st.text(min_size=1, max_size=8)
)
def test_holdout_hash_is_the_documented_formula_for_uint64(ids: list[int], salt: str) -> None:
    want = [_hash_reference(salt, i) for i in ids]
    for given_ids in (ids, np.array(ids, dtype=np.uint64)):
        assert hash_unit(given_ids, salt=salt).tolist() == want
        h = assign_holdout(given_ids, fraction=0.5, salt=salt)
        got = dict(zip(h.customer_ids.tolist(), h.unit.tolist(), strict=True))
        assert got == dict(zip(ids, want, strict=True))


def test_holdout_of_card_numbers_matches_hashlib() -> None:
    h = assign_holdout(np.array([2**64 - 1, 2**63], np.uint64), fraction=0.5, salt="s")
    assert h.customer_ids.tolist() == [2**64 - 1, 2**63]
    assert h.unit.tolist() == [_hash_reference("s", 2**64 - 1), _hash_reference("s", 2**63)]


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ([1e20, 2e20], r"float ids beyond 2\*\*53"),
        (np.array([1e20, 2e20]), r"float ids beyond 2\*\*53"),
        (np.array([2.0**53 + 2, 1.0]), r"float ids beyond 2\*\*53"),
        ([1.5, 2.0], "non-integer floats"),
        (np.array([1.0, np.nan]), "NaN or infinite"),
        (np.array([1.0, np.inf]), "NaN or infinite"),
        ([1, "1"], r"mixes id types \(int, str\)"),
        (("a", 2), r"mixes id types \(int, str\)"),
        (np.array([1, "1"], dtype=object), r"mixes id types \(int, str\)"),
        ([2**64], r"outside the 64-bit range"),
        ([-(2**63) - 1], r"outside the 64-bit range"),
        ([-1, 2**63], "mixes negative ids"),
        ([True, False], "holds bool values"),
        (np.array([True, False]), "booleans"),
        (np.array([b"a", b"b"]), "bytes"),
        ([None, 1], r"mixes id types \(NoneType, int\)"),
        (np.array(["2024-01-01"], "datetime64[D]"), "must hold ints or strings"),
    ],
    ids=repr,
)
def test_ids_that_cannot_round_trip_are_refused(ids: Any, match: str) -> None:
    for build in (
        lambda: IdIndex.from_values(ids, name="customer"),
        lambda: IdIndex.factorize(ids, name="customer"),
        lambda: IdIndex.from_values([0]).encode(ids, field="customer"),
    ):
        with pytest.raises(ValidationError, match=match) as info:
            build()
        assert info.value.field == "customer"
        assert "customer" in str(info.value)


@pytest.mark.parametrize(
    "ids", [[1e20, 2e20, 1e20], [1, "1", 2], [2**64, 1, 2], [-1, 2**63, 1]], ids=repr
)
def test_ingestion_refuses_ids_that_cannot_round_trip(ids: list[Any]) -> None:
    log = _log(np.arange(3)) | {"customer": ids}
    with pytest.raises(ValidationError) as info:
        Transactions.from_arrays(**log)
    assert info.value.field == "customer"
    with pytest.raises(ValidationError) as info:
        assign_holdout(ids, fraction=0.5, salt="s")
    assert info.value.field == "customer_ids"
    with pytest.raises(ValidationError) as info:
        Catalogue.from_arrays(item=ids, category=["a", "b", "c"])
    assert info.value.field == "item"


def test_float_ids_beyond_2_53_from_pandas_point_to_nullable_ints() -> None:
    frame = pd.DataFrame(_log(np.arange(3)))
    frame["customer"] = [1e20, 2e20, np.nan]  # an int column with a null, read as float
    with pytest.raises(ValidationError, match="'Int64'/'UInt64'") as info:
        Transactions.from_pandas(frame, invalid="drop")
    assert info.value.field == "customer"


def test_lists_of_numpy_scalars_are_ids() -> None:
    ids = [np.int64(5), np.uint64(2**64 - 1), 7]
    assert IdIndex.from_values(ids).to_list() == [5, 7, 2**64 - 1]
    assert IdIndex.from_values([np.str_("a"), "b"]).to_list() == ["a", "b"]
    with pytest.raises(ValidationError, match="bool"):
        IdIndex.from_values([np.bool_(True), np.bool_(False)])


def test_small_float_ids_still_accepted() -> None:
    """Integral floats up to 2**53 (an int column with nulls) keep working."""
    idx, codes = IdIndex.factorize(np.array([3.0, 1.0, 3.0, 2.0**53]))
    assert idx.to_list() == [1, 3, 2**53] and codes.tolist() == [1, 0, 1, 2]


def test_offer_and_redemption_ids_are_not_merged_across_types() -> None:
    """Offers and Redemptions read id lists through the same checked conversion."""
    import onetoone as oto

    with pytest.raises(oto.ValidationError, match="mixes id types"):
        oto.Offers.from_pairs(["a", 1], [1, 2])
    with pytest.raises(oto.ValidationError, match="mixes id types"):
        oto.Redemptions.from_arrays(customer=[1, "1"], timestamp=["2024-01-01"] * 2)
    big = oto.Redemptions.from_arrays(customer=[2**64 - 1], timestamp=["2024-01-01"])
    assert big.customer_ids.tolist() == [2**64 - 1]
