"""Admin endpoints: keys, model promotion, and a deterministic learning step."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Response

from nba.service import DecisionService, Principal

from ..deps import get_service, require
from ..schemas import (
    KeyOut,
    KeyRequest,
    LearnOut,
    LearnRequest,
    PolicyInfo,
    PromoteRequest,
    error_responses,
)

router = APIRouter(tags=["admin"])
_ADMIN = ("admin",)


@router.post(
    "/v1/keys", response_model=KeyOut, status_code=201, responses=error_responses(422, roles=_ADMIN)
)
def create_key(
    body: KeyRequest,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Create an API key for a role; the key is shown once and stored hashed."""
    return asdict(service.create_key(body.role, who.key_id))


@router.delete(
    "/v1/keys/{key_id}",
    status_code=204,
    responses=error_responses(
        404, 422, roles=_ADMIN, descriptions={404: "No live key with this id (unknown or revoked)."}
    ),
)
def delete_key(
    key_id: str,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Response:
    """Revoke a key (effective at once in this process, within 2 s in others)."""
    service.revoke_key(key_id, who.key_id)
    return Response(status_code=204)


@router.post(
    "/v1/model/promote",
    response_model=PolicyInfo,
    responses=error_responses(
        422,
        roles=_ADMIN,
        descriptions={422: "The model cannot be loaded (the current policy keeps serving)."},
    ),
)
def promote(
    body: PromoteRequest,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Serve another model (MLflow model URI, saved policy directory or policy spec)."""
    return asdict(service.promote(body.model_uri, who.key_id))


@router.post(
    "/v1/admin/learn", response_model=LearnOut, responses=error_responses(422, roles=_ADMIN)
)
def learn(
    body: LearnRequest | None = None,
    _: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Run one step of the learning loop now: re-join events, close decisions whose
    window ended by ``now``, learn from them, snapshot the policy."""
    return asdict(service.learn(body.now if body else None))
