"""Signals: customer state from events, and their encoding for policies."""

from nba.events import EVENT_CODES
from nba.features.context import Context
from nba.features.encoding import Encoder
from nba.features.signals import NEVER_DAYS, WINDOWS, SignalDef, Signals, signal_definitions
from nba.features.state import CustomerStates

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
