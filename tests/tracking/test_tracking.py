"""MLflow tracking of experiments, policies as pyfunc models, the champion alias."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from nba.experiment import run_experiment
from nba.policies.spec import make_policy
from nba.settings import EXAMPLE_DIR
from nba.simulator import Simulator, load_scenario, run_policy
from nba.tracking import (
    ExperimentTracker,
    load_policy,
    log_policy_model,
    register_policy,
    signals_frame,
)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    cfg = {
        "name": "tracked",
        "scenario": str(EXAMPLE_DIR / "scenario.yaml"),
        "customers": 200,
        "days": 4,
        "seeds": [0, 1],
        "policies": [
            "rules",
            "random",
            {"name": "lin", "spec": "linucb:alpha=0.1,guard=true"},
            "oracle",
        ],
    }
    path = tmp / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    result = run_experiment(path, tracking_uri=uri)
    return result, MlflowClient(uri, registry_uri=uri), uri


def test_runs_hold_params_metrics_and_artifacts(experiment):
    result, client, _ = experiment
    ml = result.summary["mlflow"]
    parent = client.get_run(ml["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["scenario"] == "omnichannel"
    assert len(parent.data.params["guardrails_hash"]) == 12
    children = client.search_runs(
        [ml["experiment_id"]], f"tags.mlflow.parentRunId = '{ml['parent_run_id']}'"
    )
    assert len(children) == 4 * 2
    for run in children:
        p = run.data.params
        assert {"policy_spec", "policy_kind", "seed", "scenario", "goal", "guardrails_hash"} <= set(
            p
        )
        history = client.get_metric_history(run.info.run_id, "reward_per_customer")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3, 4]
        assert run.data.metrics["guardrail_violations"] == 0
        arts = {a.path for a in client.list_artifacts(run.info.run_id, "breakdowns")}
        assert arts == {"breakdowns/by_channel.csv", "breakdowns/by_message.csv"}
    lin = next(r for r in children if r.data.params["policy"] == "lin")
    assert lin.data.params["policy.alpha"] == "0.1"
    # the guarded rollout's traffic share, per simulated day
    share = client.get_metric_history(lin.info.run_id, "policy.guard_share")
    assert [m.step for m in sorted(share, key=lambda m: m.step)] == [1, 2, 3, 4]
    assert all(0 < m.value < 1 for m in share)
    top = {a.path for a in client.list_artifacts(ml["parent_run_id"])}
    assert {"config", "plots", "results.json", "summary.csv"} <= top
    plots = {a.path for a in client.list_artifacts(ml["parent_run_id"], "plots")}
    assert "plots/lift_chart.png" in plots
    assert "plots/learning_curve_reward_per_customer.png" in plots
    configs = {a.path for a in client.list_artifacts(ml["parent_run_id"], "config")}
    assert {"config/exp.yaml", "config/scenario.yaml", "config/guardrails.yaml"} <= configs
    local = client.download_artifacts(lin.info.run_id, "breakdowns/by_channel.csv")
    df = pd.read_csv(local)
    assert list(df["channel"]) == ["email", "sms", "push", "web", "in_app"]


def test_best_learned_policy_is_registered(experiment):
    result, client, uri = experiment
    versions = client.search_model_versions("name = 'nba'")
    assert len(versions) == 1
    champion = result.summary["mlflow"]["champion"]
    lin = next(p for p in result.summary["policies"] if p["name"] == "lin")
    sure = lin["lift_vs_rules"]["ci95"][0] > 0
    if sure:
        assert champion == {"model_uri": "models:/nba@champion", "policy": "lin"}
    else:
        assert champion is None
        with pytest.raises(MlflowException):
            client.get_model_version_by_alias("nba", "champion")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/nba/{versions[0].version}")
    sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    sim = Simulator(sc, 20, days=1)
    sim.reset(seed=0)
    opp = sim.observe()
    out = model.predict(signals_frame(sim.states.signals(opp.now)))
    assert list(out.columns) == ["customer_id", "action", "message_id", "channel", "propensity"]
    assert len(out) == 20
    assert set(out["action"]) <= set(sc.catalog.actions.ids)
    assert ((out["propensity"] > 0) & (out["propensity"] <= 1)).all()


def test_policy_model_round_trip_and_champion_alias(tmp_path):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    policy = make_policy("linucb:alpha=0.0", random_state=0)
    run_policy(Simulator(sc, 300, days=3), policy, seed=0)
    tracker = ExperimentTracker("models", tracking_uri=uri)
    sim = Simulator(sc, 50, days=1)
    sim.reset(seed=1)
    opp = sim.observe()
    ctx_signals = sim.states.signals(opp.now)
    model_uri = log_policy_model(
        policy,
        run_id=tracker.parent_run_id,
        catalog_path=sc.paths["catalog"],
        guardrails_path=sc.paths["guardrails"],
        input_example=signals_frame(ctx_signals.take(np.arange(3))),
    )
    v1 = register_policy(model_uri, champion=False)
    with pytest.raises(MlflowException):
        tracker.client.get_model_version_by_alias("nba", "champion")
    v2 = register_policy(model_uri, champion=True)
    champion = tracker.client.get_model_version_by_alias("nba", "champion")
    assert str(champion.version) == v2 != v1
    loaded = load_policy("models:/nba@champion")
    assert type(loaded) is type(policy) and loaded.version == policy.version
    from nba.features.encoding import Encoder

    ctx = Encoder(sc.catalog).encode(ctx_signals)
    allowed = np.ones((50, len(sc.catalog.actions)), dtype=bool)
    np.testing.assert_allclose(
        loaded.predict_proba(ctx, allowed), policy.predict_proba(ctx, allowed)
    )
    model = mlflow.pyfunc.load_model("models:/nba@champion")
    out = model.predict(signals_frame(ctx_signals), params={"seed": 0})
    again = model.predict(signals_frame(ctx_signals), params={"seed": 0})
    pd.testing.assert_frame_equal(out, again)
    tracker.finish()


def test_model_input_missing_columns_is_a_clear_error(tmp_path):
    from nba.exceptions import ConfigError
    from nba.tracking import signals_from_frame

    sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    with pytest.raises(ConfigError, match=r"missing signal columns email_sends_1d"):
        signals_from_frame(pd.DataFrame({"customer_id": ["a"]}), sc.catalog)


def test_load_policy_of_a_missing_model_is_a_clear_error(tmp_path):
    from nba.tracking import TrackingError

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(TrackingError, match=r"could not load the model `models:/nope@champion`"):
        load_policy("models:/nope@champion")


def test_default_tracking_uri_honours_the_environment(monkeypatch, tmp_path):
    from nba.tracking import default_tracking_uri

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert default_tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert default_tracking_uri() == f"sqlite:///{Path(tmp_path).resolve() / 'mlflow.db'}"
