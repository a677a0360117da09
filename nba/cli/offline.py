"""Offline commands: ``evaluate`` and ``train`` on logged decisions.

Both read nba's log format (Parquet, CSV, JSON lines) or another tool's logs
through ``--mapping``, and record one MLflow run (``MLFLOW_TRACKING_URI``,
else ``sqlite:///mlflow.db`` in the working directory).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nba.cli import JsonOpt, app, console, emit_json, user_errors, write_atomically

#: MLflow experiment of the offline commands.
EXPERIMENT = "nba-offline"

LogsOpt = typer.Option(..., "--logs", help="Logged decisions: .parquet, .csv or .jsonl.")
MappingOpt = typer.Option(
    None, "--mapping", help="Mapping YAML for another tool's logs (see docs/contracts.md)."
)
RulesOpt = typer.Option(None, "--rules", help="Journey rules YAML for the `rules` policy.")
SeedOpt = typer.Option(0, "--seed", help="Seed for policies, folds and bootstrap.")


def _metric_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", text).replace("..", "__")


@contextmanager
def _mlflow_run(run_name: str) -> Iterator[Any]:
    """One MLflow run in the ``nba-offline`` experiment.

    Raises
    ------
    ConfigError
        If MLflow cannot use the tracking URI.
    """
    import logging

    import mlflow
    from mlflow.exceptions import MlflowException

    from nba.exceptions import ConfigError

    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from nba.tracking.runs import default_tracking_uri

    uri = default_tracking_uri()
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(EXPERIMENT)
        run = mlflow.start_run(run_name=run_name)
    except MlflowException as exc:
        raise ConfigError(f"MLflow tracking URI `{uri}`: {exc.message}") from None
    with run:
        yield run


def _is_saved(spec: str) -> bool:
    from nba.policies.base import POLICY_FILE

    return (Path(spec) / POLICY_FILE).is_file()


def _load_logs(logs: Path, mapping: Path | None) -> Any:
    from nba.evaluation import read_logs

    return read_logs(logs, mapping)


@app.command()
def evaluate(
    logs: Path = LogsOpt,
    policy: list[str] = typer.Option(
        ..., "--policy", help="Policy spec or saved policy dir (repeat for several)."
    ),
    mapping: Path | None = MappingOpt,
    split: float | None = typer.Option(
        None, "--split", help="Train learning policies on this fraction, evaluate on the rest."
    ),
    split_by_time: bool = typer.Option(
        False, "--split-by-time", help="Split by timestamp: evaluate on the later decisions."
    ),
    segment: str | None = typer.Option(
        None, "--segment", help="Also break the estimates down by this column."
    ),
    min_segment: int = typer.Option(
        100, "--min-segment", help="Refuse segments with fewer decisions."
    ),
    reward_model: str = typer.Option(
        "ridge", "--reward-model", help="Reward model of DM and DR: ridge or hgb."
    ),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples (0: normal CI)."),
    rules: Path | None = RulesOpt,
    seed: int = SeedOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Estimate what policies would have earned on logged decisions (off-policy)."""
    with user_errors():
        from nba.evaluation import evaluate_policies, segment_breakdown, train_from_logs
        from nba.evaluation.logs import LogError
        from nba.policies.spec import make_policy
        from nba.settings import get_settings

        if reward_model not in ("ridge", "hgb"):
            raise LogError(f"`--reward-model`: expected ridge or hgb, got {reward_model!r}")
        data = _load_logs(logs, mapping)
        use_split = split is not None or split_by_time
        train_part, eval_part = (
            data.split(split, by_time=split_by_time) if use_split else (data, data)
        )
        rules_path = str(rules or get_settings().rules)
        policies = []
        notes: dict[str, list[str]] = {}
        for spec in policy:
            pol = make_policy(spec, random_state=seed, rules=rules_path)
            name = spec
            if pol.kind == "learned" and not _is_saved(spec):
                train_from_logs(pol, train_part)
                if not use_split:
                    notes[name] = [
                        "trained and evaluated on the same decisions (no --split): the "
                        "estimate is optimistic"
                    ]
            policies.append((name, pol))
        cmp = evaluate_policies(
            eval_part,
            policies,
            reward_model=reward_model,
            n_bootstrap=bootstrap,
            random_state=seed,
        )
        doc = cmp.to_dict()
        for item in doc["policies"]:
            item["warnings"] = notes.get(item["name"], []) + item["warnings"]
        if use_split:
            doc["split"] = {
                "train": len(train_part),
                "evaluate": len(eval_part),
                "by_time": split_by_time,
            }
        if segment is not None:
            segs = segment_breakdown(
                eval_part,
                policies,
                segment,
                min_decisions=min_segment,
                reward_model=reward_model,
                random_state=seed,
            )
            doc["segments"] = {
                "column": segment,
                "min_decisions": min_segment,
                "items": [s.to_dict() for s in segs],
            }
        with _mlflow_run("evaluate") as run:
            import mlflow

            mlflow.log_params(
                {
                    "command": "evaluate",
                    "logs": str(logs),
                    "mapping": str(mapping) if mapping else "",
                    "policies": json.dumps(policy),
                    "split": split if split is not None else "",
                    "split_by_time": split_by_time,
                    "reward_model": reward_model,
                    "seed": seed,
                }
            )
            metrics = {"n": float(cmp.n), "logging_policy_value": cmp.logging_policy_value.value}
            for p in cmp.policies:
                key = _metric_key(p.name)
                metrics[f"{key}.ess"] = p.effective_sample_size
                for est, e in p.estimates.items():
                    metrics[f"{key}.{est}"] = e.value
                    metrics[f"{key}.{est}.ci_lo"] = e.ci95[0]
                    metrics[f"{key}.{est}.ci_hi"] = e.ci95[1]
            mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})
            mlflow.log_dict(doc, "evaluation.json")
            doc["mlflow_run_id"] = run.info.run_id
        if as_json:
            emit_json(doc)
            return
        _print_comparison(doc)


