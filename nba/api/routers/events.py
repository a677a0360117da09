"""``/v1/events``: what happened after decisions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends

from nba.events import Event
from nba.service import DecisionService, Principal

from ..deps import get_service, require
from ..schemas import EventsRequest, EventsResult, error_responses

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post(
    "",
    response_model=EventsResult,
    responses=error_responses(
        413,
        422,
        roles=("app",),
        descriptions={
            413: "More than 10,000 events.",
            422: "All-or-nothing: one invalid event rejects the batch (the message names "
            "`events[i].field`) and nothing is stored.",
        },
    ),
)
def post_events(
    body: EventsRequest,
    _: Principal = Depends(require("app")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Report events. Idempotent by ``event_id``; the batch is **all-or-nothing**.

    Events update the customer's signals at once (an unsubscribe applies to
    the very next decision). An event after its decision's attribution
    window is kept, flagged late and not learned from; an event naming an
    unknown decision is kept and joined again later.
    """
    evs = [
        Event(
            customer_id=e.customer_id,
            type=e.type,
            timestamp=e.timestamp,
            channel=e.channel,
            message_id=e.message_id,
            value=float(e.value or 0.0),
            decision_id=e.decision_id,
            event_id=e.event_id,
            properties=e.properties or {},
        )
        for e in body.events
    ]
    return asdict(service.ingest_events(evs))
