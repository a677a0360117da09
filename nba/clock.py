"""Time in nba: epoch seconds (UTC) inside, ISO-8601 at the edges.

Every module that turns a :class:`~datetime.datetime` into seconds, or seconds
back into text, goes through these helpers, so a naive time means UTC
everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["DAY", "HOUR", "epoch", "iso"]

HOUR = 3_600.0
DAY = 86_400.0


def epoch(ts: datetime) -> float:
    """Seconds since the Unix epoch; a naive ``ts`` is read as UTC.

    Examples
    --------
    >>> epoch(datetime(2026, 3, 2))
    1772409600.0
    >>> epoch(datetime(2026, 3, 2, tzinfo=UTC)) == epoch(datetime(2026, 3, 2))
    True
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def iso(t: float) -> str:
    """ISO-8601 text of epoch seconds, in UTC.

    Examples
    --------
    >>> iso(1772409600.0)
    '2026-03-02T00:00:00+00:00'
    """
    return datetime.fromtimestamp(t, UTC).isoformat()
