"""The decision log: decisions appended as they are made, joined to events, closed with
their reward, marked learned, and read back (by id, by customer, by period, for export).

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from nba.store._sql import chunks, mark, run_many
from nba.store.schema import DECISIONS_OPEN, DECISIONS_UNLEARNED, decisions

__all__ = [
    "insert_decisions",
    "find_decision",
    "decisions_to_join",
    "contacts_of",
    "open_decisions_due",
    "close_decisions",
    "unlearned_decisions",
    "mark_learned",
    "recent_decisions",
    "decisions_between",
    "recently_decided",
    "closed_decisions",
]

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
    sql = _Q_DECISIONS[mark(conn)]
    cols = []
    for c in _DECISION_COLS:
        v = columns[c]
        cols.append(v if isinstance(v, list | tuple) else [v] * n)
    rows = list(zip(*cols, strict=True))
    for part in chunks(rows):
        run_many(conn, sql, part)


def find_decision(conn: Connection, decision_id: str) -> Any | None:
    """The logged decision (row, every column), or None."""
    return conn.execute(select(decisions).where(decisions.c.decision_id == decision_id)).first()


_JOIN_COLS = (
    decisions.c.decision_id,
    decisions.c.customer_id,
    decisions.c.created_at,
    decisions.c.window_end,
    decisions.c.closed,
    decisions.c.action,
)


def decisions_to_join(conn: Connection, decision_ids: Sequence[str]) -> dict[str, Any]:
    """What joining events needs of these decisions (id, customer, created_at,
    window_end, closed, action), by id; absent ids are not returned."""
    found: dict[str, Any] = {}
    for part in chunks(list(decision_ids)):
        for r in conn.execute(select(*_JOIN_COLS).where(decisions.c.decision_id.in_(part))):
            found[r.decision_id] = r
    return found


def contacts_of(conn: Connection, customer_ids: Sequence[str]) -> list[Any]:
    """The contacts (decisions other than no-contact) of these customers, with the
    columns of :func:`decisions_to_join`."""
    out: list[Any] = []
    for part in chunks(list(customer_ids)):
        out += conn.execute(
            select(*_JOIN_COLS).where(decisions.c.customer_id.in_(part), decisions.c.action != 0)
        ).all()
    return out


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


def close_decisions(conn: Connection, rewards: dict[str, float]) -> None:
    """Close decisions with their reward (by decision id)."""
    conn.execute(
        update(decisions)
        .where(decisions.c.decision_id == bindparam("k"))
        .values(reward=bindparam("r"), closed=True),
        [{"k": k, "r": r} for k, r in rewards.items()],
    )


def unlearned_decisions(conn: Connection, limit: int = 50_000) -> list[Any]:
    """Closed decisions not learned from yet, oldest first, with what learning reads."""
    return list(
        conn.execute(
            select(
                decisions.c.decision_id,
                decisions.c.customer_id,
                decisions.c.x,
                decisions.c.signals,
                decisions.c.allowed,
                decisions.c.action,
                decisions.c.propensity,
                decisions.c.reward,
                decisions.c.catalog_version,
                decisions.c.guardrails_version,
            )
            .where(DECISIONS_UNLEARNED)
            .order_by(decisions.c.created_at)
            .limit(limit)
        ).all()
    )


def mark_learned(conn: Connection, decision_ids: Sequence[str]) -> None:
    """Mark decisions as learned from."""
    conn.execute(
        update(decisions).where(decisions.c.decision_id == bindparam("k")).values(learned=True),
        [{"k": k} for k in decision_ids],
    )


def recent_decisions(conn: Connection, customer_id: str, limit: int = 20) -> list[Any]:
    """A customer's newest decisions (rows, every column), newest first."""
    return list(
        conn.execute(
            select(decisions)
            .where(decisions.c.customer_id == customer_id)
            .order_by(decisions.c.created_at.desc())
            .limit(limit)
        ).all()
    )


def decisions_between(conn: Connection, since: float, until: float) -> list[Any]:
    """Decisions made from ``since`` to ``until`` (customer, time, holdout, channel,
    reward, closed), in time order."""
    return list(
        conn.execute(
            select(
                decisions.c.customer_id,
                decisions.c.created_at,
                decisions.c.holdout,
                decisions.c.channel,
                decisions.c.reward,
                decisions.c.closed,
            )
            .where(decisions.c.created_at >= since, decisions.c.created_at <= until)
            .order_by(decisions.c.created_at)
        ).all()
    )


def recently_decided(conn: Connection, limit: int) -> list[str]:
    """The ``limit`` customers decided for most recently."""
    return list(
        conn.execute(
            select(decisions.c.customer_id)
            .group_by(decisions.c.customer_id)
            .order_by(func.max(decisions.c.created_at).desc(), decisions.c.customer_id)
            .limit(limit)
        ).scalars()
    )


def closed_decisions(conn: Connection, catalog_version: int) -> list[Any]:
    """Closed decisions made with one catalog version, oldest first, with what an
    export reads (ids, time, policy, features, allowed actions, action, propensity,
    reward, distribution, raw signals)."""
    return list(
        conn.execute(
            select(
                decisions.c.decision_id,
                decisions.c.customer_id,
                decisions.c.created_at,
                decisions.c.policy_name,
                decisions.c.policy_version,
                decisions.c.x,
                decisions.c.allowed,
                decisions.c.action,
                decisions.c.propensity,
                decisions.c.reward,
                decisions.c.probs,
                decisions.c.signals,
            )
            .where(
                decisions.c.closed.is_(True),
                decisions.c.catalog_version == catalog_version,
            )
            .order_by(decisions.c.created_at)
        ).all()
    )
