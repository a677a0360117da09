"""The simulator: customers, days, opportunities, responses — through the real pipeline.

The simulator owns one :class:`~nba.features.state.CustomerStates` table
for every customer and folds the events it emits into it (the same code the
service uses), so policies see exactly the signals production would compute.
A caller loops::

    sim.reset(seed=0)
    decider = sim.make_decider(policy)
    while not sim.done:
        opp = sim.observe()                       # the next decision round
        batch = decider.decide(sim.states, opp.now, opp.rows, budget_left=opp.budget_left)
        sim.step(batch)                           # sends, responses (delayed events)

:func:`~nba.simulator.run.run_policy` does this with delayed learning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from nba.clock import DAY, HOUR
from nba.events import EVENT_CODES, Event, EventType
from nba.features.state import CustomerStates
from nba.goals import join_rewards
from nba.guardrails import Guardrails
from nba.pipeline import Decider, DecisionBatch
from nba.policies.base import Policy
from nba.simulator.modifiers import Drift, Fatigue
from nba.simulator.population import Population, Traits
from nba.simulator.response import ResponseModel
from nba.simulator.scenario import Scenario

__all__ = ["Simulator", "Opportunity", "StepOutcome", "ROUNDS"]

#: Decision rounds of a day: (hour UTC, which triggers).
ROUNDS: tuple[tuple[float, str], ...] = ((10.0, "scheduled"), (16.0, "visit"))
_C = EVENT_CODES
_SENT, _OPEN, _CLICK = _C[EventType.SENT], _C[EventType.OPENED], _C[EventType.CLICKED]
_BUY, _PV, _CART = _C[EventType.PURCHASE], _C[EventType.PAGE_VIEW], _C[EventType.CART_ADD]
_UNSUB, _COMPLAINT = _C[EventType.UNSUBSCRIBED], _C[EventType.COMPLAINT]
_TYPES = {v: k for k, v in EVENT_CODES.items()}
_FOLLOW = 60.0


@dataclass(frozen=True)
class Opportunity:
    """A decision round: who may be contacted now, and the budgets left today."""

    day: int
    now: datetime
    rows: np.ndarray
    budget_left: dict[str, float]
    round: int = 0
    end_of_day: bool = True


@dataclass(frozen=True)
class StepOutcome:
    """What the simulator did with a batch of decisions.

    Attributes
    ----------
    rows, action
        Shape (m,): the customers and their chosen actions.
    expected_reward
        Shape (m, n_actions): ground truth of every action at decision time.
    reward
        Shape (m,): realised reward of the decision (events it caused
        within the attribution window, minus its send cost).
    opened, clicked, purchased, unsubscribed, complained
        Shape (m,) bool.
    revenue
        Shape (m,): purchase value (0 without purchase).
    decision_index
        Index of the first decision in the simulator's log.
    """

    rows: np.ndarray
    action: np.ndarray
    expected_reward: np.ndarray
    reward: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    purchased: np.ndarray
    unsubscribed: np.ndarray
    complained: np.ndarray
    revenue: np.ndarray
    decision_index: int


class _EventLog:
    """Events as array chunks (customer row, time, code, channel, message, value, decision)."""

    FIELDS = ("row", "ts", "code", "channel", "message", "value", "decision")

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(self, **cols: np.ndarray) -> None:
        if len(cols["row"]):
            self.chunks.append(cols)

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.chunks:
            return {
                k: np.zeros(0, dtype=float if k in ("ts", "value") else np.int64)
                for k in self.FIELDS
            }
        out = {k: np.concatenate([c[k] for c in self.chunks]) for k in self.FIELDS}
        self.chunks = [out]
        return out


class Simulator:
    """A seeded, vectorised customer-journey simulator with known ground truth.

    Parameters
    ----------
    scenario
        The scenario (population, responses, catalog, guardrails, goal).
    n_customers
        Population size.
    days
        Simulated days (``done`` after the last round of the last day).

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import load_scenario
    >>> from nba.policies.rules import RulePolicy
    >>> sim = Simulator(load_scenario(EXAMPLE_DIR / "scenario.yaml"), 200, days=2)
    >>> _ = sim.reset(seed=0)
    >>> decider = sim.make_decider(RulePolicy(rules=str(sim.scenario.rules_path)))
    >>> while not sim.done:
    ...     opp = sim.observe()
    ...     out = sim.step(decider.decide(sim.states, opp.now, opp.rows,
    ...                                   budget_left=opp.budget_left))
    >>> sim.n_decisions > 0
    True
    """

    def __init__(self, scenario: Scenario, n_customers: int, *, days: int = 60) -> None:
        self.scenario = scenario
        self.catalog = scenario.catalog
        self.goal = scenario.goal
        self.n = int(n_customers)
        self.days = int(days)
        self.response = ResponseModel(scenario.spec, scenario.catalog, scenario.goal)
        self.drift = Drift(scenario.spec.drift)
        self.guardrails = Guardrails(scenario.guardrails, scenario.catalog)
        self.start = scenario.spec.start
        self._seeded = False

    # -- lifecycle -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> CustomerStates:
        """Draw a new population and start at day 0; returns the state table."""
        ss = np.random.SeedSequence(seed)
        pop_ss, org_ss, opp_ss, resp_ss, dec_ss = ss.spawn(5)
        self.seed = seed
        self._decider_seed = dec_ss
        self.rng_org = np.random.default_rng(org_ss)
        self.rng_opp = np.random.default_rng(opp_ss)
        self.rng_resp = np.random.default_rng(resp_ss)
        self.population = Population(
            self.scenario.spec, self.catalog, self.n, np.random.default_rng(pop_ss)
        )
        signup = np.full(self.n, (self.start - timedelta(days=30)).timestamp())
        self.states = CustomerStates(
            self.catalog,
            list(self.population.customer_ids),
            consent=self.population.consent.copy(),
            attributes=self.population.attributes,
            signup=signup,
        )
        self.fatigue = Fatigue(self.n, recovery_days=self.scenario.spec.fatigue_recovery_days)
        self._day = -1
        self._round = len(ROUNDS) - 1
        self._segments = self.scenario.spec.segments
        self.traits: Traits = self.population.traits()
        self._clock = self.start.timestamp()
        self.pending = _EventLog()
        self.log = _EventLog()  # events folded into the state, in time order
        self._dec_rows: list[np.ndarray] = []
        self._dec_ts: list[np.ndarray] = []
        self._dec_action: list[np.ndarray] = []
        self._dec_ids: list[list[str]] = []
        self.n_decisions = 0
        self._visit_time = np.full(self.n, np.nan)
        self._cart_yesterday = np.zeros(self.n, dtype=bool)
        self._cart_today = np.zeros(self.n, dtype=bool)
        self._budget: dict[str, float] = {}
        self._seeded = True
        return self.states

    def make_decider(self, policy: Policy) -> Decider:
        """A :class:`~nba.pipeline.Decider` for this run (seeded from the run's seed)."""
        return Decider(
            self.catalog,
            self.guardrails,
            policy,
            random_state=np.random.default_rng(self._decider_seed),
        )

    @property
    def done(self) -> bool:
        """Whether every round of every day has been observed."""
        return self._day >= self.days - 1 and self._round >= len(ROUNDS) - 1

    @property
    def day(self) -> int:
        """The current day (0-based; -1 before the first round)."""
        return self._day

    @property
    def now(self) -> datetime:
        """The simulation clock."""
        return datetime.fromtimestamp(self._clock, self.start.tzinfo)

    # -- observing -------------------------------------------------------------------
    def observe(self) -> Opportunity:
        """Advance to the next decision round and return its opportunities.

        Events whose time has come are folded into :attr:`states` first.
        """
        if not self._seeded:
            self.reset()
        if self.done:
            raise RuntimeError("the simulation is over; call reset()")
        self._round += 1
        if self._round >= len(ROUNDS):
            self._round = 0
            self._new_day()
        hour, trigger = ROUNDS[self._round]
        t = self.start.timestamp() + self._day * DAY + hour * HOUR
        self.fatigue.rest((t - self._clock) / DAY)
        self._clock = t
        self._fold_until(t)
        opp = self.scenario.spec.opportunities
        if trigger == "scheduled":
            want = self.rng_opp.random(self.n) < opp.scheduled_rate
            if opp.cart_trigger:
                want |= self._cart_yesterday
        else:
            vt = self._visit_time - (self.start.timestamp() + self._day * DAY)
            want = (vt < hour * HOUR) if opp.visit_trigger else np.zeros(self.n, dtype=bool)
            want &= ~self._chosen_today
        rows = np.flatnonzero(want)
        self._chosen_today[rows] = True
        return Opportunity(
            self._day,
            self.now,
            rows,
            dict(self._budget),
            self._round,
            self._round == len(ROUNDS) - 1,
        )

    def _new_day(self) -> None:
        self._day += 1
        segs = self.drift.segments_at(self._day, self.scenario.spec.segments)
        if segs != self._segments:
            self._segments = segs
            self.traits = self.population.traits(segs)
        self._budget = {b.channel: float(b.max_per_day) for b in self.scenario.guardrails.budgets}
        self._chosen_today = np.zeros(self.n, dtype=bool)
        self._cart_yesterday = self._cart_today
        self._organic_day()

    def _organic_day(self) -> None:
        """Site visits, page views, cart adds and organic purchases of the day."""
        rng, tr = self.rng_org, self.traits
        day0 = self.start.timestamp() + self._day * DAY
        u = rng.random((self.n, 4))
        visit = u[:, 0] < tr.visit_rate
        vt = day0 + (8.0 + 14.0 * rng.random(self.n)) * HOUR
        self._visit_time = np.where(visit, vt, np.nan)
        rows = np.flatnonzero(visit)
        pages = 1 + rng.poisson(2.0, rows.size)
        pv_rows = np.repeat(rows, pages)
        offset = np.concatenate([np.arange(k) for k in pages]) * 60.0 if rows.size else np.zeros(0)
        pv_ts = vt[pv_rows] + offset
        cart = visit & (u[:, 1] < tr.cart_rate)
        self._cart_today = cart
        buy_p = tr.organic_purchase * np.where(cart, 2.0, 1.0)
        buy = visit & (u[:, 2] < buy_p)
        c_rows, b_rows = np.flatnonzero(cart), np.flatnonzero(buy)
        values = rng.exponential(1.0, self.n)[b_rows] * tr.value[b_rows]
        self._queue(pv_rows, pv_ts, _PV)
        self._queue(c_rows, vt[c_rows] + 300.0, _CART)
        self._queue(b_rows, vt[b_rows] + 600.0, _BUY, value=values)

    def _queue(
        self,
        rows: np.ndarray,
        ts: np.ndarray,
        code: int,
        *,
        channel: np.ndarray | None = None,
        message: np.ndarray | None = None,
        value: np.ndarray | None = None,
        decision: np.ndarray | None = None,
    ) -> None:
        k = len(rows)
        none = np.full(k, -1, dtype=np.int64)
        self.pending.add(
            row=np.asarray(rows, dtype=np.int64),
            ts=np.asarray(ts, dtype=float),
            code=np.full(k, code, dtype=np.int64),
            channel=none if channel is None else np.asarray(channel, dtype=np.int64),
            message=none if message is None else np.asarray(message, dtype=np.int64),
            value=np.zeros(k) if value is None else np.asarray(value, dtype=float),
            decision=none if decision is None else np.asarray(decision, dtype=np.int64),
        )

    def _fold_until(self, t: float) -> None:
        """Fold pending events with time <= t into the state, in time order."""
        ev = self.pending.arrays()
        due = ev["ts"] <= t
        if not due.any():
            return
        order = np.flatnonzero(due)[np.argsort(ev["ts"][due], kind="stable")]
        now = {k: v[order] for k, v in ev.items()}
        self.pending.chunks = [{k: v[~due] for k, v in ev.items()}]
        self.states.apply_arrays(
            now["row"], now["ts"], now["code"], now["channel"], now["message"], now["value"]
        )
        self.log.add(**now)

    def flush(self) -> None:
        """Fold every pending event (the responses still to come) into the state."""
        self._fold_until(np.inf)

    # -- ground truth ------------------------------------------------------------------
    def expected_reward(self, rows: np.ndarray, stage: np.ndarray) -> np.ndarray:
        """E[reward | customer state, action] now: shape (len(rows), n_actions).

        Parameters
        ----------
        rows
            Customer rows.
        stage
            Their journey stage (index into ``STAGES``), as the signals give it.
        """
        return self.response.expected_reward(self.traits, self.fatigue, np.asarray(rows), stage)

    def rows_of(self, customer_ids: np.ndarray) -> np.ndarray:
        """Rows of customer ids (the simulator's ids are ``c`` + row number)."""
        return np.array([int(str(c)[1:]) for c in customer_ids], dtype=np.int64)

    # -- acting ------------------------------------------------------------------------
    def step(self, batch: DecisionBatch) -> StepOutcome:
        """Carry out a batch of decisions: sends now, responses as delayed events."""
        sig = batch.signals
        rows = self.rows_of(sig.customer_ids)
        action = np.asarray(batch.action, dtype=np.int64)
        m = len(rows)
        stage = sig["stage"].astype(np.int64)
        expected = self.expected_reward(rows, stage)
        t = self._clock
        first = self.n_decisions
        dec = first + np.arange(m)
        self._dec_rows.append(rows)
        self._dec_ts.append(np.full(m, t))
        self._dec_action.append(action)
        self._dec_ids.append(batch.decision_ids)
        self.n_decisions += m

        out = {
            k: np.zeros(m, dtype=bool)
            for k in ("opened", "clicked", "purchased", "unsubscribed", "complained")
        }
        revenue = np.zeros(m)
        reward = np.zeros(m)
        c = np.flatnonzero(action != 0)
        if c.size:
            a, r = action[c], rows[c]
            ch, msg = self.response.channel[a], self.response.message[a]
            for b in self.scenario.guardrails.budgets:
                j = self.catalog.channel_ids.index(b.channel)
                self._budget[b.channel] = self._budget.get(b.channel, 0.0) - float((ch == j).sum())
            p = self.response.probs(self.traits, self.fatigue, r, stage[c], a)
            self.states.record_sends(r, ch, msg, self.now)
            self.log.add(
                row=r,
                ts=np.full(c.size, t),
                code=np.full(c.size, _SENT, dtype=np.int64),
                channel=ch,
                message=msg,
                value=np.zeros(c.size),
                decision=dec[c],
            )
            self.fatigue.add(r)
            rng = self.rng_resp
            u = rng.random((c.size, 5))
            d_open = self.response.delays.sample_open(rng, c.size)
            d_buy = self.response.delays.sample_purchase(rng, c.size)
            val = rng.exponential(1.0, c.size) * p.value
            opened = u[:, 0] < p.open
            clicked = opened & (u[:, 1] < p.click)
            bought = clicked & (u[:, 2] < p.buy)
            unsub = opened & (u[:, 3] < p.unsubscribe)
            comp = opened & (u[:, 4] < p.complaint)
            t_open = t + d_open
            t_follow = t_open + _FOLLOW
            t_buy = t_follow + d_buy
            # the caused events, the send first, in the order a decision's reward adds them
            caused = [(np.ones(c.size, dtype=bool), _SENT, np.full(c.size, t), None)]
            for mask, code, ts, v in (
                (opened, _OPEN, t_open, None),
                (clicked, _CLICK, t_follow, None),
                (clicked, _PV, t_follow, None),
                (bought, _BUY, t_buy, val),
                (unsub, _UNSUB, t_follow, None),
                (comp, _COMPLAINT, t_follow, None),
            ):
                k = np.flatnonzero(mask)
                vals = np.zeros(k.size) if v is None else v[k]
                per_ch = code not in (_PV, _BUY)
                self._queue(
                    r[k],
                    ts[k],
                    code,
                    channel=ch[k] if per_ch or code == _BUY else None,
                    message=msg[k] if code != _PV else None,
                    value=vals,
                    decision=dec[c][k],
                )
                caused.append((mask, code, ts, v))
            ev = np.concatenate([np.flatnonzero(m) for m, *_ in caused])
            closed = join_rewards(
                self.goal,
                r,
                np.full(c.size, t),
                a,
                r[ev],
                np.concatenate([ts[m] for m, _, ts, _ in caused]),
                ev,
                np.concatenate([np.full(m.sum(), code) for m, code, *_ in caused]),
                np.concatenate([np.zeros(m.sum()) if v is None else v[m] for m, _, _, v in caused]),
            )
            reward[c] = closed.reward
            revenue[c] = closed.outcomes["revenue"]
            for name, arr in (
                ("opened", opened),
                ("clicked", clicked),
                ("purchased", closed.outcomes["purchase"] > 0),
                ("unsubscribed", unsub),
                ("complained", comp),
            ):
                out[name][c] = arr
        return StepOutcome(
            rows=rows,
            action=action,
            expected_reward=expected,
            reward=reward,
            revenue=revenue,
            decision_index=first,
            **out,
        )

    # -- export ------------------------------------------------------------------------
    def decision_arrays(self) -> dict[str, np.ndarray]:
        """The decision log: ``row``, ``ts``, ``action`` (shape (n_decisions,) each)."""
        if not self._dec_rows:
            z = np.zeros(0, dtype=np.int64)
            return {"row": z, "ts": np.zeros(0), "action": z}
        return {
            "row": np.concatenate(self._dec_rows),
            "ts": np.concatenate(self._dec_ts),
            "action": np.concatenate(self._dec_action),
        }

    def decision_ids(self) -> list[str]:
        """Every decision id, in log order."""
        return [d for chunk in self._dec_ids for d in chunk]

    def event_arrays(self) -> dict[str, np.ndarray]:
        """Every event folded into the state so far, in time order, as arrays."""
        return self.log.arrays()

    def events(self) -> list[Event]:
        """Every event folded into the state so far, as :class:`~nba.events.Event` s."""
        ev = self.event_arrays()
        ids = self.decision_ids()
        chans, msgs = self.catalog.channel_ids, self.catalog.message_ids
        cust = self.population.customer_ids
        tz = self.start.tzinfo
        out = []
        for k in range(len(ev["row"])):
            ch, mi, d = int(ev["channel"][k]), int(ev["message"][k]), int(ev["decision"][k])
            code = int(ev["code"][k])
            out.append(
                Event(
                    customer_id=str(cust[ev["row"][k]]),
                    type=_TYPES[code],
                    timestamp=datetime.fromtimestamp(float(ev["ts"][k]), tz),
                    channel=chans[ch] if ch >= 0 else None,
                    message_id=msgs[mi] if mi >= 0 else None,
                    value=float(ev["value"][k]),
                    decision_id=ids[d] if d >= 0 else None,
                    event_id=f"sim-{self.seed}-{k}",
                )
            )
        return out
