"""Running one policy through a simulator, with delayed learning, metrics and logs.

Learning is delayed as in production: a decision is learned from
(``partial_fit``) only once its attribution window has closed, with the
reward the goal's join gives it (:func:`nba.goals.attribute_events`: events
naming the decision, and under ``attribution: last_touch`` the others by last
touch within the window, minus the send cost).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nba.evaluation.logs import LoggedDecisions
from nba.features.context import Context
from nba.features.signals import Signals
from nba.goals import attribute_events, outcome_counts
from nba.guardrails import Guardrails
from nba.pipeline import DecisionBatch
from nba.policies.base import LoggedBatch, Policy
from nba.simulator.core import Simulator, StepOutcome
from nba.simulator.scenario import Scenario

__all__ = ["RunResult", "run_policy", "simulate_logs", "join_rewards", "concat_signals"]

DAILY_METRICS = (
    "reward_per_customer",
    "daily_reward_per_customer",
    "expected_reward_per_customer",
    "regret_per_customer",
    "contacts_per_customer",
    "conversions_per_1000",
    "revenue_per_customer",
    "unsubscribe_rate",
    "complaint_rate",
    "decisions",
)


@dataclass
class RunResult:
    """What one policy did in one simulated run.

    ``daily`` holds one dict of :data:`DAILY_METRICS` per day (cumulative
    per-customer figures unless named ``daily_``), plus the policy's own
    :meth:`~nba.policies.base.Policy.diagnostics` as ``policy.<name>``; ``by_channel`` and
    ``by_message`` are rows of counts for the CSV breakdowns.
    """

    policy_name: str
    spec: str
    kind: str
    seed: int | None
    n_customers: int
    days: int
    daily: list[dict[str, float]] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    contacts_per_customer: dict[str, float] = field(default_factory=dict)
    by_channel: list[dict[str, Any]] = field(default_factory=list)
    by_message: list[dict[str, Any]] = field(default_factory=list)
    guardrail_violations: int = 0
    seconds: float = 0.0
    policy: Policy | None = None
    logs: LoggedDecisions | None = None


def concat_signals(parts: list[Signals]) -> Signals:
    """Stack the signals of several batches (``now`` is the last batch's)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    return replace(
        parts[-1],
        customer_ids=np.concatenate([p.customer_ids for p in parts]),
        values={k: np.concatenate([p.values[k] for p in parts]) for k in first.values},
        consent=np.concatenate([p.consent for p in parts]),
        days_since_message=np.concatenate([p.days_since_message for p in parts]),
        attributes={k: np.concatenate([p.attributes[k] for p in parts]) for k in first.attributes},
    )


def _concat_context(parts: list[Context]) -> Context:
    sigs = [p.signals for p in parts]
    return replace(
        parts[0],
        X=np.concatenate([p.X for p in parts]),
        signals=concat_signals([s for s in sigs if s is not None]) if all(sigs) else None,
    )


