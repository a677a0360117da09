"""Logging an experiment to MLflow: parent run, nested runs, plots, champion model."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nba.policies.registry import load_policy
from nba.simulator.core import Simulator
from nba.simulator.run import DAILY_METRICS
from nba.tracking.models import (
    CHAMPION,
    REGISTERED_MODEL,
    log_policy_model,
    register_policy,
    signals_frame,
)
from nba.tracking.plots import learning_curves, lift_chart
from nba.tracking.runs import ExperimentTracker, file_hash

if TYPE_CHECKING:
    from nba.experiment import ExperimentResult, LoadedExperiment

__all__ = ["track_experiment"]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def track_experiment(
    result: ExperimentResult, loaded: LoadedExperiment, *, tracking_uri: str | None = None
) -> dict[str, Any]:
    """Log an experiment's runs; returns the ``mlflow`` part of the JSON summary.

    One experiment per config (``experiment_name`` or the config's ``name``),
    a parent run with a nested run per policy x seed holding params (policy
    spec and hyperparameters, scenario, goal, guardrails hash, seed),
    per-day metrics (step = day) and per-channel / per-message CSVs; the
    parent holds the configs, learning curves, the lift chart and the
    summary. The best learned policy is logged as a pyfunc model and
    registered as ``nba``; it gets the ``champion`` alias only when its
    lift interval is above 0.
    """
    cfg, sc = loaded.config, loaded.scenario
    tracker = ExperimentTracker(
        cfg.experiment_name or f"nba-{cfg.name}",
        tracking_uri=tracking_uri,
        run_name=f"{cfg.name}{' (interrupted)' if result.interrupted else ''}",
        tags={"nba.config": str(loaded.source)},
    )
    parent = tracker.parent_run_id
    g_hash = file_hash(sc.paths["guardrails"])
    common = {
        "scenario": sc.name,
        "scenario_file": str(loaded.scenario_path),
        "goal": json.dumps(sc.goal.to_dict(), sort_keys=True),
        "guardrails_hash": g_hash,
        "customers": cfg.customers,
        "days": cfg.days,
    }
    tracker.log_params(
        parent,
        {
            **common,
            "config": str(loaded.source),
            "seeds": list(cfg.seeds),
            "policies": [e.spec for e in cfg.policies],
            "baseline": cfg.baseline,
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for r in result.runs:
            from nba.policies.spec import parse_spec

            _, flags = parse_spec(r.spec)
            params = {
                **common,
                "policy": r.policy_name,
                "policy_spec": r.spec,
                "policy_kind": r.kind,
                "seed": r.seed,
                **{f"policy.{k}": v for k, v in flags.items()},
            }
            series = {m: [(day + 1, d[m]) for day, d in enumerate(r.daily)] for m in DAILY_METRICS}
            for day, row in enumerate(r.daily):  # the policy's own figures, e.g. a guard's share
                for m in row.keys() - DAILY_METRICS:
                    series.setdefault(m, []).append((day + 1, row[m]))
            rid = tracker.start_child(f"{r.policy_name}-seed{r.seed}", params, series)
            tracker.log_metrics(
                rid,
                {
                    "guardrail_violations": [(cfg.days, float(r.guardrail_violations))],
                    "seconds": [(cfg.days, r.seconds)],
                    **{
                        f"contacts_per_customer.{c}": [(cfg.days, v)]
                        for c, v in r.contacts_per_customer.items()
                    },
                },
            )
            d = out / rid
            d.mkdir()
            tracker.log_file(rid, _write_csv(d / "by_channel.csv", r.by_channel), "breakdowns")
            tracker.log_file(rid, _write_csv(d / "by_message.csv", r.by_message), "breakdowns")
            tracker.end_child(rid)
        # parent artifacts: configs, plots, summary
        for key in ("catalog", "guardrails", "goal", "rules"):
            tracker.log_file(parent, sc.paths[key], "config")
        tracker.log_file(parent, loaded.source, "config")
        tracker.log_file(parent, loaded.scenario_path, "config")
        names = [e.name for e in cfg.policies]
        for metric, label in (
            ("expected_reward_per_customer", "true expected reward per customer, per day"),
            ("reward_per_customer", "cumulative reward per customer"),
            ("regret_per_customer", "cumulative regret per customer (vs oracle)"),
        ):
            curves = {n: result.daily_matrix(n, metric) for n in names}
            curves = {n: c for n, c in curves.items() if c.size}
            if metric == "expected_reward_per_customer":  # the learning curve proper
                curves = {n: np.diff(c, axis=1, prepend=0.0) for n, c in curves.items()}
            tracker.log_file(
                parent,
                learning_curves(
                    curves,
                    out / f"learning_curve_{metric}.png",
                    ylabel=label,
                    title=f"{cfg.name}: {label}",
                ),
                "plots",
            )
        pols = result.summary.get("policies", [])
        if pols:
            tracker.log_file(
                parent,
                lift_chart(
                    [p["name"] for p in pols],
                    [p["lift_vs_rules"]["mean"] for p in pols],
                    [p["lift_vs_rules"]["ci95"] for p in pols],
                    out / "lift_chart.png",
                ),
                "plots",
            )
            rows = [
                {
                    "policy": p["name"],
                    "kind": p["kind"],
                    "reward_per_customer": p["reward_per_customer"]["mean"],
                    "lift_vs_rules": p["lift_vs_rules"]["mean"],
                    "lift_lo": p["lift_vs_rules"]["ci95"][0],
                    "lift_hi": p["lift_vs_rules"]["ci95"][1],
                    "oracle_headroom_closed": p["oracle_headroom_closed"],
                    "guardrail_violations": p["guardrail_violations"],
                }
                for p in pols
            ]
            tracker.log_file(parent, _write_csv(out / "summary.csv", rows))
            for p in pols:
                tracker.log_metrics(
                    parent,
                    {
                        f"{p['name']}.reward_per_customer": [(0, p["reward_per_customer"]["mean"])],
                        f"{p['name']}.lift_vs_rules": [(0, p["lift_vs_rules"]["mean"])],
                    },
                )
        champion = _champion(result, loaded, tracker)
        doc = {
            "tracking_uri": tracker.tracking_uri,
            "experiment_id": tracker.experiment_id,
            "parent_run_id": parent,
            "champion": champion,
        }
        (out / "results.json").write_text(result.summary_json(mlflow=doc))
        tracker.log_file(parent, out / "results.json")
    tracker.finish("KILLED" if result.interrupted else "FINISHED")
    return doc


def _champion(
    result: ExperimentResult, loaded: LoadedExperiment, tracker: ExperimentTracker
) -> dict[str, str] | None:
    """Log and register the best learned policy; alias it only if its lift is sure."""
    learned = [p for p in result.summary.get("policies", []) if p["kind"] == "learned"]
    if not learned or not result.summary.get("seeds"):
        return None
    best = max(learned, key=lambda p: p["reward_per_customer"]["mean"])
    saved = result.saved_policies.get((best["name"], loaded.config.seeds[0]))
    if not saved:
        return None
    sc = loaded.scenario
    example = _input_example(loaded)
    uri = log_policy_model(
        load_policy(saved),
        run_id=tracker.parent_run_id,
        catalog_path=sc.paths["catalog"],
        guardrails_path=sc.paths["guardrails"],
        input_example=example,
    )
    sure = best["lift_vs_rules"]["ci95"][0] > 0
    version = register_policy(
        uri,
        champion=sure,
        description=f"{best['name']} ({best['spec']}) from {loaded.source}; lift "
        f"{best['lift_vs_rules']['mean']:+.1%} {best['lift_vs_rules']['ci95']}",
    )
    tracker.client.set_tag(tracker.parent_run_id, "nba.best_learned", best["name"])
    tracker.client.set_tag(tracker.parent_run_id, "nba.model_version", version)
    if not sure:
        return None
    return {"model_uri": f"models:/{REGISTERED_MODEL}@{CHAMPION}", "policy": best["name"]}


def _input_example(loaded: LoadedExperiment) -> Any:
    sim = Simulator(loaded.scenario, 3, days=1)
    sim.reset(seed=0)
    opp = sim.observe()
    return signals_frame(sim.states.signals(opp.now))
