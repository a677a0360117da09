"""Request and response models of the HTTP API (pydantic, with OpenAPI examples), one
module per route group, and the error responses every router documents
(:func:`error_responses`, :class:`ErrorOut`). Every public name is re-exported here:
``from nba.api.schemas import DecisionOut``.

Examples are realistic documents: the configuration examples are the shipped
omnichannel example (:mod:`nba.examples`, read when the OpenAPI document is built,
not at import), and the request examples are
accepted by the service as it starts (``tests/api/test_openapi.py`` posts them).
FastAPI leaves null values out of the OpenAPI document, examples included: a
nullable field of a response therefore has a ``None`` default, so that an example
showing it as null (left out) still fits the schema. Responses always carry it.
"""

from nba.api.schemas.admin import KeyOut, KeyRequest, LearnOut, LearnRequest, PromoteRequest
from nba.api.schemas.config import (
    CONFIG_BODIES,
    AuditEntry,
    AuditOut,
    ConfigOut,
    DryRunChange,
    DryRunOut,
    DryRunRequest,
    DryRunSide,
    config_example,
)
from nba.api.schemas.customers import CustomerDecisionOut, CustomerOut, CustomerPut
from nba.api.schemas.decisions import (
    ActionOut,
    BatchDecisionOut,
    BatchDecisionRequest,
    DecisionDetail,
    DecisionEventOut,
    DecisionOut,
    DecisionRequest,
    EventOut,
    PolicyInfo,
    PolicyOut,
    SuppressionOut,
)
from nba.api.schemas.errors import ErrorOut, ValidationProblem, error_responses
from nba.api.schemas.events import EventIn, EventsRequest, EventsResult
from nba.api.schemas.metrics import Health, Lift, MetricsDay, MetricsGroup, MetricsLift, MetricsOut

__all__ = [
    "config_example",
    "CONFIG_BODIES",
    "ValidationProblem",
    "ErrorOut",
    "error_responses",
    "ActionOut",
    "SuppressionOut",
    "PolicyOut",
    "PolicyInfo",
    "DecisionRequest",
    "BatchDecisionRequest",
    "DecisionOut",
    "BatchDecisionOut",
    "EventOut",
    "DecisionEventOut",
    "DecisionDetail",
    "EventIn",
    "EventsRequest",
    "EventsResult",
    "CustomerPut",
    "CustomerDecisionOut",
    "CustomerOut",
    "ConfigOut",
    "AuditEntry",
    "AuditOut",
    "KeyRequest",
    "KeyOut",
    "PromoteRequest",
    "LearnRequest",
    "LearnOut",
    "DryRunRequest",
    "DryRunSide",
    "DryRunChange",
    "DryRunOut",
    "MetricsDay",
    "MetricsGroup",
    "Lift",
    "MetricsLift",
    "MetricsOut",
    "Health",
]
