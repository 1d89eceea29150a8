"""The subcommands: each asks the :class:`Campaign` for its stage and stages its files."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from onetoone._progress import ProgressBar
from onetoone.cli._config import Config, ConfigError, load_config
from onetoone.cli._pipeline import (
    Campaign,
    Outputs,
    holdout_table,
    ingestion_json,
    kpis_json,
    measurement_json,
    profiles_table,
    scores_table,
)

log = logging.getLogger("onetoone.cli")

Summary = dict[str, Any]


@attrs.frozen
class Command:
    """A subcommand: its help line, what it does, and the stages it runs (for progress)."""

    help: str
    func: Callable[[Campaign, Outputs, argparse.Namespace], Summary]
    stages: int
    needs: tuple[str, ...] = ()


#: What a command needs beyond the schema's required keys, checked before anything runs.
_NEEDS: dict[str, str] = {
    "sources.offers": "scoring and planning need the offers table: add [sources.offers]",
    "holdout": "the holdout needs [holdout] with fraction and salt, e.g. fraction = 0.1 "
    "and salt = \"spring-2017\"",
    "dates.end": "measuring a campaign needs its end (exclusive), e.g. end = 2017-06-19",
}


def _preflight(cfg: Config, cmd: Command) -> None:
    """Every key ``cmd`` needs is in the config (before any file is read)."""
    for path in cmd.needs:
        node: Any = cfg.data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            raise ConfigError(f"{path} is missing; {_NEEDS[path]}", field=path)


# --------------------------------------------------------------------------- models
def _fit_affinity(c: Campaign, out: Outputs) -> Summary:
    model = c.affinity
    out.model("affinity.npz", model)
    return {
        "method": model.method,
        "n_customers": model.n_customers,
        "n_items": model.n_items,
        "fit_seconds": round(model.fit_seconds, 3),
    }


def _fit_response(c: Campaign, out: Outputs) -> Summary:
    model = c.response
    if model is None:
        raise ConfigError(
            "fit --model response needs a [response] section (as_of, customer, offer) and "
            "[sources.responses]; see `onetoone schema config`",
            field="response",
        )
    out.model("response.npz", model)
    return {"method": model.method, "n_pairs": int(model.n), "n_positive": int(model.n_positive)}


def _fit_uplift(c: Campaign, out: Outputs) -> Summary:
    model = c.uplift
    out.model("uplift.npz", model)
    return {
        "method": model.method,
        "outcome_type": model.outcome_type,
        "n_rows": None if model.arm_counts is None else int(sum(model.arm_counts)),
        "n_features": len(c.cfg.section("uplift")["features"]),
        "control": str(model.control),
        "treatments": [str(t) for t in model.treatments],
    }


def _fit_value(c: Campaign, out: Outputs) -> Summary:
    summary, freq, spend = c.value_models
    out.model("frequency.npz", freq)
    out.model("spend.npz", spend)
    table = c.value_table()
    out.table(c.table_name("value"), table)
    clv = table.column("clv").to_numpy()
    return {
        "method": freq.method,
        "n_customers": len(summary.customers),
        "frequency_converged": bool(freq.success),
        "spend_converged": bool(spend.success),
        "clv_total": float(np.sum(clv)),
    }


def _fit_lapse(c: Campaign, out: Outputs) -> Summary:
    model = c.lapse
    out.model("lapse.npz", model)
    return {"horizon_days": float(model.horizon_days), "n_train": int(model.n_train),
            "n_lapsed": int(model.n_lapsed), "converged": bool(model.converged)}


#: Model kinds ``fit --model`` knows: name -> fitter writing its files; each kind
#: has its config section (``[response]``, ``[uplift]``, ``[value]``).
MODEL_KINDS: dict[str, Callable[[Campaign, Outputs], Summary]] = {
    "affinity": _fit_affinity,
    "response": _fit_response,
    "uplift": _fit_uplift,
    "value": _fit_value,
    "lapse": _fit_lapse,
}


def _default_kinds(cfg: Config) -> list[str]:
    """The kinds ``fit`` fits without ``--model``: affinity and every kind configured."""
    kinds = ["affinity"]
    kinds += ["response"] if "response" in cfg.data else []
    kinds += ["uplift"] if "uplift" in cfg.data else []
    kinds += ["value"] if "value" in cfg.data else []
    kinds += ["lapse"] if "lapse_horizon_days" in cfg.section("value") else []
    return kinds


# --------------------------------------------------------------------------- commands
def _validate(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    tx = c.transactions
    report = tx.report
    return {
        "ingestion": ingestion_json(report),
        "n_customers": tx.n_customers,
        "n_items": tx.n_items,
        "n_baskets": tx.n_baskets,
        "period": [str(t) for t in tx.period],
    }


def _profile(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    p = c.profiles
    out.table(c.table_name("profiles"), profiles_table(p))
    return {"n_customers": len(p.customers), "as_of": str(c.as_of)}


def _fit(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    kinds = args.model or _default_kinds(c.cfg)
    return {"models": {kind: MODEL_KINDS[kind](c, out) for kind in dict.fromkeys(kinds)}}


def _score(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    s = c.scores
    out.table(c.table_name("scores"), scores_table(s))
    return {
        "n_customers": len(s.customers),
        "n_offers": len(s.offers),
        "n_cold_customers": s.n_cold_customers,
        "n_unknown_items": s.n_unknown_items,
    }


def _plan_summary(c: Campaign) -> Summary:
    cert = c.certificate()
    keys = ("status", "success", "objective", "bound", "gap", "n_pairs", "total_cost")
    return {k: cert[k] for k in keys} | {"budgets": cert["budgets"]}


def _stage_plan(c: Campaign, out: Outputs) -> Summary:
    out.table(c.table_name("plan"), c.plan_table())
    out.json("certificate.json", c.certificate())
    table = c.write_plan_table()
    summary = _plan_summary(c)
    if table is not None:
        summary["plan_table"] = table
    return summary


def _plan(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    return _stage_plan(c, out)


def _holdout(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    h = c.holdout
    out.table(c.table_name("holdout"), holdout_table(h))
    return {"n_customers": len(h), "n_holdout": h.n_holdout, "salt": h.salt}


def _measure_summary(c: Campaign) -> Summary:
    r = c.measurement
    return {
        "lift": r.lift.estimate,
        "lift_ci": [r.lift.ci_low, r.lift.ci_high],
        "incremental_revenue": r.incremental_revenue.estimate,
        "roi": None if r.roi is None else r.roi.estimate,
        "cost": r.cost,
        "sample_ratio": r.sample_ratio.status,
    }


def _measure(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    out.json("measurement.json", measurement_json(c.measurement))
    out.json("kpis.json", kpis_json(c.kpis))
    log.info("%s", c.measurement.summary(currency=str(c.cfg.data.get("currency", "$"))))
    from onetoone.cli._pipeline import jsonable

    return jsonable(_measure_summary(c))  # type: ignore[no-any-return]


def _report(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    out.text("report.html", c.report_html())
    return {"title": str(c.cfg.data.get("title", "Campaign report"))}


def _run(c: Campaign, out: Outputs, args: argparse.Namespace) -> Summary:
    from onetoone.cli._pipeline import jsonable

    summary: Summary = {"ingestion": ingestion_json(c.transactions.report)}
    out.table(c.table_name("profiles"), profiles_table(c.profiles))
    if "holdout" in c.cfg.data:
        out.table(c.table_name("holdout"), holdout_table(c.holdout))
    summary["models"] = {"affinity": _fit_affinity(c, out)}
    if c.response is not None:
        summary["models"]["response"] = _fit_response(c, out)
    out.table(c.table_name("scores"), scores_table(c.scores))
    summary["plan"] = _stage_plan(c, out)
    if "holdout" in c.cfg.data and "end" in c.cfg.section("dates"):
        out.json("measurement.json", measurement_json(c.measurement))
        out.json("kpis.json", kpis_json(c.kpis))
        summary["measurement"] = jsonable(_measure_summary(c))
        out.text("report.html", c.report_html())
    else:
        log.info("no [holdout] or dates.end: skipping measure and report")
    return summary


COMMANDS: dict[str, Command] = {
    "validate": Command("ingest the log and print the ingestion report", _validate, 1),
    "profile": Command("build customer profiles as of dates.as_of", _profile, 2),
    "fit": Command(
        "fit the models (affinity; response, uplift, value and lapse with their sections)",
        _fit,
        3,
    ),
    "score": Command(
        "score the treated customers against the offers", _score, 5, ("sources.offers",)
    ),
    "plan": Command(
        "allocate offers under budgets, caps and k; write the plan and its certificate",
        _plan,
        7,
        ("sources.offers",),
    ),
    "holdout": Command("split the audience into treated and holdout", _holdout, 2, ("holdout",)),
    "measure": Command(
        "measure the campaign window against the holdout", _measure, 4, ("holdout", "dates.end")
    ),
    "report": Command("render the HTML report", _report, 5, ("holdout", "dates.end")),
    "run": Command("run the whole campaign: every step above", _run, 10, ("sources.offers",)),
}


def _with_output_dir(cfg: Config, directory: str | None) -> Config:
    if directory is None:
        return cfg
    import os

    outputs = dict(cfg.section("outputs"))
    outputs["dir"] = os.path.abspath(directory)
    return attrs.evolve(cfg, data={**cfg.data, "outputs": outputs})


def run_command(cmd: Command, args: argparse.Namespace) -> Mapping[str, Any]:
    """Load the config, run ``cmd`` and commit its files; return the JSON result fields."""
    cfg = _with_output_dir(load_config(args.config), args.output_dir)
    _preflight(cfg, cmd)
    enabled = False if args.quiet else None
    bar = ProgressBar(args.command, enabled=enabled)
    done = [0]

    def step(what: str) -> None:
        done[0] += 1
        log.info("- %s", what)
        bar(done[0], max(cmd.stages, done[0]))

    campaign = Campaign(cfg, progress=enabled, step=step)
    out = Outputs(campaign.out_dir)
    try:
        with bar:
            summary = cmd.func(campaign, out, args)
        files = out.commit()
    except BaseException:
        out.abort()
        raise
    for path in files.values():
        log.info("wrote %s", path)
    return {
        "config_sha256": cfg.sha256,
        "outputs": files,
        "inputs": {k: dict(v) for k, v in campaign.inputs.items()},
        "summary": summary,
        "warnings": list(campaign.warnings),
    }
