"""Composable pieces of the simulator: fatigue, response delays, drift.

Each is a small object with its own state or parameters; the
:class:`~nba.simulator.core.Simulator` composes them instead of carrying
flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nba.clock import DAY, HOUR
from nba.simulator.population import drifted_segments
from nba.simulator.scenario import DelaySpec, DriftSpec, SegmentSpec

__all__ = ["Fatigue", "Delays", "Drift"]


class Fatigue:
    """Recent contacts per customer, decaying exponentially with rest.

    Responses are divided by ``1 + trait * recent`` (see
    :meth:`factor`); risks are multiplied by ``1 + over_contact * recent``.

    Examples
    --------
    >>> f = Fatigue(2, recovery_days=4.0)
    >>> f.add(np.array([0]))
    >>> f.rest(4.0)
    >>> round(float(f.recent[0]), 3)
    0.368
    """

    def __init__(self, n: int, *, recovery_days: float) -> None:
        self.recovery_days = recovery_days
        self.recent = np.zeros(n)

    def add(self, rows: np.ndarray) -> None:
        """One more contact for each row."""
        np.add.at(self.recent, rows, 1.0)

    def rest(self, days: float) -> None:
        """Let ``days`` pass."""
        self.recent *= np.exp(-days / self.recovery_days)

    def factor(self, rows: np.ndarray, trait: np.ndarray) -> np.ndarray:
        """Response multiplier of customers ``rows``: shape (len(rows),)."""
        return 1.0 / (1.0 + trait[rows] * self.recent[rows])


@dataclass(frozen=True)
class Delays:
    """Exponential response delays and the chance they land in a window.

    An open comes ``Exp(open_hours)`` after the send; a click, unsubscribe
    or complaint follows the open by ``follow_seconds``; a purchase follows
    the click by ``Exp(purchase_days)``.

    Examples
    --------
    >>> d = Delays(open_hours=6.0, purchase_days=1.5)
    >>> 0.9 < d.p_purchase_within(7 * DAY) < 1.0
    True
    """

    open_hours: float = 6.0
    purchase_days: float = 1.5
    follow_seconds: float = 60.0

    @classmethod
    def from_spec(cls, spec: DelaySpec) -> Delays:
        """From a scenario's ``delays``."""
        return cls(open_hours=spec.open_hours, purchase_days=spec.purchase_days)

    def sample_open(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Seconds from send to open, shape (k,)."""
        return rng.exponential(self.open_hours * HOUR, k)

    def sample_purchase(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Seconds from click to purchase, shape (k,)."""
        return rng.exponential(self.purchase_days * DAY, k)

    def p_open_within(self, window: float) -> float:
        """P(a click, unsubscribe or complaint lands within ``window`` seconds of the send)."""
        t = window - self.follow_seconds
        return float(1.0 - np.exp(-t / (self.open_hours * HOUR))) if t > 0 else 0.0

    def p_purchase_within(self, window: float) -> float:
        """P(open + follow + purchase delay <= ``window``): a hypoexponential CDF."""
        t = window - self.follow_seconds
        if t <= 0:
            return 0.0
        a, b = 1.0 / (self.open_hours * HOUR), 1.0 / (self.purchase_days * DAY)
        if abs(a - b) < 1e-15:
            return float(1.0 - np.exp(-a * t) * (1.0 + a * t))
        return float(1.0 - (b * np.exp(-a * t) - a * np.exp(-b * t)) / (b - a))


@dataclass(frozen=True)
class Drift:
    """Segment traits that change from given days on (cumulative).

    Examples
    --------
    >>> from nba.simulator.scenario import DriftSpec
    >>> base = (SegmentSpec(name="a", share=1.0, click_rate=0.2),)
    >>> d = Drift((DriftSpec(day=30, segments={"a": {"click_rate": 0.1}}),))
    >>> d.segments_at(29, base)[0].click_rate, d.segments_at(30, base)[0].click_rate
    (0.2, 0.1)
    """

    changes: tuple[DriftSpec, ...] = field(default_factory=tuple)

    def change_days(self) -> tuple[int, ...]:
        """Days on which the traits change."""
        return tuple(sorted({c.day for c in self.changes}))

    def segments_at(self, day: int, base: tuple[SegmentSpec, ...]) -> tuple[SegmentSpec, ...]:
        """The segments in force on ``day``."""
        segs = base
        for change in sorted(self.changes, key=lambda c: c.day):
            if change.day <= day:
                over: Mapping[str, Mapping[str, Any]] = change.segments
                segs = drifted_segments(segs, over)
        return segs
