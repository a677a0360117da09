"""Request and response models of the HTTP API (pydantic, with OpenAPI examples), and
the error responses every router documents (:func:`error_responses`, :class:`ErrorOut`).

Examples are realistic documents: the configuration examples are the shipped
omnichannel example (:mod:`nba.examples`, read when the OpenAPI document is built,
not at import), and the request examples are
accepted by the service as it starts (``tests/api/test_openapi.py`` posts them).
FastAPI leaves null values out of the OpenAPI document, examples included: a
nullable field of a response therefore has a ``None`` default, so that an example
showing it as null (left out) still fits the schema. Responses always carry it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nba.config import load_document
from nba.events import EventType
from nba.examples import DEFAULT_EXAMPLE, example_path

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

_NOW = "2026-03-02T10:00:00Z"  # request examples
_AT = "2026-03-02T10:00:00+00:00"  # times as the service writes them
_DECISION_ID = "019cadfd-8900-7000-80a8-52c1bb9651f3"


# -- configuration documents (the packaged omnichannel example) -----------------------------
@cache
def _example_document(kind: str) -> dict[str, Any]:
    return load_document(example_path(DEFAULT_EXAMPLE, f"{kind}.yaml"))


def config_example(kind: str) -> dict[str, Any]:
    """The packaged example's ``kind`` document (``catalog``, ``guardrails`` or ``goal``).

    Read on first use (never at import) and cached; each call returns a fresh copy. The
    OpenAPI examples are these documents, so they cannot drift from what ``nba serve``
    runs (5 channels, 11 messages, 4 attributes; its guardrails and goal).

    Examples
    --------
    >>> config_example("goal")["attribution_window_days"]
    7
    """
    return copy.deepcopy(_example_document(kind))


def _examples(*build: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    # A model's ``json_schema_extra`` as a callable: its examples are built when the
    # OpenAPI document is, not when this module is imported.
    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = [b() for b in build]

    return extra


class _ConfigBodies(Mapping[str, tuple[str, dict[str, Any]]]):
    """``PUT /v1/{kind}``'s body by kind: its description and example (read when asked)."""

    _DESCRIPTIONS = {
        "catalog": "The catalog document (the JSON form of `catalog.yaml`): `channels` (id, "
        "cost per send, content_types, requires_consent), `messages` (id, journey stages, "
        "topics, content_type, value) and the customer `attributes` policies and rules may use.",
        "guardrails": "The guardrails document (the JSON form of `guardrails.yaml`): "
        "`holdout`, `suitability`, `eligibility`, `progression`, `frequency_caps`, `min_gap`, "
        "`quiet_hours` and `budgets` rules, each named; it replaces the whole rule set.",
        "goal": "The goal document (the JSON form of `goal.yaml`): event `weights` (a number, "
        "or `per_value` and `constant`), `channel_costs`, `attribution_window_days` and "
        "`attribution` (`tagged` or `last_touch`).",
    }

    def __getitem__(self, kind: str) -> tuple[str, dict[str, Any]]:
        return self._DESCRIPTIONS[kind], config_example(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(self._DESCRIPTIONS)

    def __len__(self) -> int:
        return len(self._DESCRIPTIONS)


#: The body of ``PUT /v1/{kind}``: its description and an example, by kind.
CONFIG_BODIES: Mapping[str, tuple[str, dict[str, Any]]] = _ConfigBodies()


# -- errors ----------------------------------------------------------------------------------
class ValidationProblem(BaseModel):
    """One problem of an invalid request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query` or `path`, then the field path (list indices as "
        "integers); for malformed JSON, `body` and the character position."
    )
    msg: str
    type: str = Field(description="Pydantic's error type (`missing`, `json_invalid`, …).")


class ErrorOut(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "`events.0.type`: Input should be 'sent', 'delivered', …",
                    "errors": [
                        {
                            "loc": ["body", "events", 0, "type"],
                            "msg": "Input should be 'sent', 'delivered', …",
                            "type": "enum",
                        }
                    ],
                },
                {"detail": "no decision with id `019cadfd-8900-7000-80a8-52c1bb9651f3`"},
            ]
        }
    )
    detail: str = Field(description="What is wrong, naming the field at fault in backticks.")
    errors: list[ValidationProblem] = Field(
        default_factory=list,
        description="Each problem, when the request failed validation (422); absent otherwise.",
    )


_ROLES = ("app", "marketer", "admin")
_ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "No API key, or an unknown or revoked one (with `WWW-Authenticate: Bearer`).",
    404: "Not found.",
    413: "The request asks for more than one call accepts.",
    422: "Invalid request: `detail` names the field at fault and what was expected; `errors` "
    "lists each problem when the request failed validation (malformed JSON included). "
    "Nothing is stored.",
    503: "Concurrent decisions kept taking the same channel's daily budget: nothing was "
    "stored, and the same request may be retried after `Retry-After` seconds.",
}
_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"detail": "missing API key: send `Authorization: Bearer <key>`"},
    422: {
        "detail": "`customer_id`: Field required",
        "errors": [{"loc": ["body", "customer_id"], "msg": "Field required", "type": "missing"}],
    },
}


def error_responses(
    *statuses: int,
    roles: Sequence[str] = (),
    descriptions: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation's error statuses, each with :class:`ErrorOut`.

    Parameters
    ----------
    *statuses
        The error statuses the operation answers besides 401 and 403.
    roles
        The roles whose keys may call the operation (``admin`` always may). When
        given, the operation needs a key: 401 and 403 are documented.
    descriptions
        Descriptions that replace the generic ones, by status.

    Returns
    -------
    The mapping to pass as ``responses`` to a route.

    Examples
    --------
    >>> r = error_responses(404, roles=("marketer",), descriptions={404: "Unknown customer."})
    >>> sorted(r), r[404]["description"], r[401]["model"].__name__
    ([401, 403, 404], 'Unknown customer.', 'ErrorOut')
    >>> print(r[403]["description"])
    The key's role may not do this: needs a key with role `marketer` or `admin`.
    """
    notes = dict(descriptions or {})
    allowed = [*roles, *(() if "admin" in roles else ("admin",))]
    out: dict[int | str, dict[str, Any]] = {}
    for status in ((401, 403) if roles else ()) + statuses:
        example = _ERROR_EXAMPLES.get(status)
        if status == 403:
            names = ", ".join(f"`{r}`" for r in allowed[:-1])
            names = f"{names} or `{allowed[-1]}`" if names else f"`{allowed[-1]}`"
            default = f"The key's role may not do this: needs a key with role {names}."
            other = next((r for r in _ROLES if r not in allowed), None)
            if other is not None:
                needs = ", ".join(roles)
                example = {"detail": f"role `{other}` may not do this; needs one of {needs}"}
        else:
            default = _ERROR_DESCRIPTIONS[status]
        entry: dict[str, Any] = {"model": ErrorOut, "description": notes.get(status, default)}
        if example is not None:
            entry["content"] = {"application/json": {"example": example}}
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}
            }
        if status == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
        out[status] = entry
    return out


