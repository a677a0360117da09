"""Daily budgets per channel: sends counted per (channel, day), taken atomically.

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from nba.store._sql import fetch, mark, marks, run

__all__ = ["budget_used", "take_budget"]

_Q_BUDGET = "SELECT channel, used FROM budget_counters WHERE day = {} AND channel IN ({})"
#: Count k sends if they fit: a new (channel, day) row, or the existing one
#: incremented; no row changes when they do not fit. (SQLite needs the SELECT's
#: WHERE to parse an INSERT ... SELECT ... ON CONFLICT.)
_Q_BUDGET_TAKE = (
    "INSERT INTO budget_counters (channel, day, used) SELECT {m}, {m}, {m} WHERE {m} <= {m} "
    "ON CONFLICT (channel, day) DO UPDATE SET used = budget_counters.used + excluded.used "
    "WHERE budget_counters.used + excluded.used <= {m}"
)


def budget_used(conn: Connection, channels: Iterable[str], day: int) -> dict[str, int]:
    """Sends counted today per channel."""
    chans = list(channels)
    if not chans:
        return {}
    rows = fetch(conn, _Q_BUDGET.format(mark(conn), marks(conn, len(chans))), (int(day), *chans))
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
    sql = _Q_BUDGET_TAKE.format(m=mark(conn))
    return run(conn, sql, (channel, int(day), k, k, limit, limit)) == 1
