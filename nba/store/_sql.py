"""What every query module of the store shares: ``IN`` lists in chunks, the dialect's
``INSERT ... ON CONFLICT``, and the hot path's straight-to-the-driver statements.

Every decision runs a few queries that go straight to the DBAPI cursor of the
SQLAlchemy connection (same transaction): for one customer, SQLAlchemy's statement
and result handling costs several times SQLite's own work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import Connection

__all__ = [
    "CHUNK",
    "chunks",
    "dialect_insert",
    "insert_ignore",
    "mark",
    "marks",
    "fetch",
    "run",
    "run_many",
    "raw_in",
]

CHUNK = 5000


def chunks(seq: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items (for ``IN`` lists).

    Examples
    --------
    >>> [list(c) for c in chunks([1, 2, 3], 2)]
    [[1, 2], [3]]
    """
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def dialect_insert(conn: Connection, table: Any) -> Any:
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
        stmt = _IGNORE[k] = dialect_insert(conn, table).on_conflict_do_nothing(
            index_elements=list(keys)
        )
    return stmt


def mark(conn: Connection) -> str:
    """The driver's placeholder: ``?`` (SQLite) or ``%s`` (PostgreSQL)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def marks(conn: Connection, k: int) -> str:
    """``k`` placeholders, comma-separated."""
    return ", ".join([mark(conn)] * k)


def _cursor(conn: Connection) -> Any:
    """A cursor of the driver's connection under ``conn`` (in its transaction)."""
    driver: Any = conn.connection.driver_connection
    return driver.cursor()


def fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows (tuples) of one statement."""
    with closing(_cursor(conn)) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def run(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement; returns how many rows it changed."""
    with closing(_cursor(conn)) as cur:
        cur.execute(sql, params)
        return int(cur.rowcount)


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for each parameter row (the driver's ``executemany``)."""
    with closing(_cursor(conn)) as cur:
        if len(rows) == 1:
            cur.execute(sql, rows[0])
        else:
            cur.executemany(sql, rows)


def raw_in(conn: Connection, template: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run ``template`` (one ``IN ({})`` placeholder) for ``ids``, in chunks."""
    out: list[tuple[Any, ...]] = []
    for part in chunks(list(ids)):
        out += fetch(conn, template.format(marks(conn, len(part))), tuple(part))
    return out
