"""A seeded synthetic contextual problem with known truth, for tests and benchmarks.

Contexts are a bias and ``n_features`` standard normals; the expected reward
of action ``a`` is ``sigmoid(x . beta_a + c_a (x_1^2 - 1) - 1)`` — the
quadratic term makes a linear reward model wrong, so the direct method's
bias shows; rewards are Bernoulli. The logging policy is a softmax of a
crude linear score mixed with ``explore`` uniform exploration, so every
action has propensity at least ``explore / n_actions``.

It exists so that evaluation code can be checked against exact truth without
the simulator; the simulator (:mod:`nba.simulator`) is the realistic source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nba.catalog import ActionSpace
from nba.features.context import Context
from nba.logs import LoggedDecisions
from nba.policies.base import LoggedBatch, Policy, onehot_argmax
from nba.sampling import sample_actions

__all__ = ["OffPolicyProblem", "synthetic_logs"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class OffPolicyProblem:
    """The problem's parameters (drawn from ``problem_seed``).

    Examples
    --------
    >>> prob = OffPolicyProblem()
    >>> prob.expected_reward(prob.contexts(3, np.random.default_rng(0))).shape
    (3, 4)
    """

    n_actions: int = 4
    n_features: int = 5
    explore: float = 0.5
    problem_seed: int = 0

    @cached_property
    def _params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.problem_seed)
        d = self.n_features + 1
        beta = rng.normal(0.0, 0.6, (self.n_actions, d))
        curv = rng.normal(0.0, 0.8, self.n_actions)
        curv[0] = 0.0
        theta = beta + rng.normal(0.0, 0.5, beta.shape)  # the logging policy's rough guess
        return beta, curv, theta

    @cached_property
    def actions(self) -> ActionSpace:
        """``no_contact`` and ``a1``..."""
        return ActionSpace.from_labels([f"a{j}" for j in range(1, self.n_actions)])

    @property
    def feature_names(self) -> tuple[str, ...]:
        """``bias``, ``f1``..."""
        return ("bias", *(f"f{j}" for j in range(1, self.n_features + 1)))

    def contexts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Shape (n, n_features + 1): a bias column and standard normals."""
        return np.column_stack([np.ones(n), rng.standard_normal((n, self.n_features))])

    def context(self, X: np.ndarray) -> Context:
        """The :class:`Context` of contexts ``X``."""
        return Context(X=X, actions=self.actions, feature_names=self.feature_names)

    def expected_reward(self, X: np.ndarray) -> np.ndarray:
        """Shape (n, n_actions): ``E[reward | x, a]``."""
        beta, curv, _ = self._params
        return _sigmoid(X @ beta.T + curv[None, :] * (X[:, 1:2] ** 2 - 1.0) - 1.0)

    def logging_probs(self, X: np.ndarray) -> np.ndarray:
        """Shape (n, n_actions): the logging policy's distribution."""
        _, _, theta = self._params
        s = X @ theta.T
        s = np.exp(2.0 * (s - s.max(axis=1, keepdims=True)))
        soft = s / s.sum(axis=1, keepdims=True)
        return (1.0 - self.explore) * soft + self.explore / self.n_actions

    def true_value(
        self, policy: Policy | None = None, *, n: int = 400_000, seed: int = 12345
    ) -> float:
        """The population value of ``policy`` (the logging policy when ``None``).

        Monte Carlo over ``n`` fresh contexts with exact expected rewards
        (standard error well under 1e-3).
        """
        X = self.contexts(n, np.random.default_rng(seed))
        probs = (
            self.logging_probs(X)
            if policy is None
            else policy.predict_proba(self.context(X), np.ones((n, self.n_actions), bool))
        )
        return float(np.einsum("ij,ij->i", probs, self.expected_reward(X)).mean())

    def oracle(self) -> Policy:
        """The policy that picks the action of highest true expected reward."""
        return _Oracle(self)

    def sample(self, n: int, seed: int = 0) -> LoggedDecisions:
        """``n`` logged decisions of the logging policy, with ground truth."""
        rng = np.random.default_rng(seed)
        X = self.contexts(n, rng)
        probs = self.logging_probs(X)
        action = sample_actions(probs, rng)
        mu = self.expected_reward(X)
        reward = (rng.random(n) < mu[np.arange(n), action]).astype(np.float64)
        batch = LoggedBatch(
            self.context(X),
            np.ones((n, self.n_actions), dtype=bool),
            action,
            probs[np.arange(n), action],
            reward,
        )
        ids = np.asarray([f"d{seed}-{i}" for i in range(n)], dtype=object)
        return LoggedDecisions(
            batch=batch,
            decision_ids=ids,
            customer_ids=np.asarray([f"c{i % max(n // 2, 1)}" for i in range(n)], dtype=object),
            timestamps=1.77e9 + np.arange(n, dtype=np.float64) * 60.0,
            policy=np.full(n, "synthetic-logging", dtype=object),
            expected_reward=mu,
            probs=probs,
            columns={"segment": np.where(X[:, 1] > 0, "high", "low").astype(object)},
        )


class _Oracle(Policy):
    """Greedy on a :class:`OffPolicyProblem`'s true expected reward (knows the truth)."""

    name = "synthetic-oracle"
    kind = "oracle"

    def __init__(self, problem: OffPolicyProblem) -> None:
        self.problem = problem

    def get_params(self) -> dict[str, object]:
        return {}

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        return onehot_argmax(self.problem.expected_reward(context.X), allowed)


def synthetic_logs(n: int, *, seed: int = 0, **problem: int | float) -> LoggedDecisions:
    """``n`` decisions of :class:`OffPolicyProblem` (``**problem``: its parameters).

    Examples
    --------
    >>> logs = synthetic_logs(10, seed=3)
    >>> len(logs), logs.expected_reward.shape
    (10, (10, 4))
    """
    return OffPolicyProblem(**problem).sample(n, seed)  # type: ignore[arg-type]
