"""LinUCB and linear Thompson sampling: exact ridge solutions, kernels, propensities."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba.catalog import ActionSpace
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.bandit import make_linear_bandit
from nba.policies.base import LoggedBatch
from nba.policies.linear import LinearTS, LinUCB

SPACE = ActionSpace.from_labels(["a", "b"])


def _ctx(X: np.ndarray, names: tuple[str, ...] = ("bias", "x")) -> Context:
    return Context(np.asarray(X, dtype=float), SPACE, names)


def _batch(X: np.ndarray, action: list[int], reward: list[float], names=("bias", "x")):
    n = len(action)
    return LoggedBatch(
        _ctx(X, names),
        np.ones((n, 3), bool),
        np.array(action),
        np.full(n, 1 / 3),
        np.array(reward, dtype=float),
    )


TINY_X = np.array([[1.0, 0.5], [1.0, -1.0], [1.0, 2.0], [1.0, 0.0], [1.0, 1.0]])
TINY_A = [1, 1, 2, 2, 1]
TINY_R = [1.0, 0.0, 3.0, 0.5, 2.0]


def test_linucb_matches_hand_computed_ridge_solution() -> None:
    policy = LinUCB(alpha=0.7, ridge=2.0).fit(_batch(TINY_X, TINY_A, TINY_R))
    rows1 = TINY_X[[0, 1, 4]]
    A1 = 2.0 * np.eye(2) + rows1.T @ rows1
    b1 = rows1.T @ np.array([1.0, 0.0, 2.0])
    rows2 = TINY_X[[2, 3]]
    A2 = 2.0 * np.eye(2) + rows2.T @ rows2
    b2 = rows2.T @ np.array([3.0, 0.5])
    np.testing.assert_allclose(policy.theta_[0], 0.0)
    np.testing.assert_allclose(policy.theta_[1], np.linalg.solve(A1, b1))
    np.testing.assert_allclose(policy.theta_[2], np.linalg.solve(A2, b2))
    np.testing.assert_allclose(policy.A_inv_[1], np.linalg.inv(A1))
    assert policy.counts_.tolist() == [0, 3, 2] and policy.n_examples_ == 5
    assert policy.version == "5"

    x = np.array([1.0, 0.3])
    expected = [
        0.7 * math.sqrt(x @ x / 2.0),
        np.linalg.solve(A1, b1) @ x + 0.7 * math.sqrt(x @ np.linalg.solve(A1, x)),
        np.linalg.solve(A2, b2) @ x + 0.7 * math.sqrt(x @ np.linalg.solve(A2, x)),
    ]
    np.testing.assert_allclose(policy.ucb(_ctx(x[None])), [expected])
    p = policy.predict_proba(_ctx(x[None]), np.ones((1, 3), bool))
    assert p.tolist() == [np.eye(3)[int(np.argmax(expected))].tolist()]


def test_partial_fit_in_pieces_equals_one_fit() -> None:
    problem = make_linear_bandit()
    batch = problem.logged_batch(900, seed=4)
    whole = LinUCB().fit(batch)
    pieces = LinUCB()
    for rows in np.array_split(np.arange(900), 7):
        pieces.partial_fit(batch.take(rows))
    np.testing.assert_allclose(pieces.A_, whole.A_)
    np.testing.assert_allclose(pieces.theta_, whole.theta_, atol=1e-12)
    assert pieces.n_examples_ == whole.n_examples_ == 900


def test_intercept_is_added_when_the_context_has_no_bias_column() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 1))
    action = rng.integers(1, 3, 2000)
    reward = np.where(action == 1, 3.0 + 2.0 * x[:, 0], -1.0) + 0.01 * rng.standard_normal(2000)
    batch = LoggedBatch(
        Context(x, SPACE), np.ones((2000, 3), bool), action, np.full(2000, 1 / 3), reward
    )
    policy = LinUCB().fit(batch)
    assert policy.fit_intercept_ and policy.theta_.shape == (3, 2)
    np.testing.assert_allclose(policy.theta_[1], [2.0, 3.0], atol=0.01)
    np.testing.assert_allclose(policy.theta_[2], [0.0, -1.0], atol=0.01)
    with_bias = LinUCB().fit(_batch(TINY_X, TINY_A, TINY_R))
    assert not with_bias.fit_intercept_ and with_bias.theta_.shape == (3, 2)


@pytest.mark.parametrize("cls", [LinUCB, LinearTS])
def test_block_kernel_matches_small_kernel(cls) -> None:
    problem = make_linear_bandit(n_features=12, n_actions=6)
    policy = cls(random_state=0).fit(problem.logged_batch(3000, seed=1))
    ctx, _ = problem.sample_customers(3000, np.random.default_rng(2))
    Xd = policy._design(ctx.X)
    small = np.vstack([policy._quad_small(Xd[i : i + 50]) for i in range(0, 3000, 50)])
    np.testing.assert_allclose(policy._quad_block(Xd), small, rtol=1e-4, atol=1e-7)
    expected = np.einsum("ni,aij,nj->na", Xd, policy.A_inv_, Xd)
    np.testing.assert_allclose(small, expected, rtol=1e-10, atol=1e-12)


def test_linucb_batch_equals_one_by_one() -> None:
    problem = make_linear_bandit()
    policy = LinUCB().fit(problem.logged_batch(2000, seed=1))
    ctx, allowed = problem.sample_customers(1500, np.random.default_rng(3))
    batch = policy.predict_proba(ctx, allowed)
    single = np.vstack(
        [policy.predict_proba(ctx.take(np.array([i])), allowed[i : i + 1]) for i in range(1500)]
    )
    np.testing.assert_array_equal(batch, single)


def test_linucb_unfitted_is_uniform_and_untried_actions_share_the_mass() -> None:
    ctx = _ctx(np.array([[1.0, 2.0], [1.0, -1.0]]))
    allowed = np.array([[True, True, True], [True, False, True]])
    np.testing.assert_allclose(
        LinUCB().predict_proba(ctx, allowed), [[1 / 3, 1 / 3, 1 / 3], [0.5, 0.0, 0.5]]
    )
    # Action 2 learned a reward far below zero: the two untried actions tie.
    policy = LinUCB(alpha=1.0).fit(_batch(np.array([[1.0, 0.0]] * 5), [2] * 5, [-10.0] * 5))
    np.testing.assert_allclose(policy.predict_proba(ctx, allowed), [[0.5, 0.5, 0], [1, 0, 0]])


def test_alpha_zero_is_greedy_ridge() -> None:
    policy = LinUCB(alpha=0.0).fit(_batch(TINY_X, TINY_A, TINY_R))
    ctx = _ctx(np.array([[1.0, -3.0], [1.0, 3.0]]))
    p = policy.predict_proba(ctx, np.ones((2, 3), bool))
    np.testing.assert_array_equal(p.argmax(axis=1), (ctx.X @ policy.theta_.T).argmax(axis=1))


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (LinUCB(alpha=-1), "LinUCB: `alpha` must be a finite number >= 0, got -1"),
        (LinUCB(ridge=0), "LinUCB: `ridge` must be a finite number > 0, got 0"),
        (LinUCB(alpha="big"), "LinUCB: `alpha` must be a finite number >= 0, got 'big'"),
        (LinearTS(v=0.0), "LinearTS: `v` must be a finite number > 0, got 0.0"),
        (LinearTS(n_samples=0), "LinearTS: `n_samples` must be an integer >= 1, got 0"),
        (LinearTS(n_samples=2.5), "LinearTS: `n_samples` must be an integer >= 1, got 2.5"),
    ],
)
def test_bad_hyperparameters_are_refused_when_used(policy, message: str) -> None:
    batch = _batch(TINY_X, TINY_A, TINY_R)
    with pytest.raises(PolicyError, match=re.escape(message)):
        policy.fit(batch)
    with pytest.raises(PolicyError, match=re.escape(message)):
        type(policy)(**policy.get_params()).predict_proba(batch.context, batch.allowed)


@pytest.mark.parametrize("cls", [LinUCB, LinearTS])
def test_context_mismatch_and_bad_values_are_refused(cls) -> None:
    policy = cls().fit(_batch(TINY_X, TINY_A, TINY_R))
    three = Context(np.ones((1, 3)), SPACE, ("bias", "x", "y"))
    with pytest.raises(
        PolicyError,
        match=re.escape(
            f"{cls.__name__}: context `X` has 3 features, "
            "expected 2 as when the policy started learning"
        ),
    ):
        policy.predict_proba(three, np.ones((1, 3), bool))
    bigger = Context(np.ones((1, 2)), ActionSpace.from_labels(["a", "b", "c"]), ("bias", "x"))
    with pytest.raises(PolicyError, match="the action space has 4 actions, expected 3"):
        policy.predict_proba(bigger, np.ones((1, 4), bool))
    with pytest.raises(PolicyError, match=r"context `X` must be finite, got NaN or inf in row 1"):
        policy.predict_proba(_ctx([[1.0, 0.0], [1.0, np.nan]]), np.ones((2, 3), bool))
    with pytest.raises(PolicyError, match=r"`allowed`: expected shape \(1, 3\), got \(1, 2\)"):
        policy.predict_proba(_ctx([[1.0, 0.0]]), np.ones((1, 2), bool))


# -- Thompson sampling -----------------------------------------------------------------
def _two_arm_posterior() -> tuple[LinearTS, Context, float]:
    """A TS policy whose arms 1 and 2 have a known posterior at x = (1, 0.5)."""
    policy = LinearTS(v=0.8, n_samples=20_000, random_state=1)
    policy.fit(_batch(TINY_X, TINY_A, TINY_R))
    x = np.array([1.0, 0.5])
    m = policy.theta_[1:] @ x
    var = [policy.v**2 * x @ policy.A_inv_[a] @ x for a in (1, 2)]
    p1 = 0.5 * math.erfc(-(m[0] - m[1]) / math.sqrt(2 * (var[0] + var[1])))
    return policy, _ctx(x[None]), p1


def test_ts_frequencies_converge_to_the_posterior_probability() -> None:
    policy, ctx, p1 = _two_arm_posterior()
    allowed = np.array([[False, True, True]])
    p = policy.predict_proba(ctx, allowed)
    assert p[0, 0] == 0.0
    assert p[0, 1] == pytest.approx(p1, abs=0.015)
    # The large-batch path (shared draws per group of customers) agrees.
    many = Context(np.repeat(ctx.X, 200, axis=0), SPACE, ctx.feature_names)
    p_many = policy.predict_proba(many, np.repeat(allowed, 200, axis=0))
    assert np.allclose(p_many, p_many[0])  # one group: the same draws for everybody
    assert p_many[0, 1] == pytest.approx(p1, abs=0.015)


def test_ts_frequencies_are_multiples_of_one_over_n_samples() -> None:
    problem = make_linear_bandit()
    policy = LinearTS(n_samples=7, random_state=0).fit(problem.logged_batch(300, seed=1))
    for n in (5, 700):
        ctx, allowed = problem.sample_customers(n, np.random.default_rng(n))
        p = policy.predict_proba(ctx, allowed)
        np.testing.assert_allclose(p * 7, np.round(p * 7), atol=1e-12)
        assert (p[~allowed] == 0).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_ts_small_posterior_scale_is_greedy() -> None:
    policy = LinearTS(v=1e-9, random_state=0).fit(_batch(TINY_X, TINY_A, TINY_R))
    ctx = _ctx(np.array([[1.0, -3.0], [1.0, 3.0]]))
    p = policy.predict_proba(ctx, np.ones((2, 3), bool))
    np.testing.assert_array_equal(p, np.eye(3)[(ctx.X @ policy.theta_.T).argmax(axis=1)])


def test_ts_unfitted_draws_from_the_prior() -> None:
    ctx = Context(np.ones((1, 1)), SPACE, ("bias",))
    p = LinearTS(n_samples=30_000, random_state=0).predict_proba(ctx, np.ones((1, 3), bool))
    np.testing.assert_allclose(p, 1 / 3, atol=0.015)


def test_ts_same_seed_same_draws_and_reset_restarts_them() -> None:
    problem = make_linear_bandit()
    ctx, allowed = problem.sample_customers(100, np.random.default_rng(0))
    batch = problem.logged_batch(200, seed=1)
    a, b = LinearTS(random_state=5).fit(batch), LinearTS(random_state=5).fit(batch)
    first = a.predict_proba(ctx, allowed)
    np.testing.assert_array_equal(first, b.predict_proba(ctx, allowed))
    assert not np.array_equal(first, a.predict_proba(ctx, allowed))  # the generator moved on
    np.testing.assert_array_equal(a.fit(batch).predict_proba(ctx, allowed), first)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 80),
    n_actions=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    learn=st.booleans(),
)
def test_distributions_are_valid_for_any_allowed_mask(n, n_actions, seed, learn) -> None:
    rng = np.random.default_rng(seed)
    problem = make_linear_bandit(n_features=4, n_actions=n_actions, seed=seed)
    ctx, _ = problem.sample_customers(n, rng)
    allowed = rng.random((n, n_actions)) < 0.3
    allowed[np.arange(n), rng.integers(0, n_actions, n)] = True  # something, not always no-contact
    for policy in (LinUCB(alpha=0.5), LinearTS(n_samples=5, random_state=seed)):
        if learn:
            policy.fit(problem.logged_batch(50, seed=seed))
        p = policy.predict_proba(ctx, allowed)
        assert p.shape == (n, n_actions)
        assert (p >= 0).all() and (p[~allowed] == 0).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
