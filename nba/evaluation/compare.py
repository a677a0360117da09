"""Side-by-side off-policy comparison of policies on logged decisions.

:func:`evaluate_policies` evaluates every given policy (a trained policy, the
rule baseline, constant policies, ...) and the logging policy itself on the
same logs with one shared cross-fitted reward model; :func:`segment_breakdown`
does the same per segment of a column, refusing segments too small to say
anything (default: fewer than 100 decisions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nba.evaluation.estimators import (
    ESTIMATORS,
    Estimate,
    PolicyEvaluation,
    _normal,
    cross_fit_reward_model,
    evaluate_target,
)
from nba.logs import LogError, LoggedDecisions
from nba.policies.base import Policy

__all__ = [
    "Comparison",
    "SegmentResult",
    "target_probabilities",
    "evaluate_policies",
    "evaluate_logging_policy",
    "segment_breakdown",
    "MIN_SEGMENT_DECISIONS",
]

#: Segments with fewer decisions are refused by :func:`segment_breakdown`.
MIN_SEGMENT_DECISIONS = 100


@dataclass(frozen=True)
class Comparison:
    """The logging policy's value and every target's estimates on the same logs."""

    n: int
    logging_policy_value: Estimate
    policies: tuple[PolicyEvaluation, ...]
    reward_model: str = "ridge"

    def to_dict(self) -> dict[str, Any]:
        """``nba evaluate --json``'s shape (without ``mlflow_run_id``)."""
        return {
            "n": self.n,
            "logging_policy_value": self.logging_policy_value.value,
            "logging_policy_ci95": list(self.logging_policy_value.ci95),
            "reward_model": self.reward_model,
            "policies": [p.to_dict() for p in self.policies],
        }


