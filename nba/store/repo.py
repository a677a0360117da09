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
from contextlib import closing
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

from nba.catalog import Catalog
from nba.events import EventType
from nba.features.signals import EVENT_CODES, CustomerStates
from nba.store.schema import (
    DECISIONS_OPEN,
    api_keys,
    audit_log,
    config_versions,
    decisions,
    policy_snapshots,
)

__all__ = [
    "ROLES",
    "CustomerRow",
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
_CODES = {t.value: code for t, code in EVENT_CODES.items()}
_SENT_TYPE = EventType.SENT.value
_CONSENT_TYPE = EventType.CONSENT_CHANGED.value
_CONSENT_TYPES = frozenset({_CONSENT_TYPE, EventType.UNSUBSCRIBED.value})


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


# -- the hot path ----------------------------------------------------------------
# Every decision runs the queries below. They go straight to the DBAPI cursor of
# the SQLAlchemy connection (same transaction): for one customer, SQLAlchemy's
# statement and result handling costs several times SQLite's own work.
def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _marks(conn: Connection, k: int) -> str:
    return ", ".join([_mark(conn)] * k)


def _cursor(conn: Connection) -> Any:
    """A cursor of the driver's connection under ``conn`` (in its transaction)."""
    driver: Any = conn.connection.driver_connection
    return driver.cursor()


def _fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows (tuples) of one statement."""
    with closing(_cursor(conn)) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def _run(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement; returns how many rows it changed."""
    with closing(_cursor(conn)) as cur:
        cur.execute(sql, params)
        return int(cur.rowcount)


def _run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for each parameter row (the driver's ``executemany``)."""
    with closing(_cursor(conn)) as cur:
        if len(rows) == 1:
            cur.execute(sql, rows[0])
        else:
            cur.executemany(sql, rows)


def _raw_in(conn: Connection, template: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run ``template`` (one ``IN ({})`` placeholder) for ``ids``, in chunks."""
    out: list[tuple[Any, ...]] = []
    for part in chunks(list(ids)):
        out += _fetch(conn, template.format(_marks(conn, len(part))), tuple(part))
    return out


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
_Q_BUDGET = "SELECT channel, used FROM budget_counters WHERE day = {} AND channel IN ({})"
#: Count k sends if they fit: a new (channel, day) row, or the existing one
#: incremented; no row changes when they do not fit. (SQLite needs the SELECT's
#: WHERE to parse an INSERT ... SELECT ... ON CONFLICT.)
_Q_BUDGET_TAKE = (
    "INSERT INTO budget_counters (channel, day, used) SELECT {m}, {m}, {m} WHERE {m} <= {m} "
    "ON CONFLICT (channel, day) DO UPDATE SET used = budget_counters.used + excluded.used "
    "WHERE budget_counters.used + excluded.used <= {m}"
)
_Q_HEAD = "SELECT COALESCE(MAX(id), 0) FROM config_versions"


# -- customers -------------------------------------------------------------------
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
    sql = _Q_NEW_CUSTOMER.format(m=_mark(conn))
    for part in chunks(list(ids)):
        _run_many(conn, sql, [(c, now, now) for c in part])


def lock_customers(conn: Connection, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """Lock the customers' rows until the transaction ends, and return them (as
    :func:`load_customers` does).

    PostgreSQL: ``SELECT ... FOR UPDATE`` in id order (no deadlocks between
    overlapping batches), one statement that also reads the rows. SQLite: the
    transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name != "postgresql":
        return load_customers(conn, ids)
    return {r[0]: CustomerRow._make(r) for r in _raw_in(conn, _Q_LOCK, sorted(set(ids)))}


def load_customers(conn: Connection, ids: Sequence[str]) -> dict[str, CustomerRow]:
    """Stored rows of these customers, by id (absent ids are not returned)."""
    return {r[0]: CustomerRow._make(r) for r in _raw_in(conn, _Q_CUSTOMERS, ids)}


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
    for part in chunks(list(ids), _CHUNK // 2):  # each id is bound twice
        sql = _Q_HISTORY.format(_marks(conn, len(part)))
        found += _fetch(conn, sql, (*part, *part))
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


# -- budgets -------------------------------------------------------------------------
def budget_used(conn: Connection, channels: Iterable[str], day: int) -> dict[str, int]:
    """Sends counted today per channel."""
    chans = list(channels)
    if not chans:
        return {}
    rows = _fetch(conn, _Q_BUDGET.format(_mark(conn), _marks(conn, len(chans))), (int(day), *chans))
    used = dict.fromkeys(chans, 0)
    used.update({channel: int(n) for channel, n in rows})
    return used


def take_budget(conn: Connection, channel: str, day: int, k: int, limit: int) -> bool:
    """Count ``k`` sends against a channel's daily budget if they fit (atomic).

    One statement: an insert of the day's row, or on conflict a conditional
    update, which takes the row lock, so concurrent transactions on PostgreSQL
    cannot overspend.
    """
    if k <= 0:
        return True
    sql = _Q_BUDGET_TAKE.format(m=_mark(conn))
    return _run(conn, sql, (channel, int(day), k, k, limit, limit)) == 1


_DECISION_COLS = tuple(c.name for c in decisions.columns)
#: The insert statement by placeholder ("?" for SQLite, "%s" for PostgreSQL's driver).
_Q_DECISIONS = {
    m: f"INSERT INTO {decisions.name} ({', '.join(_DECISION_COLS)}) "
    f"VALUES ({', '.join([m] * len(_DECISION_COLS))})"
    for m in ("?", "%s")
}


def insert_decisions(conn: Connection, n: int, columns: dict[str, Any]) -> None:
    """Append ``n`` decisions to the log, given column by column.

    Each value of ``columns`` is a sequence of ``n`` values or one scalar for
    all rows. The rows go straight to the driver's ``executemany`` (the batch
    endpoint writes 10,000 rows per call).
    """
    missing = set(_DECISION_COLS) - set(columns)
    if missing:
        raise KeyError(f"insert_decisions: missing columns {sorted(missing)}")
    sql = _Q_DECISIONS[_mark(conn)]
    cols = []
    for c in _DECISION_COLS:
        v = columns[c]
        cols.append(v if isinstance(v, list | tuple) else [v] * n)
    rows = list(zip(*cols, strict=True))
    for part in chunks(rows):
        _run_many(conn, sql, part)


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
    return int(_fetch(conn, _Q_HEAD)[0][0])


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
    from nba.policies.registry import load_policy

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
        return load_policy(Path(tmp) / "policy")


def open_decisions_due(conn: Connection, now: float, limit: int = 50_000) -> list[Any]:
    """Decisions whose attribution window has ended and that are not closed yet."""
    return list(
        conn.execute(
            select(
                decisions.c.decision_id,
                decisions.c.action,
                decisions.c.customer_id,
                decisions.c.catalog_version,
                decisions.c.guardrails_version,
            )
            .where(DECISIONS_OPEN, decisions.c.window_end <= now)
            .order_by(decisions.c.window_end)
            .limit(limit)
        ).all()
    )
