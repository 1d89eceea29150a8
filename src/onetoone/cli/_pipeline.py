"""The campaign pipeline over the public API, one cached stage at a time.

:class:`Campaign` computes each stage on first use from the config (ingest ->
profiles, holdout, affinity -> scores -> plan -> measurement, KPIs, report), so a
subcommand asks for the stage it writes and gets exactly the stages it needs.
:class:`Outputs` stages every file in a hidden folder next to the output folder
and moves them into place only when the whole command succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any

import attrs
import numpy as np

import onetoone as oto
from onetoone._optional import import_optional
from onetoone._progress import ProgressBar
from onetoone.cli._config import Config, ConfigError
from onetoone.errors import MissingDependencyError, UnknownIdError, ValidationError
from onetoone.io import _dsn, format_of, read_table, write_table

log = logging.getLogger("onetoone.cli")

CERTIFICATE_FORMAT_VERSION = 1


# --------------------------------------------------------------------------- JSON values
def jsonable(value: Any) -> Any:
    """Plain JSON values: attrs objects as dicts, arrays as lists, non-finite numbers as null."""
    if attrs.has(type(value)):
        return {f.name: jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            return [None if np.isnat(v) else str(v) for v in value]
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


_URI_PASSWORD = re.compile(r"(://[^:/@]*:)([^@]*)@")
_KV_PASSWORD = _dsn._KV_PASSWORD  # a quoted password may hold \' escapes

#: Passwords of the connection strings this process resolved: scrubbed from every
#: message the command prints, whatever a driver puts in its errors.
SECRETS: set[str] = set()


def redact_dsn(dsn: str) -> str:
    """A connection string with its password replaced by ``***`` (URI and key=value forms)."""
    out = _URI_PASSWORD.sub(r"\1***@", dsn)
    return _dsn.scrub(_KV_PASSWORD.sub(r"\1***", out), _dsn.passwords(dsn))


def scrub(text: str) -> str:
    """``text`` with every password in :data:`SECRETS` replaced by ``***``."""
    return _dsn.scrub(text, list(SECRETS))


def _remember_password(dsn: str) -> None:
    # every spelling: as written, %-decoded, unquoted and unescaped (never the empty one)
    SECRETS.update(_dsn.passwords(dsn))


# --------------------------------------------------------------------------- config terms
_KEYWORD = re.compile(r"\b(?:(pass|choose|use) )?(\w+)=('[^']*'|\"[^\"]*\"|[\w.+-]+)")


@contextlib.contextmanager
def config_terms(
    keys: Mapping[str, str], fields: Mapping[str, str] = {}, *, prefix: str = ""
) -> Iterator[None]:
    """Re-raise the library's ValidationErrors in the words of the config.

    A message naming a keyword argument (``pass returns='drop'``) names the config
    key instead (``set ingest.returns = "drop"``); ``keys`` maps keyword -> key path.
    The error's ``field`` becomes the key path of the first keyword named, or
    ``fields[field]`` (a library argument -> the config key that feeds it).
    """
    try:
        yield
    except ValidationError as exc:
        found: list[str] = []

        def sub(m: re.Match[str]) -> str:
            path = keys.get(m.group(2))
            if path is None:
                return m.group(0)
            found.append(path)
            value = m.group(3).strip("'\"")
            shown = value if re.fullmatch(r"[-+]?[\d.]+|true|false|inf", value) else f'"{value}"'
            return f"{'set ' if m.group(1) else ''}{path} = {shown}"

        message = _KEYWORD.sub(sub, str(exc))
        field = found[0] if found else fields.get(exc.field or "", exc.field)
        if message == str(exc) and field == exc.field and not prefix:
            raise
        try:
            new = type(exc)(prefix + message, field=field)
        except TypeError:  # pragma: no cover - every library ValidationError takes field=
            new = ValidationError(prefix + message, field=field)
        raise new from exc


#: Keyword arguments of measure_campaign / track_kpis -> the config keys that feed them.
_MEASURE_KEYS = {
    "start": "dates.start",
    "end": "dates.end",
    "pre_period": "dates.pre_period_days",
    "cost": "measure.cost",
    "margin_rate": "measure.margin_rate",
    "alpha": "measure.alpha",
    "bootstrap": "measure.bootstrap",
}


# --------------------------------------------------------------------------- outputs
class Outputs:
    """Files of one command, staged and committed together (or not at all).

    Every file is first written to a hidden staging folder in the output
    folder's parent (same file system); :meth:`commit` moves them into place
    with :func:`os.replace`, :meth:`abort` deletes them. A failing command
    therefore leaves the output folder exactly as it was.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        parent = os.path.dirname(os.path.abspath(directory))
        if not os.path.isdir(parent):
            raise FileNotFoundError(
                f"cannot write to {directory}: its folder {parent} does not exist; create it"
            )
        self._staging = tempfile.mkdtemp(prefix=".onetoone-staging-", dir=parent)
        self.files: dict[str, str] = {}

    def _stage(self, name: str) -> str:
        self.files[name] = os.path.join(self.directory, name)
        return os.path.join(self._staging, name)

    def table(self, name: str, table: Any) -> None:
        """Stage a pyarrow table (format from the name's suffix)."""
        write_table(table, self._stage(name))

    def json(self, name: str, data: Any) -> None:
        """Stage a JSON document (UTF-8, sorted keys, non-finite numbers refused)."""
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
        with open(self._stage(name), "w", encoding="utf-8") as f:
            f.write(text + "\n")

    def text(self, name: str, text: str) -> None:
        """Stage a text file."""
        with open(self._stage(name), "w", encoding="utf-8") as f:
            f.write(text)

    def model(self, name: str, obj: Any) -> None:
        """Stage a model with :func:`onetoone.save` (``.npz``)."""
        oto.save(obj, self._stage(name))

    def commit(self) -> dict[str, str]:
        """Move every staged file into the output folder; return name -> final path."""
        if self.files:
            os.makedirs(self.directory, exist_ok=True)
        for name, final in self.files.items():
            os.replace(os.path.join(self._staging, name), final)
        shutil.rmtree(self._staging, ignore_errors=True)
        return dict(self.files)

    def abort(self) -> None:
        """Delete the staged files."""
        shutil.rmtree(self._staging, ignore_errors=True)
        self.files.clear()


