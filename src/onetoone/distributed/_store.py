"""Where a partition's candidate block lives between dual evaluations: memory or disk.

:func:`store_block` cuts a laid-out :class:`~onetoone.distributed.CandidateBlock`
into pieces of about ``batch_size`` candidate pairs, on customer boundaries, and
either keeps them in memory (views of the block) or writes them once to an Arrow
IPC file on the worker's disk, one record batch per piece. Every per-partition
step then runs piece by piece (:meth:`StoredBlock.blocks`), so on disk a worker
holds about one piece at a time, whatever the number of pairs. The pieces are the
same in both storages and the per-piece arithmetic is the same, so the answers
are identical.

Plans (which pairs are chosen) are bit masks packed 8 pairs to a byte
(:func:`mask_piece`, :func:`set_bits`): arrays in memory, ``.npy`` files on disk.
The sorted margins of a cap step are, on disk, an Arrow IPC file read by memory
map (each threshold round is a binary search, touching a few pages).

Files are only created in a run directory made beforehand on every worker
(:func:`make_run_dir`) and removed with it (:func:`remove_run_dir`); a task never
creates a directory, so a task still running after the clean-up fails instead of
leaving files behind. No format here uses pickle.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from onetoone._arrays import F64, I64
from onetoone._optional import import_optional
from onetoone.distributed._kernels import CandidateBlock
from onetoone.errors import ValidationError

__all__ = [
    "MaskFile",
    "Piece",
    "StoredBlock",
    "TailsFile",
    "make_run_dir",
    "mask_piece",
    "pack_into",
    "remove_run_dir",
    "run_dir",
    "set_bits",
    "store_block",
]

_U8 = npt.NDArray[np.uint8]
_B = npt.NDArray[np.bool_]
#: Prefix of a run's directory under the storage directory.
RUN_PREFIX = "onetoone-alloc-"
Chunk = tuple[int, int, int, int, int]


def _pa() -> Any:
    return import_optional("pyarrow", purpose="onetoone.distributed.allocate(storage='disk')")


# ------------------------------------------------------------------- directories
def base_dir(storage_dir: str | None) -> str:
    """The storage directory on this machine: ``storage_dir``, else Dask's
    ``temporary-directory`` setting, else the system's temporary directory."""
    if storage_dir:
        return storage_dir
    dask = import_optional("dask", purpose="onetoone.distributed.allocate")
    configured = dask.config.get("temporary-directory", default=None)
    return str(configured) if configured else tempfile.gettempdir()


def run_dir(storage_dir: str | None, run_id: str) -> str:
    """The directory of one allocation's files on this machine."""
    return os.path.join(base_dir(storage_dir), RUN_PREFIX + run_id)


def make_run_dir(storage_dir: str | None, run_id: str) -> str:
    """Create the run directory (on a worker, through ``Client.run``); ``""`` or an error.

    Returns the empty string when the directory is ready and writable, else the
    reason, so the client can raise one error naming every worker at fault.
    """
    path = run_dir(storage_dir, run_id)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".probe-{os.getpid()}-{uuid.uuid4().hex}")  # one per worker
        with open(probe, "wb") as f:
            f.write(b"0")
        os.remove(probe)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return ""


def remove_run_dir(storage_dir: str | None, run_id: str) -> bool:
    """Remove the run directory and everything in it; True when it is gone.

    Tries a few times: a task finishing while the tree is removed may have just
    created a file in it (no task creates the directory itself).
    """
    path = run_dir(storage_dir, run_id)
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def _existing_run_dir(storage_dir: str | None, run_id: str) -> str:
    path = run_dir(storage_dir, run_id)
    if not os.path.isdir(path):
        raise ValidationError(
            f"allocate: the storage directory {path!r} is missing on this worker (the worker "
            "joined after the allocation started, or the directory was removed); run "
            "allocate again, or pass storage_dir= a directory every worker can write",
            field="storage_dir",
        )
    return path


def _new_path(storage_dir: str | None, run_id: str, suffix: str) -> str:
    return os.path.join(_existing_run_dir(storage_dir, run_id), uuid.uuid4().hex + suffix)


# ------------------------------------------------------------------------- pieces
@attrs.frozen
class Piece:
    """Rows ``row0:row1`` (customers) and candidates ``c0:c1`` of a block, and the
    dense chunks inside, relative to ``row0`` and ``c0``."""

    row0: int
    row1: int
    c0: int
    c1: int
    chunks: tuple[Chunk, ...]


