"""``/v1/decisions``: single and batch decisions, and logged decisions by id."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nba.service import DecisionService, Principal

from ..deps import get_groups, get_service, require
from ..grouping import DecisionGroups
from ..schemas import (
    BatchDecisionOut,
    BatchDecisionRequest,
    DecisionDetail,
    DecisionOut,
    DecisionRequest,
    error_responses,
)

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])


@router.post("", response_model=DecisionOut, responses=error_responses(422, 503, roles=("app",)))
async def decide(
    body: DecisionRequest,
    _: Principal = Depends(require("app")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
    groups: DecisionGroups = Depends(get_groups),  # noqa: B008
) -> Any:
    """Decide what to send one customer next (or nothing).

    A chosen contact counts against caps and budgets at once; a dry run does
    not, and is not logged. Unknown customers are decided from a cold start.
    """
    # On the event loop when nothing has to wait (SQLite, write lock free), together
    # with the requests of the same loop turn (nba.api.grouping): handing a
    # sub-millisecond transaction to a worker thread costs about as much as the work,
    # and the thread then contends with the loop for the GIL while the response is sent
    kwargs: dict[str, Any] = {
        "trigger": body.trigger,
        "context": body.context,
        "dry_run": body.dry_run,
    }
    rendered = await groups.decide(body.customer_id, body.now, **kwargs)
    if rendered is None:
        rt, batch = await run_in_threadpool(service.decide, [body.customer_id], body.now, **kwargs)
        rendered = service.decisions_json(rt, batch)[0]
    return Response(rendered, media_type="application/json")


@router.post(
    "/batch",
    response_model=BatchDecisionOut,
    responses=error_responses(
        413, 422, 503, roles=("app",), descriptions={413: "More than 10,000 customer ids."}
    ),
)
def decide_batch(
    body: BatchDecisionRequest,
    _: Principal = Depends(require("app")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Decide for a list of customers (at most 10,000 per call), in one transaction."""
    rt, batch = service.decide(
        body.customer_ids,
        body.now,
        trigger=body.trigger,
        context=body.context,
        dry_run=body.dry_run,
    )
    rendered = service.decisions_json(rt, batch, explain=body.explain)
    body_ = '{"decisions":[' + ",".join(rendered) + "]}"
    return Response(body_, media_type="application/json")


@router.get(
    "/{decision_id}",
    response_model=DecisionDetail,
    responses=error_responses(
        404, 422, roles=("app", "marketer"), descriptions={404: "No decision with this id."}
    ),
)
def get_decision(
    decision_id: str,
    now: datetime | None = Query(  # noqa: B008
        None, description="The clock to tell whether the window has closed (tests, replays)."
    ),
    _: Principal = Depends(require("app", "marketer")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """A logged decision, its joined events, its reward so far and whether its
    attribution window has closed."""
    return asdict(service.get_decision(decision_id, now))
