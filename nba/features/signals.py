"""Signals: the features of customers that policies and guardrails read.

:class:`Signals` holds every signal of n customers at one instant, as arrays;
:func:`signal_definitions` is the documented list of them. They are computed
from events by :class:`~nba.features.state.CustomerStates`, one definition
serving the service (a table of one customer) and the simulator (a table of
all of them), so they cannot disagree.

Windows are whole UTC days: "7d" means today and the six days before.
Events older than 90 days leave the windowed counts but stay in lifetime
totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from nba.catalog import STAGES

__all__ = [
    "WINDOWS",
    "NEVER_DAYS",
    "SignalDef",
    "signal_definitions",
    "Signals",
]

#: Windows (days) of the windowed counts.
WINDOWS: tuple[int, ...] = (7, 30, 90)
#: Value of a "days since" signal when the thing never happened.
NEVER_DAYS = 999.0


@dataclass(frozen=True, slots=True)
class SignalDef:
    """Documentation of one signal: name, meaning, window (days or None)."""

    name: str
    meaning: str
    window: int | None = None


def signal_definitions(channels: Sequence[str]) -> tuple[SignalDef, ...]:
    """Every numeric signal, in the order :meth:`CustomerStates.signals` returns them.

    Examples
    --------
    >>> [d.name for d in signal_definitions(["email"])][:3]
    ['email_sends_1d', 'email_sends_7d', 'email_opens_7d']
    """
    defs: list[SignalDef] = []
    for c in channels:
        defs.append(SignalDef(f"{c}_sends_1d", f"messages sent on {c} today (UTC)", 1))
        for w in WINDOWS:
            defs += [
                SignalDef(f"{c}_sends_{w}d", f"messages sent on {c}", w),
                SignalDef(f"{c}_opens_{w}d", f"opens of messages on {c}", w),
                SignalDef(f"{c}_clicks_{w}d", f"clicks in messages on {c}", w),
            ]
        defs += [
            SignalDef(
                f"{c}_days_since_contact",
                f"days since the last send on {c} ({NEVER_DAYS:g} if never)",
            ),
            SignalDef(f"{c}_consent", f"1 if the customer consents to {c}, else 0"),
        ]
    defs += [
        SignalDef("page_views_7d", "pages browsed", 7),
        SignalDef("page_views_30d", "pages browsed", 30),
        SignalDef("cart_adds_7d", "products added to the cart", 7),
        SignalDef("complaints_90d", "complaints (spam reports)", 90),
        SignalDef("purchases_30d", "purchases (purchase or converted events)", 30),
        SignalDef("purchases_90d", "purchases (purchase or converted events)", 90),
        SignalDef("revenue_90d", "sum of purchase values", 90),
        SignalDef("purchases_total", "purchases over the customer's lifetime"),
        SignalDef("revenue_total", "purchase value over the customer's lifetime"),
        SignalDef(
            "days_since_purchase",
            f"recency: days since the last purchase ({NEVER_DAYS:g} if never)",
        ),
        SignalDef("contacts_1d", "sends on any channel today (UTC)", 1),
        SignalDef("contacts_7d", "sends on any channel", 7),
        SignalDef("contacts_30d", "sends on any channel", 30),
        SignalDef(
            "days_since_contact",
            f"days since the last send on any channel ({NEVER_DAYS:g} if never)",
        ),
        SignalDef("tenure_days", "days since the customer's first event or sign-up"),
        SignalDef("local_hour", "hour of day (0-24, fractional) in the customer's time zone"),
        SignalDef(
            "stage",
            "journey stage, index into nba.catalog.STAGES: awareness (no "
            "purchase, little engagement); consideration (no purchase, >= 3 page views "
            "or a click in 30d); purchase (no purchase, a cart add or >= 5 page views "
            "in 7d); onboarding (first purchase <= 30d ago); retention (bought before); "
            "advocacy (>= 3 purchases, last <= 90d ago); winback (last purchase > 90d "
            "ago)",
        ),
    ]
    return tuple(defs)


@dataclass(frozen=True)
class Signals:
    """The signals of n customers at one instant.

    Attributes
    ----------
    customer_ids
        Shape (n,), object.
    now
        When the signals were computed (aware UTC).
    channels, message_ids
        Column order of ``consent`` and ``days_since_message``.
    values
        Numeric signals by name, each shape (n,) float64 (see
        :func:`signal_definitions`).
    consent
        Shape (n, n_channels) bool.
    days_since_message
        Shape (n, n_messages): days since each message was last sent
        (``inf`` if never), for progression rules.
    attributes
        Profile attributes by name, each shape (n,) (object or float).
    """

    customer_ids: np.ndarray
    now: datetime
    channels: tuple[str, ...]
    message_ids: tuple[str, ...]
    values: dict[str, np.ndarray]
    consent: np.ndarray
    days_since_message: np.ndarray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __getitem__(self, name: str) -> np.ndarray:
        """A signal or an attribute by name."""
        if name in self.values:
            return self.values[name]
        return self.attributes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.attributes

    def take(self, rows: np.ndarray) -> Signals:
        """The signals of a subset of customers."""
        return replace(
            self,
            customer_ids=self.customer_ids[rows],
            values={k: v[rows] for k, v in self.values.items()},
            consent=self.consent[rows],
            days_since_message=self.days_since_message[rows],
            attributes={k: v[rows] for k, v in self.attributes.items()},
        )

    @classmethod
    def concat(cls, parts: Sequence[Signals]) -> Signals:
        """The signals of several batches of the same catalog, one after the other;
        ``now`` is the latest.

        Examples
        --------
        >>> from nba.catalog import Catalog
        >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
        ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
        >>> from datetime import UTC
        >>> from nba.features.state import CustomerStates
        >>> st = CustomerStates(cat, ["a", "b"])
        >>> both = Signals.concat([st.signals(datetime(2026, 1, 1, tzinfo=UTC)),
        ...                        st.signals(datetime(2026, 1, 2, tzinfo=UTC))])
        >>> len(both), both.now.day
        (4, 2)
        """
        first = parts[0]
        if len(parts) == 1:
            return first
        return replace(
            first,
            customer_ids=np.concatenate([p.customer_ids for p in parts]),
            now=max(p.now for p in parts),
            values={k: np.concatenate([p.values[k] for p in parts]) for k in first.values},
            consent=np.concatenate([p.consent for p in parts]),
            days_since_message=np.concatenate([p.days_since_message for p in parts]),
            attributes={
                k: np.concatenate([p.attributes[k] for p in parts]) for k in first.attributes
            },
        )

    def row(self, i: int) -> dict[str, float | str]:
        """One customer's numeric signals and attributes as a plain dict."""
        out: dict[str, float | str] = {k: float(v[i]) for k, v in self.values.items()}
        out["stage_name"] = STAGES[int(self.values["stage"][i])]
        for k, v in self.attributes.items():
            out[k] = v[i] if isinstance(v[i], str) else float(v[i])
        return out
