"""What the route groups' schemas share: the strict request base, examples built
when the OpenAPI document is, and the ids and times the examples use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

_NOW = "2026-03-02T10:00:00Z"  # request examples
_AT = "2026-03-02T10:00:00+00:00"  # times as the service writes them
_DECISION_ID = "019cadfd-8900-7000-80a8-52c1bb9651f3"


def _examples(*build: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    # A model's ``json_schema_extra`` as a callable: its examples are built when the
    # OpenAPI document is, not when this module is imported.
    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = [b() for b in build]

    return extra


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_EVENT: dict[str, Any] = {
    "event_id": "e1",
    "type": "clicked",
    "timestamp": "2026-03-02T11:30:00+00:00",
    "decision_id": _DECISION_ID,
    "channel": "email",
    "message_id": "cart_reminder",
    "value": 0.0,
    "properties": {},
    "attributed_to": _DECISION_ID,
    "late": False,
    "unknown_decision": False,
}
