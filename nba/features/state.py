"""Customer state: n customers' event history as arrays, from which signals are computed.

:class:`CustomerStates` holds the state of n customers as arrays;
:meth:`CustomerStates.apply_events` folds in events (vectorised;
:meth:`CustomerStates.apply` is the same code with one event) and
:meth:`CustomerStates.signals` computes every signal of
:func:`~nba.features.signals.signal_definitions` for many customers at once.
The service keeps a table of one customer, the simulator a table of all of
them — so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.clock import DAY, HOUR, epoch
from nba.events import EVENT_CODES, Event, EventType
from nba.exceptions import ProfileError
from nba.features.signals import NEVER_DAYS, WINDOWS, Signals

__all__ = ["CustomerStates"]

#: Days kept in the ring of daily counts (the longest window).
_RING = 90

_PER_CHANNEL = (EventType.SENT, EventType.OPENED, EventType.CLICKED)
_GLOBAL = (EventType.PAGE_VIEW, EventType.CART_ADD, EventType.COMPLAINT)
_PURCHASE = (EventType.PURCHASE, EventType.CONVERTED)
#: Every window summed, in order (nested: each adds days to the one before).
_SUM_WINDOWS: tuple[int, ...] = tuple(sorted({1, *WINDOWS}))
_SUM_WINDOW_COL = np.array(_SUM_WINDOWS, dtype=np.int64).reshape(-1, 1)
_IS_PURCHASE = np.isin(np.arange(len(EVENT_CODES)), [EVENT_CODES[t] for t in _PURCHASE])
_SENT = EVENT_CODES[EventType.SENT]
_UNSUB = EVENT_CODES[EventType.UNSUBSCRIBED]
_CONSENT_CHANGED = EVENT_CODES[EventType.CONSENT_CHANGED]
_CHANGES_CONSENT = np.isin(np.arange(len(EVENT_CODES)), [_UNSUB, _CONSENT_CHANGED])


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _utc_offset(now: datetime, zone: str) -> float:
    """Seconds to add to UTC to get local time in ``zone`` at instant ``now``."""
    offset = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(_zone(zone)).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


class _Layout:
    """What a state table's arrays look like for a catalog (built once per catalog)."""

    def __init__(self, catalog: Catalog) -> None:
        channels, messages = catalog.channel_ids, catalog.message_ids
        n_ch, n_msg = len(channels), len(messages)
        self.chan = {c: i for i, c in enumerate(channels)}
        self.msg = {m: i for i, m in enumerate(messages)}
        self.n_counters = 3 * n_ch + len(_GLOBAL) + 2  # + purchases, revenue
        self.default_consent = np.array([not c.requires_consent for c in catalog.channels])
        # counter column of an event, by [type code, channel index + 1] (-1: none);
        # a per-channel event without a channel counts nowhere
        self.column = np.full((len(EVENT_CODES), n_ch + 1), -1, dtype=np.int64)
        for k, t in enumerate(_PER_CHANNEL):
            self.column[EVENT_CODES[t], 1:] = k + 3 * np.arange(n_ch)
        for k, t in enumerate(_GLOBAL):
            self.column[EVENT_CODES[t], :] = 3 * n_ch + k
        self.purchase_col = 3 * n_ch + len(_GLOBAL)
        # the times table: last contact per channel, on any channel, last
        # purchase, first seen, last send of each message; in days, "never"
        # (NaN) reads NEVER_DAYS but for tenure (0) and messages (inf), and
        # negative days read 0 but for messages
        self.n_times = n_ch + 3 + n_msg
        self.never = np.array([NEVER_DAYS] * (n_ch + 2) + [0.0] + [np.inf] * n_msg).reshape(-1, 1)
        self.floor = np.array([0.0] * (n_ch + 3) + [-np.inf] * n_msg).reshape(-1, 1)
        # per channel, the names of its windowed signals: (name, window index, counter)
        w_of = {w: i for i, w in enumerate(_SUM_WINDOWS)}
        self.channel_sums = [
            [(f"{c}_sends_1d", w_of[1], 3 * j)]
            + [
                (f"{c}_{kind}_{w}d", w_of[w], 3 * j + k)
                for w in WINDOWS
                for k, kind in enumerate(("sends", "opens", "clicks"))
            ]
            for j, c in enumerate(channels)
        ]
        self.channel_last = [(f"{c}_days_since_contact", f"{c}_consent") for c in channels]
        self.w_of = w_of


_LAYOUTS: dict[int, tuple[Catalog, _Layout]] = {}


