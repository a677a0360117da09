"""Decisions: the requests for one or many, the decisions returned, and one decision with
its events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _AT, _DECISION_ID, _EVENT, _Strict

__all__ = [
    "ActionOut",
    "SuppressionOut",
    "PolicyOut",
    "PolicyInfo",
    "DecisionRequest",
    "BatchDecisionRequest",
    "DecisionOut",
    "BatchDecisionOut",
    "EventOut",
    "DecisionEventOut",
    "DecisionDetail",
]


class ActionOut(BaseModel):
    message_id: str
    channel: str


class SuppressionOut(BaseModel):
    message_id: str
    channel: str
    rule: str


class PolicyOut(BaseModel):
    name: str
    version: str


class PolicyInfo(BaseModel):
    """Which policy serves, and whether the service is degraded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "linucb",
                    "version": "1200",
                    "source": "models:/nba@champion",
                    "requested_model": None,
                    "degraded": False,
                    "reason": None,
                }
            ]
        }
    )
    name: str
    version: str = Field(description="The number of examples the policy learned from.")
    source: str = Field(description="The model URI or policy spec served (`rules`: baseline).")
    requested_model: str | None = Field(
        default=None,
        description="The model asked for (`NBA_MODEL_URI` or the last promotion), if any.",
    )
    degraded: bool = Field(description="True when the requested model could not be loaded.")
    reason: str | None = Field(default=None, description="Why the service is degraded.")


class DecisionRequest(_Strict):
    """Ask for one decision."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"customer_id": "c42", "trigger": "cart_abandoned", "context": {"page": "/cart"}}
            ]
        },
    )
    customer_id: str = Field(min_length=1, max_length=200)
    context: dict[str, Any] | None = Field(
        default=None, description="Signals from the calling app (page, device…); logged."
    )
    trigger: str | None = Field(default=None, max_length=200)
    now: datetime | None = Field(default=None, description="Decision time (tests, replays).")
    dry_run: bool = Field(default=False, description="Decide without logging or counting.")


class BatchDecisionRequest(_Strict):
    """Ask for decisions for a campaign list (at most 10,000 ids; more gives 413)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_ids": ["c1", "c2"], "trigger": "campaign"}]},
    )
    customer_ids: list[str] = Field(min_length=1)
    context: dict[str, Any] | None = None
    trigger: str | None = Field(default=None, max_length=200)
    now: datetime | None = None
    dry_run: bool = False
    explain: bool = Field(
        default=True,
        description="False leaves `suppressed` and `distribution` out of each decision "
        "(they are still logged): a 10,000-id response shrinks about tenfold.",
    )


_DECISION: dict[str, Any] = {
    "decision_id": _DECISION_ID,
    "customer_id": "c42",
    "action": {"message_id": "cart_reminder", "channel": "email"},
    "propensity": 0.92,
    "policy": {"name": "linucb", "version": "1200"},
    "explored": False,
    "suppressed": [{"message_id": "welcome", "channel": "sms", "rule": "consent"}],
    "created_at": _AT,
    "holdout": False,
    "distribution": {"no_contact": 0.08, "cart_reminder@email": 0.92},
}


class DecisionOut(BaseModel):
    """One decision (docs/contracts.md's shape, plus ``holdout`` and ``distribution``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DECISION]})
    decision_id: str = Field(
        description="A UUIDv7 (RFC 9562) stamped with the decision time: ids sort by time."
    )
    customer_id: str
    action: ActionOut | None = Field(default=None, description="None: no contact.")
    propensity: float
    policy: PolicyOut
    explored: bool
    suppressed: list[SuppressionOut] = Field(
        default_factory=list,
        description="Actions the guardrails removed, with the rule (absent when a batch "
        "asked for `explain: false`).",
    )
    created_at: str
    holdout: bool = False
    distribution: dict[str, float] = Field(
        default_factory=dict,
        description="Probability of every allowed action (absent with `explain: false`).",
    )


class BatchDecisionOut(BaseModel):
    """The decisions of a batch, in the order of ``customer_ids``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        _DECISION | {"customer_id": "c1"},
                        _DECISION
                        | {
                            "decision_id": "019cadfd-8900-7000-8b1e-0d7a3c6f2e94",
                            "customer_id": "c2",
                            "action": None,
                            "propensity": 0.3,
                            "suppressed": [],
                            "distribution": {"no_contact": 0.3, "new_arrivals@push": 0.7},
                        },
                    ]
                }
            ]
        }
    )
    decisions: list[DecisionOut]


class EventOut(BaseModel):
    """A stored event, with the decision it was joined to."""

    event_id: str
    type: str = Field(description="An event type (`clicked`, `purchase`, …).")
    timestamp: str
    decision_id: str | None = Field(default=None, description="The decision the event named.")
    channel: str | None = None
    message_id: str | None = None
    value: float
    properties: dict[str, Any]
    attributed_to: str | None = Field(default=None, description="The decision it counts for.")
    late: bool = Field(description="After its decision's attribution window: not learned.")
    unknown_decision: bool = Field(description="Named a decision not logged (when received).")


class DecisionEventOut(EventOut):
    """An event joined to a decision, with what it is worth under the current goal."""

    reward: float


class DecisionDetail(DecisionOut):
    """A logged decision with its joined events and reward."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _DECISION
                | {
                    "trigger": "cart_abandoned",
                    "context": {"page": "/cart"},
                    "events": [_EVENT | {"reward": 0.05}],
                    "reward": 0.049,
                    "window_end": "2026-03-09T10:00:00+00:00",
                    "window_closed": False,
                    "reward_final": False,
                    "learned": False,
                }
            ]
        }
    )
    trigger: str | None = None
    context: dict[str, Any] | None = None
    events: list[DecisionEventOut]
    reward: float = Field(
        description="The reward so far: the goal's weights of the joined on-time events, "
        "minus the send cost."
    )
    window_end: str
    window_closed: bool = Field(description="Whether the attribution window has ended.")
    reward_final: bool = Field(
        description="Whether the reward is final: the learning loop closes a decision "
        "shortly after its window ends (events that come later are flagged late)."
    )
    learned: bool
