"""A scikit-learn reward model, acted on greedily or epsilon-greedily.

The policy regresses the logged reward on the context and the chosen action,
``r(x, a)``, and puts ``1 - epsilon`` on the action with the best predicted
reward among those allowed (ties shared), ``epsilon`` uniformly over the
allowed actions (the "direct method" policy of off-policy learning).

Two models:

- ``"ridge"`` (default): one :class:`sklearn.linear_model.Ridge` per action
  on the context features — fast, and exact when rewards are linear in the
  features per action. Predictions for all actions are one matrix product.
- ``"gbm"``: one :class:`sklearn.ensemble.HistGradientBoostingRegressor` on
  the context features concatenated with the action's features (the
  catalog's message, channel, content-type… columns), so actions sharing a
  channel or message share what is learned and interactions need not be
  linear. Slower to fit and to predict (n_customers * n_actions rows).

Learning refits the model on a bounded buffer of the most recent
``max_examples`` logged decisions rather than updating it by stochastic
gradient (``SGDRegressor.partial_fit``): the fit is exact and deterministic,
needs no learning-rate tuning, and its cost is bounded by ``max_examples``;
dropping the oldest examples also lets the model follow drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Self

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies._threads import run_blocks, single_threaded
from nba.policies.base import (
    LoggedBatch,
    Policy,
    check_allowed,
    check_context,
    check_params,
    epsilon_greedy,
    is_integer,
    is_real,
)

__all__ = ["RewardModelPolicy", "MODELS"]

#: The reward models this policy can use.
MODELS: tuple[str, ...] = ("ridge", "gbm")
#: Customers per prediction block of the ``gbm`` model (x n_actions rows).
_GBM_BLOCK = 2048
#: Customers per prediction block of the ``ridge`` model.
_BLOCK = 2048


class RewardModelPolicy(Policy):
    """Greedy or epsilon-greedy on a scikit-learn reward model (see module docs).

    Parameters
    ----------
    model
        ``"ridge"`` (one ridge regression per action) or ``"gbm"``
        (gradient-boosted trees over context and action features).
    epsilon
        Probability mass spread uniformly over the allowed actions (0 to 1).
    alpha
        Ridge regularisation (``ridge`` model; > 0).
    max_examples
        Size of the buffer of most recent logged decisions the model is
        refitted on (>= 1).
    random_state
        Seed of the ``gbm`` model (``ridge`` is deterministic).

    Attributes
    ----------
    coef_, intercept_
        ``ridge``: shape (n_actions, n_features) and (n_actions,); actions
        never chosen predict the mean reward of the buffer.
    model_
        ``gbm``: the fitted regressor (``None`` before learning).
    X_, action_, reward_
        The buffer: the last ``max_examples`` contexts, actions and rewards.
    n_examples_
        Number of decisions learned from in total.

    Examples
    --------
    >>> import numpy as np
    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> from nba.policies.base import LoggedBatch
    >>> ctx = Context(np.array([[1.0, -1.0], [1.0, 1.0]]), ActionSpace.from_labels(["a", "b"]),
    ...               ("bias", "x"))
    >>> allowed = np.ones((2, 3), bool)
    >>> policy = RewardModelPolicy(epsilon=0.3)
    >>> policy.predict_proba(ctx, allowed).round(3)
    array([[0.333, 0.333, 0.333],
           [0.333, 0.333, 0.333]])
    >>> batch = LoggedBatch(ctx.take(np.array([0, 1, 0, 1])), np.ones((4, 3), bool),
    ...                     np.array([1, 1, 2, 2]), np.full(4, 1 / 3), np.array([1.0, 0, 0, 1]))
    >>> policy.fit(batch).predict_proba(ctx, allowed)
    array([[0.1, 0.8, 0.1],
           [0.1, 0.1, 0.8]])
    """

    name = "reward-model"
    kind = "learned"

    def __init__(
        self,
        *,
        model: Literal["ridge", "gbm"] = "ridge",
        epsilon: float = 0.0,
        alpha: float = 1.0,
        max_examples: int = 200_000,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.epsilon = epsilon
        self.alpha = alpha
        self.max_examples = max_examples
        self.random_state = random_state

    # -- validation ------------------------------------------------------------
    def _validate_params(self) -> None:
        check_params(
            "RewardModelPolicy",
            self,
            (
                ("model", self.model in MODELS, f"one of {', '.join(MODELS)}"),
                (
                    "epsilon",
                    is_real(self.epsilon) and 0.0 <= self.epsilon <= 1.0,
                    "a number in [0, 1]",
                ),
                ("alpha", is_real(self.alpha) and self.alpha > 0, "a number > 0"),
                (
                    "max_examples",
                    is_integer(self.max_examples) and self.max_examples >= 1,
                    "an integer >= 1",
                ),
            ),
        )

    def _check_context(self, context: Context) -> None:
        X = context.X
        check_context("RewardModelPolicy", X)
        if hasattr(self, "n_features_in_"):
            if X.shape[1] != self.n_features_in_:
                raise PolicyError(
                    f"RewardModelPolicy: context `X` has {X.shape[1]} features, "
                    f"expected {self.n_features_in_} as when the policy started learning"
                )
            if context.n_actions != self.n_actions_:
                raise PolicyError(
                    f"RewardModelPolicy: the action space has {context.n_actions} actions, "
                    f"expected {self.n_actions_} as when the policy started learning"
                )

    # -- learning ----------------------------------------------------------------
    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Add ``batch`` to the buffer (dropping the oldest beyond ``max_examples``) and refit.

        Parameters
        ----------
        batch
            Logged decisions with their rewards.

        Returns
        -------
        The policy itself.

        Raises
        ------
        PolicyError
            If the batch is invalid, a hyperparameter is out of range, or the
            features or actions differ from what the policy learned before.
        """
        batch.validate()
        self._validate_params()
        self._check_context(batch.context)
        X = np.asarray(batch.context.X, dtype=np.float64)
        if not hasattr(self, "n_features_in_"):
            self.n_features_in_ = X.shape[1]
            self.n_actions_ = batch.context.n_actions
            self._buf_X_ = np.empty((0, X.shape[1]))
            self._buf_action_ = np.empty(0, dtype=np.int64)
            self._buf_reward_ = np.empty(0)
            self._buf_size_ = self._buf_head_ = 0
            self.n_examples_ = 0
        if len(batch) == 0:
            return self
        self._append(X, batch.action.astype(np.int64), batch.reward.astype(np.float64))
        self.n_examples_ += len(batch)
        if self.model == "ridge":
            with single_threaded("blas"):
                self._fit_ridge()
        else:
            with single_threaded("openmp"):
                self._fit_gbm(batch.context.actions.features)
        return self

    # -- the buffer: a ring of at most max_examples rows, grown geometrically ------
    def _append(self, X: np.ndarray, action: np.ndarray, reward: np.ndarray) -> None:
        keep = int(self.max_examples)
        X, action, reward = X[-keep:], action[-keep:], reward[-keep:]
        n, size, cap = len(action), self._buf_size_, len(self._buf_action_)
        if size + n > cap and cap < keep:  # not yet wrapped: rows [0, size) in order
            cap = min(keep, max(size + n, 2 * cap))
            for name in ("_buf_X_", "_buf_action_", "_buf_reward_"):
                old = getattr(self, name)
                new = np.empty((cap, *old.shape[1:]), dtype=old.dtype)
                new[:size] = old[:size]
                setattr(self, name, new)
            self._buf_head_ = size
        pos = (self._buf_head_ + np.arange(n)) % cap
        first = min(n, cap - self._buf_head_)  # rows written before wrapping around
        for name, rows in (("_buf_X_", X), ("_buf_action_", action), ("_buf_reward_", reward)):
            buf = getattr(self, name)
            buf[self._buf_head_ : self._buf_head_ + first] = rows[:first]
            buf[: n - first] = rows[first:]
        self._buf_head_ = int(pos[-1] + 1) % cap
        self._buf_size_ = min(size + n, cap)

    def _ordered(self, buf: np.ndarray) -> np.ndarray:
        size, head = self._buf_size_, self._buf_head_
        if size < len(buf) or head == 0:
            return buf[:size]
        return np.concatenate([buf[head:], buf[:head]])

    @property
    def X_(self) -> np.ndarray:
        """Buffered contexts, oldest first, shape (n_buffered, n_features)."""
        return self._ordered(self._buf_X_)

    @property
    def action_(self) -> np.ndarray:
        """Buffered chosen actions, oldest first, shape (n_buffered,)."""
        return self._ordered(self._buf_action_)

    @property
    def reward_(self) -> np.ndarray:
        """Buffered rewards, oldest first, shape (n_buffered,)."""
        return self._ordered(self._buf_reward_)

    def _fit_ridge(self) -> None:
        size = self._buf_size_
        X, action, reward = (
            self._buf_X_[:size],
            self._buf_action_[:size],
            self._buf_reward_[:size],
        )
        n_actions, d = self.n_actions_, self.n_features_in_
        coef = np.zeros((n_actions, d))
        intercept = np.full(n_actions, float(reward.mean()))
        order = np.argsort(action, kind="stable")
        counts = np.bincount(action, minlength=n_actions)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for a in np.flatnonzero(counts):
            rows = order[bounds[a] : bounds[a + 1]]
            reg = Ridge(alpha=float(self.alpha)).fit(X[rows], reward[rows])
            coef[a], intercept[a] = reg.coef_, reg.intercept_
        self.coef_, self.intercept_ = coef, intercept

    def _fit_gbm(self, action_features: np.ndarray) -> None:
        size = self._buf_size_
        action = self._buf_action_[:size]
        self.action_features_ = np.asarray(action_features, dtype=np.float64)
        features = np.hstack([self._buf_X_[:size], self.action_features_[action]])
        self.model_ = HistGradientBoostingRegressor(
            early_stopping=False, random_state=self.random_state
        ).fit(features, self._buf_reward_[:size])

    # -- prediction --------------------------------------------------------------
    def predict_reward(self, context: Context) -> np.ndarray:
        """Predicted reward of every action, shape (n_customers, n_actions).

        Zero before the policy has learned anything.

        Raises
        ------
        PolicyError
            If the context does not match what the policy learned from.
        """
        self._validate_params()
        self._check_context(context)
        out = np.empty((len(context), context.n_actions))

        def block(s: int, e: int) -> None:
            out[s:e] = self._predict_block(context.X[s:e])

        self._run(block, len(context))
        return out

    def _run(self, block: Callable[[int, int], None], n: int) -> None:
        if self.model == "gbm":
            with single_threaded("openmp"):
                for s in range(0, n, _GBM_BLOCK):
                    block(s, min(s + _GBM_BLOCK, n))
        else:
            run_blocks(block, n, _BLOCK)

    def _predict_block(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        m, n_actions = X.shape[0], getattr(self, "n_actions_", 0)
        if getattr(self, "n_examples_", 0) == 0:
            return np.zeros((m, 1))  # broadcast over the actions: all tied
        if self.model == "ridge":
            return X @ self.coef_.T + self.intercept_
        feats = self.action_features_
        rows = np.hstack([np.repeat(X, n_actions, axis=0), np.tile(feats, (m, 1))])
        return self.model_.predict(rows).reshape(m, n_actions)

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """``1 - epsilon`` on the best predicted allowed action, ``epsilon`` uniform.

        Parameters
        ----------
        context
            The customers' context (n customers).
        allowed
            Shape (n_customers, n_actions) bool.

        Returns
        -------
        Shape (n_customers, n_actions): zero outside ``allowed``, rows sum to 1.

        Raises
        ------
        PolicyError
            If ``allowed``, the context or a hyperparameter is invalid.
        """
        allowed = check_allowed(allowed, len(context), context.n_actions)
        self._validate_params()
        self._check_context(context)
        n_actions = context.n_actions
        out = np.empty(allowed.shape)
        epsilon = float(self.epsilon)

        def block(s: int, e: int) -> None:
            scores = np.broadcast_to(self._predict_block(context.X[s:e]), (e - s, n_actions))
            out[s:e] = epsilon_greedy(scores, allowed[s:e], epsilon)

        self._run(block, len(context))
        return out
