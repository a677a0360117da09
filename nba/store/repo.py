"""Queries of the decision store, one function per operation.

Every function takes an open :class:`sqlalchemy.Connection` inside a
transaction opened by :class:`nba.store.Store` (``write()`` or ``read()``), so a
caller composes several of them into one atomic unit (decide + record).
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from nba.catalog import Catalog
from nba.events import EventType
from nba.features.signals import EVENT_CODES, CustomerStates
from nba.store.schema import (
    api_keys,
    audit_log,
    budget_counters,
    config_versions,
    customers,
    decisions,
    policy_snapshots,
)

__all__ = [
    "ROLES",
    "History",
    "chunks",
    "now_epoch",
    "insert_ignore",
    "ensure_customers",
    "lock_customers",
    "load_customers",
    "load_history",
    "budget_used",
    "take_budget",
    "insert_decisions",
    "hash_key",
    "create_key",
    "role_of_key",
    "revoke_key",
    "latest_config",
    "config_head",
    "put_config",
    "add_audit",
    "list_audit",
    "save_snapshot",
    "load_snapshot",
]

ROLES = ("app", "marketer", "admin")
_CHUNK = 5000
_KEEP_SNAPSHOTS = 5
_SEND = EVENT_CODES[EventType.SENT]


def now_epoch() -> float:
    """Wall-clock time in epoch seconds."""
    return time.time()


def chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items (for ``IN`` lists).

    Examples
    --------
    >>> [list(c) for c in chunks([1, 2, 3], 2)]
    [[1, 2], [3]]
    """
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ``on_conflict_do_nothing``)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


_IGNORE: dict[tuple[str, str], Any] = {}


def insert_ignore(conn: Connection, table: Any, keys: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for the connection's dialect (cached)."""
    k = (conn.dialect.name, table.name)
    stmt = _IGNORE.get(k)
    if stmt is None:
        stmt = _IGNORE[k] = _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    return stmt


# -- customers -------------------------------------------------------------------
def ensure_customers(conn: Connection, ids: Sequence[str], now: float) -> None:
    """Create rows for customers not seen before (cold start), idempotently."""
    if not ids:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        "INSERT INTO customers (customer_id, timezone, attributes, consent, created_at, "
        f"updated_at) VALUES ({mark}, 'UTC', '{{}}', '{{}}', {mark}, {mark}) "
        "ON CONFLICT (customer_id) DO NOTHING"
    )
    for part in chunks(list(ids)):
        conn.exec_driver_sql(sql, [(c, now, now) for c in part])


def lock_customers(conn: Connection, ids: Sequence[str]) -> None:
    """Lock the customers' rows until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE`` in id order (no deadlocks between
    overlapping batches). SQLite: the transaction already holds the database's
    write lock (``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name != "postgresql" or not ids:
        return
    for part in chunks(sorted(set(ids))):
        conn.execute(
            select(customers.c.customer_id)
            .where(customers.c.customer_id.in_(part))
            .order_by(customers.c.customer_id)
            .with_for_update()
        ).all()


# The hot path (every decision) goes straight to the driver: SQLAlchemy's
# statement handling costs more than SQLite's own work for one customer.
_Q_CUSTOMERS = (
    "SELECT customer_id, timezone, attributes, consent, created_at, updated_at "
    "FROM customers WHERE customer_id IN ({})"
)
_Q_EVENTS = (
    "SELECT customer_id, ts, type, channel, message_id, value, properties, decision_id "
    "FROM events WHERE customer_id IN ({})"
)
_Q_SENT = (
    "SELECT customer_id, created_at, channel, message_id, decision_id "
    "FROM decisions WHERE action != 0 AND customer_id IN ({})"
)
_Q_BUDGET = "SELECT channel, used FROM budget_counters WHERE day = {} AND channel IN ({})"
_Q_HEAD = "SELECT COALESCE(MAX(id), 0) FROM config_versions"


def _marks(conn: Connection, k: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * k)


def _raw_in(conn: Connection, template: str, ids: Sequence[str]) -> list[Any]:
    """Run ``template`` (one ``IN ({})`` placeholder) for ``ids``, in chunks."""
    out: list[Any] = []
    for part in chunks(list(ids)):
        out += conn.exec_driver_sql(template.format(_marks(conn, len(part))), tuple(part)).all()
    return out


def load_customers(conn: Connection, ids: Sequence[str]) -> dict[str, Any]:
    """Stored rows of these customers, by id (absent ids are not returned)."""
    return {row.customer_id: row for row in _raw_in(conn, _Q_CUSTOMERS, ids)}


@dataclass(frozen=True)
class History:
    """Events and recorded contacts of some customers, as arrays.

    ``ev_*`` arrays are per event (sorted by time); ``sent_*`` arrays are the
    contacts the service decided (each counts as a ``sent`` at decision time).
    """

    ev_customer: np.ndarray
    ev_ts: np.ndarray
    ev_type: np.ndarray
    ev_channel: np.ndarray
    ev_message: np.ndarray
    ev_value: np.ndarray
    ev_consent: list[bool | None]
    sent_customer: np.ndarray
    sent_ts: np.ndarray
    sent_channel: np.ndarray
    sent_message: np.ndarray

    def to_states(
        self, catalog: Catalog, ids: Sequence[str], rows: dict[str, Any]
    ) -> CustomerStates:
        """Build the customers' :class:`CustomerStates` (profile, then history)."""
        n = len(ids)
        chans = catalog.channel_ids
        default = [not c.requires_consent for c in catalog.channels]
        consent = np.tile(default, (n, 1)).reshape(n, len(chans))
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
        index = {c: i for i, c in enumerate(ids)}
        if self.ev_ts.size:
            rows_ = np.array([index[c] for c in self.ev_customer], dtype=np.int64)
            states.apply_arrays(
                rows_,
                self.ev_ts,
                self.ev_type,
                self.ev_channel,
                self.ev_message,
                self.ev_value,
                consent_to=self.ev_consent,
            )
        if self.sent_ts.size:
            k = self.sent_ts.size
            states.apply_arrays(
                np.array([index[c] for c in self.sent_customer], dtype=np.int64),
                self.sent_ts,
                np.full(k, _SEND, dtype=np.int64),
                self.sent_channel,
                self.sent_message,
                np.zeros(k),
            )
        return states


