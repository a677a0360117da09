"""Holdout metrics: decisions, contacts by channel, reward, conversions and unsubscribes
per day for served customers and the global holdout, and how the two groups compare
per customer (a lift with its 95 % interval)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nba.clock import DAY, iso
from nba.events import EventType
from nba.stats import difference_interval
from nba.store import decisions as stored_decisions
from nba.store import events as stored_events
from nba.store.db import Store

from .inputs import checked_time

__all__ = ["Lift", "Metrics", "MetricsDay", "MetricsGroup", "MetricsReport"]


@dataclass(frozen=True)
class MetricsDay:
    """One day of a group (decisions and contacts by decision day, outcomes by event day)."""

    day: str
    decisions: int
    contacts: int
    contacts_by_channel: dict[str, int]
    reward: float
    conversions: int
    unsubscribes: int


@dataclass(frozen=True)
class MetricsGroup:
    """Served customers or the global holdout over the period: customers decided for,
    decisions, contacts by channel, closed decisions and their reward, conversions and
    unsubscribes from each customer's first decision on, and the same per day."""

    customers: int
    decisions: int
    contacts: dict[str, int]
    closed: int
    reward: float
    reward_per_decision: float | None
    conversions: int
    unsubscribes: int
    by_day: tuple[MetricsDay, ...]


@dataclass(frozen=True)
class Lift:
    """Served minus holdout mean of a per-customer count, its 95 % interval and the
    change relative to the holdout; ``None`` where a group is empty or too small."""

    served: float | None
    holdout: float | None
    difference: float | None
    ci95: list[float] | None
    relative: float | None


@dataclass(frozen=True)
class MetricsReport:
    """The ``GET /v1/metrics`` document: the period, both groups and the lifts
    (``conversions_per_customer``, ``unsubscribes_per_customer``)."""

    since: str
    until: str
    served: MetricsGroup
    holdout: MetricsGroup
    lift: dict[str, Lift]


