"""Customers: a profile put, and a customer read back with its decisions and events."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _AT, _DECISION_ID, _EVENT, _Strict
from nba.api.schemas.decisions import ActionOut, EventOut, PolicyOut

__all__ = ["CustomerPut", "CustomerDecisionOut", "CustomerOut"]


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