def load_history(conn: Connection, catalog: Catalog, ids: Sequence[str]) -> History:
    """Events and recorded contacts of these customers.

    A ``sent`` event naming a decision the service recorded as a contact is
    skipped: that contact was counted when it was decided.
    """
    chan = {c: i for i, c in enumerate(catalog.channel_ids)}
    msg = {m: i for i, m in enumerate(catalog.message_ids)}
    codes = {t.value: EVENT_CODES[t] for t in EventType}
    ev = _raw_in(conn, _Q_EVENTS, ids)
    sent = _raw_in(conn, _Q_SENT, ids)
    decided = {r.decision_id for r in sent}
    ev = [r for r in ev if not (r.type == EventType.SENT.value and r.decision_id in decided)]
    ev.sort(key=lambda r: r.ts)
    return History(
        ev_customer=np.array([r.customer_id for r in ev], dtype=object),
        ev_ts=np.array([r.ts for r in ev], dtype=float),
        ev_type=np.array([codes[r.type] for r in ev], dtype=np.int64),
        ev_channel=np.array([chan.get(r.channel, -1) for r in ev], dtype=np.int64),
        ev_message=np.array([msg.get(r.message_id, -1) for r in ev], dtype=np.int64),
        ev_value=np.array([r.value or 0.0 for r in ev], dtype=float),
        ev_consent=[
            bool(json.loads(r.properties or "{}").get("consent", False))
            if r.type == EventType.CONSENT_CHANGED.value
            else None
            for r in ev
        ],
        sent_customer=np.array([r.customer_id for r in sent], dtype=object),
        sent_ts=np.array([r.created_at for r in sent], dtype=float),
        sent_channel=np.array([chan.get(r.channel, -1) for r in sent], dtype=np.int64),
        sent_message=np.array([msg.get(r.message_id, -1) for r in sent], dtype=np.int64),
    )


# -- budgets -------------------------------------------------------------------------
def budget_used(conn: Connection, channels: Iterable[str], day: int) -> dict[str, int]:
    """Sends counted today per channel."""
    chans = list(channels)
    if not chans:
        return {}
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    rows = conn.exec_driver_sql(
        _Q_BUDGET.format(mark, _marks(conn, len(chans))), (int(day), *chans)
    ).all()
    used = dict.fromkeys(chans, 0)
    used.update({r.channel: int(r.used) for r in rows})
    return used


def take_budget(conn: Connection, channel: str, day: int, k: int, limit: int) -> bool:
    """Count ``k`` sends against a channel's daily budget if they fit (atomic).

    The conditional ``UPDATE`` takes the row lock, so concurrent transactions
    on PostgreSQL cannot overspend.
    """
    if k <= 0:
        return True
    conn.execute(
        insert_ignore(conn, budget_counters, ["channel", "day"]),
        {"channel": channel, "day": day, "used": 0},
    )
    res = conn.execute(
        update(budget_counters)
        .where(
            budget_counters.c.channel == channel,
            budget_counters.c.day == day,
            budget_counters.c.used + k <= limit,
        )
        .values(used=budget_counters.c.used + k)
    )
    return bool(res.rowcount == 1)


_DECISION_COLS = tuple(c.name for c in decisions.columns)


def insert_decisions(conn: Connection, n: int, columns: dict[str, Any]) -> None:
    """Append ``n`` decisions to the log, given column by column.

    Each value of ``columns`` is a sequence of ``n`` values or one scalar for
    all rows. The rows go straight to the driver's ``executemany`` (the batch
    endpoint writes 10,000 rows per call).
    """
    missing = set(_DECISION_COLS) - set(columns)
    if missing:
        raise KeyError(f"insert_decisions: missing columns {sorted(missing)}")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {decisions.name} ({', '.join(_DECISION_COLS)}) "
        f"VALUES ({', '.join([mark] * len(_DECISION_COLS))})"
    )
    cols = []
    for c in _DECISION_COLS:
        v = columns[c]
        cols.append(v if isinstance(v, list | tuple) else [v] * n)
    rows = list(zip(*cols, strict=True))
    for part in chunks(rows):
        conn.exec_driver_sql(sql, list(part))


