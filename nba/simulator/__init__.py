"""Synthetic customer journeys with known ground truth, through nba's own pipeline."""

from nba.simulator.checks import SimulatorCheckError, check_simulator
from nba.simulator.core import ROUNDS, Opportunity, Simulator, StepOutcome
from nba.simulator.modifiers import Delays, Drift, Fatigue
from nba.simulator.oracle import OraclePolicy
from nba.simulator.population import Population, Traits
from nba.simulator.response import ResponseModel, ResponseProbs
from nba.simulator.run import RunResult, join_rewards, run_policy, simulate_logs
from nba.simulator.scenario import (
    Scenario,
    ScenarioError,
    ScenarioSpec,
    SegmentSpec,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "ROUNDS",
    "Delays",
    "Drift",
    "Fatigue",
    "Opportunity",
    "OraclePolicy",
    "Population",
    "ResponseModel",
    "ResponseProbs",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "SegmentSpec",
    "Simulator",
    "SimulatorCheckError",
    "StepOutcome",
    "Traits",
    "check_simulator",
    "join_rewards",
    "load_scenario",
    "parse_scenario",
    "run_policy",
    "simulate_logs",
]
