"""The scikit-learn reward-model policy."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nba.catalog import ActionSpace
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.bandit import make_linear_bandit
from nba.policies.base import LoggedBatch
from nba.policies.reward_model import RewardModelPolicy


def test_epsilon_mass_is_spread_over_the_allowed_actions() -> None:
    problem = make_linear_bandit()
    policy = RewardModelPolicy(epsilon=0.2).fit(problem.logged_batch(2000, seed=1))
    ctx, allowed = problem.sample_customers(300, np.random.default_rng(2))
    p = policy.predict_proba(ctx, allowed)
    k = allowed.sum(axis=1)
    best = np.where(allowed, policy.predict_reward(ctx), -np.inf).argmax(axis=1)
    np.testing.assert_allclose(p[np.arange(300), best], 0.8 + 0.2 / k)
    others = allowed.copy()
    others[np.arange(300), best] = False
    np.testing.assert_allclose(p[others], np.repeat(0.2 / k, others.sum(axis=1)))
    assert (p[~allowed] == 0).all()


def test_greedy_picks_the_best_predicted_allowed_action() -> None:
    problem = make_linear_bandit()
    policy = RewardModelPolicy().fit(problem.logged_batch(4000, seed=1))
    ctx, allowed = problem.sample_customers(500, np.random.default_rng(2))
    p = policy.predict_proba(ctx, allowed)
    assert set(np.unique(p)) == {0.0, 1.0}
    truth = np.where(allowed, problem.expected_reward(ctx.X), -np.inf).argmax(axis=1)
    assert np.mean(p.argmax(axis=1) == truth) > 0.9


def test_ridge_model_is_one_ridge_per_action() -> None:
    problem = make_linear_bandit()
    policy = RewardModelPolicy(alpha=1e-6).fit(problem.logged_batch(20_000, seed=1))
    # Features (1, z): the fitted slopes are the true per-action coefficients.
    np.testing.assert_allclose(policy.coef_[:, 1:], problem.weights[:, 1:], atol=0.03)
    np.testing.assert_allclose(policy.intercept_, problem.weights[:, 0], atol=0.03)


def test_unfitted_is_uniform_and_unseen_actions_predict_the_mean_reward() -> None:
    space = ActionSpace.from_labels(["a", "b"])
    ctx = Context(np.array([[1.0, 0.0]]), space, ("bias", "x"))
    policy = RewardModelPolicy()
    np.testing.assert_allclose(policy.predict_proba(ctx, np.ones((1, 3), bool)), [[1 / 3] * 3])
    batch = LoggedBatch(
        Context(np.array([[1.0, 0.0], [1.0, 1.0]]), space, ("bias", "x")),
        np.ones((2, 3), bool),
        np.array([1, 1]),
        np.full(2, 1 / 3),
        np.array([2.0, 4.0]),
    )
    policy.fit(batch)
    assert policy.predict_reward(ctx)[0, 0] == policy.predict_reward(ctx)[0, 2] == 3.0


def test_buffer_keeps_the_most_recent_examples() -> None:
    problem = make_linear_bandit()
    policy = RewardModelPolicy(max_examples=250)
    batches = [problem.logged_batch(100, seed=s) for s in range(4)]
    for b in batches:
        policy.partial_fit(b)
    assert policy.n_examples_ == 400 and policy.X_.shape == (250, 6)
    np.testing.assert_array_equal(policy.reward_[-100:], batches[3].reward)
    np.testing.assert_array_equal(policy.reward_[:50], batches[1].reward[50:])
    assert policy.version == "400"


def test_gbm_model_learns_a_nonlinear_reward() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    space = ActionSpace.from_labels(["near", "far"])
    x = rng.uniform(-2, 2, (n, 1))
    action = rng.integers(0, 3, n)
    # "near" pays when |x| < 1, "far" when |x| > 1: no linear model separates them.
    mean = np.select([action == 1, action == 2], [np.abs(x[:, 0]) < 1, np.abs(x[:, 0]) > 1], 0.0)
    batch = LoggedBatch(
        Context(x, space),
        np.ones((n, 3), bool),
        action,
        np.full(n, 1 / 3),
        mean + 0.1 * rng.standard_normal(n),
    )
    policy = RewardModelPolicy(model="gbm", random_state=0).fit(batch)
    grid = np.array([[-1.7], [-0.4], [0.3], [1.5]])
    p = policy.predict_proba(Context(grid, space), np.ones((4, 3), bool))
    assert p.argmax(axis=1).tolist() == [2, 1, 1, 2]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "forest"}, "RewardModelPolicy: `model` must be one of ridge, gbm, got 'forest'"),
        ({"epsilon": 1.5}, "RewardModelPolicy: `epsilon` must be a number in [0, 1], got 1.5"),
        ({"alpha": 0}, "RewardModelPolicy: `alpha` must be a number > 0, got 0"),
        ({"max_examples": 0}, "RewardModelPolicy: `max_examples` must be an integer >= 1, got 0"),
    ],
)
def test_bad_hyperparameters_are_refused(params, message: str) -> None:
    problem = make_linear_bandit()
    with pytest.raises(PolicyError, match=re.escape(message)):
        RewardModelPolicy(**params).fit(problem.logged_batch(10))
    ctx, allowed = problem.sample_customers(2, np.random.default_rng(0))
    with pytest.raises(PolicyError, match=re.escape(message)):
        RewardModelPolicy(**params).predict_proba(ctx, allowed)


def test_context_mismatch_is_refused() -> None:
    problem = make_linear_bandit()
    policy = RewardModelPolicy().fit(problem.logged_batch(50))
    other = make_linear_bandit(n_features=4)
    ctx, allowed = other.sample_customers(2, np.random.default_rng(0))
    with pytest.raises(PolicyError, match="context `X` has 4 features, expected 6"):
        policy.predict_proba(ctx, allowed)


@pytest.mark.parametrize("sizes", [[3, 4, 5, 9, 1, 20, 2], [25], [1] * 30, [7, 7, 7, 7]])
def test_ring_buffer_matches_a_plain_list(sizes: list[int]) -> None:
    problem = make_linear_bandit(n_actions=3)
    policy, seen = RewardModelPolicy(max_examples=10), []
    for i, n in enumerate(sizes):
        batch = problem.logged_batch(n, seed=i)
        policy.partial_fit(batch)
        seen.extend(batch.reward)
        np.testing.assert_array_equal(policy.reward_, seen[-10:])
        assert policy.X_.shape == (min(10, len(seen)), 6)
    refit = RewardModelPolicy().fit(
        LoggedBatch(
            Context(policy.X_, problem.actions, problem.feature_names),
            np.ones((len(policy.action_), 3), bool),
            policy.action_,
            np.full(len(policy.action_), 1 / 3),
            policy.reward_,
        )
    )
    np.testing.assert_allclose(refit.coef_, policy.coef_, atol=1e-10)