# -- decisions -------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionOut(BaseModel):
    message_id: str
    channel: str


class SuppressionOut(BaseModel):
    message_id: str
    channel: str
    rule: str


class PolicyOut(BaseModel):
    name: str
    version: str


class PolicyInfo(BaseModel):
    """Which policy serves, and whether the service is degraded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "linucb",
                    "version": "1200",
                    "source": "models:/nba@champion",
                    "requested_model": None,
                    "degraded": False,
                    "reason": None,
                }
            ]
        }
    )
    name: str
    version: str = Field(description="The number of examples the policy learned from.")
    source: str = Field(description="The model URI or policy spec served (`rules`: baseline).")
    requested_model: str | None = Field(
        default=None,
        description="The model asked for (`NBA_MODEL_URI` or the last promotion), if any.",
    )
    degraded: bool = Field(description="True when the requested model could not be loaded.")
    reason: str | None = Field(default=None, description="Why the service is degraded.")


class DecisionRequest(_Strict):
    """Ask for one decision."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"customer_id": "c42", "trigger": "cart_abandoned", "context": {"page": "/cart"}}
            ]
        },
    )
    customer_id: str = Field(min_length=1, max_length=200)
    context: dict[str, Any] | None = Field(
        default=None, description="Signals from the calling app (page, device…); logged."
    )
    trigger: str | None = Field(default=None, max_length=200)
    now: datetime | None = Field(default=None, description="Decision time (tests, replays).")
    dry_run: bool = Field(default=False, description="Decide without logging or counting.")


