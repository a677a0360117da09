"""Customers: their stored profile, and their history (events and recorded contacts)
read as arrays to build :class:`~nba.features.state.CustomerStates` from.

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store` (``write()`` or ``read()``), so a caller composes
several of them into one atomic unit (decide + record).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, update

from nba.catalog import Catalog
from nba.events import EVENT_CODES, EventType
from nba.features.state import CustomerStates
from nba.store._sql import CHUNK, chunks, fetch, mark, marks, raw_in, run_many
from nba.store.schema import customers

__all__ = [
    "CustomerRow",
    "History",
    "ensure_customers",
    "lock_customers",
    "load_customers",
    "load_history",
    "update_customer",
]

_CODES = {t.value: code for t, code in EVENT_CODES.items()}
_SENT_TYPE = EventType.SENT.value
_CONSENT_TYPE = EventType.CONSENT_CHANGED.value
_CONSENT_TYPES = frozenset({_CONSENT_TYPE, EventType.UNSUBSCRIBED.value})

_Q_CUSTOMERS = (
    "SELECT customer_id, timezone, attributes, consent, created_at, updated_at "
    "FROM customers WHERE customer_id IN ({})"
)
_Q_LOCK = _Q_CUSTOMERS + " ORDER BY customer_id FOR UPDATE"
_Q_NEW_CUSTOMER = (
    "INSERT INTO customers (customer_id, timezone, attributes, consent, created_at, "
    "updated_at) VALUES ({m}, 'UTC', '{{}}', '{{}}', {m}, {m}) "
    "ON CONFLICT (customer_id) DO NOTHING"
)
# events, then the contacts the service decided (type NULL): one statement, not two
_Q_HISTORY = (
    "SELECT customer_id, ts, type, channel, message_id, value, properties, decision_id "
    "FROM events WHERE customer_id IN ({0}) "
    "UNION ALL "
    "SELECT customer_id, created_at, NULL, channel, message_id, NULL, NULL, decision_id "
    "FROM decisions WHERE action != 0 AND customer_id IN ({0})"
)


class CustomerRow(NamedTuple):
    """A stored customer (JSON text for ``attributes`` and ``consent``)."""

    customer_id: str
    timezone: str
    attributes: str
    consent: str
    created_at: float
    updated_at: float


def ensure_customers(conn: Connection, ids: Sequence[str], now: float) -> None:
    """Create rows for customers not seen before (cold start), idempotently."""
    if not ids:
        return
    sql = _Q_NEW_CUSTOMER.format(m=mark(conn))
    for part in chunks(list(ids)):
        run_many(conn, sql, [(c, now, now) for c in part])


def lock_customers(conn: Connection, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """Lock the customers' rows until the transaction ends, and return them (as
    :func:`load_customers` does).

    PostgreSQL: ``SELECT ... FOR UPDATE`` in id order (no deadlocks between
    overlapping batches), one statement that also reads the rows. SQLite: the
    transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name != "postgresql":
        return load_customers(conn, ids)
    return {r[0]: CustomerRow._make(r) for r in raw_in(conn, _Q_LOCK, sorted(set(ids)))}