@dataclass(frozen=True)
class SegmentResult:
    """One segment: its comparison, or why it was refused."""

    segment: str
    n: int
    comparison: Comparison | None = None
    refused: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"segment", "n", ...comparison}`` or ``{"segment", "n", "refused"}``."""
        out: dict[str, Any] = {"segment": self.segment, "n": self.n}
        if self.comparison is not None:
            out.update(self.comparison.to_dict())
            del out["n"]
            out["n"] = self.n
        else:
            out["refused"] = self.refused
        return out


def target_probabilities(policy: Policy, logs: LoggedDecisions) -> np.ndarray:
    """The policy's distribution on every logged context, shape (n, n_actions).

    Raises
    ------
    LogError
        If the policy needs raw signals (``needs_raw_signals``, e.g. the rules)
        and the logs carry none.
    """
    if policy.needs_raw_signals and not logs.has_signals:
        raise LogError(
            f"the `{policy.name}` policy needs the raw signals (`s.*` columns) in the logs; "
            "these logs have none (another tool's logs, or exported without signals), so "
            "it cannot be evaluated on them"
        )
    return policy.predict_proba(logs.batch.context, logs.batch.allowed)


def evaluate_logging_policy(
    logs: LoggedDecisions, *, q_hat: np.ndarray | None = None, **kwargs: Any
) -> PolicyEvaluation:
    """The logging policy evaluated on its own logs.

    With the full logged distribution (``logs.probs``) every estimator runs;
    otherwise only IPS and SNIPS, which then equal the mean logged reward.
    """
    b = logs.batch
    if logs.probs is not None:
        return evaluate_target(b, logs.probs, q_hat=q_hat, name="logging", **kwargs)
    n, k = b.allowed.shape
    # Only pi(a_i | x_i) = p_i matters to IPS/SNIPS; spread the rest to keep rows valid.
    others = b.allowed.copy()
    others[np.arange(n), b.action] = False
    cnt = np.maximum(others.sum(axis=1, keepdims=True), 1)
    probs = others * ((1.0 - b.propensity)[:, None] / cnt)
    probs[np.arange(n), b.action] = b.propensity
    kwargs.pop("estimators", None)
    return evaluate_target(b, probs, name="logging", estimators=("ips", "snips"), **kwargs)


def evaluate_policies(
    logs: LoggedDecisions,
    policies: Mapping[str, Policy] | Sequence[tuple[str, Policy]],
    *,
    reward_model: Any = "ridge",
    n_folds: int = 5,
    estimators: Sequence[str] = ESTIMATORS,
    n_bootstrap: int = 0,
    random_state: int = 0,
    include_logging: bool = True,
    q_hat: np.ndarray | None = None,
) -> Comparison:
    """Estimate every policy's value on the logs, side by side.

    Parameters
    ----------
    logs
        The logged decisions.
    policies
        Name -> policy (already trained where it learns).
    reward_model, n_folds
        The cross-fitted reward model shared by DM and the DR family (see
        :func:`~nba.evaluation.estimators.cross_fit_reward_model`).
    estimators
        Which estimators to report.
    n_bootstrap
        Bootstrap resamples for ``ci95_bootstrap`` (0: normal intervals only).
    random_state
        Seed of folds and bootstrap.
    include_logging
        Also list the logging policy (named ``logging``).
    q_hat
        Precomputed reward predictions, shape (n, n_actions).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> from nba.policies.base import Policy, uniform
    >>> class Uniform(Policy):
    ...     name = "uniform"
    ...     def predict_proba(self, context, allowed):
    ...         return uniform(allowed)
    >>> cmp = evaluate_policies(synthetic_logs(500, seed=0), {"uniform": Uniform()},
    ...                         n_folds=2)
    >>> [p.name for p in cmp.policies]
    ['uniform', 'logging']
    """
    items = list(policies.items()) if isinstance(policies, Mapping) else list(policies)
    b = logs.batch
    need_q = any(e in ("dm", "dr", "dr-os", "switch-dr") for e in estimators)
    if need_q and q_hat is None and len(b) >= 2 * n_folds:
        q_hat = cross_fit_reward_model(
            b, model=reward_model, n_folds=n_folds, random_state=random_state
        )
    if q_hat is None:
        estimators = [e for e in estimators if e in ("ips", "snips")]
    common = {"n_bootstrap": n_bootstrap, "random_state": random_state}
    results = [
        evaluate_target(
            b,
            target_probabilities(policy, logs),
            q_hat=q_hat,
            name=name,
            estimators=estimators,
            logging_probs=logs.probs,
            **common,
        )
        for name, policy in items
    ]
    if include_logging:
        results.append(evaluate_logging_policy(logs, q_hat=q_hat, estimators=estimators, **common))
    return Comparison(
        n=len(b),
        logging_policy_value=_normal(b.reward),
        policies=tuple(results),
        reward_model=reward_model if isinstance(reward_model, str) else type(reward_model).__name__,
    )


def segment_breakdown(
    logs: LoggedDecisions,
    policies: Mapping[str, Policy] | Sequence[tuple[str, Policy]],
    column: str,
    *,
    min_decisions: int = MIN_SEGMENT_DECISIONS,
    reward_model: Any = "ridge",
    n_folds: int = 5,
    estimators: Sequence[str] = ESTIMATORS,
    random_state: int = 0,
) -> list[SegmentResult]:
    """:func:`evaluate_policies` per value of ``column``.

    The reward model is cross-fitted once on all the logs and shared by the
    segments. Segments with fewer than ``min_decisions`` decisions are
    refused (reported with the reason, not estimated).

    Raises
    ------
    LogError
        If the logs have no such column.

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> seg = segment_breakdown(synthetic_logs(300, seed=0), {}, "segment", min_decisions=150)
    >>> [(s.segment, s.refused is None) for s in seg]
    [('high', False), ('low', True)]
    """
    values = np.asarray(logs.column(column)).astype(str)
    q_hat = None
    if (
        any(e in ("dm", "dr", "dr-os", "switch-dr") for e in estimators)
        and len(logs) >= 2 * n_folds
    ):
        q_hat = cross_fit_reward_model(
            logs.batch, model=reward_model, n_folds=n_folds, random_state=random_state
        )
    out: list[SegmentResult] = []
    for seg in sorted(set(values.tolist())):
        rows = np.flatnonzero(values == seg)
        if rows.size < min_decisions:
            out.append(
                SegmentResult(
                    seg,
                    int(rows.size),
                    refused=f"only {rows.size} decisions (< {min_decisions}): too few to estimate",
                )
            )
            continue
        cmp = evaluate_policies(
            logs.take(rows),
            policies,
            estimators=estimators,
            random_state=random_state,
            q_hat=None if q_hat is None else q_hat[rows],
            reward_model=reward_model,
        )
        out.append(SegmentResult(seg, int(rows.size), comparison=cmp))
    return out
