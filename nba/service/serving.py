"""The serving policy: which policy decides (``NBA_MODEL_URI``, a promoted model, the
registered champion or the rule baseline), continued from its newest snapshot,
promoted in every process, refreshed from other processes' snapshots, and reported
by ``/healthz``."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from nba.exceptions import InputError
from nba.policies.base import Policy
from nba.policies.rules import RulePolicy
from nba.settings import Settings
from nba.store import config as stored_config
from nba.store import snapshots
from nba.store.db import Store, ping

from .runtime import Runtimes

__all__ = ["HealthReport", "PolicyRef", "PolicyStatus", "Serving", "ServingPolicy", "rules_policy"]

log = logging.getLogger(__name__)

_RULES_SOURCE = "rules"
_CHAMPION = "models:/nba@champion"


def rules_policy(settings: Settings) -> RulePolicy:
    """The rule baseline of ``NBA_RULES``, which every decision may fall back to."""
    return RulePolicy(rules=str(settings.rules))


@dataclass(frozen=True)
class PolicyRef:
    """A policy by name and version (the number of examples it learned from)."""

    name: str
    version: str


@dataclass(frozen=True)
class PolicyStatus:
    """Which policy serves, and whether the service is degraded (and why)."""

    name: str
    version: str
    source: str
    requested_model: str | None
    degraded: bool
    reason: str | None


@dataclass(frozen=True)
class HealthReport:
    """The ``/healthz`` document: status, serving policy, configuration versions."""

    status: str
    degraded: bool
    reason: str | None
    policy: PolicyStatus
    config_versions: dict[str, int]
    database: str
    uptime_seconds: float


@dataclass
class Serving:
    """The serving policy and where it came from."""

    policy: Policy
    source: str
    requested: str | None
    degraded: bool = False
    reason: str | None = None
    #: Degraded because the policy failed on a decision (not at loading): a
    #: configuration change may mend it, so it is tried again then.
    failed: bool = False
    snapshot_id: int = 0
    learned: int = 0


class ServingPolicy:
    """What serves now (:attr:`current`, swapped whole), and the rule baseline to fall
    back to (:attr:`fallback`).

    Parameters
    ----------
    settings, store
        Where the model URI, the rules, promotions and snapshots come from.
    lock
        Held while what serves is swapped (shared with the configuration reload).
    champion_lookup
        Look for ``models:/nba@champion`` when no model URI is set.
    """

    def __init__(
        self, settings: Settings, store: Store, lock: threading.RLock, *, champion_lookup: bool
    ) -> None:
        self.settings = settings
        self.store = store
        self.lock = lock
        self._model_seen = 0
        self.current = self._load(champion_lookup)
        self.fallback = rules_policy(settings)

    @property
    def policy(self) -> Policy:
        """The policy serving now."""
        return self.current.policy

    def open_model(self, uri: str) -> Policy:
        """Load the model at ``uri``: an MLflow model URI, a saved policy directory or a
        spec (built with the configured rules, for the policies that follow them)."""
        if "://" in uri or uri.startswith(("models:/", "runs:/")):
            import mlflow  # lazy: MLflow is slow to import

            from nba.tracking.models import load_policy
            from nba.tracking.runs import default_tracking_uri

            mlflow.set_tracking_uri(default_tracking_uri())
            policy: Policy = load_policy(uri)
            return policy
        from nba.policies.spec import make_policy

        return make_policy(uri, rules=str(self.settings.rules))

    def _load(self, champion_lookup: bool) -> Serving:
        """The policy to serve at start: ``NBA_MODEL_URI``, else the last promoted
        model, else the registered champion, else the rule baseline."""
        requested = self.settings.model_uri
        with self.store.read() as conn:
            promoted = stored_config.latest_config(conn, "model")
        if promoted is not None:
            self._model_seen = int(promoted.id)
            if requested is None:
                requested = str(promoted.document["model_uri"])
        uri = requested or (_CHAMPION if champion_lookup and _mlflow_store_exists() else None)
        serving = Serving(rules_policy(self.settings), _RULES_SOURCE, requested)
        if uri is not None:
            try:
                serving = Serving(self.open_model(uri), uri, requested)
            except Exception as exc:
                from nba.tracking.models import champion_registered  # (MLflow: lazy)

                # no champion is no fault; a champion that cannot be loaded is one
                if requested is not None or champion_registered():
                    serving.degraded = True
                    serving.reason = f"cannot load model `{uri}`: {exc}"
                    log.warning("serving the rule baseline: %s", serving.reason)
        self._restore_snapshot(serving)
        return serving

    def _restore_snapshot(self, serving: Serving) -> None:
        """Continue from the newest snapshot of what ``serving`` serves, if any."""
        with self.store.read() as conn:
            snap = snapshots.newest_snapshot(conn, serving.source)
            if snap is None:
                return
            try:
                loaded = snapshots.load_snapshot(conn, serving.source)
            except Exception as exc:
                log.warning("cannot load the policy snapshot: %s", exc)
                return
        if loaded is not None:
            serving.policy = loaded
            serving.snapshot_id = snap

    def on_config_change(self, conn: Connection) -> None:
        """After a configuration reload: a fresh rule baseline, another chance for a
        policy that failed, and the model another process promoted, if any."""
        self.fallback = rules_policy(self.settings)
        serving = self.current
        if serving.failed:  # the policy gets another chance with the new configuration
            serving.degraded = serving.failed = False
            serving.reason = None
        self._follow_promotion(conn)

    def _follow_promotion(self, conn: Connection) -> None:
        """Serve a model another process promoted."""
        row = stored_config.latest_config(conn, "model")
        if row is None or int(row.id) <= self._model_seen:
            return
        self._model_seen = int(row.id)
        uri = str(row.document["model_uri"])
        if uri == self.current.source:
            return
        try:
            serving = Serving(self.open_model(uri), uri, uri)
        except Exception as exc:  # keep serving what we serve, and say so in /healthz
            self.current.degraded = True
            self.current.reason = f"cannot serve the promoted model `{uri}`: {exc}"
            log.warning("%s", self.current.reason)
            return
        self._restore_snapshot(serving)
        self.current = serving

    def promote(self, model_uri: str, who: str) -> PolicyStatus:
        """Serve another model from now on, in every process (versioned, audited).

        Raises
        ------
        InputError
            If the model cannot be loaded (the current policy keeps serving).
        """
        try:
            serving = Serving(self.open_model(model_uri), model_uri, model_uri)
        except Exception as exc:
            raise InputError(f"`model_uri`: cannot load model {model_uri!r}: {exc}") from None
        self._restore_snapshot(serving)
        now = time.time()
        with self.store.write() as conn:
            before = self.current.source
            stored_config.put_config(conn, "model", {"model_uri": model_uri}, who, now)
            stored_config.add_audit(
                conn, who, "promote", "model", {"model_uri": before}, {"model_uri": model_uri}, now
            )
            row = stored_config.latest_config(conn, "model")
        with self.lock:
            self.current = serving
            if row is not None:
                self._model_seen = int(row.id)
        return self.info()

    def refresh_from_snapshot(self) -> None:
        """Serve the newest snapshot of our source if another process wrote it."""
        serving = self.current
        with self.store.read() as conn:
            newest = snapshots.newest_snapshot(conn, serving.source)
            if newest is None or newest <= serving.snapshot_id:
                return
            loaded = snapshots.load_snapshot(conn, serving.source)
        if loaded is not None:
            with self.lock:
                if self.current is serving:
                    serving.policy = loaded
                    serving.snapshot_id = newest

    def info(self) -> PolicyStatus:
        """Which policy serves, and whether the service is degraded."""
        s = self.current
        return PolicyStatus(
            s.policy.name, s.policy.version, s.source, s.requested, s.degraded, s.reason
        )

    def health(self, runtimes: Runtimes, started_at: float) -> HealthReport:
        """The ``/healthz`` document."""
        with self.store.read() as conn:
            ping(conn)
            rt = runtimes.current(conn)
        info = self.info()
        return HealthReport(
            status="degraded" if info.degraded else "ok",
            degraded=info.degraded,
            reason=info.reason,
            policy=info,
            config_versions=dict(rt.versions),
            database=self.store.dialect,
            uptime_seconds=time.time() - started_at,
        )


def _mlflow_store_exists() -> bool:
    """Whether there is an MLflow store to look for the champion in: a tracking
    URI is set, or the local default (``mlflow.db`` in the working directory)
    exists. Looking elsewhere would create an empty store at every start."""
    return bool(os.environ.get("MLFLOW_TRACKING_URI")) or (Path.cwd() / "mlflow.db").exists()
