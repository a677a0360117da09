"""Simulation and experiment commands: ``demo``, ``simulate``, ``experiment run``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from nba.cli import (
    JsonOpt,
    app,
    console,
    emit_json,
    err_console,
    user_errors,
    write_atomically,
)

if TYPE_CHECKING:  # the commands import the simulator when they run, not at start
    from nba.experiment import Resize

experiment_app = typer.Typer(help="Compare policies on a simulated scenario.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")

DEMO_CONFIG = "demo.yaml"

# Resizing a run (the config's values otherwise): a quick look, or a bigger population.
CustomersOpt = typer.Option(None, "--customers", min=1, help="Customers (default: the config's).")
DaysOpt = typer.Option(None, "--days", min=1, help="Simulated days (default: the config's).")
SeedsOpt = typer.Option(
    None, "--seeds", min=1, help="Number of seeds: seeds 0..N-1 (default: the config's)."
)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100.0 * x:+.1f}%"


def _table(summary: dict[str, Any]) -> Table:
    t = Table(title=f"{summary['config']}, seeds {summary['seeds']}", title_justify="left")
    for col in ("policy", "reward/cust", "lift vs rules [95% CI]", "headroom", "end", "conv/1k"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    t.add_column("unsub", justify="right")
    t.add_column("viol", justify="right")
    for p in summary["policies"]:
        lift = p["lift_vs_rules"]
        lo, hi = lift["ci95"]
        head = p["oracle_headroom_closed"]
        t.add_row(
            p["name"],
            f"{p['reward_per_customer']['mean']:.4f}",
            f"{_pct(lift['mean'])} [{_pct(lo)}, {_pct(hi)}]",
            "—" if head is None else f"{100.0 * head:.0f}%",
            "—"
            if p.get("last_week", {}).get("oracle_headroom_closed") is None
            else f"{100.0 * p['last_week']['oracle_headroom_closed']:.0f}%",
            f"{p['conversions_per_1000']:.1f}",
            f"{100.0 * p['unsubscribe_rate']:.2f}%",
            str(p["guardrail_violations"]),
        )
    return t


def _run(
    config: Path, as_json: bool, workers: int | None, track: bool, resize: Resize
) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from nba.experiment import load_experiment, run_experiment

    load_experiment(config, resize)  # a bad config is reported before any progress bar is drawn
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    )
    task = progress.add_task("simulating", total=None)
    with progress:
        result = run_experiment(
            config,
            workers=workers,
            track=track,
            resize=resize,
            on_start=lambda k: progress.update(task, total=k),
            on_run=lambda r: progress.update(
                task, advance=1, description=f"{r.policy_name} seed {r.seed}"
            ),
        )
    if result.interrupted:
        err_console.print(
            f"interrupted: kept {len(result.runs)} finished runs "
            f"(compared on seeds {result.summary.get('seeds')})"
        )
    return result.summary


def _report(summary: dict[str, Any], as_json: bool) -> None:
    from nba.experiment import dumps

    if as_json:
        import sys

        sys.stdout.write(dumps(summary) + "\n")
        return
    console.print(_table(summary))
    console.print(
        "headroom: share of the oracle's headroom over the rules closed, whole run; "
        "end: in the last 7 days (true expected reward)"
    )
    ml = summary.get("mlflow")
    if ml:
        champ = ml.get("champion")
        console.print(
            f"champion: [bold]{champ['policy']}[/bold] registered as {champ['model_uri']}"
            if champ
            else "no champion: no learned policy's lift interval is above 0"
        )
        uri = ml["tracking_uri"]
        console.print(
            f"MLflow: experiment {ml['experiment_id']}, run {ml['parent_run_id']}\n"
            f"open it with:  mlflow ui --backend-store-uri {uri}"
            + (f" --registry-store-uri {uri}" if uri.startswith("sqlite") else "")
        )


@experiment_app.command("run")
def experiment_run(
    config: Path = typer.Argument(
        ...,
        help="Experiment config (YAML), or a packaged example's name "
        "(omnichannel, drift, rules-hard-to-beat).",
    ),
    as_json: bool = JsonOpt,
    workers: int = typer.Option(None, "--workers", help="Parallel runs (default: the config's)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    customers: int | None = CustomersOpt,
    days: int | None = DaysOpt,
    seeds: int | None = SeedsOpt,
    policies: list[str] = typer.Option(
        [],
        "--policy",
        help="Policy spec to compare, repeatable; replaces the config's policies "
        "(its baseline is kept).",
    ),
) -> None:
    """Run the config's policies over its seeds and compare them with the rules."""
    from nba.examples import resolve_experiment
    from nba.experiment import Resize

    with user_errors():
        resize = Resize(customers, days, seeds, tuple(policies))
        summary = _run(resolve_experiment(config), as_json, workers, not no_track, resize)
        _report(summary, as_json)


