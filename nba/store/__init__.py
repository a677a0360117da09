"""Persistence of the decision service (SQLAlchemy Core): SQLite by default, PostgreSQL at scale.

- :mod:`nba.store.schema`: the tables (customers, events, decisions, budget
  counters, config versions, audit log, API keys, policy snapshots);
- :mod:`nba.store.db`: engines and transactions (:class:`Store`);
- one module of queries per table or concept, each function taking an open
  connection so that callers compose them into atomic transactions:
  :mod:`~nba.store.customers` (profiles and history), :mod:`~nba.store.decisions`
  (the decision log), :mod:`~nba.store.events`, :mod:`~nba.store.budgets`,
  :mod:`~nba.store.config` (versioned documents and the audit log),
  :mod:`~nba.store.keys` and :mod:`~nba.store.snapshots`.

Every SQL statement of nba is in this package.
"""

from nba.store.db import Store, make_engine

__all__ = ["Store", "make_engine"]
