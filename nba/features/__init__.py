"""Signals: customer state from events, and their encoding for policies."""

from nba.features.context import Context
from nba.features.encoding import Encoder
from nba.features.signals import (
    EVENT_CODES,
    NEVER_DAYS,
    WINDOWS,
    CustomerStates,
    SignalDef,
    Signals,
    signal_definitions,
)

__all__ = [
    "Context",
    "EVENT_CODES",
    "NEVER_DAYS",
    "WINDOWS",
    "CustomerStates",
    "Encoder",
    "SignalDef",
    "Signals",
    "signal_definitions",
]
