"""Decisions: the record of one choice for one customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nba.catalog import Action

__all__ = ["Suppression", "Decision"]


@dataclass(frozen=True, slots=True)
class Suppression:
    """An action the guardrails removed, and the rule that removed it."""

    message_id: str
    channel: str
    rule: str


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision, in the shape docs/contracts.md fixes (see :meth:`to_dict`).

    ``distribution`` maps every allowed action id to its probability;
    ``propensity`` is the probability of the chosen action among the allowed
    ones; ``explored`` is true when the chosen action was not the policy's
    most probable one.
    """

    decision_id: str
    customer_id: str
    action: Action
    propensity: float
    distribution: dict[str, float]
    policy_name: str
    policy_version: str
    explored: bool
    suppressed: tuple[Suppression, ...]
    created_at: datetime
    holdout: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of docs/contracts.md (plus ``distribution`` and ``holdout``).

        Examples
        --------
        >>> from datetime import UTC, datetime
        >>> from nba.catalog import NO_CONTACT
        >>> d = Decision("d1", "c1", NO_CONTACT, 1.0, {"no_contact": 1.0}, "rules", "1",
        ...              False, (), datetime(2026, 1, 1, tzinfo=UTC))
        >>> d.to_dict()["action"] is None
        True
        """
        action = (
            None
            if self.action.is_no_contact
            else {"message_id": self.action.message_id, "channel": self.action.channel}
        )
        return {
            "decision_id": self.decision_id,
            "customer_id": self.customer_id,
            "action": action,
            "propensity": self.propensity,
            "policy": {"name": self.policy_name, "version": self.policy_version},
            "explored": self.explored,
            "suppressed": [
                {"message_id": s.message_id, "channel": s.channel, "rule": s.rule}
                for s in self.suppressed
            ],
            "created_at": self.created_at.isoformat(),
            "distribution": self.distribution,
            "holdout": self.holdout,
        }
