"""What-if for rules: the value of (policy + proposed guardrails) on logged decisions.

Before a marketer activates new guardrails, :func:`what_if` re-runs them on
the raw signals logged with each decision, restricts the target policy to
the actions both the logged and the proposed guardrails allow, and
estimates the restricted policy's value off-policy, next to the same policy
under the guardrails that were in force when the logs were written.

It is a first-order estimate: the logged signals (contact counts, days since
the last message, ...) are those produced by the logging policy, so the
knock-on effect of the new rules on later signals is not modelled, and
daily channel budgets are not re-allocated (they depend on the order of a
whole day's decisions). Actions the proposed rules would allow but the old
ones did not were never tried in the logs and cannot be valued; they are
kept out. Logs without raw signals (external logs) cannot be used — the
function says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nba.evaluation.compare import evaluate_logging_policy
from nba.evaluation.estimators import (
    ESTIMATORS,
    PolicyEvaluation,
    cross_fit_reward_model,
    evaluate_target,
)
from nba.guardrails.evaluate import Guardrails
from nba.logs import LogError, LoggedDecisions
from nba.policies.base import Policy

__all__ = ["WhatIf", "what_if", "restrict_allowed"]


@dataclass(frozen=True)
class WhatIf:
    """The policy's value with the proposed guardrails, and without them."""

    proposed: PolicyEvaluation
    current: PolicyEvaluation
    logging: PolicyEvaluation
    removed_share: float
    rows_changed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "proposed": self.proposed.to_dict(),
            "current": self.current.to_dict(),
            "logging": self.logging.to_dict(),
            "removed_share": self.removed_share,
            "rows_changed": self.rows_changed,
        }


def restrict_allowed(logs: LoggedDecisions, guardrails: Guardrails) -> np.ndarray:
    """The logged allowed mask intersected with what ``guardrails`` allow, (n, n_actions).

    No-contact stays allowed in every row.

    Raises
    ------
    LogError
        If the logs carry no raw signals, or their actions differ from the
        guardrails' catalog.
    """
    sig = logs.batch.context.signals
    if sig is None:
        raise LogError(
            "what-if for guardrails needs the raw signals (`s.*` columns) logged with each "
            "decision; these logs have none (another tool's logs, or exported without "
            "signals), so proposed guardrails cannot be checked against them"
        )
    ids = guardrails.catalog.actions.ids
    if tuple(ids) != tuple(logs.actions.ids):
        raise LogError(
            "what-if: the logs' actions differ from the guardrails' catalog "
            f"(logs: {len(logs.actions.ids)} actions, catalog: {len(ids)}); use the catalog "
            "the logs were written with"
        )
    verdict = guardrails.evaluate(sig)
    allowed = logs.batch.allowed & verdict.allowed
    allowed[:, 0] = True
    return allowed


def what_if(
    logs: LoggedDecisions,
    policy: Policy,
    guardrails: Guardrails,
    *,
    name: str | None = None,
    reward_model: Any = "ridge",
    estimators: tuple[str, ...] = ESTIMATORS,
    random_state: int = 0,
) -> WhatIf:
    """Estimate (policy + proposed guardrails) on the logs.

    Parameters
    ----------
    logs
        Logged decisions with raw signals.
    policy
        The target policy (e.g. the rule baseline, or a trained policy).
    guardrails
        The proposed guardrails, on the catalog the logs were written with.
    name
        Report name (default: the policy's spec).
    reward_model, estimators, random_state
        As for :func:`~nba.evaluation.compare.evaluate_policies`.

    Returns
    -------
    WhatIf
        ``proposed`` (restricted policy), ``current`` (same policy, logged
        guardrails), ``logging``, the share of allowed (row, action) pairs
        the proposal removes, and the number of rows whose allowed set changes.

    Raises
    ------
    LogError
        Without raw signals in the logs.
    """
    allowed = restrict_allowed(logs, guardrails)
    b = logs.batch
    q_hat = cross_fit_reward_model(b, model=reward_model, random_state=random_state)
    label = name or policy.spec
    kw: dict[str, Any] = {"q_hat": q_hat, "estimators": estimators, "random_state": random_state}
    proposed = evaluate_target(
        b, policy.predict_proba(b.context, allowed), name=f"{label} + proposed guardrails", **kw
    )
    current = evaluate_target(b, policy.predict_proba(b.context, b.allowed), name=label, **kw)
    before = b.allowed.sum()
    removed = float((before - allowed.sum()) / before) if before else 0.0
    changed = int((allowed != b.allowed).any(axis=1).sum())
    return WhatIf(proposed, current, evaluate_logging_policy(logs, **kw), removed, changed)
