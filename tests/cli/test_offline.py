"""`nba evaluate` and `nba train`: JSON shapes, MLflow runs, clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nba.cli import app
from nba.evaluation import synthetic_logs, write_logs


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("offline")
    logs = write_logs(root / "logs.parquet", synthetic_logs(3000, seed=5))
    with pytest.MonkeyPatch.context() as mp:
        uri = f"sqlite:///{root / 'mlflow.db'}"
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        yield {"root": root, "logs": logs}


def run(*args: str) -> dict:
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_evaluate_json_shape_with_split_and_segments(env: dict[str, Path]) -> None:
    import mlflow

    doc = run(
        "evaluate",
        "--logs",
        str(env["logs"]),
        "--policy",
        "linucb",
        "--policy",
        "random",
        "--policy",
        "constant:action=a1",
        "--split",
        "0.6",
        "--segment",
        "segment",
    )
    assert doc["n"] == 1200 and doc["split"] == {"train": 1800, "evaluate": 1200, "by_time": False}
    assert isinstance(doc["logging_policy_value"], float)
    names = [p["name"] for p in doc["policies"]]
    assert names == ["linucb", "random", "constant:action=a1", "logging"]
    for p in doc["policies"]:
        assert set(p) >= {"name", "estimates", "effective_sample_size", "warnings"}
        for est in p["estimates"].values():
            lo, hi = est["ci95"]
            assert lo <= est["value"] <= hi
    assert set(doc["policies"][0]["estimates"]) == {
        "ips",
        "snips",
        "dm",
        "dr",
        "dr-os",
        "switch-dr",
    }
    assert {s["segment"] for s in doc["segments"]["items"]} == {"high", "low"}
    run_ = mlflow.get_run(doc["mlflow_run_id"])
    assert run_.data.params["command"] == "evaluate"
    assert run_.data.metrics["linucb.dr"] == pytest.approx(
        doc["policies"][0]["estimates"]["dr"]["value"]
    )


def test_train_then_evaluate_the_saved_policy(env: dict[str, Path]) -> None:
    import mlflow

    out = env["root"] / "vw-policy"
    doc = run(
        "train",
        "--logs",
        str(env["logs"]),
        "--policy",
        "vw:algo=epsilon,epsilon=0.1",
        "--out",
        str(out),
    )
    assert set(doc) >= {"policy", "out", "n", "examples_per_second", "mlflow_run_id"}
    assert doc["n"] == 3000 and doc["policy"].startswith("vw:algo=epsilon")
    assert (out / "policy.json").is_file()
    assert mlflow.get_run(doc["mlflow_run_id"]).data.metrics["n"] == 3000
    ev = run("evaluate", "--logs", str(env["logs"]), "--policy", str(out))
    assert ev["policies"][0]["name"] == str(out)
    # a saved policy is not retrained, so no in-sample warning
    assert not any("optimistic" in w for w in ev["policies"][0]["warnings"])


def test_learning_policy_without_split_is_flagged_optimistic(env: dict[str, Path]) -> None:
    doc = run("evaluate", "--logs", str(env["logs"]), "--policy", "linucb")
    assert "optimistic" in doc["policies"][0]["warnings"][0]


def test_evaluate_external_logs_through_a_mapping(env: dict[str, Path]) -> None:
    root = env["root"]
    rows = ["arm,visit,age,p"] + [
        f"{['none', 'mens', 'womens'][i % 3]},{int(i % 7 == 0)},{20 + i % 50},0.3333333"
        for i in range(600)
    ]
    (root / "campaign.csv").write_text("\n".join(rows) + "\n")
    (root / "mapping.yaml").write_text(
        "action: {column: arm}\nreward: {column: visit}\npropensity: {column: p}\n"
        "features: {numeric: [age]}\n"
    )
    doc = run(
        "evaluate",
        "--logs",
        str(root / "campaign.csv"),
        "--mapping",
        str(root / "mapping.yaml"),
        "--policy",
        "constant:action=mens",
    )
    assert doc["n"] == 600
    ips = doc["policies"][0]["estimates"]["ips"]["value"]
    assert ips == pytest.approx(
        sum(1 for i in range(1, 600, 3) if i % 7 == 0) / 200 * (200 / 600) / 0.3333333
    )


def test_human_output(env: dict[str, Path]) -> None:
    res = CliRunner().invoke(app, ["evaluate", "--logs", str(env["logs"]), "--policy", "random"])
    assert res.exit_code == 0, res.output
    assert "logging policy value" in res.stdout and "MLflow run" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "--policy", "rules"], "the `rules` policy needs the raw signals"),
        (
            ["evaluate", "--policy", "random", "--split", "1.5"],
            "`--split`: expected a fraction in (0, 1), got 1.5",
        ),
        (["evaluate", "--policy", "nope"], "unknown policy `nope`"),
        (
            ["evaluate", "--policy", "random", "--segment", "colour"],
            "the logs have no column `colour`",
        ),
        (
            ["evaluate", "--policy", "random", "--reward-model", "forest"],
            "`--reward-model`: expected ridge or hgb, got 'forest'",
        ),
    ],
)
def test_errors_are_one_line_with_exit_2(
    args: list[str], message: str, env: dict[str, Path]
) -> None:
    res = CliRunner().invoke(app, [args[0], "--logs", str(env["logs"]), *args[1:], "--json"])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.stderr.split())
    assert "Traceback" not in res.output


def test_missing_logs_file(env: dict[str, Path]) -> None:
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--logs",
            str(env["root"] / "none.csv"),
            "--policy",
            "linucb",
            "--out",
            str(env["root"] / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "none.csv: file not found" in res.stderr
