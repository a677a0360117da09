"""The check suite every policy passes (like scikit-learn's ``parametrize_with_checks``).

A new policy gets these tests for free::

    import pytest
    from nba.policies.checks import policy_checks
    from nba.policies.spec import make_policy

    def factory():
        return make_policy("linucb:alpha=0.5", random_state=0)

    @pytest.mark.parametrize(("name", "check"), list(policy_checks(factory)))
    def test_policy(name, check):
        check()

The checks run on a :class:`SyntheticProblem`: a seeded contextual bandit
with known expected rewards, in which the best action depends on the
customer. ``factory`` must return a fresh policy with a fixed
``random_state`` (when the policy takes one): several checks compare two
runs for equality.

Checks
------
- :func:`check_constructible_with_defaults`
- :func:`check_distribution_valid`
- :func:`check_deterministic_under_seed`
- :func:`check_fit_resets`
- :func:`check_save_load_roundtrip`
- :func:`check_learns` (policies of kind ``"learned"`` only)
"""

from __future__ import annotations

import inspect
import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nba.catalog import ActionSpace
from nba.policies.base import Context, LoggedBatch, Policy

__all__ = [
    "SyntheticProblem",
    "OnlineResult",
    "make_synthetic_problem",
    "sample_actions",
    "check_constructible_with_defaults",
    "check_distribution_valid",
    "check_deterministic_under_seed",
    "check_fit_resets",
    "check_save_load_roundtrip",
    "check_learns",
    "policy_checks",
    "LEARNS_ROUNDS",
    "LEARNS_BATCH_SIZE",
    "LEARNS_THRESHOLD",
]

#: :func:`check_learns` defaults: 25 rounds of 400 decisions (10,000 in all),
#: judged on the last 6 rounds, must reach 90% of the optimal reward.
LEARNS_ROUNDS = 25
LEARNS_BATCH_SIZE = 400
LEARNS_THRESHOLD = 0.9

PolicyFactory = Callable[[], Policy]


