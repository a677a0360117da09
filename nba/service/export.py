"""Reading the decision log for export: closed decisions made with the current catalog,
as :class:`~nba.logs.LoggedDecisions`. Needs only the store: no
configuration seeding, no policy, no checkpoint thread (``nba export``)."""

from __future__ import annotations

from datetime import UTC, datetime

from nba.logs import LoggedDecisions
from nba.store import decisions as stored_decisions
from nba.store.db import Store

from .learning import as_stored
from .runtime import load_runtime

__all__ = ["logged_decisions"]


def logged_decisions(store: Store) -> LoggedDecisions:
    """Closed decisions (current catalog version) as :class:`LoggedDecisions`."""
    with store.read() as conn:
        rt = load_runtime(conn)
        rows = stored_decisions.closed_decisions(conn, rt.versions["catalog"])
    at = datetime.fromtimestamp(rows[-1].created_at if rows else 0.0, UTC)
    stored = as_stored(
        rows,
        probs=[r.probs for r in rows],
        decision_ids=[r.decision_id for r in rows],
        created_at=[r.created_at for r in rows],
        policy=[f"{r.policy_name}@{r.policy_version}" for r in rows],
    )
    return stored.decode(rt.catalog.actions, rt.encoder.feature_names, rt.codec, at)
