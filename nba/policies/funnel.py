"""A funnel reward model: what each contact leads to, valued by the goal, anchored on the rules.

A decision's reward is rare and noisy — a purchase worth a few units on a
fraction of a percent of the contacts, an unsubscribe costing three on
another fraction — so a model of the reward itself needs a great many
decisions per action before it ranks actions better than the marketer's
rules. What leads to the reward is far denser: a contact is opened
(tens of percent), then clicked, then bought from, or unsubscribed from.
Modelling each step of that funnel on the decisions that reached it, the
way engagement-propensity products score "open", "click" and "convert"
separately, uses every open and every click as evidence:

- ``P(open | x, a)``: one ridge model per **channel** (with the message's
  content type), on contact decisions;
- ``P(click | open, x, a)``: one per **message**, on opened contacts;
- ``E[purchases | click, x, a]`` and ``E[revenue | click, x, a]``: one pooled
  model over messages (message one-hot and whether the message serves the
  customer's journey stage), on clicked contacts — purchases are the
  sparsest step, so they share strength;
- ``P(unsubscribe | open, x, a)``, ``P(complaint | open, x, a)``: one per
  channel (and stage fit), on opened contacts.

``x`` is the encoded context. Ridge regressions (linear probability models)
keep learning exact and incremental: each model keeps ``X^T X`` and ``X^T y``
per group. The reward of a decision is a fixed linear function of its
outcomes (the goal's event weights minus its send cost), so the policy
recovers those weights by least squares on the logged (outcomes, reward)
pairs rather than being told the goal, and scores

    E[r | x, a] = P(open) * (w_open + w_unsub P(unsub|open) + w_complaint P(complaint|open)
                  + P(click|open) * (w_click + w_purchase E[purchases|click]
                  + w_revenue E[revenue|click])) + w_cost cost(a) + w_contact,

with no-contact worth 0. Logs without outcomes (``LoggedBatch.outcomes`` is
``None``, e.g. an external log with only a reward column) fall back to one
ridge model of the reward per action.

**Anchored on the rules** (``rules`` set, as ``nba experiment`` and
``nba serve`` do): the policy acts as the marketer's rules do until the
model has seen ``min_support`` decisions of the channel (and a tenth as many
opens of the message) of both the rules' choice and an alternative, and
predicts the alternative beats the rules' choice by more than ``margin``;
only then does it deviate (no-contact, worth 0, needs no support). This is
the baseline-bootstrapping idea of safe policy improvement (Laroche,
Trichelair & Tachet des Combes 2019, "Safe policy improvement with baseline
bootstrapping"): where the data is thin,
keep the baseline. ``epsilon`` of the mass explores uniformly over the
allowed actions either way, so every allowed action keeps a logged
propensity and the logs stay usable for off-policy evaluation.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Self

import numpy as np

from nba.catalog import ActionSpace
from nba.config import load_document
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.goals import OUTCOMES
from nba.policies.base import (
    LoggedBatch,
    Policy,
    check_allowed,
    check_context,
    check_params,
    is_integer,
    is_real,
    onehot_argmax,
)

__all__ = ["FunnelPolicy"]

#: The funnel steps: (name, grouped by, conditioned on, target, extra action columns).
_STEPS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("open", "channel", "contact", "opened", ("content",)),
    ("click", "message", "opened", "clicked", ()),
    ("purchase", "pooled", "clicked", "purchase", ("message", "serves")),
    ("revenue", "pooled", "clicked", "revenue", ("message", "serves")),
    ("unsubscribe", "channel", "opened", "unsubscribed", ("serves",)),
    ("complaint", "channel", "opened", "complaint", ("serves",)),
)
#: Without outcomes: one ridge model of the reward per action.
_REWARD_STEP = ("reward", "action", "all", "reward", ())
#: Columns of the reward-weight regression: the outcomes, the send cost, contact.
_WEIGHT_COLUMNS = (*OUTCOMES, "cost", "contact")


def _send_cost(space: ActionSpace) -> np.ndarray:
    """Shape (n_actions,): each action's send cost (0 when the space has no ``cost`` column)."""
    if "cost" not in space.feature_names:
        return np.zeros(len(space))
    return space.features[:, space.feature_names.index("cost")]


