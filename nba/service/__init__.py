"""The application layer of the decision service: no HTTP, no SQL (queries are in
:mod:`nba.store`), one module per job.

- :mod:`~nba.service.runtime`: the configuration compiled into a ``Runtime``;
- :mod:`~nba.service.config`: settings checked, configuration seeded, read, replaced, audited;
- :mod:`~nba.service.serving`: the serving policy, promotions, snapshots, health;
- :mod:`~nba.service.auth`: keys and principals;
- :mod:`~nba.service.decide`: decisions (logged, budgets counted);
- :mod:`~nba.service.render`: decisions as JSON text, fast;
- :mod:`~nba.service.events`: event validation, attribution and ingestion;
- :mod:`~nba.service.customers`: customers read and changed;
- :mod:`~nba.service.learning`: the learning loop (join, close, learn, snapshot);
- :mod:`~nba.service.metrics`: holdout metrics;
- :mod:`~nba.service.dryrun`: the guardrails dry run;
- :mod:`~nba.service.export`: the decision log read for export;
- :mod:`~nba.service.facade`: :class:`DecisionService`, the pieces wired together.
"""

from .auth import NewKey, Principal
from .config import AuditRecord, check_settings
from .customers import CustomerView
from .decide import Decided
from .dryrun import DryRunResult
from .events import EventCounts
from .facade import DecisionService
from .inputs import MAX_BATCH, MAX_EVENTS
from .learning import ChosenAction, LearnStep, LoggedDecision
from .metrics import MetricsReport
from .runtime import CONFIG_KINDS, Runtime
from .serving import HealthReport, PolicyRef, PolicyStatus

__all__ = [
    "AuditRecord",
    "CONFIG_KINDS",
    "ChosenAction",
    "CustomerView",
    "MAX_BATCH",
    "MAX_EVENTS",
    "MetricsReport",
    "Decided",
    "DecisionService",
    "DryRunResult",
    "EventCounts",
    "HealthReport",
    "LearnStep",
    "LoggedDecision",
    "NewKey",
    "PolicyRef",
    "PolicyStatus",
    "Principal",
    "Runtime",
    "check_settings",
]
