"""Experiment tracking with MLflow: runs, metrics, plots, policies as models, the registry."""

from nba.tracking.models import (
    CHAMPION,
    REGISTERED_MODEL,
    PolicyModel,
    load_policy,
    log_policy_model,
    register_policy,
    signals_frame,
    signals_from_frame,
)
from nba.tracking.runs import ExperimentTracker, TrackingError, default_tracking_uri, file_hash

__all__ = [
    "CHAMPION",
    "REGISTERED_MODEL",
    "ExperimentTracker",
    "PolicyModel",
    "TrackingError",
    "default_tracking_uri",
    "file_hash",
    "load_policy",
    "log_policy_model",
    "register_policy",
    "signals_frame",
    "signals_from_frame",
]
