"""A seeded linear contextual bandit with known expected rewards: the check suite's problem.

:func:`nba.policies.checks.check_learns` and the other checks run policies on
it; tests use it to learn on data whose truth is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from nba.catalog import STAGES, ActionSpace, Catalog
from nba.features.context import Context
from nba.features.signals import Signals, signal_definitions
from nba.policies.base import LoggedBatch, Policy
from nba.sampling import sample_actions

__all__ = ["LinearBandit", "OnlineResult", "make_linear_bandit"]


@dataclass(frozen=True)
class OnlineResult:
    """Outcome of :meth:`LinearBandit.run_online`.

    Rewards are per decision, averaged over the last ``eval_rounds`` rounds.

    Attributes
    ----------
    policy_reward
        Expected reward of the policy's distribution, ``sum_a p(a|x) E[r|x,a]``.
    realised_reward
        Reward actually drawn for the sampled actions.
    optimal_reward
        Expected reward of the best allowed action (the oracle).
    uniform_reward
        Expected reward of the uniform distribution over the allowed actions.
    per_round
        Policy expected reward of every round, in order.
    rounds, batch_size, eval_rounds
        The simulation's shape.
    """

    policy_reward: float
    realised_reward: float
    optimal_reward: float
    uniform_reward: float
    per_round: tuple[float, ...]
    rounds: int
    batch_size: int
    eval_rounds: int

    @property
    def ratio(self) -> float:
        """``policy_reward / optimal_reward``."""
        return self.policy_reward / self.optimal_reward

    @property
    def gap_closed(self) -> float:
        """Share of the uniform-to-optimal gap the policy closed."""
        return (self.policy_reward - self.uniform_reward) / (
            self.optimal_reward - self.uniform_reward
        )


@dataclass(frozen=True)
class LinearBandit:
    """A seeded linear contextual bandit with known expected rewards.

    A customer's context is ``x = (1, z)`` with ``z ~ N(0, I)``; the
    expected reward of action ``a`` is ``x . weights[a]``: zero for
    no-contact (action 0), ``-contact_cost + z . u_a`` for the others, with
    random directions ``u_a`` of unit expected norm, so each action is the
    best one in its own region of the context space (and no-contact where
    every other action is expected to lose). Rewards are the expectation
    plus Gaussian noise. Each action other than no-contact is allowed with
    probability ``allow_prob``, independently per customer; no-contact always.

    Attributes
    ----------
    actions
        ``ActionSpace.from_labels``: ``no_contact, a1, a2, ...``.
    weights
        Shape (n_actions, n_features): the expected-reward coefficients.
    feature_names
        ``("bias", "z1", ...)``.
    noise
        Standard deviation of the reward noise.
    allow_prob
        Probability that an action other than no-contact is allowed.
    raw_signals
        Whether contexts carry nba's named signals (random values, for
        policies with ``needs_raw_signals``); the actions are then a small
        catalog's.

    Examples
    --------
    >>> problem = make_linear_bandit(n_features=3, n_actions=4, seed=0)
    >>> problem.actions.ids
    ('no_contact', 'a1', 'a2', 'a3')
    >>> ctx, allowed = problem.sample_customers(5, np.random.default_rng(0))
    >>> ctx.X.shape, allowed.shape, bool(allowed[:, 0].all())
    ((5, 3), (5, 4), True)
    """

    actions: ActionSpace
    weights: np.ndarray
    feature_names: tuple[str, ...]
    noise: float = 0.5
    allow_prob: float = 0.8
    raw_signals: bool = False

    @property
    def n_features(self) -> int:
        """Number of context features, the bias column included."""
        return int(self.weights.shape[1])

    @property
    def n_actions(self) -> int:
        """Number of actions, no-contact included."""
        return len(self.actions)

    def sample_customers(self, n: int, rng: np.random.Generator) -> tuple[Context, np.ndarray]:
        """Draw n customers: their context and allowed mask (n, n_actions)."""
        X = np.hstack([np.ones((n, 1)), rng.standard_normal((n, self.n_features - 1))])
        allowed = rng.random((n, self.n_actions)) < self.allow_prob
        allowed[:, 0] = True
        signals = _random_signals(self.actions, n, rng) if self.raw_signals else None
        return Context(X, self.actions, self.feature_names, signals), allowed

    def expected_reward(self, X: np.ndarray) -> np.ndarray:
        """Expected reward of every action, shape (n, n_actions)."""
        return X @ self.weights.T

    def sample_reward(
        self, X: np.ndarray, action: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Draw the reward of the chosen actions, shape (n,)."""
        mean = np.einsum("nd,nd->n", X, self.weights[action])
        return mean + self.noise * rng.standard_normal(len(action))

    def logged_batch(self, n: int, *, seed: int = 0, policy: Policy | None = None) -> LoggedBatch:
        """n decisions logged by ``policy`` (uniform random when ``None``).

        Examples
        --------
        >>> batch = make_linear_bandit().logged_batch(10, seed=1)
        >>> len(batch), batch.context.X.shape
        (10, (10, 6))
        """
        rng = np.random.default_rng(seed)
        context, allowed = self.sample_customers(n, rng)
        if policy is None:
            proba = allowed / allowed.sum(axis=1, keepdims=True)
        else:
            proba = policy.predict_proba(context, allowed)
        action = sample_actions(proba, rng)
        propensity = proba[np.arange(len(action)), action]
        reward = self.sample_reward(context.X, action, rng)
        return LoggedBatch(context, allowed, action, propensity, reward)

    def run_online(
        self,
        policy: Policy,
        *,
        rounds: int,
        batch_size: int,
        seed: int = 0,
        eval_rounds: int | None = None,
    ) -> OnlineResult:
        """Let ``policy`` decide and learn online, the way the pipeline runs it.

        Each round draws ``batch_size`` customers, asks the policy for its
        distribution, samples the actions with a seeded generator, logs their
        propensities, draws the rewards and calls ``partial_fit`` on the batch.

        Parameters
        ----------
        policy
            The policy; it learns in place.
        rounds, batch_size
            Number of rounds and decisions per round.
        seed
            Seed of customers, sampling and rewards.
        eval_rounds
            Rounds at the end that the rewards are averaged over (default: a
            quarter of ``rounds``, at least one).

        Returns
        -------
        OnlineResult

        Examples
        --------
        >>> from nba.policies.random import RandomPolicy
        >>> res = make_linear_bandit().run_online(RandomPolicy(), rounds=4, batch_size=50)
        >>> bool(abs(res.policy_reward - res.uniform_reward) < 1e-12), res.ratio < 0.5
        (True, True)
        """
        eval_rounds = max(1, rounds // 4) if eval_rounds is None else eval_rounds
        rng = np.random.default_rng(seed)
        per_round: list[float] = []
        totals = np.zeros(4)  # policy, realised, optimal, uniform
        for r in range(rounds):
            context, allowed = self.sample_customers(batch_size, rng)
            expected = self.expected_reward(context.X)
            proba = policy.predict_proba(context, allowed)
            action = sample_actions(proba, rng)
            propensity = proba[np.arange(len(action)), action]
            reward = self.sample_reward(context.X, action, rng)
            policy.partial_fit(LoggedBatch(context, allowed, action, propensity, reward))
            value = float((proba * expected).sum(axis=1).mean())
            per_round.append(value)
            if r >= rounds - eval_rounds:
                uniform = allowed / allowed.sum(axis=1, keepdims=True)
                totals += (
                    value,
                    reward.mean(),
                    np.where(allowed, expected, -np.inf).max(axis=1).mean(),
                    (uniform * expected).sum(axis=1).mean(),
                )
        totals /= eval_rounds
        policy_reward, realised_reward, optimal_reward, uniform_reward = map(float, totals)
        return OnlineResult(
            policy_reward=policy_reward,
            realised_reward=realised_reward,
            optimal_reward=optimal_reward,
            uniform_reward=uniform_reward,
            per_round=tuple(per_round),
            rounds=rounds,
            batch_size=batch_size,
            eval_rounds=eval_rounds,
        )


def make_linear_bandit(
    *,
    n_features: int = 6,
    n_actions: int = 8,
    seed: int = 0,
    noise: float = 0.5,
    raw_signals: bool = False,
) -> LinearBandit:
    """Build a :class:`LinearBandit`.

    Parameters
    ----------
    n_features
        Context features, the bias column included (>= 2).
    n_actions
        Actions, no-contact included (>= 2).
    seed
        Seed of the reward coefficients.
    noise
        Standard deviation of the reward noise.
    raw_signals
        Contexts carry random named signals and the actions are those of a
        small catalog (two channels, ``n_actions - 1`` messages, one per
        journey stage in turn), so that rule-based policies run on it.

    Returns
    -------
    LinearBandit

    Examples
    --------
    >>> problem = make_linear_bandit(seed=3)
    >>> problem.weights.shape, problem.feature_names[:2]
    ((8, 6), ('bias', 'z1'))
    """
    if n_features < 2 or n_actions < 2:
        raise ValueError(
            f"make_linear_bandit: need n_features >= 2 and n_actions >= 2, "
            f"got {n_features} and {n_actions}"
        )
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_actions, n_features))
    weights[1:, 0] = -0.25  # the cost of contacting
    weights[1:, 1:] = rng.standard_normal((n_actions - 1, n_features - 1)) / np.sqrt(n_features - 1)
    names = ("bias", *(f"z{i}" for i in range(1, n_features)))
    if raw_signals:
        catalog = _small_catalog(n_actions - 1)
        actions = catalog.actions
        weights = np.resize(weights, (len(actions), n_features))
        weights[0] = 0.0
    else:
        actions = ActionSpace.from_labels([f"a{i}" for i in range(1, n_actions)])
    return LinearBandit(actions, weights, names, noise=noise, raw_signals=raw_signals)


def _small_catalog(n_messages: int) -> Catalog:
    channels = [{"id": c, "content_types": ["plain"]} for c in ("email", "sms")]
    messages = [
        {"id": f"m{i}", "stages": [STAGES[i % len(STAGES)]]} for i in range(1, n_messages + 1)
    ]
    return Catalog.from_dict({"channels": channels, "messages": messages})


def _random_signals(actions: ActionSpace, n: int, rng: np.random.Generator) -> Signals:
    """Signals of n customers with random counts and journey stages."""
    channels = tuple(dict.fromkeys(str(a.channel) for a in actions.actions[1:]))
    messages = tuple(dict.fromkeys(str(a.message_id) for a in actions.actions[1:]))
    values = {d.name: rng.poisson(2.0, n).astype(np.float64) for d in signal_definitions(channels)}
    values["stage"] = rng.integers(0, len(STAGES), n).astype(np.float64)
    return Signals(
        customer_ids=np.asarray([f"c{i}" for i in range(n)], dtype=object),
        now=datetime(2026, 1, 1, tzinfo=UTC),
        channels=channels,
        message_ids=messages,
        values=values,
        consent=np.ones((n, len(channels)), dtype=bool),
        days_since_message=np.full((n, len(messages)), np.inf),
    )
