"""The marketer's goal: what success is worth, and the reward of a decision.

A goal file (YAML)::

    weights:                  # per event type: a number, "value" (the event's
      purchase: value         # value), or {per_value: x, constant: y}
      clicked: 0.05
      unsubscribed: -3
      complaint: -5
    channel_costs: catalog    # subtract each send's cost: "catalog", none, or {channel: cost}
    attribution_window_days: 7
    attribution: last_touch   # or "tagged": only events naming their decision count

The reward of a decision is the sum of the weights of the events attributed
to it within its attribution window, minus the cost of its send. An event
is attributed to the decision it names (``decision_id``); with
``attribution: last_touch`` (the default) an event that names none goes to
the customer's latest contact decision before it, within the window (last
touch); with ``attribution: tagged`` it goes to none. Last touch credits a
contact with purchases the customer would have made anyway, which teaches a
learning policy to contact the customers who buy regardless; ``tagged``
counts only what the contact led to (opens, clicks and purchases reported
with the decision id, e.g. from tracked links). A decision whose window closes with no event gets
reward 0 (minus its send cost). Events after the window are *late*: kept,
not rewarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nba.catalog import Catalog
from nba.clock import DAY
from nba.config import load_document, validate
from nba.events import EVENT_CODES, EventType
from nba.exceptions import ConfigError

__all__ = [
    "Goal",
    "GoalSpec",
    "EventWeight",
    "load_goal",
    "parse_goal",
    "attribute_events",
    "OUTCOMES",
    "outcome_counts",
    "Rewards",
    "close_rewards",
    "join_rewards",
]

#: What a decision led to, in funnel order: counts of the events attributed
#: to it (``purchase`` counts purchases and conversions) and ``revenue``, the
#: sum of their values.
OUTCOMES: tuple[str, ...] = (
    "opened",
    "clicked",
    "purchase",
    "revenue",
    "unsubscribed",
    "complaint",
)
_OUTCOME_EVENTS: dict[str, tuple[EventType, ...]] = {
    "opened": (EventType.OPENED,),
    "clicked": (EventType.CLICKED,),
    "purchase": (EventType.PURCHASE, EventType.CONVERTED),
    "unsubscribed": (EventType.UNSUBSCRIBED,),
    "complaint": (EventType.COMPLAINT,),
}


class EventWeight(BaseModel):
    """``per_value * event.value + constant``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    per_value: float = 0.0
    constant: float = 0.0


