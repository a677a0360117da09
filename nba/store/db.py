"""Engines and transactions: SQLite (WAL, busy timeout) and PostgreSQL.

Write transactions are exclusive per customer so that caps and budgets stay
exact under concurrency:

- SQLite: a write transaction starts with ``BEGIN IMMEDIATE`` (one writer at a
  time across processes) and, inside one process, takes a lock first so that
  threads queue instead of spinning on ``SQLITE_BUSY``.
- PostgreSQL: the customers' rows are locked with ``SELECT ... FOR UPDATE``
  (:func:`nba.store.customers.lock_customers`) and budget counters are incremented
  with conditional ``UPDATE``s, so several server processes can share the work.

:meth:`Store.write_now` is the same write transaction for a caller that must
not wait (the HTTP server's event loop): it starts within 2 ms or raises
:class:`WriterBusy`, and the caller does the work elsewhere.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from nba.exceptions import ConfigError
from nba.store.schema import OBSOLETE_INDEXES, metadata

__all__ = [
    "Store",
    "WriterBusy",
    "make_engine",
    "ping",
    "missing_database",
    "STARTUP_LOCK",
    "LEARNER_LOCK",
]

#: :meth:`Store.write_now`: how long it tries to start its transaction, and how often.
#: SQLite's own busy handler sleeps at least 1 ms between tries, whereas a background
#: checkpoint, as it finishes, keeps a decision from starting for a fraction of that
#: (measured: up to ~0.8 ms); with the handler, a decision that met one waited 1.1 ms.
WRITE_NOW_WAIT = 0.002
WRITE_NOW_POLL = 50e-6

#: Advisory lock keys (PostgreSQL): schema creation and config seeding; the learner.
STARTUP_LOCK = 0x6E6261_01
LEARNER_LOCK = 0x6E6261_02


class WriterBusy(Exception):
    """:meth:`Store.write_now` could not start its transaction without waiting."""


def make_engine(url: str, *, busy_timeout: float = 30.0, autocheckpoint: bool = True) -> Engine:
    """An engine for ``url`` with nba's connection settings.

    Parameters
    ----------
    url
        A SQLAlchemy URL: ``sqlite:///nba.db`` or
        ``postgresql+psycopg://user@host:port/db`` (``postgresql://`` is
        taken to mean psycopg 3).
    busy_timeout
        SQLite: seconds a statement waits for another connection's lock
        before it fails with "database is locked".
    autocheckpoint
        SQLite: the committing connection copies the write-ahead log into
        the database file when it has grown (SQLite's default). ``False``
        leaves that to :meth:`Store.start_checkpoints`.

    Raises
    ------
    ConfigError
        If the URL is not one nba supports.

    Examples
    --------
    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": busy_timeout}
        }
        if memory:
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            # Durability: in WAL mode, NORMAL syncs at checkpoints, not at each commit.
            # A committed transaction (a decision that was returned) survives a crash of
            # the process; a power loss or OS crash may lose the last commits (FULL would
            # not, for an fsync per commit).
            cur.execute("PRAGMA synchronous=NORMAL")
            if not autocheckpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
                cur.execute("PRAGMA journal_size_limit=67108864")  # a reset log shrinks back
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("nba_immediate", False)
            # on the driver: SQLAlchemy's statement handling would cost more than BEGIN
            driver: Any = conn.connection.driver_connection
            driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql+"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise ConfigError(
        f"`NBA_DATABASE_URL`: expected a sqlite:/// or postgresql:// URL, got {url!r}"
    )


def missing_database(url: str) -> str | None:
    """The path of a SQLite ``url``'s file when it does not exist, else None: a reader
    (``nba export``) must not create an empty database where the user mistyped one.

    Examples
    --------
    >>> missing_database("sqlite:////nonexistent/nba.db")
    '/nonexistent/nba.db'
    >>> missing_database("sqlite://") is None, missing_database("postgresql://h/db") is None
    (True, True)
    """
    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or path in (None, "", ":memory:"):
        return None
    return None if os.path.exists(path) else path


