"""Fuzz the file loaders: mutated save files must load as valid objects or raise FormatError.

For each format (a plan; affinity models of every method; isotonic and logistic
response models) this saves a small valid file, derives ``--n`` mutated files
from it (byte flips, truncations, members replaced by arrays of the wrong dtype,
shape or values, crafted ``.npy`` headers declaring huge shapes, extra, missing
and duplicated members, highly compressible bombs, and JSON header mutations of
every field: missing, wrong type, negative, huge, extra), and loads each one in
a child process under a memory limit and a per-file timeout. A file that loads
is then used (columns / offers_for / scores / probabilities) and checked, so
corruption that only shows on use is caught.

Outcomes per file: ``ok`` (loaded, used and valid), ``format_error`` (the
loader refused it with FormatError), and the failures: ``error`` (any other
exception, or an object that loaded but is invalid), ``crash`` (the child died
on a signal or exited without reporting), ``timeout``, ``memory``
(MemoryError under the limit). Files are loaded in batches, one child per
batch; when a child dies, the file it was on is recorded and a new child goes
on with the rest, so one crash never hides another.

Run ``python fuzz/files.py --n 1000 --seed 0`` (a few minutes); it prints the
counts per format and exits 1 on any failure. ``tests/test_persist_fuzz.py``
runs a small version in the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

META = "__onetoone_meta__"
FAILURES = ("error", "crash", "timeout", "memory")
MEMORY_LIMIT = 3 << 30  # bytes of address space for a child
FILE_TIMEOUT = 30.0  # seconds for one file (a child's first file also imports onetoone)


# --------------------------------------------------------------------------- valid files
def _plan_file(path: Path) -> None:
    from onetoone import IdIndex, Plan
    from onetoone.allocation import allocate, random_problem, save_plan

    problem = random_problem(12, 4, k=2, random_state=3)
    plan = Plan(
        allocate(problem, method="dual"),
        customers=IdIndex.from_values(np.arange(12) * 11 + 5),
        offers=IdIndex.from_values([f"coupon-{i}" for i in range(4)]),
    )
    save_plan(plan, path)


def _affinity_file(method: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from onetoone.affinity import fit_affinity, save
        from onetoone.data import Catalogue
        from onetoone.datasets import synthetic_transactions

        tx = synthetic_transactions(25, 12, random_state=1)
        items = tx.items.values
        cat = Catalogue.from_arrays(item=items, category=[f"c{i % 3}" for i in range(len(items))])
        model = fit_affinity(
            tx,
            method=method,  # type: ignore[arg-type]
            catalogue=cat,
            factors=3,
            iterations=2,
            bpr_iterations=3,
            num_threads=1,
            random_state=0,
        )
        save(model, path)

    return make


def _response_file(method: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from onetoone.affinity import fit_response, save

        rng = np.random.default_rng(0)
        s = rng.normal(size=60)
        y = rng.random(60) < 1 / (1 + np.exp(-2 * s))
        save(fit_response(s, y, method=method, n_bins=4), path)  # type: ignore[arg-type]

    return make


def _value_file(kind: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from onetoone import save
        from onetoone.value import FrequencyModel, SpendModel

        if kind == "spend":
            model: Any = SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44},
                                    {"p": 0.1, "q": 0.2, "gamma": 0.3}, log_likelihood=-9.5,
                                    n_customers=40)
        else:
            model = FrequencyModel(kind, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
                                   {"r": 0.01, "alpha": 0.2, "a": 0.03, "b": 0.1},
                                   log_likelihood=-9582.4, n_customers=2357, unit_days=7.0)
        save(model, path)

    return make


def _lapse_file(path: Path) -> None:
    from onetoone import save
    from onetoone.datasets import synthetic_transactions
    from onetoone.value import fit_lapse

    tx = synthetic_transactions(n_customers=150, n_items=10, n_days=200, random_state=0)
    save(fit_lapse(tx, as_of=tx.period[1], horizon_days=30, n_folds=3, random_state=0), path)


def _uplift_file(method: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from onetoone import save
        from onetoone.uplift import fit_uplift

        rng = np.random.default_rng(0)
        x = rng.normal(size=(400, 2))
        arm = rng.integers(0, 3, 400)
        y = (rng.random(400) < 0.3 + 0.1 * (arm == 1) + 0.05 * x[:, 0].clip(-1, 1)).astype(float)
        save(fit_uplift(x, arm, y, method=method, random_state=0), path)

    return make


FORMATS: dict[str, Callable[[Path], None]] = {
    "plan": _plan_file,
    **{
        f"affinity-{m}": _affinity_file(m) for m in ("repeat", "als", "bpr", "hybrid", "popularity")
    },
    "response-isotonic": _response_file("isotonic"),
    "response-logistic": _response_file("logistic"),
    "value-bgnbd": _value_file("bgnbd"),
    "value-mbgnbd": _value_file("mbgnbd"),
    "value-spend": _value_file("spend"),
    "lapse": _lapse_file,
    **{f"uplift-{m}": _uplift_file(m) for m in ("t", "s", "dr", "x")},
}


# --------------------------------------------------------------------------- archives
def read_members(path: Path) -> dict[str, bytes]:
    """The raw ``.npy`` bytes of each member of a (valid) archive, by name without suffix."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename[:-4]: zf.read(i) for i in zf.infolist()}


