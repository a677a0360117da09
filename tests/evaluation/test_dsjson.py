"""DSJSON export: VW's own --dsjson parser reads it and learns what nba's VWPolicy learns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from vowpalwabbit import Workspace

from nba.evaluation import LoggedDecisions, write_dsjson
from nba.policies.vw import VWPolicy

SEED = 11


def _vw_from_dsjson(path: Path, policy: VWPolicy) -> Workspace:
    ws = Workspace(arg_list=[*policy.vw_args(), "--dsjson", "--random_seed", str(SEED)])
    for line in path.read_text().splitlines():
        examples = ws.parse(line)
        ws.learn(examples)
        ws.finish_example(examples)
    return ws


@pytest.mark.parametrize("algo", ["squarecb", "epsilon"])
def test_vw_trained_on_dsjson_predicts_as_vwpolicy(
    algo: str, nba_logs: LoggedDecisions, tmp_path: Path
) -> None:
    train, test = nba_logs.split(0.7)
    path = write_dsjson(tmp_path / "train.dsjson", train)
    test_path = write_dsjson(tmp_path / "test.dsjson", test)
    with VWPolicy(algo=algo, random_state=SEED) as policy:
        policy.fit(train.batch)
        ours = policy.predict_proba(test.batch.context, test.batch.allowed)
        ws = _vw_from_dsjson(path, policy)
        try:
            theirs = np.zeros_like(ours)
            for i, line in enumerate(test_path.read_text().splitlines()):
                examples = ws.parse(line)
                theirs[i, test.batch.allowed[i]] = ws.predict(examples)
                ws.finish_example(examples)
        finally:
            ws.finish()
    theirs /= theirs.sum(axis=1, keepdims=True)
    assert np.abs(ours - theirs).max() < 1e-6
    assert ours.std(axis=0).max() > 0.01  # the model learned something context dependent


def test_dsjson_lines_have_vw_decision_service_fields(
    nba_logs: LoggedDecisions, tmp_path: Path
) -> None:
    logs = nba_logs.take(np.arange(50))
    lines = write_dsjson(tmp_path / "x.dsjson", logs).read_text().splitlines()
    assert len(lines) == 50
    for i, line in enumerate(lines):
        doc = json.loads(line)
        allowed = np.flatnonzero(logs.batch.allowed[i])
        pos = doc["_labelIndex"]
        assert allowed[pos] == logs.batch.action[i]
        assert doc["_label_Action"] == pos + 1 and doc["a"][0] == pos + 1
        assert doc["_label_cost"] == -logs.batch.reward[i]
        assert doc["_label_probability"] == logs.batch.propensity[i]
        assert doc["p"][0] == doc["_label_probability"]
        assert sum(doc["p"]) == pytest.approx(1.0)
        assert sorted(doc["a"]) == list(range(1, len(allowed) + 1))
        assert len(doc["c"]["_multi"]) == len(allowed)
        assert doc["EventId"] == logs.decision_ids[i]
        assert doc["Timestamp"].endswith("Z")


def test_vw_parser_reads_the_label(nba_logs: LoggedDecisions, tmp_path: Path) -> None:
    logs = nba_logs.take(np.arange(3))
    line = write_dsjson(tmp_path / "x.dsjson", logs).read_text().splitlines()[1]
    ws = Workspace("--cb_explore_adf --dsjson --quiet")
    try:
        examples = ws.parse(line)
        assert len(examples) == 1 + logs.batch.allowed[1].sum()  # shared + one per action
        pos = json.loads(line)["_labelIndex"]
        label = examples[1 + pos].get_label()
        assert label.costs[0].cost == pytest.approx(-logs.batch.reward[1])
        assert label.costs[0].probability == pytest.approx(logs.batch.propensity[1])
        ws.finish_example(examples)
    finally:
        ws.finish()