def _fmt_est(e: dict[str, Any] | None) -> str:
    if e is None:
        return "-"
    lo, hi = e["ci95"]
    return f"{e['value']:.4f} ±{(hi - lo) / 2:.4f}"


def _print_comparison(doc: dict[str, Any]) -> None:
    console.print(
        f"[bold]{doc['n']}[/bold] decisions; logging policy value "
        f"{doc['logging_policy_value']:.4f} (mean logged reward)"
    )
    if "split" in doc:
        s = doc["split"]
        console.print(f"split: trained on {s['train']}, evaluated on {s['evaluate']}")
    ests = list(dict.fromkeys(k for p in doc["policies"] for k in p["estimates"]))
    table = Table(title="estimated value per decision ± 95% half-interval")
    table.add_column("policy")
    for e in ests:
        table.add_column(e.upper())
    table.add_column("ESS", justify="right")
    for p in doc["policies"]:
        table.add_row(
            p["name"],
            *(_fmt_est(p["estimates"].get(e)) for e in ests),
            f"{p['effective_sample_size']:.0f}",
        )
    console.print(table)
    for p in doc["policies"]:
        for w in p["warnings"]:
            console.print(f"[yellow]warning[/yellow] ({p['name']}): {w}", highlight=False)
    if "segments" in doc:
        seg = doc["segments"]
        console.print(f"\nby `{seg['column']}`:")
        for item in seg["items"]:
            if "refused" in item:
                console.print(f"  {item['segment']}: n={item['n']} refused: {item['refused']}")
                continue
            dr = {p["name"]: p["estimates"].get("dr") for p in item["policies"]}
            parts = ", ".join(f"{k} {_fmt_est(v)}" for k, v in dr.items() if v is not None)
            console.print(f"  {item['segment']}: n={item['n']} DR: {parts}")
    console.print(f"MLflow run {doc['mlflow_run_id']}")


@app.command()
def train(
    logs: Path = LogsOpt,
    policy: str = typer.Option(..., "--policy", help="Policy spec, e.g. vw:algo=squarecb."),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Directory to save the trained policy to (replaces an earlier saved policy).",
    ),
    mapping: Path | None = MappingOpt,
    rules: Path | None = RulesOpt,
    seed: int = SeedOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Train a policy from logged decisions and save it (reusable as a --policy spec)."""
    with user_errors():
        from nba.evaluation import train_from_logs
        from nba.policies.spec import make_policy
        from nba.settings import get_settings

        data = _load_logs(logs, mapping)
        pol = make_policy(policy, random_state=seed, rules=str(rules or get_settings().rules))
        result = train_from_logs(pol, data)
        # Saved to a temporary sibling first: a failed save leaves no half-written
        # policy, and only an earlier saved policy at `out` is replaced.
        saved = write_atomically(
            out, result.policy.save, directory=True, replace_dir=lambda d: _is_saved(str(d))
        )
        doc: dict[str, Any] = {
            "policy": result.policy.spec,
            "out": str(saved),
            "n": result.n,
            "seconds": result.seconds,
            "examples_per_second": result.examples_per_second,
        }
        with _mlflow_run("train") as run:
            import mlflow

            mlflow.log_params(
                {
                    "command": "train",
                    "logs": str(logs),
                    "mapping": str(mapping) if mapping else "",
                    "policy": policy,
                    "seed": seed,
                }
            )
            mlflow.log_metrics(
                {
                    "n": float(result.n),
                    "seconds": result.seconds,
                    "examples_per_second": result.examples_per_second,
                }
            )
            mlflow.log_artifacts(str(saved), "policy")
            doc["mlflow_run_id"] = run.info.run_id
        if as_json:
            emit_json(doc)
            return
        console.print(
            f"trained [bold]{doc['policy']}[/bold] on {doc['n']} decisions in "
            f"{doc['seconds']:.2f}s ({doc['examples_per_second']:,.0f} examples/s); "
            f"saved to {doc['out']}; MLflow run {doc['mlflow_run_id']}"
        )
