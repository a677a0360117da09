"""Admin endpoints: keys, model promotion, and a deterministic learning step."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from ..deps import get_service, require
from ..schemas import KeyOut, KeyRequest, LearnRequest, PromoteRequest
from ..services import DecisionService, Principal

router = APIRouter(tags=["admin"])


@router.post("/v1/keys", response_model=KeyOut, status_code=201)
def create_key(
    body: KeyRequest,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Create an API key for a role; the key is shown once and stored hashed."""
    return service.create_key(body.role, who.key_id)


@router.delete("/v1/keys/{key_id}", status_code=204, responses={404: {}})
def delete_key(
    key_id: str,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Response:
    """Revoke a key (effective at once in this process, within 2 s in others)."""
    service.revoke_key(key_id, who.key_id)
    return Response(status_code=204)


@router.post("/v1/model/promote")
def promote(
    body: PromoteRequest,
    who: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Serve another model (MLflow model URI, saved policy directory or policy spec)."""
    return service.promote(body.model_uri, who.key_id)


@router.post("/v1/admin/learn")
def learn(
    body: LearnRequest | None = None,
    _: Principal = Depends(require("admin")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Run one step of the learning loop now: re-join events, close decisions whose
    window ended by ``now``, learn from them, snapshot the policy."""
    return service.learn(body.now if body else None)