# -- the synthetic problem -------------------------------------------------------
def sample_actions(proba: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sample one action per row, as the pipeline does; return it and its propensity.

    Parameters
    ----------
    proba
        Shape (n, n_actions), rows summing to 1.
    rng
        The generator to draw from.

    Returns
    -------
    action
        Shape (n,), indices of actions with positive probability.
    propensity
        Shape (n,), the probability of the sampled action.

    Examples
    --------
    >>> sample_actions(np.array([[0.0, 1.0, 0.0]]), np.random.default_rng(0))
    (array([1]), array([1.]))
    """
    cum = np.cumsum(proba, axis=1)
    # Scaling u by the row total (not 1) keeps round-off from ever picking an
    # action of probability zero: ``cum > u`` first holds at a positive entry.
    u = rng.random(proba.shape[0]) * cum[:, -1]
    action = (cum > u[:, None]).argmax(axis=1)
    return action, proba[np.arange(proba.shape[0]), action]


@dataclass(frozen=True)
class OnlineResult:
    """Outcome of :meth:`SyntheticProblem.run_online`.

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
class SyntheticProblem:
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

    Examples
    --------
    >>> problem = make_synthetic_problem(n_features=3, n_actions=4, seed=0)
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
        return Context(X, self.actions, self.feature_names), allowed

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
        >>> batch = make_synthetic_problem().logged_batch(10, seed=1)
        >>> len(batch), batch.context.X.shape
        (10, (10, 6))
        """
        rng = np.random.default_rng(seed)
        context, allowed = self.sample_customers(n, rng)
        if policy is None:
            proba = allowed / allowed.sum(axis=1, keepdims=True)
        else:
            proba = policy.predict_proba(context, allowed)
        action, propensity = sample_actions(proba, rng)
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
        >>> res = make_synthetic_problem().run_online(RandomPolicy(), rounds=4, batch_size=50)
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
            action, propensity = sample_actions(proba, rng)
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


def make_synthetic_problem(
    *, n_features: int = 6, n_actions: int = 8, seed: int = 0, noise: float = 0.5
) -> SyntheticProblem:
    """Build a :class:`SyntheticProblem`.

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

    Returns
    -------
    SyntheticProblem

    Examples
    --------
    >>> problem = make_synthetic_problem(seed=3)
    >>> problem.weights.shape, problem.feature_names[:2]
    ((8, 6), ('bias', 'z1'))
    """
    if n_features < 2 or n_actions < 2:
        raise ValueError(
            f"make_synthetic_problem: need n_features >= 2 and n_actions >= 2, "
            f"got {n_features} and {n_actions}"
        )
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_actions, n_features))
    weights[1:, 0] = -0.25  # the cost of contacting
    weights[1:, 1:] = rng.standard_normal((n_actions - 1, n_features - 1)) / np.sqrt(n_features - 1)
    names = ("bias", *(f"z{i}" for i in range(1, n_features)))
    actions = ActionSpace.from_labels([f"a{i}" for i in range(1, n_actions)])
    return SyntheticProblem(actions, weights, names, noise=noise)


# -- helpers -------------------------------------------------------------------------
def _learned_state(policy: Policy) -> dict[str, Any]:
    return {k: v for k, v in vars(policy).items() if k.endswith("_") and not k.startswith("__")}


def _same(a: Any, b: Any) -> bool | None:
    """Whether two pieces of learned state are equal; ``None`` if not comparable."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, np.random.Generator) and isinstance(b, np.random.Generator):
        return bool(a.bit_generator.state == b.bit_generator.state)
    if isinstance(a, (int, float, str, bytes, bool, type(None), np.generic)):
        return bool(a == b) or (a != a and b != b)  # NaN equals NaN here
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False
        parts = [_same(x, y) for x, y in zip(a, b, strict=True)]
        return None if None in parts else all(parts)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        parts = [_same(a[k], b[k]) for k in a]
        return None if None in parts else all(parts)
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:  # native handles (e.g. a VW workspace) do not pickle
        return None


def _assert_same_state(p1: Policy, p2: Policy, what: str) -> None:
    s1, s2 = _learned_state(p1), _learned_state(p2)
    if s1.keys() != s2.keys():
        raise AssertionError(
            f"{type(p1).__name__}: {what}: learned attributes differ: {sorted(s1)} vs {sorted(s2)}"
        )
    for k in s1:
        if _same(s1[k], s2[k]) is False:
            raise AssertionError(f"{type(p1).__name__}: {what}: learned state `{k}` differs")


def _assert_same_proba(p1: np.ndarray, p2: np.ndarray, owner: str, what: str) -> None:
    if p1.shape != p2.shape or not np.array_equal(p1, p2):
        diff = np.abs(p1 - p2).max() if p1.shape == p2.shape else "shapes differ"
        raise AssertionError(f"{owner}: {what}: distributions differ (max abs diff {diff})")


def _eval_set(problem: SyntheticProblem, n: int = 64, seed: int = 12345):
    context, allowed = problem.sample_customers(n, np.random.default_rng(seed))
    allowed[0] = False
    allowed[0, 0] = True  # only no-contact allowed
    allowed[1] = True  # everything allowed
    return context, allowed


# -- the checks ----------------------------------------------------------------------
def check_constructible_with_defaults(cls: type[Policy]) -> None:
    """The class builds with no arguments, stores its parameters and is registered.

    Checks that every constructor parameter is keyword-only with a default
    and stored unchanged under its own name (so ``get_params`` works), that
    the constructor sets no learned state, that ``name`` is registered in
    :data:`nba.policies.spec.POLICIES` and ``kind`` is a known kind, and that
    ``make_policy(policy.spec)`` rebuilds the same parameters.

    Raises
    ------
    AssertionError
        Naming what is wrong.

    Examples
    --------
    >>> from nba.policies.linear import LinUCB
    >>> check_constructible_with_defaults(LinUCB)
    """
    from nba.policies.spec import make_policy, policy_class

    owner = cls.__name__
    sig = inspect.signature(cls.__init__)
    for p in list(sig.parameters.values())[1:]:
        if p.kind is not p.KEYWORD_ONLY:
            raise AssertionError(f"{owner}: parameter `{p.name}` must be keyword-only")
        if p.default is p.empty:
            raise AssertionError(f"{owner}: parameter `{p.name}` needs a default")
    try:
        policy = cls()
    except Exception as exc:  # any failure to build is the finding
        raise AssertionError(f"{owner}() failed: {exc!r}") from exc
    for p in list(sig.parameters.values())[1:]:
        if not hasattr(policy, p.name) or getattr(policy, p.name) is not p.default:
            raise AssertionError(
                f"{owner}: `__init__` must store parameter `{p.name}` unchanged as `self.{p.name}`"
            )
    if _learned_state(policy):
        raise AssertionError(
            f"{owner}: `__init__` must not set learned state, got {sorted(_learned_state(policy))}"
        )
    if getattr(cls, "kind", None) not in ("baseline", "learned", "random", "oracle"):
        raise AssertionError(f"{owner}: unknown kind {getattr(cls, 'kind', None)!r}")
    try:
        registered = policy_class(cls.name)
    except Exception as exc:  # an unregistered name is the finding
        raise AssertionError(f"{owner}: name `{cls.name}` is not registered: {exc}") from exc
    if registered is not cls:
        raise AssertionError(f"{owner}: name `{cls.name}` is registered to {registered.__name__}")
    rebuilt = make_policy(policy.spec)
    if type(rebuilt) is not cls or rebuilt.get_params() != policy.get_params():
        raise AssertionError(
            f"{owner}: make_policy({policy.spec!r}) gave {rebuilt!r}, expected {policy!r}"
        )
    repr(policy)


def check_distribution_valid(
    policy: Policy, problem: SyntheticProblem | None = None, *, n_learn: int = 300
) -> None:
    """Distributions have the right shape, are zero outside ``allowed`` and sum to 1.

    Checked for 64 customers (one allowed only no-contact, one everything),
    for 1 and for 0 customers, before learning and after ``partial_fit`` on
    ``n_learn`` uniformly logged decisions.

    Raises
    ------
    AssertionError
        Naming the stage and what is wrong.

    Examples
    --------
    >>> from nba.policies.random import RandomPolicy
    >>> check_distribution_valid(RandomPolicy())
    """
    problem = problem or make_synthetic_problem()
    owner = type(policy).__name__
    context, allowed = _eval_set(problem)
    for stage in ("before learning", "after learning"):
        if stage == "after learning":
            policy.partial_fit(problem.logged_batch(n_learn, seed=1))
        for rows in (np.arange(len(context)), np.array([2]), np.array([], dtype=int)):
            what = f"{stage}, {len(rows)} customers"
            p = policy.predict_proba(context.take(rows), allowed[rows])
            if not isinstance(p, np.ndarray) or p.shape != (len(rows), problem.n_actions):
                shape = getattr(p, "shape", type(p).__name__)
                raise AssertionError(
                    f"{owner}: {what}: expected an array of shape "
                    f"({len(rows)}, {problem.n_actions}), got {shape}"
                )
            if not np.isfinite(p).all() or (p < 0).any():
                raise AssertionError(f"{owner}: {what}: probabilities must be finite and >= 0")
            if (p[~allowed[rows]] != 0).any():
                raise AssertionError(f"{owner}: {what}: probability on an action not allowed")
            if len(rows) and not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-9):
                worst = np.abs(p.sum(axis=1) - 1).max()
                raise AssertionError(f"{owner}: {what}: rows must sum to 1 (off by {worst:.3g})")


