"""The one pipeline: signals → guardrails → policy → sampled decision.

Every caller — the CLI, the HTTP service, the simulator, offline
evaluation — decides through :class:`Decider`. Guardrails are applied before
the policy's distribution is sampled, so a decision's propensity is the true
probability of its action among the allowed ones. Budgets are allocated
within a batch in row order: rows past a channel's remaining budget are
decided again with that channel removed (reason: the budget rule).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np

from nba.catalog import Catalog
from nba.decision import Decision
from nba.features.encoding import Encoder
from nba.features.signals import CustomerStates, Signals
from nba.guardrails.evaluate import GuardrailResult, Guardrails
from nba.guardrails.rules import Budget
from nba.policies.base import Context, Policy

__all__ = ["Decider", "DecisionBatch", "sample_actions"]


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one action per row of a (n, n_actions) distribution.

    Never returns an action of probability zero.

    Examples
    --------
    >>> sample_actions(np.array([[0.0, 1.0, 0.0]]), np.random.default_rng(0)).tolist()
    [1]
    """
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random((probs.shape[0], 1))
    return (cum <= u).sum(axis=1)


@dataclass(frozen=True)
class DecisionBatch:
    """Decisions for n customers, as arrays (the fast path) and as records.

    Attributes
    ----------
    context
        What the policy saw (``context.signals`` holds the signals).
    guardrails
        The guardrails' verdict (final, after budget allocation).
    probs
        Shape (n, n_actions): the policy's distribution over allowed actions.
    action
        Shape (n,) int: the sampled action per customer.
    propensity
        Shape (n,): ``probs[i, action[i]]``.
    explored
        Shape (n,) bool: the sampled action was not a most probable one.
    id_bytes
        Shape (n, 16) uint8: the decision ids' bytes (uuid4 layout).
    created_at
        Decision time.
    policy_name, policy_version
        The deciding policy.
    """

    context: Context
    guardrails: GuardrailResult
    probs: np.ndarray
    action: np.ndarray
    propensity: np.ndarray
    explored: np.ndarray
    id_bytes: np.ndarray
    created_at: datetime
    policy_name: str
    policy_version: str

    def __len__(self) -> int:
        return int(self.action.shape[0])

    @property
    def signals(self) -> Signals:
        """The customers' signals at decision time."""
        assert self.context.signals is not None
        return self.context.signals

    @cached_property
    def decision_ids(self) -> list[str]:
        """The decision ids, as uuid4 strings."""
        return [str(uuid.UUID(bytes=bytes(b), version=4)) for b in self.id_bytes]

    def contacts(self) -> np.ndarray:
        """Rows whose decision is a contact (not no-contact)."""
        return np.flatnonzero(self.action != 0)

    def decision(self, i: int, catalog: Catalog) -> Decision:
        """The record of row ``i``."""
        space = catalog.actions
        allowed = np.flatnonzero(self.guardrails.allowed[i])
        return Decision(
            decision_id=self.decision_ids[i],
            customer_id=str(self.signals.customer_ids[i]),
            action=space.actions[int(self.action[i])],
            propensity=float(self.propensity[i]),
            distribution={space.ids[a]: float(self.probs[i, a]) for a in allowed},
            policy_name=self.policy_name,
            policy_version=self.policy_version,
            explored=bool(self.explored[i]),
            suppressed=self.guardrails.suppressed(i, catalog),
            created_at=self.created_at,
            holdout=bool(self.guardrails.holdout[i]),
        )

    def to_decisions(self, catalog: Catalog) -> list[Decision]:
        """Every row's :class:`Decision`, in order."""
        return [self.decision(i, catalog) for i in range(len(self))]


