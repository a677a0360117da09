"""The ``nba`` command.

The shared Typer ``app`` and output helpers live here; commands live in one
module per area (``core``: decide, guardrails, demo; ``experiment``:
simulate, experiment; ``offline``: evaluate, train, export; ``service``:
serve, keys), each registering on ``app`` when imported.

Every command that reports results accepts ``--json`` and then prints one
JSON document on stdout. Errors a user can cause print ``error: ...`` on
stderr and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console

from nba.exceptions import NBAError

app = typer.Typer(
    help="nba: next-best-action decisions with guardrails and bandits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
guardrails_app = typer.Typer(help="Validate and inspect guardrails files.", no_args_is_help=True)
app.add_typer(guardrails_app, name="guardrails")

console = Console()
err_console = Console(stderr=True)

__all__ = [
    "app",
    "main",
    "console",
    "err_console",
    "user_errors",
    "emit_json",
    "parse_now",
    "CatalogOpt",
    "GuardrailsOpt",
    "JsonOpt",
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn nba's errors into ``error: ...`` on stderr and exit status 2."""
    try:
        yield
    except NBAError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def emit_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def parse_now(now: str | None) -> datetime:
    from nba.events import parse_timestamp
    from nba.exceptions import ConfigError

    if now is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(now)
    except ValueError:
        raise ConfigError(f"`--now`: expected an ISO-8601 timestamp, got {now!r}") from None


CatalogOpt = typer.Option(
    None, "--catalog", help="Catalog YAML (default: NBA_CATALOG or the omnichannel example)."
)
GuardrailsOpt = typer.Option(
    None, "--guardrails", help="Guardrails YAML (default: NBA_GUARDRAILS or the example)."
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON document.")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nba`` console script."""
    command = typer.main.get_command(app)
    command.main(args=argv, prog_name="nba")


# the command modules register on `app` when imported (kept last: they import from here)
from nba.cli import core, experiment, offline, service  # noqa: E402, F401
