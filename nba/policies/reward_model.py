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

import numbers
from typing import Any, Literal, Self

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from nba.exceptions import PolicyError
from nba.policies.base import Context, LoggedBatch, Policy, check_allowed, epsilon_greedy

__all__ = ["RewardModelPolicy", "MODELS"]

#: The reward models this policy can use.
MODELS: tuple[str, ...] = ("ridge", "gbm")
#: Customers per prediction block of the ``gbm`` model (x n_actions rows).
_GBM_BLOCK = 2048


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
    >>> from nba.policies.base import Context, LoggedBatch
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
        if self.model not in MODELS:
            raise PolicyError(
                f"RewardModelPolicy: `model` must be one of {', '.join(MODELS)}, got {self.model!r}"
            )
        if not _is_real(self.epsilon) or not 0.0 <= self.epsilon <= 1.0:
            raise PolicyError(
                f"RewardModelPolicy: `epsilon` must be a number in [0, 1], got {self.epsilon!r}"
            )
        if not _is_real(self.alpha) or not self.alpha > 0:
            raise PolicyError(
                f"RewardModelPolicy: `alpha` must be a number > 0, got {self.alpha!r}"
            )
        m = self.max_examples
        if not isinstance(m, numbers.Integral) or isinstance(m, bool) or m < 1:
            raise PolicyError(
                f"RewardModelPolicy: `max_examples` must be an integer >= 1, got {m!r}"
            )

    def _check_context(self, context: Context) -> None:
        X = context.X
        if X.ndim != 2:
            raise PolicyError(
                "RewardModelPolicy: context `X` must be 2-D (n_customers, n_features), "
                f"got shape {X.shape}"
            )
        if not np.isfinite(X).all():
            raise PolicyError("RewardModelPolicy: context `X` must be finite, got NaN or inf")
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
            self.X_ = np.empty((0, X.shape[1]))
            self.action_ = np.empty(0, dtype=np.int64)
            self.reward_ = np.empty(0)
            self.n_examples_ = 0
        if len(batch) == 0:
            return self
        keep = int(self.max_examples)
        self.X_ = np.concatenate([self.X_, X])[-keep:]
        self.action_ = np.concatenate([self.action_, batch.action.astype(np.int64)])[-keep:]
        self.reward_ = np.concatenate([self.reward_, batch.reward.astype(np.float64)])[-keep:]
        self.n_examples_ += len(batch)
        if self.model == "ridge":
            self._fit_ridge()
        else:
            self._fit_gbm(batch.context.actions.features)
        return self

    def _fit_ridge(self) -> None:
        n_actions, d = self.n_actions_, self.n_features_in_
        coef = np.zeros((n_actions, d))
        intercept = np.full(n_actions, float(self.reward_.mean()))
        order = np.argsort(self.action_, kind="stable")
        counts = np.bincount(self.action_, minlength=n_actions)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for a in np.flatnonzero(counts):
            rows = order[bounds[a] : bounds[a + 1]]
            reg = Ridge(alpha=float(self.alpha)).fit(self.X_[rows], self.reward_[rows])
            coef[a], intercept[a] = reg.coef_, reg.intercept_
        self.coef_, self.intercept_ = coef, intercept

    def _fit_gbm(self, action_features: np.ndarray) -> None:
        self.action_features_ = np.asarray(action_features, dtype=np.float64)
        features = np.hstack([self.X_, self.action_features_[self.action_]])
        self.model_ = HistGradientBoostingRegressor(
            early_stopping=False, random_state=self.random_state
        ).fit(features, self.reward_)

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
        n, n_actions = len(context), context.n_actions
        X = np.asarray(context.X, dtype=np.float64)
        if getattr(self, "n_examples_", 0) == 0:
            return np.zeros((n, n_actions))
        if self.model == "ridge":
            return X @ self.coef_.T + self.intercept_
        out = np.empty((n, n_actions))
        feats = self.action_features_
        for s in range(0, n, _GBM_BLOCK):
            Xb = X[s : s + _GBM_BLOCK]
            m = Xb.shape[0]
            rows = np.hstack([np.repeat(Xb, n_actions, axis=0), np.tile(feats, (m, 1))])
            out[s : s + m] = self.model_.predict(rows).reshape(m, n_actions)
        return out

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
        scores = self.predict_reward(context)
        return epsilon_greedy(scores, allowed, float(self.epsilon))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
