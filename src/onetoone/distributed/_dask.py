"""Dask adapters: map the per-partition kernels over a cluster, reduce small figures."""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import pickle
import time
import uuid
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I64, readonly
from onetoone._checks import is_int
from onetoone._optional import import_optional
from onetoone.allocation import AllocationProblem, Budget
from onetoone.allocation import allocate as allocate_one
from onetoone.allocation._kernel import _room_in_group
from onetoone.allocation._search import PriceSearch
from onetoone.distributed._dual import DaskOracle, _s_step
from onetoone.distributed._kernels import (
    INGESTION_KEY,
    CandidateBlock,
    StepSummary,
    _budget_specs_iv,
    _caps_iv,
    _group_iv,
    _k_iv,
    _n_offers_iv,
    candidate_block,
    dual_step,
    profile_partition,
    score_partition,
)
from onetoone.distributed._store import (
    RUN_PREFIX,
    MaskFile,
    StoredBlock,
    load_mask,
    make_run_dir,
    mask_piece,
    pack_into,
    remove_run_dir,
    set_bits,
    store_block,
)
from onetoone.errors import MissingDependencyError, ValidationError

__all__ = [
    "DistributedAllocation",
    "DistributedProfiles",
    "allocate",
    "build_profiles",
    "check_partitioned",
    "partition_by_customer",
    "score_offers",
]

_B = npt.NDArray[np.bool_]
_U8 = npt.NDArray[np.uint8]
Progress = Callable[[str], None]


# ------------------------------------------------------------------------ plumbing
def _dask() -> tuple[Any, Any, Any]:
    """(dask, dask.dataframe, distributed), or an error naming the ``dask`` extra."""
    try:
        dask = importlib.import_module("dask")
        dd = importlib.import_module("dask.dataframe")
        distributed = importlib.import_module("distributed")
    except ImportError as exc:
        raise MissingDependencyError(
            "onetoone.distributed needs dask[dataframe] and distributed; install them with "
            "pip install 'onetoone[dask]'"
        ) from exc
    return dask, dd, distributed


def _client(client: Any) -> Any:
    _, _, distributed = _dask()
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise ValidationError(
                f"client must be a dask.distributed.Client, got {type(client).__name__}",
                field="client",
            )
        return client
    try:
        return distributed.get_client()
    except ValueError as exc:
        raise ValidationError(
            "no Dask client: pass client=Client(...) or start one first "
            "(dask.distributed.Client(LocalCluster()) on one machine)",
            field="client",
        ) from exc