# -- keys ------------------------------------------------------------------------------
def hash_key(key: str) -> str:
    """sha256 of a key (keys are 256-bit random, so a fast hash is enough).

    Examples
    --------
    >>> len(hash_key("nba_x"))
    64
    """
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, role: str, now: float, key: str | None = None) -> tuple[str, str]:
    """Store a new key for ``role``; returns ``(key_id, key)`` (the key is shown once)."""
    key = key or "nba_" + secrets.token_urlsafe(32)
    key_id = "k_" + secrets.token_hex(6)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id, key_hash=hash_key(key), role=role, created_at=now, revoked=False
        )
    )
    return key_id, key


def role_of_key(conn: Connection, key: str) -> tuple[str, str] | None:
    """``(key_id, role)`` of a live key, or None."""
    row = conn.execute(
        select(api_keys.c.key_id, api_keys.c.role).where(
            api_keys.c.key_hash == hash_key(key), api_keys.c.revoked.is_(False)
        )
    ).first()
    return None if row is None else (row.key_id, row.role)


def revoke_key(conn: Connection, key_id: str) -> bool:
    """Revoke a key; False if there is no such live key."""
    res = conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked.is_(False))
        .values(revoked=True)
    )
    return bool(res.rowcount == 1)


# -- config and audit --------------------------------------------------------------
def latest_config(conn: Connection, kind: str) -> Any | None:
    """The newest stored version of a config document (row), or None."""
    return conn.execute(
        select(config_versions)
        .where(config_versions.c.kind == kind)
        .order_by(config_versions.c.version.desc())
        .limit(1)
    ).first()


def config_head(conn: Connection) -> int:
    """Id of the newest config change of any kind (0 if none): a cheap change check."""
    return int(conn.exec_driver_sql(_Q_HEAD).scalar_one())


def put_config(conn: Connection, kind: str, document: Any, who: str, now: float) -> int:
    """Store a new version of a config document; returns its version number."""
    current = conn.execute(
        select(func.coalesce(func.max(config_versions.c.version), 0)).where(
            config_versions.c.kind == kind
        )
    ).scalar_one()
    version = int(current) + 1
    conn.execute(
        insert(config_versions).values(
            kind=kind, version=version, document=document, created_at=now, created_by=who
        )
    )
    return version


def add_audit(
    conn: Connection, who: str, action: str, target: str, before: Any, after: Any, now: float
) -> None:
    """Record who changed what, with the document before and after."""
    conn.execute(
        insert(audit_log).values(
            at=now, who=who, action=action, target=target, before=before, after=after
        )
    )


def list_audit(conn: Connection, target: str | None = None, limit: int = 100) -> list[Any]:
    """Newest audit entries first."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if target:
        q = q.where(audit_log.c.target == target)
    return list(conn.execute(q).all())


# -- policy snapshots -----------------------------------------------------------------
def save_snapshot(conn: Connection, policy: Any, source: str, now: float) -> int:
    """Store the policy (its saved directory, as a tar) for a restart to continue.

    The newest five snapshots of a source are kept. Returns the snapshot's id.
    """
    with tempfile.TemporaryDirectory() as tmp:
        policy.save(Path(tmp) / "policy")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(Path(tmp) / "policy", arcname="policy")
    res = conn.execute(
        insert(policy_snapshots).values(
            created_at=now,
            source=source,
            policy_name=policy.name,
            policy_version=policy.version,
            blob=buf.getvalue(),
        )
    )
    key = res.inserted_primary_key
    assert key is not None
    new_id = int(key[0])
    keep = (
        select(policy_snapshots.c.id)
        .where(policy_snapshots.c.source == source)
        .order_by(policy_snapshots.c.id.desc())
        .limit(_KEEP_SNAPSHOTS)
    )
    kept = list(conn.execute(keep).scalars())
    conn.execute(
        delete(policy_snapshots).where(
            policy_snapshots.c.source == source, policy_snapshots.c.id.not_in(kept)
        )
    )
    return new_id


def load_snapshot(conn: Connection, source: str) -> Any | None:
    """The newest snapshot of the policy served from ``source``, or None."""
    from nba.policies.base import Policy

    row = conn.execute(
        select(policy_snapshots.c.blob)
        .where(policy_snapshots.c.source == source)
        .order_by(policy_snapshots.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(row.blob), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        return Policy.load(Path(tmp) / "policy")


def open_decisions_due(conn: Connection, now: float, limit: int = 50_000) -> list[Any]:
    """Decisions whose attribution window has ended and that are not closed yet."""
    return list(
        conn.execute(
            select(decisions.c.decision_id, decisions.c.action, decisions.c.customer_id)
            .where(and_(decisions.c.closed.is_(False), decisions.c.window_end <= now))
            .limit(limit)
        ).all()
    )
