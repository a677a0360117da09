"""The learning loop and the rewards it closes: events that named a decision not yet
logged are joined again, decisions whose attribution window ended are closed with
their reward, the serving policy learns from closed decisions on a copy that is then
swapped in, and is snapshotted so that a restart continues where it stopped. A logged
decision is read back here too, with its reward so far (the same close).

Both go through the domain's single implementations: :func:`nba.goals.close_rewards`
closes rewards (the loop's and ``GET /v1/decisions/{id}``'s), and
:class:`nba.logs.StoredDecisions` decodes stored decisions (the loop's and the
export's, through :func:`as_stored`).
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nba.clock import iso
from nba.decision import Suppression
from nba.events import EVENT_CODES, EventType
from nba.exceptions import NotFoundError
from nba.goals import close_rewards, outcome_counts
from nba.logs import StoredDecisions
from nba.policies.base import Policy
from nba.policies.registry import load_policy
from nba.store import decisions as stored_decisions
from nba.store import events as stored_events
from nba.store import snapshots
from nba.store.db import LEARNER_LOCK, Store

from .events import event_dict, is_late
from .inputs import checked_time
from .runtime import Runtimes, same_layout
from .serving import PolicyRef, ServingPolicy

__all__ = ["ChosenAction", "LearnStep", "Learner", "LoggedDecision", "as_stored"]

log = logging.getLogger(__name__)


def as_stored(rows: Sequence[Any], **more: Any) -> StoredDecisions:
    """Rows of the decisions table as :class:`~nba.logs.StoredDecisions`, to decode.

    Parameters
    ----------
    rows
        Rows with ``customer_id``, ``x``, ``allowed``, ``action``, ``propensity``,
        ``reward`` and ``signals``.
    **more
        The other columns an export reads (``probs``, ``decision_ids``, ...).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> row = SimpleNamespace(customer_id="c1", x=b"", allowed=b"", action=0,
    ...                       propensity=1.0, reward=0.0, signals=None)
    >>> len(as_stored([row])), as_stored([row], policy=["rules@1"]).policy
    (1, ['rules@1'])
    """
    return StoredDecisions(
        customer_ids=[r.customer_id for r in rows],
        x=[r.x for r in rows],
        allowed=[r.allowed for r in rows],
        action=[r.action for r in rows],
        propensity=[r.propensity for r in rows],
        reward=[r.reward for r in rows],
        signals=[r.signals for r in rows],
        **more,
    )


def _event_codes(evs: Sequence[Any]) -> np.ndarray:
    return np.array([EVENT_CODES[EventType(e.type)] for e in evs], dtype=np.int64)


def _event_values(evs: Sequence[Any]) -> np.ndarray:
    return np.array([e.value or 0.0 for e in evs], dtype=float)


def _copy_policy(policy: Policy) -> Policy:
    """A copy to learn on while the original keeps serving."""
    try:
        return copy.deepcopy(policy)
    except Exception:  # native state (e.g. a VW workspace): go through save/load
        with tempfile.TemporaryDirectory() as tmp:
            policy.save(Path(tmp) / "p")
            return load_policy(Path(tmp) / "p")


@dataclass(frozen=True)
class LearnStep:
    """What one learning step did.

    Attributes
    ----------
    rejoined
        Events joined to a decision logged since they came.
    closed
        Decisions whose attribution window closed.
    learned
        Closed decisions the policy learned from.
    policy
        The serving policy after the step.
    """

    rejoined: int
    closed: int
    learned: int
    policy: PolicyRef


@dataclass(frozen=True)
class ChosenAction:
    """The message and channel a decision chose (``None`` on a decision: no contact)."""

    message_id: str
    channel: str


@dataclass(frozen=True)
class LoggedDecision:
    """A logged decision with its joined events, reward so far and window state.

    Attributes
    ----------
    action
        What was chosen, ``None`` for no contact.
    suppressed
        The actions the guardrails removed, and the rule that removed each.
    distribution
        Every allowed action id's probability.
    context
        The request's context, if any.
    events
        The joined events as the API renders them, each with its ``reward``.
    reward
        Final once ``reward_final`` (the loop closed it), else the reward so far.
    window_end, window_closed
        The attribution window's end, and whether it has passed.
    """

    decision_id: str
    customer_id: str
    action: ChosenAction | None
    propensity: float
    policy: PolicyRef
    explored: bool
    suppressed: tuple[Suppression, ...]
    created_at: str
    holdout: bool
    distribution: dict[str, float]
    trigger: str | None
    context: dict[str, Any] | None
    events: tuple[dict[str, Any], ...]
    reward: float
    window_end: str
    window_closed: bool
    reward_final: bool
    learned: bool


class Learner:
    """Join, close, learn, snapshot; and logged decisions read back with their reward."""

    def __init__(self, store: Store, runtimes: Runtimes, serving: ServingPolicy) -> None:
        self.store = store
        self.runtimes = runtimes
        self.serving = serving
        self._lock = threading.Lock()

    def learn(self, now: datetime | None = None) -> LearnStep:
        """One step of the learning loop: join, close, learn, snapshot.

        1. events that named a decision not yet logged are joined again;
        2. decisions whose attribution window ended by ``now`` are closed
           with their reward (goal weights of their on-time events, minus the
           send cost; 0 minus cost when nothing happened);
        3. the serving policy learns from closed decisions not learned yet
           (``partial_fit`` on a copy, swapped in when done) and is snapshotted.

        Parameters
        ----------
        now
            The clock to close windows against (default: the wall clock).

        Returns
        -------
        LearnStep
        """
        t = checked_time(now)
        rejoined = closed = learned = 0
        with self._lock, self.store.try_session_lock(LEARNER_LOCK) as held:
            self.serving.refresh_from_snapshot()
            if held:  # else another process is learning; its snapshot is picked up next time
                rejoined, closed = self._join_and_close(t)
                learned = self._learn_closed(t)
        policy = self.serving.current.policy
        return LearnStep(rejoined, closed, learned, PolicyRef(policy.name, policy.version))

    def _join_and_close(self, t: float) -> tuple[int, int]:
        with self.store.write() as conn:
            rt = self.runtimes.current(conn)
            pending = stored_events.pending_events(conn)
            rejoined = 0
            if pending:
                found = stored_decisions.decisions_to_join(
                    conn, sorted({p.decision_id for p in pending})
                )
                upd = []
                for p in pending:
                    d = found.get(p.decision_id)
                    if d is None:
                        continue
                    if d.customer_id != p.customer_id:  # not its decision: never joined
                        log.warning(
                            "event `%s` of customer `%s` names decision `%s` of another "
                            "customer: not joined",
                            p.event_id,
                            p.customer_id,
                            d.decision_id,
                        )
                    upd.append(
                        {
                            "k": p.event_id,
                            "to": d.decision_id if d.customer_id == p.customer_id else None,
                            "late": is_late(p.ts, d),
                        }
                    )
                if upd:
                    stored_events.rejoin_events(conn, upd)
                rejoined = sum(u["to"] is not None for u in upd)
            due = stored_decisions.open_decisions_due(conn, t)
            if not due:
                return rejoined, 0
            ids = [d.decision_id for d in due]
            idx = {d: i for i, d in enumerate(ids)}
            # the send cost of each decision's action in the catalog it was decided with
            # (a later catalog may have other actions, in another order, at other costs)
            cost = np.zeros(len(due))
            action = np.array([d.action for d in due])
            made_with = [(d.catalog_version, d.guardrails_version) for d in due]
            for pair in set(made_with):
                action_cost = self.runtimes.at(*pair, rt).goal.action_cost
                rows = np.array([m == pair for m in made_with])
                cost[rows] = action_cost[np.minimum(action[rows], len(action_cost) - 1)]
            evs = stored_events.attributed_events(conn, ids)
            reward = close_rewards(
                rt.goal,
                cost,
                np.array([idx[e.attributed_to] for e in evs], dtype=np.int64),
                _event_codes(evs),
                _event_values(evs),
            ).reward
            stored_decisions.close_decisions(conn, {k: float(reward[i]) for i, k in enumerate(ids)})
        return rejoined, len(ids)

    def _learn_closed(self, t: float) -> int:
        serving = self.serving.current
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
            rows = stored_decisions.unlearned_decisions(conn)
        # decisions made with another catalog are learned from when they line up with
        # today's (same actions, same features: e.g. only a message's text or value
        # changed); the others cannot be, and are set aside (marked learned, unused)
        fits = {
            pair: same_layout(self.runtimes.at(*pair, rt), rt)
            for pair in {(r.catalog_version, r.guardrails_version) for r in rows}
        }
        # and one whose features or reward are not finite numbers would fail every step
        finite = np.isfinite(np.array([r.reward for r in rows], dtype=float))
        if rows:
            x = np.frombuffer(b"".join(r.x for r in rows), dtype=np.float32)
            finite &= np.isfinite(x.reshape(len(rows), -1)).all(axis=1)
        usable = [
            bool(ok) and fits[(r.catalog_version, r.guardrails_version)]
            for r, ok in zip(rows, finite, strict=True)
        ]
        aside = [r.decision_id for r, ok in zip(rows, usable, strict=True) if not ok]
        if aside:
            log.warning(
                "%d closed decisions were made with a catalog whose actions or features "
                "differ from today's, or have features or a reward that are not finite: "
                "set aside, not learned from",
                len(aside),
            )
            rows = [r for r, ok in zip(rows, usable, strict=True) if ok]
        # what each decision led to (opens, clicks, purchases…), for funnel learners
        at = {r.decision_id: i for i, r in enumerate(rows)}
        with self.store.read() as conn:
            led_to = stored_events.attributed_events(conn, list(at))
        if not rows:
            if aside:
                with self.store.write() as conn:
                    stored_decisions.mark_learned(conn, aside)
            return 0
        outcomes = outcome_counts(
            np.array([at[e.attributed_to] for e in led_to], dtype=np.int64),
            _event_codes(led_to),
            _event_values(led_to),
            len(rows),
        )
        batch = (
            as_stored(rows)
            .decode(
                rt.catalog.actions,
                rt.encoder.feature_names,
                rt.codec,
                datetime.fromtimestamp(t, UTC),
                outcomes,
            )
            .batch
        )
        learner = _copy_policy(serving.policy)
        learner.partial_fit(batch)
        with self.store.write() as conn:
            stored_decisions.mark_learned(conn, [r.decision_id for r in rows] + aside)
            snapshot = None
            if learner.kind == "learned":
                snapshot = snapshots.save_snapshot(conn, learner, serving.source, time.time())
        with self.serving.lock:
            if self.serving.current is serving:
                serving.policy = learner  # swap: decisions in flight keep the old object
                serving.learned += len(rows)
                if snapshot is not None:
                    serving.snapshot_id = snapshot
        return len(rows)

    def get_decision(self, decision_id: str, now: datetime | None = None) -> LoggedDecision:
        """A logged decision with its joined events, reward so far and window state.

        The window has closed once ``now`` (default: the clock) is past its end;
        the reward is final (``reward_final``) once the learning loop's reward
        join has closed the decision, which it does after the window's end.

        Raises
        ------
        NotFoundError
            If no such decision was logged.
        """
        t = checked_time(now)
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
            row = stored_decisions.find_decision(conn, decision_id)
            if row is None:
                raise NotFoundError(f"no decision with id `{decision_id}`")
            evs = stored_events.events_of_decision(conn, decision_id)
        old = self.runtimes.at(row.catalog_version, row.guardrails_version, rt)
        names = old.guardrails.rule_names
        msg_of, chan_of, ids_of = old.action_message, old.action_channel, old.action_ids
        reason = np.frombuffer(row.reason, dtype=np.int16)
        probs = np.frombuffer(row.probs, dtype=np.float32)
        goal = old.goal  # today's goal, with the decision's own catalog (its action costs)
        cost = float(goal.action_cost[row.action]) if row.action < len(goal.action_cost) else 0.0
        closed = close_rewards(
            goal,
            np.array([cost]),
            np.zeros(len(evs), dtype=np.int64),
            _event_codes(evs),
            _event_values(evs),
            late=np.array([bool(e.late) for e in evs], dtype=bool),
        )
        so_far = float(closed.reward[0])
        joined = tuple(
            event_dict(e) | {"reward": float(closed.event_reward[i])} for i, e in enumerate(evs)
        )
        return LoggedDecision(
            decision_id=row.decision_id,
            customer_id=row.customer_id,
            action=None if row.action == 0 else ChosenAction(row.message_id, row.channel),
            propensity=row.propensity,
            policy=PolicyRef(row.policy_name, row.policy_version),
            explored=row.explored,
            suppressed=tuple(
                Suppression(msg_of[a] or "", chan_of[a] or "", names[r])
                for a, r in enumerate(reason.tolist())
                if r >= 0
            ),
            created_at=iso(row.created_at),
            holdout=row.holdout,
            distribution={
                ids_of[a]: float(probs[a]) for a in np.flatnonzero(reason < 0) if a < len(ids_of)
            },
            trigger=row.trigger,
            context=None if row.request_context is None else json.loads(row.request_context),
            events=joined,
            reward=row.reward if row.closed else so_far,
            window_end=iso(row.window_end),
            window_closed=bool(row.closed) or t >= row.window_end,
            reward_final=bool(row.closed),
            learned=bool(row.learned),
        )
