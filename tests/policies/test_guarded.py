"""The guarded rollout: a challenger gets the traffic its comparison with the rules earns.

The shared check suite runs on synthetic contexts without nba's signals, which
the rules (and so the guard) need; these tests use simulator logs instead.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nba.config import load_document
from nba.evaluation.logs import LoggedDecisions
from nba.exceptions import PolicyError, PolicySpecError
from nba.experiment import ExperimentError, load_experiment
from nba.policies.base import POLICY_FILE, LoggedBatch, Policy, uniform
from nba.policies.guarded import GuardedPolicy
from nba.policies.linear import LinUCB
from nba.policies.random import RandomPolicy
from nba.policies.registry import load_policy
from nba.policies.rules import RulePolicy
from nba.policies.spec import make_policy
from nba.settings import EXAMPLE_DIR
from nba.simulator.core import Simulator
from nba.simulator.run import run_policy, simulate_logs
from nba.simulator.scenario import load_scenario

SCENARIO = load_scenario(EXAMPLE_DIR / "scenario.yaml")
RULES = str(SCENARIO.rules_path)


@pytest.fixture(scope="module")
def logs() -> LoggedDecisions:
    """Randomized decisions on the omnichannel scenario (with nba's signals)."""
    return simulate_logs(SCENARIO, RandomPolicy(), 3000, 20, seed=5, learn=False)


def _with_reward(batch: LoggedBatch, reward: np.ndarray) -> LoggedBatch:
    return replace(batch, reward=reward.astype(np.float64), outcomes=None)


def test_spec_with_guard_builds_a_guarded_policy_that_round_trips() -> None:
    p = make_policy("linucb:alpha=0.1,guard=true", rules=RULES, random_state=1)
    assert isinstance(p, GuardedPolicy)
    assert isinstance(p.challenger, LinUCB) and p.rules == RULES
    assert p.challenger.get_params() == {"alpha": 0.1, "ridge": 1.0, "random_state": 1}
    assert p.spec == "linucb:alpha=0.1,guard=true"
    assert make_policy("vw:guard=true").spec == "vw:guard=true"
    again = make_policy(p.spec, rules=RULES)
    assert isinstance(again, GuardedPolicy) and again.spec == p.spec
    assert isinstance(make_policy("linucb:guard=false"), LinUCB)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rules:guard=true", r"`guard` applies to learned policies, not `rules`"),
        ("linucb:guard=maybe", r"`guard` must be true or false, got 'maybe'"),
        ("linucb:beta=1,guard=true", r"unknown parameter `beta` for `linucb`"),
    ],
)
def test_bad_guard_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(PolicySpecError, match=message):
        make_policy(spec, rules=RULES)


def test_experiment_config_checks_the_guard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "experiment.yaml"
    cfg.write_text(
        f"name: t\nscenario: {EXAMPLE_DIR / 'scenario.yaml'}\ncustomers: 10\ndays: 1\n"
        "seeds: [0]\nbaseline: rules\npolicies: [rules, 'random:guard=true']\n"
    )
    with pytest.raises(ExperimentError, match=r"policy `random:guard=true`: .*not `random`"):
        load_experiment(cfg)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"budget": 2.0}, r"`budget` must be a number in \[0, 1\], got 2.0"),
        ({"probe": 0.7}, r"`probe` must be a number in \[0, 0.5\]"),
        ({"confidence": 1.0}, r"`confidence` must be a number in \[0.5, 1\)"),
        ({"half_life": 0}, r"`half_life` must be an integer > 0"),
        ({"challenger": "linucb"}, r"`challenger` must be a policy \(not a guarded one\)"),
    ],
)
def test_bad_hyperparameters(logs: LoggedDecisions, params: dict, message: str) -> None:
    kwargs = {"challenger": make_policy("linucb"), "rules": RULES, **params}
    batch = logs.batch.take(np.arange(10))
    with pytest.raises(PolicyError, match=message):
        GuardedPolicy(**kwargs).predict_proba(batch.context, batch.allowed)


def test_decisions_mix_the_challenger_and_the_rules_by_the_share(logs: LoggedDecisions) -> None:
    batch = logs.batch.take(np.arange(500))
    p = GuardedPolicy(challenger=make_policy("random"), rules=RULES, probe=0.05)
    got = p.predict_proba(batch.context, batch.allowed)
    rules = RulePolicy(rules=RULES).predict_proba(batch.context, batch.allowed)
    np.testing.assert_allclose(got, 0.05 * uniform(batch.allowed) + 0.95 * rules)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    assert (got[~batch.allowed] == 0).all()


