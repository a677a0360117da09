"""Simulation and experiment commands: ``demo``, ``simulate``, ``experiment run``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from nba.cli import JsonOpt, app, console, emit_json, user_errors
from nba.cli.core import _print_decision


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
    decider = Decider(
        cat,
        Guardrails(spec, cat),
        RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml")),
        random_state=0,
    )
    now = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    batch = decider.decide(states, now)
    decisions = batch.to_decisions(cat)
    if as_json:
        emit_json({"decisions": [d.to_dict() for d in decisions]})
        return
    console.print(
        f"[bold]nba demo[/bold]: {len(cat.messages)} messages × "
        f"{len(cat.channels)} channels = {len(cat.actions) - 1} actions + no-contact; "
        f"{len(spec.rules)} guardrails; decisions at {now.isoformat()}\n"
    )
    for i, d in enumerate(decisions):
        _print_decision(d, batch.signals.row(i))
        console.print()
    rules = Counter(s.rule for d in decisions for s in d.suppressed)
    console.print("removals by rule: " + ", ".join(f"{k} {v}" for k, v in rules.most_common()))