def check_deterministic_under_seed(
    factory: PolicyFactory, problem: SyntheticProblem | None = None
) -> None:
    """Two policies from ``factory`` decide and learn identically on the same data.

    Raises
    ------
    AssertionError
        If the distributions or the comparable learned state differ.

    Examples
    --------
    >>> from nba.policies.linear import LinearTS
    >>> check_deterministic_under_seed(lambda: LinearTS(random_state=0))
    """
    problem = problem or make_synthetic_problem()
    context, allowed = _eval_set(problem)
    p1, p2 = factory(), factory()
    owner = type(p1).__name__
    _assert_same_proba(
        p1.predict_proba(context, allowed), p2.predict_proba(context, allowed), owner, "unfitted"
    )
    for i, seed in enumerate((1, 2)):
        batch = problem.logged_batch(200, seed=seed)
        p1.partial_fit(batch)
        p2.partial_fit(batch)
        _assert_same_state(p1, p2, f"after partial_fit #{i + 1}")
        _assert_same_proba(
            p1.predict_proba(context, allowed),
            p2.predict_proba(context, allowed),
            owner,
            f"after partial_fit #{i + 1}",
        )


def check_fit_resets(policy: Policy, problem: SyntheticProblem | None = None) -> None:
    """``fit`` starts over: fit, partial_fit more, fit again equals the first fit.

    Raises
    ------
    AssertionError
        If the second ``fit`` still shows what was learned in between.

    Examples
    --------
    >>> from nba.policies.linear import LinUCB
    >>> check_fit_resets(LinUCB())
    """
    problem = problem or make_synthetic_problem()
    context, allowed = _eval_set(problem)
    b1, b2 = problem.logged_batch(200, seed=1), problem.logged_batch(200, seed=2)
    first = policy.fit(b1).predict_proba(context, allowed)
    version = policy.version
    policy.partial_fit(b2)
    again = policy.fit(b1).predict_proba(context, allowed)
    _assert_same_proba(first, again, type(policy).__name__, "fit after partial_fit")
    if policy.version != version:
        raise AssertionError(
            f"{type(policy).__name__}: version after the second fit is {policy.version!r}, "
            f"expected {version!r} as after the first"
        )


