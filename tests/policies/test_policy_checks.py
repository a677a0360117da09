"""Every shipped policy passes the shared check suite (nba.policies.checks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from nba.policies.bandit import make_linear_bandit
from nba.policies.base import Policy
from nba.policies.checks import check_learns, check_policy, parametrize_with_checks, policy_checks
from nba.policies.random import RandomPolicy
from nba.policies.registry import BUILTIN_POLICIES
from nba.policies.spec import make_policy, parse_spec
from nba.sampling import sample_actions

#: Policies that do not learn (the rules need raw signals: they run on the bandit's).
REFERENCE_SPECS = ["random", "constant", "constant:action=a3", "rules"]
#: The guard wraps a learned challenger; it needs raw signals, so it does not get
#: ``check_learns`` (the bandit's rewards do not depend on the signals).
WRAPPER_SPECS = ["linucb:guard=true"]
#: Learning policies (they also get ``check_learns``).
LEARNING_SPECS = ["linucb", "lints", "reward-model", "reward-model:epsilon=0.05", "vw", "funnel"]
#: Checked for everything but ``check_learns``, which is too slow for the
#: gradient-boosting model (it is tested on a small problem in test_reward_model.py).
SLOW_LEARNING_SPECS = ["reward-model:model=gbm"]


def _factory(spec: str) -> Callable[[], Policy]:
    return lambda: make_policy(spec, random_state=0)


@parametrize_with_checks(REFERENCE_SPECS + LEARNING_SPECS + WRAPPER_SPECS)
def test_policy_check(check: Callable[[], None]) -> None:
    check()


def _slow_cases() -> list[object]:
    return [
        pytest.param(check, id=f"{spec}-{name}")
        for spec in SLOW_LEARNING_SPECS
        for name, check in policy_checks(_factory(spec))
        if name != "check_learns"
    ]


@pytest.mark.parametrize("check", _slow_cases())
def test_slow_policy_check(check: Callable[[], None]) -> None:
    check()


def test_every_builtin_policy_is_checked() -> None:
    checked = {
        make_policy(spec).name
        for spec in REFERENCE_SPECS + LEARNING_SPECS + WRAPPER_SPECS + SLOW_LEARNING_SPECS
    }
    assert checked == set(BUILTIN_POLICIES)
    assert {parse_spec(s)[0] for s in REFERENCE_SPECS} >= {"rules"}


def test_check_policy_names_the_failed_check() -> None:
    message = r"^check_constructible_with_defaults: _Unregistered: name `random` is registered"
    with pytest.raises(AssertionError, match=message):
        check_policy(_Unregistered)


class _Unregistered(RandomPolicy):
    """A policy under a name registered to another class."""


def test_learning_policies_get_the_learns_check() -> None:
    names = {spec: [n for n, _ in policy_checks(_factory(spec))] for spec in LEARNING_SPECS}
    assert all("check_learns" in v for v in names.values())
    assert "check_learns" not in [n for n, _ in policy_checks(RandomPolicy)]


def test_random_policy_fails_the_learns_check_with_a_clear_message() -> None:
    with pytest.raises(AssertionError, match=r"RandomPolicy: after 25 rounds of 400 decisions"):
        check_learns(RandomPolicy())


def test_synthetic_problem_best_action_depends_on_context() -> None:
    problem = make_linear_bandit()
    ctx, allowed = problem.sample_customers(20_000, np.random.default_rng(0))
    best = np.where(allowed, problem.expected_reward(ctx.X), -np.inf).argmax(axis=1)
    share = np.bincount(best, minlength=problem.n_actions) / len(best)
    assert (share > 0.03).all(), share  # every action, no-contact included, wins somewhere
    assert share.max() < 0.5


def test_synthetic_problem_is_seeded() -> None:
    a = make_linear_bandit(seed=1).logged_batch(50, seed=2)
    b = make_linear_bandit(seed=1).logged_batch(50, seed=2)
    c = make_linear_bandit(seed=2).logged_batch(50, seed=2)
    np.testing.assert_array_equal(a.reward, b.reward)
    np.testing.assert_array_equal(a.action, b.action)
    assert not np.array_equal(a.reward, c.reward)


def test_run_online_reports_reference_rewards() -> None:
    problem = make_linear_bandit()
    res = problem.run_online(RandomPolicy(), rounds=8, batch_size=500, seed=3)
    assert res.eval_rounds == 2 and len(res.per_round) == 8
    assert res.policy_reward == pytest.approx(res.uniform_reward)
    assert res.realised_reward == pytest.approx(res.uniform_reward, abs=0.1)
    assert res.optimal_reward > 0.5 > 0 > res.uniform_reward
    assert res.gap_closed == pytest.approx(0.0)


def test_sample_actions_never_picks_zero_probability() -> None:
    rng = np.random.default_rng(0)
    proba = np.zeros((10_000, 5))
    proba[:, 1] = 1 / 3
    proba[:, 3] = 2 / 3
    action = sample_actions(proba, rng)
    propensity = proba[np.arange(10_000), action]
    assert set(np.unique(action)) == {1, 3}
    np.testing.assert_allclose(propensity, proba[np.arange(10_000), action])
    assert np.mean(action == 3) == pytest.approx(2 / 3, abs=0.02)
