"""assign_holdout, hash_unit, quantile_bins and check_balance."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.datasets import synthetic_transactions
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.measurement import assign_holdout, check_balance, hash_unit, quantile_bins
from onetoone.profiles import build_profiles


def _reference_unit(salt: str, id_: object) -> float:
    """The documented hash, written independently with hashlib and Python ints."""
    d = hashlib.sha256(f"{salt}:{id_}".encode()).digest()
    return (int.from_bytes(d[:8], "big") >> 11) / 2**53


def test_hash_matches_documented_recipe_for_int_and_str_ids() -> None:
    ints = [0, 1, 42, -7, 10**15]
    strs = ["alice", "bob", "Zoë", "x:y", ""]
    u_int = hash_unit(ints, salt="s1")
    u_str = hash_unit(np.array(strs), salt="s1")
    assert u_int.tolist() == [_reference_unit("s1", i) for i in ints]
    assert u_str.tolist() == [_reference_unit("s1", s) for s in strs]


def test_hash_pinned_values() -> None:
    # pinned so that a change of recipe (which would move customers between arms) is caught
    assert hash_unit([42], salt="spring-2024")[0] == 0.08009784486175597
    assert hash_unit(["C00042"], salt="spring-2024")[0] == _reference_unit("spring-2024", "C00042")


def test_same_customer_same_arm_regardless_of_order_and_population() -> None:
    ids = np.arange(5000)
    h1 = assign_holdout(ids, fraction=0.3, salt="exp")
    rng = np.random.default_rng(0)
    perm = rng.permutation(ids)
    h2 = assign_holdout(np.r_[perm, np.arange(5000, 8000)], fraction=0.3, salt="exp")
    arm1 = dict(zip(h1.customer_ids.tolist(), h1.in_holdout.tolist(), strict=True))
    arm2 = dict(zip(h2.customer_ids.tolist(), h2.in_holdout.tolist(), strict=True))
    assert all(arm1[i] == arm2[i] for i in ids.tolist())
    assert h2.customer_ids[:5000].tolist() == perm.tolist()  # input order kept


def test_fraction_is_met_in_distribution_and_salts_are_independent() -> None:
    ids = np.arange(200_000)
    a = assign_holdout(ids, fraction=0.1, salt="a")
    b = assign_holdout(ids, fraction=0.1, salt="b")
    n = len(ids)
    sd = np.sqrt(n * 0.1 * 0.9)
    assert abs(a.n_holdout - 0.1 * n) < 4 * sd
    both = int((a.in_holdout & b.in_holdout).sum())
    assert abs(both - 0.01 * n) < 4 * np.sqrt(n * 0.01 * 0.99)  # independent splits
    # the unit numbers look uniform
    hist = np.bincount((a.unit * 10).astype(int), minlength=10)
    assert hist.min() > 0.095 * n and hist.max() < 0.105 * n


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 400),
    n_strata=st.integers(1, 6),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
)
def test_stratified_split_meets_fraction_in_every_stratum(
    n: int, n_strata: int, fraction: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, n_strata, n)
    h = assign_holdout(np.arange(n), fraction=fraction, salt=f"s{seed}", strata=strata)
    assert h.stratum is not None and h.strata_labels is not None
    for k, lab in enumerate(h.strata_labels.tolist()):
        sel = strata == lab
        assert int(h.in_holdout[sel].sum()) == int(np.floor(fraction * sel.sum() + 0.5))
        # within a stratum the held-out customers are those with the smallest hash numbers
        if 0 < h.in_holdout[sel].sum() < sel.sum():
            assert h.unit[sel][h.in_holdout[sel]].max() <= h.unit[sel][~h.in_holdout[sel]].min()
        assert np.array_equal(h.stratum == k, sel)


def test_stratified_string_labels_and_summary() -> None:
    ids = [f"c{i}" for i in range(300)]
    strata = ["gold" if i % 3 == 0 else "silver" for i in range(300)]
    h = assign_holdout(ids, fraction=0.5, salt="x", strata=strata)
    assert h.strata_labels is not None
    assert h.strata_labels.tolist() == ["gold", "silver"]
    assert h.n_holdout == 50 + 100
    assert "stratum gold" in h.summary()
    assert set(h.treated.tolist()) | set(h.control.tolist()) == set(ids)


def test_balance_check_detects_imbalance_and_passes_random_split() -> None:
    tx = synthetic_transactions(2000, 100, random_state=4)
    prof = build_profiles(tx, as_of="2025-01-01")
    ids = tx.customers.values
    h = assign_holdout(ids, fraction=0.5, salt="bal", profiles=prof)
    assert h.balance is not None
    assert h.balance.max_abs_smd < 0.15
    assert "monetary" in h.summary()
    # a split on spend itself is badly imbalanced
    rich = prof.monetary > np.median(prof.monetary)
    bad = check_balance(prof, treated=ids[rich], control=ids[~rich], features=["monetary"])
    assert bad.smd[0] > 1.0
    assert not bad.is_balanced()


def test_balance_smd_known_answer() -> None:
    tx = synthetic_transactions(300, 40, random_state=2)
    prof = build_profiles(tx, as_of="2025-01-01")
    ids = tx.customers.values
    t, c = ids[:100], ids[100:]
    bal = check_balance(prof, treated=t, control=c, features=["frequency"])
    ft, fc = prof.frequency[:100], prof.frequency[100:]
    expect = (ft.mean() - fc.mean()) / np.sqrt((ft.var(ddof=1) + fc.var(ddof=1)) / 2)
    assert bal.smd[0] == pytest.approx(expect, rel=1e-12)


def test_quantile_bins() -> None:
    v = np.arange(100.0)
    b = quantile_bins(v, n_bins=10)
    assert np.bincount(b).tolist() == [10] * 10
    with pytest.raises(ValidationError, match="n_bins must be an int >= 1"):
        quantile_bins(v, n_bins=0)
    with pytest.raises(EmptyInputError, match="values is empty"):
        quantile_bins([], n_bins=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fraction": 0.0}, ValidationError, r"fraction must lie in \(0, 1\)"),
        ({"fraction": 1.5}, ValidationError, r"fraction must lie in \(0, 1\)"),
        ({"fraction": True}, ValidationError, "fraction must be a number"),
        ({"salt": ""}, ValidationError, "salt must be a non-empty str"),
        ({"strata": [1, 2]}, ValidationError, "strata has 2 labels for 4 customers"),
    ],
)
def test_assign_holdout_bad_input(kwargs: dict[str, object], error: type, message: str) -> None:
    args: dict[str, object] = {"fraction": 0.5, "salt": "s"}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        assign_holdout([1, 2, 3, 4], **args)  # type: ignore[arg-type]


def test_assign_holdout_bad_customers() -> None:
    with pytest.raises(EmptyInputError, match="customer_ids is empty"):
        assign_holdout([], fraction=0.5, salt="s")
    with pytest.raises(
        ValidationError, match=r"customer_ids holds 1 duplicate id\(s\), e.g. \[2\]"
    ):
        assign_holdout([1, 2, 2], fraction=0.5, salt="s")


def test_balance_unknown_customer() -> None:
    tx = synthetic_transactions(50, 10, random_state=0)
    prof = build_profiles(tx, as_of="2025-01-01")
    with pytest.raises(UnknownIdError, match=r"control: 1 customer\(s\) have no profile"):
        check_balance(prof, treated=tx.customers.values[:10], control=[10**9])


def test_matched_control_balances_the_matched_features() -> None:
    from onetoone.datasets import synthetic_transactions
    from onetoone.measurement import check_balance, matched_control
    from onetoone.profiles import build_profiles

    tx = synthetic_transactions(600, 80, random_state=4)
    p = build_profiles(tx, as_of="2025-01-01")
    ids = p.customers.values
    # target the big spenders more often: an unbalanced, observational treatment
    rank = np.argsort(np.argsort(p.monetary)) / len(ids)
    treated = ids[np.random.default_rng(0).random(len(ids)) < 0.2 + 0.6 * rank]
    raw = check_balance(
        p, treated=treated, control=np.setdiff1d(ids, treated), features=["monetary"]
    )
    t, c = matched_control(p, treated=treated, random_state=1)
    assert len(t) == len(c) > 50 and not np.intersect1d(t, c).size
    assert np.isin(t, treated).all() and not np.isin(c, treated).any()
    bal = check_balance(p, treated=t, control=c, features=["monetary", "frequency"])
    assert bal.max_abs_smd < 0.15 < abs(raw.smd[0])
    again = matched_control(p, treated=treated, random_state=1)
    assert np.array_equal(again[0], t) and np.array_equal(again[1], c)
    with pytest.raises(ValidationError, match="candidates and treated overlap"):
        matched_control(p, treated=treated, candidates=treated[:3])
    with pytest.raises(ValidationError, match="equal length"):
        matched_control(p, treated=treated, features=["monetary"], n_bins=[10, 5])
