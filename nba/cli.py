"""The ``nba`` command.

Every command that reports results accepts ``--json`` and then prints one
JSON document on stdout. Errors a user can cause print ``error: ...`` on
stderr and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from nba.exceptions import NBAError

app = typer.Typer(help="nba: next-best-action decisions with guardrails and bandits.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
guardrails_app = typer.Typer(help="Validate and inspect guardrails files.", no_args_is_help=True)
app.add_typer(guardrails_app, name="guardrails")

console = Console()
err_console = Console(stderr=True)

__all__ = ["app", "main"]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn nba's errors into ``error: ...`` on stderr and exit status 2."""
    try:
        yield
    except NBAError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def emit_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def _parse_now(now: str | None) -> datetime:
    from nba.events import parse_timestamp
    from nba.exceptions import ConfigError

    if now is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(now)
    except ValueError:
        raise ConfigError(f"`--now`: expected an ISO-8601 timestamp, got {now!r}") from None


CatalogOpt = typer.Option(None, "--catalog", help="Catalog YAML (default: NBA_CATALOG or the "
                          "omnichannel example).")
GuardrailsOpt = typer.Option(None, "--guardrails", help="Guardrails YAML (default: "
                             "NBA_GUARDRAILS or the example).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document.")


@app.command()
def decide(
    profile: Path = typer.Option(..., "--profile", help="Customer profile JSON."),
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
        from nba.guardrails import Guardrails, load_guardrails
        from nba.pipeline import Decider
        from nba.policies.spec import make_policy
        from nba.profile import load_profile, states_from_profiles
        from nba.settings import get_settings

        s = get_settings()
        cat = load_catalog(catalog or s.catalog)
        spec = load_guardrails(guardrails or s.guardrails, cat)
        prof = load_profile(profile)
        states = states_from_profiles(cat, [prof], source=str(profile))
        pol = make_policy(policy, rules=str(rules or s.rules), random_state=seed)
        decider = Decider(cat, Guardrails(spec, cat), pol, random_state=seed)
        batch = decider.decide(states, _parse_now(now))
        decision = batch.decision(0, cat)
        if as_json:
            emit_json(decision.to_dict())
            return
        _print_decision(decision, batch.signals.row(0))


def _print_decision(decision: Any, signals: dict[str, Any]) -> None:
    a = decision.action
    what = "no contact" if a.is_no_contact else f"[bold]{a.message_id}[/bold] on [bold]{a.channel}[/bold]"
    console.print(f"customer [bold]{decision.customer_id}[/bold] → {what}  "
                  f"(p={decision.propensity:.3f}, policy {decision.policy_name} "
                  f"v{decision.policy_version}{', explored' if decision.explored else ''})")
    console.print(f"stage: {signals['stage_name']}, local hour: {signals['local_hour']:.1f}, "
                  f"contacts 7d: {signals['contacts_7d']:.0f}")
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
    console.print(f"allowed: {len(allowed)} actions; " + ", ".join(
        f"{k} {v:.2f}" for k, v in allowed[:5] if v > 0))


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
        from nba.settings import get_settings

        cat = load_catalog(catalog or get_settings().catalog)
        spec = load_guardrails(file, cat)
        summary = spec.summary()
        if as_json:
            emit_json({"file": str(file), "valid": True, "rules": summary,
                       "names": [r.name for r in spec.rules]})
            return
        console.print(f"[green]{file}: valid[/green] ({len(spec.rules)} rules, holdout "
                      f"{summary['holdout_share']:.0%})")
        table = Table()
        table.add_column("kind")
        table.add_column("rules")
        for kind in ("suitability", "eligibility", "progression", "frequency_caps", "min_gap",
                     "quiet_hours", "budgets"):
            names = [r.name for r in getattr(spec, kind)]
            if names:
                table.add_row(kind, ", ".join(names))
        console.print(table)


@app.command()
def demo(as_json: bool = JsonOpt) -> None:
    """Show nba on the shipped omnichannel example."""
    with user_errors():
        _demo_decisions(as_json)


def _demo_decisions(as_json: bool) -> None:
    from nba.catalog import load_catalog
    from nba.guardrails import Guardrails, load_guardrails
    from nba.pipeline import Decider
    from nba.policies.rules import RulePolicy
    from nba.profile import load_profile, states_from_profiles
    from nba.settings import EXAMPLE_DIR

    cat = load_catalog(EXAMPLE_DIR / "catalog.yaml")
    spec = load_guardrails(EXAMPLE_DIR / "guardrails.yaml", cat)
    profiles = [load_profile(p) for p in sorted((EXAMPLE_DIR / "profiles").glob("*.json"))]
    states = states_from_profiles(cat, profiles)
    decider = Decider(cat, Guardrails(spec, cat),
                      RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml")), random_state=0)
    now = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    batch = decider.decide(states, now)
    decisions = batch.to_decisions(cat)
    if as_json:
        emit_json({"decisions": [d.to_dict() for d in decisions]})
        return
    console.print(f"[bold]nba demo[/bold]: {len(cat.messages)} messages × "
                  f"{len(cat.channels)} channels = {len(cat.actions) - 1} actions + no-contact; "
                  f"{len(spec.rules)} guardrails; decisions at {now.isoformat()}\n")
    for i, d in enumerate(decisions):
        _print_decision(d, batch.signals.row(i))
        console.print()
    rules = Counter(s.rule for d in decisions for s in d.suppressed)
    console.print("removals by rule: " + ", ".join(f"{k} {v}" for k, v in rules.most_common()))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nba`` console script."""
    command: Callable[..., Any] = typer.main.get_command(app)
    command.main(args=argv, prog_name="nba")
