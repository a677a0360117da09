"""`nba decide` and bad profiles: exact messages, exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nba.cli import app
from nba.settings import EXAMPLE_DIR

PROFILE = EXAMPLE_DIR / "profiles" / "lapsed_customer.json"


def test_decide_json_has_the_contract_shape() -> None:
    res = CliRunner().invoke(
        app, ["decide", "--profile", str(PROFILE), "--now", "2026-03-03T19:00:00Z", "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) >= {
        "decision_id",
        "customer_id",
        "action",
        "propensity",
        "policy",
        "explored",
        "suppressed",
        "created_at",
    }
    assert doc["customer_id"] == "c-2002"
    assert doc["action"] == {"message_id": "winback_offer", "channel": "email"}
    assert doc["policy"]["name"] == "rules" and doc["propensity"] == 1.0
    rules = {s["rule"] for s in doc["suppressed"]}
    assert {"consent", "in_app_needs_app", "cart_reminder_needs_cart"} <= rules
    assert all(set(s) == {"message_id", "channel", "rule"} for s in doc["suppressed"])


def test_decide_prints_removed_actions_for_a_marketer() -> None:
    res = CliRunner().invoke(
        app, ["decide", "--profile", str(PROFILE), "--now", "2026-03-03T19:00:00Z"]
    )
    assert res.exit_code == 0, res.output
    assert "winback_offer" in res.stdout and "in_app_needs_app" in res.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"events": []}', "`customer_id`: Field required"),
        (
            '{"customer_id": "c", "events": [{"type": "teleported", "timestamp": '
            '"2026-01-01T00:00:00Z"}]}',
            "event #1, `type`: Input should be 'sent', 'delivered'",
        ),
        (
            '{"customer_id": "c", "events": [{"type": "opened", "timestamp": "yesterday"}]}',
            "event #1, `timestamp`: expected an ISO-8601 timestamp, got 'yesterday'",
        ),
        (
            '{"customer_id": "c", "consent": {"fax": true}}',
            "customer `c`: `consent` names unknown channel `fax`",
        ),
        ('{"customer_id": "c", "timezone": "Mars/Olympus"}', "unknown time zone 'Mars/Olympus'"),
        (
            '{"customer_id": "c", "events": [{"type": "sent", "timestamp": '
            '"2026-01-01T00:00:00Z", "channel": "fax"}]}',
            "unknown channel 'fax'",
        ),
    ],
)
def test_bad_profiles_are_named(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "profile.json"
    f.write_text(content)
    res = CliRunner().invoke(app, ["decide", "--profile", str(f)])
    assert res.exit_code == 2
    assert str(f) in res.stderr and message in res.stderr
    assert "Traceback" not in res.output + res.stderr


def test_bad_now_and_policy() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["decide", "--profile", str(PROFILE), "--now", "soon"])
    assert res.exit_code == 2
    assert "`--now`: expected an ISO-8601 timestamp, got 'soon'" in res.stderr
    res = runner.invoke(app, ["decide", "--profile", str(PROFILE), "--policy", "magic"])
    assert res.exit_code == 2 and "unknown policy `magic`" in res.stderr