class BatchDecisionRequest(_Strict):
    """Ask for decisions for a campaign list (at most 10,000 ids; more gives 413)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_ids": ["c1", "c2"], "trigger": "campaign"}]},
    )
    customer_ids: list[str] = Field(min_length=1)
    context: dict[str, Any] | None = None
    trigger: str | None = Field(default=None, max_length=200)
    now: datetime | None = None
    dry_run: bool = False
    explain: bool = Field(
        default=True,
        description="False leaves `suppressed` and `distribution` out of each decision "
        "(they are still logged): a 10,000-id response shrinks about tenfold.",
    )


_DECISION: dict[str, Any] = {
    "decision_id": _DECISION_ID,
    "customer_id": "c42",
    "action": {"message_id": "cart_reminder", "channel": "email"},
    "propensity": 0.92,
    "policy": {"name": "linucb", "version": "1200"},
    "explored": False,
    "suppressed": [{"message_id": "welcome", "channel": "sms", "rule": "consent"}],
    "created_at": _AT,
    "holdout": False,
    "distribution": {"no_contact": 0.08, "cart_reminder@email": 0.92},
}


class DecisionOut(BaseModel):
    """One decision (DESIGN.md's shape, plus ``holdout`` and ``distribution``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DECISION]})
    decision_id: str = Field(
        description="A UUIDv7 (RFC 9562) stamped with the decision time: ids sort by time."
    )
    customer_id: str
    action: ActionOut | None = Field(default=None, description="None: no contact.")
    propensity: float
    policy: PolicyOut
    explored: bool
    suppressed: list[SuppressionOut] = Field(
        default_factory=list,
        description="Actions the guardrails removed, with the rule (absent when a batch "
        "asked for `explain: false`).",
    )
    created_at: str
    holdout: bool = False
    distribution: dict[str, float] = Field(
        default_factory=dict,
        description="Probability of every allowed action (absent with `explain: false`).",
    )


class BatchDecisionOut(BaseModel):
    """The decisions of a batch, in the order of ``customer_ids``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        _DECISION | {"customer_id": "c1"},
                        _DECISION
                        | {
                            "decision_id": "019cadfd-8900-7000-8b1e-0d7a3c6f2e94",
                            "customer_id": "c2",
                            "action": None,
                            "propensity": 0.3,
                            "suppressed": [],
                            "distribution": {"no_contact": 0.3, "new_arrivals@push": 0.7},
                        },
                    ]
                }
            ]
        }
    )
    decisions: list[DecisionOut]


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


class EventOut(BaseModel):
    """A stored event, with the decision it was joined to."""

    event_id: str
    type: str = Field(description="An event type (`clicked`, `purchase`, …).")
    timestamp: str
    decision_id: str | None = Field(default=None, description="The decision the event named.")
    channel: str | None = None
    message_id: str | None = None
    value: float
    properties: dict[str, Any]
    attributed_to: str | None = Field(default=None, description="The decision it counts for.")
    late: bool = Field(description="After its decision's attribution window: not learned.")
    unknown_decision: bool = Field(description="Named a decision not logged (when received).")


class DecisionEventOut(EventOut):
    """An event joined to a decision, with what it is worth under the current goal."""

    reward: float


class DecisionDetail(DecisionOut):
    """A logged decision with its joined events and reward."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _DECISION
                | {
                    "trigger": "cart_abandoned",
                    "context": {"page": "/cart"},
                    "events": [_EVENT | {"reward": 0.05}],
                    "reward": 0.049,
                    "window_end": "2026-03-09T10:00:00+00:00",
                    "window_closed": False,
                    "reward_final": False,
                    "learned": False,
                }
            ]
        }
    )
    trigger: str | None = None
    context: dict[str, Any] | None = None
    events: list[DecisionEventOut]
    reward: float = Field(
        description="The reward so far: the goal's weights of the joined on-time events, "
        "minus the send cost."
    )
    window_end: str
    window_closed: bool = Field(description="Whether the attribution window has ended.")
    reward_final: bool = Field(
        description="Whether the reward is final: the learning loop closes a decision "
        "shortly after its window ends (events that come later are flagged late)."
    )
    learned: bool


# -- events ----------------------------------------------------------------------------------
class EventIn(_Strict):
    """One event; ``properties.consent`` (bool) for ``consent_changed``."""

    event_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    type: EventType
    timestamp: datetime
    decision_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=200)
    value: float | None = None
    properties: dict[str, Any] | None = None


