"""Events: the events posted, and what became of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _DECISION_ID, _NOW, _Strict
from nba.events import EventType

__all__ = ["EventIn", "EventsRequest", "EventsResult"]


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
                            "decision_id": _DECISION_ID,
                            "channel": "email",
                            "message_id": "cart_reminder",
                        }
                    ]
                }
            ]
        },
    )
    events: list[EventIn] = Field(
        min_length=1,
        description="At most 10,000 events per call (more: 413): a batch is one transaction, "
        "and decisions wait for its commit.",
    )


class EventsResult(BaseModel):
    """What became of a batch of events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"accepted": 3, "duplicates": 1, "late": 0, "unknown_decision": 1}]
        }
    )
    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events whose event_id was already stored (ignored).")
    late: int = Field(description="Accepted events after their decision's window: not learned.")
    unknown_decision: int = Field(
        description="Accepted events naming a decision not logged (yet): joined again later."
    )
