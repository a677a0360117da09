"""Core commands: ``decide`` and ``guardrails check``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nba.cli import (
    CatalogOpt,
    GuardrailsOpt,
    JsonOpt,
    app,
    console,
    emit_json,
    guardrails_app,
    parse_now,
    user_errors,
)


@app.command()
def decide(
    profile: Path = typer.Option(
        ...,
        "--profile",
        help="Customer profile JSON, or a packaged profile's name "
        "(browsing_prospect, lapsed_customer).",
    ),
    now: str | None = typer.Option(None, "--now", help="Decision time, ISO-8601 (default: now)."),
    catalog: Path | None = CatalogOpt,
    guardrails: Path | None = GuardrailsOpt,
    policy: str = typer.Option("rules", "--policy", help="Policy spec or saved policy dir."),
    rules: Path | None = typer.Option(None, "--rules", help="Journey rules YAML for `rules`."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for sampling."),
    as_json: bool = JsonOpt,
) -> None:
    """Decide for one customer profile and show what the guardrails removed and why."""
    with user_errors():
        from nba.catalog import load_catalog
        from nba.examples import resolve_profile
        from nba.guardrails import Guardrails, load_guardrails
        from nba.pipeline import Decider
        from nba.policies.spec import make_policy
        from nba.profile import load_profile, states_from_profiles
        from nba.settings import get_settings

        s = get_settings()
        cat = load_catalog(catalog or s.catalog)
        spec = load_guardrails(guardrails or s.guardrails, cat)
        path = resolve_profile(profile)
        prof = load_profile(path)
        states = states_from_profiles(cat, [prof], source=str(path))
        pol = make_policy(policy, rules=str(rules or s.rules), random_state=seed)
        decider = Decider(cat, Guardrails(spec, cat), pol, random_state=seed)
        batch = decider.decide(states, parse_now(now))
        decision = batch.decision(0, cat)
        if as_json:
            emit_json(decision.to_dict())
            return
        _print_decision(decision, batch.signals.row(0))


def _print_decision(decision: Any, signals: dict[str, Any]) -> None:
    a = decision.action
    what = (
        "no contact"
        if a.is_no_contact
        else f"[bold]{a.message_id}[/bold] on [bold]{a.channel}[/bold]"
    )
    console.print(
        f"customer [bold]{decision.customer_id}[/bold] → {what}  "
        f"(p={decision.propensity:.3f}, policy {decision.policy_name} "
        f"v{decision.policy_version}{', explored' if decision.explored else ''})"
    )
    console.print(
        f"stage: {signals['stage_name']}, local hour: {signals['local_hour']:.1f}, "
        f"contacts 7d: {signals['contacts_7d']:.0f}"
    )
    if decision.holdout:
        console.print("[yellow]in the global holdout: receives nothing[/yellow]")
    by_rule: dict[str, list[str]] = {}
    for sup in decision.suppressed:
        by_rule.setdefault(sup.rule, []).append(f"{sup.message_id}@{sup.channel}")
    if by_rule:
        table = Table(title=f"{len(decision.suppressed)} actions removed by the guardrails")
        table.add_column("rule")
        table.add_column("n", justify="right")
        table.add_column("actions")
        for rule, acts in by_rule.items():
            shown = ", ".join(acts[:6]) + (f", … (+{len(acts) - 6})" if len(acts) > 6 else "")
            table.add_row(rule, str(len(acts)), shown)
        console.print(table)
    allowed = sorted(decision.distribution.items(), key=lambda kv: -kv[1])
    console.print(
        f"allowed: {len(allowed)} actions; "
        + ", ".join(f"{k} {v:.2f}" for k, v in allowed[:5] if v > 0)
    )


@guardrails_app.command("check")
def guardrails_check(
    file: Path = typer.Argument(..., help="Guardrails YAML to validate."),
    catalog: Path | None = CatalogOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Validate a guardrails file against the catalog and summarise it."""
    with user_errors():
        from nba.catalog import load_catalog
        from nba.guardrails import load_guardrails
        from nba.guardrails.rules import RULE_KINDS
        from nba.settings import get_settings

        cat = load_catalog(catalog or get_settings().catalog)
        spec = load_guardrails(file, cat)
        summary = spec.summary()
        if as_json:
            emit_json(
                {
                    "file": str(file),
                    "valid": True,
                    "rules": summary,
                    "names": [r.name for r in spec.rules],
                }
            )
            return
        console.print(
            f"[green]{file}: valid[/green] ({len(spec.rules)} rules, holdout "
            f"{summary['holdout_share']:.0%})"
        )
        table = Table()
        table.add_column("kind")
        table.add_column("rules")
        for kind in RULE_KINDS:
            names = [r.name for r in getattr(spec, kind)]
            if names:
                table.add_row(kind, ", ".join(names))
        console.print(table)
