"""Guardrails files: every mistake named by file, rule, field and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nba.catalog import Catalog
from nba.cli import app
from nba.exceptions import GuardrailsError
from nba.guardrails import parse_guardrails
from nba.settings import EXAMPLE_DIR

BAD = [
    (
        {"frequency_caps": [{"name": "sms_cap", "channel": "sms", "max": -1, "window_days": 1}]},
        "g.yaml, rule `sms_cap`, `max`: Input should be greater than or equal to 0, got -1",
    ),
    (
        {"frequency_caps": [{"name": "w", "max": 2, "window_days": 14}]},
        "g.yaml, rule `w`, `window_days`: `window_days` must be one of 1, 7, 30, 90, got 14",
    ),
    (
        {"frequency_caps": [{"name": "f", "channel": "fax", "max": 1, "window_days": 1}]},
        "g.yaml, rule `f`: `channel` names unknown channel `fax`; expected one of email, in_app",
    ),
    (
        {"eligibility": [{"name": "e", "when": [{"field": "shoe_size", "op": ">", "value": 3}]}]},
        "g.yaml, rule `e`: `when.field` names unknown signal or attribute `shoe_size`",
    ),
    (
        {
            "eligibility": [
                {"name": "e", "when": [{"field": "stage", "op": "==", "value": "loyal"}]}
            ]
        },
        "g.yaml, rule `e`: `when.value` must be a stage (awareness,",
    ),
    (
        {
            "eligibility": [
                {"name": "e", "when": [{"field": "contacts_7d", "op": "in", "value": 3}]}
            ]
        },
        "g.yaml, rule `e`, `when`, condition #1: `value` must be a list for op `in`, got 3",
    ),
    (
        {"eligibility": [{"name": "e", "when": [{"field": "contacts_7d", "op": "~", "value": 3}]}]},
        "g.yaml, rule `e`, `when`, condition #1, `op`: Input should be '==', '!=', '<', '<=', '>', "
        "'>=', 'in' or 'not_in', got '~'",
    ),
    (
        {"eligibility": [{"name": "e", "when": []}]},
        "g.yaml, rule `e`, `when`: List should have at least 1 item, not 0",
    ),
    (
        {"quiet_hours": [{"name": "q", "start": "25:00", "end": 8}]},
        "g.yaml, rule `q`, `start`: expected an hour between 00:00 and 24:00, got '25:00'",
    ),
    (
        {"quiet_hours": [{"name": "q", "start": "late", "end": 8}]},
        "g.yaml, rule `q`, `start`: expected an hour such as \"21:00\" or 21, got 'late'",
    ),
    (
        {"progression": [{"name": "p", "message": "welcome"}]},
        "g.yaml, rule `p`: needs `requires` (a list of messages) or `not_within_days`",
    ),
    (
        {"progression": [{"name": "p", "message": "welcome", "requires": ["teaser"]}]},
        "g.yaml, rule `p`: `requires` names unknown message `teaser`",
    ),
    (
        {"holdout": {"share": 1.5}},
        "g.yaml, `holdout`, `share`: Input should be less than 1, got 1.5",
    ),
    (
        {"budgets": [{"name": "b", "channel": "sms"}]},
        "g.yaml, rule `b`, `max_per_day`: Field required",
    ),
    (
        {"min_gap": [{"name": "g", "hours": 2}, {"name": "g", "hours": 3}]},
        "g.yaml, rule `g`: `name` must be unique",
    ),
    (
        {"suitability": [{"name": "s"}]},
        "g.yaml, rule `s`: needs at least one of `channel`, `content_type`, `topic`",
    ),
    ({"frequency_cap": []}, "g.yaml, `frequency_cap`: is not a known field"),
    (
        {
            "budgets": [
                {"name": "b1", "channel": "web", "max_per_day": 10},
                {"name": "b2", "channel": "web", "max_per_day": 5},
            ]
        },
        "g.yaml, rule `b2`: `channel` `web` already has a budget (one per channel)",
    ),
    (
        {
            "eligibility": [
                {"name": "e", "when": [{"field": "has_app", "op": "==", "value": "maybe"}]}
            ]
        },
        "g.yaml, rule `e`: `when.value` must be one of yes, no for attribute `has_app`, "
        "got 'maybe'",
    ),
    (
        {"min_gap": [{"name": "g", "hours": 1e6}]},
        "g.yaml, rule `g`, `hours`: Input should be less than or equal to 8784",
    ),
    (
        {"min_gap": [{"name": "g", "hours": float("inf")}]},
        "g.yaml, rule `g`, `hours`: Input should be a finite number, got inf",
    ),
]


@pytest.mark.parametrize(("doc", "message"), BAD)
def test_bad_guardrails_are_named(catalog: Catalog, doc: dict, message: str) -> None:
    with pytest.raises(GuardrailsError) as info:
        parse_guardrails(doc, catalog, "g.yaml")
    assert message in str(info.value)


def test_example_is_valid_and_summarised(catalog: Catalog) -> None:
    res = CliRunner().invoke(
        app, ["guardrails", "check", str(EXAMPLE_DIR / "guardrails.yaml"), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert '"valid": true' in res.stdout and '"frequency_caps": 5' in res.stdout


def test_check_command_rejects_bad_file_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("frequency_caps:\n  - {name: sms_cap, channel: sms, max: -1, window_days: 1}\n")
    res = CliRunner().invoke(app, ["guardrails", "check", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}, rule `sms_cap`, `max`" in res.stderr
    assert "Traceback" not in res.output + res.stderr
