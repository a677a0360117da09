"""How customers respond to a contact, and the expected reward of every action.

For customer i contacted with action a = (message m, channel c) the
simulator draws, in order:

- open with ``p_open = open_rate[i, c] * content[i, type(m)] * fatigue factor``;
- given an open: click with ``p_click = click_rate[i] * interest[i, topic(m)] * fit``,
  unsubscribe with ``p_unsub`` (channels that need consent) and complaint
  with ``p_complaint``, both ``base * (1 + over_contact * recent) *
  channel risk * (unsuitable_content if not fit)``;
- given a click: purchase with ``p_buy = conversion[i] * fit * (1 + value(m) / 10)``,
  of value ``Exp(value[i])``;

where ``fit`` is 1 when the message serves the customer's journey stage and
``stage_mismatch`` otherwise. :meth:`ResponseModel.expected_reward` is the
exact expectation of the reward the goal gives these events within the
attribution window (delays included) minus the send cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.events import EVENT_CODES, EventType
from nba.goals import Goal
from nba.simulator.modifiers import Delays, Fatigue
from nba.simulator.population import CONTENT_TYPES, Traits
from nba.simulator.scenario import ScenarioSpec

__all__ = ["ResponseModel", "ResponseProbs"]

_CAP = 0.95


@dataclass(frozen=True)
class ResponseProbs:
    """Response probabilities, each shape (m,) for chosen actions or (m, n_actions)."""

    open: np.ndarray
    click: np.ndarray
    buy: np.ndarray
    unsubscribe: np.ndarray
    complaint: np.ndarray
    value: np.ndarray


class ResponseModel:
    """Response probabilities and ground-truth expected reward for a catalog and goal.

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import parse_scenario
    >>> from nba.simulator.population import Population
    >>> sc = parse_scenario({"segments": [{"name": "a", "share": 1.0}]}, EXAMPLE_DIR)
    >>> pop = Population(sc.spec, sc.catalog, 4, np.random.default_rng(0))
    >>> rm = ResponseModel(sc.spec, sc.catalog, sc.goal)
    >>> er = rm.expected_reward(pop.traits(), Fatigue(4, recovery_days=4.0), np.arange(4),
    ...                         np.zeros(4))
    >>> er.shape, float(er[0, 0])
    ((4, 47), 0.0)
    """

    def __init__(self, spec: ScenarioSpec, catalog: Catalog, goal: Goal) -> None:
        self.spec = spec
        self.catalog = catalog
        self.goal = goal
        self.delays = Delays.from_spec(spec.delays)
        space = catalog.actions
        self.n_actions = len(space)
        self.channel = space.channel_index.copy()
        self.message = space.message_index.copy()
        msgs = catalog.messages
        topic_pos = {t: k for k, t in enumerate(catalog.topics)}
        msg_topic = np.array([topic_pos[m.topics[0]] if m.topics else -1 for m in msgs])
        msg_type = np.array([CONTENT_TYPES.index(m.content_type) for m in msgs])
        msg_value = np.array([m.value for m in msgs])
        contact = self.message >= 0
        mi = np.where(contact, self.message, 0)
        self.is_contact = contact
        self.topic = np.where(contact, msg_topic[mi], -1)
        self.content_type = np.where(contact, msg_type[mi], 0)
        self.offer = np.where(contact, 1.0 + msg_value[mi] / 10.0, 0.0)
        # (n_stages, n_actions): does the action's message serve the stage?
        self.serves = np.zeros((len(STAGES), self.n_actions), dtype=bool)
        for a in np.flatnonzero(contact):
            for s in msgs[self.message[a]].stages:
                self.serves[STAGES.index(s), a] = True
        needs = np.array([c.requires_consent for c in catalog.channels])
        ci = np.where(contact, self.channel, 0)
        self.can_unsubscribe = contact & needs[ci]
        risk = np.array([spec.risk.channel.get(c, 1.0) for c in catalog.channel_ids])
        self.channel_risk = np.where(contact, risk[ci], 0.0)
        self.cost = goal.action_cost

    def probs(
        self,
        traits: Traits,
        fatigue: Fatigue,
        rows: np.ndarray,
        stage: np.ndarray,
        actions: np.ndarray | None = None,
    ) -> ResponseProbs:
        """Response probabilities of customers ``rows`` (at journey ``stage``).

        Parameters
        ----------
        actions
            Shape (m,): one action per row; ``None`` for every action, in
            which case every array has shape (m, n_actions).
        """
        m = len(rows)
        st = np.asarray(stage, dtype=np.int64)
        if actions is None:
            a = np.arange(self.n_actions)[None, :]
            r = np.arange(m)[:, None]
            serves = self.serves[st]  # (m, A)
        else:
            a = np.asarray(actions, dtype=np.int64)
            r = np.arange(m)
            serves = self.serves[st, a]
        ch = np.maximum(self.channel[a], 0)
        top = np.maximum(self.topic[a], 0)
        contact = self.is_contact[a]
        fit = np.where(serves, 1.0, self.spec.stage_mismatch)
        tired = fatigue.factor(rows, traits.fatigue)[:, None] if actions is None else None
        tired_v = tired if tired is not None else fatigue.factor(rows, traits.fatigue)
        open_p = traits.open_rate[rows][r, ch] * traits.content[rows][r, self.content_type[a]]
        open_p = np.where(contact, np.clip(open_p * tired_v, 0.0, _CAP), 0.0)
        click = traits.click_rate[rows]
        click = click[:, None] if actions is None else click
        click_p = np.clip(click * traits.interest[rows][r, top] * fit, 0.0, _CAP)
        conv = traits.conversion[rows]
        conv = conv[:, None] if actions is None else conv
        buy_p = np.clip(conv * fit * self.offer[a], 0.0, _CAP)
        recent = fatigue.recent[rows]
        recent = recent[:, None] if actions is None else recent
        mult = (1.0 + self.spec.risk.over_contact * recent) * self.channel_risk[a]
        mult = mult * np.where(serves, 1.0, self.spec.risk.unsuitable_content)
        uns = traits.unsubscribe[rows]
        uns = uns[:, None] if actions is None else uns
        com = traits.complaint[rows]
        com = com[:, None] if actions is None else com
        unsub_p = np.where(self.can_unsubscribe[a], np.clip(uns * mult, 0.0, 0.5), 0.0)
        comp_p = np.where(contact, np.clip(com * mult, 0.0, 0.5), 0.0)
        value = traits.value[rows]
        value = np.broadcast_to(value[:, None] if actions is None else value, open_p.shape)
        z = np.zeros(open_p.shape)
        return ResponseProbs(
            open=open_p + z,
            click=click_p + z,
            buy=buy_p + z,
            unsubscribe=unsub_p + z,
            complaint=comp_p + z,
            value=value + z,
        )

    def _weight(self, t: EventType) -> tuple[float, float]:
        k = EVENT_CODES[t]
        return float(self.goal.per_value[k]), float(self.goal.constant[k])

    def expected_reward(
        self,
        traits: Traits,
        fatigue: Fatigue,
        rows: np.ndarray,
        stage: np.ndarray,
    ) -> np.ndarray:
        """E[reward | customer, action] for every action: shape (len(rows), n_actions).

        The reward counts the events caused by the contact (they name its
        decision) within the goal's attribution window, minus its send
        cost; no-contact is 0.
        """
        p = self.probs(traits, fatigue, rows, stage)
        window = self.goal.window_seconds
        p_follow = self.delays.p_open_within(window)
        p_buy_in = self.delays.p_purchase_within(window)
        w = {t: self._weight(t) for t in EventType}
        opened = w[EventType.OPENED][1] * self.delays.p_open_within(window + 60.0)
        per = (
            opened
            + p.click * w[EventType.CLICKED][1] * p_follow
            + p.click
            * p.buy
            * p_buy_in
            * (w[EventType.PURCHASE][1] + w[EventType.PURCHASE][0] * p.value)
            + p.unsubscribe * w[EventType.UNSUBSCRIBED][1] * p_follow
            + p.complaint * w[EventType.COMPLAINT][1] * p_follow
        )
        sent = w[EventType.SENT][1] + w[EventType.DELIVERED][1]
        return np.where(self.is_contact, p.open * per + sent - self.cost, 0.0)
