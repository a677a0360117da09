"""The one policy interface.

A policy maps a :class:`Context` (encoded features of n customers, and the
raw signals when available) and an ``allowed`` mask to a probability
distribution over the actions, shape (n_customers, n_actions), zero outside
``allowed``, rows summing to 1. Sampling happens in one place — the
pipeline — so the sampled action's probability is the logged propensity.

Learning policies take :class:`LoggedBatch` es of (context, allowed, chosen
action, propensity, reward): ``fit`` starts over, ``partial_fit`` continues.
Constructors take keyword-only hyperparameters and only store them
(scikit-learn habit); learned state ends in ``_``.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from nba.exceptions import PolicyError
from nba.features.context import Context

__all__ = [
    "LoggedBatch",
    "Policy",
    "POLICY_FILE",
    "onehot_argmax",
    "epsilon_greedy",
    "uniform",
    "check_allowed",
    "check_context",
    "check_params",
    "is_integer",
    "is_real",
]

POLICY_FILE = "policy.json"


@dataclass(frozen=True)
class LoggedBatch:
    """Logged decisions with their rewards, the unit policies learn from.

    Attributes
    ----------
    context
        The customers' context at decision time.
    allowed
        Shape (n, n_actions) bool: what the guardrails allowed.
    action
        Shape (n,) int: the chosen action's index.
    propensity
        Shape (n,): probability the logging policy gave the chosen action.
    reward
        Shape (n,): the joined reward.
    outcomes
        Optional, per outcome name (:data:`nba.goals.OUTCOMES`), shape (n,):
        the events the reward join attributed to each decision (counts;
        ``revenue`` sums purchase values). Policies that model the funnel
        behind the reward learn from them; the others ignore them.
    """

    context: Context
    allowed: np.ndarray
    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    outcomes: Mapping[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.action.shape[0])

    def take(self, rows: np.ndarray) -> LoggedBatch:
        """A subset of the decisions (index or boolean mask)."""
        return LoggedBatch(
            self.context.take(rows),
            self.allowed[rows],
            self.action[rows],
            self.propensity[rows],
            self.reward[rows],
            None if self.outcomes is None else {k: v[rows] for k, v in self.outcomes.items()},
        )

    def validate(self) -> None:
        """Check shapes and values.

        Raises
        ------
        PolicyError
            Naming the field and what was expected.
        """
        n, a = len(self.context), self.context.n_actions
        for name, arr in (
            ("action", self.action),
            ("propensity", self.propensity),
            ("reward", self.reward),
        ):
            if arr.shape != (n,):
                raise PolicyError(f"LoggedBatch `{name}`: expected shape ({n},), got {arr.shape}")
        if self.allowed.shape != (n, a):
            raise PolicyError(
                f"LoggedBatch `allowed`: expected shape ({n}, {a}), got {self.allowed.shape}"
            )
        if n and (self.action.min() < 0 or self.action.max() >= a):
            raise PolicyError(
                f"LoggedBatch `action`: indices must be in [0, {a}), got out of range"
            )
        if n and not ((self.propensity > 0) & (self.propensity <= 1)).all():
            bad = self.propensity[~((self.propensity > 0) & (self.propensity <= 1))][0]
            raise PolicyError(f"LoggedBatch `propensity`: expected values in (0, 1], got {bad}")
        if n and not np.isfinite(self.reward).all():
            raise PolicyError("LoggedBatch `reward`: expected finite values, got NaN or inf")
        for name, arr in (self.outcomes or {}).items():
            if np.shape(arr) != (n,):
                raise PolicyError(
                    f"LoggedBatch `outcomes[{name!r}]`: expected shape ({n},), got {np.shape(arr)}"
                )


class Policy(ABC):
    """Base class of every policy.

    Subclasses set ``name`` (the spec name, e.g. ``"linucb"``) and ``kind``
    (``"baseline"``, ``"learned"``, ``"random"`` or ``"oracle"``), take
    keyword-only hyperparameters in ``__init__`` and store them unchanged
    under the same names. What a policy can or needs is said by class
    attributes (capabilities), never by its name: ``kind == "learned"``
    (it learns from rewards) and ``needs_raw_signals``.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "learned"
    #: Capability: ``predict_proba`` reads ``context.signals`` (nba's own named
    #: signals), so it cannot run on contexts without them (another tool's logs).
    needs_raw_signals: ClassVar[bool] = False

    # -- parameters (scikit-learn style) -----------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The constructor's hyperparameters, as stored."""
        return {k: getattr(self, k) for k in self._param_names()}

    @property
    def spec(self) -> str:
        """The policy spec that rebuilds this policy, e.g. ``linucb:alpha=0.5``."""
        params = {k: v for k, v in self.get_params().items() if v is not None}
        if not params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in params.items())

    @property
    def version(self) -> str:
        """Version of the learned state: the number of examples learned from."""
        return str(getattr(self, "n_examples_", 0))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- behaviour -----------------------------------------------------------
    @abstractmethod
    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """Probability of each action for each customer.

        Parameters
        ----------
        context
            The customers' context (n customers).
        allowed
            Shape (n_customers, n_actions) bool; no-contact is always allowed.

        Returns
        -------
        Shape (n_customers, n_actions): zero outside ``allowed``, rows sum to 1.
        """

    def diagnostics(self) -> dict[str, float]:
        """Finite figures about the policy's own state, tracked per simulated day
        (MLflow metrics ``policy.<name>``); none by default."""
        return {}

    def fit(self, batch: LoggedBatch) -> Self:
        """Forget learned state and learn from ``batch``."""
        self.reset()
        return self.partial_fit(batch)

    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Continue learning from ``batch`` (no-op for non-learning policies)."""
        batch.validate()
        return self

    def reset(self) -> None:
        """Drop learned state (attributes ending in ``_``)."""
        for k in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, k)

    # -- persistence -----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the policy to directory ``path`` (created if needed).

        ``policy.json`` holds the spec name and hyperparameters; learned
        state goes to ``state.pkl`` (subclasses with native model files, like
        Vowpal Wabbit, override :meth:`_save_state`).
        :func:`nba.policies.registry.load_policy` reads it back.
        """
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "params": self._saved_params(), "version": self.version}
        self._save_state(out)
        (out / POLICY_FILE).write_text(json.dumps(meta, indent=2, default=str))
        return out

    def _saved_params(self) -> dict[str, Any]:
        """The hyperparameters ``policy.json`` holds, from which the class is rebuilt."""
        return self.get_params()

    @classmethod
    def _from_saved_params(cls, params: dict[str, Any]) -> Self:
        """The policy rebuilt from the hyperparameters ``policy.json`` holds.

        A class whose saved hyperparameters changed shape reads the older
        shapes here, so that policies saved by earlier versions still load.
        """
        return cls(**params)

    def _save_state(self, out: Path) -> None:
        state = {k: v for k, v in vars(self).items() if k.endswith("_")}
        with open(out / "state.pkl", "wb") as f:
            pickle.dump(state, f)

    def _load_state(self, src: Path) -> None:
        state_file = src / "state.pkl"
        if state_file.exists():
            with open(state_file, "rb") as f:
                vars(self).update(pickle.load(f))