class Store:
    """The database behind the service.

    Parameters
    ----------
    url
        SQLAlchemy URL (see :func:`make_engine`).
    create
        Create the tables if they do not exist.
    background_checkpoints
        SQLite file: copy the write-ahead log into the database file from a
        background thread (:meth:`start_checkpoints`) instead of inside a
        commit now and then. Every ~120th decision paid for a checkpoint of
        ~4 MB, several milliseconds: the tail of the decision latency.

    Examples
    --------
    >>> store = Store("sqlite://")
    >>> with store.write() as conn:
    ...     _ = conn.exec_driver_sql("SELECT 1")
    >>> store.dialect
    'sqlite'
    """

    def __init__(
        self, url: str, *, create: bool = True, background_checkpoints: bool = False
    ) -> None:
        self.url = url
        self.engine = make_engine(url, autocheckpoint=not background_checkpoints)
        self.dialect = self.engine.dialect.name
        sqlite = self.dialect == "sqlite"
        # SQLite: threads of this process queue on a lock rather than spin on SQLITE_BUSY
        self._thread_lock = threading.Lock()
        self._lock: AbstractContextManager[Any] = self._thread_lock if sqlite else nullcontext()
        # SQLite: write transactions start with BEGIN IMMEDIATE (make_engine's "begin"
        # hook); an engine carrying the option spares setting it on each connection
        self._writer = self.engine.execution_options(nba_immediate=True) if sqlite else self.engine
        # write_now(): a connection of its own that does not wait on SQLite's busy handler
        # (write_now polls instead) and fails within 2 ms, rather than waits, when another
        # process holds the write lock (in memory there is no other process, and the
        # database is the one connection)
        self._now: Engine | None = None
        self._now_engine: Engine | None = None
        self._now_conn: Connection | None = None
        if sqlite:
            if self.engine.url.database in (None, "", ":memory:"):
                self._now = self._writer
            else:
                self._now_engine = make_engine(
                    url, busy_timeout=0.0, autocheckpoint=not background_checkpoints
                )
                self._now = self._now_engine.execution_options(nba_immediate=True)
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        if create:
            self.create_schema()
        if background_checkpoints and self._now_engine is not None:
            self.start_checkpoints()

    def start_checkpoints(self, interval: float = 0.2, restart_bytes: int = 16 << 20) -> None:
        """Checkpoint the write-ahead log every ``interval`` seconds from a daemon thread.

        ``PASSIVE`` checkpoints copy what they can without waiting for
        readers or writers (SQLite releases the GIL while they run); when the
        log file is over ``restart_bytes``, a ``RESTART`` checkpoint lets it
        start over. Stops at :meth:`dispose`.
        """
        if self._checkpointer is not None or self._now_engine is None:
            return
        path = str(self.engine.url.database)

        def run() -> None:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                while not self._stop_checkpoints.wait(interval):
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        # under a steady stream of writes the log is never fully copied
                        # when a writer starts, so it is never restarted: now and then a
                        # RESTART checkpoint (a brief writer lock, what is left to copy is
                        # small) lets the next writer start it over
                        if os.path.getsize(path + "-wal") > restart_bytes:
                            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                    except (sqlite3.Error, OSError):  # busy or transient: try next round
                        continue
            finally:
                conn.close()

        self._stop_checkpoints.clear()
        self._checkpointer = threading.Thread(target=run, name="nba-checkpoint", daemon=True)
        self._checkpointer.start()

    @property
    def checkpointing(self) -> bool:
        """Whether the background checkpoint thread runs (see :meth:`start_checkpoints`)."""
        return self._checkpointer is not None

    def create_schema(self) -> None:
        """Create missing tables and indexes, and drop indexes earlier versions made
        (idempotent, safe from several processes)."""
        try:
            with self.write() as conn:
                self.serialize(conn, STARTUP_LOCK)
                metadata.create_all(conn)
                # create_all makes a table's indexes only with the table: a database
                # made by an earlier version gets the new ones here
                for table in metadata.sorted_tables:
                    for index in table.indexes:
                        index.create(conn, checkfirst=True)
                for name in OBSOLETE_INDEXES:
                    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        except DatabaseError as exc:  # OperationalError, or a file that is not a database
            url = self.engine.url.render_as_string(hide_password=True)
            raise ConfigError(f"database `{url}`: cannot create tables ({exc.orig})") from None

    def serialize(self, conn: Connection, key: int) -> None:
        """Serialise this transaction with every other one taking ``key`` (all processes).

        PostgreSQL: a transaction-level advisory lock. SQLite: write
        transactions are serialised already.
        """
        if self.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")

    @contextmanager
    def try_session_lock(self, key: int) -> Iterator[bool]:
        """Hold a cross-process lock for a while if it is free (yields whether it is held).

        PostgreSQL: a session-level advisory lock on a dedicated connection.
        SQLite: always held (one learner per process; use PostgreSQL for several
        processes).
        """
        if self.dialect != "postgresql":
            yield True
            return
        with self.engine.connect() as conn:
            got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({int(key)})").scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({int(key)})")
                    conn.commit()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (committed at exit, rolled back on error)."""
        with self._lock, self._writer.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write_now(self) -> Iterator[Connection]:
        """:meth:`write` for a caller that must not wait for it (an event loop).

        SQLite only: the transaction starts within 2 ms (time for a background
        checkpoint's momentary locks to pass; it tries every 50 µs) or not at
        all, and then holds the same locks as :meth:`write`.

        Raises
        ------
        WriterBusy
            If another transaction of this process or of another one holds
            the write lock, and always on PostgreSQL (whose statements wait
            on the network).

        Examples
        --------
        >>> store = Store("sqlite://")
        >>> with store.write_now() as conn:
        ...     _ = conn.exec_driver_sql("SELECT 1")
        """
        if self._now is None or not self._thread_lock.acquire(blocking=False):
            raise WriterBusy()
        try:
            # one connection kept open (used under the lock): checking a connection out
            # of the pool and back costs as much as a small decision's statements
            conn = self._now_conn
            if conn is None or conn.closed:
                conn = self._now_conn = self._now.connect()
            deadline = time.monotonic() + WRITE_NOW_WAIT
            while True:
                try:
                    tx = conn.begin()  # BEGIN IMMEDIATE, failing at once when busy
                    break
                except (OperationalError, sqlite3.OperationalError):
                    if time.monotonic() >= deadline:
                        raise WriterBusy() from None
                    time.sleep(WRITE_NOW_POLL)
            try:
                with tx:
                    yield conn
            except BaseException:
                if conn.invalidated:
                    conn.close()
                raise
        finally:
            self._thread_lock.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        """Stop background checkpoints and close every pooled connection."""
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._checkpointer.join(timeout=10)
            self._checkpointer = None
        with self._thread_lock:
            if self._now_conn is not None:
                self._now_conn.close()
                self._now_conn = None
        self.engine.dispose()
        if self._now_engine is not None:
            self._now_engine.dispose()


def ping(conn: Connection) -> None:
    """Check that the database answers (``SELECT 1``)."""
    conn.exec_driver_sql("SELECT 1")