class EventsRequest(_Strict):
    """A batch of events. **All-or-nothing**: if one event is invalid the call fails
    with 422 naming it (``events[i].field``) and nothing is stored. Re-sending an
    event (same ``event_id``) is harmless: it is counted as a duplicate."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "e1",
                            "customer_id": "c42",
                            "type": "clicked",
                            "timestamp": _NOW,
                            "decision_id": _DECISION_ID,
                            "channel": "email",
                            "message_id": "cart_reminder",
                        }
                    ]
                }
            ]
        },
    )
    events: list[EventIn] = Field(
        min_length=1,
        description="At most 10,000 events per call (more: 413): a batch is one transaction, "
        "and decisions wait for its commit.",
    )


class EventsResult(BaseModel):
    """What became of a batch of events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"accepted": 3, "duplicates": 1, "late": 0, "unknown_decision": 1}]
        }
    )
    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events whose event_id was already stored (ignored).")
    late: int = Field(description="Accepted events after their decision's window: not learned.")
    unknown_decision: int = Field(
        description="Accepted events naming a decision not logged (yet): joined again later."
    )


# -- customers -------------------------------------------------------------------------------
class CustomerPut(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "attributes": {"has_app": "yes", "device": "mobile"},
                    "consent": {"email": True, "sms": False},
                    "timezone": "Europe/Paris",
                }
            ]
        },
    )
    attributes: dict[str, str | float | int | bool | None] | None = None
    consent: dict[str, bool] | None = None
    timezone: str | None = None


class CustomerDecisionOut(BaseModel):
    """A recent decision of a customer, in short."""

    decision_id: str
    created_at: str
    action: ActionOut | None = Field(default=None, description="None: no contact.")
    propensity: float
    policy: PolicyOut
    reward: float | None = Field(
        default=None,
        description="None until the learning loop closes the decision, shortly after its "
        "attribution window ends.",
    )
    window_closed: bool = Field(description="Whether the attribution window has ended.")


class CustomerOut(BaseModel):
    """A customer's profile, signals now, 20 latest decisions and 50 latest events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "c42",
                    "timezone": "Europe/Paris",
                    "attributes": {"has_app": "yes", "device": "mobile"},
                    "consent": {
                        "email": True,
                        "sms": False,
                        "push": False,
                        "web": True,
                        "in_app": True,
                    },
                    "signals": {
                        "email_sends_7d": 1.0,
                        "email_clicks_7d": 1.0,
                        "email_days_since_contact": 0.08,
                        "cart_adds_7d": 1.0,
                        "days_since_purchase": 999.0,
                        "contacts_7d": 1.0,
                        "local_hour": 13.5,
                        "stage": 2.0,
                        "stage_name": "purchase",
                        "has_app": "yes",
                        "device": "mobile",
                    },
                    "decisions": [
                        {
                            "decision_id": _DECISION_ID,
                            "created_at": _AT,
                            "action": {"message_id": "cart_reminder", "channel": "email"},
                            "propensity": 0.92,
                            "policy": {"name": "linucb", "version": "1200"},
                            "reward": None,
                            "window_closed": False,
                        }
                    ],
                    "events": [_EVENT],
                }
            ]
        }
    )
    customer_id: str
    timezone: str = Field(description="IANA time zone (`UTC` unless set).")
    attributes: dict[str, str | float | int | bool | None]
    consent: dict[str, bool] = Field(description="Consent now, per channel of the catalog.")
    signals: dict[str, float | str] = Field(
        description="The signals policies and guardrails see now (numbers; the journey "
        "stage's name and the catalog's attributes as strings)."
    )
    decisions: list[CustomerDecisionOut] = Field(description="The 20 latest, newest first.")
    events: list[EventOut] = Field(description="The 50 latest, newest first.")


# -- configuration ---------------------------------------------------------------------------
class ConfigOut(BaseModel):
    """A configuration document and its version."""

    model_config = ConfigDict(
        json_schema_extra=_examples(
            lambda: {"kind": "goal", "version": 3, "document": config_example("goal")}
        )
    )
    kind: str = Field(description="`catalog`, `guardrails` or `goal`.")
    version: int = Field(description="Increases by one with every change.")
    document: dict[str, Any] = Field(description="The document, as last put.")


class AuditEntry(BaseModel):
    """One change: who, when, what, before and after."""

    id: int
    at: str
    who: str = Field(
        description="The id of the key that made the change; `env-admin`: `NBA_ADMIN_KEY`, "
        "`startup`: the configuration files, `cli`: the `nba` command."
    )
    action: str = Field(description="`create`, `update`, `revoke` or `promote`.")
    target: str = Field(description="`catalog`, `guardrails`, `goal`, `key` or `model`.")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditOut(BaseModel):
    """Configuration changes, newest first."""

    model_config = ConfigDict(
        json_schema_extra=_examples(
            lambda: {
                "entries": [
                    {
                        "id": 7,
                        "at": _AT,
                        "who": "k_3f2a9c1d0b7e",
                        "action": "update",
                        "target": "goal",
                        "before": config_example("goal"),
                        "after": config_example("goal") | {"attribution_window_days": 14},
                    },
                    {
                        "id": 6,
                        "at": "2026-03-01T09:12:44+00:00",
                        "who": "env-admin",
                        "action": "create",
                        "target": "key",
                        "before": None,
                        "after": {"key_id": "k_3f2a9c1d0b7e", "role": "marketer"},
                    },
                ]
            }
        )
    )
    entries: list[AuditEntry]


class DryRunRequest(_Strict):
    """A proposed rule set to compare with the current one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_examples(
            lambda: {
                "guardrails": config_example("guardrails")
                | {
                    "frequency_caps": [
                        {"name": "email_weekly", "channel": "email", "max": 1, "window_days": 7}
                    ]
                },
                "sample": 200,
            }
        ),
    )
    guardrails: dict[str, Any] = Field(
        description="A complete guardrails document, as `PUT /v1/guardrails` takes."
    )
    sample: int = Field(default=200, ge=1, le=10_000, description="Customers to decide for.")
    now: datetime | None = Field(default=None, description="Decision time (default: now).")


