"""Training policies from logged decisions.

Every learning policy takes a :class:`~nba.policies.base.LoggedBatch` with
the logged propensities, and uses them its own way: Vowpal Wabbit's
``cb_adf`` learns from ``action:cost:probability`` labels with cost =
−reward (importance weighting inside VW's reductions); the other learners
say in their docstrings how they use them. :func:`train_from_logs` is the
one entry point, and measures throughput.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nba.logs import LoggedDecisions
from nba.policies.base import Policy

__all__ = ["TrainingResult", "train_from_logs"]


@dataclass(frozen=True)
class TrainingResult:
    """A trained policy and how fast it learned."""

    policy: Policy
    n: int
    seconds: float

    @property
    def examples_per_second(self) -> float:
        """Logged decisions learned per second."""
        return self.n / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the policy object)."""
        return {
            "policy": self.policy.spec,
            "n": self.n,
            "seconds": self.seconds,
            "examples_per_second": self.examples_per_second,
        }


def train_from_logs(
    policy: Policy, logs: LoggedDecisions, *, incremental: bool = False
) -> TrainingResult:
    """Fit ``policy`` on the logged decisions (``partial_fit`` when ``incremental``).

    Parameters
    ----------
    policy
        Any nba policy (non-learning ones are returned unchanged).
    logs
        The decisions, with propensities and rewards.
    incremental
        Continue from the policy's current state instead of starting over.

    Returns
    -------
    TrainingResult

    Raises
    ------
    PolicyError
        If the logs do not fit the policy (shapes, values).

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> from nba.policies.rules import RulePolicy
    >>> train_from_logs(RulePolicy(), synthetic_logs(10)).n
    10
    """
    t0 = time.perf_counter()
    fitted = policy.partial_fit(logs.batch) if incremental else policy.fit(logs.batch)
    return TrainingResult(fitted, len(logs), time.perf_counter() - t0)