def npy_bytes(a: Any) -> bytes:
    """``a`` as ``.npy`` bytes, pickling object arrays (as an attacker would)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=True)
    return buf.getvalue()


def load_npy(raw: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(np.load(io.BytesIO(raw), allow_pickle=False))


def write_archive(
    path: Path, members: list[tuple[str, bytes]], *, compress: int = zipfile.ZIP_DEFLATED
) -> None:
    """Write ``(name, npy bytes)`` pairs as a zip (duplicate names allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression=compress) as zf:
            for name, raw in members:
                zf.writestr(name + ".npy", raw)


def rewrite(
    src: Path,
    dst: Path,
    *,
    arrays: dict[str, Any] | None = None,
    raw: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    header: Callable[[dict[str, Any]], Any] | None = None,
) -> None:
    """Copy archive ``src`` to ``dst``, replacing members (arrays or raw bytes) or the header.

    ``header`` receives the parsed JSON header and edits it in place (or returns
    a replacement object, or ``bytes`` for the raw header text).
    """
    members = read_members(src)
    for k in drop:
        members.pop(k, None)
    for k, v in (arrays or {}).items():
        members[k] = npy_bytes(v)
    members.update(raw or {})
    if header is not None:
        h = json.loads(load_npy(members[META]).tobytes().decode("utf-8"))
        out = header(h)
        h = h if out is None else out
        text = h if isinstance(h, bytes) else json.dumps(h).encode("utf-8")
        members[META] = npy_bytes(np.frombuffer(text, dtype=np.uint8))
    write_archive(dst, list(members.items()))


