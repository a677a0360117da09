"""MLflow runs of an experiment: a parent run, one nested run per policy x seed.

Everything goes through :class:`mlflow.MlflowClient` (no global "active
run"), so a tracker can be used from any code. The tracking URI is
``MLFLOW_TRACKING_URI`` when set, else a SQLite store in the working
directory (MLflow 3 deprecates the plain file store).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nba.exceptions import NBAError

__all__ = [
    "TrackingError",
    "default_tracking_uri",
    "ExperimentTracker",
    "file_hash",
]


class TrackingError(NBAError):
    """MLflow could not be reached or refused an operation."""


def default_tracking_uri(workdir: str | Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<workdir>/mlflow.db``.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("MLFLOW_TRACKING_URI", None) is None or True
    True
    >>> default_tracking_uri("/tmp/x")
    'sqlite:////tmp/x/mlflow.db'
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    base = Path(workdir) if workdir is not None else Path.cwd()
    return f"sqlite:///{base.resolve() / 'mlflow.db'}"


def file_hash(path: str | Path) -> str:
    """Short sha256 of a file's bytes (e.g. the guardrails hash logged as a param).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", delete=False) as f:
    ...     _ = f.write("x")
    >>> file_hash(f.name)
    '2d711642b726'
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _param_value(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    return text[:6000]


class ExperimentTracker:
    """One MLflow experiment per config, with a parent run.

    Parameters
    ----------
    experiment_name
        The experiment (created if missing).
    tracking_uri
        Default: :func:`default_tracking_uri`.
    run_name
        Name of the parent run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> tr = ExperimentTracker("doc", tracking_uri=f"sqlite:///{d}/m.db")
    >>> run_id = tr.start_child("rules-seed0", {"seed": 0}, {"reward": [(0, 0.1), (1, 0.2)]})
    >>> tr.end_child(run_id)
    >>> tr.finish()
    >>> [m.value for m in tr.client.get_metric_history(run_id, "reward")]
    [0.1, 0.2]
    """

    def __init__(
        self,
        experiment_name: str,
        *,
        tracking_uri: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        import mlflow
        from mlflow import MlflowClient

        self.tracking_uri = tracking_uri or default_tracking_uri()
        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            self.client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
            exp = self.client.get_experiment_by_name(experiment_name)
            self.experiment_id = (
                exp.experiment_id
                if exp is not None
                else self.client.create_experiment(experiment_name)
            )
            if exp is not None and exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(self.experiment_id)
            run = self.client.create_run(
                self.experiment_id, run_name=run_name, tags=dict(tags or {})
            )
        except Exception as exc:  # MLflow raises many types; the user needs one message
            raise TrackingError(f"MLflow at `{self.tracking_uri}`: {exc}") from None
        self.parent_run_id: str = run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params (values as JSON text unless strings)."""
        from mlflow.entities import Param

        items = [Param(str(k), _param_value(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, series: Mapping[str, Sequence[tuple[int, float]]]) -> None:
        """Log metric series as (step, value) pairs."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [
            Metric(name, float(v), now, int(step))
            for name, points in series.items()
            for step, v in points
        ]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i : i + 1000])

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload one file as an artifact."""
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_text(self, run_id: str, text: str, name: str) -> None:
        """Upload a text artifact called ``name``."""
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / name
            p.write_text(text, encoding="utf-8")
            self.client.log_artifact(run_id, str(p))

    def start_child(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    ) -> str:
        """Create a nested run under the parent and log params and metrics."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={"mlflow.parentRunId": self.parent_run_id},
        )
        rid: str = run.info.run_id
        if params:
            self.log_params(rid, params)
        if metrics:
            self.log_metrics(rid, metrics)
        return rid

    def end_child(self, run_id: str, status: str = "FINISHED") -> None:
        """Close a nested run."""
        self.client.set_terminated(run_id, status)

    def finish(self, status: str = "FINISHED") -> None:
        """Close the parent run."""
        self.client.set_terminated(self.parent_run_id, status)
