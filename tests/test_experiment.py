"""The experiment runner and its CLI: configs, the JSON shape, Ctrl-C, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nba.cli import app
from nba.exceptions import ConfigError
from nba.experiment import load_experiment, run_experiment
from nba.settings import EXAMPLE_DIR
from nba.stats import paired_interval

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(EXAMPLE_DIR / "scenario.yaml")


def _config(tmp_path: Path, **over) -> Path:
    cfg = {
        "name": "small",
        "scenario": SCENARIO,
        "customers": 150,
        "days": 3,
        "seeds": [0, 1, 2],
        "policies": ["rules", "random", {"name": "lin", "spec": "linucb:alpha=0.1"}, "oracle"],
    }
    cfg.update(over)
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


CONFIGS = [
    p
    for p in sorted((ROOT / "experiments").glob("*/*.yaml"))
    if "policies" in (yaml.safe_load(p.read_text()) or {})
]


def test_every_scenario_has_an_experiment():
    assert {p.parent.name for p in CONFIGS if p.name == "experiment.yaml"} >= {
        "omnichannel",
        "rules-hard-to-beat",
        "drift",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_experiment_configs_load(path):
    loaded = load_experiment(path)
    assert loaded.config.baseline == "rules"
    if path.name == "experiment.yaml":
        c = loaded.config
        assert (c.customers, c.days, len(c.seeds), len(c.policies)) == (20000, 60, 5, 8)


def test_summary_has_the_design_shape(tmp_path):
    result = run_experiment(_config(tmp_path), track=False)
    s = result.summary
    assert s["seeds"] == [0, 1, 2]
    assert [p["name"] for p in s["policies"]] == ["rules", "random", "lin", "oracle"]
    keys = {
        "name",
        "kind",
        "reward_per_customer",
        "conversions_per_1000",
        "revenue",
        "unsubscribe_rate",
        "complaint_rate",
        "contacts_per_customer",
        "guardrail_violations",
        "lift_vs_rules",
        "oracle_headroom_closed",
    }
    by = {p["name"]: p for p in s["policies"]}
    for p in s["policies"]:
        assert keys <= set(p)
        assert set(p["contacts_per_customer"]) == {"email", "sms", "push", "web", "in_app"}
        assert len(p["reward_per_customer"]["ci95"]) == 2
        assert p["guardrail_violations"] == 0
    assert [by[n]["kind"] for n in by] == ["baseline", "random", "learned", "oracle"]
    assert by["rules"]["lift_vs_rules"] == {"mean": 0.0, "ci95": [0.0, 0.0]}
    assert by["oracle"]["oracle_headroom_closed"] == 1.0
    assert by["rules"]["oracle_headroom_closed"] == 0.0
    assert s["mlflow"] is None


def test_ctrl_c_keeps_finished_runs(tmp_path):
    seen = []

    def interrupt_after_five(run):
        seen.append(run)
        if len(seen) == 5:
            raise KeyboardInterrupt

    result = run_experiment(_config(tmp_path), track=False, on_run=interrupt_after_five)
    assert result.interrupted
    assert len(result.runs) == 5
    assert result.summary["seeds"] == [0]  # only seeds every policy finished are compared
    assert len(result.summary["policies"]) == 4


def test_paired_interval_is_paired_by_seed():
    base = np.array([1.0, 2.0, 4.0])
    m, (lo, hi) = paired_interval(base * 1.1, base)
    assert m == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


BAD = [
    ({"policies": []}, r"`policies`: List should have at least 1 item"),
    ({"policies": ["rules", "nonsense"]}, r"policy `nonsense`: unknown policy `nonsense`"),
    ({"policies": ["rules", "linucb:gamma=3"]}, r"unknown parameter `gamma` for `linucb`"),
    ({"policies": ["rules", "rules"]}, r"the name `rules` is used twice"),
    ({"policies": ["random"]}, r"`baseline`: `rules` is not one of the policies"),
    ({"customers": 0}, r"`customers`: Input should be greater than 0"),
    ({"seeds": []}, r"`seeds`: List should have at least 1 item"),
    ({"scenario": "nope.yaml"}, r"nope.yaml: file not found"),
    ({"colour": 1}, r"`colour`: is not a known field"),
]


@pytest.mark.parametrize(("over", "match"), BAD)
def test_bad_configs_give_clear_errors(tmp_path, over, match):
    with pytest.raises(ConfigError, match=match):
        load_experiment(_config(tmp_path, **over))


def test_cli_experiment_run_json(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1], policies=["rules", "random", "oracle"])
    res = CliRunner().invoke(app, ["experiment", "run", str(cfg), "--json", "--no-track"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["config"] == str(cfg) and doc["seeds"] == [0, 1]
    assert [p["name"] for p in doc["policies"]] == ["rules", "random", "oracle"]


def test_cli_bad_config_is_an_error_not_a_traceback(tmp_path):
    cfg = _config(tmp_path, policies=["rules", "nonsense"])
    res = CliRunner().invoke(app, ["experiment", "run", str(cfg)])
    assert res.exit_code == 2
    assert "error:" in res.stderr and "unknown policy `nonsense`" in res.stderr
    assert "Traceback" not in res.output


def test_cli_simulate_writes_logs(tmp_path):
    from nba.evaluation.logs import read_logs

    out = tmp_path / "logs.parquet"
    args = ["simulate", "--scenario", SCENARIO, "--policy", "random", "--customers", "200"]
    args += ["--days", "3", "--seed", "1", "--out", str(out), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["guardrail_violations"] == 0 and doc["out"] == str(out)
    logs = read_logs(out)
    assert len(logs) == doc["decisions"]
    assert logs.expected_reward is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_an_experiment_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    import tempfile

    config = _config(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = run_experiment(config, track=False, workers=workers)
    assert result.runs
    assert list(scratch.iterdir()) == []
