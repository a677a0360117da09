"""The tables of the decision store (SQLAlchemy Core, SQLite and PostgreSQL).

Times are stored as epoch seconds (float, UTC) so that the reward join and the
state builder read them straight into numpy arrays.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
)

__all__ = [
    "metadata",
    "customers",
    "events",
    "decisions",
    "budget_counters",
    "config_versions",
    "audit_log",
    "api_keys",
    "policy_snapshots",
    "DECISIONS_OPEN",
    "DECISIONS_UNLEARNED",
    "EVENTS_UNKNOWN",
    "OBSOLETE_INDEXES",
]

metadata = MetaData()

#: One row per customer; the row lock that serialises decisions for a customer.
customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(200), primary_key=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("attributes", Text, nullable=False, default="{}"),  # JSON text
    Column("consent", Text, nullable=False, default="{}"),  # JSON text
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: Events, idempotent by ``event_id``; ``attributed_to`` is the joined decision.
events = Table(
    "events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("ts", Float, nullable=False),
    Column("decision_id", String(64), nullable=True),
    Column("channel", String(64), nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("value", Float, nullable=False, default=0.0),
    Column("properties", Text, nullable=False, default="{}"),  # JSON text
    Column("received_at", Float, nullable=False),
    Column("attributed_to", String(64), nullable=True),
    Column("late", Boolean, nullable=False, default=False),
    Column("unknown_decision", Boolean, nullable=False, default=False),
    Index("ix_events_customer_ts", "customer_id", "ts"),
    Index("ix_events_attributed", "attributed_to"),
)

#: The decision log: what learning and off-policy evaluation need.
decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(64), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("action", Integer, nullable=False),
    Column("action_id", String(256), nullable=False),
    Column("channel", String(64), nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("propensity", Float, nullable=False),
    Column("probs", LargeBinary, nullable=False),  # float32 (n_actions,): the distribution
    Column("policy_name", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("explored", Boolean, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Column("reason", LargeBinary, nullable=False),  # int16 (n_actions,): rule code, -1 allowed
    Column("guardrails_version", Integer, nullable=False),
    Column("trigger", String(200), nullable=True),
    Column("request_context", Text, nullable=True),  # JSON text
    Column("catalog_version", Integer, nullable=False),
    Column("x", LargeBinary, nullable=False),  # float32 (n_features,)
    # float32: the raw signals, days since each message, attribute codes (see
    # nba.features.codec.SignalCodec) — what rule policies and what-ifs read
    Column("signals", LargeBinary, nullable=True),
    Column("allowed", LargeBinary, nullable=False),  # np.packbits of (n_actions,)
    Column("window_end", Float, nullable=False),
    Column("reward", Float, nullable=True),
    Column("closed", Boolean, nullable=False, default=False),
    Column("learned", Boolean, nullable=False, default=False),
    Index("ix_decisions_customer_time", "customer_id", "created_at"),
)

# Partial indexes: only the open decisions, only those closed but not learned from
# yet, and only the events waiting for their decision. A new decision enters one small
# index (not two that grow with the whole log), a joined event none, and the reward
# join and the learner read exactly the rows they work on. The queries use these very
# expressions: both databases match a partial index's condition to a query's by form.
#: Open decisions (attribution window not closed yet), by window end.
DECISIONS_OPEN = decisions.c.closed.is_(False)
#: Closed decisions the serving policy has not learned from yet.
DECISIONS_UNLEARNED = and_(decisions.c.closed.is_(True), decisions.c.learned.is_(False))
Index(
    "ix_decisions_due",
    decisions.c.window_end,
    sqlite_where=DECISIONS_OPEN,
    postgresql_where=DECISIONS_OPEN,
)
Index(
    "ix_decisions_unlearned",
    decisions.c.created_at,
    sqlite_where=DECISIONS_UNLEARNED,
    postgresql_where=DECISIONS_UNLEARNED,
)
#: Events that name a decision not logged (yet): re-joined by the reward join.
EVENTS_UNKNOWN = events.c.unknown_decision.is_(True)
Index(
    "ix_events_pending",
    events.c.event_id,
    sqlite_where=EVENTS_UNKNOWN,
    postgresql_where=EVENTS_UNKNOWN,
)
#: Indexes of earlier versions, dropped by ``Store.create_schema``.
OBSOLETE_INDEXES = ("ix_decisions_open", "ix_decisions_learn", "ix_events_unknown")

#: Sends per channel per UTC day (day = floor(epoch / 86400)), across customers.
budget_counters = Table(
    "budget_counters",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("used", Integer, nullable=False, default=0),
)

#: Versioned configuration documents: kind is catalog, guardrails, goal or model.
config_versions = Table(
    "config_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(64), nullable=False),
    Index("ix_config_kind_version", "kind", "version", unique=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("who", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(64), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
)

#: API keys, stored as sha256 of the (high-entropy, random) key.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

#: Snapshots of the serving policy (a tar of its saved directory).
policy_snapshots = Table(
    "policy_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("policy_name", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("blob", LargeBinary, nullable=False),
)
