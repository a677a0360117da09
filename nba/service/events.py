"""Events: validated all-or-nothing, stored idempotently by ``event_id``, and attributed
to the decision they name or, by last touch, to the customer's contact in the goal's
attribution window (late ones kept and flagged, not counted)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection

from nba.clock import epoch, iso
from nba.events import Event, EventType
from nba.exceptions import InputError, TooLargeError
from nba.goals import attribute_events
from nba.store import customers
from nba.store import decisions as stored_decisions
from nba.store import events as stored_events
from nba.store.db import Store

from .inputs import MAX_EVENTS, MAX_VALUE, checked_time
from .runtime import Runtime, Runtimes

__all__ = ["EventCounts", "EventIngest", "CLOCK_SKEW", "is_late", "event_dict"]

#: How much earlier than its decision an event naming it may be dated (the clocks of
#: the application and the service differ a little); an earlier one cannot be its effect.
CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class EventCounts:
    """What one call of :meth:`EventIngest.ingest_events` did with its events.

    Attributes
    ----------
    accepted
        Events stored.
    duplicates
        Events already stored (or repeated in the batch): ignored.
    late
        Stored events after their decision's attribution window (kept, not learned).
    unknown_decision
        Stored events naming a decision not logged (joined again by the learning loop).
    """

    accepted: int
    duplicates: int
    late: int
    unknown_decision: int


class EventIngest:
    """Store events, joined to their decisions.

    Parameters
    ----------
    store, runtimes
        The database and the configuration (channels, attribution window).
    counters
        Hooks called as ``counters["events"](counts)`` after each call.
    """

    def __init__(
        self, store: Store, runtimes: Runtimes, counters: dict[str, Callable[..., None]]
    ) -> None:
        self.store = store
        self.runtimes = runtimes
        self.counters = counters

    def ingest_events(self, evs: Sequence[Event], now: datetime | None = None) -> EventCounts:
        """Store events (idempotent by ``event_id``), joined to their decisions.

        All-or-nothing: the batch is validated first; an invalid event rejects
        the whole batch and nothing is stored.

        Returns
        -------
        EventCounts

        Raises
        ------
        InputError
            Naming the event (by position) and the field at fault.
        """
        if len(evs) > MAX_EVENTS:
            raise TooLargeError(
                f"`events`: at most {MAX_EVENTS} events per call, got {len(evs)}; split the batch"
            )
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
        _validate(evs, rt)
        wall = checked_time(now)
        first: dict[str, Event] = {}
        at: dict[str, int] = {}
        for i, e in enumerate(evs):
            kept = first.setdefault(str(e.event_id), e)
            at.setdefault(str(e.event_id), i)
            if kept is not e and _event_key(kept) != _event_key(e):
                raise InputError(
                    f"`events[{i}].event_id`: `{e.event_id}` is also the id of events"
                    f"[{at[str(e.event_id)]}], which says something else (an id names one event)"
                )
        with self.store.write() as conn:
            existing = stored_events.existing_event_ids(conn, list(first))
            new = [e for k, e in first.items() if k not in existing]
            rows = _join_new_events(conn, rt, new, wall)
            if rows:
                stored_events.insert_events(conn, rows)
                customers.ensure_customers(conn, sorted({r["customer_id"] for r in rows}), wall)
        out = EventCounts(
            accepted=len(rows),
            duplicates=len(evs) - len(rows),
            late=sum(r["late"] for r in rows),
            unknown_decision=sum(r["unknown_decision"] for r in rows),
        )
        hook = self.counters.get("events")
        if hook is not None:
            hook(out)
        return out


def _validate(evs: Sequence[Event], rt: Runtime) -> None:
    """Check every event, naming the first one at fault (by position) and its field."""
    chans = set(rt.catalog.channel_ids)
    for i, e in enumerate(evs):
        if not e.event_id:
            raise InputError(f"`events[{i}].event_id`: expected a non-empty string")
        if not e.customer_id:
            raise InputError(f"`events[{i}].customer_id`: expected a non-empty string")
        if e.channel is not None and e.channel not in chans:
            raise InputError(
                f"`events[{i}].channel`: unknown channel {e.channel!r}; expected one of "
                f"{', '.join(rt.catalog.channel_ids)}"
            )
        if not abs(float(e.value or 0.0)) <= MAX_VALUE:  # (NaN too)
            raise InputError(
                f"`events[{i}].value`: expected a number within ±{MAX_VALUE:g}, got {e.value!r}"
            )
        checked_time(e.timestamp, f"events[{i}].timestamp")
        if e.type == EventType.CONSENT_CHANGED:
            consent = (e.properties or {}).get("consent")
            if not isinstance(consent, bool):  # "false" must not read as a grant
                raise InputError(
                    f"`events[{i}].properties.consent`: expected true or false for a "
                    f"`consent_changed` event, got {consent!r}"
                )


def _join_new_events(
    conn: Connection, rt: Runtime, new: Sequence[Event], wall: float
) -> list[dict[str, Any]]:
    """The rows of new events, each attributed to its decision (or to none)."""
    if not new:
        return []
    named = sorted({e.decision_id for e in new if e.decision_id})
    free_customers = sorted({e.customer_id for e in new if not e.decision_id})
    known = stored_decisions.decisions_to_join(conn, named)
    contacts = stored_decisions.contacts_of(conn, free_customers)
    dec = list(known.values()) + [c for c in contacts if c.decision_id not in known]
    pos = {d.decision_id: i for i, d in enumerate(dec)}
    cust_code: dict[str, int] = {}
    for d in dec:
        cust_code.setdefault(d.customer_id, len(cust_code))
    for e in new:
        cust_code.setdefault(e.customer_id, len(cust_code))
    ev_ts = np.array([epoch(e.timestamp) for e in new])
    if dec:
        target, _ = attribute_events(
            np.array([cust_code[d.customer_id] for d in dec]),
            np.array([d.created_at for d in dec]),
            np.array([d.action != 0 for d in dec]),
            np.array([cust_code[e.customer_id] for e in new]),
            ev_ts,
            np.array([pos.get(e.decision_id, -1) if e.decision_id else -1 for e in new]),
            rt.goal.window_seconds,
            last_touch=rt.goal.last_touch,
        )
    else:
        target = np.full(len(new), -1)
    rows = []
    for i, e in enumerate(new):
        unknown = bool(e.decision_id) and e.decision_id not in known
        # an event naming a decision not logged (yet) waits for it: never credited
        # to another decision of the customer by last-touch attribution
        d = dec[target[i]] if target[i] >= 0 and not unknown else None
        if d is not None and e.decision_id and d.customer_id != e.customer_id:
            raise InputError(
                f"`events[{i}].decision_id`: decision `{e.decision_id}` belongs to another customer"
            )
        late = d is not None and is_late(ev_ts[i], d)
        rows.append(
            {
                "event_id": str(e.event_id),
                "customer_id": e.customer_id,
                "type": EventType(e.type).value,
                "ts": float(ev_ts[i]),
                "decision_id": e.decision_id,
                "channel": e.channel,
                "message_id": e.message_id,
                "value": float(e.value or 0.0),
                "properties": json.dumps(dict(e.properties or {})),
                "received_at": wall,
                "attributed_to": None if d is None else d.decision_id,
                "late": bool(late),
                "unknown_decision": unknown,
            }
        )
    return rows


def is_late(ts: float, d: Any) -> bool:
    """Whether an event at ``ts`` is outside decision ``d``'s attribution window (after
    its end or its closing, or before the decision beyond clock skew): kept, flagged
    late, not counted in the reward."""
    return bool(ts > d.window_end or d.closed or ts < d.created_at - CLOCK_SKEW)


def _event_key(e: Event) -> tuple[Any, ...]:
    """What an event says (two events with one id must say the same)."""
    return (
        e.customer_id,
        EventType(e.type),
        epoch(e.timestamp),
        e.decision_id,
        e.channel,
        e.message_id,
        e.value,
        json.dumps(e.properties or {}, sort_keys=True, default=str),
    )


def event_dict(e: Any) -> dict[str, Any]:
    """A stored event (row) as the JSON the API returns."""
    return {
        "event_id": e.event_id,
        "type": e.type,
        "timestamp": iso(e.ts),
        "decision_id": e.decision_id,
        "channel": e.channel,
        "message_id": e.message_id,
        "value": e.value,
        "properties": json.loads(e.properties or "{}"),
        "attributed_to": e.attributed_to,
        "late": bool(e.late),
        "unknown_decision": bool(e.unknown_decision),
    }