class GoalSpec(BaseModel):
    """A validated goal file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    weights: dict[EventType, float | Literal["value"] | EventWeight] = Field(min_length=1)
    channel_costs: Literal["catalog", "none"] | dict[str, Annotated[float, Field(ge=0)]] = "catalog"
    attribution_window_days: float = Field(default=7.0, gt=0, le=366)
    attribution: Literal["last_touch", "tagged"] = "last_touch"


@dataclass(frozen=True)
class Goal:
    """A goal bound to a catalog: event weights and send costs as arrays.

    Examples
    --------
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "cost": 0.01,
    ...                                        "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> g = parse_goal({"weights": {"purchase": "value", "clicked": 0.05}}, cat)
    >>> g.event_reward(EventType.PURCHASE, 20.0), g.event_reward(EventType.CLICKED, 0.0)
    (20.0, 0.05)
    >>> g.action_cost.tolist()   # no-contact, hi@email
    [0.0, 0.01]
    """

    spec: GoalSpec
    catalog: Catalog
    per_value: np.ndarray  # (n_event_types,) indexed by EVENT_CODES
    constant: np.ndarray  # (n_event_types,)
    action_cost: np.ndarray  # (n_actions,)

    @property
    def last_touch(self) -> bool:
        """Whether events naming no decision go to the customer's last contact."""
        return self.spec.attribution == "last_touch"

    @property
    def window_seconds(self) -> float:
        """The attribution window in seconds."""
        return self.spec.attribution_window_days * DAY

    def event_reward(self, event_type: EventType | str, value: float = 0.0) -> float:
        """Reward contributed by one event."""
        k = EVENT_CODES[EventType(event_type)]
        return float(self.per_value[k] * value + self.constant[k])

    def event_rewards(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`event_reward`: codes are ``EVENT_CODES`` values."""
        return self.per_value[codes] * values + self.constant[codes]

    def to_dict(self) -> dict[str, Any]:
        """The goal document."""
        return self.spec.model_dump(mode="json")


def parse_goal(data: Any, catalog: Catalog, source: str = "<goal>") -> Goal:
    """Validate a goal document against a catalog.

    Raises
    ------
    ConfigError
        Naming the source and field.
    """
    spec = validate(GoalSpec, data, source, ConfigError)
    per_value = np.zeros(len(EVENT_CODES))
    constant = np.zeros(len(EVENT_CODES))
    for etype, w in spec.weights.items():
        k = EVENT_CODES[etype]
        if w == "value":
            per_value[k] = 1.0
        elif isinstance(w, EventWeight):
            per_value[k], constant[k] = w.per_value, w.constant
        else:
            constant[k] = float(w)
    if spec.channel_costs == "catalog":
        ch_cost = {c.id: c.cost for c in catalog.channels}
    elif spec.channel_costs == "none":
        ch_cost = {}
    else:
        for ch in spec.channel_costs:
            if ch not in catalog.channel_ids:
                raise ConfigError(
                    f"{source}, `channel_costs`: unknown channel `{ch}`; expected one of "
                    f"{', '.join(catalog.channel_ids)}"
                )
        ch_cost = dict(spec.channel_costs)
    cost = np.array(
        [0.0 if a.channel is None else ch_cost.get(a.channel, 0.0) for a in catalog.actions.actions]
    )
    return Goal(spec, catalog, per_value, constant, cost)


def load_goal(path: str | Path, catalog: Catalog) -> Goal:
    """Load and validate a goal file.

    Raises
    ------
    ConfigError
        If the file is missing or invalid.
    """
    return parse_goal(load_document(path), catalog, str(path))


def attribute_events(
    decision_customer: np.ndarray,
    decision_time: np.ndarray,
    decision_is_contact: np.ndarray,
    event_customer: np.ndarray,
    event_time: np.ndarray,
    event_decision: np.ndarray,
    window_seconds: float,
    *,
    last_touch: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Which decision each event belongs to (vectorised reward join).

    Parameters
    ----------
    decision_customer, decision_time, decision_is_contact
        Shape (n_decisions,): customer code (int), epoch seconds, whether
        the decision was a contact.
    event_customer, event_time
        Shape (n_events,): customer code, epoch seconds.
    event_decision
        Shape (n_events,): index of the decision the event names, -1 if none.
    window_seconds
        The attribution window.
    last_touch
        Attribute events naming no decision to the customer's latest
        contact before them, within the window; ``False``: to none.

    Returns
    -------
    (decision, late)
        Shape (n_events,) each: the attributed decision index (-1: none)
        and whether the event came after its decision's window.

    Examples
    --------
    >>> d, late = attribute_events(np.array([0, 0]), np.array([0.0, 100.0]),
    ...     np.array([True, True]), np.array([0, 0, 1]), np.array([50.0, 150.0, 10.0]),
    ...     np.array([-1, 0, -1]), 1000.0)
    >>> d.tolist(), late.tolist()
    ([0, 0, -1], [False, False, False])
    >>> attribute_events(np.array([0]), np.array([0.0]), np.array([True]), np.array([0]),
    ...     np.array([50.0]), np.array([-1]), 1000.0, last_touch=False)[0].tolist()
    [-1]
    """
    n_ev = event_customer.shape[0]
    out = np.asarray(event_decision, dtype=np.int64).copy()
    # last touch for events that name no decision: latest contact before the event
    free = np.flatnonzero(out < 0)
    contacts = np.flatnonzero(decision_is_contact)
    if last_touch and free.size and contacts.size:
        t0 = min(decision_time.min(), event_time.min())

        def key(cust: np.ndarray, t: np.ndarray) -> np.ndarray:
            # customer in the high bits, whole seconds since t0 in the low 34 bits
            return (cust.astype(np.int64) << 34) + np.floor(t - t0).astype(np.int64)

        dkey = key(decision_customer[contacts], decision_time[contacts])
        order = np.argsort(dkey, kind="stable")
        sorted_keys, sorted_idx = dkey[order], contacts[order]
        pos = (
            np.searchsorted(sorted_keys, key(event_customer[free], event_time[free]), side="right")
            - 1
        )
        cand = sorted_idx[np.maximum(pos, 0)]
        ok = (pos >= 0) & (decision_customer[cand] == event_customer[free])
        ok &= event_time[free] - decision_time[cand] <= window_seconds
        out[free] = np.where(ok, cand, -1)
    late = np.zeros(n_ev, dtype=bool)
    named = out >= 0
    late[named] = event_time[named] - decision_time[out[named]] > window_seconds
    return out, late


def outcome_counts(
    decision: np.ndarray, codes: np.ndarray, values: np.ndarray, n_decisions: int
) -> dict[str, np.ndarray]:
    """The :data:`OUTCOMES` of decisions from their attributed events.

    Parameters
    ----------
    decision
        Shape (n_events,): the decision each event is attributed to (as
        :func:`attribute_events` gives it; -1 or late events excluded by
        the caller passing -1).
    codes, values
        Shape (n_events,): ``EVENT_CODES`` of the events and their values.
    n_decisions
        Number of decisions.

    Returns
    -------
    dict
        Per outcome name, shape (n_decisions,).

    Examples
    --------
    >>> from nba.events import EVENT_CODES as C
    >>> out = outcome_counts(np.array([0, 0, 1, -1]),
    ...     np.array([C["opened"], C["purchase"], C["opened"], C["clicked"]]),
    ...     np.array([0.0, 30.0, 0.0, 0.0]), 2)
    >>> out["opened"].tolist(), out["purchase"].tolist(), out["revenue"].tolist()
    ([1.0, 1.0], [1.0, 0.0], [30.0, 0.0])
    """
    decision = np.asarray(decision, dtype=np.int64)
    ok = decision >= 0
    out: dict[str, np.ndarray] = {}
    for name in OUTCOMES:
        types = _OUTCOME_EVENTS.get(name, _OUTCOME_EVENTS["purchase"])
        sel = ok & np.isin(codes, [EVENT_CODES[t] for t in types])
        weights = np.asarray(values, dtype=np.float64)[sel] if name == "revenue" else None
        out[name] = np.bincount(decision[sel], weights=weights, minlength=n_decisions).astype(
            np.float64
        )[:n_decisions]
    return out


@dataclass(frozen=True)
class Rewards:
    """What decisions earned: the goal's reward close, vectorised.

    Attributes
    ----------
    reward
        Shape (n_decisions,): minus each decision's send cost, plus the
        weights of the events counted for it (its reward when its window has
        closed, its reward so far while it is open).
    outcomes
        Per :data:`OUTCOMES` name, shape (n_decisions,).
    event_reward
        Shape (n_events,): what each event is worth under the goal, counted
        or not.
    counted
        Shape (n_events,) bool: attributed to a decision and not late.
    """

    reward: np.ndarray
    outcomes: dict[str, np.ndarray]
    event_reward: np.ndarray
    counted: np.ndarray


def close_rewards(
    goal: Goal,
    cost: np.ndarray,
    event_decision: np.ndarray,
    event_code: np.ndarray,
    event_value: np.ndarray,
    *,
    late: np.ndarray | None = None,
) -> Rewards:
    """The reward and outcomes of decisions from the events attributed to them.

    The one reward close: the service's learning loop and its reward so far,
    the simulator's join and its step all go through it.

    Parameters
    ----------
    goal
        Its event weights value the events.
    cost
        Shape (n_decisions,): each decision's send cost (the cost of its
        action in the catalog it was decided with).
    event_decision
        Shape (n_events,): the decision each event is attributed to, -1 for
        none (:func:`attribute_events` gives it).
    event_code, event_value
        Shape (n_events,): :data:`~nba.events.EVENT_CODES` of the events and
        their values.
    late
        Shape (n_events,) bool: events after their decision's window, kept
        but not counted; ``None``: none is late.

    Returns
    -------
    Rewards

    Examples
    --------
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "cost": 0.01,
    ...                                        "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> g = parse_goal({"weights": {"purchase": "value", "clicked": 0.05}}, cat)
    >>> codes = np.array([EVENT_CODES[EventType.CLICKED], EVENT_CODES[EventType.PURCHASE]])
    >>> r = close_rewards(g, g.action_cost[[1, 0]], np.array([0, 0]), codes,
    ...                   np.array([0.0, 20.0]), late=np.array([False, True]))
    >>> float(r.reward[0]), r.event_reward.tolist(), r.outcomes["clicked"].tolist()
    (0.04, [0.05, 20.0], [1.0, 0.0])
    """
    reward = -np.asarray(cost, dtype=np.float64)
    event_decision = np.asarray(event_decision, dtype=np.int64)
    code = np.asarray(event_code, dtype=np.int64)
    value = np.asarray(event_value, dtype=np.float64)
    gained = goal.event_rewards(code, value)
    counted = event_decision >= 0
    if late is not None:
        counted &= ~np.asarray(late, dtype=bool)
    # np.add.at adds in event order: a decision's reward is the same sum however
    # many decisions are closed together
    np.add.at(reward, event_decision[counted], gained[counted])
    outcomes = outcome_counts(np.where(counted, event_decision, -1), code, value, len(reward))
    return Rewards(reward, outcomes, gained, counted)


def join_rewards(
    goal: Goal,
    decision_customer: np.ndarray,
    decision_time: np.ndarray,
    decision_action: np.ndarray,
    event_customer: np.ndarray,
    event_time: np.ndarray,
    event_decision: np.ndarray,
    event_code: np.ndarray,
    event_value: np.ndarray,
) -> Rewards:
    """Attribute events to decisions (:func:`attribute_events`) and close them
    (:func:`close_rewards`), with send costs from the goal's catalog.

    Parameters
    ----------
    goal
        Its window and attribution rule join, its weights and costs value.
    decision_customer, decision_time, decision_action
        Shape (n_decisions,): customer code, epoch seconds, action index
        (0: no contact).
    event_customer, event_time, event_decision, event_code, event_value
        Shape (n_events,): customer code, epoch seconds, index of the
        decision the event names (-1: none), event code and value.

    Returns
    -------
    Rewards

    Examples
    --------
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "cost": 0.01,
    ...                                        "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> g = parse_goal({"weights": {"purchase": "value"}}, cat)
    >>> buy = EVENT_CODES[EventType.PURCHASE]
    >>> r = join_rewards(g, np.array([0]), np.array([0.0]), np.array([1]),
    ...                  np.array([0, 0]), np.array([60.0, 30 * 86_400.0]), np.array([-1, -1]),
    ...                  np.array([buy, buy]), np.array([20.0, 5.0]))
    >>> r.reward.tolist(), r.counted.tolist()   # the second purchase is out of the window
    ([19.99], [True, False])
    """
    action = np.asarray(decision_action, dtype=np.int64)
    decision, late = attribute_events(
        decision_customer,
        decision_time,
        action != 0,
        event_customer,
        event_time,
        event_decision,
        goal.window_seconds,
        last_touch=goal.last_touch,
    )
    return close_rewards(
        goal, goal.action_cost[action], decision, event_code, event_value, late=late
    )
