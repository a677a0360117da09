"""``/v1/customers/{id}``: a customer's history in one place."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from nba.service import DecisionService, Principal

from ..deps import get_service, require
from ..schemas import CustomerOut, CustomerPut, error_responses

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{customer_id:path}",
    response_model=CustomerOut,
    responses=error_responses(
        404,
        422,
        roles=("app", "marketer"),
        descriptions={404: "The service never heard of this customer (no decision, event or PUT)."},
    ),
)
def get_customer(
    customer_id: str,
    now: datetime | None = Query(None, description="Compute signals at this time."),  # noqa: B008
    _: Principal = Depends(require("app", "marketer")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Attributes, consent, signals, recent decisions and events."""
    return asdict(service.get_customer(customer_id, now))


@router.put(
    "/{customer_id:path}",
    response_model=CustomerOut,
    responses=error_responses(
        422,
        roles=("app",),
        descriptions={
            422: "Unknown channel, attribute value or time zone (the message names the field); "
            "nothing is stored."
        },
    ),
)
def put_customer(
    customer_id: str,
    body: CustomerPut,
    who: Principal = Depends(require("app")),  # noqa: B008
    service: DecisionService = Depends(get_service),  # noqa: B008
) -> Any:
    """Set attributes, consent (per channel) and time zone; applies to the next decision."""
    return asdict(
        service.put_customer(
            customer_id,
            attributes=body.attributes,
            consent=body.consent,
            timezone=body.timezone,
            who=who.key_id,
        )
    )
