"""The check suite every policy passes (like scikit-learn's ``parametrize_with_checks``).

Anyone can run it on any registered policy — nba's own, a package's (entry
point) or a notebook's (``register_policy``)::

    from nba.policies.checks import check_policy, parametrize_with_checks

    check_policy("linucb:alpha=0.5")          # raises AssertionError on a failure

    @parametrize_with_checks(["linucb", "rules"])   # one pytest case per check
    def test_policy(check):
        check()

The checks run on a :class:`~nba.policies.bandit.LinearBandit`: a seeded
contextual bandit with known expected rewards, in which the best action
depends on the customer (with random named signals for policies that
``needs_raw_signals``). Policies are built with ``random_state=0`` when they
take one: several checks compare two runs for equality.

Checks
------
- :func:`check_constructible_with_defaults`
- :func:`check_spec_roundtrip`
- :func:`check_distribution_valid`
- :func:`check_deterministic_under_seed`
- :func:`check_fit_resets`
- :func:`check_save_load_roundtrip`
- :func:`check_learns` (capability: ``kind == "learned"`` and no raw signals
  needed, as the bandit's rewards do not depend on them)
"""

from __future__ import annotations

import inspect
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nba.policies.bandit import LinearBandit, OnlineResult, make_linear_bandit
from nba.policies.base import Policy
from nba.policies.registry import load_policy, policy_class
from nba.policies.spec import make_policy