# --------------------------------------------------------------------------- sources
def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_table(table: Any) -> str:
    pa = import_optional("pyarrow", purpose="fingerprinting a table")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _postgres_module() -> Any:
    """``onetoone.io._postgres``, or MissingDependencyError naming the extra."""
    try:
        import importlib

        return importlib.import_module("onetoone.io._postgres")
    except ModuleNotFoundError as exc:
        if exc.name not in ("onetoone.io._postgres",):
            raise MissingDependencyError(
                f"PostgreSQL sources need the optional dependency {exc.name!r}; install it "
                "with pip install 'onetoone[postgres]'"
            ) from exc
        raise MissingDependencyError(
            "PostgreSQL sources need onetoone.io._postgres, which this build of onetoone "
            "lacks; install a release with the 'postgres' extra (pip install "
            "'onetoone[postgres]')"
        ) from exc


def resolve_dsn(table: Mapping[str, Any], path: str) -> str:
    """The connection string of a source (from ``dsn`` or the variable ``dsn_env``)."""
    if "dsn" in table:
        dsn = str(table["dsn"])
        _remember_password(dsn)
        return dsn
    name = table["dsn_env"]
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"{path}.dsn_env names the environment variable {name!r}, which is not set; "
            f"export {name}=postgresql://user:password@host:port/database",
            field=f"{path}.dsn_env",
        )
    _remember_password(value)
    return value


@attrs.frozen
class Loaded:
    """A source's table and its fingerprint for the certificate."""

    table: Any
    fingerprint: Mapping[str, Any]


def read_source(cfg: Config, name: str) -> Loaded:
    """Read ``sources.<name>`` as a pyarrow table, with its fingerprint."""
    src = cfg.section("sources")[name]
    path = f"sources.{name}"
    if src.get("kind", "file") == "file":
        file = cfg.path(src["path"])
        fmt = format_of(file, src.get("format"))
        log.info("reading %s from %s (%s)", name, file, fmt)
        table = read_table(file, fmt)
        fp = {"kind": "file", "path": file, "format": fmt, "sha256": _sha256_file(file)}
    else:
        pg = _postgres_module()
        dsn = resolve_dsn(src, path)
        what = {"query": src["query"]} if "query" in src else {"table": src["table"]}
        log.info("reading %s from PostgreSQL %s", name, redact_dsn(dsn))
        with config_terms({}, {"query": f"{path}.query", "table": f"{path}.table",
                               "dsn": f"{path}.{'dsn' if 'dsn' in src else 'dsn_env'}"},
                          prefix=f"{path}: "):
            table = pg.read_postgres(dsn, query=src.get("query"), table=src.get("table"))
        fp = {"kind": "postgres", **what, "sha256": _sha256_table(table)}
    return Loaded(table=table, fingerprint={**fp, "rows": int(table.num_rows)})


