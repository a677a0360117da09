"""The oracle: the best expected reward among the allowed actions (the ceiling)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.base import Policy, check_allowed, onehot_argmax

if TYPE_CHECKING:
    from nba.simulator.core import Simulator

__all__ = ["OraclePolicy"]


class OraclePolicy(Policy):
    """Picks the action of highest true expected reward among those allowed.

    It reads the simulator's ground truth, so it is built by the experiment
    runner for one simulator, not from a policy spec. It sees the same
    guardrails as every other policy (the ``allowed`` mask).

    Parameters
    ----------
    simulator
        The simulator whose ground truth it reads.

    Examples
    --------
    >>> OraclePolicy(simulator=None).kind
    'oracle'
    """

    name = "oracle"
    kind = "oracle"

    def __init__(self, *, simulator: Simulator | None = None) -> None:
        self.simulator = simulator

    @property
    def spec(self) -> str:
        """Always ``oracle`` (the simulator is not a hyperparameter)."""
        return "oracle"

    def __repr__(self) -> str:
        return "OraclePolicy()"

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """One-hot on the best allowed action by expected reward."""
        allowed = check_allowed(allowed, len(context), context.n_actions)
        if self.simulator is None or context.signals is None:
            raise PolicyError("the oracle needs its simulator and nba's own signals")
        sim = self.simulator
        rows = sim.rows_of(context.signals.customer_ids)
        er = sim.expected_reward(rows, context.signals["stage"].astype(np.int64))
        return onehot_argmax(er, allowed)

    def save(self, path: str | Path) -> Path:
        """The oracle cannot be saved: it is not a policy one can deploy."""
        raise PolicyError("the oracle reads the simulator's ground truth and cannot be saved")