class Metrics:
    """The ``GET /v1/metrics`` document."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def metrics(self, days: int = 30, now: datetime | None = None) -> MetricsReport:
        """Decisions, contacts by channel, reward, conversions and unsubscribes per day,
        for served customers and the global holdout, and how the two groups compare.

        A customer belongs to the group its decisions of the period put it in
        (the holdout flag logged with its latest decision). Conversions
        (``purchase``, ``converted``) and unsubscribes are those of the group's
        customers from their first decision of the period on, whether or not
        an event names a decision: a holdout customer is never contacted, so
        nothing it does is ever attributed to a decision, and the comparison
        is per customer. ``lift`` gives, per customer, served minus holdout
        with a 95 % interval (normal approximation, unequal variances), and
        the relative change.

        Examples
        --------
        >>> import tempfile
        >>> from nba.settings import Settings
        >>> d = tempfile.mkdtemp()
        >>> from nba.service import DecisionService
        >>> service = DecisionService(Settings(database_url=f"sqlite:///{d}/nba.db"),
        ...                           champion_lookup=False, learn_interval=0)
        >>> when = datetime(2026, 3, 2, 10, tzinfo=UTC)
        >>> _ = service.decide([f"c{i}" for i in range(100)], when)
        >>> m = service.metrics(now=when)
        >>> m.served.customers + m.holdout.customers, sorted(m.lift)
        (100, ['conversions_per_customer', 'unsubscribes_per_customer'])
        >>> service.stop()
        """
        t = checked_time(now)
        since = t - days * DAY
        outcomes = {
            EventType.PURCHASE.value: "conversions",
            EventType.CONVERTED.value: "conversions",
            EventType.UNSUBSCRIBED.value: "unsubscribes",
        }
        with self.store.read() as conn:
            drows = stored_decisions.decisions_between(conn, since, t)
            erows = stored_events.outcome_events(conn, since, t, list(outcomes))
        first: dict[str, float] = {}
        holdout: dict[str, bool] = {}
        for d in drows:  # in time order: the latest decision's flag wins
            first.setdefault(d.customer_id, d.created_at)
            holdout[d.customer_id] = bool(d.holdout)

        def day_of(g: dict[str, Any], ts: float) -> dict[str, Any]:
            """Group ``g``'s counts for the day of ``ts``."""
            return g["by_day"].setdefault(
                datetime.fromtimestamp(ts, UTC).date().isoformat(),
                {
                    "decisions": 0,
                    "contacts": 0,
                    "contacts_by_channel": {},
                    "reward": 0.0,
                    "conversions": 0,
                    "unsubscribes": 0,
                },
            )

        groups: dict[str, dict[str, Any]] = {}
        for name in ("served", "holdout"):
            groups[name] = {
                "customers": 0,
                "decisions": 0,
                "contacts": {},
                "closed": 0,
                "reward": 0.0,
                "conversions": 0,
                "unsubscribes": 0,
                "by_day": {},
            }
        for d in drows:
            g = groups["holdout" if holdout[d.customer_id] else "served"]
            day = day_of(g, d.created_at)
            g["decisions"] += 1
            day["decisions"] += 1
            if d.channel:
                g["contacts"][d.channel] = g["contacts"].get(d.channel, 0) + 1
                day["contacts"] += 1
                day["contacts_by_channel"][d.channel] = (
                    day["contacts_by_channel"].get(d.channel, 0) + 1
                )
            if d.closed and d.reward is not None:
                g["closed"] += 1
                g["reward"] += d.reward
                day["reward"] += d.reward
        per_customer = {key: dict.fromkeys(first, 0) for key in ("conversions", "unsubscribes")}
        for e in erows:
            if e.ts < first[e.customer_id]:  # before the customer was first decided for
                continue
            key = outcomes[e.type]
            g = groups["holdout" if holdout[e.customer_id] else "served"]
            g[key] += 1
            day_of(g, e.ts)[key] += 1
            per_customer[key][e.customer_id] += 1
        report = {
            name: MetricsGroup(
                customers=sum(h == (name == "holdout") for h in holdout.values()),
                decisions=g["decisions"],
                contacts=g["contacts"],
                closed=g["closed"],
                reward=g["reward"],
                reward_per_decision=g["reward"] / g["closed"] if g["closed"] else None,
                conversions=g["conversions"],
                unsubscribes=g["unsubscribes"],
                by_day=tuple(MetricsDay(k, **v) for k, v in sorted(g["by_day"].items())),
            )
            for name, g in groups.items()
        }
        is_holdout = np.array([holdout[c] for c in first], dtype=bool)
        lift = {
            f"{key}_per_customer": _lift(
                np.array([per_customer[key][c] for c in first], dtype=float), is_holdout
            )
            for key in ("conversions", "unsubscribes")
        }
        return MetricsReport(iso(since), iso(t), report["served"], report["holdout"], lift)


def _lift(per_customer: np.ndarray, holdout: np.ndarray) -> Lift:
    """Served minus holdout mean of a per-customer count, with a 95 % interval
    (normal approximation, unequal variances) and the change relative to the
    holdout; None where a group is empty (or too small for an interval).

    Examples
    --------
    >>> out = _lift(np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
    ...             np.array([False, False, False, True, True, True]))
    >>> [round(x, 3) for x in (out.served, out.holdout, out.difference, out.relative)]
    [0.667, 0.333, 0.333, 1.0]
    >>> [round(x, 3) for x in out.ci95]
    [-0.591, 1.257]
    """
    served, held = per_customer[~holdout], per_customer[holdout]
    s_mean = float(served.mean()) if served.size else None
    h_mean = float(held.mean()) if held.size else None
    diff = ci = relative = None
    if s_mean is not None and h_mean is not None:
        diff, ci = difference_interval(served, held)
        relative = diff / h_mean if h_mean > 0 else None
    return Lift(s_mean, h_mean, diff, ci, relative)
