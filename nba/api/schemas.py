"""Request and response models of the HTTP API (pydantic, with OpenAPI examples)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nba.events import EventType

__all__ = [
    "ActionOut",
    "SuppressionOut",
    "PolicyOut",
    "DecisionRequest",
    "BatchDecisionRequest",
    "DecisionOut",
    "BatchDecisionOut",
    "DecisionDetail",
    "EventIn",
    "EventsRequest",
    "EventsResult",
    "CustomerPut",
    "ConfigOut",
    "KeyRequest",
    "KeyOut",
    "PromoteRequest",
    "LearnRequest",
    "DryRunRequest",
    "Health",
]

_NOW = "2026-03-02T10:00:00Z"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class DecisionOut(BaseModel):
    """One decision (DESIGN.md's shape, plus ``holdout`` and ``distribution``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decision_id": "019cadfd-8900-7000-80a8-52c1bb9651f3",
                    "customer_id": "c42",
                    "action": {"message_id": "cart_reminder", "channel": "email"},
                    "propensity": 0.92,
                    "policy": {"name": "linucb", "version": "1200"},
                    "explored": False,
                    "suppressed": [{"message_id": "welcome", "channel": "sms", "rule": "consent"}],
                    "created_at": _NOW,
                    "holdout": False,
                    "distribution": {"no_contact": 0.08, "cart_reminder@email": 0.92},
                }
            ]
        }
    )
    decision_id: str = Field(
        description="A UUIDv7 (RFC 9562) stamped with the decision time: ids sort by time."
    )
    customer_id: str
    action: ActionOut | None
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
    decisions: list[DecisionOut]


class DecisionDetail(DecisionOut):
    """A logged decision with its joined events and reward."""

    trigger: str | None = None
    context: dict[str, Any] | None = None
    events: list[dict[str, Any]]
    reward: float = Field(description="Final once the window closed, else the reward so far.")
    window_end: str
    window_closed: bool
    learned: bool


class EventIn(_Strict):
    """One event; ``properties.consent`` (bool) for ``consent_changed``."""

    event_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    type: EventType
    timestamp: datetime
    decision_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=200)
    value: float | None = None
    properties: dict[str, Any] | None = None


class EventsRequest(_Strict):
    """A batch of events. **All-or-nothing**: if one event is invalid the call fails
    with 422 naming it (``events[i].field``) and nothing is stored. Re-sending an
    event (same ``event_id``) is harmless: it is counted as a duplicate."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "e1",
                            "customer_id": "c42",
                            "type": "clicked",
                            "timestamp": _NOW,
                            "decision_id": "019cadfd-8900-7000-80a8-52c1bb9651f3",
                            "channel": "email",
                            "message_id": "cart_reminder",
                        }
                    ]
                }
            ]
        },
    )
    events: list[EventIn] = Field(min_length=1, max_length=100_000)


class EventsResult(BaseModel):
    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events whose event_id was already stored (ignored).")
    late: int = Field(description="Accepted events after their decision's window: not learned.")
    unknown_decision: int = Field(
        description="Accepted events naming a decision not logged (yet): joined again later."
    )


class CustomerPut(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "attributes": {"has_app": "yes", "device": "mobile"},
                    "consent": {"email": True, "sms": False},
                    "timezone": "Europe/Paris",
                }
            ]
        },
    )
    attributes: dict[str, str | float | int | bool | None] | None = None
    consent: dict[str, bool] | None = None
    timezone: str | None = None


class ConfigOut(BaseModel):
    kind: str
    version: int
    document: dict[str, Any]


class KeyRequest(_Strict):
    role: Literal["app", "marketer", "admin"]


class KeyOut(BaseModel):
    key_id: str
    key: str = Field(description="Shown once; only its hash is stored.")
    role: str


class PromoteRequest(_Strict):
    model_uri: str = Field(min_length=1, examples=["models:/nba@champion"])


class LearnRequest(_Strict):
    now: datetime | None = Field(default=None, description="Clock for closing windows.")


class DryRunRequest(_Strict):
    guardrails: dict[str, Any]
    sample: int = Field(default=200, ge=1, le=10_000)
    now: datetime | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    degraded: bool
    reason: str | None
    policy: dict[str, Any]
    config_versions: dict[str, int]
    database: str
    uptime_seconds: float
