"""Signals: customer state from events, and their encoding for policies."""

from nba.features.encoding import Encoder
from nba.features.signals import (
    DAY,
    EVENT_CODES,
    NEVER_DAYS,
    WINDOWS,
    CustomerStates,
    SignalDef,
    Signals,
    signal_definitions,
)

__all__ = [
    "DAY",
    "EVENT_CODES",
    "NEVER_DAYS",
    "WINDOWS",
    "CustomerStates",
    "Encoder",
    "SignalDef",
    "Signals",
    "signal_definitions",
]
