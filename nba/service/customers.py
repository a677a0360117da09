"""Customers: a customer's attributes, consent, signals, recent decisions and events,
and changes to its attributes, consent and time zone (a consent given is also a
``consent_changed`` event, so that it overrides older unsubscribes)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nba.clock import iso
from nba.events import EventType
from nba.exceptions import InputError, NotFoundError
from nba.store import customers as stored
from nba.store import decisions as stored_decisions
from nba.store import events as stored_events
from nba.store.db import Store

from .events import event_dict
from .inputs import checked_time, declared_attributes
from .learning import ChosenAction
from .runtime import Runtimes
from .serving import PolicyRef

__all__ = ["CustomerDecision", "CustomerView", "Customers"]


@dataclass(frozen=True)
class CustomerDecision:
    """One of a customer's recent decisions: what it chose, with which policy, its
    reward (``None`` until closed) and whether its attribution window has ended."""

    decision_id: str
    created_at: str
    action: ChosenAction | None
    propensity: float
    policy: PolicyRef
    reward: float | None
    window_closed: bool


@dataclass(frozen=True)
class CustomerView:
    """A customer: attributes, consent per channel, signals now, recent decisions
    (newest first) and recent events as the API renders them."""

    customer_id: str
    timezone: str | None
    attributes: dict[str, Any]
    consent: dict[str, bool]
    signals: dict[str, float | str]
    decisions: tuple[CustomerDecision, ...]
    events: tuple[dict[str, Any], ...]


class Customers:
    """Read and change customers."""

    def __init__(self, store: Store, runtimes: Runtimes) -> None:
        self.store = store
        self.runtimes = runtimes

    def get_customer(self, customer_id: str, now: datetime | None = None) -> CustomerView:
        """Attributes, consent, signals, recent decisions and events of a customer.

        Raises
        ------
        NotFoundError
            If the service never heard of the customer.
        """
        t = checked_time(now)
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
            rows = stored.load_customers(conn, [customer_id])
            if customer_id not in rows:
                raise NotFoundError(f"no customer with id `{customer_id}`")
            hist = stored.load_history(conn, rt.catalog, [customer_id])
            recent_d = stored_decisions.recent_decisions(conn, customer_id, 20)
            recent_e = stored_events.recent_events(conn, customer_id, 50)
        row = rows[customer_id]
        states = hist.to_states(rt.catalog, [customer_id], rows)
        sig = states.signals(datetime.fromtimestamp(t, UTC))
        consent = {c: bool(sig.consent[0, j]) for j, c in enumerate(sig.channels)}
        return CustomerView(
            customer_id=customer_id,
            timezone=row.timezone,
            attributes=json.loads(row.attributes or "{}"),
            consent=consent,
            signals=sig.row(0),
            decisions=tuple(
                CustomerDecision(
                    decision_id=d.decision_id,
                    created_at=iso(d.created_at),
                    action=None if d.action == 0 else ChosenAction(d.message_id, d.channel),
                    propensity=d.propensity,
                    policy=PolicyRef(d.policy_name, d.policy_version),
                    reward=d.reward,
                    window_closed=bool(d.closed) or t >= d.window_end,
                )
                for d in recent_d
            ),
            events=tuple(event_dict(e) for e in recent_e),
        )

    def put_customer(
        self,
        customer_id: str,
        *,
        attributes: dict[str, Any] | None,
        consent: dict[str, bool] | None,
        timezone: str | None,
        who: str,
    ) -> CustomerView:
        """Set a customer's attributes, consent and time zone (merged into what is stored).

        A consent given here is also recorded as a ``consent_changed`` event
        so that it overrides older unsubscribes, and applies to the next decision.

        Raises
        ------
        InputError
            Naming the channel, attribute or time zone at fault.
        """
        if not 1 <= len(customer_id) <= 200:  # (what a decision request accepts)
            raise InputError(
                f"`customer_id`: ids must be 1 to 200 characters, got {len(customer_id)}"
            )
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
        cat = rt.catalog
        for ch in consent or {}:
            if ch not in cat.channel_ids:
                raise InputError(
                    f"`consent.{ch}`: unknown channel; expected one of {', '.join(cat.channel_ids)}"
                )
        declared_attributes(cat, attributes or {}, "attributes")
        if timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(
                    f"`timezone`: unknown time zone {timezone!r}; expected an IANA name such as "
                    "'Europe/Paris'"
                ) from None
        now = time.time()
        with self.store.write() as conn:
            stored.ensure_customers(conn, [customer_id], now)
            row = stored.lock_customers(conn, [customer_id])[customer_id]
            attrs = json.loads(row.attributes or "{}") | dict(attributes or {})
            cons = json.loads(row.consent or "{}") | dict(consent or {})
            values: dict[str, Any] = {
                "attributes": json.dumps(attrs),
                "consent": json.dumps(cons),
                "updated_at": now,
            }
            if timezone is not None:
                values["timezone"] = timezone
            stored.update_customer(conn, customer_id, values)
            if consent:
                stored_events.add_events(
                    conn,
                    [
                        {
                            "event_id": f"consent:{customer_id}:{ch}:{now:.6f}",
                            "customer_id": customer_id,
                            "type": EventType.CONSENT_CHANGED.value,
                            "ts": now,
                            "decision_id": None,
                            "channel": ch,
                            "message_id": None,
                            "value": 0.0,
                            "properties": json.dumps(
                                {"consent": bool(v), "source": f"PUT by {who}"}
                            ),
                            "received_at": now,
                            "attributed_to": None,
                            "late": False,
                            "unknown_decision": False,
                        }
                        for ch, v in consent.items()
                    ],
                )
        return self.get_customer(customer_id)
