"""The packaged examples by name, and resized experiment runs, from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nba.cli import app
from nba.examples import example_path


def test_decide_takes_a_packaged_profile_by_name() -> None:
    res = CliRunner().invoke(
        app, ["decide", "--profile", "lapsed_customer", "--now", "2026-03-03T19:00:00Z", "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["customer_id"] == "c-2002"
    assert doc["action"] == {"message_id": "winback_offer", "channel": "email"}


def test_experiment_run_resized_by_name() -> None:
    res = CliRunner().invoke(
        app,
        [
            "experiment", "run", "omnichannel", "--customers", "40", "--days", "2",
            "--seeds", "2", "--policy", "random", "--workers", "1", "--no-track", "--json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["config"] == str(example_path("omnichannel", "experiment.yaml"))
    assert (doc["customers"], doc["days"], doc["seeds"]) == (40, 2, [0, 1])
    # the config's baseline stays, in front, since every policy is compared with it
    assert [p["name"] for p in doc["policies"]] == ["rules", "random"]
    assert doc["policies"][0]["lift_vs_rules"]["mean"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["experiment", "run", "huge"], "`CONFIG` huge: no such file, nor a packaged experiment"),
        (["experiment", "run", "drift", "--policy", "nope"], "with --policy nope, policy `nope`"),
        (["experiment", "run", "drift", "--customers", "0"], "--customers"),
        (["experiment", "run", "drift", "--seeds", "-1"], "--seeds"),
        (["demo", "--days", "0"], "--days"),
        (["decide", "--profile", "vip"], "`--profile` vip: no such file, nor a packaged profile"),
    ],
)
def test_bad_names_and_sizes_are_one_error(args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