def huge_npy(shape: tuple[int, ...], dtype: str = "<f8", data: bytes = b"") -> bytes:
    """A ``.npy`` whose header declares ``shape`` but that holds only ``data``."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


# --------------------------------------------------------------------------- mutations
_WRONG_VALUES: list[Any] = [
    "abc",
    "",
    True,
    False,
    None,
    [],
    {},
    [1, 2],
    {"x": 1},
    -1,
    -5,
    0,
    1,
    2,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    1.5,
    0.5,
    -0.5,
    2**31,
    2**63,
    "1",
    "1e400",
]


def _json_paths(h: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(h, dict):
        for k, v in h.items():
            yield (*prefix, k)
            yield from _json_paths(v, (*prefix, k))
    elif isinstance(h, list):
        for i, v in enumerate(h):
            yield (*prefix, i)
            yield from _json_paths(v, (*prefix, i))


def _mutate_header(rng: random.Random, h: dict[str, Any]) -> Any:
    paths = list(_json_paths(h))
    op = rng.choice(["set", "set", "set", "delete", "extra", "raw", "numeric", "replace"])
    if op == "replace":
        return rng.choice([[], "x", 1, None, {"format": "onetoone"}])
    if op == "raw":
        text = json.dumps(h)
        choice = rng.choice(["nan", "utf8", "cut", "dupkey", "deep", "bigint"])
        if choice == "nan":
            return text.replace("0.", 'NaN, "_": 0.', 1).encode()
        if choice == "utf8":
            return text.encode()[:10] + b"\xff\xfe" + text.encode()[10:]
        if choice == "cut":
            return text.encode()[: rng.randrange(len(text))]
        if choice == "dupkey":
            return text.replace('"kind":', '"kind": "Plan", "kind":', 1).encode()
        if choice == "deep":
            return ("[" * 100_000 + "]" * 100_000).encode()
        return text.replace('"format_version": 1', '"format_version": 1' + "0" * 5000).encode()
    path = rng.choice(paths)
    parent: Any = h
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "extra":
        target = parent if isinstance(parent, dict) else h
        target["unexpected_" + str(rng.randrange(100))] = rng.choice(_WRONG_VALUES)
    elif op == "numeric":
        v = parent[key]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parent[key] = rng.choice([-v, v * 10**6, v + 1, v - 1, 2**64, -1e-300, 1e300])
        else:
            parent[key] = rng.choice(_WRONG_VALUES)
    else:
        parent[key] = rng.choice(_WRONG_VALUES)
    return None


def _bad_array(rng: random.Random, a: np.ndarray[Any, Any]) -> Any:
    """A replacement for array ``a``: wrong dtype, shape or values."""
    for _ in range(20):  # some operations do not apply to some arrays (strings, scalars)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _bad_array_once(rng, a)
        except (ValueError, TypeError, OverflowError, IndexError):
            continue
    return np.zeros(3)


def _bad_array_once(rng: random.Random, a: np.ndarray[Any, Any]) -> Any:
    n = a.shape[0] if a.ndim else 1
    op = rng.randrange(24)
    flat = a.reshape(-1)
    if op == 0:
        return a.astype(np.float64) if a.dtype.kind != "f" else a.astype(np.int64)
    if op == 1:
        return np.array([str(x) for x in flat[:n]] or ["x"]).reshape(-1)
    if op == 2:
        return (a.astype(np.complex128) if a.dtype.kind in "iuf" else np.zeros(n, complex)) + 1j
    if op == 3:
        return np.array([{"x": 1}] * max(n, 1), dtype=object)
    if op == 4:
        return np.zeros(max(n, 1), dtype=[("a", "<i4"), ("b", "<f8")])
    if op == 5:
        return a[:-1] if n else np.zeros(3)
    if op == 6:
        return np.concatenate([a, a[:1]]) if n else np.zeros(1)
    if op == 7:
        return np.resize(a, (max(n, 1), 2))
    if op == 8:
        return np.asarray(flat[0] if flat.size else 0)
    if op == 9:
        return np.full(a.shape, -(10**6), dtype=a.dtype if a.dtype.kind in "iu" else np.int64)
    if op == 10:
        return np.full(a.shape, 10**6, dtype=a.dtype if a.dtype.kind in "iu" else np.int64)
    if op == 11:
        b = np.array(a, dtype=np.float64 if a.dtype.kind not in "f" else a.dtype)
        if b.size:
            b.reshape(-1)[rng.randrange(b.size)] = rng.choice([np.nan, np.inf, -np.inf])
        return b
    if op == 12:
        return a[::-1].copy()
    if op == 13:
        b = a.copy()
        if n > 1:
            b[rng.randrange(n)] = b[rng.randrange(n)]
        return b
    if op == 14:
        b = np.array(a)
        if b.size and b.dtype.kind in "iuf":
            b.reshape(-1)[rng.randrange(b.size)] = rng.choice([-1, 2**31 - 1, 2**15, -(2**20)])
        return b
    if op == 15:
        return a.astype(np.uint64) if a.dtype.kind in "iu" else a.astype(np.float16)
    if op == 16:
        return np.full(a.shape, 2**63 - 1, dtype=np.int64)
    if op == 17:
        return np.array(a, dtype=np.float32) * np.float32(1e38) if a.dtype.kind in "iuf" else a
    if op == 18:
        return np.zeros((0, *a.shape[1:]), dtype=a.dtype)
    if op == 19:
        return a.astype(">" + a.dtype.str[1:]) if a.dtype.kind in "iuf" else a
    if op == 20:
        return np.asfortranarray(a.T) if a.ndim == 2 else a.astype(np.bool_)
    if op == 21:
        return np.array(["2024-01-01"] * max(n, 1), dtype="datetime64[s]")
    if op == 22:
        b = np.array(a)
        if b.size and b.dtype.kind in "iuf":
            b.reshape(-1)[rng.randrange(b.size)] *= -1
        return b
    b = np.array(a)
    rng_np = np.random.default_rng(rng.randrange(2**32))
    if b.size and b.dtype.kind in "iuf":
        rng_np.shuffle(b.reshape(-1))
    return b


def mutate(rng: random.Random, src: Path, dst: Path) -> str:
    """Write one mutation of ``src`` to ``dst``; return a short description."""
    members = read_members(src)
    names = sorted(k for k in members if k != META)
    op = rng.choice(
        [
            "flip",
            "flip",
            "truncate",
            "array",
            "array",
            "array",
            "array",
            "huge",
            "drop",
            "extra",
            "dup",
            "header",
            "header",
            "header",
            "bomb",
            "stored",
            "two",
        ]
    )
    if op == "two":  # two array mutations at once (e.g. consistent lengths, bad values)
        a, b = rng.sample(names, 2) if len(names) > 1 else (names[0], names[0])
        rewrite(
            src,
            dst,
            arrays={
                a: _bad_array(rng, load_npy(members[a])),
                b: _bad_array(rng, load_npy(members[b])),
            },
        )
        return f"two:{a},{b}"
    if op in ("flip", "truncate"):
        data = bytearray(src.read_bytes())
        if op == "truncate":
            dst.write_bytes(bytes(data[: rng.randrange(len(data))]))
            return "truncate"
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        dst.write_bytes(bytes(data))
        return "flip"
    if op == "array":
        name = rng.choice(names)
        rewrite(src, dst, arrays={name: _bad_array(rng, load_npy(members[name]))})
        return f"array:{name}"
    if op == "huge":
        name = rng.choice(names)
        arr = load_npy(members[name])
        shape = rng.choice([(10**13,), (2**40, 2**30), (10**13, *arr.shape[1:]), (2**62,)])
        rewrite(src, dst, raw={name: huge_npy(shape, arr.dtype.str, arr.tobytes()[:64])})
        return f"huge:{name}"
    if op == "drop":
        name = rng.choice([*names, META])
        rewrite(src, dst, drop=(name,))
        return f"drop:{name}"
    if op == "extra":
        rewrite(src, dst, arrays={rng.choice(["extra", "repeat.extra", "x2"]): np.arange(5)})
        return "extra"
    if op == "dup":
        name = rng.choice([*names, META])
        items = [
            *list(members.items()),
            (name, npy_bytes(_bad_array(rng, load_npy(members[name])))),
        ]
        write_archive(dst, items)
        return f"dup:{name}"
    if op == "bomb":  # a highly compressible member: unknown name, or a known one
        name = rng.choice(["padding", *names])
        big = np.zeros(rng.choice([8 << 20, 64 << 20]) // 8)
        items = [(k, v) for k, v in members.items() if k != name] + [(name, npy_bytes(big))]
        write_archive(dst, items)
        return f"bomb:{name}"
    if op == "stored":  # the same content, uncompressed: must load
        write_archive(dst, list(members.items()), compress=zipfile.ZIP_STORED)
        return "stored"
    rewrite(src, dst, header=lambda h: _mutate_header(rng, h))
    return "header"


# --------------------------------------------------------------------------- using a file
def _use_plan(obj: Any) -> None:
    from onetoone import Plan

    assert isinstance(obj, Plan), type(obj)
    a = obj.allocation
    cols = obj.columns()
    assert len(cols["customer_id"]) == len(a)
    assert np.isfinite(a.value).all() and np.isfinite(a.cost).all()
    assert (a.budget_spend <= a.budget_limit).all(), "over budget"
    assert (a.offer_usage <= a.cap).all(), "over cap"
    key = a.customer.astype(np.int64) * max(a.n_offers, 1) + a.offer
    assert (np.diff(key) > 0).all(), "pairs not sorted"
    for cid in obj.customers.values[:5]:
        got = obj.offers_for(cid)
        want = cols["offer_id"][cols["customer_id"] == cid]
        assert got.tolist() == want.tolist(), "offers_for disagrees with columns"
    json.dumps(obj.certificate(), allow_nan=False)
    a.summary()


def _use_affinity(obj: Any) -> None:
    from onetoone.affinity import AffinityModel, score_items

    assert isinstance(obj, AffinityModel), type(obj)
    ids = obj.customers.values[:4]
    for kw in ({}, {"exclude_recent_days": 5.0}, {"top_k": 3}):
        s = score_items(obj, ids, **kw)
        vals = s.dense if s.dense is not None else s.top_score
        assert vals is not None and not np.isnan(vals).any(), "NaN scores"
        assert not np.isposinf(vals).any(), "infinite scores"
    v = obj.customers.values
    new = ["~never-seen"] if obj.customers.kind == "str" else [int(v.max()) + 1 if len(v) else 0]
    cold = score_items(obj, new, unknown_customers="keep")
    assert cold.dense is not None and not np.isnan(cold.dense).any()


def _use_response(obj: Any) -> None:
    from onetoone.affinity import ResponseModel

    assert isinstance(obj, ResponseModel), type(obj)
    p = obj.predict_proba([-1e3, -2.0, -0.5, 0.0, 0.3, 1.0, 2.5, 1e3])
    assert ((p >= 0) & (p <= 1)).all(), f"probabilities outside [0, 1]: {p}"
    assert np.isfinite(obj.reliability.expected_calibration_error)
    obj.reliability.to_text()


def _use_value(obj: Any) -> None:
    from onetoone.value import (
        FrequencyModel,
        PurchaseSummary,
        SpendModel,
        customer_value,
        expected_purchases,
        expected_spend,
        p_alive,
    )

    s = PurchaseSummary.from_arrays(
        frequency=[0, 1, 2, 7, 40, 1000], recency=[0.0, 1e-9, 30.4, 38.0, 38.8, 38.86],
        T=[38.86, 38.86, 38.86, 38.86, 38.86, 38.86], monetary=[0.0, 1e-3, 20.0, 35.0, 1e4, 12.0],
    )
    if isinstance(obj, SpendModel):
        if obj.params["q"] > 1.0:
            e = expected_spend(obj, s)
            assert np.isfinite(e).all() and (e >= 0).all(), f"bad expected spend {e}"
        return
    assert isinstance(obj, FrequencyModel), type(obj)
    pa = p_alive(obj, s)
    assert ((pa >= 0) & (pa <= 1)).all(), f"p_alive outside [0, 1]: {pa}"
    for t in (0.0, 1.0, 52.0, 1e6):
        e = expected_purchases(obj, s, t)
        assert np.isfinite(e).all() and (e >= 0).all(), f"bad expected purchases {e}"
    v = customer_value(obj, SpendModel({"p": 6.25, "q": 3.74, "gamma": 15.44}), s, horizon=52,
                       period=4.0, discount_rate=0.01)
    assert np.isfinite(v.clv).all() and (v.clv >= 0).all(), f"bad CLV {v.clv}"


def _use_lapse(obj: Any) -> None:
    from onetoone.datasets import synthetic_transactions
    from onetoone.value import LapseModel

    assert isinstance(obj, LapseModel), type(obj)
    tx = synthetic_transactions(n_customers=30, n_items=5, n_days=100, random_state=1)
    r = obj.predict(tx, as_of=tx.period[1])
    p = r.risk
    assert ((p >= 0) & (p <= 1)).all(), f"lapse risk outside [0, 1]: {p}"


def _use_uplift(obj: Any) -> None:
    from onetoone.uplift import UpliftModel

    assert isinstance(obj, UpliftModel), type(obj)
    k = obj.outcome_coef.shape[1]
    x = np.vstack([np.zeros(k), np.ones(k), -np.ones(k) * 3, np.full(k, 50.0)])
    u = obj.predict(x)
    assert np.isfinite(u).all(), f"non-finite uplift {u}"
    if obj.outcome_type == "binary" and obj.method in ("t", "s"):  # DR/X: linear effect models
        assert (np.abs(u) <= 1).all(), f"binary uplift outside [-1, 1]: {u}"
    for arm, o in obj.predict_outcomes(x).items():
        assert np.isfinite(o).all(), f"non-finite outcome of arm {arm!r}: {o}"


def load_and_use(fmt: str, path: str) -> None:
    """Load ``path`` as format ``fmt`` and use the object (raises on any problem)."""
    if fmt == "selftest":  # exercises the harness: the file's text says what to do
        what = Path(path).read_text()
        if what == "crash":
            os.kill(os.getpid(), 11)
        if what == "hang":
            time.sleep(3600)
        if what == "memory":
            np.ones(1 << 40, dtype=np.uint8)
        if what == "error":
            raise KeyError("boom")
        if what == "format":
            from onetoone.errors import FormatError

            raise FormatError("refused")
        return
    if fmt == "plan":
        from onetoone.allocation import load_plan

        _use_plan(load_plan(path))
        return
    if fmt.startswith(("value", "lapse", "uplift")):
        from onetoone import load as load_any

        use = {"value": _use_value, "lapse": _use_lapse, "uplift": _use_uplift}
        use[fmt.split("-")[0]](load_any(path))
        return
    from onetoone.affinity import load

    obj = load(path)
    (_use_affinity if fmt.startswith("affinity") else _use_response)(obj)


def child_main() -> None:
    """Read ``[fmt, path]`` jobs (one JSON line each) from stdin; report each on stdout."""
    import resource

    from onetoone.errors import FormatError

    limit = int(os.environ.get("FUZZ_MEMORY_LIMIT", MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("error")
    import onetoone.affinity  # noqa: F401 - imported before the first file's clock starts

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        fmt, path = json.loads(line)
        print(json.dumps({"start": path}), flush=True)
        try:
            load_and_use(fmt, path)
            outcome, detail = "ok", ""
        except FormatError as exc:
            outcome, detail = "format_error", str(exc)[:200]
        except MemoryError:
            outcome, detail = "memory", "MemoryError"
        except BaseException as exc:
            tb = traceback.format_exception(exc)
            outcome, detail = "error", "".join(tb[-3:])[-600:]
        print(json.dumps({"done": path, "outcome": outcome, "detail": detail}), flush=True)


# --------------------------------------------------------------------------- driver
def run_batch(
    jobs: list[tuple[str, str]],
    results: dict[str, tuple[str, str]],
    *,
    file_timeout: float = FILE_TIMEOUT,
) -> None:
    """Run jobs in child processes; a dead or stuck child is replaced, its file recorded."""
    pending = list(jobs)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    while pending:
        with tempfile.TemporaryFile("w+") as job_file, tempfile.TemporaryFile("w+") as err_file:
            job_file.write("".join(json.dumps(j) + "\n" for j in pending))
            job_file.seek(0)
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child"],
                stdin=job_file,
                stdout=subprocess.PIPE,
                stderr=err_file,
                env=env,
            )
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            current: str | None = None
            timeout = 120.0  # until the child has imported onetoone
            stuck = False
            buf = b""
            while True:
                if b"\n" not in buf:
                    ready, _, _ = select.select([fd], [], [], timeout)
                    if not ready:
                        stuck = True
                        break
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                    continue
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "start" in msg:
                    current = msg["start"]
                elif "done" in msg:
                    results[msg["done"]] = (msg["outcome"], msg["detail"])
                    current = None
                timeout = file_timeout
            if stuck:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            err_file.seek(0)
            err = err_file.read()[-400:]
        if current is not None:
            kind = "timeout" if stuck else "crash"
            results[current] = (kind, f"exit {proc.returncode}: {err}")
        elif pending[0][1] not in results:  # died before its first file
            results[pending[0][1]] = ("crash", f"exit {proc.returncode}: {err}")
        pending = [j for j in pending if j[1] not in results]


def run(
    n: int, seed: int, workdir: Path, *, batch: int = 250, verbose: bool = True,
    only: tuple[str, ...] = (),
) -> dict[str, Counter[str]]:
    """Fuzz every format with ``n`` mutations; return the outcome counts per format."""
    counts: dict[str, Counter[str]] = {}
    failures: list[str] = []
    for fmt, make in FORMATS.items():
        if only and not any(fmt.startswith(o) for o in only):
            continue
        t0 = time.perf_counter()
        fdir = workdir / fmt
        fdir.mkdir(parents=True, exist_ok=True)
        valid = fdir / "valid.npz"
        make(valid)
        rng = random.Random(f"{seed}-{fmt}")
        jobs: list[tuple[str, str]] = [(fmt, str(valid))]
        what: dict[str, str] = {str(valid): "valid"}
        for i in range(n):
            dst = fdir / f"m{i:05d}.npz"
            what[str(dst)] = mutate(rng, valid, dst)
            jobs.append((fmt, str(dst)))
        results: dict[str, tuple[str, str]] = {}
        for b in range(0, len(jobs), batch):
            run_batch(jobs[b : b + batch], results)
        if results[str(valid)][0] != "ok":
            failures.append(f"{fmt}: the valid file did not load: {results[str(valid)]}")
        c = Counter(outcome for outcome, _ in results.values())
        counts[fmt] = c
        for path, (outcome, detail) in results.items():
            if outcome in FAILURES:
                failures.append(f"{fmt} {Path(path).name} [{what[path]}] {outcome}: {detail}")
        if verbose:
            line = ", ".join(f"{k} {c[k]}" for k in ("ok", "format_error", *FAILURES))
            print(f"{fmt:<20} {n} mutations + 1 valid: {line}  ({time.perf_counter() - t0:.0f} s)")
    if verbose and failures:
        print(f"\n{len(failures)} failure(s):")
        for f in failures[:40]:
            print("  " + f.replace("\n", "\n    "))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="mutations per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=250, help="files per child process")
    parser.add_argument("--only", nargs="*", default=[],
                        help="fuzz only the formats whose name starts with one of these")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main()
        return 0
    with tempfile.TemporaryDirectory(prefix="onetoone-fuzz-") as tmp:
        counts = run(args.n, args.seed, Path(tmp), batch=args.batch, only=tuple(args.only))
    bad = sum(c[k] for c in counts.values() for k in FAILURES) + sum(
        1 for c in counts.values() if c["ok"] == 0
    )
    total = sum(sum(c.values()) for c in counts.values())
    print(f"\n{total} files, {bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