def _layout(catalog: Catalog) -> _Layout:
    """The catalog's :class:`_Layout` (cached; the catalog is kept, so its id stays its own)."""
    hit = _LAYOUTS.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    if len(_LAYOUTS) >= 64:
        _LAYOUTS.clear()
    lay = _Layout(catalog)
    _LAYOUTS[id(catalog)] = (catalog, lay)
    return lay


class CustomerStates:
    """The state of n customers as arrays, from which signals are computed.

    Parameters
    ----------
    catalog
        Gives the channels and messages (and the attribute schema).
    customer_ids
        The customers, in row order.
    consent
        Shape (n, n_channels) bool; default: channels that need consent are
        off, the others on.
    timezones
        IANA time zone per customer (default UTC).
    attributes
        Attribute arrays by name, each shape (n,).
    signup
        Sign-up time (epoch seconds) per customer; default: first event.

    Examples
    --------
    >>> from nba.catalog import Catalog
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> st = CustomerStates(cat, ["c1"], consent=np.array([[True]]))
    >>> now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    >>> st.apply(Event("c1", EventType.SENT, datetime(2026, 3, 1, 9, tzinfo=UTC), channel="email",
    ...                message_id="hi"))
    >>> sig = st.signals(now)
    >>> float(sig["email_sends_7d"][0]), float(sig["email_days_since_contact"][0])
    (1.0, 1.125)
    """

    def __init__(
        self,
        catalog: Catalog,
        customer_ids: Sequence[str],
        *,
        consent: np.ndarray | None = None,
        timezones: Sequence[str] | None = None,
        attributes: Mapping[str, np.ndarray] | None = None,
        signup: np.ndarray | None = None,
    ) -> None:
        lay = _layout(catalog)
        self.catalog = catalog
        self._layout = lay
        self.channels = catalog.channel_ids
        self.message_ids = catalog.message_ids
        self.customer_ids = np.asarray(list(customer_ids), dtype=object)
        n, n_ch, n_msg = len(self.customer_ids), len(self.channels), len(self.message_ids)
        self._row = {c: i for i, c in enumerate(self.customer_ids)}
        if len(self._row) != n:
            raise ProfileError("customer ids must be unique within a CustomerStates table")
        self._chan, self._msg = lay.chan, lay.msg
        # counters: per channel (sent, opened, clicked), then global ones
        self._n_counters = lay.n_counters
        self.counts = np.zeros((_RING, n, self._n_counters), dtype=np.float32)
        self.slot_day = np.full(_RING, -(10**9), dtype=np.int64)
        # every "last time" (epoch seconds, NaN: never) in one table, so that
        # signals turns them all into days at once; the names below are views
        # (one row per kind of time: each signal is then a contiguous row)
        self._times = np.full((lay.n_times, n), np.nan)
        self.last_contact = self._times[:n_ch].T
        self.last_any_contact = self._times[n_ch]
        self.last_purchase = self._times[n_ch + 1]
        self.first_seen = self._times[n_ch + 2]
        self.last_message = self._times[n_ch + 3 :].T
        if signup is not None:
            self.first_seen[:] = np.asarray(signup, float)
        self.message_sends = np.zeros((n, n_msg), dtype=np.int32)
        self._totals = np.zeros((2, n))
        self.purchases_total = self._totals[0]
        self.revenue_total = self._totals[1]
        self.consent = np.empty((n, n_ch), dtype=bool)
        self.consent[:] = (
            lay.default_consent if consent is None else np.asarray(consent, bool).reshape(n, n_ch)
        )
        tz = list(timezones) if timezones is not None else ["UTC"] * n
        self.timezones: list[str] = sorted(set(tz)) or ["UTC"]
        for name in self.timezones:
            try:
                _zone(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ProfileError(
                    f"`timezone`: unknown time zone {name!r}; expected an IANA name "
                    "such as 'Europe/Paris'"
                ) from None
        tz_pos = {name: i for i, name in enumerate(self.timezones)}
        self.tz_index = np.array([tz_pos[t] for t in tz], dtype=np.int32)
        self.attributes: dict[str, np.ndarray] = dict(attributes or {})
        for name, spec in catalog.attributes.items():  # declared but not given: unknown
            if name not in self.attributes:
                self.attributes[name] = (
                    np.full(n, spec.default)
                    if spec.type == "numeric"
                    else np.full(n, "", dtype=object)
                )
        self._column = lay.column
        self._purchase_col = lay.purchase_col

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def row_of(self, customer_id: str) -> int:
        """Row index of a customer (KeyError if absent)."""
        return self._row[customer_id]

    # -- updates -----------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Fold one event into the state (the batch path with one event)."""
        self.apply_events([event])

    def apply_events(self, events: Sequence[Event]) -> None:
        """Fold events into the state.

        Raises
        ------
        ProfileError
            If an event names an unknown customer, channel or message.
        """
        if not events:
            return
        try:
            rows = np.array([self._row[e.customer_id] for e in events], dtype=np.int64)
        except KeyError as exc:
            raise ProfileError(f"event for unknown customer `{exc.args[0]}`") from None
        chans = np.array([self._channel_index(e.channel) for e in events], dtype=np.int64)
        msgs = np.array([self._message_index(e.message_id) for e in events], dtype=np.int64)
        self.apply_arrays(
            rows,
            np.array([epoch(e.timestamp) for e in events]),
            np.array([EVENT_CODES[EventType(e.type)] for e in events], dtype=np.int64),
            chans,
            msgs,
            np.array([float(e.value or 0.0) for e in events]),
            consent_to=[
                bool(e.properties.get("consent", False))
                if e.type == EventType.CONSENT_CHANGED
                else None
                for e in events
            ],
        )

    def _channel_index(self, channel: str | None) -> int:
        if channel is None:
            return -1
        try:
            return self._chan[channel]
        except KeyError:
            raise ProfileError(
                f"event `channel`: unknown channel {channel!r}; expected one of "
                f"{', '.join(self.channels)}"
            ) from None

    def _message_index(self, message_id: str | None) -> int:
        if message_id is None:
            return -1
        return self._msg.get(message_id, -1)  # messages retired from the catalog are fine

    def apply_arrays(
        self,
        rows: np.ndarray,
        ts: np.ndarray,
        codes: np.ndarray,
        channels: np.ndarray,
        messages: np.ndarray,
        values: np.ndarray,
        consent_to: Sequence[bool | None] | None = None,
    ) -> None:
        """Fold events given as arrays (the vectorised core of every update).

        Parameters
        ----------
        rows
            Shape (k,) customer row of each event.
        ts
            Shape (k,) epoch seconds.
        codes
            Shape (k,) :data:`EVENT_CODES` of the event types.
        channels, messages
            Shape (k,) channel / message index, -1 when none.
        values
            Shape (k,) event values (purchase amounts).
        consent_to
            Per event, the new consent of a ``consent_changed`` event.
        """
        day = np.floor(ts / DAY).astype(np.int64)
        # advance the ring: a slot holding an older day is cleared for the new one
        for d in set(day.tolist()):  # (in any order: a slot ends up cleared for its latest day)
            slot = d % _RING
            if self.slot_day[slot] < d:
                self.counts[slot] = 0.0
                self.slot_day[slot] = d
        slots = day % _RING
        in_ring = self.slot_day[slots] == day
        col = self._column[codes, channels + 1]
        counted = in_ring & (col >= 0)
        np.add.at(self.counts, (slots[counted], rows[counted], col[counted]), 1.0)

        purchase = _IS_PURCHASE[codes]
        if purchase.any():
            pr, pv, pt = rows[purchase], values[purchase], ts[purchase]
            ok = in_ring[purchase]
            np.add.at(self.counts, (slots[purchase][ok], pr[ok], self._purchase_col), 1.0)
            np.add.at(self.counts, (slots[purchase][ok], pr[ok], self._purchase_col + 1), pv[ok])
            np.add.at(self.purchases_total, pr, 1.0)
            np.add.at(self.revenue_total, pr, pv)
            np.fmax.at(self.last_purchase, pr, pt)

        sent = (codes == _SENT) & (channels >= 0)
        if sent.any():
            sr, sent_ts = rows[sent], ts[sent]
            np.fmax.at(self.last_contact, (sr, channels[sent]), sent_ts)
            np.fmax.at(self.last_any_contact, sr, sent_ts)
            sm = messages[sent]
            known = sm >= 0
            np.fmax.at(self.last_message, (sr[known], sm[known]), sent_ts[known])
            np.add.at(self.message_sends, (sr[known], sm[known]), 1)
        np.fmin.at(self.first_seen, rows, ts)

        if _CHANGES_CONSENT[codes].any():
            unsub = codes == _UNSUB
            change = codes == _CONSENT_CHANGED
            for i in np.flatnonzero(unsub | change)[np.argsort(ts[unsub | change], kind="stable")]:
                new = False if unsub[i] else bool(consent_to[i]) if consent_to else False
                if channels[i] >= 0:
                    self.consent[rows[i], channels[i]] = new
                else:
                    self.consent[rows[i], :] = new

    def record_sends(
        self, rows: np.ndarray, channels: np.ndarray, messages: np.ndarray, when: datetime
    ) -> None:
        """Count chosen contacts at once (a ``sent`` event for each row).

        Used by the pipeline's callers so that a contact counts against caps
        before its delivery is reported.
        """
        k = len(rows)
        self.apply_arrays(
            np.asarray(rows, dtype=np.int64),
            np.full(k, epoch(when)),
            np.full(k, EVENT_CODES[EventType.SENT], dtype=np.int64),
            np.asarray(channels, dtype=np.int64),
            np.asarray(messages, dtype=np.int64),
            np.zeros(k),
        )

    # -- signals -----------------------------------------------------------------
    def _window_sums(self, today: int, rows: np.ndarray | slice) -> np.ndarray:
        """Counter sums over the windows ending today, shape (n_windows, n_rows, n_counters).

        Windows are :data:`_SUM_WINDOWS`, nested, so each slot is added once:
        1d, then 7d = 1d + 6 more days, and so on.
        """
        n = len(self.customer_ids[rows])
        if n <= 256:  # few customers: one small copy, then one product for every window
            age = today - self.slot_day
            inside = (age >= 0) & (age < _SUM_WINDOW_COL)
            flat = self.counts[:, rows].astype(np.float64).reshape(_RING, -1)
            return (inside.astype(np.float64) @ flat).reshape(len(_SUM_WINDOWS), n, -1)
        out = np.empty((len(_SUM_WINDOWS), n, self._n_counters), dtype=np.float64)
        acc = np.zeros((n, self._n_counters), dtype=np.float64)
        start = 0
        for i, w in enumerate(_SUM_WINDOWS):
            for day in range(today - w + 1, today - start + 1):
                slot = day % _RING
                if self.slot_day[slot] == day:  # (only the days in the ring are copied)
                    acc += self.counts[slot][rows]
            out[i] = acc
            start = w
        return out

    def signals(self, now: datetime, rows: np.ndarray | None = None) -> Signals:
        """Compute every signal at ``now`` for all customers (or ``rows``).

        Parameters
        ----------
        now
            The decision time (naive values are UTC), at or after the events
            folded so far: the day ring is shared by the table, so an event
            more than 90 days after ``now`` would already have cleared the
            days ``now`` looks at.
        rows
            Optional index of the customers wanted.

        Returns
        -------
        Signals
            For ``len(rows)`` customers, in ``rows`` order.
        """
        sel: np.ndarray | slice = slice(None) if rows is None else np.asarray(rows)
        lay = self._layout
        t = epoch(now)
        today = math.floor(t / DAY)
        sums = self._window_sums(today, sel)
        w_of = lay.w_of
        n_ch = len(self.channels)
        # every "days since" at once: (t - last) / DAY, floored at 0, "never" for NaN
        days = t - self._times[:, sel]
        days /= DAY
        never = np.isnan(days)
        np.maximum(days, lay.floor, out=days)
        np.copyto(days, lay.never, where=never)
        consent = self.consent[sel]
        consent_f = consent.T.astype(np.float64, order="C")  # rows: channels
        by_counter = sums.transpose(0, 2, 1)  # [window, counter]: the same views, faster made
        # sends on any channel per window, shape (n_windows, n) (in channel order)
        contacts = np.add.reduce(by_counter[:, 0 : 3 * n_ch : 3], axis=1)
        v: dict[str, np.ndarray] = {}
        for j, (sums_of, (since, consents)) in enumerate(
            zip(lay.channel_sums, lay.channel_last, strict=True)
        ):
            for name, w, col in sums_of:
                v[name] = by_counter[w, col]
            v[since] = days[j]
            v[consents] = consent_f[j]
        g = 3 * n_ch
        d7, d30, d90 = w_of[7], w_of[30], w_of[90]
        v["page_views_7d"] = by_counter[d7, g]
        v["page_views_30d"] = by_counter[d30, g]
        v["cart_adds_7d"] = by_counter[d7, g + 1]
        v["complaints_90d"] = by_counter[d90, g + 2]
        p = self._purchase_col
        v["purchases_30d"] = by_counter[d30, p]
        v["purchases_90d"] = by_counter[d90, p]
        v["revenue_90d"] = by_counter[d90, p + 1]
        totals = self._totals[:, sel]
        if rows is None:  # a view of the live table, else already a copy
            totals = totals.copy()
        v["purchases_total"] = totals[0]
        v["revenue_total"] = totals[1]
        v["days_since_purchase"] = days[n_ch + 1]
        v["contacts_1d"] = contacts[w_of[1]]
        v["contacts_7d"] = contacts[d7]
        v["contacts_30d"] = contacts[d30]
        v["days_since_contact"] = days[n_ch]
        v["tenure_days"] = days[n_ch + 2]
        offsets = np.array([_utc_offset(now, z) for z in self.timezones])
        local = t + offsets[self.tz_index[sel]]
        v["local_hour"] = (local % DAY) / HOUR
        v["stage"] = _stage(
            v["purchases_total"],
            v["days_since_purchase"],
            v["page_views_7d"],
            v["page_views_30d"],
            v["cart_adds_7d"],
            np.add.reduce(by_counter[d30, 2 : 3 * n_ch : 3], axis=0),  # clicks
        )
        return Signals(
            customer_ids=self.customer_ids[sel],
            now=datetime.fromtimestamp(t, UTC),
            channels=self.channels,
            message_ids=self.message_ids,
            values=v,
            consent=consent.copy() if rows is None else consent,
            days_since_message=days[n_ch + 3 :].T,
            attributes={k: np.asarray(a)[sel] for k, a in self.attributes.items()},
        )


def _stage_of(t: Sequence[bool]) -> int:
    """The journey stage (index into STAGES) from the answers to :data:`_STAGE_TESTS`."""
    if t[0] and t[1]:  # never bought
        if t[10] or t[11]:  # a cart add or >= 5 page views in 7d
            return STAGES.index("purchase")
        if t[8] or t[9]:  # >= 3 page views or a click in 30d
            return STAGES.index("consideration")
        return STAGES.index("awareness")
    if t[7]:  # last purchase > 90d ago
        return STAGES.index("winback")
    if t[4] and t[6]:  # >= 3 purchases, the last <= 90d ago
        return STAGES.index("advocacy")
    if t[2] and t[3] and t[5]:  # one purchase, <= 30d ago
        return STAGES.index("onboarding")
    return STAGES.index("retention")


#: The tests the stage depends on, each ``sign * input >= threshold`` (inputs:
#: purchases, recency, page views 7d and 30d, cart adds 7d, clicks 30d); so
#: ``x <= c`` is ``-x >= -c``, ``x == c`` is both, and ``x > 90`` is ``x >=``
#: the next float after 90 (the same answers for every float, NaN included).
_STAGE_TESTS: tuple[tuple[int, float, float], ...] = (
    (0, 1.0, 0.0),  # 0, 1: purchases == 0
    (0, -1.0, -0.0),
    (0, 1.0, 1.0),  # 2, 3: purchases == 1
    (0, -1.0, -1.0),
    (0, 1.0, 3.0),  # 4: purchases >= 3
    (1, -1.0, -30.0),  # 5: recency <= 30
    (1, -1.0, -90.0),  # 6: recency <= 90
    (1, 1.0, float(np.nextafter(90.0, np.inf))),  # 7: recency > 90
    (3, 1.0, 3.0),  # 8: page views 30d >= 3
    (5, 1.0, 1.0),  # 9: clicks 30d >= 1
    (4, 1.0, 1.0),  # 10: cart adds 7d >= 1
    (2, 1.0, 5.0),  # 11: page views 7d >= 5
)
_STAGE_INPUT = np.array([i for i, _, _ in _STAGE_TESTS], dtype=np.intp)
_STAGE_SIGN = np.array([sg for _, sg, _ in _STAGE_TESTS]).reshape(-1, 1)
_STAGE_MIN = np.array([c for _, _, c in _STAGE_TESTS]).reshape(-1, 1)
_STAGE_BITS = 1 << np.arange(len(_STAGE_TESTS), dtype=np.int64)
#: The stage of every combination of answers (bit k: test k holds).
_STAGE_TABLE = np.array(
    [
        float(_stage_of([bool(code >> k & 1) for k in range(len(_STAGE_TESTS))]))
        for code in range(1 << len(_STAGE_TESTS))
    ]
)


def _stage(
    purchases: np.ndarray,
    recency: np.ndarray,
    pv7: np.ndarray,
    pv30: np.ndarray,
    carts7: np.ndarray,
    clicks30: np.ndarray,
) -> np.ndarray:
    """Shape (n,) float: the journey stage (see :func:`_stage_of`), by table lookup."""
    n = len(purchases)
    inputs = np.concatenate((purchases, recency, pv7, pv30, carts7, clicks30)).reshape(6, n)
    holds = inputs[_STAGE_INPUT] * _STAGE_SIGN >= _STAGE_MIN
    return _STAGE_TABLE[_STAGE_BITS @ holds]
