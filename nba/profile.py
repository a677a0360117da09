"""Customer profiles: attributes, consent, time zone and event history.

The JSON document ``nba decide --profile`` reads::

    {"customer_id": "c42", "timezone": "Europe/Paris",
     "attributes": {"country": "FR", "age": 31},
     "consent": {"email": true, "sms": false},
     "events": [{"type": "opened", "timestamp": "2026-03-01T09:30:00Z",
                 "channel": "email", "message_id": "welcome"}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nba.catalog import Catalog
from nba.config import load_document, validate
from nba.events import Event, EventType, parse_timestamp
from nba.exceptions import ProfileError
from nba.features.state import CustomerStates

__all__ = ["CustomerProfile", "load_profile", "parse_profile", "states_from_profiles"]


class _EventModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EventType
    timestamp: datetime
    channel: str | None = None
    message_id: str | None = None
    value: float = 0.0
    event_id: str | None = None
    decision_id: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return parse_timestamp(v)
            except ValueError:
                raise ValueError(f"expected an ISO-8601 timestamp, got {v!r}") from None
        return v


class _ProfileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1)
    timezone: str = "UTC"
    attributes: dict[str, str | float | int | bool | None] = Field(default_factory=dict)
    consent: dict[str, bool] = Field(default_factory=dict)
    events: list[_EventModel] = Field(default_factory=list)


@dataclass(frozen=True)
class CustomerProfile:
    """One customer: id, time zone, attributes, consent and events."""

    customer_id: str
    timezone: str
    attributes: dict[str, Any]
    consent: dict[str, bool]
    events: tuple[Event, ...]


def parse_profile(data: Any, source: str = "<profile>") -> CustomerProfile:
    """Validate a parsed profile document.

    Raises
    ------
    ProfileError
        Naming the source, the event and the field at fault.

    Examples
    --------
    >>> p = parse_profile({"customer_id": "c1", "consent": {"email": True},
    ...                    "events": [{"type": "opened", "timestamp": "2026-01-01T00:00:00Z",
    ...                                "channel": "email"}]})
    >>> p.events[0].type.value
    'opened'
    """
    m = validate(_ProfileModel, data, source, ProfileError, item_labels={"events": "event"})
    events = tuple(
        Event(
            customer_id=m.customer_id,
            type=e.type,
            timestamp=parse_timestamp(e.timestamp),
            channel=e.channel,
            message_id=e.message_id,
            value=e.value,
            decision_id=e.decision_id,
            event_id=e.event_id,
            properties=e.properties,
        )
        for e in m.events
    )
    return CustomerProfile(m.customer_id, m.timezone, dict(m.attributes), dict(m.consent), events)


def load_profile(path: str | Path) -> CustomerProfile:
    """Load a profile JSON/YAML file (see the module docstring).

    Raises
    ------
    ProfileError
        If the file is missing or invalid.
    """
    return parse_profile(load_document(path, ProfileError), source=str(path))


def states_from_profiles(
    catalog: Catalog, profiles: Sequence[CustomerProfile], source: str = "<profile>"
) -> CustomerStates:
    """Build the state table of these customers and fold in their events.

    Raises
    ------
    ProfileError
        If a profile names a channel or attribute value the catalog does not know.
    """
    channels = catalog.channel_ids
    for p in profiles:
        for ch in p.consent:
            if ch not in channels:
                raise ProfileError(
                    f"{source}, customer `{p.customer_id}`: `consent` names unknown channel "
                    f"`{ch}`; expected one of {', '.join(channels)}"
                )
    consent = np.array(
        [[p.consent.get(c.id, not c.requires_consent) for c in catalog.channels] for p in profiles],
        dtype=bool,
    ).reshape(len(profiles), len(channels))
    attributes: dict[str, np.ndarray] = {}
    for name, spec in catalog.attributes.items():
        raw = [p.attributes.get(name) for p in profiles]
        if spec.type == "numeric":
            vals = []
            for p, r in zip(profiles, raw, strict=True):
                try:
                    vals.append(spec.default if r is None else float(r))
                except (TypeError, ValueError):
                    raise ProfileError(
                        f"{source}, customer `{p.customer_id}`: attribute `{name}` must be a "
                        f"number, got {r!r}"
                    ) from None
            attributes[name] = np.array(vals, dtype=float)
        else:
            attributes[name] = np.array(["" if r is None else str(r) for r in raw], dtype=object)
    for i, p in enumerate(profiles):  # undeclared attributes: kept for rules, not encoded
        for k, value in p.attributes.items():
            if k not in catalog.attributes:
                attributes.setdefault(k, np.full(len(profiles), None, dtype=object))[i] = value
    try:
        states = CustomerStates(
            catalog,
            [p.customer_id for p in profiles],
            consent=consent,
            timezones=[p.timezone for p in profiles],
            attributes=attributes,
        )
        states.apply_events([e for p in profiles for e in p.events])
    except ProfileError as exc:
        raise ProfileError(f"{source}: {exc}") from None
    return states