__all__ = [
    "check_constructible_with_defaults",
    "check_spec_roundtrip",
    "check_distribution_valid",
    "check_deterministic_under_seed",
    "check_fit_resets",
    "check_save_load_roundtrip",
    "check_learns",
    "check_policy",
    "parametrize_with_checks",
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


def _problem_for(policy: Policy) -> LinearBandit:
    return make_linear_bandit(raw_signals=policy.needs_raw_signals)


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


def _eval_set(problem: LinearBandit, n: int = 64, seed: int = 12345):
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
    the constructor sets no learned state, that ``name`` is registered
    (:mod:`nba.policies.registry`) and ``kind`` is a known kind.

    Raises
    ------
    AssertionError
        Naming what is wrong.

    Examples
    --------
    >>> from nba.policies.linear import LinUCB
    >>> check_constructible_with_defaults(LinUCB)
    """
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
    repr(policy)


def check_spec_roundtrip(policy: Policy) -> None:
    """``make_policy(policy.spec)`` rebuilds a policy of the same class and spec.

    Raises
    ------
    AssertionError
        Naming the spec and what it rebuilt.

    Examples
    --------
    >>> from nba.policies.linear import LinUCB
    >>> check_spec_roundtrip(LinUCB(alpha=0.5))
    """
    rebuilt = make_policy(policy.spec)
    if type(rebuilt) is not type(policy) or rebuilt.spec != policy.spec:
        raise AssertionError(
            f"{type(policy).__name__}: make_policy({policy.spec!r}) gave {rebuilt!r} "
            f"(spec {rebuilt.spec!r}), expected {policy!r}"
        )


def check_distribution_valid(
    policy: Policy, problem: LinearBandit | None = None, *, n_learn: int = 300
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
    problem = problem or _problem_for(policy)
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
    factory: PolicyFactory, problem: LinearBandit | None = None
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
    p1, p2 = factory(), factory()
    problem = problem or _problem_for(p1)
    context, allowed = _eval_set(problem)
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


def check_fit_resets(policy: Policy, problem: LinearBandit | None = None) -> None:
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
    problem = problem or _problem_for(policy)
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
    policy: Policy, tmp_path: str | Path, problem: LinearBandit | None = None
) -> None:
    """A learned policy saved and loaded with ``load_policy`` decides and learns the same.

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
    problem = problem or _problem_for(policy)
    owner = type(policy).__name__
    context, allowed = _eval_set(problem)
    policy.partial_fit(problem.logged_batch(300, seed=1))
    where = policy.save(Path(tmp_path) / "policy")
    loaded = load_policy(where)
    # repr compares the parameters, policies among them (a guard's challenger) included
    if type(loaded) is not type(policy) or repr(loaded) != repr(policy):
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
    problem: LinearBandit | None = None,
    *,
    rounds: int = LEARNS_ROUNDS,
    batch_size: int = LEARNS_BATCH_SIZE,
    threshold: float = LEARNS_THRESHOLD,
    seed: int = 0,
) -> OnlineResult:
    """Learning online, the policy reaches ``threshold`` of the optimal reward.

    Runs :meth:`LinearBandit.run_online` (defaults: 25 rounds of 400
    decisions on ``make_linear_bandit()``, 6 features and 8 actions) and
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
    problem = problem or make_linear_bandit()
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


def _factory(policy_or_spec: str | PolicyFactory) -> PolicyFactory:
    if isinstance(policy_or_spec, str):
        spec = policy_or_spec
        return lambda: make_policy(spec, random_state=0)
    return policy_or_spec


def policy_checks(
    policy_or_spec: str | PolicyFactory,
) -> Iterator[tuple[str, Callable[[], None]]]:
    """The checks that apply to a policy, as (name, check).

    Parameters
    ----------
    policy_or_spec
        A policy spec (built with ``random_state=0`` when the policy takes
        one) or a factory returning a fresh policy with a fixed ``random_state``.

    Each check builds its own fresh policy (or two) when called;
    ``check_learns`` is included for policies of kind ``"learned"`` that do
    not need raw signals (capabilities, see :class:`~nba.policies.base.Policy`).

    Examples
    --------
    >>> from nba.policies.random import RandomPolicy
    >>> [name for name, _ in policy_checks(RandomPolicy)]  # doctest: +NORMALIZE_WHITESPACE
    ['check_constructible_with_defaults', 'check_spec_roundtrip', 'check_distribution_valid',
     'check_deterministic_under_seed', 'check_fit_resets', 'check_save_load_roundtrip']
    >>> for name, check in policy_checks(RandomPolicy):
    ...     check()
    """
    factory = _factory(policy_or_spec)
    cls = type(factory())

    def save_load() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            check_save_load_roundtrip(factory(), tmp)

    def learns() -> None:
        check_learns(factory())

    yield "check_constructible_with_defaults", lambda: check_constructible_with_defaults(cls)
    yield "check_spec_roundtrip", lambda: check_spec_roundtrip(factory())
    yield "check_distribution_valid", lambda: check_distribution_valid(factory())
    yield "check_deterministic_under_seed", lambda: check_deterministic_under_seed(factory)
    yield "check_fit_resets", lambda: check_fit_resets(factory())
    yield "check_save_load_roundtrip", save_load
    if cls.kind == "learned" and not cls.needs_raw_signals:
        yield "check_learns", learns


def check_policy(policy_or_spec: str | PolicyFactory) -> None:
    """Run every check that applies to a policy; raise on the first failure.

    Parameters
    ----------
    policy_or_spec
        A policy spec, e.g. ``"linucb:alpha=0.5"``, or a factory of fresh policies.

    Raises
    ------
    AssertionError
        ``"<check name>: <what is wrong>"``.

    Examples
    --------
    >>> check_policy("constant")
    """
    for name, check in policy_checks(policy_or_spec):
        try:
            check()
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def parametrize_with_checks(specs: Iterable[str]) -> Any:
    """A pytest decorator: one case per (spec, check), the test calls ``check()``.

    Parameters
    ----------
    specs
        Policy specs; the cases are named ``"<spec>-<check name>"``.

    Returns
    -------
    ``pytest.mark.parametrize("check", ...)`` over the checks.

    Examples
    --------
    >>> mark = parametrize_with_checks(["random"])
    >>> mark.args[0], len(mark.args[1])
    ('check', 6)
    """
    import pytest  # a test-time helper: pytest is needed only when it is used

    cases = [
        pytest.param(check, id=f"{spec}-{name}")
        for spec in specs
        for name, check in policy_checks(spec)
    ]
    return pytest.mark.parametrize("check", cases)