class DryRunSide(BaseModel):
    """What one rule set decides for the sample."""

    contacts_by_channel: dict[str, int] = Field(
        default_factory=dict, description="Decisions per channel (`no_contact` included)."
    )
    allowed_actions_mean: float = Field(
        default=0.0, description="Mean number of actions the rules allow per customer."
    )


class DryRunChange(BaseModel):
    """A customer whose decision the proposed rules change (action ids `message@channel`)."""

    customer_id: str
    current: str
    proposed: str


class DryRunOut(BaseModel):
    """The current and proposed rules' decisions for the same customers at the same time.
    With no customer decided yet, ``current`` and ``proposed`` are empty objects."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customers": 200,
                    "current": {
                        "contacts_by_channel": {"email": 61, "web": 97, "no_contact": 42},
                        "allowed_actions_mean": 14.2,
                    },
                    "proposed": {
                        "contacts_by_channel": {"email": 38, "web": 115, "no_contact": 47},
                        "allowed_actions_mean": 13.6,
                    },
                    "changed": 23,
                    "examples": [
                        {
                            "customer_id": "c42",
                            "current": "cart_reminder@email",
                            "proposed": "cart_reminder@web",
                        }
                    ],
                }
            ]
        }
    )
    customers: int = Field(description="Customers decided for (up to `sample`).")
    current: DryRunSide
    proposed: DryRunSide
    changed: int = Field(description="Customers whose decision differs.")
    examples: list[DryRunChange] = Field(description="Up to 20 of them.")


# -- admin -----------------------------------------------------------------------------------
class KeyRequest(_Strict):
    """The role of a new key."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "app"}]})
    role: Literal["app", "marketer", "admin"]


class KeyOut(BaseModel):
    """A new key (shown once)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "k_3f2a9c1d0b7e",
                    "key": "nba_Jq7yXc0Vt3kq9L1mQ2w8cZp4rTn6sYb0eHf5uKd3aGi",
                    "role": "app",
                }
            ]
        }
    )
    key_id: str = Field(description="Names the key in the audit log and `DELETE /v1/keys/{id}`.")
    key: str = Field(description="Shown once; only its hash is stored.")
    role: str


class PromoteRequest(_Strict):
    """The model to serve from now on."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"model_uri": "linucb:alpha=0.5"}]}
    )
    model_uri: str = Field(
        min_length=1,
        description="An MLflow model URI (`models:/nba@champion`, `runs:/<run_id>/policy`), "
        "a directory written by `nba train --out`, or a policy spec (`rules`, "
        "`linucb:alpha=0.5`).",
    )


class LearnRequest(_Strict):
    """The clock of a learning step (optional body)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"now": "2026-03-09T10:00:00Z"}]}
    )
    now: datetime | None = Field(default=None, description="Clock for closing windows.")


class LearnOut(BaseModel):
    """What one learning step did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rejoined": 2,
                    "closed": 340,
                    "learned": 340,
                    "policy": {"name": "linucb", "version": "1540"},
                }
            ]
        }
    )
    rejoined: int = Field(description="Events joined to a decision logged since they came.")
    closed: int = Field(description="Decisions whose attribution window closed.")
    learned: int = Field(description="Closed decisions the policy learned from.")
    policy: PolicyOut = Field(description="The serving policy after the step.")


