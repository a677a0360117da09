"""The funnel policy: outcomes from the reward join, the goal's weights, the rules as anchor."""

from __future__ import annotations

import numpy as np
import pytest

from nba.evaluation.logs import LoggedDecisions
from nba.exceptions import PolicyError
from nba.goals import OUTCOMES
from nba.policies.base import Policy, uniform
from nba.policies.funnel import FunnelPolicy
from nba.policies.random import RandomPolicy
from nba.policies.registry import load_policy
from nba.policies.reward_model import RewardModelPolicy
from nba.policies.rules import RulePolicy
from nba.settings import EXAMPLE_DIR
from nba.simulator.run import simulate_logs
from nba.simulator.scenario import load_scenario


@pytest.fixture(scope="module")
def logs() -> LoggedDecisions:
    """Randomized decisions on the omnichannel scenario, with every action's true value."""
    scenario = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    return simulate_logs(scenario, RandomPolicy(), 6000, 30, seed=3, learn=False)


def _greedy_value(policy: Policy, logs: LoggedDecisions, rows: np.ndarray) -> float:
    batch = logs.batch.take(rows)
    p = policy.predict_proba(batch.context, batch.allowed)
    return float((p * logs.expected_reward[rows]).sum(axis=1).mean())


def test_outcomes_come_with_the_join_and_explain_the_reward(logs: LoggedDecisions) -> None:
    out = logs.batch.outcomes
    assert out is not None and set(out) == set(OUTCOMES)
    contact = logs.batch.action != 0
    assert out["opened"][contact].mean() > 0.05  # the dense end of the funnel
    assert (out["clicked"] <= out["opened"]).all()
    # the goal's weights recovered from (outcomes, reward) by the policy
    pol = FunnelPolicy().fit(logs.batch)
    w = dict(zip((*OUTCOMES, "cost", "contact"), pol.weights_, strict=True))
    expected = {
        "opened": 0.0,
        "clicked": 0.05,
        "purchase": 1.0,
        "revenue": 0.02,
        "unsubscribed": -3.0,
        "complaint": -5.0,
        "cost": -1.0,
        "contact": 0.0,
    }
    for name, value in expected.items():
        assert w[name] == pytest.approx(value, abs=1e-4), name


def test_funnel_ranks_actions_better_than_a_reward_model_on_the_same_logs(
    logs: LoggedDecisions,
) -> None:
    n = len(logs)
    train, test = np.arange(n // 2), np.arange(n // 2, n)
    funnel = FunnelPolicy(epsilon=0.0).fit(logs.batch.take(train))
    reward_model = RewardModelPolicy(epsilon=0.0).fit(logs.batch.take(train))
    random_value = float(
        (uniform(logs.batch.allowed[test]) * logs.expected_reward[test]).sum(axis=1).mean()
    )
    v_funnel = _greedy_value(funnel, logs, test)
    v_model = _greedy_value(reward_model, logs, test)
    assert v_funnel > v_model and v_funnel > random_value + 0.005, (v_funnel, v_model, random_value)


def test_follows_the_rules_until_it_has_learned(logs: LoggedDecisions) -> None:
    batch = logs.batch.take(np.arange(500))
    rules = RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml"))
    pol = FunnelPolicy(epsilon=0.1, rules=str(EXAMPLE_DIR / "rules.yaml"))
    want = 0.9 * rules.predict_proba(batch.context, batch.allowed) + 0.1 * uniform(batch.allowed)
    np.testing.assert_allclose(pol.predict_proba(batch.context, batch.allowed), want)
    # learned, with a support no action reaches: still the rules
    strict = FunnelPolicy(epsilon=0.1, rules=str(EXAMPLE_DIR / "rules.yaml"), min_support=10**9)
    strict.fit(logs.batch)
    np.testing.assert_allclose(strict.predict_proba(batch.context, batch.allowed), want)
    # learned with the default support: it departs from the rules somewhere
    free = FunnelPolicy(epsilon=0.1, rules=str(EXAMPLE_DIR / "rules.yaml")).fit(logs.batch)
    p = free.predict_proba(batch.context, batch.allowed)
    assert not np.allclose(p, want)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p[~batch.allowed] == 0).all()


def test_a_batch_without_outcomes_after_outcomes_is_refused(logs: LoggedDecisions) -> None:
    pol = FunnelPolicy().fit(logs.batch.take(np.arange(100)))
    b = logs.batch.take(np.arange(100, 200))
    bare = type(b)(b.context, b.allowed, b.action, b.propensity, b.reward)
    with pytest.raises(PolicyError, match=r"learns from outcomes .* but the batch has none"):
        pol.partial_fit(bare)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epsilon": 1.5}, r"`epsilon` must be a number in \[0, 1\], got 1.5"),
        ({"ridge": 0}, r"`ridge` must be a number > 0, got 0"),
        ({"margin": -1}, r"`margin` must be a number >= 0, got -1"),
        ({"min_support": 2.5}, r"`min_support` must be an integer >= 0, got 2.5"),
    ],
)
def test_bad_hyperparameters(logs: LoggedDecisions, params: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        FunnelPolicy(**params).fit(logs.batch.take(np.arange(10)))


def test_saved_policy_carries_its_rules(logs: LoggedDecisions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    rules = tmp_path / "rules.yaml"
    shutil.copy(EXAMPLE_DIR / "rules.yaml", rules)
    pol = FunnelPolicy(rules=str(rules)).fit(logs.batch.take(np.arange(3000)))
    batch = logs.batch.take(np.arange(3000, 3200))
    before = pol.predict_proba(batch.context, batch.allowed)
    out = pol.save(tmp_path / "saved")
    rules.unlink()  # the saved policy no longer needs the file
    loaded = load_policy(out)
    np.testing.assert_allclose(loaded.predict_proba(batch.context, batch.allowed), before)
