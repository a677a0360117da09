"""``check_simulator``: the simulator's API contract and same-seed determinism on a scenario."""

from __future__ import annotations

import numpy as np

from nba.exceptions import NBAError
from nba.features.context import Context
from nba.policies.base import Policy, uniform
from nba.simulator.core import Simulator
from nba.simulator.scenario import Scenario

__all__ = ["SimulatorCheckError", "check_simulator"]


class SimulatorCheckError(NBAError):
    """A scenario makes the simulator break its contract."""


class _Uniform(Policy):
    name = "uniform"
    kind = "random"

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        return uniform(allowed)


def _trace(scenario: Scenario, n: int, days: int, seed: int) -> tuple[dict[str, np.ndarray], ...]:
    sim = Simulator(scenario, n, days=days)
    states = sim.reset(seed=seed)
    if len(states) != n:
        raise SimulatorCheckError(f"reset(): expected a state table of {n} customers")
    decider = sim.make_decider(_Uniform())
    n_actions = len(scenario.catalog.actions)
    while not sim.done:
        opp = sim.observe()
        if len(opp.rows) and (opp.rows.min() < 0 or opp.rows.max() >= n):
            raise SimulatorCheckError("observe(): opportunity rows out of range")
        if not len(opp.rows):
            continue
        batch = decider.decide(sim.states, opp.now, opp.rows, budget_left=opp.budget_left)
        out = sim.step(batch)
        m = len(opp.rows)
        if out.expected_reward.shape != (m, n_actions):
            raise SimulatorCheckError(
                f"step(): expected_reward of shape {(m, n_actions)}, got "
                f"{out.expected_reward.shape}"
            )
        if not np.isfinite(out.expected_reward).all() or (out.expected_reward[:, 0] != 0).any():
            raise SimulatorCheckError("step(): expected rewards must be finite, 0 for no-contact")
        if out.reward.shape != (m,) or not np.isfinite(out.reward).all():
            raise SimulatorCheckError("step(): realised rewards must be finite, one per decision")
    sim.flush()
    ev = sim.event_arrays()
    if (np.diff(ev["ts"]) < 0).any():
        raise SimulatorCheckError("events were folded out of time order")
    return ev, sim.decision_arrays()


def check_simulator(
    scenario: Scenario, *, customers: int = 300, days: int = 3, seed: int = 0
) -> None:
    """Run a scenario twice with a uniform policy and check the contract.

    Checks: ``reset`` gives a table of ``customers``; opportunities are valid
    rows; ``step`` returns finite ground truth of shape (m, n_actions), 0 for
    no-contact; events are folded in time order; the same seed gives the same
    events and decisions, another seed different ones.

    Raises
    ------
    SimulatorCheckError
        Naming the broken part of the contract.

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import load_scenario
    >>> check_simulator(load_scenario(EXAMPLE_DIR / "scenario.yaml"), customers=100, days=2)
    """
    ev1, d1 = _trace(scenario, customers, days, seed)
    ev2, d2 = _trace(scenario, customers, days, seed)
    for a, b, what in ((ev1, ev2, "events"), (d1, d2, "decisions")):
        for k in a:
            if not np.array_equal(a[k], b[k]):
                raise SimulatorCheckError(
                    f"scenario `{scenario.name}`: same seed, different {what} (`{k}`)"
                )
    ev3, _ = _trace(scenario, customers, days, seed + 1)
    if len(ev3["ts"]) == len(ev1["ts"]) and np.array_equal(ev3["ts"], ev1["ts"]):
        raise SimulatorCheckError(f"scenario `{scenario.name}`: another seed, the same events")