def join_rewards(sim: Simulator, first: int, last: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The goal's reward of decisions ``first:last`` and their outcomes, from the events so far.

    The decisions' windows must have closed.

    Returns
    -------
    (reward, outcomes)
        Shape (last - first,), and per :data:`nba.goals.OUTCOMES` name the
        same shape.
    """
    d = sim.decision_arrays()
    ev = sim.event_arrays()
    goal = sim.goal
    window = goal.window_seconds
    w = goal.event_rewards(ev["code"], ev["value"])
    t_lo, t_hi = d["ts"][first], d["ts"][last - 1]
    c0 = int(np.searchsorted(d["ts"], t_lo - window, side="left"))
    c1 = int(np.searchsorted(d["ts"], t_hi + window, side="right"))
    dec = ev["decision"]
    sel = (ev["ts"] >= t_lo) & (ev["ts"] <= t_hi + window)
    sel &= (dec < 0) | ((dec >= c0) & (dec < c1))
    local = np.where(dec[sel] >= 0, dec[sel] - c0, -1)
    act = d["action"][c0:c1]
    att, late = attribute_events(
        d["row"][c0:c1],
        d["ts"][c0:c1],
        act != 0,
        ev["row"][sel],
        ev["ts"][sel],
        local,
        window,
        last_touch=goal.last_touch,
    )
    reward = -goal.action_cost[act]
    ok = (att >= 0) & ~late
    np.add.at(reward, att[ok], w[sel][ok])
    outcomes = outcome_counts(np.where(ok, att, -1), ev["code"][sel], ev["value"][sel], c1 - c0)
    part = slice(first - c0, last - c0)
    return reward[part], {k: v[part] for k, v in outcomes.items()}


@dataclass
class _Chunk:
    ts: float
    first: int
    batch: DecisionBatch


class _Tally:
    """Running totals for metrics and breakdowns."""

    def __init__(self, sim: Simulator) -> None:
        n_ch, n_msg = len(sim.catalog.channel_ids), len(sim.catalog.message_ids)
        self.sim = sim
        self.by_ch = np.zeros((n_ch, 8))
        self.by_msg = np.zeros((n_msg, 8))
        self.reward = self.expected = self.regret = self.revenue = 0.0
        self.contacts = self.conversions = self.decisions = 0
        self.unsub = np.zeros(sim.n, dtype=bool)
        self.complain = np.zeros(sim.n, dtype=bool)

    def add(self, out: StepOutcome, allowed: np.ndarray) -> float:
        m = len(out.rows)
        ar = np.arange(m)
        chosen = out.expected_reward[ar, out.action]
        best = np.where(allowed, out.expected_reward, -np.inf).max(axis=1)
        self.expected += float(chosen.sum())
        self.regret += float((best - chosen).sum())
        day_reward = float(out.reward.sum())
        self.reward += day_reward
        self.revenue += float(out.revenue.sum())
        self.decisions += m
        c = out.action != 0
        self.contacts += int(c.sum())
        self.conversions += int(out.purchased.sum())
        self.unsub[out.rows[out.unsubscribed]] = True
        self.complain[out.rows[out.complained]] = True
        resp = self.sim.response
        cols = np.column_stack(
            [
                c,
                out.opened,
                out.clicked,
                out.purchased,
                out.revenue,
                np.where(c, out.reward, 0.0),
                out.unsubscribed,
                out.complained,
            ]
        ).astype(float)[c]
        np.add.at(self.by_ch, resp.channel[out.action[c]], cols)
        np.add.at(self.by_msg, resp.message[out.action[c]], cols)
        return day_reward

    def snapshot(self, day_reward: float) -> dict[str, float]:
        n = self.sim.n
        return {
            "reward_per_customer": self.reward / n,
            "daily_reward_per_customer": day_reward / n,
            "expected_reward_per_customer": self.expected / n,
            "regret_per_customer": self.regret / n,
            "contacts_per_customer": self.contacts / n,
            "conversions_per_1000": 1000.0 * self.conversions / n,
            "revenue_per_customer": self.revenue / n,
            "unsubscribe_rate": float(self.unsub.mean()),
            "complaint_rate": float(self.complain.mean()),
            "decisions": float(self.decisions),
        }

    def rows(self, table: np.ndarray, key: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
        heads = (
            "contacts",
            "opens",
            "clicks",
            "conversions",
            "revenue",
            "reward",
            "unsubscribes",
            "complaints",
        )
        return [
            {key: name, **{h: float(v) for h, v in zip(heads, table[i], strict=True)}}
            for i, name in enumerate(names)
        ]


def run_policy(
    sim: Simulator,
    policy: Policy,
    *,
    seed: int | None = None,
    learn: bool = True,
    keep_logs: bool = False,
    on_day: Callable[[int, dict[str, float]], None] | None = None,
) -> RunResult:
    """Run ``policy`` for ``sim.days`` days from ``sim.reset(seed=seed)``.

    Parameters
    ----------
    sim
        The simulator (reset here).
    policy
        Decides through the simulator's :class:`~nba.pipeline.Decider`;
        learns with ``partial_fit`` from decisions whose window has closed
        when ``learn``.
    keep_logs
        Keep every decision as :class:`~nba.evaluation.logs.LoggedDecisions`
        (with the ground truth) in ``RunResult.logs``.
    on_day
        Called after each day with (day, metrics).

    Returns
    -------
    RunResult

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import load_scenario
    >>> from nba.policies.rules import RulePolicy
    >>> sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    >>> res = run_policy(Simulator(sc, 300, days=3), RulePolicy(rules=str(sc.rules_path)), seed=1)
    >>> len(res.daily), res.guardrail_violations
    (3, 0)
    """
    started = time.perf_counter()
    sim.reset(seed=seed)
    decider = sim.make_decider(policy)
    checker = Guardrails(sim.scenario.guardrails, sim.catalog)  # a fresh, independent check
    budget_max = {b.channel: b.max_per_day for b in sim.scenario.guardrails.budgets}
    tally = _Tally(sim)
    pending: list[_Chunk] = []
    kept: list[tuple[_Chunk, np.ndarray]] = []
    violations = 0
    day_reward = 0.0
    day_sends: dict[str, int] = {}
    window = sim.goal.window_seconds
    result = RunResult(
        policy_name=policy.name,
        spec=policy.spec,
        kind=policy.kind,
        seed=seed,
        n_customers=sim.n,
        days=sim.days,
        policy=policy,
    )
    while not sim.done:
        opp = sim.observe()
        if opp.round == 0:
            day_sends = dict.fromkeys(budget_max, 0)
        if len(opp.rows):
            batch = decider.decide(sim.states, opp.now, opp.rows, budget_left=opp.budget_left)
            fresh = checker.evaluate(batch.signals, opp.budget_left).allowed
            violations += int((~fresh[np.arange(len(batch)), batch.action]).sum())
            out = sim.step(batch)
            day_reward += tally.add(out, batch.guardrails.allowed)
            ch = sim.response.channel[batch.action]
            for name in budget_max:
                day_sends[name] += int((ch == sim.catalog.channel_ids.index(name)).sum())
            chunk = _Chunk(opp.now.timestamp(), out.decision_index, batch)
            pending.append(chunk)
            if keep_logs:
                kept.append((chunk, out.expected_reward))
        if opp.end_of_day:  # end of the day: budgets, metrics, learning
            violations += sum(max(0, day_sends.get(k, 0) - v) for k, v in budget_max.items())
            snap = tally.snapshot(day_reward)
            snap.update({f"policy.{k}": v for k, v in policy.diagnostics().items()})
            result.daily.append(snap)
            if on_day is not None:
                on_day(opp.day, snap)
            day_reward = 0.0
            if learn:
                cut = opp.now.timestamp() - window
                ready = [c for c in pending if c.ts <= cut]
                pending = [c for c in pending if c.ts > cut]
                if ready:
                    _learn(sim, policy, ready)
    result.guardrail_violations = violations
    result.totals = tally.snapshot(0.0)
    result.contacts_per_customer = {
        c: float(tally.by_ch[j, 0] / sim.n) for j, c in enumerate(sim.catalog.channel_ids)
    }
    result.by_channel = tally.rows(tally.by_ch, "channel", sim.catalog.channel_ids)
    result.by_message = tally.rows(tally.by_msg, "message", sim.catalog.message_ids)
    if keep_logs and kept:
        sim.flush()
        result.logs = _logs(sim, policy, kept)
    result.seconds = time.perf_counter() - started
    return result


def _as_batch(
    sim: Simulator,
    chunks: list[_Chunk],
    reward: np.ndarray,
    outcomes: dict[str, np.ndarray] | None = None,
) -> LoggedBatch:
    return LoggedBatch(
        context=_concat_context([c.batch.context for c in chunks]),
        allowed=np.concatenate([c.batch.guardrails.allowed for c in chunks]),
        action=np.concatenate([c.batch.action for c in chunks]),
        propensity=np.concatenate([c.batch.propensity for c in chunks]),
        reward=reward,
        outcomes=outcomes,
    )


def _learn(sim: Simulator, policy: Policy, chunks: list[_Chunk]) -> None:
    first = chunks[0].first
    last = chunks[-1].first + len(chunks[-1].batch)
    reward, outcomes = join_rewards(sim, first, last)
    policy.partial_fit(_as_batch(sim, chunks, reward, outcomes))


def _logs(sim: Simulator, policy: Policy, kept: list[tuple[_Chunk, np.ndarray]]) -> LoggedDecisions:
    chunks = [c for c, _ in kept]
    first, last = chunks[0].first, chunks[-1].first + len(chunks[-1].batch)
    reward, outcomes = join_rewards(sim, first, last)
    batch = _as_batch(sim, chunks, reward, outcomes)
    n = len(batch)
    return LoggedDecisions(
        batch=batch,
        decision_ids=np.array([d for c in chunks for d in c.batch.decision_ids], dtype=object),
        customer_ids=np.concatenate([c.batch.signals.customer_ids for c in chunks]),
        timestamps=np.concatenate([np.full(len(c.batch), c.ts) for c in chunks]),
        policy=np.full(n, f"{policy.name}@{policy.version}", dtype=object),
        expected_reward=np.concatenate([e for _, e in kept]),
    )


def simulate_logs(
    scenario: Scenario,
    policy: Policy,
    customers: int,
    days: int,
    seed: int | None = 0,
    *,
    learn: bool = True,
) -> LoggedDecisions:
    """Decision logs of ``policy`` on a scenario, with the true expected reward of every action.

    Rewards are the goal's join after every response has arrived. A
    uniformly random policy gives randomized logs for off-policy evaluation.

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import load_scenario
    >>> from nba.policies.base import Policy, uniform
    >>> class Uniform(Policy):
    ...     name = "uniform"
    ...     def predict_proba(self, context, allowed):
    ...         return uniform(allowed)
    >>> logs = simulate_logs(load_scenario(EXAMPLE_DIR / "scenario.yaml"), Uniform(), 200, 2)
    >>> logs.expected_reward.shape == (len(logs), 47)
    True
    """
    sim = Simulator(scenario, customers, days=days)
    res = run_policy(sim, policy, seed=seed, learn=learn, keep_logs=True)
    if res.logs is None:
        raise ValueError("the simulation made no decisions; use more customers or days")
    return res.logs
