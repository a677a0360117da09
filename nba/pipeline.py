"""The one pipeline: signals → guardrails → policy → sampled decision.

Every caller — the CLI, the HTTP service, the simulator, offline
evaluation — decides through :class:`Decider`. Guardrails are applied before
the policy's distribution is sampled, so a decision's propensity is the true
probability of its action among the allowed ones. Budgets are allocated
within a batch in row order: rows past a channel's remaining budget are
decided again with that channel removed (reason: the budget rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np

from nba.catalog import Catalog
from nba.decision import Decision
from nba.features.context import Context
from nba.features.encoding import Encoder
from nba.features.signals import Signals
from nba.features.state import CustomerStates
from nba.guardrails.evaluate import GuardrailResult, Guardrails
from nba.policies.base import Policy
from nba.sampling import sample_actions

__all__ = ["Decider", "DecisionBatch"]


def _id_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Shape (n, 16) uint8, writable: ``rng.bytes(16 * n)``, the bytes of n decision ids.

    ``Generator.bytes`` draws 32-bit words through ``integers``, several
    microseconds a call. For PCG64 (the default) with no half-used 64-bit
    word buffered, those words are the low then high halves of the next 2n
    raw 64-bit outputs, so reading the raw outputs as little-endian bytes
    gives the same ids and leaves the generator in the same state
    (``tests/test_pipeline.py`` checks it); otherwise ``bytes`` it is.
    """
    bits = rng.bit_generator
    if n and type(bits) is np.random.PCG64 and not bits.state["has_uint32"]:
        raw = bits.random_raw(2 * n).astype("<u8", copy=False)
        return raw.view(np.uint8).reshape(n, 16)
    return np.frombuffer(bytearray(rng.bytes(16 * n)), dtype=np.uint8).reshape(n, 16)


def _uuid7(raw: np.ndarray, when: datetime) -> np.ndarray:
    """Decision ids' bytes as UUIDv7 (RFC 9562), made in place from n rows of 16
    random bytes.

    The first 48 bits are the decision time in Unix milliseconds, the next 18
    (around the version and variant bits) the row's position in the batch
    (RFC 9562's dedicated counter, method 1; it wraps past 262,144 rows), and
    the last 56 bits stay random. Ids therefore sort by decision time, then row:
    a log indexed by id appends at the end of its index rather than at random
    places. Two ids can only be equal with the same time, row and 56 random bits.

    Examples
    --------
    >>> from datetime import UTC
    >>> import uuid
    >>> raw = np.zeros((2, 16), dtype=np.uint8)
    >>> b = _uuid7(raw, datetime(2026, 1, 1, tzinfo=UTC))
    >>> u = [uuid.UUID(bytes=r.tobytes()) for r in b]
    >>> [x.version for x in u], u[0] < u[1], int.from_bytes(b[0, :6].tobytes(), "big")
    ([7, 7], True, 1767225600000)
    """
    n = raw.shape[0]
    ms = int(when.timestamp() * 1000) % (1 << 48)
    seq = np.arange(n, dtype=np.uint32) & ((1 << 18) - 1)
    raw[:, :6] = np.frombuffer(ms.to_bytes(6, "big"), dtype=np.uint8)
    raw[:, 6] = 0x70 | (seq >> 14)
    raw[:, 7] = (seq >> 6) & 0xFF
    raw[:, 8] = 0x80 | (seq & 0x3F)
    return raw


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
        Shape (n, 16) uint8: the decision ids' bytes (UUIDv7, see :func:`_uuid7`).
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
        """The decision ids, as UUID strings (``str(uuid.UUID(bytes=b))``)."""
        h = self.id_bytes.tobytes().hex()
        return [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
            f"{h[i + 20 : i + 32]}"
            for i in range(0, len(h), 32)
        ]

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
        left = dict(budget_left) if budget_left is not None else self.guardrails.full_budgets()
        verdict = self.guardrails.evaluate(signals, left)
        # the verdict's arrays are this call's own: budgets update them in place
        probs = self.policy.predict_proba(context, verdict.allowed)
        action = sample_actions(probs, self.rng)
        if np.logical_or.reduce(self.guardrails.budgeted[action]):  # any budget to share?
            self._allocate_budgets(context, verdict.allowed, verdict.reason, probs, action, left)
        n = len(action)
        propensity = probs[np.arange(n), action]
        # "below the row's maximum - 1e-12" as "below some entry - 1e-12": the
        # same test, without a slow per-row max over short rows
        explored = np.logical_or.reduce(propensity[:, None] < probs - 1e-12, axis=1)
        ids = _uuid7(_id_bytes(self.rng, n), signals.now)
        return DecisionBatch(
            context=context,
            guardrails=verdict,
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
        scope = self.guardrails.budget_scope
        pending = np.arange(len(action))
        while pending.size:
            over: list[np.ndarray] = []
            for channel, j, _, _ in scope:
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
            sub_allowed, sub_reason = allowed[pending], reason[pending]
            for channel, _, code, cols in scope:
                if left.get(channel, np.inf) <= 0:
                    sub_reason[:, cols] = np.where(sub_allowed[:, cols], code, sub_reason[:, cols])
                    sub_allowed[:, cols] = False
            allowed[pending], reason[pending] = sub_allowed, sub_reason
            sub_probs = self.policy.predict_proba(context.take(pending), sub_allowed)
            probs[pending] = sub_probs
            action[pending] = sample_actions(sub_probs, self.rng)
