"""The logged-decision format: what learning and off-policy evaluation read.

One row per decision: ids, time, logging policy, the allowed actions, the
chosen action and its propensity, the joined reward, the encoded context
(``x.<feature>``), and when available the raw signals (``s.<name>``) and
attributes (``a.<name>``) and, from the simulator, the true expected reward
of every action (``e.<action_id>``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nba.policies.base import LoggedBatch

__all__ = ["LoggedDecisions"]


@dataclass(frozen=True)
class LoggedDecisions:
    """Logged decisions with their metadata.

    Attributes
    ----------
    batch
        Context, allowed mask, chosen action, propensity and reward.
    decision_ids, customer_ids
        Shape (n,) object.
    timestamps
        Shape (n,) epoch seconds of each decision.
    policy
        Shape (n,) object: the logging policy's name (and version).
    expected_reward
        Shape (n, n_actions) ground truth E[reward | context, action] when the
        logs come from the simulator, else ``None``.
    """

    batch: LoggedBatch
    decision_ids: np.ndarray
    customer_ids: np.ndarray
    timestamps: np.ndarray
    policy: np.ndarray
    expected_reward: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.batch)

    def take(self, rows: np.ndarray) -> LoggedDecisions:
        """A subset of the decisions (index or boolean mask)."""
        return LoggedDecisions(
            self.batch.take(rows),
            self.decision_ids[rows],
            self.customer_ids[rows],
            self.timestamps[rows],
            self.policy[rows],
            None if self.expected_reward is None else self.expected_reward[rows],
        )
