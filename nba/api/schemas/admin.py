"""Administration: API keys, promoting a model, and the learning loop run on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _Strict
from nba.api.schemas.decisions import PolicyOut

__all__ = ["KeyRequest", "KeyOut", "PromoteRequest", "LearnRequest", "LearnOut"]


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