def _column(table: Any, name: str, path: str) -> Any:
    if name not in table.column_names:
        raise ValidationError(
            f"column {name!r} ({path}) is not in the table; its columns are "
            f"{', '.join(table.column_names)}; set {path} to one of them",
            field=path,
        )
    return table.column(name).to_numpy()


# --------------------------------------------------------------------------- the campaign
class Campaign:
    """Every stage of one campaign, computed on first use from the config."""

    def __init__(
        self,
        cfg: Config,
        *,
        progress: bool | None = None,
        step: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.progress = progress
        self._step = step
        self.inputs: dict[str, Mapping[str, Any]] = {}
        self.warnings: list[str] = []
        self.seed = int(cfg.data.get("seed", 0))

    def warn(self, message: str) -> None:
        """A warning on stderr, also listed in the ``--json`` result (status "warning")."""
        log.warning("warning: %s", message)
        self.warnings.append(message)

    def _enter(self, what: str) -> None:
        if self._step is not None:
            self._step(what)

    def _source(self, name: str, why: str) -> Any:
        if name not in self.cfg.section("sources"):
            raise ConfigError(f"sources.{name} is missing; {why}", field=f"sources.{name}")
        loaded = read_source(self.cfg, name)
        self.inputs[name] = loaded.fingerprint
        return loaded.table

    @property
    def as_of(self) -> np.datetime64:
        t = self.cfg.time("as_of")
        assert t is not None
        return t

    @property
    def start(self) -> np.datetime64:
        t = self.cfg.time("start")
        return self.as_of if t is None else t

    @property
    def end(self) -> np.datetime64:
        t = self.cfg.time("end")
        if t is None:
            raise ConfigError(
                "dates.end is missing; measuring a campaign needs its end (exclusive), "
                "e.g. end = 2017-06-19",
                field="dates.end",
            )
        return t

    # -- ingest
    @cached_property
    def transactions(self) -> oto.Transactions:
        table = self._source("transactions", "every command reads the transaction log")
        self._enter("ingest")
        cols = self.cfg.section("columns")
        for key, default in (("customer", "customer"), ("item", "item"),
                             ("timestamp", "timestamp"), ("value", "value")):
            name = cols.get(key, default)
            if name not in table.column_names:
                _column(table, name, f"columns.{key}")
        for key in ("quantity", "basket"):
            if key in cols:
                _column(table, cols[key], f"columns.{key}")
        discount = cols.get("discount")
        for name in [discount] if isinstance(discount, str) else discount or []:
            _column(table, name, "columns.discount")
        ingest = self.cfg.section("ingest")
        keys = {k: f"ingest.{k}" for k in ("returns", "invalid", "zero_quantity")}
        fields = {k: f"columns.{k}" for k in ("customer", "item", "timestamp", "value",
                                              "quantity", "basket", "discount")}
        with config_terms(keys, fields), ProgressBar(
            f"ingesting {table.num_rows} rows", enabled=self.progress
        ) as bar:
            tx = self._ingest(table, cols, discount, ingest, progress=bar)
        report = tx.report  # its summary is logged by onetoone.data
        limit = float(ingest.get("max_dropped_share", 1.0))
        share = report.n_dropped / report.n_input if report.n_input else 0.0
        if share > limit:
            raise ValidationError(
                f"ingestion dropped {report.n_dropped} of {report.n_input} rows "
                f"({share:.2%}), more than ingest.max_dropped_share = {limit}; fix the log "
                "or raise the limit",
                field="ingest.max_dropped_share",
            )
        return tx

    def _ingest(
        self,
        table: Any,
        cols: Mapping[str, Any],
        discount: Any,
        ingest: Mapping[str, Any],
        *,
        progress: ProgressBar | None = None,
    ) -> oto.Transactions:
        start = time.perf_counter()
        tx = oto.Transactions.from_arrow(
            table,
            customer=cols.get("customer", "customer"),
            item=cols.get("item", "item"),
            timestamp=cols.get("timestamp", "timestamp"),
            value=cols.get("value", "value"),
            quantity=cols.get("quantity"),
            basket=cols.get("basket"),
            discount=discount,
            returns=ingest.get("returns", "raise"),
            invalid=ingest.get("invalid", "raise"),
            zero_quantity=ingest.get("zero_quantity", "drop"),
            progress=progress,  # one tick per ingestion stage
        )
        log.debug("ingest: %d of %d rows kept, %d customers, %d items in %.2fs",
                 tx.report.n_kept, tx.report.n_input, tx.n_customers, tx.n_items,
                 time.perf_counter() - start)
        return tx

    # -- profiles
    @cached_property
    def profiles(self) -> oto.Profiles:
        tx = self.transactions
        self._enter("profiles")
        return oto.build_profiles(tx, as_of=self.as_of, since=self.cfg.time("since"))

    # -- holdout
    @cached_property
    def audience(self) -> Any:
        if "holdout" in self.cfg.section("sources"):
            table = self._source("holdout", "")
            name = self.cfg.section("holdout").get("customer", "customer")
            return _column(table, name, "holdout.customer")
        tx = self.transactions
        codes = np.unique(tx.customer[tx.timestamp < self.as_of])
        return tx.customers.decode(codes)

    @cached_property
    def holdout(self) -> oto.Holdout:
        spec = self.cfg.require(
            "holdout", why="the holdout needs [holdout] with fraction and salt, e.g. "
            "fraction = 0.1 and salt = \"spring-2017\""
        )
        audience = self.audience
        self._enter("holdout")
        return oto.assign_holdout(audience, fraction=float(spec["fraction"]), salt=spec["salt"])

    @property
    def treated(self) -> Any:
        if "holdout" in self.cfg.data:
            return self.holdout.treated
        return self.audience

    # -- models
    @cached_property
    def affinity(self) -> oto.AffinityModel:
        tx = self.transactions
        self._enter("fit affinity")
        spec = dict(self.cfg.section("affinity"))
        method = spec.pop("method", "repeat")
        keys = {k: f"affinity.{k}" for k in ("method", *spec)}
        with config_terms(keys, keys), ProgressBar("fitting", enabled=self.progress) as bar:
            return oto.fit_affinity(
                tx, as_of=self.as_of, method=method, random_state=self.seed, progress=bar,
                **spec,
            )

    @cached_property
    def response(self) -> oto.ResponseModel | None:
        """The response model of ``[response]`` (None without it)."""
        if "response" not in self.cfg.data:
            return None
        spec = self.cfg.section("response")
        table = self._source(
            "responses", "the response model learns from a past campaign's responses"
        )
        customer = _column(table, spec.get("customer", "customer"), "response.customer")
        offer = _column(table, spec.get("offer", "offer"), "response.offer")
        tx, offers = self.transactions, self.offers
        past = self.cfg.time("as_of", "response")
        assert past is not None
        self._enter("fit response")
        aff = dict(self.cfg.section("affinity"))
        method = aff.pop("method", "repeat")
        model = oto.fit_affinity(tx, as_of=past, method=method, random_state=self.seed, **aff)
        audience = tx.customers.decode(np.unique(tx.customer[tx.timestamp < past]))
        scores = oto.score_offers(model, audience, offers, unknown_customers="keep")
        outcome = scores.outcome_matrix(customer, offer, unknown="drop")
        dense = scores.to_dense()
        ok = np.isfinite(dense)
        log.info("response: %d responses among %d scored pairs", int(outcome[ok].sum()),
                 int(ok.sum()))
        return oto.fit_response(
            dense[ok], outcome[ok], method=spec.get("method", "isotonic")
        )

    @cached_property
    def uplift(self) -> Any:
        """The uplift model of ``[uplift]`` from ``[sources.uplift]``."""
        from onetoone.uplift import fit_uplift

        spec = self.cfg.require(
            "uplift", why="fit --model uplift needs [uplift] (features, treatment, outcome) "
            "and [sources.uplift]; see `onetoone schema config`"
        )
        table = self._source("uplift", "the uplift model learns from a past test's rows")
        if not spec["features"]:
            raise ConfigError("uplift.features is empty; list at least one numeric column",
                              field="uplift.features")
        cols = []
        for i, name in enumerate(spec["features"]):
            col = _column(table, name, f"uplift.features[{i}]")
            if col.dtype.kind not in "biuf":
                raise ValidationError(
                    f"uplift.features[{i}]: column {name!r} is not numeric ({col.dtype}); "
                    "give numeric feature columns",
                    field=f"uplift.features[{i}]",
                )
            cols.append(col.astype(np.float64))
        x = np.column_stack(cols)
        treatment = _column(table, spec["treatment"], "uplift.treatment")
        outcome = _column(table, spec["outcome"], "uplift.outcome").astype(np.float64)
        propensity = (
            _column(table, spec["propensity"], "uplift.propensity").astype(np.float64)
            if "propensity" in spec else None
        )
        self._enter("fit uplift")
        keys = {k: f"uplift.{k}" for k in ("method", "control", "propensity", "l2")}
        fields = {"X": "uplift.features", "treatment": "uplift.treatment",
                  "outcome": "uplift.outcome", **keys}
        with config_terms(keys, fields):
            return fit_uplift(
                x, treatment, outcome, method=spec.get("method", "s"),
                control=spec.get("control"), propensity=propensity,
                l2=float(spec.get("l2", 1.0)), random_state=self.seed,
            )

    @cached_property
    def value_models(self) -> tuple[Any, Any, Any]:
        """(purchase summary, frequency model, spend model) of ``[value]`` at dates.as_of."""
        from onetoone import value as v

        spec = self.cfg.require(
            "value", why="fit --model value needs a [value] section (it may be empty: "
            "[value] alone uses the defaults)"
        )
        tx = self.transactions
        self._enter("fit value")
        keys = {"method": "value.method", "unit": "value.unit"}
        with config_terms(keys, keys):
            summary = v.purchase_summary(tx, as_of=self.as_of, unit=spec.get("unit", "W"))
            freq = v.fit_frequency(summary, method=spec.get("method", "bgnbd"))
            spend = v.fit_spend(summary)
        for name, model in (("frequency", freq), ("spend", spend)):
            if not model.success:
                self.warn(f"the {name} model did not converge: {model.message}")
        return summary, freq, spend

    @cached_property
    def lapse(self) -> Any:
        """The lapse model of ``value.lapse_horizon_days`` (fitted at dates.as_of)."""
        from onetoone.value import fit_lapse

        spec = self.cfg.section("value")
        if "lapse_horizon_days" not in spec:
            raise ConfigError(
                "value.lapse_horizon_days is missing; fit --model lapse needs it, e.g. "
                "lapse_horizon_days = 28 in [value]",
                field="value.lapse_horizon_days",
            )
        tx = self.transactions
        self._enter("fit lapse")
        keys = {"horizon_days": "value.lapse_horizon_days", "as_of": "dates.as_of"}
        with config_terms(keys, keys):
            return fit_lapse(tx, as_of=self.as_of,
                             horizon_days=float(spec["lapse_horizon_days"]),
                             random_state=self.seed)

    def value_table(self) -> Any:
        """Per customer: P(alive), expected purchases and spend, CLV (+ lapse risk)."""
        from onetoone.value import customer_value

        pa = import_optional("pyarrow", purpose="the value table")
        summary, freq, spend = self.value_models
        spec = self.cfg.section("value")
        keys = {k: f"value.{k}" for k in ("horizon", "discount_rate", "margin")}
        with config_terms(keys, keys):
            cv = customer_value(
                freq, spend, summary, horizon=float(spec.get("horizon", 52.0)),
                discount_rate=float(spec.get("discount_rate", 0.0)),
                margin=float(spec.get("margin", 1.0)),
            )
        cols = {
            "customer_id": cv.customers.values,
            "p_alive": np.asarray(cv.p_alive),
            "expected_purchases": np.asarray(cv.expected_purchases),
            "expected_spend": np.asarray(cv.expected_spend),
            "clv": np.asarray(cv.clv),
        }
        if "lapse_horizon_days" in spec:
            risk = self.lapse.predict(self.transactions, as_of=self.as_of)
            at = risk.customers.encode(cv.customers.values, unknown="keep")
            cols["lapse_risk"] = np.where(at >= 0, np.asarray(risk.risk)[at], np.nan)
        return pa.table(cols)

    # -- offers and scores
    @cached_property
    def offers(self) -> oto.Offers:
        table = self._source(
            "offers", "scoring and planning need the offers table (offer -> item pairs)"
        )
        spec = self.cfg.section("offers")
        offer_ids = _column(table, spec.get("offer", "offer"), "offers.offer")
        item_ids = _column(table, spec.get("item", "item"), "offers.item")

        def per_offer(key: str, default: Any) -> Any:
            given = spec.get(key, default)
            if given is None or isinstance(given, (int, float)):
                return given
            col = _column(table, given, f"offers.{key}").astype(np.float64)
            mapping = dict(zip(offer_ids.tolist(), col.tolist(), strict=True))
            back = np.array([mapping[o] for o in offer_ids.tolist()])
            if not np.array_equal(back, col, equal_nan=True):
                raise ValidationError(
                    f"offers.{key}: column {given!r} differs between rows of one offer; "
                    "give each offer one value",
                    field=f"offers.{key}",
                )
            return mapping

        try:
            offers = oto.Offers.from_pairs(
                offer_ids,
                item_ids,
                items=self.transactions.items,
                cost=per_offer("cost", 0.0),
                value=per_offer("value", None),
                unknown_items=spec.get("unknown_items", "raise"),
                empty_offers=spec.get("empty_offers", "raise"),
            )
        except UnknownIdError as exc:
            raise UnknownIdError(
                f"offers: {exc}".replace(
                    "pass unknown_items='drop'", "set unknown_items = \"drop\" in [offers]"
                ),
                field="offers.unknown_items",
            ) from exc
        except ValidationError as exc:
            if "empty_offers=" not in str(exc):
                raise
            raise ValidationError(
                f"offers: {exc}".replace(
                    "pass empty_offers='drop'", "set empty_offers = \"drop\" in [offers]"
                ),
                field="offers.empty_offers",
            ) from exc
        if offers.n_dropped_offers:
            log.info("offers: dropped %d offers none of whose items is in the log",
                     offers.n_dropped_offers)
        if offers.n_unknown_items:
            log.info("offers: dropped %d (offer, item) pairs of items not in the log",
                     offers.n_unknown_items)
        return offers

    @cached_property
    def scores(self) -> oto.OfferScores:
        model, offers, treated = self.affinity, self.offers, self.treated
        self._enter("score")
        spec = self.cfg.section("scoring")
        keys = {k: f"scoring.{k}" for k in ("top_k", "aggregate", "exclude_recent_days",
                                            "unknown_customers")}
        with config_terms(keys, keys), ProgressBar("scoring", enabled=self.progress) as bar:
            return oto.score_offers(
                model,
                treated,
                offers,
                top_k=min(int(spec.get("top_k", offers.n_offers)), offers.n_offers),
                aggregate=spec.get("aggregate", "max"),
                exclude_recent_days=spec.get("exclude_recent_days"),
                unknown_customers=spec.get("unknown_customers", "keep"),
                num_threads=int(self.cfg.section("affinity").get("num_threads", 0)),
                progress=bar,
            )

    # -- plan
    @cached_property
    def problem(self) -> oto.AllocationProblem:
        scores, offers = self.scores, self.offers
        self._enter("problem")
        customer, offer, score = scores.to_candidates()
        value = np.asarray(score, dtype=np.float64)
        if self.response is not None:
            value = self.response.predict_proba(value)
        if offers.value is not None:
            per = np.where(np.isnan(offers.value), 1.0, offers.value)
            value = value * per[offer]
        cost = np.asarray(offers.cost, dtype=np.float64)[offer]
        alloc = self.cfg.section("allocation")
        budgets = []
        for i, b in enumerate(self.cfg.data.get("budgets", [])):
            codes = None
            if "offers" in b:
                try:
                    codes = offers.ids.encode(b["offers"], field=f"budgets[{i}].offers")
                except (UnknownIdError, ValidationError) as exc:
                    raise ConfigError(
                        f"budgets[{i}].offers: {exc}; list ids of the offers table",
                        field=f"budgets[{i}].offers",
                    ) from exc
            usage = np.ones_like(value) if b.get("usage", "cost") == "count" else None
            budgets.append(oto.Budget(b["name"], float(b["limit"]), usage=usage, offers=codes))
        cap = np.full(offers.n_offers, float(alloc.get("cap", math.inf)))
        for i, c in enumerate(self.cfg.data.get("caps", [])):
            try:
                code = offers.ids.encode([c["offer"]], field=f"caps[{i}].offer")[0]
            except (UnknownIdError, ValidationError) as exc:
                raise ConfigError(
                    f"caps[{i}].offer: {exc}; give an id of the offers table",
                    field=f"caps[{i}].offer",
                ) from exc
            cap[code] = float(c["limit"])
        return oto.AllocationProblem.from_candidates(
            customer,
            offer,
            value,
            cost,
            n_customers=len(scores.customers),
            n_offers=offers.n_offers,
            budgets=budgets,
            k=int(alloc.get("k", 1)),
            cap=cap,
            min_value=alloc.get("min_value"),
        )

    @cached_property
    def plan(self) -> oto.Plan:
        problem = self.problem
        self._enter("allocate")
        alloc = self.cfg.section("allocation")
        keys = {k: f"allocation.{k}" for k in ("method", "tol", "max_iter", "time_limit")}
        with config_terms(keys, keys), ProgressBar("allocating", enabled=self.progress) as bar:
            allocation = oto.allocate(
                problem, alloc.get("method", "dual"), tol=float(alloc.get("tol", 1e-4)),
                max_iter=int(alloc.get("max_iter", 50)), time_limit=alloc.get("time_limit"),
                progress=bar,
            )
        log.info("%s", allocation.summary())
        if not allocation.success:
            gap = f"{allocation.gap:.2%}" if math.isfinite(allocation.gap) else "unknown"
            what = (
                "the solver found no plan in time: the plan is empty"
                if allocation.status == 2
                else f"the plan is feasible, within {gap} of the best possible"
            )
            self.warn(
                f"allocation did not converge (status {allocation.status}: "
                f"{allocation.message}); {what}; raise allocation.max_iter or "
                "allocation.time_limit, or loosen allocation.tol"
            )
        return oto.Plan(allocation, customers=self.scores.customers, offers=self.offers.ids)

    def certificate(self) -> dict[str, Any]:
        """The plan's certificate plus what reproduces the run."""
        plan = self.plan
        a = plan.allocation
        cert = plan.certificate()
        holdout = None
        if "holdout" in self.cfg.data:
            h = self.holdout
            holdout = {
                "fraction": h.fraction,
                "salt": h.salt,
                "n_treated": len(h) - h.n_holdout,
                "n_holdout": h.n_holdout,
            }
        return {
            "format": "onetoone.certificate",
            "format_version": CERTIFICATE_FORMAT_VERSION,
            **cert,
            "caps": [
                {
                    "offer_id": jsonable(plan.offers.values[o]),
                    "cap": float(a.cap[o]),
                    "used": float(a.offer_usage[o]),
                    "shadow_price": jsonable(float(a.cap_price[o])),
                }
                for o in np.flatnonzero(np.isfinite(a.cap))
            ],
            "total_cost": float(np.sum(plan.allocation.cost)),
            "library_version": oto.__version__,
            "config_sha256": self.cfg.sha256,
            "inputs": jsonable(self.inputs),
            "seed": self.seed,
            "as_of": str(self.as_of),
            "holdout": holdout,
        }

    def plan_table(self) -> Any:
        """The plan as a pyarrow table (metadata: the certificate)."""
        return self.plan.to_arrow()

    def write_plan_table(self) -> str | None:
        """Write the plan to ``outputs.plan_table`` (PostgreSQL); return the table name."""
        spec = self.cfg.section("outputs").get("plan_table")
        if spec is None:
            return None
        pg = _postgres_module()
        dsn = resolve_dsn(spec, "outputs.plan_table")
        log.info("writing the plan to %s on %s", spec["table"], redact_dsn(dsn))
        path = "outputs.plan_table"
        with config_terms({}, {"table": f"{path}.table", "if_exists": f"{path}.if_exists",
                               "data": path, "dsn": f"{path}.dsn"}, prefix=f"{path}: "):
            pg.write_postgres(
                dsn, spec["table"], self.plan_table(), if_exists=spec.get("if_exists", "replace")
            )
        return str(spec["table"])

    # -- measurement
    def _measure_keys(self) -> dict[str, str]:
        """measure_campaign's keywords -> the config keys that feed them."""
        start = "dates.start" if "start" in self.cfg.section("dates") else "dates.as_of"
        return {**_MEASURE_KEYS, "start": start}

    def _measure_kwargs(self) -> dict[str, Any]:
        spec = self.cfg.section("measure")
        days = self.cfg.section("dates").get("pre_period_days")
        return {
            "holdout": self.holdout,
            "start": self.start,
            "end": self.end,
            "cost": self.campaign_cost,
            "pre_period": int(days) if days is not None else None,
            "margin_rate": spec.get("margin_rate"),
            "alpha": float(spec.get("alpha", 0.05)),
            "unknown": "keep",
        }

    @cached_property
    def campaign_cost(self) -> float:
        cost = self.cfg.section("measure").get("cost", "plan")
        if not isinstance(cost, str):
            return float(cost)
        if "plan" in self.__dict__:
            return float(np.sum(self.plan.allocation.cost))
        path = os.path.join(self.out_dir, "certificate.json")
        try:
            with open(path, encoding="utf-8") as f:
                return float(json.load(f)["total_cost"])
        except FileNotFoundError:
            raise FileNotFoundError(
                f"measure.cost = \"plan\" reads the plan's cost from {path}, which does not "
                "exist; run `onetoone plan` first, or set measure.cost to a number"
            ) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"{path} is not a onetoone certificate ({exc}); run `onetoone plan` again",
                field="measure.cost",
            ) from exc

    def table_name(self, stem: str) -> str:
        """``stem`` with the suffix of ``outputs.plan_format`` (default parquet)."""
        return f"{stem}.{self.cfg.section('outputs').get('plan_format', 'parquet')}"

    @property
    def out_dir(self) -> str:
        return self.cfg.path(self.cfg.section("outputs")["dir"])

    @cached_property
    def measurement(self) -> oto.CampaignResult:
        tx = self.transactions
        kwargs = self._measure_kwargs()
        self._enter("measure")
        spec = self.cfg.section("measure")
        keys = self._measure_keys()
        with config_terms(keys, keys), ProgressBar(
            "bootstrap", enabled=self.progress
        ) as bar:
            return oto.measure_campaign(
                tx, bootstrap=int(spec.get("bootstrap", 0)), random_state=self.seed,
                progress=bar, **kwargs,
            )

    @cached_property
    def kpis(self) -> oto.KpiSeries:
        tx = self.transactions
        kwargs = self._measure_kwargs()
        self._enter("kpis")
        spec = self.cfg.section("measure")
        goals = oto.Goals(
            target_roi=spec.get("target_roi"),
            target_incremental_revenue=spec.get("target_incremental_revenue"),
        )
        keys = {**self._measure_keys(), "target_roi": "measure.target_roi",
                "target_incremental_revenue": "measure.target_incremental_revenue"}
        with config_terms(keys, keys):
            return oto.track_kpis(tx, goals=goals, **kwargs)

    def report_html(self) -> str:
        result, kpis = self.measurement, self.kpis
        self._enter("report")
        allocation: dict[str, Any] | None = None
        if "plan" in self.__dict__:
            a = self.plan.allocation
            allocation = {"spend": float(np.sum(a.cost)), "expected_return": float(a.objective)}
            if a.budget_names:
                allocation["budget"] = float(a.budget_limit[0])
                if math.isfinite(float(a.budget_price[0])):
                    allocation["shadow_price"] = float(a.budget_price[0])
            if math.isfinite(float(a.gap)):
                allocation["gap"] = float(a.gap)
        return oto.render_html(
            result=result,
            kpis=kpis,
            allocation=allocation,
            title=str(self.cfg.data.get("title", "Campaign report")),
            currency=str(self.cfg.data.get("currency", "$")),
        )


