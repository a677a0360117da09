"""Operations: holdout metrics and lift, and the health check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nba.api.schemas._shared import _AT
from nba.api.schemas.decisions import PolicyInfo

__all__ = ["MetricsDay", "MetricsGroup", "Lift", "MetricsLift", "MetricsOut", "Health"]


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
