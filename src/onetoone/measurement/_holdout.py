"""Deterministic randomised holdouts by salted hash, and covariate balance checks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import as_1d, as_float, as_id_column, readonly
from onetoone._deprecation import renamed_kwargs, warn_deprecated
from onetoone._random import RandomState, check_random_state
from onetoone.data import IdIndex
from onetoone.errors import EmptyInputError, UnknownIdError, ValidationError
from onetoone.profiles import FEATURES, Profiles

__all__ = [
    "Balance",
    "Holdout",
    "assign_holdout",
    "check_balance",
    "hash_unit",
    "matched_control",
    "quantile_bins",
]

_F64 = npt.NDArray[np.float64]
_TWO_POW_MINUS_53 = 2.0**-53


@renamed_kwargs(customers="customer_ids")
def hash_unit(customer_ids: Any, *, salt: str) -> _F64:
    """The salted-hash uniform number in ``[0, 1)`` of each customer id.

    ``u = (first 8 bytes of SHA-256(UTF-8(salt + ":" + id)) as a big-endian
    unsigned 64-bit integer >> 11) * 2**-53``, where ``id`` is the decimal
    form of an integer id (``"42"``, ``"-7"``, ``"18446744073709551615"``: uint64
    ids keep their exact value) or the string id itself. The
    top 53 bits make ``u`` an exact double, so every language that has
    SHA-256 and IEEE doubles gets the same number (see Notes of
    :func:`assign_holdout` for SQL and Java equivalents).

    Parameters
    ----------
    customer_ids : array-like of int or str
        External customer ids (the keyword ``customers=`` is deprecated).
    salt : str
        One salt per experiment: a new salt re-randomises every customer.

    Returns
    -------
    float64 array aligned with ``customer_ids``.

    Examples
    --------
    >>> hash_unit([42, 43], salt="spring-2024").round(6).tolist()
    [0.080098, 0.370641]
    >>> import hashlib
    >>> d = hashlib.sha256(b"spring-2024:42").digest()
    >>> u = hash_unit([42], salt="spring-2024")[0]
    >>> bool((int.from_bytes(d[:8], "big") >> 11) * 2**-53 == u)
    True
    """
    index, codes = _hash_unit_iv(customer_ids, salt)
    return _hash_unit_index(index, salt)[codes]


def _hash_unit_iv(customer_ids: Any, salt: Any) -> tuple[IdIndex, npt.NDArray[np.int32]]:
    if not isinstance(salt, str):
        raise ValidationError(f"salt must be a str, got {type(salt).__name__}", field="salt")
    try:
        salt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            "salt is not valid Unicode text (a lone surrogate?); the hash reads its UTF-8 "
            "bytes: pass a plain text salt",
            field="salt",
        ) from exc
    index, codes = IdIndex.factorize(
        as_id_column(customer_ids, "customer_ids"), name="customer_ids"
    )
    if index.kind == "str":
        try:
            "".join(index.values.tolist()).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                "customer_ids hold text that is not valid Unicode (a lone surrogate?); the "
                "hash reads each id's UTF-8 bytes: clean the ids first",
                field="customer_ids",
            ) from exc
    return index, codes


def _hash_unit_index(index: IdIndex, salt: str) -> _F64:
    """Hash the distinct ids of ``index`` (cost ~1 us per id, one SHA-256 each)."""
    prefix = hashlib.sha256(f"{salt}:".encode())

    def digest8(s: str) -> bytes:
        h = prefix.copy()
        h.update(s.encode("utf-8"))
        return h.digest()[:8]

    raw = b"".join([digest8(str(v)) for v in index.values.tolist()])
    u = np.frombuffer(raw, dtype=">u8").astype(np.uint64) >> np.uint64(11)
    return np.asarray(u.astype(np.float64) * _TWO_POW_MINUS_53, dtype=np.float64)


def quantile_bins(values: Any, *, n_bins: Any = 10) -> npt.NDArray[np.int32]:
    """Quantile bin (0 .. n_bins-1) of each value, e.g. spend deciles for strata.

    Bins are ``searchsorted`` on the interior quantiles (``side="right"``), so
    ties share a bin and a heavily tied variable may leave some bins empty.

    Examples
    --------
    >>> quantile_bins([5.0, 1.0, 3.0, 2.0, 4.0, 6.0], n_bins=3).tolist()
    [2, 0, 1, 0, 1, 2]
    """
    v, k = _quantile_bins_iv(values, n_bins)
    edges = np.quantile(v, np.arange(1, k) / k)
    return np.searchsorted(edges, v, side="right").astype(np.int32)


def _quantile_bins_iv(values: Any, n_bins: Any) -> tuple[_F64, int]:
    v = as_float(values, "values")
    if len(v) == 0:
        raise EmptyInputError("values is empty; pass at least one value", field="values")
    if not bool(np.all(np.isfinite(v))):
        raise ValidationError(
            "values holds NaN or infinite values; drop or fill them first", field="values"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValidationError(f"n_bins must be an int >= 1, got {n_bins!r}", field="n_bins")
    return v, int(n_bins)


def _count(name: str) -> Any:
    def check(inst: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValidationError(
                f"{type(inst).__name__}.{name} must be an int >= 0, got {value!r}", field=name
            )

    return check


def _names(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _float_array(value: Any) -> _F64:
    return readonly(np.asarray(value, dtype=np.float64))


@attrs.frozen(eq=False)
class Balance:
    """Standardised mean differences of profile features between two arms.

    Attributes
    ----------
    features : tuple of str
    mean_treated, mean_control : float arrays
        Feature means per arm (NaNs ignored: features undefined for a customer).
    smd : float array
        ``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` per feature (Austin
        2009); 0 when both arms are constant and equal.
    n_treated, n_control : int

    Examples
    --------
    >>> b = Balance(features=("monetary",), mean_treated=[10.0], mean_control=[9.0],
    ...             smd=[0.05], n_treated=100, n_control=100)
    >>> b.max_abs_smd, b.is_balanced()
    (0.05, True)
    """

    features: tuple[str, ...] = attrs.field(converter=_names)
    mean_treated: _F64 = attrs.field(converter=_float_array)
    mean_control: _F64 = attrs.field(converter=_float_array)
    smd: _F64 = attrs.field(converter=_float_array)
    n_treated: int = attrs.field(validator=_count("n_treated"))
    n_control: int = attrs.field(validator=_count("n_control"))

    def __attrs_post_init__(self) -> None:
        if not all(isinstance(f, str) for f in self.features):
            raise ValidationError("Balance.features must be str names", field="features")
        k = len(self.features)
        for name in ("mean_treated", "mean_control", "smd"):
            a = getattr(self, name)
            if a.shape != (k,):
                raise ValidationError(
                    f"Balance.{name} must hold one value per feature ({k}), got shape {a.shape}",
                    field=name,
                )

    @property
    def max_abs_smd(self) -> float:
        """Largest ``|smd|`` over the features (NaN-aware)."""
        finite = np.abs(self.smd[~np.isnan(self.smd)])
        return float(finite.max()) if len(finite) else float("nan")

    def is_balanced(self, threshold: float = 0.1) -> bool:
        """Every ``|smd| < threshold`` (0.1 is the usual rule of thumb)."""
        t: object = threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
            raise ValidationError(
                f"threshold must be a number > 0, got {threshold!r}", field="threshold"
            )
        return bool(self.max_abs_smd < threshold)

    def summary(self) -> str:
        """A text table of the features, arm means and SMD."""
        lines = [f"{'feature':<18}{'treated':>12}{'control':>12}{'smd':>8}"]
        for f, a, b, s in zip(
            self.features, self.mean_treated, self.mean_control, self.smd, strict=True
        ):
            lines.append(f"{f:<18}{a:>12.3f}{b:>12.3f}{s:>8.3f}")
        return "\n".join(lines)


def _arm_codes(profiles: Profiles, ids: Any, name: str) -> npt.NDArray[np.int32]:
    codes = profiles.customers.encode(ids, unknown="keep", field=name)
    if bool((codes < 0).any()):
        bad = np.asarray(ids)[codes < 0]
        raise UnknownIdError(
            f"{name}: {int((codes < 0).sum())} customer(s) have no profile, e.g. "
            f"{bad[:3].tolist()}; build the profiles from a log that contains every "
            "customer of both arms",
            field=name,
        )
    return codes


def check_balance(
    profiles: Profiles,
    *,
    treated: Any,
    control: Any,
    features: Sequence[str] = FEATURES,
) -> Balance:
    """Standardised mean differences of pre-period profile features between arms.

    Parameters
    ----------
    profiles : Profiles
        Pre-period profiles (built with ``as_of`` at or before the campaign start).
    treated, control : array-like of ids
    features : sequence of str
        Names from :data:`onetoone.profiles.FEATURES`.

    Returns
    -------
    Balance

    Examples
    --------
    >>> from onetoone.datasets import synthetic_transactions
    >>> from onetoone.profiles import build_profiles
    >>> tx = synthetic_transactions(400, 50, random_state=1)
    >>> prof = build_profiles(tx, as_of="2025-01-01")
    >>> h = assign_holdout(tx.customers.values, fraction=0.5, salt="x")
    >>> bal = check_balance(prof, treated=h.treated, control=h.control,
    ...                     features=["frequency", "monetary"])
    >>> bal.smd.round(3).tolist(), bal.is_balanced()
    ([0.012, -0.009], True)
    """
    feats, ct, cc = _check_balance_iv(profiles, treated, control, features)
    m = profiles.matrix(feats)
    mt, mc = m[ct], m[cc]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = _nanmean(mt)
        mean_c = _nanmean(mc)
        var_t = _nanvar(mt)
        var_c = _nanvar(mc)
        diff = mean_t - mean_c
        sd = np.sqrt((var_t + var_c) / 2.0)
        smd = np.where(sd > 0, diff / np.where(sd > 0, sd, 1.0), np.where(diff == 0, 0.0, np.inf))
    smd = np.where(np.isnan(diff) | np.isnan(sd), np.nan, smd)
    return Balance(
        features=feats,
        mean_treated=mean_t,
        mean_control=mean_c,
        smd=smd,
        n_treated=len(ct),
        n_control=len(cc),
    )


def _check_balance_iv(
    profiles: Any, treated: Any, control: Any, features: Any
) -> tuple[tuple[str, ...], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    _check_profiles(profiles, "check_balance")
    feats = _check_features(features)
    ct = _arm_codes(profiles, treated, "treated")
    cc = _arm_codes(profiles, control, "control")
    for name, c in (("treated", ct), ("control", cc)):
        if len(c) == 0:
            raise EmptyInputError(f"{name} is empty; each arm needs customers", field=name)
    return feats, ct, cc


def _check_features(features: Any) -> tuple[str, ...]:
    if isinstance(features, str) or not isinstance(features, Sequence):
        raise ValidationError(
            f"features must be a sequence of feature names, got {features!r}; e.g. "
            "features=['monetary', 'frequency']",
            field="features",
        )
    feats = tuple(features)
    bad = [f for f in feats if f not in FEATURES]
    if bad or not feats:
        raise ValidationError(
            f"features must name at least one of {list(FEATURES)}, got {list(feats)}",
            field="features",
        )
    return feats


def _nanmean(m: _F64) -> _F64:
    ok = ~np.isnan(m)
    n = ok.sum(axis=0)
    s = np.where(ok, m, 0.0).sum(axis=0)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _nanvar(m: _F64) -> _F64:
    ok = ~np.isnan(m)
    n = ok.sum(axis=0)
    mu = _nanmean(m)
    d = np.where(ok, m - mu, 0.0)
    return np.where(n > 1, (d * d).sum(axis=0) / np.maximum(n - 1, 1), np.nan)


@attrs.frozen(eq=False)
class Holdout:
    """A reproducible split of customers into a treated arm and a holdout (control).

    Built by :func:`assign_holdout`; it validates itself when built by hand.

    Attributes
    ----------
    customer_ids : array of int64, uint64 or str
        The external customer ids, in the order given (``Holdout.customers``
        is the deprecated name).
    in_holdout : bool array
        True for holdout (control) customers, who receive no offer.
    unit : float array
        Each customer's salted-hash number in ``[0, 1)`` (:func:`hash_unit`).
    fraction : float
        Requested holdout share, in (0, 1).
    salt : str
    stratum : int32 array or None
        Stratum code of each customer (index into ``strata_labels``).
    strata_labels : array or None
        The distinct strata labels, sorted.
    balance : Balance or None
        Pre-period balance of profile features (holdout is the control arm),
        when profiles were given.

    Examples
    --------
    >>> h = assign_holdout(["a", "b", "c", "d"], fraction=0.5, salt="demo")
    >>> h.customer_ids.tolist(), h.in_holdout.tolist()
    (['a', 'b', 'c', 'd'], [False, False, True, True])
    >>> h.treated.tolist(), h.control.tolist()
    (['a', 'b'], ['c', 'd'])
    """

    customer_ids: npt.NDArray[Any] = attrs.field(converter=readonly)
    in_holdout: npt.NDArray[np.bool_] = attrs.field(converter=readonly)
    unit: _F64 = attrs.field(converter=readonly)
    fraction: float
    salt: str
    stratum: npt.NDArray[np.int32] | None = None
    strata_labels: npt.NDArray[Any] | None = None
    balance: Balance | None = None

    def __attrs_post_init__(self) -> None:
        ids, n = self.customer_ids, len(self.customer_ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iuU":
            raise ValidationError(
                f"Holdout.customer_ids must be a 1-D array of int or str ids, got {ids.dtype} "
                f"with shape {ids.shape}; build the holdout with assign_holdout",
                field="customer_ids",
            )
        if self.in_holdout.dtype != np.bool_ or self.in_holdout.shape != (n,):
            raise ValidationError(
                f"Holdout.in_holdout must be a bool array of {n} entries, got "
                f"{self.in_holdout.dtype} {self.in_holdout.shape}",
                field="in_holdout",
            )
        u = self.unit
        if u.dtype.kind != "f" or u.shape != (n,) or not bool(np.all((u >= 0) & (u < 1))):
            raise ValidationError(
                f"Holdout.unit must be {n} floats in [0, 1) (hash_unit of the ids)",
                field="unit",
            )
        f: object = self.fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f < 1.0:
            raise ValidationError(
                f"Holdout.fraction must be a number in (0, 1), got {f!r}", field="fraction"
            )
        salt: object = self.salt
        if not isinstance(salt, str) or not salt:
            raise ValidationError("Holdout.salt must be a non-empty str", field="salt")
        if (self.stratum is None) != (self.strata_labels is None):
            raise ValidationError(
                "Holdout.stratum and strata_labels must be given together", field="stratum"
            )
        if self.stratum is not None and self.strata_labels is not None:
            st = np.asarray(self.stratum)
            k = len(self.strata_labels)
            ok = st.dtype.kind in "iu" and st.shape == (n,)
            if not ok or (n > 0 and not (st.min() >= 0 and st.max() < k)):
                raise ValidationError(
                    f"Holdout.stratum must hold {n} integer codes in 0..{k - 1}",
                    field="stratum",
                )
        if self.balance is not None and not isinstance(self.balance, Balance):
            raise ValidationError(
                f"Holdout.balance must be a Balance or None, got {type(self.balance).__name__}",
                field="balance",
            )

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def customers(self) -> npt.NDArray[Any]:
        """Deprecated: the external ids are :attr:`customer_ids`."""
        warn_deprecated("Holdout.customers is renamed: use Holdout.customer_ids")
        return self.customer_ids

    @property
    def treated(self) -> npt.NDArray[Any]:
        """Ids of the customers who receive offers."""
        out: npt.NDArray[Any] = self.customer_ids[~self.in_holdout]
        return out

    @property
    def control(self) -> npt.NDArray[Any]:
        """Ids of the holdout (control) customers."""
        out: npt.NDArray[Any] = self.customer_ids[self.in_holdout]
        return out

    @property
    def n_holdout(self) -> int:
        return int(self.in_holdout.sum())

    def summary(self) -> str:
        """Sizes per arm (and per stratum), and the balance table."""
        n = len(self)
        lines = [
            f"holdout {self.n_holdout:,} of {n:,} customers "
            f"({self.n_holdout / n:.2%}; requested {self.fraction:.2%}, salt {self.salt!r})"
        ]
        if self.stratum is not None and self.strata_labels is not None:
            tot = np.bincount(self.stratum, minlength=len(self.strata_labels))
            hold = np.bincount(
                self.stratum, weights=self.in_holdout, minlength=len(self.strata_labels)
            )
            for lab, t, h in zip(self.strata_labels.tolist(), tot, hold, strict=True):
                lines.append(f"  stratum {lab!s:<12} {int(h):>8,} of {int(t):>8,} held out")
        if self.balance is not None:
            lines.append(f"balance (max |SMD| = {self.balance.max_abs_smd:.3f}):")
            lines.append(self.balance.summary())
        return "\n".join(lines)


def _assign_holdout_iv(
    customer_ids: Any, fraction: Any, salt: Any, strata: Any, profiles: Any, features: Any
) -> tuple[IdIndex, npt.NDArray[np.int32], npt.NDArray[np.int32] | None, npt.NDArray[Any] | None]:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)):
        raise ValidationError(
            f"fraction must be a number in (0, 1), got {fraction!r}", field="fraction"
        )
    if not (0.0 < float(fraction) < 1.0):
        raise ValidationError(f"fraction must lie in (0, 1), got {fraction!r}", field="fraction")
    if not isinstance(salt, str) or not salt:
        raise ValidationError(
            "salt must be a non-empty str naming the experiment (e.g. 'spring-2024')",
            field="salt",
        )
    if profiles is not None:
        _check_profiles(profiles, "assign_holdout")
        _check_features(features)
    ids = as_id_column(customer_ids, "customer_ids")
    if len(ids) == 0:
        raise EmptyInputError("customer_ids is empty; pass the ids to split", field="customer_ids")
    index, codes = IdIndex.factorize_unique(ids, name="customer_ids", fix="pass each customer once")
    if strata is None:
        return index, codes, None, None
    s = as_1d(strata, "strata")
    if len(s) != len(codes):
        raise ValidationError(
            f"strata has {len(s)} labels for {len(codes)} customers; give one label per customer",
            field="strata",
        )
    try:
        labels, s_codes = np.unique(s, return_inverse=True)
    except TypeError as exc:
        raise ValidationError(
            "strata labels must be sortable values of one type (ints or strings)", field="strata"
        ) from exc
    return index, codes, s_codes.astype(np.int32).reshape(-1), labels


@renamed_kwargs(customers="customer_ids")
def assign_holdout(
    customer_ids: Any,
    *,
    fraction: float,
    salt: str,
    strata: Any = None,
    profiles: Profiles | None = None,
    features: Sequence[str] = FEATURES,
) -> Holdout:
    """Split customers into a treated arm and a holdout, reproducibly, by salted hash.

    Parameters
    ----------
    customer_ids : array-like of int or str
        Distinct external customer ids (the keyword ``customers=`` is deprecated).
    fraction : float
        Holdout share, in (0, 1).
    salt : str
        Experiment name; the same (customer, salt) always gives the same number,
        a different salt an independent split.
    strata : array-like, optional
        A label per customer (e.g. a spend decile from :func:`quantile_bins`);
        each stratum is then split in the requested fraction exactly (to the
        nearest customer).
    profiles : Profiles, optional
        Pre-period profiles; adds a :class:`Balance` check of ``features``.
    features : sequence of str
        Features for the balance check.

    Returns
    -------
    Holdout

    Raises
    ------
    ValidationError
        ``fraction`` outside (0, 1), an empty ``salt``, duplicate ids, strata
        of the wrong length.
    EmptyInputError
        No customers.

    Notes
    -----
    Each customer gets ``u = hash_unit(id, salt)``: SHA-256 of the UTF-8 bytes
    of ``f"{salt}:{id}"`` (integer ids in decimal), first 8 bytes read as a
    big-endian unsigned 64-bit integer, shifted right by 11 bits and times
    ``2**-53``. SHA-256 is chosen over a faster non-cryptographic hash because
    it is available, bit for bit, in every language and warehouse an
    assignment may have to be reproduced in, e.g. BigQuery
    ``SHA256(CONCAT(salt, ':', CAST(id AS STRING)))``, PostgreSQL
    ``sha256(convert_to(salt || ':' || id, 'UTF8'))``, Java
    ``MessageDigest.getInstance("SHA-256")``. Its cost is one digest per
    customer, about 1 us (1M customers in about 1 s on one core), paid once per
    experiment.

    *Without strata*, a customer is held out iff ``u < fraction``: the arm of a
    customer depends only on its id and the salt, so adding customers later
    never moves anyone. The holdout size is Binomial(n, fraction).

    *With strata*, customers of a stratum are ordered by ``(u, id)`` and the
    first ``floor(fraction * n_s + 0.5)`` are held out, so every stratum is
    split in the requested fraction to the nearest customer. The arm then also
    depends on who else is in the stratum: reproduce it from the same customer
    list.

    Examples
    --------
    >>> h = assign_holdout(range(10_000), fraction=0.1, salt="spring-2024")
    >>> round(h.n_holdout / len(h), 2)
    0.1
    >>> h2 = assign_holdout(range(10_000), fraction=0.1, salt="spring-2024")
    >>> bool((h.in_holdout == h2.in_holdout).all())
    True
    >>> strata = [i % 3 for i in range(1000)]
    >>> hs = assign_holdout(range(1000), fraction=0.2, salt="s", strata=strata)
    >>> [int(hs.in_holdout[hs.stratum == k].sum()) for k in range(3)]
    [67, 67, 67]
    """
    index, codes, s_codes, labels = _assign_holdout_iv(
        customer_ids, fraction, salt, strata, profiles, features
    )
    u = _hash_unit_index(index, salt)[codes]
    if s_codes is None:
        hold = u < float(fraction)
    else:
        # order by (stratum, u, id); hold out the first round(fraction * n_s) of each stratum
        order = np.lexsort((codes, u, s_codes))
        sizes = np.bincount(s_codes, minlength=len(labels) if labels is not None else 0)
        quota = np.floor(float(fraction) * sizes + 0.5).astype(np.int64)
        starts = np.cumsum(sizes) - sizes
        rank = np.arange(len(order)) - np.repeat(starts, sizes)
        hold = np.zeros(len(codes), dtype=bool)
        hold[order] = rank < np.repeat(quota, sizes)
    ids = index.values[codes]
    balance = None
    if profiles is not None:
        if not bool(hold.any()) or bool(hold.all()):
            raise ValidationError(
                "one arm is empty, so balance cannot be checked; use more customers or a "
                "fraction nearer 0.5",
                field="fraction",
            )
        balance = check_balance(profiles, treated=ids[~hold], control=ids[hold], features=features)
    return Holdout(
        customer_ids=ids,
        in_holdout=hold,
        unit=u,
        fraction=float(fraction),
        salt=salt,
        stratum=s_codes,
        strata_labels=labels,
        balance=balance,
    )


def matched_control(
    profiles: Profiles,
    *,
    treated: Any,
    candidates: Any = None,
    features: Sequence[str] = ("monetary", "frequency"),
    n_bins: Sequence[int] = (10, 5),
    random_state: RandomState = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Coarsened exact matching of a comparison group for an observational campaign.

    Customers are placed in cells by the quantile bins of each feature (by
    default pre-period spend deciles x visit-frequency quintiles); in every
    cell the same number of treated and candidate customers are kept, drawn at
    random (seeded). Check the result with :func:`check_balance`. This makes
    the arms comparable on the matched features only: it is no substitute for
    a randomised holdout.

    Parameters
    ----------
    profiles : Profiles
        Pre-period profiles (``as_of`` at the campaign start).
    treated : array of external ids
    candidates : array of external ids, optional
        Possible controls; default: every profiled customer with history who
        is not treated.
    features : sequence of str
        Profile features to match on (NaN goes to its own bin).
    n_bins : sequence of int
        Quantile bins per feature.
    random_state : int, Generator or None

    Returns
    -------
    (treated_kept, control_kept) : arrays of external ids, sorted, of equal length

    Examples
    --------
    >>> from onetoone import Transactions, build_profiles
    >>> tx = Transactions.from_arrays(customer=[1, 2, 3, 4], item=[0, 0, 0, 0],
    ...     timestamp=["2024-01-01"] * 4, value=[1.0, 1.1, 9.0, 9.5])
    >>> p = build_profiles(tx, as_of="2024-02-01")
    >>> t, c = matched_control(p, treated=[1, 3], features=["monetary"], n_bins=[2],
    ...                        random_state=0)
    >>> t.tolist(), c.tolist()
    ([1, 3], [2, 4])
    """
    feats, bins_per, is_t, is_c, rng = _matched_control_iv(
        profiles, treated, candidates, features, n_bins, random_state
    )
    cell = np.zeros(len(profiles), dtype=np.int64)
    for name, bins in zip(feats, bins_per, strict=True):  # a loop over features
        v = profiles.matrix([name])[:, 0]
        ok = np.isfinite(v)
        b = np.full(len(v), bins, dtype=np.int64)  # NaN: bin ``bins``
        if ok.any():
            b[ok] = quantile_bins(v[ok], n_bins=bins)
        cell = cell * (bins + 1) + b
    members = np.flatnonzero(is_t | is_c)
    arm = is_t[members].astype(np.int64)  # 1 treated, 0 candidate
    key = rng.random(len(members))
    order = np.lexsort((key, arm, cell[members]))
    m, a, c = members[order], arm[order], cell[members][order]
    grp = c * 2 + a
    start = np.r_[0, np.flatnonzero(grp[1:] != grp[:-1]) + 1]
    rank = np.arange(len(m)) - np.repeat(start, np.diff(np.r_[start, len(m)]))
    n_cells = int(cell.max()) + 1
    count_t = np.bincount(c[a == 1], minlength=n_cells)
    count_c = np.bincount(c[a == 0], minlength=n_cells)
    keep = rank < np.minimum(count_t, count_c)[c]
    ids = profiles.customers.values
    return np.sort(ids[m[keep & (a == 1)]]), np.sort(ids[m[keep & (a == 0)]])


def _matched_control_iv(
    profiles: Any,
    treated: Any,
    candidates: Any,
    features: Any,
    n_bins: Any,
    random_state: Any,
) -> tuple[tuple[str, ...], tuple[int, ...], npt.NDArray[np.bool_], npt.NDArray[np.bool_], Any]:
    _check_profiles(profiles, "matched_control")
    feats = _check_features(features)
    if isinstance(n_bins, (str, bytes)) or not isinstance(n_bins, Sequence):
        raise ValidationError(
            f"n_bins must be a sequence of ints, one per feature, got {n_bins!r}", field="n_bins"
        )
    if len(feats) != len(n_bins):
        raise ValidationError(
            f"features and n_bins must be of equal length, got {len(feats)} and {len(n_bins)}",
            field="n_bins",
        )
    for b in n_bins:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ValidationError(f"n_bins must hold ints >= 1, got {b!r}", field="n_bins")
    rng = check_random_state(random_state)
    t_codes = profiles.customers.encode(treated, field="treated")
    if len(t_codes) == 0:
        raise EmptyInputError("treated is empty", field="treated")
    is_t = np.zeros(len(profiles), dtype=bool)
    is_t[t_codes] = True
    if candidates is None:
        is_c = ~is_t & profiles.has_history
    else:
        is_c = np.zeros(len(profiles), dtype=bool)
        is_c[profiles.customers.encode(candidates, field="candidates")] = True
        if (is_c & is_t).any():
            raise ValidationError(
                "candidates and treated overlap; a customer is in one arm only", field="candidates"
            )
    return feats, tuple(int(b) for b in n_bins), is_t, is_c, rng


def _check_profiles(profiles: object, func: str) -> None:
    if not isinstance(profiles, Profiles):
        raise ValidationError(
            f"{func}: profiles must be a Profiles (from build_profiles), "
            f"got {type(profiles).__name__}",
            field="profiles",
        )