# -- operations ------------------------------------------------------------------------------
class MetricsDay(BaseModel):
    """One day of a group (decisions and contacts by decision day, outcomes by event day)."""

    day: str
    decisions: int
    contacts: int
    contacts_by_channel: dict[str, int]
    reward: float
    conversions: int
    unsubscribes: int


class MetricsGroup(BaseModel):
    """Served customers, or the global holdout, over the period."""

    customers: int = Field(description="Customers decided for in the period.")
    decisions: int
    contacts: dict[str, int] = Field(description="Contacts by channel.")
    closed: int = Field(description="Decisions whose attribution window closed.")
    reward: float = Field(description="Total reward of the closed decisions.")
    reward_per_decision: float | None = None
    conversions: int = Field(
        description="`purchase` and `converted` events of the group's customers from their "
        "first decision of the period on, whether or not they name a decision."
    )
    unsubscribes: int
    by_day: list[MetricsDay]


class Lift(BaseModel):
    """Served minus holdout, per customer, with a 95 % interval (normal approximation,
    unequal variances); null where a group is empty or too small."""

    served: float | None = None
    holdout: float | None = None
    difference: float | None = None
    ci95: list[float] | None = None
    relative: float | None = Field(default=None, description="difference / holdout")


class MetricsLift(BaseModel):
    """How served customers compare with the holdout."""

    conversions_per_customer: Lift
    unsubscribes_per_customer: Lift


_DAY_EXAMPLE: dict[str, Any] = {
    "day": "2026-03-02",
    "decisions": 9500,
    "contacts": 6100,
    "contacts_by_channel": {"email": 2300, "web": 2900, "in_app": 900},
    "reward": 301.2,
    "conversions": 412,
    "unsubscribes": 9,
}


class MetricsOut(BaseModel):
    """Business metrics per day for served customers and the global holdout, and the
    lift the holdout measures."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since": "2026-02-01T10:00:00+00:00",
                    "until": _AT,
                    "served": {
                        "customers": 9500,
                        "decisions": 9500,
                        "contacts": {"email": 2300, "web": 2900, "in_app": 900},
                        "closed": 9100,
                        "reward": 301.2,
                        "reward_per_decision": 0.0331,
                        "conversions": 412,
                        "unsubscribes": 9,
                        "by_day": [_DAY_EXAMPLE],
                    },
                    "holdout": {
                        "customers": 500,
                        "decisions": 500,
                        "contacts": {},
                        "closed": 480,
                        "reward": 0.0,
                        "reward_per_decision": 0.0,
                        "conversions": 17,
                        "unsubscribes": 0,
                        "by_day": [
                            _DAY_EXAMPLE
                            | {
                                "decisions": 500,
                                "contacts": 0,
                                "contacts_by_channel": {},
                                "reward": 0.0,
                                "conversions": 17,
                                "unsubscribes": 0,
                            }
                        ],
                    },
                    "lift": {
                        "conversions_per_customer": {
                            "served": 0.0434,
                            "holdout": 0.034,
                            "difference": 0.0094,
                            "ci95": [-0.0073, 0.0261],
                            "relative": 0.276,
                        },
                        "unsubscribes_per_customer": {
                            "served": 0.00095,
                            "holdout": 0.0,
                            "difference": 0.00095,
                            "ci95": [0.00033, 0.00157],
                            "relative": None,
                        },
                    },
                }
            ]
        }
    )
    since: str
    until: str
    served: MetricsGroup
    holdout: MetricsGroup
    lift: MetricsLift


class Health(BaseModel):
    """Liveness, the serving policy and the configuration versions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "degraded": False,
                    "reason": None,
                    "policy": {
                        "name": "linucb",
                        "version": "1200",
                        "source": "models:/nba@champion",
                        "requested_model": None,
                        "degraded": False,
                        "reason": None,
                    },
                    "config_versions": {"catalog": 1, "guardrails": 4, "goal": 2},
                    "database": "postgresql",
                    "uptime_seconds": 86400.5,
                }
            ]
        }
    )
    status: Literal["ok", "degraded"]
    degraded: bool
    reason: str | None = None
    policy: PolicyInfo
    config_versions: dict[str, int]
    database: str = Field(description="The database's dialect (`sqlite`, `postgresql`).")
    uptime_seconds: float
