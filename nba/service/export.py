"""Reading the decision log for export: closed decisions made with the current catalog,
as :class:`~nba.evaluation.logs.LoggedDecisions`. Needs only the store: no
configuration seeding, no policy, no checkpoint thread (``nba export``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from nba.store import decisions as stored_decisions
from nba.store.db import Store

from .learning import decode_decisions
from .runtime import load_runtime

__all__ = ["logged_decisions"]


def logged_decisions(store: Store) -> Any:
    """Closed decisions (current catalog version) as :class:`LoggedDecisions`."""
    from nba.evaluation.logs import LoggedDecisions

    with store.read() as conn:
        rt = load_runtime(conn)
        rows = stored_decisions.closed_decisions(conn, rt.versions["catalog"])
    n, n_act = len(rows), len(rt.catalog.actions)
    at = datetime.fromtimestamp(rows[-1].created_at if n else 0.0, UTC)
    return LoggedDecisions(
        decode_decisions(rows, rt, at),
        np.array([r.decision_id for r in rows], dtype=object),
        np.array([r.customer_id for r in rows], dtype=object),
        np.array([r.created_at for r in rows], dtype=float),
        np.array([f"{r.policy_name}@{r.policy_version}" for r in rows], dtype=object),
        probs=(
            np.frombuffer(b"".join(r.probs for r in rows), dtype=np.float32)
            .reshape(n, n_act)
            .astype(np.float64)
            if n
            else np.zeros((0, n_act))
        ),
    )