def _frame(source: Any, columns: Sequence[str] | None, name: str) -> Any:
    """A Dask DataFrame from a Parquet path (file or directory) or a Dask DataFrame."""
    _, dd, _ = _dask()
    if isinstance(source, (str, os.PathLike)):
        try:
            frame = dd.read_parquet(os.fspath(source), columns=None)
        except (FileNotFoundError, OSError) as exc:
            raise ValidationError(
                f"{name}: cannot read Parquet from {os.fspath(source)!r}: {exc}", field=name
            ) from exc
    elif isinstance(source, dd.DataFrame):
        frame = source
    else:
        raise ValidationError(
            f"{name} must be a Parquet path or a dask DataFrame, got {type(source).__name__}",
            field=name,
        )
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"{name}: column(s) {missing} missing (it has {list(frame.columns)}); "
                "pass the right column names",
                field=name,
            )
    return frame


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def _wait(futures: list[Any], progress: Progress | None, what: str) -> None:
    """Report partitions as they finish (about every tenth), when asked."""
    if progress is None or not futures:
        return
    _, _, distributed = _dask()
    step = max(1, len(futures) // 10)
    for done, _ in enumerate(distributed.as_completed(futures), start=1):
        if done % step == 0 or done == len(futures):
            progress(f"{what}: {done}/{len(futures)} partitions done")


def partition_by_customer(
    frame: Any, *, customer: str = "customer", npartitions: int | None = None
) -> Any:
    """Shuffle a Dask DataFrame so every row of a customer is in one partition.

    Rows go to partition ``hash(customer id) mod npartitions``, with Dask's hash
    of a column (``pandas.util.hash_pandas_object``: SipHash with a fixed key), so
    the same id always lands in the same partition, on every worker and in every run.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame or str
        The log (or candidate pairs), or a Parquet path.
    customer : str
        The customer id column.
    npartitions : int, optional
        Partitions of the result (default: those of the input).

    Returns
    -------
    dask.dataframe.DataFrame

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1, 3], "x": [1, 2, 3, 4]}),
    ...                     npartitions=2)
    >>> out = partition_by_customer(df, npartitions=2)
    >>> check_partitioned(out, customer="customer")
    0
    """
    frame = _frame(frame, [customer], "frame")
    if npartitions is not None and (not is_int(npartitions) or npartitions < 1):
        raise ValidationError(
            f"npartitions must be an int >= 1, got {npartitions!r}", field="npartitions"
        )
    return frame.shuffle(on=customer, npartitions=npartitions or frame.npartitions)


def check_partitioned(frame: Any, *, customer: str = "customer") -> int:
    """Number of customers whose rows are split over several partitions (0 when none).

    The check costs one pass over the customer column: each partition's distinct
    ids are shuffled by hash, so an id seen in two partitions meets itself in one
    and is counted; memory per task is bounded by a partition's distinct ids.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    customer : str

    Returns
    -------
    int

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1, 3]}), npartitions=2,
    ...                     sort=False)
    >>> check_partitioned(df)
    1
    """
    frame = _frame(frame, [customer], "frame")
    ids = frame[[customer]].map_partitions(lambda d: d.drop_duplicates(), meta=frame[[customer]])
    dup = ids.shuffle(on=customer).map_partitions(
        lambda d: int(d[customer].duplicated().sum()), meta=("n", "i8")
    )
    counts = dup.compute()
    return int(np.sum(np.asarray(counts)))


def _read_file(path: str, columns: list[str]) -> Any:
    """One Parquet file as an Arrow table (the partition of a partitioned dataset)."""
    pq = import_optional("pyarrow.parquet", purpose="onetoone.distributed")
    return pq.read_table(path, columns=columns)


def _partitions(
    source: Any,
    columns: list[str],
    customer: str,
    partitioned: bool,
    npartitions: int | None,
    name: str,
) -> list[Any]:
    """Delayed partitions: Arrow tables (one per file) for a partitioned Parquet path,
    else the partitions of a Dask DataFrame, shuffled by customer unless ``partitioned``."""
    dask, _, _ = _dask()
    if partitioned and isinstance(source, (str, os.PathLike)):
        if npartitions is not None:
            raise ValidationError(
                "npartitions re-partitions the input: pass it only with partitioned=False",
                field="npartitions",
            )
        ds = import_optional("pyarrow.dataset", purpose="onetoone.distributed")
        try:
            dataset = ds.dataset(os.fspath(source), format="parquet")
        except (FileNotFoundError, OSError, ValueError) as exc:
            raise ValidationError(
                f"{name}: cannot read Parquet from {os.fspath(source)!r}: {exc}", field=name
            ) from exc
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise ValidationError(
                f"{name}: column(s) {missing} missing (it has {dataset.schema.names}); "
                "pass the right column names",
                field=name,
            )
        read = dask.delayed(_read_file, pure=True)
        return [read(f, dataset.schema.names) for f in sorted(dataset.files)]
    frame = _frame(source, columns, name)
    frame = _ensure_partitioned(frame, customer, partitioned, npartitions, name)
    return list(frame.to_delayed())


def _ensure_partitioned(
    frame: Any, customer: str, partitioned: bool, npartitions: int | None, what: str
) -> Any:
    if partitioned:
        if npartitions is not None:
            raise ValidationError(
                "npartitions re-partitions the input: pass it only with partitioned=False",
                field="npartitions",
            )
        return frame
    return partition_by_customer(frame, customer=customer, npartitions=npartitions)


def _raise_split(n_split: int, what: str) -> None:
    if n_split:
        raise ValidationError(
            f"{what}: partitioned=True but {n_split:,} customer(s) have rows in several "
            "partitions; pass partitioned=False to shuffle by customer (or write the "
            "Parquet dataset partitioned by a hash of the customer id)",
            field="partitioned",
        )


# ------------------------------------------------------------------------- profiles
@attrs.frozen(eq=False)
class DistributedProfiles:
    """Profiles computed on a Dask cluster, kept distributed.

    Attributes
    ----------
    frame : dask.dataframe.DataFrame
        One row per customer (columns of :meth:`onetoone.Profiles.to_dict`),
        partitioned by customer like the log, held in the workers' memory.
    n_customers : int
    n_input, n_kept : int
        Log rows read and kept by ingestion, over all partitions.
    dropped : dict of str to int
        Rows dropped per reason, over all partitions (nothing is lost silently).
    npartitions : int
    elapsed_s : float

    Examples
    --------
    >>> DistributedProfiles.__name__
    'DistributedProfiles'
    """

    frame: Any
    n_customers: int
    n_input: int
    n_kept: int
    dropped: Mapping[str, int]
    npartitions: int
    elapsed_s: float

    def to_arrow(self) -> Any:
        """Gather every profile into one ``pyarrow.Table``, sorted by customer id."""
        pa = import_optional("pyarrow", purpose="DistributedProfiles.to_arrow")
        pdf = self.frame.compute()
        table = pa.Table.from_pandas(pdf, preserve_index=False)
        return table.sort_by("customer")


def _profile_pandas(part: Any, kwargs: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    table = profile_partition(part, **kwargs)
    meta = json.loads(table.schema.metadata[INGESTION_KEY])
    return table.replace_schema_metadata(None).to_pandas(), meta


def build_profiles(
    source: Any,
    *,
    as_of: Any,
    since: Any = None,
    customer: str = "customer",
    ingest: Mapping[str, Any] | None = None,
    partitioned: bool = False,
    npartitions: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> DistributedProfiles:
    """Profiles of every customer of a partitioned log, computed on a Dask cluster.

    Each partition runs :func:`~onetoone.distributed.profile_partition` (the
    single-machine ``Transactions.from_arrow`` + ``build_profiles``), so the
    profiles equal the one-machine result on the same rows.

    Parameters
    ----------
    source : str, os.PathLike or dask.dataframe.DataFrame
        A (partitioned) Parquet dataset or a Dask DataFrame of transaction lines.
    as_of, since : time
        As in :func:`onetoone.build_profiles`.
    customer : str
        The customer id column.
    ingest : mapping, optional
        Further keyword arguments of :meth:`onetoone.Transactions.from_arrow`
        (``item=``, ``timestamp=``, ``value=``, ``basket=``, policies ...).
    partitioned : bool
        ``False`` (default): shuffle the rows by a stable hash of the customer id
        first (:func:`partition_by_customer`). ``True``: the input already holds
        each customer in one partition; this is checked on the profiles (one row
        per customer, so the check reads far less than the log) and a
        :class:`~onetoone.errors.ValidationError` names the split customers.
    npartitions : int, optional
        Partitions after the shuffle (default: the input's).
    client : dask.distributed.Client, optional
        Default: the current client.
    progress : callable, optional
        Called with a line of text at each stage.

    Returns
    -------
    DistributedProfiles

    Raises
    ------
    MissingDependencyError
        Dask is not installed (``pip install 'onetoone[dask]'``).
    ValidationError
        A missing column, a customer split over partitions under
        ``partitioned=True``, or a row refused by ingestion.

    Examples
    --------
    See ``docs/scale.md``; a tiny run:

    >>> import pandas as pd, dask.dataframe as dd
    >>> from dask.distributed import Client, LocalCluster
    >>> log = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1], "item": [5, 5, 6],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"], "value": [1.0, 2.0, 3.0]}),
    ...     npartitions=2)
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, \\
    ...         Client(cluster) as client:
    ...     prof = build_profiles(log, as_of="2024-02-01", client=client)
    ...     prof.to_arrow().column("monetary").to_pylist()
    [4.0, 2.0]
    """
    t0 = time.perf_counter()
    dask, dd, _ = _dask()
    cl = _client(client)
    parts = _partitions(source, [customer], customer, partitioned, npartitions, "source")
    kwargs = {"as_of": as_of, "since": since, "customer": customer, "ingest": dict(ingest or {})}
    _say(progress, f"profiles: {len(parts)} partitions")
    pairs = cl.compute([dask.delayed(_profile_pandas)(p, kwargs) for p in parts])
    _wait(pairs, progress, "profiles")
    frames = cl.map(lambda pm: pm[0], pairs)
    metas = cl.gather(cl.map(lambda pm: pm[1], pairs))
    lengths = cl.gather(cl.map(len, frames))
    del pairs
    out = dd.from_delayed(frames, verify_meta=False)
    n_input = sum(int(m["n_input"]) for m in metas)
    n_kept = sum(int(m["n_kept"]) for m in metas)
    dropped: dict[str, int] = {}
    for m in metas:
        for reason, n in m["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + int(n)
    if partitioned:
        _say(progress, "profiles: checking that no customer is split over partitions")
        _raise_split(check_partitioned(out, customer="customer"), "build_profiles")
    _say(progress, f"profiles: {sum(lengths):,} customers from {n_kept:,} of {n_input:,} rows")
    return DistributedProfiles(
        frame=out,
        n_customers=int(sum(lengths)),
        n_input=n_input,
        n_kept=n_kept,
        dropped=dropped,
        npartitions=len(parts),
        elapsed_s=time.perf_counter() - t0,
    )


# -------------------------------------------------------------------------- scoring
def _score_pandas(
    part: Any, model: Any, offers: Any, customer: str, top_k: int | None, options: Any
) -> Any:
    return score_partition(
        part, model, offers, customer=customer, top_k=top_k, options=options
    ).to_pandas()


def score_offers(
    customers: Any,
    model: Any,
    offers: Any,
    *,
    customer: str = "customer",
    top_k: int | None = None,
    options: Mapping[str, Any] | None = None,
    client: Any = None,
) -> Any:
    """Offer scores of every customer of a distributed frame, the model sent once.

    The model and the offers are scattered to every worker once
    (``client.scatter(..., broadcast=True)``); each partition then runs
    :func:`~onetoone.distributed.score_partition` (the single-machine
    :func:`onetoone.affinity.score_offers`), so every score equals the
    one-machine score.

    Parameters
    ----------
    customers : DistributedProfiles, dask.dataframe.DataFrame or str
        Anything with a customer id column, each customer in one partition (the
        profiles, or a log partitioned by customer): a customer found in several
        partitions is scored once in each.
    model : AffinityModel
    offers : Offers
    customer : str
        The customer id column.
    top_k : int, optional
        Keep each customer's ``top_k`` best offers.
    options : mapping, optional
        Further keyword arguments of ``score_offers``.
    client : dask.distributed.Client, optional

    Returns
    -------
    dask.dataframe.DataFrame
        Columns ``customer``, ``offer`` (ids) and ``score``, one row per pair,
        partitioned like ``customers`` (ready for :func:`allocate` once turned
        into value and cost columns).

    Examples
    --------
    See ``docs/scale.md``.

    >>> score_offers.__name__
    'score_offers'
    """
    dask, dd, _ = _dask()
    cl = _client(client)
    if isinstance(customers, DistributedProfiles):
        customers, customer = customers.frame, "customer"
    frame = _frame(customers, [customer], "customers")
    model_f, offers_f = cl.scatter([model, offers], broadcast=True, hash=False)
    parts = frame[[customer]].to_delayed()
    futs = cl.compute(
        [
            dask.delayed(_score_pandas)(p, model_f, offers_f, customer, top_k, dict(options or {}))
            for p in parts
        ]
    )
    return dd.from_delayed(futs, verify_meta=False)


# ------------------------------------------------------------------------ allocation
@attrs.frozen(eq=False)
class DistributedAllocation:
    """A plan computed on a Dask cluster, with its certificate.

    Attributes
    ----------
    pairs : dask.dataframe.DataFrame
        The chosen pairs: ``customer`` (id), ``offer`` (code), ``value``, and one
        column per budget with the pair's usage; kept distributed.
    objective : float
        Value of the plan (exact sums per partition).
    bound : float
        Proven upper bound on every plan's value (the best Lagrangian dual, raised
        by its rounding margin).
    gap : float
        ``(bound - objective) / bound``.
    lam : float64 array
        Budget prices; ``mu``: cap prices (per offer).
    budget_names : tuple of str
    budget_limit, budget_spend : float64 arrays
    offer_use : float64 array
        Cap usage of each offer by the plan.
    n_chosen : int
    n_ineligible : int
        Candidate pairs left out (value ``<= 0`` or alone over a limit).
    iterations : int
        Dual evaluations (each one map over the partitions and one reduce).
    sweeps : int
    bytes_per_partition_iteration : int
        Bytes sent to and from the scheduler by one partition in one dual
        evaluation: the prices in (``8 (n_budgets + n_offers)``), the figures out
        (``8 (3 + n_budgets + n_offers)``); pickled sizes, without Dask's framing.
    npartitions : int
    success : bool
        The gap is within ``tol``.
    status : int
        0 converged, 1 stopped at ``max_iter``.
    message : str
    elapsed_s : float
    storage : str
        ``"memory"`` or ``"disk"``: where the candidate blocks stayed.
    block_bytes : int
        Bytes of the laid-out candidate blocks over all partitions: in the
        workers' memory, or written to their disks (Arrow IPC).

    Examples
    --------
    >>> DistributedAllocation.__name__
    'DistributedAllocation'
    """

    pairs: Any
    objective: float
    bound: float
    gap: float
    lam: F64 = attrs.field(converter=readonly)
    mu: F64 = attrs.field(converter=readonly)
    budget_names: tuple[str, ...]
    budget_limit: F64 = attrs.field(converter=readonly)
    budget_spend: F64 = attrs.field(converter=readonly)
    offer_use: F64 = attrs.field(converter=readonly)
    n_chosen: int
    n_ineligible: int
    iterations: int
    sweeps: int
    bytes_per_partition_iteration: int
    npartitions: int
    success: bool
    status: int
    message: str
    elapsed_s: float
    storage: str = "memory"
    block_bytes: int = 0


def _row_of(block: CandidateBlock) -> I64:
    rows = np.empty(block.n_candidates, dtype=np.int64)
    for r0, r1, c0, c1, d in block.chunks:
        rows[c0:c1] = np.repeat(np.arange(r0, r1, dtype=np.int64), d)
    return rows


def _plan_figures(block: CandidateBlock, chosen: _B) -> tuple[float, F64, F64, int]:
    sel = np.flatnonzero(chosen)
    spend = np.array(
        [math.fsum(block.usage[b][sel].tolist()) for b in range(block.usage.shape[0])],
        dtype=np.float64,
    )
    use = np.bincount(block.offer[sel], weights=block.cap_usage[sel], minlength=block.n_offers)
    return math.fsum(block.value[sel].tolist()), spend, use.astype(np.float64), len(sel)


def _drop_list(
    block: CandidateBlock, chosen: _B, lam: F64, b: int, o: int, excess: float
) -> tuple[I64, F64, F64, F64, I64, F64, F64]:
    """Chosen pairs using budget ``b`` (or offer ``o``'s cap), worst first, covering ``excess``.

    Returns (index, score, usage of the resource, usage of every budget, offer,
    cap usage, value) of the few pairs that may have to go.
    """
    sel = np.flatnonzero(chosen)
    keep = block.value[sel] - lam @ block.usage[:, sel] if len(lam) else block.value[sel]
    if b >= 0:
        u = block.usage[b][sel]
        score = np.where(u > 0, keep / np.where(u > 0, u, 1.0), np.inf)
    else:
        u = np.where(block.offer[sel] == o, block.cap_usage[sel], 0.0)
        score = keep
    use = u > 0
    sel, u, score = sel[use], u[use], score[use]
    order = np.argsort(score, kind="stable")
    cum = np.cumsum(u[order])
    m = int(np.searchsorted(cum, excess, side="left")) + 1
    i = sel[order[:m]]
    return (
        i,
        score[order[:m]],
        u[order[:m]],
        block.usage[:, i],
        block.offer[i],
        block.cap_usage[i],
        block.value[i],
    )


def _cap_drop_lists(
    block: CandidateBlock, chosen: _B, lam: F64, offers: I64, excess: F64
) -> tuple[I64, F64, F64, F64, I64, F64, F64]:
    """:func:`_drop_list` for several over-used caps at once, concatenated."""
    lists = [
        _drop_list(block, chosen, lam, -1, o, e)
        for o, e in zip(offers.tolist(), excess.tolist(), strict=True)
    ]
    return (
        np.concatenate([x[0] for x in lists]),
        np.concatenate([x[1] for x in lists]),
        np.concatenate([x[2] for x in lists]),
        np.concatenate([x[3] for x in lists], axis=1),
        np.concatenate([x[4] for x in lists]),
        np.concatenate([x[5] for x in lists]),
        np.concatenate([x[6] for x in lists]),
    )


def _fill_list(
    block: CandidateBlock, chosen: _B, slack: F64, cap_slack: F64, weights: F64, max_items: int
) -> tuple[I64, F64, F64, F64, I64, F64, F64]:
    """Each customer with a free slot: its best unchosen pair that fits alone, by ratio.

    A pair fits when its customer has fewer than ``k`` chosen, fewer than
    ``group_max`` in its offer's group, and its usage is within every slack. One
    pair per customer, so accepting any of them keeps ``k`` and the groups.
    """
    rows = _row_of(block)
    cnt = np.bincount(rows[chosen], minlength=len(block.k))
    ok = ~chosen & (cnt[rows] < block.k[rows]) & (block.value > 0)
    ok &= block.cap_usage <= cap_slack[block.offer]
    for b in range(block.usage.shape[0]):
        ok &= block.usage[b] <= slack[b]
    idx = np.flatnonzero(ok)
    if block.group is not None and len(idx):  # at most group_max per group and customer
        sel = np.flatnonzero(chosen)
        g = block.group
        room = _room_in_group(
            rows[sel], g[block.offer[sel]], rows[idx], g[block.offer[idx]], block.group_max
        )
        idx = idx[room]
    load = weights @ block.usage[:, idx] if len(weights) else np.zeros(len(idx))
    score = block.value[idx] / np.maximum(load, 1e-300) if len(weights) else block.value[idx]
    # best per customer
    order = np.lexsort((-score, rows[idx]))
    idx, score = idx[order], score[order]
    first = np.r_[True, rows[idx][1:] != rows[idx][:-1]] if len(idx) else np.zeros(0, bool)
    idx, score = idx[first], score[first]
    top = np.argsort(-score, kind="stable")[:max_items]
    idx, score = idx[top], score[top]
    return (
        idx,
        score,
        np.zeros(len(idx)),
        block.usage[:, idx],
        block.offer[idx],
        block.cap_usage[idx],
        block.value[idx],
    )


def _set_mask(chosen: _U8 | MaskFile, add: I64, drop: I64) -> _U8 | MaskFile:
    """A new packed mask: ``drop`` cleared, then ``add`` set (on disk: a new file)."""
    out = np.array(load_mask(chosen, mmap=False))
    set_bits(out, drop, False)
    set_bits(out, add, True)
    if isinstance(chosen, MaskFile):
        path = os.path.join(os.path.dirname(chosen.path), uuid.uuid4().hex + ".mask.npy")
        np.save(path, out, allow_pickle=False)
        return MaskFile(path)
    return out


def _plan_pandas(block: CandidateBlock, chosen: _B, names: tuple[str, ...]) -> Any:
    pd = import_optional("pandas", purpose="onetoone.distributed.allocate")
    sel = np.flatnonzero(chosen)
    rows = _row_of(block)
    cols: dict[str, Any] = {
        "customer": block.customer_ids[rows[sel]],
        "offer": block.offer[sel],
        "value": block.value[sel],
    }
    for b, name in enumerate(names):
        cols[f"usage_{name}"] = block.usage[b][sel]
    return pd.DataFrame(cols)


def _allocate_iv(
    budgets: Any,
    n_offers: Any,
    k: Any,
    group: Any,
    group_max: Any,
    cap: Any,
    tol: Any,
    max_iter: Any,
) -> tuple[list[Budget], int | str, npt.NDArray[np.int32] | None, F64]:
    n_offers = _n_offers_iv(n_offers, "allocate")
    k_arg = _k_iv(k, n_offers, "allocate")
    grp = _group_iv(group, group_max, n_offers, "allocate")
    if isinstance(budgets, (str, bytes, Budget)) or not isinstance(budgets, Sequence):
        raise ValidationError(
            f"allocate: budgets must be a sequence of onetoone.allocation.Budget, got "
            f"{type(budgets).__name__}; pass budgets=[Budget(name, limit), ...]",
            field="budgets",
        )
    bl = list(budgets)
    for b in bl:
        if not isinstance(b, Budget):
            raise ValidationError(
                f"budgets must be onetoone.allocation.Budget objects, got {type(b).__name__}",
                field="budgets",
            )
        if b.usage is not None and not isinstance(b.usage, str):
            raise ValidationError(
                f"budget {b.name!r}: usage must be None (the cost column) or the name of a "
                "column of per-pair usage",
                field="budgets",
            )
        if b.limit < 0:
            raise ValidationError(f"budget {b.name!r}: limit must be >= 0", field="budgets")
    caps = _caps_iv(cap, n_offers, "allocate")
    if not (isinstance(tol, float) and 0 < tol < 1):
        raise ValidationError(f"tol must be a float in (0, 1), got {tol!r}", field="tol")
    if not is_int(max_iter) or max_iter < 1:
        raise ValidationError(f"max_iter must be an int >= 1, got {max_iter!r}", field="max_iter")
    return bl, k_arg, grp, caps


def allocate(
    candidates: Any,
    *,
    n_offers: int,
    budgets: Sequence[Budget] = (),
    customer: str = "customer",
    offer: str = "offer",
    value: str = "value",
    cost: str = "cost",
    k: int | str = 1,
    group: npt.ArrayLike | None = None,
    group_max: int = 1,
    cap: float | npt.ArrayLike | None = None,
    cap_usage: str | None = None,
    partitioned: bool = False,
    npartitions: int | None = None,
    tol: float = 1e-4,
    max_iter: int = 50,
    storage: Literal["memory", "disk"] = "memory",
    storage_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 1_048_576,
    client: Any = None,
    progress: Progress | None = None,
) -> DistributedAllocation:
    """The Lagrangian dual allocation on a Dask cluster, decomposed by customer.

    The candidate pairs are laid out once per partition
    (:func:`~onetoone.distributed.candidate_block`) and kept on the workers, in
    their memory or, with ``storage="disk"``, on their local disks, read back
    batch by batch at every step (out of core). Each dual evaluation sends
    the prices to every partition, runs :func:`~onetoone.distributed.dual_step`
    (each customer's best plan by the one-machine per-customer step,
    :func:`onetoone.allocation.customer_step`, with its ``k`` and the offer
    groups) and reduces only the per-budget spend, the per-offer cap usage and two
    sums to the client; the price search is the one-machine solver's own (line
    searches, a safeguarded cap step, box-step cutting planes) over that oracle.
    The plan is the customers' choices at the best prices, repaired (the worst
    pairs of an over-used budget or cap dropped) and greedily filled with what is
    left (within each customer's ``k`` and groups), both by gathering only the few
    pairs concerned.

    Parameters
    ----------
    candidates : str, os.PathLike or dask.dataframe.DataFrame
        One row per (customer, offer) candidate.
    n_offers : int
        Offer codes are ``0 .. n_offers - 1`` in column ``offer``.
    budgets : sequence of Budget
        ``Budget.usage`` is ``None`` (the ``cost`` column) or a column name;
        ``Budget.offers`` restricts a budget to some offer codes.
    customer, offer, value, cost : str
        Column names.
    k : int or str
        Most offers per customer: one int, or the name of a column holding each
        customer's own ``k`` (the same on all its rows; the one-machine
        ``AllocationProblem``'s per-customer ``k``).
    group : int array of shape (n_offers,), optional
        Group of each offer: a customer receives at most ``group_max`` offers of a
        group (as :class:`onetoone.allocation.AllocationProblem`'s ``group``).
    group_max : int
    cap : float or array of shape (n_offers,), optional
        Per-offer cap on the sum of ``cap_usage`` (default 1 per pair).
    cap_usage : str, optional
        Column of each pair's use of its offer's cap.
    partitioned, npartitions
        As in :func:`build_profiles` (the check runs on the candidates' customers).
    tol : float
        Stop when the relative gap to the bound is below ``tol``.
    max_iter : int
        Most sweeps over the prices.
    storage : {"memory", "disk"}
        Where each partition's laid-out candidates stay between the steps.
        ``"memory"`` (default): in the workers' memory, about ``26 + 8
        n_budgets`` bytes per pair. ``"disk"``: written once, as Arrow IPC
        files, to the worker's local disk, and read back one batch at a time
        by every dual evaluation, cap step and primal round (plans are bit
        masks in ``.npy`` files next to them), so a worker's memory stays about
        one partition while laying out and one batch afterwards, whatever the
        number of pairs. The files are removed when ``allocate`` returns or
        fails. The plan and bound are identical in both storages.
    storage_dir : str or os.PathLike, optional
        With ``storage="disk"``: the directory, on every worker's machine, under
        which each call writes (and then removes) its own subdirectory
        ``onetoone-alloc-<id>``; a relative path is taken from the client's
        working directory. Default: Dask's ``temporary-directory`` setting on
        each worker, else the system's temporary directory.
    batch_size : int
        Candidate pairs per batch (whole customers; a customer with more
        candidates is a batch alone): the unit each worker reads and steps
        through at a time, in both storages. Memory during the steps is about
        ``60 + 8 n_budgets`` bytes per pair of a batch (64 MiB for the default
        ``2 ** 20`` pairs and one budget).
    client : dask.distributed.Client, optional
    progress : callable, optional
        Called with a line of text at each stage and after each sweep.

    Returns
    -------
    DistributedAllocation
        Never over a budget or cap; at most ``k`` offers per customer and
        ``group_max`` per group.

    Raises
    ------
    MissingDependencyError
        Dask is not installed.
    ValidationError
        A bad argument, a missing column, a pair listed twice, a customer whose
        ``k`` column differs between its rows, a customer split over partitions
        under ``partitioned=True``, or (``storage="disk"``) a ``storage_dir`` a
        worker cannot create or write (every such worker named).
    OSError
        (``storage="disk"``) a worker's disk is full or fails while writing.

    Notes
    -----
    Communication per dual evaluation and partition is
    ``O(n_budgets + n_offers)`` numbers, whatever the number of customers; see
    ``docs/scale.md`` for the projection to 100 machines.

    With ``storage="disk"`` a partition's tasks run on the machine whose disk
    holds its files (Dask host restrictions); if that machine leaves the cluster
    during the call, its tasks wait for it (set Dask's
    ``distributed.scheduler.no-workers-timeout`` to make that an error), and
    ``allocate`` must be run again. ``pairs`` of the result is computed before
    the files are removed and held by the workers (spilled by Dask if need be).

    Examples
    --------
    See ``docs/scale.md``.

    >>> allocate.__name__
    'allocate'
    """
    t0 = time.perf_counter()
    _dask()
    bl, k_arg, grp, caps = _allocate_iv(budgets, n_offers, k, group, group_max, cap, tol, max_iter)
    specs = _budget_specs_iv(
        [
            (
                b.name,
                float(b.limit),
                cost if b.usage is None else b.usage,
                None if b.offers is None else np.asarray(b.offers).ravel(),
            )
            for b in bl
        ],
        n_offers,
        "allocate",
    )
    where = _storage_iv(storage, storage_dir, batch_size)
    cols = [customer, offer, value] + [cost if b.usage is None else b.usage for b in bl]
    if cap_usage is not None:
        cols.append(cap_usage)
    if isinstance(k_arg, str):
        cols.append(k_arg)
    kw: dict[str, Any] = {  # candidate_block's arguments
        "n_offers": n_offers,
        "budgets": specs,
        "customer": customer,
        "offer": offer,
        "value": value,
        "k": k_arg,
        "group": grp,
        "group_max": group_max,
        "cap": caps,
        "cap_usage": cap_usage,
    }
    args = (candidates, list(dict.fromkeys(cols)), kw, bl, partitioned, npartitions, tol, max_iter)
    cl = _client(client)
    if where is None:
        return _allocate(cl, *args, None, batch_size, progress, t0)
    run_id = uuid.uuid4().hex[:16]
    bad = {w: e for w, e in cl.run(make_run_dir, where, run_id).items() if e}
    if bad:
        cl.run(remove_run_dir, where, run_id)
        raise ValidationError(
            f"storage_dir: {len(bad)} worker(s) cannot write their storage directory: "
            + "; ".join(f"{w}: {e}" for w, e in sorted(bad.items()))
            + "; pass storage_dir= a directory every worker can create and write",
            field="storage_dir",
        )
    run = _RunClient(cl)
    try:
        res = _allocate(run, *args, (where, run_id), batch_size, progress, t0)
    except BaseException:
        # nothing more may start; a task still running fails on the missing directory.
        # The error that stopped the run is the one raised.
        with contextlib.suppress(Exception):
            cl.cancel(list(run.futures))
        with contextlib.suppress(Exception):
            cl.run(remove_run_dir, where, run_id)
        raise
    left = [w for w, gone in cl.run(remove_run_dir, where, run_id).items() if not gone]
    if left:
        warnings.warn(
            f"allocate: could not remove the storage directory {RUN_PREFIX}{run_id} on "
            f"{len(left)} worker(s) ({', '.join(sorted(left))}); delete it by hand",
            ResourceWarning,
            stacklevel=2,
        )
    return res


def _storage_iv(storage: Any, storage_dir: Any, batch_size: Any) -> str | None:
    """The storage directory to pass to the workers (``""``: their default), or None
    for memory."""
    if storage not in ("memory", "disk"):
        raise ValidationError(
            f"storage must be 'memory' or 'disk', got {storage!r}", field="storage"
        )
    if not is_int(batch_size) or batch_size < 1:
        raise ValidationError(
            f"batch_size must be an int >= 1 (candidate pairs per batch), got {batch_size!r}",
            field="batch_size",
        )
    if storage == "memory":
        if storage_dir is not None:
            raise ValidationError(
                "storage_dir is where storage='disk' writes the candidate blocks; pass "
                "storage='disk' with it, or leave it out",
                field="storage_dir",
            )
        return None
    if storage_dir is None:
        return ""
    if not isinstance(storage_dir, (str, os.PathLike)) or not os.fspath(storage_dir):
        raise ValidationError(
            f"storage_dir must be a directory path (str or os.PathLike), got {storage_dir!r}",
            field="storage_dir",
        )
    return os.path.abspath(os.fspath(storage_dir))


def _allocate(
    cl: Any,
    candidates: Any,
    cols: list[str],
    kw: dict[str, Any],
    bl: list[Budget],
    partitioned: bool,
    npartitions: int | None,
    tol: float,
    max_iter: int,
    disk: tuple[str, str] | None,
    batch_size: int,
    progress: Progress | None,
    t0: float,
) -> DistributedAllocation:
    """The body of :func:`allocate`: ``cols`` the columns read, ``kw`` the arguments of
    :func:`candidate_block` (checked), ``disk`` the storage directory and run id."""
    dask, dd, distributed = _dask()
    customer: str = kw["customer"]
    n_offers: int = kw["n_offers"]
    caps: F64 = kw["cap"]
    parts = _partitions(candidates, cols, customer, partitioned, npartitions, "candidates")
    names = tuple(b.name for b in bl)
    limits = np.array([float(b.limit) for b in bl], dtype=np.float64)
    store_dir, run_id = (disk[0] or None, disk[1]) if disk is not None else (None, None)
    lay_out = dask.delayed(_lay_out, pure=False)
    blocks = cl.compute([lay_out(p, kw, batch_size, store_dir, run_id) for p in parts])
    _wait(blocks, progress, "allocate: candidate blocks")
    if disk is not None:  # each partition's steps run on the host holding its files
        cl.pin(blocks, cl.gather(cl.map(_s_host, blocks)))
    if partitioned:
        ids = dd.from_delayed(
            cl.map(lambda bk: _s_ids_frame(bk, customer), blocks), verify_meta=False
        )
        _raise_split(check_partitioned(ids, customer=customer), "allocate")
        del ids  # the customer ids: not needed any more
    stats = cl.gather(cl.map(_s_block_stats, blocks))
    n_cand = sum(s[0] for s in stats)
    n_inel = sum(s[1] for s in stats)
    nb = len(bl)
    top_b = np.max([s[2] for s in stats], axis=0) if nb else np.zeros(0)
    top_c = np.max([s[3] for s in stats], axis=0)
    tot_b = np.sum([s[4] for s in stats], axis=0) if nb else np.zeros(0)
    tot_c = np.sum([s[5] for s in stats], axis=0)
    block_bytes = int(sum(s[-1] for s in stats))  # in memory or on disk
    _say(
        progress,
        f"allocate: {n_cand:,} candidate pairs in {len(parts)} partitions, "
        f"{block_bytes / 2**20:,.1f} MiB "
        + ("on the workers' disks" if disk is not None else "in the workers' memory")
        + f" (batches of up to {batch_size:,} pairs)",
    )

    budgets_bind = np.flatnonzero(np.isfinite(limits) & (tot_b > limits)).astype(np.int64)
    capped = np.flatnonzero(np.isfinite(caps) & (tot_c > caps)).astype(np.int64)
    # the box step's first box, as one machine sizes it: a thousandth of the mean value
    mean_value = math.fsum(s[7] for s in stats) / n_cand if n_cand else 0.0
    search = PriceSearch(
        oracle=DaskOracle(
            client=cl, blocks=blocks, caps=caps, top_b=top_b, top_c=top_c, disk=disk is not None
        ),
        limits=limits,
        caps=caps,
        budgets=budgets_bind,
        capped=capped,
        box_scale=1e-3 * mean_value if n_cand else 1.0,
        lam=np.zeros(nb),
        mu=np.zeros(n_offers),
    )
    n_rows = sum(s[6] for s in stats)
    warm = _warm_start(
        cl, blocks, n_rows, limits, caps, n_offers, tol, max_iter,
        group=kw["group"], group_max=kw["group_max"],
    )  # fmt: skip
    if warm is not None:
        search.lam[budgets_bind] = warm[0][budgets_bind]
        search.mu[capped] = warm[1][capped]
        _say(progress, f"allocate: prices from a sample of {warm[2]:,} customers")
    best: tuple[float, list[Any]] | None = None
    sweeps, status = 0, 1
    box_mode = False
    prev = np.inf
    for sweeps in range(1, max_iter + 1):
        certified = search.step(box_mode, tol)
        assert search.best_lam is not None and search.best_mu is not None
        obj, masks = _primal(cl, blocks, search.best_lam, search.best_mu, limits, caps, nb)
        if best is None or obj >= best[0]:
            best = (obj, masks)
        gap = (search.bound - best[0]) / max(abs(search.bound), 1e-300)
        _say(
            progress,
            f"allocate: sweep {sweeps}: bound {search.bound:.6g}, plan {best[0]:.6g}, "
            f"gap {gap:.2e}, {search.evals} evaluations",
        )
        if gap <= tol or search.bound <= 0.0 or search.dim == 0:
            status = 0
            break
        if certified:  # the prices are optimal: more sweeps cannot lower the bound
            break
        small = prev - search.bound <= 0.02 * tol * max(abs(search.bound), 1e-300)
        if box_mode and small:
            break
        box_mode = box_mode or small
        prev = search.bound
    assert best is not None and search.best_lam is not None and search.best_mu is not None
    lam, mu = search.best_lam, search.best_mu
    if status != 0 and nb:
        # polish, as one machine: near the optimal prices the plan changes in jumps;
        # nearby prices can give a better plan after repair and fill
        for f in (0.99, 0.995, 0.999, 1.001, 1.005, 1.01):
            obj, masks = _primal(cl, blocks, lam * f, mu, limits, caps, nb)
            if obj > best[0]:
                best = (obj, masks)
    # the reported bound: the best prices evaluated with exact sums, plus a margin
    exact = cl.gather(cl.map(_s_step, blocks, lam=lam, mu=mu, exact=True, pure=False))
    fb, fc = budgets_bind, capped
    lagr = math.fsum(s.lagr for s in exact)
    mag = float(sum(s.magnitude for s in exact))
    val = math.fsum([lagr, *(lam[fb] * limits[fb]).tolist(), *(mu[fc] * caps[fc]).tolist()])
    mag += float(np.abs(lam[fb] * limits[fb]).sum() + np.abs(mu[fc] * caps[fc]).sum())
    margin = (16.0 + math.log2(n_cand + 2)) * np.finfo(np.float64).eps * mag
    bound = math.nextafter(val + margin * (1.0 + 1e-6), math.inf)
    masks = best[1]
    figs = cl.gather(cl.map(_s_plan_figures, blocks, masks))
    objective = math.fsum(f[0] for f in figs)
    spend = np.array([math.fsum(float(f[1][b]) for f in figs) for b in range(nb)], dtype=np.float64)
    use = np.sum([f[2] for f in figs], axis=0)
    gap = (bound - objective) / max(abs(bound), 1e-300)
    success = gap <= tol
    pair_parts = cl.map(_s_plan_pandas, blocks, masks, names=names)
    if disk is not None:  # computed before the files go
        distributed.wait(pair_parts)
    pairs = dd.from_delayed(pair_parts, verify_meta=False)
    probe = StepSummary(0.0, 0.0, np.zeros(nb), np.zeros(n_offers), 0.0)
    per_iter = len(pickle.dumps(probe, protocol=5)) + len(
        pickle.dumps((np.zeros(nb), np.zeros(n_offers)), protocol=5)
    )
    return DistributedAllocation(
        pairs=pairs,
        objective=objective,
        bound=bound,
        gap=gap,
        lam=lam,
        mu=mu,
        budget_names=names,
        budget_limit=limits,
        budget_spend=spend,
        offer_use=use,
        n_chosen=int(sum(f[3] for f in figs)),
        n_ineligible=n_inel,
        iterations=search.evals,
        sweeps=sweeps,
        bytes_per_partition_iteration=per_iter,
        npartitions=len(parts),
        success=bool(success),
        status=0 if success else 1,
        message=(
            f"gap {gap:.2e} <= tol {tol:g}" if success else f"gap {gap:.2e} above tol {tol:g}"
        ),
        elapsed_s=time.perf_counter() - t0,
        storage="memory" if disk is None else "disk",
        block_bytes=block_bytes,
    )


#: Customers in the sample whose one-machine prices start the search (as one machine).
_SAMPLE_ROWS = 20_000


def _sample_rows(
    block: CandidateBlock, step: int, row0: int = 0
) -> tuple[I64, I64, F64, F64, F64, I64]:
    """Every ``step``-th customer of the block: (row, offer, value, usage, cap use, k).

    ``row0``: the block's first row in its partition (a piece of a stored block).
    """
    rows = _row_of(block) + row0
    keep = rows % step == 0
    r = rows[keep]
    return (
        r,
        block.offer[keep],
        block.value[keep],
        block.usage[:, keep],
        block.cap_usage[keep],
        block.k[(-row0) % step :: step].copy(),
    )


def _warm_start(
    cl: Any,
    blocks: list[Any],
    n_rows: int,
    limits: F64,
    caps: F64,
    n_offers: int,
    tol: float,
    max_iter: int,
    *,
    group: npt.NDArray[np.int32] | None = None,
    group_max: int = 1,
) -> tuple[F64, F64, int] | None:
    """Prices from the one-machine dual on a systematic sample of customers.

    As :func:`onetoone.allocation.allocate` does for a large problem: every
    ``step``-th customer of each partition (about ``_SAMPLE_ROWS`` in all) is
    gathered (one round trip), the limits and caps scaled by the sample's share,
    and solved on the client; its prices start the distributed search. Only a
    start: the bound and the plan come from the full data.
    """
    if n_rows <= 4 * _SAMPLE_ROWS:
        return None
    step = max(1, n_rows // _SAMPLE_ROWS)
    parts = cl.gather(cl.map(_s_sample_rows, blocks, step=step, pure=False))
    offsets = np.cumsum([0] + [len(x[5]) for x in parts])
    cust = np.concatenate([x[0] // step + offsets[i] for i, x in enumerate(parts)])
    off = np.concatenate([x[1] for x in parts])
    val = np.concatenate([x[2] for x in parts])
    usage = np.concatenate([x[3] for x in parts], axis=1)
    w = np.concatenate([x[4] for x in parts])
    k = np.concatenate([x[5] for x in parts])
    n_sample = int(offsets[-1])
    frac = n_sample / n_rows
    budgets = [Budget(f"b{b}", float(limits[b] * frac), usage=usage[b]) for b in range(len(limits))]
    problem = AllocationProblem.from_candidates(
        cust,
        off,
        val,
        usage[0] if len(limits) else np.zeros(len(val)),
        n_customers=n_sample,
        n_offers=n_offers,
        budgets=budgets,
        k=k,
        group=group,
        group_max=group_max,
        cap=caps * frac,
        cap_usage=w,
    )
    one = allocate_one(problem, "dual", tol=tol, max_iter=max_iter)
    return (
        np.asarray(one.budget_price, dtype=np.float64),
        np.asarray(one.cap_price, dtype=np.float64),
        n_sample,
    )


def _ids_frame(block: CandidateBlock, customer: str) -> Any:
    pd = import_optional("pandas", purpose="onetoone.distributed.allocate")
    return pd.DataFrame({customer: block.customer_ids})


def _block_stats(block: CandidateBlock) -> tuple[int, int, F64, F64, F64, F64, int, float]:
    tot_c = np.bincount(block.offer, weights=block.cap_usage, minlength=block.n_offers)
    return (
        block.n_candidates,
        block.n_ineligible,
        block.max_ratio,
        block.max_cap_ratio,
        block.usage.sum(axis=1),
        tot_c.astype(np.float64),
        len(block.k),
        math.fsum(block.value.tolist()),
    )


def _primal(
    cl: Any, blocks: list[Any], lam: F64, mu: F64, limits: F64, caps: F64, nb: int
) -> tuple[float, list[Any]]:
    """The plan at prices (lam, mu): repaired to fit, then filled. Masks stay on workers.

    One gather gives the plan's figures; afterwards the client tracks spend, cap
    use and value from the few pairs it drops or adds, so each repair or fill
    round is one more gather of a short list per partition.
    """
    masks = cl.map(_s_choose, blocks, lam=lam, mu=mu, pure=False)
    figs = cl.gather(cl.map(_s_plan_figures, blocks, masks))
    total = math.fsum(f[0] for f in figs)
    spend = np.sum([f[1] for f in figs], axis=0) if nb else np.zeros(0)
    use = np.sum([f[2] for f in figs], axis=0)
    # repair: drop the worst pairs of each over-used cap, then budget (the one-machine
    # order: dropping for a cap frees budget)
    over_c = np.flatnonzero(use > caps).astype(np.int64)
    if len(over_c):
        # the caps at once (each pair uses one offer's cap): one round trip for all
        exc = (use - caps)[over_c]
        lists = cl.gather(
            cl.map(_s_cap_drop_lists, blocks, masks, lam=lam, offers=over_c, excess=exc)
        )
        part, idx, score, u, usage, offs, w, val = _merge(lists)
        drops = []
        for o, e in zip(over_c.tolist(), exc.tolist(), strict=True):  # offers, not customers
            mine = np.flatnonzero(offs == o)
            order = mine[np.argsort(score[mine], kind="stable")]
            m = int(np.searchsorted(np.cumsum(u[order]), e, side="left")) + 1
            drops.append(order[:m])
        drop = np.concatenate(drops)
        spend = spend - usage[:, drop].sum(axis=1)
        use = use - np.bincount(offs[drop], weights=w[drop], minlength=len(use))
        total -= float(val[drop].sum())
        masks = _apply(cl, masks, part[drop], idx[drop], drop=True)
    for b in range(nb):
        excess = float(spend[b] - limits[b])
        if excess <= 0:
            continue
        lists = cl.gather(cl.map(_s_drop_list, blocks, masks, lam=lam, b=b, o=-1, excess=excess))
        part, idx, score, u, usage, offs, w, val = _merge(lists)
        order = np.argsort(score, kind="stable")
        m = int(np.searchsorted(np.cumsum(u[order]), excess, side="left")) + 1
        drop = order[:m]
        spend = spend - usage[:, drop].sum(axis=1)
        use = use - np.bincount(offs[drop], weights=w[drop], minlength=len(use))
        total -= float(val[drop].sum())
        masks = _apply(cl, masks, part[drop], idx[drop], drop=True)
    # fill: rounds of each customer's best remaining pair, accepted in ratio order
    finite = np.isfinite(limits) & (limits > 0)
    weights = np.where(finite, 1.0 / np.where(finite, limits, 1.0), 0.0)
    for _ in range(8):
        slack = limits - spend
        cap_slack = caps - use
        lists = cl.gather(
            cl.map(
                _s_fill_list,
                blocks,
                masks,
                slack=slack,
                cap_slack=cap_slack,
                weights=weights,
                max_items=4096,
            )
        )
        part, idx, score, _, usage, offs, w, val = _merge(lists)
        if not len(part):
            break
        order = np.argsort(-score, kind="stable")
        acc: list[int] = []
        for j in order.tolist():  # few: bounded by the slack, not by the customers
            if bool(np.all(usage[:, j] <= slack)) and w[j] <= cap_slack[offs[j]]:
                acc.append(j)
                slack = slack - usage[:, j]
                cap_slack[offs[j]] -= w[j]
        if not acc:
            break
        a = np.array(acc, dtype=np.int64)
        spend = spend + usage[:, a].sum(axis=1)
        use = use + np.bincount(offs[a], weights=w[a], minlength=len(use))
        total += float(val[a].sum())
        masks = _apply(cl, masks, part[a], idx[a], drop=False)
    return total, masks


def _merge(
    lists: list[tuple[I64, F64, F64, F64, I64, F64, F64]],
) -> tuple[I64, I64, F64, F64, F64, I64, F64, F64]:
    """Concatenate the partitions' short lists, with the partition of each entry."""
    part = np.concatenate([np.full(len(x[0]), i, dtype=np.int64) for i, x in enumerate(lists)])
    idx = np.concatenate([x[0] for x in lists])
    score = np.concatenate([x[1] for x in lists])
    u = np.concatenate([x[2] for x in lists])
    usage = np.concatenate([x[3] for x in lists], axis=1)
    offs = np.concatenate([x[4] for x in lists])
    w = np.concatenate([x[5] for x in lists])
    val = np.concatenate([x[6] for x in lists])
    return part, idx, score, u, usage, offs, w, val


def _apply(cl: Any, masks: list[Any], part: I64, idx: I64, *, drop: bool) -> list[Any]:
    out = list(masks)
    empty = np.empty(0, dtype=np.int64)
    for p in np.unique(part).tolist():
        sel = idx[part == p]
        out[p] = cl.submit(
            _set_mask, masks[p], empty if drop else sel, sel if drop else empty, pure=False
        )
    return out


# ------------------------------------------------------------- stored candidate blocks
# Every per-partition step of the allocation runs over the pieces of a StoredBlock
# (memory or disk: the same pieces, the same arithmetic, so the same answers); the
# per-block functions above do the work on each piece, and these combine the pieces
# in order (the dual evaluation's and the cap step's, used by the price search's
# oracle, are in _dual.py). A plan is a packed bit mask (an array, or a .npy file on
# disk).
def _lay_out(
    part: Any,
    kw: Mapping[str, Any],
    batch_size: int,
    storage_dir: str | None,
    run_id: str | None,
) -> StoredBlock:
    """One partition's candidates laid out (:func:`candidate_block`) and stored."""
    _register_sizeof()
    block = candidate_block(part, **kw)
    del part
    host = None
    if run_id is not None:
        _, _, distributed = _dask()
        host = distributed.comm.get_address_host(distributed.get_worker().address)
    return store_block(
        block,
        batch_size,
        storage_dir=storage_dir,
        run_id=run_id,
        host=host,
        stats=(*_block_stats(block), block.nbytes()),
    )


def _register_sizeof() -> None:
    """Tell Dask's memory accounting what a stored block holds in memory (its arrays
    in memory, a few numbers per batch on disk), so that it spills and pauses on true
    figures."""
    dask, _, _ = _dask()
    dask.sizeof.sizeof.register(StoredBlock, _stored_sizeof)


def _stored_sizeof(store: StoredBlock) -> int:
    if not store.on_disk:
        return 1000 + 200 * len(store.pieces) + store.nbytes
    # on disk: the piece bounds and the offers' groups only
    return 1000 + 200 * len(store.pieces) + (0 if store.group is None else store.group.nbytes)


def _s_host(store: StoredBlock) -> str | None:
    return store.host


def _s_block_stats(store: StoredBlock) -> Any:
    """:func:`_block_stats` of the whole block (computed before it was cut), then the
    bytes it takes in memory and in the storage (the same in memory)."""
    return (*store.stats, store.nbytes)


def _s_ids_frame(store: StoredBlock, customer: str) -> Any:
    pd = import_optional("pandas", purpose="onetoone.distributed.allocate")
    frames = [_ids_frame(b, customer) for _, b in store.blocks(ids=True)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({customer: []})


def _s_choose(store: StoredBlock, lam: F64, mu: F64) -> _U8 | MaskFile:
    """The customers' choices at prices (lam, mu), as a packed mask."""
    packed = store.empty_mask()
    for piece, b in store.blocks():
        chosen = dual_step(b, lam, mu, want_chosen=True).chosen
        assert chosen is not None
        pack_into(packed, piece.c0, chosen)
    return store.save_mask(packed)


def _s_plan_figures(store: StoredBlock, mask: _U8 | MaskFile) -> tuple[float, F64, F64, int]:
    packed = load_mask(mask)
    figs = [_plan_figures(b, mask_piece(packed, p)) for p, b in store.blocks()]
    nb = store.n_budgets
    if not figs:
        return 0.0, np.zeros(nb), np.zeros(store.n_offers), 0
    return (
        math.fsum(f[0] for f in figs),
        np.array([math.fsum(float(f[1][b]) for f in figs) for b in range(nb)]),
        np.sum([f[2] for f in figs], axis=0),
        sum(f[3] for f in figs),
    )


_List = tuple[I64, F64, F64, F64, I64, F64, F64]


def _concat_lists(store: StoredBlock, lists: list[tuple[int, _List]]) -> _List:
    """The pieces' short lists end to end, indexes made relative to the partition."""
    if not lists:
        e = np.zeros(0)
        return (
            np.zeros(0, np.int64), e, e, np.zeros((store.n_budgets, 0)), np.zeros(0, np.int64),
            e, e,
        )  # fmt: skip
    return (
        np.concatenate([x[0] + c0 for c0, x in lists]),
        np.concatenate([x[1] for _, x in lists]),
        np.concatenate([x[2] for _, x in lists]),
        np.concatenate([x[3] for _, x in lists], axis=1),
        np.concatenate([x[4] for _, x in lists]),
        np.concatenate([x[5] for _, x in lists]),
        np.concatenate([x[6] for _, x in lists]),
    )


def _s_drop_list(
    store: StoredBlock, mask: _U8 | MaskFile, lam: F64, b: int, o: int, excess: float
) -> _List:
    """:func:`_drop_list` per piece (each covers ``excess``: the union holds the
    partition's worst pairs covering it)."""
    packed = load_mask(mask)
    return _concat_lists(
        store,
        [(p.c0, _drop_list(bk, mask_piece(packed, p), lam, b, o, excess)) for p, bk in
         store.blocks()],
    )  # fmt: skip


def _s_cap_drop_lists(
    store: StoredBlock, mask: _U8 | MaskFile, lam: F64, offers: I64, excess: F64
) -> _List:
    packed = load_mask(mask)
    return _concat_lists(
        store,
        [(p.c0, _cap_drop_lists(bk, mask_piece(packed, p), lam, offers, excess)) for p, bk in
         store.blocks()],
    )  # fmt: skip


def _s_fill_list(
    store: StoredBlock,
    mask: _U8 | MaskFile,
    slack: F64,
    cap_slack: F64,
    weights: F64,
    max_items: int,
) -> _List:
    """:func:`_fill_list` per piece, then the partition's ``max_items`` best."""
    packed = load_mask(mask)
    out = _concat_lists(
        store,
        [
            (p.c0, _fill_list(bk, mask_piece(packed, p), slack, cap_slack, weights, max_items))
            for p, bk in store.blocks()
        ],
    )
    top = np.argsort(-out[1], kind="stable")[:max_items]
    return (
        out[0][top], out[1][top], out[2][top], out[3][:, top], out[4][top], out[5][top],
        out[6][top],
    )  # fmt: skip


def _s_plan_pandas(store: StoredBlock, mask: _U8 | MaskFile, names: tuple[str, ...]) -> Any:
    pd = import_optional("pandas", purpose="onetoone.distributed.allocate")
    packed = load_mask(mask)
    frames = [_plan_pandas(b, mask_piece(packed, p), names) for p, b in store.blocks(ids=True)]
    if not frames:
        cols: dict[str, Any] = {"customer": [], "offer": np.zeros(0, np.int64), "value": []}
        cols.update({f"usage_{n}": np.zeros(0) for n in names})
        return pd.DataFrame(cols)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _s_sample_rows(store: StoredBlock, step: int) -> tuple[I64, I64, F64, F64, F64, I64]:
    parts = [_sample_rows(b, step, p.row0) for p, b in store.blocks()]
    if not parts:
        return (
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
            np.zeros((store.n_budgets, 0)), np.zeros(0), np.zeros(0, np.int64),
        )  # fmt: skip
    return (
        np.concatenate([x[0] for x in parts]),
        np.concatenate([x[1] for x in parts]),
        np.concatenate([x[2] for x in parts]),
        np.concatenate([x[3] for x in parts], axis=1),
        np.concatenate([x[4] for x in parts]),
        np.concatenate([x[5] for x in parts]),
    )


class _RunClient:
    """The client of one disk-backed allocation: every task on a partition's data
    runs on the host whose disk holds its files, and every future is tracked, so
    that a failure cancels them all before the files are removed."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._hosts: dict[Any, str | None] = {}
        self.futures: weakref.WeakSet[Any] = weakref.WeakSet()  # the ones still wanted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def pin(self, futures: list[Any], hosts: list[str | None]) -> None:
        for f, h in zip(futures, hosts, strict=True):
            if h is not None:
                self._hosts[f.key] = h

    def _host(self, x: Any) -> str | None:
        return self._hosts.get(getattr(x, "key", None))

    def compute(self, *args: Any, **kwargs: Any) -> Any:
        out = self._client.compute(*args, **kwargs)
        self.futures.update(out if isinstance(out, list) else [out])
        return out

    def map(self, func: Callable[..., Any], *iterables: Any, **kwargs: Any) -> list[Any]:
        seqs = [list(it) for it in iterables]
        hosts = [self._host(x) for x in seqs[0]] if seqs else []
        if not hosts or any(h is None for h in hosts):
            out: list[Any] = self._client.map(func, *seqs, **kwargs)
            self.futures.update(out)
            return out
        res: list[Any] = [None] * len(hosts)
        for h in dict.fromkeys(hosts):  # hosts, not partitions
            idx = [i for i, x in enumerate(hosts) if x == h]
            futs = self._client.map(
                func,
                *[[s[i] for i in idx] for s in seqs],
                workers=[h],
                allow_other_workers=False,
                **kwargs,
            )
            for i, f in zip(idx, futs, strict=True):
                res[i] = f
                self._hosts[f.key] = h
        self.futures.update(res)
        return res

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        h = self._host(args[0]) if args else None
        if h is None:
            f = self._client.submit(func, *args, **kwargs)
        else:
            f = self._client.submit(func, *args, workers=[h], allow_other_workers=False, **kwargs)
            self._hosts[f.key] = h
        self.futures.add(f)
        return f