class _GroupRidge:
    """Ridge regressions sharing a design, one per group, kept as sufficient statistics."""

    def __init__(self, n_groups: int, n_features: int, ridge: float) -> None:
        self.gram = np.repeat((ridge * np.eye(n_features))[None], n_groups, axis=0)
        self.xty = np.zeros((n_groups, n_features))
        self.count = np.zeros(n_groups, dtype=np.int64)
        self.coef = np.zeros((n_groups, n_features))

    def update(self, group: np.ndarray, F: np.ndarray, y: np.ndarray) -> None:
        for g in np.unique(group):
            sel = group == g
            Fg = F[sel]
            self.gram[g] += Fg.T @ Fg
            self.xty[g] += Fg.T @ y[sel]
            self.count[g] += int(sel.sum())
            self.coef[g] = np.linalg.solve(self.gram[g], self.xty[g])


class FunnelPolicy(Policy):
    """Epsilon-greedy on a funnel reward model, anchored on the rules (see module docs).

    Parameters
    ----------
    epsilon
        Probability mass spread uniformly over the allowed actions (0 to 1).
    ridge
        L2 penalty of every ridge model (> 0).
    rules
        The marketer's rules (a ``rules.yaml`` path or its document) to
        follow until the model is confident; ``None`` for a pure model policy.
    margin
        Predicted reward an action must gain over the rules' choice to replace
        it, in the goal's units (the default suits goals where a conversion is
        worth about 1: small predicted gains are mostly noise).
    min_support
        Decisions of an action's channel (and opens of its message) the model
        must have learned from before it may replace the rules' choice.

    Examples
    --------
    >>> from nba.policies.bandit import make_linear_bandit
    >>> problem = make_linear_bandit()
    >>> res = problem.run_online(FunnelPolicy(epsilon=0.05), rounds=25, batch_size=400, seed=0)
    >>> res.policy_reward > 0.9 * res.optimal_reward
    True
    """

    name = "funnel"
    kind = "learned"
    n_features_in_: int
    n_actions_: int
    uses_outcomes_: bool
    n_examples_: int
    models_: dict[str, _GroupRidge]
    weight_gram_: np.ndarray
    weight_xty_: np.ndarray
    weights_: np.ndarray

    def __init__(
        self,
        *,
        epsilon: float = 0.02,
        ridge: float = 1.0,
        rules: str | dict[str, Any] | None = None,
        margin: float = 0.005,
        min_support: int = 2000,
    ) -> None:
        self.epsilon = epsilon
        self.ridge = ridge
        self.rules = rules
        self.margin = margin
        self.min_support = min_support

    # -- validation ---------------------------------------------------------------
    def _validate_params(self) -> None:
        check_params(
            "FunnelPolicy",
            self,
            (
                (
                    "epsilon",
                    is_real(self.epsilon) and 0.0 <= self.epsilon <= 1.0,
                    "a number in [0, 1]",
                ),
                ("ridge", is_real(self.ridge) and self.ridge > 0, "a number > 0"),
                ("margin", is_real(self.margin) and self.margin >= 0, "a number >= 0"),
                (
                    "min_support",
                    is_integer(self.min_support) and self.min_support >= 0,
                    "an integer >= 0",
                ),
            ),
        )

    # -- design ---------------------------------------------------------------------
    @staticmethod
    def _columns(names: tuple[str, ...], prefix: str) -> np.ndarray:
        return np.array([i for i, n in enumerate(names) if n.startswith(prefix)], dtype=np.int64)

    def _stage_match(self, context: Context) -> tuple[np.ndarray, np.ndarray]:
        """Context stage columns and the matching action stage columns (empty if none)."""
        space = context.actions
        ctx_cols, act_cols = [], []
        for i in self._columns(context.feature_names, "stage="):
            name = context.feature_names[i]
            if name in space.feature_names:
                ctx_cols.append(int(i))
                act_cols.append(space.feature_names.index(name))
        return np.array(ctx_cols, dtype=np.int64), np.array(act_cols, dtype=np.int64)

    def _action_columns(self, context: Context, kinds: tuple[str, ...]) -> np.ndarray:
        """Shape (n_actions, k): the step's per-action columns (content, message one-hot)."""
        space = context.actions
        cols = [self._columns(space.feature_names, f"{k}=") for k in kinds if k != "serves"]
        idx = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return space.features[:, idx]

    def _serves(self, context: Context, action: np.ndarray | None = None) -> np.ndarray:
        """Does the action's message serve the customer's stage: (n, n_actions), or (n,)
        for one ``action`` per customer."""
        c_cols, a_cols = self._stage_match(context)
        stages = context.actions.features[:, a_cols]
        X = np.asarray(context.X, dtype=np.float64)[:, c_cols]
        if action is None:
            return X @ stages.T
        return (X * stages[action]).sum(axis=1)

    def _groups(self, context: Context, by: str) -> tuple[np.ndarray, int]:
        space = context.actions
        if by == "channel":
            idx = np.asarray(space.channel_index)
        elif by == "message":
            idx = np.asarray(space.message_index)
        elif by == "action":
            idx = np.arange(len(space))
        else:
            idx = np.zeros(len(space), dtype=np.int64)
        return np.maximum(idx, 0), int(max(idx.max(initial=0), 0)) + 1

    # -- state --------------------------------------------------------------------------
    def _ensure_state(self, context: Context, with_outcomes: bool) -> None:
        check_context("FunnelPolicy", context.X)
        d, n_actions = int(context.X.shape[1]), context.n_actions
        if hasattr(self, "models_"):
            if d != self.n_features_in_ or n_actions != self.n_actions_:
                raise PolicyError(
                    f"FunnelPolicy: expected {self.n_features_in_} context features and "
                    f"{self.n_actions_} actions as when the policy started learning, got "
                    f"{d} and {n_actions}"
                )
            return
        self._validate_params()
        self.n_features_in_, self.n_actions_ = d, n_actions
        self.uses_outcomes_ = with_outcomes
        self.n_examples_ = 0
        self.models_ = {}
        steps = _STEPS if with_outcomes else (_REWARD_STEP,)
        for name, by, _cond, _target, kinds in steps:
            _, n_groups = self._groups(context, by)
            k = d + self._action_columns(context, kinds).shape[1] + int("serves" in kinds)
            self.models_[name] = _GroupRidge(n_groups, k, float(self.ridge))
        self.weight_gram_ = 1e-6 * np.eye(len(_WEIGHT_COLUMNS))
        self.weight_xty_ = np.zeros(len(_WEIGHT_COLUMNS))
        self.weights_ = np.zeros(len(_WEIGHT_COLUMNS))

    # -- learning ---------------------------------------------------------------------
    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Continue learning: every funnel step from the decisions that reached it.

        Raises
        ------
        PolicyError
            If the batch is invalid, a hyperparameter is out of range, or the
            batch lacks the outcomes the policy learned from before.
        """
        batch.validate()
        with_outcomes = batch.outcomes is not None
        self._ensure_state(batch.context, with_outcomes)
        if self.uses_outcomes_ and not with_outcomes:
            raise PolicyError(
                "FunnelPolicy: this policy learns from outcomes (opens, clicks, purchases…), "
                "but the batch has none"
            )
        if len(batch) == 0:
            return self
        ctx, action = batch.context, np.asarray(batch.action, dtype=np.int64)
        X = np.asarray(ctx.X, dtype=np.float64)
        contact = np.asarray(ctx.actions.message_index)[action] >= 0
        serves_chosen = self._serves(ctx, action)
        if self.uses_outcomes_ and batch.outcomes is not None:
            out = {k: np.asarray(batch.outcomes[k], dtype=np.float64) for k in OUTCOMES}
            reached = {
                "contact": contact,
                "opened": contact & ((out["opened"] > 0) | (out["clicked"] > 0)),
                "clicked": contact & (out["clicked"] > 0),
            }
            # steps model "did it happen"; purchases and revenue are expected amounts
            targets = {
                k: v if k in ("purchase", "revenue") else np.minimum(v, 1.0) for k, v in out.items()
            }
            cost = _send_cost(ctx.actions)[action]
            W = np.column_stack([*(out[k] for k in OUTCOMES), cost, contact.astype(float)])
            self.weight_gram_ = self.weight_gram_ + W.T @ W
            self.weight_xty_ = self.weight_xty_ + W.T @ np.asarray(batch.reward, dtype=float)
            self.weights_ = np.linalg.solve(self.weight_gram_, self.weight_xty_)
            steps = _STEPS
        else:
            reached = {"all": np.ones(len(action), dtype=bool)}
            targets = {"reward": np.asarray(batch.reward, dtype=np.float64)}
            steps = (_REWARD_STEP,)
        for name, by, cond, target, kinds in steps:
            rows = np.flatnonzero(reached[cond])
            if not rows.size:
                continue
            group, _ = self._groups(ctx, by)
            a = action[rows]
            blocks = [X[rows], self._action_columns(ctx, kinds)[a]]
            if "serves" in kinds:
                blocks.append(serves_chosen[rows, None])
            self.models_[name].update(group[a], np.hstack(blocks), targets[target][rows])
        self.n_examples_ += len(batch)
        return self

    # -- prediction -----------------------------------------------------------------
    def _step_scores(
        self, context: Context, name: str, by: str, kinds: tuple[str, ...]
    ) -> np.ndarray:
        """Shape (n, n_actions): the step's prediction for every action."""
        group, _ = self._groups(context, by)
        coef = self.models_[name].coef[group]  # (n_actions, k)
        d = self.n_features_in_
        const = self._action_columns(context, kinds)
        k = const.shape[1]
        out = np.asarray(context.X, dtype=np.float64) @ coef[:, :d].T
        out += (const * coef[:, d : d + k]).sum(axis=1)[None, :]
        if "serves" in kinds:
            out += self._serves(context) * coef[:, d + k][None, :]
        return out

    def expected_reward(self, context: Context) -> np.ndarray:
        """The model's expected reward of every action, shape (n_customers, n_actions).

        Zero for every action before the policy has learned anything.
        """
        n, A = len(context), context.n_actions
        if not hasattr(self, "models_"):
            return np.zeros((n, A))
        self._ensure_state(context, self.uses_outcomes_)
        contact = np.asarray(context.actions.message_index) >= 0
        if not self.uses_outcomes_:
            return self._step_scores(context, "reward", "action", ())
        p = {
            name: self._step_scores(context, name, by, kinds) for name, by, _c, _t, kinds in _STEPS
        }
        w = dict(zip(_WEIGHT_COLUMNS, self.weights_, strict=True))
        prob = {k: np.clip(p[k], 0.0, 1.0) for k in ("open", "click", "unsubscribe", "complaint")}
        after_click = (
            w["clicked"]
            + w["purchase"] * np.maximum(p["purchase"], 0.0)
            + w["revenue"] * np.maximum(p["revenue"], 0.0)
        )
        score = prob["open"] * (
            w["opened"]
            + w["unsubscribed"] * prob["unsubscribe"]
            + w["complaint"] * prob["complaint"]
            + prob["click"] * after_click
        )
        score = score + w["cost"] * _send_cost(context.actions)[None, :] + w["contact"]
        return np.where(contact[None, :], score, 0.0)

    def _support(self, context: Context) -> np.ndarray:
        """Shape (n_actions,): has the model seen enough of each action to act on it."""
        if self.uses_outcomes_:
            ch, _ = self._groups(context, "channel")
            msg, _ = self._groups(context, "message")
            ok = (self.models_["open"].count[ch] >= self.min_support) & (
                self.models_["click"].count[msg] >= self.min_support // 10
            )
        else:
            ok = self.models_["reward"].count >= self.min_support
        return ok | (np.asarray(context.actions.message_index) < 0)

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """Shape (n_customers, n_actions): the rules' or the model's choice, plus epsilon."""
        n, A = len(context), context.n_actions
        allowed = check_allowed(allowed, n, A)
        self._validate_params()
        scores = self.expected_reward(context)
        greedy = onehot_argmax(scores, allowed)
        anchor = self._anchor(context, allowed)
        if anchor is not None:
            support = (
                self._support(context) if hasattr(self, "models_") else np.zeros(A, dtype=bool)
            )
            ok = allowed & support[None, :]
            best = np.where(ok, scores, -np.inf).max(axis=1)
            rule_score = (anchor * scores).sum(axis=1)
            # where the rules' own choice is unsupported, its estimate is no reason to leave it
            rule_known = (anchor * support[None, :]).sum(axis=1) > 0
            deviate = (rule_known & (best > rule_score + float(self.margin)))[:, None]
            choice = onehot_argmax(scores, np.where(deviate, ok, allowed))
            greedy = np.where(deviate, choice, anchor)
        eps = float(self.epsilon)
        uni = allowed / allowed.sum(axis=1, keepdims=True)
        return (1.0 - eps) * greedy + eps * uni

    def save(self, path: str | Path) -> Path:
        """Write the policy to directory ``path``, with the rules document embedded.

        A rules file path would not travel with the saved policy (an MLflow
        model, ``nba train --out``), so the document itself is stored.
        """
        if isinstance(self.rules, str):
            clone = copy.copy(self)
            clone.rules = load_document(Path(self.rules))
            return Policy.save(clone, path)
        return super().save(path)

    def _anchor(self, context: Context, allowed: np.ndarray) -> np.ndarray | None:
        if self.rules is None or context.signals is None:
            return None
        baseline = getattr(self, "_baseline", None)
        if baseline is None:
            from nba.policies.rules import RulePolicy

            baseline = self._baseline = RulePolicy(rules=self.rules)
        return baseline.predict_proba(context, allowed)