# -- validation and distribution helpers ---------------------------------------
def is_real(value: Any) -> bool:
    """A finite real number (not a bool).

    Examples
    --------
    >>> is_real(0.5), is_real(True), is_real(float("inf")), is_real("1")
    (True, False, False, False)
    """
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def is_integer(value: Any) -> bool:
    """An integer (not a bool).

    Examples
    --------
    >>> is_integer(3), is_integer(3.0), is_integer(False)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_params(owner: str, policy: Any, checks: Iterable[tuple[str, bool, str]]) -> None:
    """Raise on the first failed hyperparameter check ``(name, ok, expected)``.

    Raises
    ------
    PolicyError
        ``"<owner>: `<name>` must be <expected>, got <value>"``.

    Examples
    --------
    >>> class P:
    ...     ridge = -1
    >>> check_params("P", P(), [("ridge", P.ridge > 0, "a number > 0")])
    Traceback (most recent call last):
    ...
    nba.exceptions.PolicyError: P: `ridge` must be a number > 0, got -1
    """
    for name, ok, expected in checks:
        if not ok:
            raise PolicyError(
                f"{owner}: `{name}` must be {expected}, got {getattr(policy, name)!r}"
            )


def check_context(owner: str, X: np.ndarray) -> None:
    """Check that a context's ``X`` is a finite (n_customers, n_features) matrix.

    Raises
    ------
    PolicyError
        Naming ``owner`` and, for NaN or inf, the first bad row.

    Examples
    --------
    >>> check_context("LinUCB", np.array([[0.0, 1.0], [np.nan, 0.0]]))
    Traceback (most recent call last):
    ...
    nba.exceptions.PolicyError: LinUCB: context `X` must be finite, got NaN or inf in row 1
    """
    if X.ndim != 2:
        raise PolicyError(
            f"{owner}: context `X` must be 2-D (n_customers, n_features), got shape {X.shape}"
        )
    if not np.isfinite(X).all():
        row = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise PolicyError(f"{owner}: context `X` must be finite, got NaN or inf in row {row}")


def check_allowed(allowed: np.ndarray, n: int, n_actions: int) -> np.ndarray:
    """Validate an allowed mask's shape and that every row allows something."""
    allowed = np.asarray(allowed, dtype=bool)
    if allowed.shape != (n, n_actions):
        raise PolicyError(f"`allowed`: expected shape ({n}, {n_actions}), got {allowed.shape}")
    if n and not allowed.any(axis=1).all():
        raise PolicyError("`allowed`: every customer needs at least one allowed action")
    return allowed


def uniform(allowed: np.ndarray) -> np.ndarray:
    """Uniform distribution over the allowed actions of each row.

    Examples
    --------
    >>> uniform(np.array([[True, False, True]]))
    array([[0.5, 0. , 0.5]])
    """
    a = allowed.astype(float)
    return a / a.sum(axis=1, keepdims=True)


def onehot_argmax(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Greedy distribution: all mass on the best allowed action (ties shared).

    Examples
    --------
    >>> onehot_argmax(np.array([[1.0, 3.0, 3.0]]), np.array([[True, True, False]]))
    array([[0., 1., 0.]])
    """
    s = np.where(allowed, scores, -np.inf)
    best = s.max(axis=1, keepdims=True)
    top = (s >= best) & allowed
    return top / top.sum(axis=1, keepdims=True)


def epsilon_greedy(scores: np.ndarray, allowed: np.ndarray, epsilon: float) -> np.ndarray:
    """(1 - ε) on the greedy action(s), ε spread uniformly over the allowed.

    Examples
    --------
    >>> epsilon_greedy(np.array([[0.0, 1.0]]), np.ones((1, 2), bool), 0.2)
    array([[0.1, 0.9]])
    """
    return (1.0 - epsilon) * onehot_argmax(scores, allowed) + epsilon * uniform(allowed)
