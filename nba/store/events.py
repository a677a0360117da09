"""Stored events: ingested idempotently by id, attributed to decisions, re-joined when
their decision is logged later, and read back (by decision, by customer, by period).

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from nba.store._sql import chunks, dialect_insert, insert_ignore
from nba.store.schema import EVENTS_UNKNOWN, decisions, events

__all__ = [
    "existing_event_ids",
    "insert_events",
    "add_events",
    "pending_events",
    "rejoin_events",
    "attributed_events",
    "events_of_decision",
    "recent_events",
    "outcome_events",
]


def existing_event_ids(conn: Connection, event_ids: Sequence[str]) -> set[str]:
    """Which of these event ids are stored already."""
    found: set[str] = set()
    for part in chunks(list(event_ids)):
        found |= set(
            conn.execute(select(events.c.event_id).where(events.c.event_id.in_(part)))
            .scalars()
            .all()
        )
    return found


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store event rows (column dicts); an id stored already is skipped."""
    stmt = insert_ignore(conn, events, ["event_id"])
    for part in chunks(list(rows)):
        conn.execute(stmt, list(part))


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store event rows (column dicts) with ids of their own (no conflict expected)."""
    conn.execute(dialect_insert(conn, events), list(rows))


def pending_events(conn: Connection) -> list[Any]:
    """Events that named a decision not logged when they came (id, customer, decision, ts)."""
    return list(
        conn.execute(
            select(
                events.c.event_id, events.c.customer_id, events.c.decision_id, events.c.ts
            ).where(EVENTS_UNKNOWN)
        ).all()
    )


def rejoin_events(conn: Connection, updates: Sequence[dict[str, Any]]) -> None:
    """Attribute pending events now that their decision is known: each update is
    ``{"k": event_id, "to": decision_id or None, "late": bool}``."""
    conn.execute(
        update(events)
        .where(events.c.event_id == bindparam("k"))
        .values(attributed_to=bindparam("to"), late=bindparam("late"), unknown_decision=False),
        list(updates),
    )


def attributed_events(conn: Connection, decision_ids: Sequence[str]) -> list[Any]:
    """The on-time events attributed to these decisions (attributed_to, type, value)."""
    out: list[Any] = []
    for part in chunks(list(decision_ids)):
        out += conn.execute(
            select(events.c.attributed_to, events.c.type, events.c.value).where(
                events.c.attributed_to.in_(part), events.c.late.is_(False)
            )
        ).all()
    return out


def events_of_decision(conn: Connection, decision_id: str) -> list[Any]:
    """The events attributed to one decision (rows, every column), in time order."""
    return list(
        conn.execute(
            select(events).where(events.c.attributed_to == decision_id).order_by(events.c.ts)
        ).all()
    )


def recent_events(conn: Connection, customer_id: str, limit: int = 50) -> list[Any]:
    """A customer's newest events (rows, every column), newest first."""
    return list(
        conn.execute(
            select(events)
            .where(events.c.customer_id == customer_id)
            .order_by(events.c.ts.desc())
            .limit(limit)
        ).all()
    )


def outcome_events(conn: Connection, since: float, until: float, types: Sequence[str]) -> list[Any]:
    """Events of ``types`` from ``since`` to ``until`` (customer, ts, type) of the
    customers decided for in that period."""
    decided = select(decisions.c.customer_id).where(
        decisions.c.created_at >= since, decisions.c.created_at <= until
    )
    return list(
        conn.execute(
            select(events.c.customer_id, events.c.ts, events.c.type).where(
                events.c.ts >= since,
                events.c.ts <= until,
                events.c.type.in_(sorted(types)),
                events.c.customer_id.in_(decided),
            )
        ).all()
    )