def split_pieces(block: CandidateBlock, batch_size: int) -> tuple[Piece, ...]:
    """Cut a block into pieces of at most ``batch_size`` pairs, on customer boundaries.

    A customer with more candidates than ``batch_size`` is a piece alone. Loops
    over the dense chunks and pieces, not over customers.
    """
    pieces: list[Piece] = []
    cur: list[Chunk] = []
    start: tuple[int, int] | None = None  # (row, candidate) where the piece starts
    filled = 0
    for r0, r1, c0, _c1, d in block.chunks:
        r = r0
        while r < r1:
            take = min(r1 - r, (batch_size - filled) // d)
            if take == 0:
                if filled:  # close the piece, then start a new one on this row
                    assert start is not None
                    pieces.append(_piece(start, cur, filled))
                    cur, start, filled = [], None, 0
                    continue
                take = 1  # one customer larger than a batch
            c = c0 + (r - r0) * d
            if start is None:
                start = (r, c)
            row, cand = r - start[0], c - start[1]
            cur.append((row, row + take, cand, cand + take * d, d))
            r += take
            filled += take * d
            if filled >= batch_size:
                pieces.append(_piece(start, cur, filled))
                cur, start, filled = [], None, 0
    if filled:
        assert start is not None
        pieces.append(_piece(start, cur, filled))
    return tuple(pieces)


def _piece(start: tuple[int, int], chunks: list[Chunk], n: int) -> Piece:
    rows = chunks[-1][1]
    return Piece(start[0], start[0] + rows, start[1], start[1] + n, tuple(chunks))


def _piece_block(
    piece: Piece,
    customer_ids: npt.NDArray[Any],
    offer: I64,
    value: F64,
    usage: F64,
    cap_usage: F64,
    k: I64,
    n_offers: int,
    group: npt.NDArray[np.int32] | None,
    group_max: int,
) -> CandidateBlock:
    nb = usage.shape[0]
    return CandidateBlock(
        customer_ids=customer_ids,
        offer=offer,
        value=value,
        usage=usage,
        cap_usage=cap_usage,
        k=k,
        chunks=piece.chunks,
        n_offers=n_offers,
        n_ineligible=0,
        max_ratio=np.zeros(nb),  # the partition's figures are on StoredBlock
        max_cap_ratio=np.zeros(n_offers),
        group=group,
        group_max=group_max,
    )


# ------------------------------------------------------------------ stored block
@attrs.frozen(eq=False)
class StoredBlock:
    """One partition's candidate block, in pieces, in memory or in files on disk.

    Holds the partition's sizes, ``stats`` (figures of the whole block computed
    before it was cut, opaque here), the offers' ``group`` and ``group_max``
    (per offer, not per pair: kept in memory in both storages) and, in memory,
    the pieces; on disk only the paths and the piece bounds (a few numbers per
    piece). Every field of :class:`CandidateBlock` a step reads is restored on
    each piece (the partition-wide ``n_ineligible``, ``max_ratio`` and
    ``max_cap_ratio`` are in ``stats``).
    """

    n_offers: int
    n_budgets: int
    n_candidates: int
    n_rows: int
    pieces: tuple[Piece, ...]
    nbytes: int
    stats: Any = None
    group: npt.NDArray[np.int32] | None = None
    group_max: int = 1
    memory: tuple[CandidateBlock, ...] | None = None
    cands_path: str | None = None
    rows_path: str | None = None
    host: str | None = None
    storage_dir: str | None = None
    run_id: str | None = None

    @property
    def on_disk(self) -> bool:
        return self.memory is None

    def blocks(self, *, ids: bool = False) -> Iterator[tuple[Piece, CandidateBlock]]:
        """Each piece and its block, in order; from disk one at a time.

        On disk the customer ids are read only when ``ids`` (each piece's block
        otherwise has an empty ``customer_ids``).
        """
        if self.memory is not None:
            yield from zip(self.pieces, self.memory, strict=True)
            return
        if not self.pieces:
            return
        pa = _pa()
        assert self.cands_path is not None and self.rows_path is not None
        opts = None if ids else pa.ipc.IpcReadOptions(included_fields=[0])
        with (
            pa.OSFile(self.cands_path, "rb") as fc,
            pa.OSFile(self.rows_path, "rb") as fr,
        ):
            cands = pa.ipc.open_file(fc)
            rows = pa.ipc.open_file(fr, options=opts)
            nb = self.n_budgets
            for i, piece in enumerate(self.pieces):
                cb = cands.get_batch(i)
                rb = rows.get_batch(i)
                cols = [cb.column(j).to_numpy() for j in range(cb.num_columns)]
                usage = np.stack(cols[2 : 2 + nb]) if nb else np.zeros((0, len(cols[0])))
                yield (
                    piece,
                    _piece_block(
                        piece,
                        rb.column(1).to_numpy(zero_copy_only=False) if ids else np.empty(0),
                        cols[0],
                        cols[1],
                        usage,
                        cols[2 + nb],
                        rb.column(0).to_numpy(),
                        self.n_offers,
                        self.group,
                        self.group_max,
                    ),
                )
                del cb, rb, cols, usage

    def customer_ids(self) -> npt.NDArray[Any]:
        """The customer id of every row (customer), in block order."""
        parts = [b.customer_ids for _, b in self.blocks(ids=True)]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    # -------------------------------------------------------------- masks
    def empty_mask(self) -> _U8:
        """A packed bit mask of the partition's pairs, nothing chosen."""
        return np.zeros((self.n_candidates + 7) // 8, dtype=np.uint8)

    def save_mask(self, packed: _U8) -> _U8 | MaskFile:
        """Keep a packed mask: the array in memory, a new ``.npy`` file on disk."""
        if self.memory is not None:
            return packed
        path = _new_path(self.storage_dir, self.run_id or "", ".mask.npy")
        np.save(path, packed, allow_pickle=False)
        return MaskFile(path)

    def save_tails(self, tails: Iterable[list[tuple[F64, F64]]]) -> list[Any] | TailsFile:
        """Keep a cap step's sorted margins per piece and offer (see ``load_tails``); on
        disk each piece's are written as they come, so one piece's are in memory."""
        if self.memory is not None:
            return list(tails)
        pa = _pa()
        path = _new_path(self.storage_dir, self.run_id or "", ".tails.arrow")
        offsets: list[tuple[int, ...]] = []
        schema = pa.schema([("q", pa.float64()), ("tail", pa.float64())])
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for per_offer in tails:
                # each offer's margins, padded with +inf to the length of its tail
                q = [np.concatenate([qs, [np.inf]]) for qs, _ in per_offer]
                t = [tail for _, tail in per_offer]
                offsets.append(tuple(np.cumsum([0] + [len(x) for x in t]).tolist()))
                writer.write_batch(
                    pa.record_batch(
                        [
                            pa.array(np.concatenate(q) if q else np.zeros(0)),
                            pa.array(np.concatenate(t) if t else np.zeros(0)),
                        ],
                        schema=schema,
                    )
                )
        return TailsFile(path, tuple(offsets))


@attrs.frozen
class MaskFile:
    """A packed bit mask saved as ``.npy`` (uint8, no pickle)."""

    path: str


@attrs.frozen
class TailsFile:
    """A cap step's sorted margins: an Arrow IPC file, one batch per piece;
    ``offsets[piece]`` bounds each offer's segment."""

    path: str
    offsets: tuple[tuple[int, ...], ...]


def load_mask(mask: _U8 | MaskFile, *, mmap: bool = True) -> _U8:
    """The packed bits of a mask (memory-mapped, read-only, from a file when ``mmap``)."""
    if isinstance(mask, MaskFile):
        out: _U8 = np.load(mask.path, mmap_mode="r" if mmap else None, allow_pickle=False)
        return out
    return mask


def load_tails(tails: list[Any] | TailsFile) -> Iterator[list[tuple[F64, F64]]]:
    """Each piece's per-offer (sorted margins, cap usage at or above each)."""
    if not isinstance(tails, TailsFile):
        yield from tails
        return
    pa = _pa()
    with pa.memory_map(tails.path, "r") as src:
        reader = pa.ipc.open_file(src)
        for i, offs in enumerate(tails.offsets):
            batch = reader.get_batch(i)
            q = batch.column(0).to_numpy()
            t = batch.column(1).to_numpy()
            yield [(q[a : b - 1], t[a:b]) for a, b in itertools.pairwise(offs)]


def remove_file(handle: Any) -> None:
    """Delete a mask's or a cap step's file now (on disk; nothing in memory)."""
    if isinstance(handle, (MaskFile, TailsFile)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(handle.path)


def mask_piece(packed: _U8, piece: Piece) -> _B:
    """The bits of a piece's pairs, as a bool array."""
    b0, b1 = piece.c0 // 8, (piece.c1 + 7) // 8
    bits = np.unpackbits(np.asarray(packed[b0:b1]))
    s = piece.c0 - 8 * b0
    return bits[s : s + piece.c1 - piece.c0].astype(bool)


def pack_into(packed: _U8, c0: int, bits: _B) -> None:
    """OR the bits of pairs ``c0 : c0 + len(bits)`` into ``packed`` (others untouched)."""
    s = c0 % 8
    pp = np.packbits(np.concatenate([np.zeros(s, dtype=bool), bits]))
    packed[c0 // 8 : c0 // 8 + len(pp)] |= pp


def set_bits(packed: _U8, idx: I64, value: bool) -> None:
    """Set (``value``) or clear the bits of pairs ``idx``, in place."""
    idx = np.asarray(idx, dtype=np.int64)
    byte = idx >> 3
    m = np.left_shift(1, 7 - (idx & 7)).astype(np.uint8)
    if value:
        np.bitwise_or.at(packed, byte, m)
    else:
        np.bitwise_and.at(packed, byte, np.invert(m))


# --------------------------------------------------------------------- writing
def store_block(
    block: CandidateBlock,
    batch_size: int,
    *,
    storage_dir: str | None = None,
    run_id: str | None = None,
    host: str | None = None,
    stats: Any = None,
) -> StoredBlock:
    """Keep ``block`` in pieces of about ``batch_size`` pairs: in memory (``run_id``
    None) or written once to two Arrow IPC files in the run directory.

    The candidate file has one column per per-pair array (``offer``, ``value``,
    ``usage_0`` ..., ``cap_usage``), the row file ``k`` and ``customer``; record
    batch ``i`` of each holds piece ``i``.
    """
    pieces = split_pieces(block, batch_size)
    nb = block.usage.shape[0]
    figures: dict[str, Any] = {
        "n_offers": block.n_offers,
        "n_budgets": nb,
        "n_candidates": block.n_candidates,
        "n_rows": len(block.k),
        "pieces": pieces,
        "stats": stats,
        "group": block.group,
        "group_max": block.group_max,
    }
    if run_id is None:
        mem = tuple(
            _piece_block(
                p,
                block.customer_ids[p.row0 : p.row1],
                block.offer[p.c0 : p.c1],
                block.value[p.c0 : p.c1],
                block.usage[:, p.c0 : p.c1],
                block.cap_usage[p.c0 : p.c1],
                block.k[p.row0 : p.row1],
                block.n_offers,
                block.group,
                block.group_max,
            )
            for p in pieces
        )
        return StoredBlock(**figures, nbytes=block.nbytes(), memory=mem)
    pa = _pa()
    cands_path = _new_path(storage_dir, run_id, ".cand.arrow")
    rows_path = cands_path[: -len(".cand.arrow")] + ".rows.arrow"
    names = ["offer", "value", *[f"usage_{b}" for b in range(nb)], "cap_usage"]
    cschema = pa.schema([("offer", pa.int64())] + [(n, pa.float64()) for n in names[1:]])
    ids_type = pa.array(block.customer_ids[:1]).type if len(block.customer_ids) else pa.int64()
    rschema = pa.schema([("k", pa.int64()), ("customer", ids_type)])
    try:
        with (
            pa.OSFile(cands_path, "wb") as sc,
            pa.ipc.new_file(sc, cschema) as wc,
            pa.OSFile(rows_path, "wb") as sr,
            pa.ipc.new_file(sr, rschema) as wr,
        ):
            for p in pieces:
                cols = [block.offer[p.c0 : p.c1], block.value[p.c0 : p.c1]]
                cols += [block.usage[b, p.c0 : p.c1] for b in range(nb)]
                cols.append(block.cap_usage[p.c0 : p.c1])
                wc.write_batch(pa.record_batch([pa.array(c) for c in cols], schema=cschema))
                wr.write_batch(
                    pa.record_batch(
                        [
                            pa.array(block.k[p.row0 : p.row1]),
                            pa.array(block.customer_ids[p.row0 : p.row1], type=ids_type),
                        ],
                        schema=rschema,
                    )
                )
    except OSError as exc:
        for path in (cands_path, rows_path):
            if os.path.exists(path):
                os.remove(path)
        raise OSError(
            exc.errno,
            f"allocate: cannot write the candidate block to {cands_path}: "
            f"{exc.strerror or exc}; free disk space there or pass storage_dir= another "
            "directory",
        ) from exc
    size = os.path.getsize(cands_path) + os.path.getsize(rows_path)
    return StoredBlock(
        **figures,
        nbytes=size,
        cands_path=cands_path,
        rows_path=rows_path,
        host=host,
        storage_dir=storage_dir,
        run_id=run_id,
    )
