"""Configuration: the example documents, the bodies of ``PUT /v1/{kind}``, the audit and
dry runs.

The configuration examples are the shipped omnichannel example
(:mod:`nba.examples`), read when the OpenAPI document is built, not at import.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _AT, _examples, _Strict
from nba.config import load_document
from nba.examples import DEFAULT_EXAMPLE, example_path

__all__ = [
    "config_example",
    "CONFIG_BODIES",
    "ConfigOut",
    "AuditEntry",
    "AuditOut",
    "DryRunRequest",
    "DryRunSide",
    "DryRunChange",
    "DryRunOut",
]


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


# -- versions, audit and dry runs ----------------------------------------------------------
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
