"""The guardrails dry run: how a proposed guardrails document would change decisions
for the customers decided for most recently (nothing stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from nba.guardrails import Guardrails, parse_guardrails
from nba.pipeline import Decider
from nba.store import customers
from nba.store import decisions as stored_decisions
from nba.store.db import Store

from .inputs import checked_time
from .runtime import Runtimes
from .serving import ServingPolicy

__all__ = ["DryRun"]


class DryRun:
    """Compare the current guardrails with a proposed document."""

    def __init__(self, store: Store, runtimes: Runtimes, serving: ServingPolicy) -> None:
        self.store = store
        self.runtimes = runtimes
        self.serving = serving

    def guardrails_dry_run(
        self, document: Any, sample: int = 200, now: datetime | None = None
    ) -> dict[str, Any]:
        """How a proposed guardrails document would change decisions for recent customers.

        Nothing is stored. Both rule sets decide for the same customers, at the
        same instant, with the serving policy.

        Raises
        ------
        GuardrailsError
            If the proposed document is invalid (naming the rule and field).
        """
        t = checked_time(now)
        when = datetime.fromtimestamp(t, UTC)
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
            proposed = Guardrails(
                parse_guardrails(document, rt.catalog, "proposed guardrails"), rt.catalog
            )
            ids = stored_decisions.recently_decided(conn, sample)
            if not ids:
                return {"customers": 0, "changed": 0, "current": {}, "proposed": {}, "examples": []}
            rows = customers.load_customers(conn, ids)
            hist = customers.load_history(conn, rt.catalog, ids)
        states = hist.to_states(rt.catalog, ids, rows)
        signals = states.signals(when)
        policy = self.serving.policy
        out: dict[str, Any] = {"customers": len(ids)}
        actions = {}
        for name, guard in (("current", rt.guardrails), ("proposed", proposed)):
            decider = Decider(rt.catalog, guard, policy, encoder=rt.encoder, random_state=0)
            b = decider.decide_signals(signals)
            actions[name] = b.action
            counts: dict[str, int] = {}
            for a in b.action:
                ch = rt.action_channel[int(a)] or "no_contact"
                counts[ch] = counts.get(ch, 0) + 1
            out[name] = {
                "contacts_by_channel": counts,
                "allowed_actions_mean": float(b.guardrails.allowed.sum(1).mean()),
            }
        changed = np.flatnonzero(actions["current"] != actions["proposed"])
        out["changed"] = int(changed.size)
        out["examples"] = [
            {
                "customer_id": ids[i],
                "current": rt.action_ids[int(actions["current"][i])],
                "proposed": rt.action_ids[int(actions["proposed"][i])],
            }
            for i in changed[:20]
        ]
        return out
