"""Health, Prometheus metrics and business metrics."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from nba.service import DecisionService, Principal

from ..deps import get_service, require
from ..schemas import Health, MetricsOut, error_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz(service: DecisionService = Depends(get_service)) -> Any:  # noqa: B008
    """Liveness (no key): which policy serves and whether the service is degraded."""
    return asdict(service.health())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "# TYPE nba_decisions_total counter\n"
                    'nba_decisions_total{outcome="contact"} 1234.0\n',
                }
            },
        }
    },
)
def prometheus(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/metrics", response_model=MetricsOut, responses=error_responses(422, roles=("marketer",))
)
def metrics(
    days: int = Query(30, ge=1, le=366),
    now: datetime | None = Query(None),  # noqa: B008
    _: Principal = Depends(require("marketer")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Decisions, contacts by channel, reward, conversions and unsubscribes per day,
    for served customers vs the global holdout."""
    return asdict(service.metrics(days, now))
