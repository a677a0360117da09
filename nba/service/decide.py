"""Decisions: customers' states built from the store, the one pipeline
(:class:`nba.pipeline.Decider`), the decisions logged and the contacts counted
against daily budgets in the same transaction, retried when another process took
the budget first; :meth:`Decisions.decide_now` for the event loop, never waiting."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np

from nba.catalog import Catalog
from nba.clock import DAY
from nba.exceptions import BusyError, NBAError
from nba.features.state import CustomerStates
from nba.pipeline import Decider, DecisionBatch
from nba.store import budgets, customers
from nba.store import decisions as stored_decisions
from nba.store.db import Store, WriterBusy

from .inputs import checked_ids, checked_time, declared_attributes
from .runtime import Runtime, Runtimes, WouldWait
from .serving import Serving, ServingPolicy

__all__ = ["Decided", "Decisions"]

log = logging.getLogger(__name__)


class _BudgetRace(Exception):
    """Another process spent the budget between our read and our write; retry."""


class Decided(NamedTuple):
    """Decisions and the configuration they were made with (to render them)."""

    runtime: Runtime
    batch: DecisionBatch


class Decisions:
    """Decide for customers, log the decisions and count the contacts.

    Parameters
    ----------
    store, runtimes, serving
        The database, the configuration and the serving policy.
    rng
        The generator every decision samples from.
    counters
        Hooks called as ``counters["decisions"](batch, dry_run)`` after each
        decision call (the HTTP layer's Prometheus counters).
    """

    def __init__(
        self,
        store: Store,
        runtimes: Runtimes,
        serving: ServingPolicy,
        rng: np.random.Generator,
        counters: dict[str, Callable[..., None]],
    ) -> None:
        self.store = store
        self.runtimes = runtimes
        self.serving = serving
        self.rng = rng
        self.counters = counters
        self._pipeline_lock = threading.Lock()

    def decide(
        self,
        customer_ids: Sequence[str],
        now: datetime | None = None,
        *,
        trigger: str | None = None,
        context: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Decided:
        """Decide for customers and, unless ``dry_run``, log and count the contacts.

        Parameters
        ----------
        customer_ids
            One or many (<= :data:`~nba.service.inputs.MAX_BATCH`) distinct customer
            ids; unknown customers are decided from a cold start.
        now
            Decision time (default: the clock).
        trigger, context
            What the calling application says about the moment; logged. Context
            values of attributes the catalog declares (and the trigger, if it
            declares ``trigger``) stand for the customers' stored ones in this
            decision.
        dry_run
            Decide without logging or counting anything.

        Returns
        -------
        Decided
            The configuration used and the decisions, in input order.

        Raises
        ------
        InputError, TooLargeError
            On an empty, duplicated or too long id list.
        BusyError
            When concurrent decisions kept taking the same daily budget.
        """
        ids = checked_ids(customer_ids)
        t = checked_time(now)
        when = datetime.fromtimestamp(t, UTC)
        for _attempt in range(10):
            try:
                return self._decide_once(ids, when, t, trigger, context, dry_run)
            except _BudgetRace:
                continue
        raise BusyError(
            "concurrent decisions kept taking the same daily budget (10 attempts); nothing "
            "was stored: try again"
        )

    def decide_now(
        self,
        customer_ids: Sequence[str],
        now: datetime | None = None,
        *,
        trigger: str | None = None,
        context: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Decided | None:
        """:meth:`decide` for a few customers, if it can be done without waiting; else None.

        For the HTTP server's event loop: a few decisions on SQLite are a
        short transaction of a few hundred microseconds, less than handing it
        to a worker thread costs. It does not wait (beyond 2 ms): when the write lock is
        taken (by a thread of this process or by another process), another
        decision is computing, or the configuration must be reloaded, it
        returns None having changed nothing, and the caller runs
        :meth:`decide` in a worker thread. PostgreSQL always gets None (its
        statements wait on the network), and so do ids :meth:`decide` would
        refuse (it words the error).
        """
        if self.store.dialect != "sqlite":
            return None
        try:
            ids = checked_ids(customer_ids)
        except NBAError:
            return None
        t = checked_time(now)
        when = datetime.fromtimestamp(t, UTC)
        try:
            return self._decide_once(ids, when, t, trigger, context, dry_run, wait=False)
        except (WriterBusy, WouldWait, _BudgetRace):
            return None

    def _decide_once(
        self,
        ids: list[str],
        when: datetime,
        t: float,
        trigger: str | None,
        context: dict[str, Any] | None,
        dry_run: bool,
        *,
        wait: bool = True,
    ) -> Decided:
        """One attempt; with ``wait=False`` it raises WriterBusy or WouldWait rather
        than wait for a lock (rolling back what it did)."""
        if dry_run:
            tx = self.store.read()
        else:
            tx = self.store.write() if wait else self.store.write_now()
        with tx as conn:
            rt = self.runtimes.current(conn, reload=wait)
            wall = time.time()
            if dry_run:
                rows = customers.load_customers(conn, ids)
            elif self.store.dialect == "postgresql":
                customers.ensure_customers(conn, ids, wall)
                rows = customers.lock_customers(conn, ids)
            else:  # SQLite: the transaction already excludes every other writer
                rows = customers.load_customers(conn, ids)
                customers.ensure_customers(conn, [c for c in ids if c not in rows], wall)
            hist = customers.load_history(conn, rt.catalog, ids)
            states = hist.to_states(rt.catalog, ids, rows)
            if context or trigger is not None:
                apply_context(states, rt.catalog, context, trigger)
            spec = rt.guardrails.spec.budgets
            day = int(math.floor(t / DAY))
            used = budgets.budget_used(conn, [b.channel for b in spec], day)
            left = {b.channel: float(b.max_per_day - used[b.channel]) for b in spec}
            batch = self._run_pipeline(rt, states, when, left, wait=wait)
            if not dry_run:
                chan = rt.catalog.actions.channel_index
                for b in spec:
                    j = rt.catalog.channel_ids.index(b.channel)
                    k = int((chan[batch.action] == j).sum())
                    if k and not budgets.take_budget(conn, b.channel, day, k, b.max_per_day):
                        raise _BudgetRace()
                stored_decisions.insert_decisions(
                    conn, len(batch), _decision_columns(rt, batch, t, trigger, context)
                )
        hook = self.counters.get("decisions")
        if hook is not None:
            hook(batch, dry_run)
        return Decided(rt, batch)

    def _run_pipeline(
        self,
        rt: Runtime,
        states: Any,
        when: datetime,
        left: dict[str, float],
        *,
        wait: bool = True,
    ) -> DecisionBatch:
        serving = self.serving.current
        # Policies are not required to be thread-safe (lazy state, VW workspaces): the
        # pipeline's compute runs under one lock; the database work around it does not.
        if not self._pipeline_lock.acquire(blocking=wait):
            raise WouldWait()
        try:
            return self._pipeline_locked(serving, rt, states, when, left)
        finally:
            self._pipeline_lock.release()

    def _pipeline_locked(
        self, serving: Serving, rt: Runtime, states: Any, when: datetime, left: dict[str, float]
    ) -> DecisionBatch:
        try:
            decider = Decider(
                rt.catalog, rt.guardrails, serving.policy, encoder=rt.encoder, random_state=self.rng
            )
            return decider.decide(states, when, budget_left=dict(left))
        except Exception as exc:  # decisions never fail because of the model
            fallback = self.serving.fallback
            if serving.policy is fallback:
                raise
            log.warning(
                "policy `%s` failed (%s); deciding with the rule baseline", serving.policy.name, exc
            )
            serving.degraded = serving.failed = True
            serving.reason = f"policy `{serving.policy.name}` failed: {exc}"
            decider = Decider(
                rt.catalog, rt.guardrails, fallback, encoder=rt.encoder, random_state=self.rng
            )
            return decider.decide(states, when, budget_left=dict(left))


def _decision_columns(
    rt: Runtime,
    batch: DecisionBatch,
    t: float,
    trigger: str | None,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    """The decision log's columns for a batch (lists, or one value for all rows)."""
    X = np.ascontiguousarray(batch.context.X, dtype=np.float32)
    allowed = np.packbits(batch.guardrails.allowed, axis=1)
    probs = np.ascontiguousarray(batch.probs, dtype=np.float32)
    reason = np.ascontiguousarray(batch.guardrails.reason, dtype=np.int16)
    action = batch.action.tolist()
    return {
        "decision_id": list(batch.decision_ids),
        "customer_id": [str(c) for c in batch.signals.customer_ids],
        "created_at": t,
        "action": action,
        "action_id": [rt.action_ids[a] for a in action],
        "channel": [rt.action_channel[a] for a in action],
        "message_id": [rt.action_message[a] for a in action],
        "propensity": batch.propensity.tolist(),
        "probs": [r.tobytes() for r in probs],
        "policy_name": batch.policy_name,
        "policy_version": batch.policy_version,
        "explored": batch.explored.tolist(),
        "holdout": batch.guardrails.holdout.tolist(),
        "reason": [r.tobytes() for r in reason],
        "guardrails_version": rt.versions["guardrails"],
        "trigger": trigger,
        "request_context": None if context is None else json.dumps(context),
        "catalog_version": rt.versions["catalog"],
        "x": [r.tobytes() for r in X],
        "signals": [r.tobytes() for r in rt.codec.encode(batch.signals)],
        "allowed": [r.tobytes() for r in allowed],
        "window_end": t + rt.goal.window_seconds,
        "reward": None,
        "closed": False,
        "learned": False,
    }


def apply_context(
    states: CustomerStates, catalog: Catalog, context: dict[str, Any] | None, trigger: str | None
) -> None:
    """What the calling application says about the moment, for this decision: context
    values (and the trigger, as ``trigger``) of attributes the catalog declares replace
    the customers' stored ones, for the policy's features and the guardrails' rules
    alike. Other context keys are only logged.

    Raises
    ------
    InputError
        Naming ``context.<attribute>`` (or ``trigger``) when a value does not fit.
    """
    given = declared_attributes(catalog, dict(context or {}), "context")
    if trigger is not None:
        given |= declared_attributes(catalog, {"trigger": trigger}, "")
    n = len(states)
    for k, v in given.items():
        states.attributes[k] = np.full(n, v, dtype=float if isinstance(v, float) else object)