def check_save_load_roundtrip(
    policy: Policy, tmp_path: str | Path, problem: SyntheticProblem | None = None
) -> None:
    """A learned policy saved and loaded with ``Policy.load`` decides and learns the same.

    Raises
    ------
    AssertionError
        If the loaded policy differs in class, parameters, version,
        distributions, or in what it learns next.

    Examples
    --------
    >>> import tempfile
    >>> from nba.policies.linear import LinearTS
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_save_load_roundtrip(LinearTS(random_state=0), tmp)
    """
    problem = problem or make_synthetic_problem()
    owner = type(policy).__name__
    context, allowed = _eval_set(problem)
    policy.partial_fit(problem.logged_batch(300, seed=1))
    where = policy.save(Path(tmp_path) / "policy")
    loaded = Policy.load(where)
    if type(loaded) is not type(policy) or loaded.get_params() != policy.get_params():
        raise AssertionError(f"{owner}: loaded {loaded!r}, expected {policy!r}")
    if loaded.version != policy.version:
        raise AssertionError(
            f"{owner}: loaded version {loaded.version!r}, expected {policy.version!r}"
        )
    _assert_same_proba(
        policy.predict_proba(context, allowed),
        loaded.predict_proba(context, allowed),
        owner,
        "after load",
    )
    batch = problem.logged_batch(200, seed=2)
    policy.partial_fit(batch)
    loaded.partial_fit(batch)
    _assert_same_proba(
        policy.predict_proba(context, allowed),
        loaded.predict_proba(context, allowed),
        owner,
        "after load and more learning",
    )
    for p in (policy, loaded):
        close = getattr(p, "close", None)
        if callable(close):
            close()


def check_learns(
    policy: Policy,
    problem: SyntheticProblem | None = None,
    *,
    rounds: int = LEARNS_ROUNDS,
    batch_size: int = LEARNS_BATCH_SIZE,
    threshold: float = LEARNS_THRESHOLD,
    seed: int = 0,
) -> OnlineResult:
    """Learning online, the policy reaches ``threshold`` of the optimal reward.

    Runs :meth:`SyntheticProblem.run_online` (defaults: 25 rounds of 400
    decisions on ``make_synthetic_problem()``, 6 features and 8 actions) and
    requires the policy's expected reward over the last quarter of the
    rounds (6 rounds) to be at least ``threshold`` (0.9) times the optimal
    one. On that problem uniform random earns about -0.2 and the optimum
    about 0.9; LinUCB, linear TS and the ridge reward model reach 0.99 of
    the optimum, Vowpal Wabbit's SquareCB about 0.95.

    Returns
    -------
    OnlineResult

    Raises
    ------
    AssertionError
        With the rewards reached.

    Examples
    --------
    >>> from nba.policies.linear import LinUCB
    >>> round(check_learns(LinUCB()).ratio, 2) >= 0.9
    True
    """
    problem = problem or make_synthetic_problem()
    res = problem.run_online(policy, rounds=rounds, batch_size=batch_size, seed=seed)
    if res.policy_reward < threshold * res.optimal_reward:
        raise AssertionError(
            f"{type(policy).__name__}: after {rounds} rounds of {batch_size} decisions the "
            f"expected reward over the last {res.eval_rounds} rounds is "
            f"{res.policy_reward:.4f}, below {threshold:.0%} of the optimal "
            f"{res.optimal_reward:.4f} (ratio {res.ratio:.3f}; uniform random earns "
            f"{res.uniform_reward:.4f})"
        )
    return res


def policy_checks(factory: PolicyFactory) -> Iterator[tuple[str, Callable[[], None]]]:
    """The checks that apply to the policies ``factory`` builds, as (name, check).

    Each check builds its own fresh policy (or two) when called;
    ``check_learns`` is included for policies of kind ``"learned"``.

    Examples
    --------
    >>> from nba.policies.random import RandomPolicy
    >>> [name for name, _ in policy_checks(RandomPolicy)]  # doctest: +NORMALIZE_WHITESPACE
    ['check_constructible_with_defaults', 'check_distribution_valid',
     'check_deterministic_under_seed', 'check_fit_resets', 'check_save_load_roundtrip']
    >>> for name, check in policy_checks(RandomPolicy):
    ...     check()
    """
    cls = type(factory())

    def save_load() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            check_save_load_roundtrip(factory(), tmp)

    def learns() -> None:
        check_learns(factory())

    yield "check_constructible_with_defaults", lambda: check_constructible_with_defaults(cls)
    yield "check_distribution_valid", lambda: check_distribution_valid(factory())
    yield "check_deterministic_under_seed", lambda: check_deterministic_under_seed(factory)
    yield "check_fit_resets", lambda: check_fit_resets(factory())
    yield "check_save_load_roundtrip", save_load
    if cls.kind == "learned":
        yield "check_learns", learns