def test_a_better_challenger_takes_over_a_worse_one_is_rolled_back(
    logs: LoggedDecisions,
) -> None:
    batch = logs.batch
    no_contact = (batch.action == 0).astype(float)
    # a world where not contacting is what pays: "constant" (never contact) beats the rules
    better = GuardedPolicy(challenger=make_policy("constant"), rules=RULES).partial_fit(
        _with_reward(batch, no_contact)
    )
    c = better.comparison()
    assert c["lcb"] > 0 and better.share_ == pytest.approx(0.99)
    # and one where contacts pay: the same challenger is rolled back to the probe
    worse = GuardedPolicy(challenger=make_policy("constant"), rules=RULES).partial_fit(
        _with_reward(batch, 1.0 - no_contact)
    )
    c = worse.comparison()
    assert c["ucb"] < 0 and worse.share_ == pytest.approx(0.01)
    # the estimate is the true difference: 1 - P(rules pick no-contact) in the second world
    rules = RulePolicy(rules=RULES).predict_proba(batch.context, batch.allowed)
    truth = -(1.0 - rules[:, 0].mean())
    assert c["lcb"] < truth < c["ucb"]


def test_undecided_comparison_risks_only_the_budget(logs: LoggedDecisions) -> None:
    batch = logs.batch.take(np.arange(400))
    rng = np.random.default_rng(0)
    noisy = rng.binomial(1, 0.3, len(batch)).astype(float)  # no action is better: pure noise
    p = GuardedPolicy(challenger=make_policy("constant"), rules=RULES, budget=0.05).partial_fit(
        _with_reward(batch, noisy)
    )
    c = p.comparison()
    assert c["lcb"] < 0 < c["ucb"]
    expected = 0.05 * abs(c["rules_value"]) / -c["lcb"]
    assert p.share_ == pytest.approx(min(max(expected, 0.01), 0.99))
    assert 0.01 <= p.share_ <= 0.99


def test_a_batch_without_signals_teaches_the_challenger_but_keeps_the_share(
    logs: LoggedDecisions,
) -> None:
    batch = logs.batch.take(np.arange(300))
    p = GuardedPolicy(challenger=make_policy("linucb"), rules=RULES)
    bare = replace(batch, context=replace(batch.context, signals=None))
    p.partial_fit(bare)
    assert p.share_ == 0.01 and p.comparison()["decisions"] == 0
    assert p.challenger.version == "300"


def test_on_the_simulator_a_random_challenger_costs_little(logs: LoggedDecisions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def run(policy: Policy) -> float:
        res = run_policy(Simulator(SCENARIO, 1500, days=20), policy, seed=2)
        assert res.guardrail_violations == 0
        return float(res.totals["expected_reward_per_customer"])

    rules = run(RulePolicy(rules=RULES))
    raw = run(make_policy("random", random_state=0))
    guarded = GuardedPolicy(
        challenger=make_policy("random", random_state=0),
        rules=RULES,
    )
    value = run(guarded)
    assert raw < 0.5 * rules  # the challenger alone is far worse than the rules...
    assert value > rules - 0.03 * abs(rules)  # ...guarded, it costs a few percent at most
    assert guarded.share_ == pytest.approx(0.01) and guarded.comparison()["lcb"] < 0
    # saved and loaded, it decides the same way and keeps its comparison
    loaded = load_policy(guarded.save(tmp_path / "g"))
    assert isinstance(loaded, GuardedPolicy) and isinstance(loaded.rules, dict)
    assert loaded.share_ == guarded.share_ and loaded.comparison() == guarded.comparison()
    batch = logs.batch.take(np.arange(200))
    np.testing.assert_array_equal(
        loaded.predict_proba(batch.context, batch.allowed),
        guarded.predict_proba(batch.context, batch.allowed),
    )


def test_a_guard_saved_before_phase_1_loads(tmp_path: Path, logs: LoggedDecisions) -> None:
    """Its ``policy.json`` held the challenger's spec and a ``random_state`` for it."""
    params = {
        "challenger": "linucb:alpha=0.1",
        "rules": load_document(Path(RULES)),
        "budget": 0.05,
        "probe": 0.02,
        "confidence": 0.9,
        "half_life": 1000,
        "random_state": 3,
    }
    meta = {"name": "guarded", "params": params, "version": "0"}
    (tmp_path / POLICY_FILE).write_text(json.dumps(meta))
    p = load_policy(tmp_path)
    assert isinstance(p, GuardedPolicy) and isinstance(p.challenger, LinUCB)
    assert p.challenger.get_params() == {"alpha": 0.1, "ridge": 1.0, "random_state": 3}
    assert (p.budget, p.probe, p.confidence, p.half_life) == (0.05, 0.02, 0.9, 1000)
    assert p.spec == "linucb:alpha=0.1,guard=true"
    batch = logs.batch.take(np.arange(500))
    probs = p.partial_fit(batch).predict_proba(batch.context, batch.allowed)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)

    # with the learned challenger and the comparison saved next to it, as the old save did
    learned = LinUCB(alpha=0.1, random_state=3).partial_fit(batch)
    learned.save(tmp_path / "challenger")
    (tmp_path / "guard.json").write_text(json.dumps({"share": 0.3, "stats": [1.0] * 5, "n": 7}))
    again = load_policy(tmp_path)
    assert again.share_ == 0.3 and again.n_examples_ == 7
    assert again.spec == "linucb:alpha=0.1,guard=true"
    np.testing.assert_array_equal(
        again.challenger.predict_proba(batch.context, batch.allowed),
        learned.predict_proba(batch.context, batch.allowed),
    )
