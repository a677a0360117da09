"""Learning and off-policy evaluation from logged decisions.

- :mod:`~nba.evaluation.logs`: log files (Parquet, CSV, JSON lines) of
  :class:`~nba.logs.LoggedDecisions` — :func:`read_logs`, :func:`write_logs`;
- :mod:`~nba.evaluation.mapping`: another tool's logs through a mapping file;
- :mod:`~nba.evaluation.estimators`: IPS, SNIPS, DM, DR, DR-OS, switch-DR
  with 95% intervals, effective sample size and overlap warnings;
- :mod:`~nba.evaluation.compare`: policies side by side, per segment;
- :mod:`~nba.evaluation.whatif`: (policy + proposed guardrails) on the logs;
- :mod:`~nba.evaluation.training`: training policies from logs;
- :mod:`~nba.evaluation.dsjson`: export to Vowpal Wabbit's DSJSON;
- :mod:`~nba.evaluation.synthetic`: a seeded problem with known truth.
"""

from nba.evaluation.compare import (
    MIN_SEGMENT_DECISIONS,
    Comparison,
    SegmentResult,
    evaluate_logging_policy,
    evaluate_policies,
    segment_breakdown,
    target_probabilities,
)
from nba.evaluation.dsjson import dsjson_lines, write_dsjson
from nba.evaluation.estimators import (
    ESTIMATORS,
    Estimate,
    PolicyEvaluation,
    cross_fit_reward_model,
    dm,
    dr,
    dr_shrinkage,
    effective_sample_size,
    evaluate_target,
    importance_weights,
    ips,
    overlap_warnings,
    snips,
    switch_dr,
)
from nba.evaluation.logs import logs_from_table, logs_to_table, read_logs, write_logs
from nba.evaluation.mapping import (
    LogMapping,
    MappingError,
    apply_mapping,
    load_mapping,
    parse_mapping,
)
from nba.evaluation.synthetic import OffPolicyProblem, synthetic_logs
from nba.evaluation.training import TrainingResult, train_from_logs
from nba.evaluation.whatif import WhatIf, restrict_allowed, what_if
from nba.logs import LogError, LoggedDecisions

__all__ = [
    "ESTIMATORS",
    "MIN_SEGMENT_DECISIONS",
    "Comparison",
    "Estimate",
    "LogError",
    "LogMapping",
    "LoggedDecisions",
    "MappingError",
    "PolicyEvaluation",
    "SegmentResult",
    "OffPolicyProblem",
    "TrainingResult",
    "WhatIf",
    "apply_mapping",
    "cross_fit_reward_model",
    "dm",
    "dr",
    "dr_shrinkage",
    "dsjson_lines",
    "effective_sample_size",
    "evaluate_logging_policy",
    "evaluate_policies",
    "evaluate_target",
    "importance_weights",
    "ips",
    "load_mapping",
    "logs_from_table",
    "logs_to_table",
    "overlap_warnings",
    "parse_mapping",
    "read_logs",
    "restrict_allowed",
    "segment_breakdown",
    "snips",
    "switch_dr",
    "synthetic_logs",
    "target_probabilities",
    "train_from_logs",
    "what_if",
    "write_dsjson",
    "write_logs",
]
