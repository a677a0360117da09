"""The FastAPI application factory.

``create_app(settings)`` builds the app around one :class:`DecisionService`;
routers only translate HTTP to service calls, and one exception handler maps
nba's errors to HTTP statuses (:func:`nba.api.errors.status_of`).

Settings (:class:`nba.settings.Settings`) include ``NBA_LEARN_INTERVAL``
(seconds between background learning steps, default 30; 0 disables the
worker) and ``NBA_CHAMPION_LOOKUP`` (``false`` to skip looking for
``models:/nba@champion``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from nba.exceptions import NBAError
from nba.service import DecisionService, EventCounts
from nba.settings import Settings, get_settings

from .errors import nba_error_handler
from .grouping import DecisionGroups

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _metrics(app: FastAPI, service: DecisionService, groups: DecisionGroups) -> None:
    from prometheus_client import CollectorRegistry, Counter, Gauge

    registry = CollectorRegistry()
    decisions = Counter("nba_decisions", "Decisions made", ["outcome"], registry=registry)
    events = Counter("nba_events", "Events received", ["outcome"], registry=registry)
    degraded = Gauge("nba_degraded", "1 when serving the fallback policy", registry=registry)
    degraded.set_function(lambda: float(service.policy_info().degraded))
    learned = Gauge(
        "nba_policy_examples", "Examples the serving policy learned from", registry=registry
    )
    learned.set_function(lambda: float(service.serving.current.learned))
    group_size = Gauge(
        "nba_decision_group_size",
        "Mean number of single-decision requests decided together (recent groups)",
        registry=registry,
    )
    group_size.set_function(lambda: sum(groups.sizes) / max(len(groups.sizes), 1))

    # bound once: looking a label up takes the metric's lock, on every decision
    contact, no_contact, dry = (decisions.labels(k) for k in ("contact", "no_contact", "dry_run"))

    def on_decisions(batch: Any, dry_run: bool) -> None:
        if dry_run:
            dry.inc(len(batch))
            return
        k = int(np.count_nonzero(batch.action))
        contact.inc(k)
        no_contact.inc(len(batch) - k)

    def on_events(counts: EventCounts) -> None:
        for key, value in asdict(counts).items():
            events.labels(key).inc(value)

    service.counters["decisions"] = on_decisions
    service.counters["events"] = on_events
    app.state.registry = registry


def _describe(exc: RequestValidationError) -> str:
    """One message for a request that failed validation, naming each field at fault
    (malformed JSON: where in the body, by line and column)."""
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # FastAPI puts the decoder's message in ctx, its offset last in loc, the text in body
            reason = (err.get("ctx") or {}).get("error") or "JSON decode error"
            pos, doc = (err.get("loc") or ("body",))[-1], exc.body
            if isinstance(pos, int) and isinstance(doc, str):
                line = doc.count("\n", 0, pos) + 1
                column = pos - doc.rfind("\n", 0, pos)
                reason += f" at line {line}, column {column}"
            parts.append(f"request body: invalid JSON ({reason})")
            continue
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        where = ".".join(loc) or "body"
        parts.append(f"`{where}`: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_app(
    settings: Settings | None = None,
    *,
    learn_interval: float | None = None,
    random_state: int | None = None,
    champion_lookup: bool | None = None,
) -> FastAPI:
    """Build the nba HTTP API.

    Parameters
    ----------
    settings
        Default: :func:`nba.settings.get_settings`.
    learn_interval
        Seconds between background learning steps (default: the settings',
        ``NBA_LEARN_INTERVAL``, 30; 0 disables the worker).
    random_state
        Seed for sampling (tests).
    champion_lookup
        Look for ``models:/nba@champion`` when ``NBA_MODEL_URI`` is unset
        (default: the settings' ``NBA_CHAMPION_LOOKUP``, on).

    Raises
    ------
    ConfigError
        On unsafe settings outside development or invalid configuration.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> app = create_app(Settings(database_url=f"sqlite:///{d}/nba.db"), champion_lookup=False)
    >>> "/v1/decisions" in app.openapi()["paths"]
    True
    """
    settings = settings or get_settings()
    interval = learn_interval if learn_interval is not None else settings.learn_interval
    lookup = champion_lookup if champion_lookup is not None else settings.champion_lookup
    service = DecisionService(
        settings, random_state=random_state, learn_interval=interval, champion_lookup=lookup
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="nba",
        version="0.1.0",
        description=(
            "Next-best-action decisions with guardrails, a decision log, delayed-reward "
            "joining and online learning. Send `Authorization: Bearer <key>`; roles: "
            "`app` (decisions, events, customers), `marketer` (catalog, guardrails, goal, "
            "metrics, audit, read customers), `admin` (everything, keys, model promotion)."
        ),
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.decision_groups = groups = DecisionGroups(service)
    _metrics(app, service, groups)

    app.add_exception_handler(NBAError, nba_error_handler)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": _describe(exc), "errors": errors}, status_code=422)

    from .routers import admin, config, customers, decisions, events, ops

    for module in (decisions, events, customers, config, admin, ops):
        app.include_router(module.router)
    return app
