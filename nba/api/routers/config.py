"""``/v1/catalog``, ``/v1/guardrails``, ``/v1/goal``, ``/v1/audit`` and the guardrails dry run."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from nba.service import CONFIG_KINDS, DecisionService, Principal

from ..deps import get_service, require
from ..schemas import CONFIG_BODIES, AuditOut, ConfigOut, DryRunOut, DryRunRequest, error_responses

router = APIRouter(tags=["configuration"])
_MARKETER = ("marketer",)

_PUT_DOC = (
    "Validated against the other documents (bad → 422 naming the field, nothing stored), "
    "stored as a new version, recorded in the audit log (who, when, before/after) and "
    "effective on the next decision in every server process, without a restart."
)


def _routes(kind: str) -> None:
    @router.get(
        f"/v1/{kind}",
        response_model=ConfigOut,
        name=f"get_{kind}",
        responses=error_responses(roles=_MARKETER),
    )
    def get_config(
        _: Principal = Depends(require("marketer")),  # noqa: B008
        service: DecisionService = Depends(get_service),  # noqa: B008
    ) -> Any:
        version, doc = service.get_config(kind)
        return {"kind": kind, "version": version, "document": doc}

    get_config.__doc__ = f"The current {kind} document and its version."
    title, (description, example) = f"{kind.capitalize()}Document", CONFIG_BODIES[kind]

    @router.put(
        f"/v1/{kind}",
        response_model=ConfigOut,
        name=f"put_{kind}",
        responses=error_responses(
            422,
            roles=_MARKETER,
            descriptions={422: "Invalid document; the message names the field. Nothing is stored."},
        ),
        description=f"Replace the {kind}. {_PUT_DOC}",
    )
    def put_config(
        document: dict[str, Any] = Body(  # noqa: B008
            title=title, description=description, examples=[example]
        ),
        who: Principal = Depends(require("marketer")),  # noqa: B008
        service: DecisionService = Depends(get_service),  # noqa: B008
    ) -> Any:
        version = service.put_config(kind, document, who.key_id)
        return {"kind": kind, "version": version, "document": document}


for _kind in CONFIG_KINDS:
    _routes(_kind)


@router.get("/v1/audit", response_model=AuditOut, responses=error_responses(422, roles=_MARKETER))
def audit(
    target: str | None = Query(None, description="catalog, guardrails, goal, key or model"),
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require("marketer")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Configuration changes, newest first: who, when, before and after."""
    return {"entries": [asdict(e) for e in service.audit(target, limit)]}


@router.post(
    "/v1/guardrails/dry-run",
    response_model=DryRunOut,
    response_model_exclude_unset=True,  # no customer yet: `current` and `proposed` are {}
    responses=error_responses(
        422,
        roles=_MARKETER,
        descriptions={422: "Invalid proposed guardrails (the message names the rule and field)."},
    ),
)
def guardrails_dry_run(
    body: DryRunRequest,
    _: Principal = Depends(require("marketer")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """How a proposed rule set would change decisions for a sample of recent customers
    (nothing is stored or counted)."""
    return service.guardrails_dry_run(body.guardrails, body.sample, body.now).as_dict()
