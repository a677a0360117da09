"""Events: what customers did, or what happened to them, timestamped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["EventType", "EVENT_CODES", "Event", "to_utc", "parse_timestamp"]


class EventType(StrEnum):
    """The kinds of events nba understands.

    ``sent`` is a contact (it counts against caps and budgets); ``purchase``
    and ``converted`` both count as purchases (send one of them per purchase);
    ``consent_changed`` carries ``properties={"consent": bool}`` and a channel;
    ``unsubscribed`` with a channel withdraws that channel's consent, without
    one every channel's.
    """

    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    PURCHASE = "purchase"
    PAGE_VIEW = "page_view"
    CART_ADD = "cart_add"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINT = "complaint"
    CONSENT_CHANGED = "consent_changed"


#: Each event type's code, the index of its column in array-valued tables (the
#: customer state, goal weights, the simulator's and the service's event arrays).
EVENT_CODES: dict[EventType, int] = {t: i for i, t in enumerate(EventType)}


def to_utc(ts: datetime) -> datetime:
    """Make a datetime timezone-aware in UTC (naive values are taken as UTC).

    Examples
    --------
    >>> to_utc(datetime(2026, 1, 1)).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def parse_timestamp(value: str | datetime) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` allowed) into an aware UTC datetime.

    Raises
    ------
    ValueError
        If the text is not ISO-8601.

    Examples
    --------
    >>> parse_timestamp("2026-03-01T09:30:00Z").isoformat()
    '2026-03-01T09:30:00+00:00'
    """
    if isinstance(value, datetime):
        return to_utc(value)
    return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


@dataclass(frozen=True, slots=True)
class Event:
    """One event of one customer.

    Examples
    --------
    >>> e = Event("c1", EventType.OPENED, parse_timestamp("2026-03-01T09:30:00Z"), channel="email")
    >>> e.type.value, e.channel
    ('opened', 'email')
    """

    customer_id: str
    type: EventType
    timestamp: datetime
    channel: str | None = None
    message_id: str | None = None
    value: float = 0.0
    decision_id: str | None = None
    event_id: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
