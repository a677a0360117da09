"""The guardrails dry run: how a proposed guardrails document would change decisions
for the customers decided for most recently (nothing stored)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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

__all__ = ["DryRun", "DryRunChange", "DryRunResult", "DryRunSide"]


@dataclass(frozen=True)
class DryRunSide:
    """What one rule set decides for the sample: decisions per channel (``no_contact``
    included) and the mean number of actions it allows per customer."""

    contacts_by_channel: dict[str, int]
    allowed_actions_mean: float


@dataclass(frozen=True)
class DryRunChange:
    """A customer whose decision the proposed rules change (action ids)."""

    customer_id: str
    current: str
    proposed: str


@dataclass(frozen=True)
class DryRunResult:
    """The current and the proposed rule sets on the same customers; no side
    (``None``) when no customer was decided for yet."""

    customers: int
    changed: int
    current: DryRunSide | None
    proposed: DryRunSide | None
    examples: tuple[DryRunChange, ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``POST /v1/guardrails/dry-run`` document: a missing side is ``{}``.

        Examples
        --------
        >>> DryRunResult(0, 0, None, None, ()).as_dict()["current"]
        {}
        """
        return asdict(self) | {
            side: {} for side in ("current", "proposed") if getattr(self, side) is None
        }


class DryRun:
    """Compare the current guardrails with a proposed document."""

    def __init__(self, store: Store, runtimes: Runtimes, serving: ServingPolicy) -> None:
        self.store = store
        self.runtimes = runtimes
        self.serving = serving

    def guardrails_dry_run(
        self, document: Any, sample: int = 200, now: datetime | None = None
    ) -> DryRunResult:
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
                return DryRunResult(0, 0, None, None, ())
            rows = customers.load_customers(conn, ids)
            hist = customers.load_history(conn, rt.catalog, ids)
        states = hist.to_states(rt.catalog, ids, rows)
        signals = states.signals(when)
        policy = self.serving.policy
        sides, actions = {}, {}
        for name, guard in (("current", rt.guardrails), ("proposed", proposed)):
            decider = Decider(rt.catalog, guard, policy, encoder=rt.encoder, random_state=0)
            b = decider.decide_signals(signals)
            actions[name] = b.action
            counts: dict[str, int] = {}
            for a in b.action:
                ch = rt.action_channel[int(a)] or "no_contact"
                counts[ch] = counts.get(ch, 0) + 1
            sides[name] = DryRunSide(counts, float(b.guardrails.allowed.sum(1).mean()))
        changed = np.flatnonzero(actions["current"] != actions["proposed"])
        examples = tuple(
            DryRunChange(
                ids[i],
                rt.action_ids[int(actions["current"][i])],
                rt.action_ids[int(actions["proposed"][i])],
            )
            for i in changed[:20]
        )
        return DryRunResult(
            len(ids), int(changed.size), sides["current"], sides["proposed"], examples
        )
