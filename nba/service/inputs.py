"""What the service accepts: times, customer ids, event values and context attributes,
checked with errors that name the field at fault."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nba.catalog import Catalog
from nba.clock import epoch
from nba.exceptions import InputError, TooLargeError

__all__ = [
    "MAX_BATCH",
    "MAX_EVENTS",
    "MAX_VALUE",
    "checked_time",
    "checked_ids",
    "declared_attributes",
]

#: Customers per decision call.
MAX_BATCH = 10_000
#: Events per ingestion call: one transaction, which decisions wait for (~0.4 s at most).
MAX_EVENTS = 10_000
#: The largest event value (a purchase amount) the service accepts: sums of values stay
#: finite, and so do rewards and the signals that add them up (in float32).
MAX_VALUE = 1e9
#: The times the service accepts (a decision's ``now``, an event's timestamp): from the
#: Unix epoch to 2200 (later ones would not survive an attribution window's end).
EARLIEST, LATEST = 0.0, 7_258_118_400.0


def checked_time(now: datetime | None, field: str = "now") -> float:
    """``now`` in epoch seconds (default: the wall clock), checked.

    Raises
    ------
    InputError
        Naming ``field`` when the time is before 1970 or from 2200 on.

    Examples
    --------
    >>> from datetime import UTC
    >>> checked_time(datetime(2026, 3, 2, tzinfo=UTC))
    1772409600.0
    >>> checked_time(datetime(9999, 12, 31), "events[0].timestamp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.InputError: `events[0].timestamp`: expected a time from 1970 to 2199, got 9...
    """
    if now is None:
        return time.time()
    t = epoch(now)
    if not EARLIEST <= t < LATEST:
        raise InputError(f"`{field}`: expected a time from 1970 to 2199, got {now.isoformat()}")
    return t


def checked_ids(customer_ids: Sequence[str]) -> list[str]:
    """The ids of a decision request, as strings: 1 to MAX_BATCH distinct ids of 1 to 200 chars.

    Raises
    ------
    InputError, TooLargeError
        Naming ``customer_ids`` and what is wrong.

    Examples
    --------
    >>> checked_ids(["a", "b"])
    ['a', 'b']
    >>> checked_ids(["a", "a"])
    Traceback (most recent call last):
    ...
    nba.exceptions.InputError: `customer_ids`: customer `a` appears more than once
    """
    ids = [str(c) for c in customer_ids]
    if not ids:
        raise InputError("`customer_ids`: expected at least one customer id")
    if len(ids) > MAX_BATCH:
        raise TooLargeError(
            f"`customer_ids`: at most {MAX_BATCH} customers per call, got {len(ids)}; "
            "split the list"
        )
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(c for c in ids if c in seen or seen.add(c))  # type: ignore[func-returns-value]
        raise InputError(f"`customer_ids`: customer `{dup}` appears more than once")
    bad = next((c for c in ids if not c or len(c) > 200), None)
    if bad is not None:
        raise InputError(
            f"`customer_ids`: ids must be 1 to 200 characters, got {bad[:40]!r}"
            + ("…" if len(bad) > 40 else "")
        )
    return ids


def declared_attributes(catalog: Catalog, values: dict[str, Any], where: str) -> dict[str, Any]:
    """The values of ``values`` that are attributes the catalog declares, checked
    (a number for a numeric one, one of its values for a categorical one);
    ``where`` prefixes the field names errors give (none when empty).

    Raises
    ------
    InputError
        Naming ``<where>.<attribute>`` and what was expected.

    Examples
    --------
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}],
    ...                          "attributes": {"device": {"type": "categorical",
    ...                                                    "values": ["mobile", "desktop"]}}})
    >>> declared_attributes(cat, {"device": "mobile", "page": "/cart"}, "context")
    {'device': 'mobile'}
    >>> declared_attributes(cat, {"device": "toaster"}, "context")
    Traceback (most recent call last):
    ...
    nba.exceptions.InputError: `context.device`: expected one of mobile, desktop, got 'toaster'
    """
    out: dict[str, Any] = {}
    for k, v in values.items():
        spec = catalog.attributes.get(k)
        if spec is None or v is None:
            continue
        name = f"{where}.{k}" if where else k
        if spec.type == "numeric":
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                raise InputError(f"`{name}`: expected a number, got {v!r}") from None
        else:
            if spec.values and str(v) not in spec.values:
                raise InputError(f"`{name}`: expected one of {', '.join(spec.values)}, got {v!r}")
            out[k] = str(v)
    return out