# --------------------------------------------------------------------------- output tables
def holdout_table(h: oto.Holdout) -> Any:
    pa = import_optional("pyarrow", purpose="the holdout table")
    return pa.table(
        {
            "customer_id": h.customer_ids,
            "in_holdout": np.asarray(h.in_holdout),
            "unit": np.asarray(h.unit),
        }
    )


def scores_table(s: oto.OfferScores) -> Any:
    pa = import_optional("pyarrow", purpose="the scores table")
    customer, offer, score = s.to_candidates()
    return pa.table(
        {
            "customer_id": s.customers.decode(customer),
            "offer_id": s.offers.decode(offer),
            "score": np.asarray(score, dtype=np.float64),
        }
    )


def profiles_table(p: oto.Profiles) -> Any:
    pa = import_optional("pyarrow", purpose="the profiles table")
    cols = p.to_dict()
    cols["customer_id"] = cols.pop("customer")
    return pa.table({"customer_id": cols.pop("customer_id"), **cols})


def measurement_json(result: oto.CampaignResult) -> dict[str, Any]:
    return {"format": "onetoone.measurement", "format_version": 1, **jsonable(result)}


def kpis_json(k: oto.KpiSeries) -> dict[str, Any]:
    return {"format": "onetoone.kpis", "format_version": 1, **jsonable(k)}


def ingestion_json(report: oto.IngestionReport) -> dict[str, Any]:
    return {
        "n_input": report.n_input,
        "n_kept": report.n_kept,
        "n_dropped": report.n_dropped,
        "dropped": dict(report.dropped),
        "n_returns_kept": report.n_returns_kept,
        "policies": dict(report.policies),
    }