class Decider:
    """Decides for one customer or many, always through the same steps.

    Parameters
    ----------
    catalog, guardrails, policy
        What may be sent, the rules, and who chooses.
    encoder
        Turns signals into the policy's context (default: :class:`Encoder`).
    random_state
        Seed or Generator for sampling and decision ids; ``None`` draws
        from the OS (what a service wants).

    Examples
    --------
    >>> from datetime import UTC
    >>> from nba.catalog import Catalog
    >>> from nba.guardrails import Guardrails, parse_guardrails
    >>> from nba.policies.rules import RulePolicy
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> decider = Decider(cat, Guardrails(parse_guardrails({}, cat), cat), RulePolicy(),
    ...                   random_state=0)
    >>> states = CustomerStates(cat, ["c1", "c2"], consent=np.array([[True], [False]]))
    >>> batch = decider.decide(states, datetime(2026, 1, 1, 10, tzinfo=UTC))
    >>> [d.action.id for d in batch.to_decisions(cat)]
    ['hi@email', 'no_contact']
    """

    def __init__(
        self,
        catalog: Catalog,
        guardrails: Guardrails,
        policy: Policy,
        *,
        encoder: Encoder | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.catalog = catalog
        self.guardrails = guardrails
        self.policy = policy
        self.encoder = encoder or Encoder(catalog)
        self.rng = np.random.default_rng(random_state)

    def decide(
        self,
        states: CustomerStates,
        now: datetime,
        rows: np.ndarray | None = None,
        *,
        budget_left: dict[str, float] | None = None,
    ) -> DecisionBatch:
        """Decide for the customers of a state table (all, or ``rows``)."""
        return self.decide_signals(states.signals(now, rows), budget_left=budget_left)

    def decide_signals(
        self, signals: Signals, *, budget_left: dict[str, float] | None = None
    ) -> DecisionBatch:
        """Decide for customers whose signals are already computed.

        Parameters
        ----------
        signals
            n customers' signals.
        budget_left
            Sends left today per budgeted channel (default: full budgets).

        Returns
        -------
        DecisionBatch
        """
        context = self.encoder.encode(signals)
        budgets: tuple[Budget, ...] = self.guardrails.spec.budgets
        left = (
            dict(budget_left)
            if budget_left is not None
            else {b.channel: float(b.max_per_day) for b in budgets}
        )
        verdict = self.guardrails.evaluate(signals, left)
        allowed, reason = verdict.allowed.copy(), verdict.reason.copy()
        probs = self.policy.predict_proba(context, allowed)
        action = sample_actions(probs, self.rng)
        if budgets:
            self._allocate_budgets(context, allowed, reason, probs, action, left)
        n = len(action)
        propensity = probs[np.arange(n), action]
        explored = propensity < probs.max(axis=1) - 1e-12
        ids = np.frombuffer(self.rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
        return DecisionBatch(
            context=context,
            guardrails=GuardrailResult(allowed, reason, verdict.rule_names, verdict.holdout),
            probs=probs,
            action=action,
            propensity=propensity,
            explored=explored,
            id_bytes=ids,
            created_at=signals.now,
            policy_name=self.policy.name,
            policy_version=self.policy.version,
        )

    def _allocate_budgets(
        self,
        context: Context,
        allowed: np.ndarray,
        reason: np.ndarray,
        probs: np.ndarray,
        action: np.ndarray,
        left: dict[str, float],
    ) -> None:
        """Rows past a channel's budget are decided again without it (in place)."""
        ci = self.catalog.actions.channel_index
        chan_ids = self.catalog.channel_ids
        code = {
            b.channel: self.guardrails.rule_names.index(b.name)
            for b in self.guardrails.spec.budgets
        }
        pending = np.arange(len(action))
        while pending.size:
            over: list[np.ndarray] = []
            for channel in code:
                j = chan_ids.index(channel)
                on = pending[ci[action[pending]] == j]
                keep = (
                    int(max(left.get(channel, np.inf), 0))
                    if np.isfinite(left.get(channel, np.inf))
                    else on.size
                )
                left[channel] = left.get(channel, np.inf) - min(keep, on.size)
                over.append(on[keep:])
            pending = np.sort(np.concatenate(over)) if over else np.array([], dtype=int)
            if not pending.size:
                return
            for channel, c in code.items():
                if left.get(channel, np.inf) <= 0:
                    cols = np.flatnonzero(ci == chan_ids.index(channel))
                    sub = allowed[np.ix_(pending, cols)]
                    r = reason[np.ix_(pending, cols)]
                    r[sub] = c
                    reason[np.ix_(pending, cols)] = r
                    allowed[np.ix_(pending, cols)] = False
            probs[pending] = self.policy.predict_proba(context.take(pending), allowed[pending])
            action[pending] = sample_actions(probs[pending], self.rng)
