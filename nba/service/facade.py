"""The decision service as one object: the pieces of :mod:`nba.service` wired together
on one store, one configuration and one serving policy (what the HTTP app, the demo,
the benchmarks and the tests construct). Each method is its piece's."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from nba.settings import Settings
from nba.store.db import Store

from .auth import KeyRing, require
from .config import ConfigAdmin, check_settings, seed_configs
from .customers import Customers
from .decide import Decisions
from .dryrun import DryRun
from .events import EventIngest
from .learning import Learner
from .metrics import Metrics
from .render import decisions_json
from .runtime import Runtime, Runtimes
from .serving import HealthReport, ServingPolicy

__all__ = ["DecisionService"]

log = logging.getLogger(__name__)


class DecisionService:
    """Decisions, events, reward join, learning, configuration and keys.

    Parameters
    ----------
    settings
        nba's settings (database URL, admin key, model URI, config files).
    random_state
        Seed for sampling (``None``: from the OS).
    learn_interval
        Seconds between background learning steps; ``None`` or 0 disables
        the background worker (call :meth:`learn` yourself).
    champion_lookup
        Look for ``models:/nba@champion`` when no model URI is set.

    Raises
    ------
    ConfigError
        If the settings are unsafe outside development (no admin key) or a
        configuration file is invalid.
    """

    decisions_json = staticmethod(decisions_json)
    require = staticmethod(require)

    def __init__(
        self,
        settings: Settings,
        *,
        random_state: int | None = None,
        learn_interval: float | None = None,
        champion_lookup: bool = True,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.store = store = Store(settings.database_url, background_checkpoints=True)
        self.started_at = time.time()
        #: Hooks the HTTP layer sets: ``"decisions"`` and ``"events"`` counters.
        self.counters: dict[str, Callable[..., None]] = {}
        lock = threading.RLock()
        seed_configs(store, settings)
        self.runtimes = Runtimes(store, lock)
        #: The serving policy (:attr:`ServingPolicy.policy`, ``.current.learned``, ...).
        self.serving = ServingPolicy(settings, store, lock, champion_lookup=champion_lookup)
        self.runtimes.on_change = self.serving.on_config_change
        # every decision may fall back to the rules: they must serve this catalog
        self.serving.fallback.check(self.runtimes.latest.catalog.actions)
        self.keys = KeyRing(store, settings)
        self.config = ConfigAdmin(store, self.runtimes, settings)
        rng = np.random.default_rng(random_state)
        self.decisions = Decisions(store, self.runtimes, self.serving, rng, self.counters)
        self.events = EventIngest(store, self.runtimes, self.counters)
        self.customers = Customers(store, self.runtimes)
        self.learner = Learner(store, self.runtimes, self.serving)
        self.dry_run = DryRun(store, self.runtimes, self.serving)
        self._metrics = Metrics(store)
        self.learn_interval = learn_interval
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        # the service's operations, each its piece's
        self.authenticate, self.known_principal = self.keys.authenticate, self.keys.known_principal
        self.create_key, self.revoke_key = self.keys.create_key, self.keys.revoke_key
        self.get_config, self.put_config = self.config.get_config, self.config.put_config
        self.audit = self.config.audit
        self.promote, self.policy_info = self.serving.promote, self.serving.info
        self.decide, self.decide_now = self.decisions.decide, self.decisions.decide_now
        self.ingest_events = self.events.ingest_events
        self.get_customer = self.customers.get_customer
        self.put_customer = self.customers.put_customer
        self.learn, self.get_decision = self.learner.learn, self.learner.get_decision
        self.metrics = self._metrics.metrics
        self.guardrails_dry_run = self.dry_run.guardrails_dry_run

    @property
    def runtime(self) -> Runtime:
        """The configuration as last loaded (compiled)."""
        return self.runtimes.latest

    def health(self) -> HealthReport:
        """The ``/healthz`` document."""
        return self.serving.health(self.runtimes, self.started_at)

    def start(self) -> None:
        """Start the background learner (if an interval is set)."""
        if self.learn_interval and self._worker is None:
            self._worker = threading.Thread(
                target=self._run_worker, name="nba-learner", daemon=True
            )
            self._worker.start()

    def stop(self) -> None:
        """Stop the background learner and close the database connections."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
            self._worker = None
        self.store.dispose()

    def _run_worker(self) -> None:
        assert self.learn_interval
        while not self._stop.wait(self.learn_interval):
            try:
                self.learn()
            except Exception:  # the learner must never take the service down
                log.exception("background learning step failed")