def load_customers(conn: Connection, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """Stored rows of these customers, by id (absent ids are not returned)."""
    return {r[0]: CustomerRow._make(r) for r in raw_in(conn, _Q_CUSTOMERS, ids)}


@dataclass(frozen=True)
class History:
    """Events and recorded contacts of some customers, as arrays, one entry each.

    The events come first (sorted by time), then the contacts the service
    decided, each as a ``sent`` event at decision time.
    """

    customer: list[str]
    ts: np.ndarray
    type: np.ndarray
    channel: np.ndarray
    message: np.ndarray
    value: np.ndarray
    consent: list[bool | None]

    def to_states(
        self, catalog: Catalog, ids: Sequence[str], rows: dict[str, CustomerRow]
    ) -> CustomerStates:
        """Build the customers' :class:`CustomerStates` (profile, then history)."""
        n = len(ids)
        chans = catalog.channel_ids
        consent = np.empty((n, len(chans)), dtype=bool)
        consent[:] = [not c.requires_consent for c in catalog.channels]
        tz = ["UTC"] * n
        attrs: dict[str, np.ndarray] = {}
        for name, spec in catalog.attributes.items():
            if spec.type == "numeric":
                attrs[name] = np.full(n, float(spec.default))
            else:
                attrs[name] = np.full(n, "", dtype=object)
        for i, c in enumerate(ids):
            row = rows.get(c)
            if row is None:
                continue
            tz[i] = row.timezone or "UTC"
            row_consent = json.loads(row.consent or "{}")
            for j, ch in enumerate(chans):
                if ch in row_consent:
                    consent[i, j] = bool(row_consent[ch])
            for k, v in json.loads(row.attributes or "{}").items():
                declared = catalog.attributes.get(k)
                if declared is None:
                    if v is not None:  # undeclared: kept for rules, not encoded
                        attrs.setdefault(k, np.full(n, None, dtype=object))[i] = v
                elif declared.type == "numeric":
                    try:
                        attrs[k][i] = float(v)
                    except (TypeError, ValueError):
                        pass
                else:
                    attrs[k][i] = "" if v is None else str(v)
        states = CustomerStates(catalog, ids, consent=consent, timezones=tz, attributes=attrs)
        if self.ts.size:
            # events and recorded contacts in one fold: a fold's fixed cost is most
            # of the work for one customer, and folding is order-free but for
            # consent changes, which only events carry
            index = {c: i for i, c in enumerate(ids)}
            states.apply_arrays(
                np.array([index[c] for c in self.customer], dtype=np.int64),
                self.ts,
                self.type,
                self.channel,
                self.message,
                self.value,
                consent_to=self.consent,
            )
        return states


def load_history(conn: Connection, catalog: Catalog, ids: Sequence[str]) -> History:
    """Events and recorded contacts of these customers.

    A ``sent`` event naming a decision the service recorded as a contact is
    skipped: that contact was counted when it was decided.
    """
    chan = {c: i for i, c in enumerate(catalog.channel_ids)}
    msg = {m: i for i, m in enumerate(catalog.message_ids)}
    found: list[tuple[Any, ...]] = []
    for part in chunks(list(ids), CHUNK // 2):  # each id is bound twice
        sql = _Q_HISTORY.format(marks(conn, len(part)))
        found += fetch(conn, sql, (*part, *part))
    # columns: customer_id, ts, type, channel, message_id, value, properties, decision_id
    sent = [r for r in found if r[2] is None]
    ev = [r for r in found if r[2] is not None] if sent else found
    if sent and ev:
        decided = {r[7] for r in sent}
        ev = [r for r in ev if not (r[2] == _SENT_TYPE and r[7] in decided)]
    # a consent change on a channel the catalog no longer has concerns that channel
    # only: it must not read as one about every channel (which a change naming no
    # channel is)
    ev = [r for r in ev if not (r[2] in _CONSENT_TYPES and r[3] is not None and r[3] not in chan)]
    ev.sort(key=itemgetter(1))
    # a contact as a `sent` event at decision time
    ev += [(c, ts, _SENT_TYPE, ch, m, None, None, d) for c, ts, _, ch, m, _, _, d in sent]
    e = list(zip(*ev, strict=True)) if ev else [()] * 8
    return History(
        customer=list(e[0]),
        ts=np.array(e[1], dtype=float),
        type=np.array([_CODES[t] for t in e[2]], dtype=np.int64),
        channel=np.array([chan.get(c, -1) for c in e[3]], dtype=np.int64),
        message=np.array([msg.get(m, -1) for m in e[4]], dtype=np.int64),
        value=np.array([v or 0.0 for v in e[5]], dtype=float),
        consent=[
            bool(json.loads(p or "{}").get("consent", False)) if t == _CONSENT_TYPE else None
            for t, p in zip(e[2], e[6], strict=True)
        ],
    )


def update_customer(conn: Connection, customer_id: str, values: dict[str, Any]) -> None:
    """Set columns of a stored customer (``attributes``, ``consent``, ``timezone``, ...)."""
    conn.execute(update(customers).where(customers.c.customer_id == customer_id).values(**values))
