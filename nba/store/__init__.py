"""Persistence of the decision service (SQLAlchemy Core): SQLite by default, PostgreSQL at scale.

- :mod:`nba.store.schema`: the tables (customers, events, decisions, budget
  counters, config versions, audit log, API keys, policy snapshots);
- :mod:`nba.store.db`: engines and transactions (:class:`Store`);
- :mod:`nba.store.repo`: one function per query, composed by callers into
  atomic transactions.
"""

from nba.store import repo
from nba.store.db import Store, make_engine

__all__ = ["Store", "make_engine", "repo"]
