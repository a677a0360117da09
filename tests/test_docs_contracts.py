"""docs/contracts.md says what the code does: its commands, routes, settings and
decision shape are read from the page and checked against the real CLI, the real
app's OpenAPI document, the settings model and ``Decision.to_dict``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from typer.main import get_command

from nba.api.app import create_app
from nba.catalog import NO_CONTACT
from nba.cli import app as cli_app
from nba.decision import Decision
from nba.settings import Settings

DOC = (Path(__file__).resolve().parent.parent / "docs" / "contracts.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def test_every_documented_command_exists_and_every_command_is_documented() -> None:
    table = _section("Command line").split("\n\n")[1]
    documented = set(re.findall(r"^\| `nba (\w+)", table, flags=re.M))
    assert documented == set(get_command(cli_app).commands)  # type: ignore[attr-defined]


def test_the_route_table_is_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'nba.db'}"),
        learn_interval=0,
        champion_lookup=False,
    )
    served = {
        (method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops
    }
    documented = set(re.findall(r"`(GET|PUT|POST|DELETE) (/[^`]*)`", _section("HTTP")))
    assert documented == served


def test_the_settings_table_names_every_setting() -> None:
    documented = set(re.findall(r"`NBA_([A-Z_]+)`", _section("Settings")))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_the_decision_shape_is_to_dict() -> None:
    block = _section("HTTP").split("### A decision")[1].split("```")[1]
    documented = set(re.findall(r'"(\w+)":', block)) - {"message_id", "channel", "rule"}
    documented -= {"name", "version"}  # inside "policy"
    decision = Decision(
        "d1",
        "c1",
        NO_CONTACT,
        1.0,
        {"no_contact": 1.0},
        "rules",
        "1",
        False,
        (),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert documented == set(decision.to_dict())
