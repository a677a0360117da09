"""Signals: one definition for one event at a time and for arrays of customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba.catalog import STAGES, Catalog
from nba.events import Event, EventType
from nba.exceptions import ProfileError
from nba.features.encoding import Encoder
from nba.features.signals import NEVER_DAYS, signal_definitions
from nba.features.state import CustomerStates
from nba.profile import parse_profile, states_from_profiles

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = [
    EventType.SENT,
    EventType.OPENED,
    EventType.CLICKED,
    EventType.PAGE_VIEW,
    EventType.PURCHASE,
    EventType.CART_ADD,
    EventType.COMPLAINT,
    EventType.UNSUBSCRIBED,
    EventType.CONSENT_CHANGED,
]


def _events(draw_ids: list[int], draws: list[tuple], catalog: Catalog) -> list[Event]:
    out = []
    for cust, (t, minutes, ch, msg, value, flag) in zip(draw_ids, draws, strict=True):
        etype = TYPES[t]
        channel = (
            catalog.channel_ids[ch]
            if etype not in (EventType.PAGE_VIEW, EventType.PURCHASE, EventType.CART_ADD)
            else None
        )
        out.append(
            Event(
                customer_id=f"c{cust}",
                type=etype,
                timestamp=T0 + timedelta(minutes=minutes),
                channel=channel,
                message_id=catalog.message_ids[msg] if etype == EventType.SENT else None,
                value=value,
                properties={"consent": flag},
            )
        )
    return sorted(out, key=lambda e: e.timestamp)


event_draw = st.tuples(
    st.integers(0, len(TYPES) - 1),
    st.integers(0, 150 * 24 * 60),
    st.integers(0, 4),
    st.integers(0, 10),
    st.floats(0, 200),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), event_draw), max_size=60), st.integers(0, 160 * 24))
def test_one_event_at_a_time_equals_arrays_equals_one_customer_tables(
    catalog: Catalog, draws: list, hours: int
) -> None:
    ids = [f"c{i}" for i in range(4)]
    events = _events([c for c, _ in draws], [d for _, d in draws], catalog)
    # signals are asked for at a decision time, which comes after the history it folds
    now = max([T0 + timedelta(hours=hours), *(e.timestamp for e in events)])
    one_by_one = CustomerStates(catalog, ids)
    for e in events:
        one_by_one.apply(e)
    bulk = CustomerStates(catalog, ids)
    bulk.apply_events(events)
    a, b = one_by_one.signals(now), bulk.signals(now)
    for name in a.values:
        np.testing.assert_allclose(a.values[name], b.values[name], err_msg=name, rtol=1e-6)
    # the service keeps a table per customer: same definitions, same values
    for i, cid in enumerate(ids):
        single = CustomerStates(catalog, [cid])
        single.apply_events([e for e in events if e.customer_id == cid])
        s = single.signals(now)
        for name in a.values:
            assert s.values[name][0] == pytest.approx(a.values[name][i], rel=1e-6), name


def test_every_signal_is_documented(catalog: Catalog, now: datetime) -> None:
    sig = CustomerStates(catalog, ["x"]).signals(now)
    assert list(sig.values) == [d.name for d in signal_definitions(catalog.channel_ids)]


def test_windows_and_recency(catalog: Catalog) -> None:
    st_ = CustomerStates(catalog, ["c"])
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    for days_ago in (0, 3, 10, 45, 120):
        st_.apply(
            Event(
                "c",
                EventType.SENT,
                now - timedelta(days=days_ago),
                channel="email",
                message_id="welcome",
            )
        )
    st_.apply(Event("c", EventType.PURCHASE, now - timedelta(days=20), value=40.0))
    sig = st_.signals(now)
    assert sig["email_sends_1d"][0] == 1
    assert sig["email_sends_7d"][0] == 2
    assert sig["email_sends_30d"][0] == 3
    assert sig["email_sends_90d"][0] == 4  # 120 days ago has left every window
    assert sig["contacts_7d"][0] == 2
    assert sig["days_since_purchase"][0] == pytest.approx(20.0)
    assert sig["revenue_90d"][0] == 40.0 and sig["purchases_total"][0] == 1
    assert sig["sms_days_since_contact"][0] == NEVER_DAYS
    assert STAGES[int(sig["stage"][0])] == "onboarding"
    assert sig.days_since_message[0, catalog.message_ids.index("welcome")] == pytest.approx(0.0)


def test_unsubscribe_and_consent_apply_at_once(catalog: Catalog, now: datetime) -> None:
    prof = parse_profile({"customer_id": "c", "consent": {"email": True, "sms": True}})
    st_ = states_from_profiles(catalog, [prof])
    assert st_.signals(now)["sms_consent"][0] == 1.0
    st_.apply(Event("c", EventType.UNSUBSCRIBED, now - timedelta(hours=1), channel="sms"))
    sig = st_.signals(now)
    assert sig["sms_consent"][0] == 0.0 and sig["email_consent"][0] == 1.0
    st_.apply(
        Event("c", EventType.CONSENT_CHANGED, now, channel="sms", properties={"consent": True})
    )
    assert st_.signals(now)["sms_consent"][0] == 1.0
    st_.apply(Event("c", EventType.UNSUBSCRIBED, now))  # no channel: everything
    assert st_.signals(now).consent[0].sum() == 0


@pytest.mark.parametrize(
    ("events", "stage"),
    [
        ([], "awareness"),
        ([("page_view", 1)] * 3, "consideration"),
        ([("cart_add", 1)], "purchase"),
        ([("purchase", 100)], "winback"),
        ([("purchase", 10)], "onboarding"),
        ([("purchase", 40), ("purchase", 10)], "retention"),
        ([("purchase", 40), ("purchase", 20), ("purchase", 10)], "advocacy"),
    ],
)
def test_journey_stage(catalog: Catalog, now: datetime, events: list, stage: str) -> None:
    st_ = CustomerStates(catalog, ["c"])
    for etype, days in events:
        st_.apply(Event("c", EventType(etype), now - timedelta(days=days)))
    assert STAGES[int(st_.signals(now)["stage"][0])] == stage


def test_local_hour_follows_time_zone(catalog: Catalog) -> None:
    st_ = CustomerStates(catalog, ["p", "n"], timezones=["Europe/Paris", "America/New_York"])
    sig = st_.signals(datetime(2026, 7, 1, 12, tzinfo=UTC))  # summer time
    assert sig["local_hour"].tolist() == [14.0, 8.0]


def test_bad_profiles(catalog: Catalog) -> None:
    with pytest.raises(ProfileError, match="unknown time zone 'Mars/Olympus'"):
        CustomerStates(catalog, ["a"], timezones=["Mars/Olympus"])
    with pytest.raises(ProfileError, match="unknown channel 'fax'"):
        CustomerStates(catalog, ["a"]).apply(Event("a", EventType.SENT, T0, channel="fax"))
    with pytest.raises(ProfileError, match="event for unknown customer `zz`"):
        CustomerStates(catalog, ["a"]).apply(Event("zz", EventType.OPENED, T0))


def test_encoder_is_finite_and_named(catalog: Catalog, now: datetime) -> None:
    st_ = CustomerStates(catalog, ["a", "b"])
    st_.apply(Event("a", EventType.PURCHASE, now, value=1e6))
    ctx = Encoder(catalog).encode(st_.signals(now))
    assert ctx.X.shape == (2, len(ctx.feature_names)) and np.isfinite(ctx.X).all()
    assert ctx.feature_names[0] == "bias" and (ctx.X[:, 0] == 1).all()