@app.command()
def demo(
    as_json: bool = JsonOpt,
    workers: int = typer.Option(2, "--workers", min=1, help="Parallel runs."),
    customers: int | None = CustomersOpt,
    days: int | None = DaysOpt,
    seeds: int | None = SeedsOpt,
) -> None:
    """Run a small experiment on the omnichannel example and show the comparison."""
    from nba.cli.tour import service_tour
    from nba.examples import DEFAULT_EXAMPLE, example_path
    from nba.experiment import Resize

    with user_errors():
        cfg = example_path(DEFAULT_EXAMPLE, DEMO_CONFIG)
        if not as_json:
            console.print(
                f"[bold]nba demo[/bold]: a small experiment ({cfg}) — the rule baseline, "
                "random, learned bandits and the oracle on simulated customers\n"
            )
        summary = _run(cfg, as_json, workers, True, Resize(customers, days, seeds))
        if as_json:
            _report(summary | {"service_tour": service_tour()}, as_json)
            return
        _report(summary, as_json)
        console.print(
            "\n[bold]the service[/bold], for a moment on loopback (what `nba serve` runs):"
        )
        _print_tour(service_tour())


def _print_tour(tour: dict[str, Any]) -> None:
    from nba.cli.tour import CONTEXT, CUSTOMER

    p, d = tour["policy"], tour["decision"]
    console.print(f"  serving {p['name']} version {p['version']} ({p['source']})")
    ctx = " ".join(f"{k}={v}" for k, v in CONTEXT.items())
    console.print(f"  1 POST /v1/decisions  {CUSTOMER}, {ctx}", highlight=False)
    act = d["action"]
    what = f"{act['message_id']} on {act['channel']}" if act else "nothing (no contact)"
    top = sorted(tour["suppressed_by_rule"].items(), key=lambda kv: -kv[1])
    console.print(
        f"    -> {what} (propensity {d['propensity']:.2f}); "
        f"{sum(n for _, n in top)} suppressed, most by "
        + ", ".join(f"{r} ({n})" for r, n in top[:2]),
        highlight=False,
    )
    console.print(
        f"  2 POST /v1/events  what the customer did, 20 min later "
        f"-> accepted {tour['event']['accepted']}"
    )
    learn, detail = tour["learn"], tour["detail"]
    console.print(
        f"  3 POST /v1/admin/learn  8 days later (window over) "
        f"-> closed {learn['closed']}, learned {learn['learned']}"
    )
    console.print(
        f"  4 GET /v1/decisions/<id>  -> reward {detail['reward']:.3f}"
        f"{' (final)' if detail['reward_final'] else ''}"
    )
    console.print(
        "to keep it running: NBA_ADMIN_KEY=<24+ chars> .venv/bin/nba serve  # docs at /docs"
    )


@app.command()
def simulate(
    scenario: Path = typer.Option(..., "--scenario", help="Scenario YAML."),
    policy: str = typer.Option("rules", "--policy", help="Policy spec, e.g. random or linucb."),
    customers: int = typer.Option(1000, "--customers", min=1),
    days: int = typer.Option(30, "--days", min=1),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", help="Write the decision logs (.parquet/.csv/.jsonl)."),
    no_learn: bool = typer.Option(False, "--no-learn", help="Do not update the policy."),
    as_json: bool = JsonOpt,
) -> None:
    """Run one policy on a scenario and write its decision logs (with true expected rewards)."""
    with user_errors():
        from nba.policies.spec import make_policy
        from nba.simulator.core import Simulator
        from nba.simulator.oracle import OraclePolicy
        from nba.simulator.run import run_policy
        from nba.simulator.scenario import load_scenario

        kind = None
        if out is not None:
            from nba.evaluation.logs import LOG_FORMATS, LogError

            # Known before the simulation runs, not after.
            kind = LOG_FORMATS.get(out.suffix.lower())
            if kind is None:
                raise LogError(
                    f"`--out` {out}: cannot tell the log format from the suffix "
                    f"`{out.suffix}`; expected one of {', '.join(LOG_FORMATS)}"
                )
        sc = load_scenario(scenario)
        sim = Simulator(sc, customers, days=days)
        pol = (
            OraclePolicy(simulator=sim)
            if policy == "oracle"
            else make_policy(policy, random_state=seed, rules=str(sc.rules_path))
        )
        res = run_policy(sim, pol, seed=seed, learn=not no_learn, keep_logs=out is not None)
        written = None
        if out is not None and res.logs is not None:
            from nba.evaluation.logs import write_logs

            logs = res.logs
            # CSV and JSON lines carry the action space in `FILE.meta.json` (see write_logs).
            path = write_atomically(
                out, lambda tmp: write_logs(tmp, logs, fmt=kind), companions=(".meta.json",)
            )
            written = str(path)
        doc = {
            "scenario": str(scenario),
            "policy": pol.spec,
            "customers": customers,
            "days": days,
            "seed": seed,
            "decisions": int(res.totals["decisions"]),
            **{
                k: v
                for k, v in res.totals.items()
                if k not in ("decisions", "daily_reward_per_customer")
            },
            "contacts_per_customer_by_channel": res.contacts_per_customer,
            "guardrail_violations": res.guardrail_violations,
            "seconds": res.seconds,
            "out": written,
        }
        if as_json:
            emit_json(doc)
            return
        t = Table(title=f"{pol.spec} on {sc.name}: {customers} customers × {days} days")
        t.add_column("metric")
        t.add_column("value", justify="right")
        for k, v in doc.items():
            if isinstance(v, float):
                t.add_row(k, f"{v:.4f}")
            elif k not in ("scenario", "policy"):
                t.add_row(k, str(v))
        console.print(t)
