"""Each kind of guardrail removes exactly what it should, with its name as reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from nba.catalog import Catalog
from nba.events import Event, EventType
from nba.features.signals import CustomerStates
from nba.guardrails import Guardrails, holdout_draw, parse_guardrails

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 12:00 UTC


def _states(catalog: Catalog, n: int = 1, **kw: object) -> CustomerStates:
    consent = np.ones((n, len(catalog.channels)), dtype=bool)
    return CustomerStates(catalog, [f"c{i}" for i in range(n)], consent=consent, **kw)


def _removed(catalog: Catalog, doc: dict, states: CustomerStates, now: datetime = NOW,
             **kw: object) -> dict[str, str]:
    g = Guardrails(parse_guardrails(doc, catalog), catalog)
    res = g.evaluate(states.signals(now), **kw)
    assert res.allowed[:, 0].all(), "no-contact is always allowed"
    return {f"{s.message_id}@{s.channel}": s.rule for s in res.suppressed(0, catalog)}


def test_consent_removes_channels_without_consent(catalog: Catalog) -> None:
    st = CustomerStates(catalog, ["c"])  # default: consent channels off
    removed = _removed(catalog, {}, st)
    assert set(removed.values()) == {"consent"}
    assert {a.split("@")[1] for a in removed} == {"email", "sms", "push"}


def test_suitability(catalog: Catalog) -> None:
    removed = _removed(catalog, {"suitability": [{"name": "s", "channel": "sms",
                                                  "topic": "promo"}]}, _states(catalog))
    assert removed == {"first_order_offer@sms": "s", "winback_offer@sms": "s"}


def test_eligibility_on_signal_and_attribute(catalog: Catalog) -> None:
    st = _states(catalog, attributes={"has_app": np.array(["no"], dtype=object)})
    doc = {"eligibility": [
        {"name": "app", "channels": ["in_app"], "when": [{"field": "has_app", "op": "==",
                                                          "value": "yes"}]},
        {"name": "lapsed", "messages": ["winback_offer"],
         "when": [{"field": "days_since_purchase", "op": ">=", "value": 60},
                  {"field": "stage", "op": "in", "value": ["winback", "awareness"]}]},
    ]}
    removed = _removed(catalog, doc, st)
    assert {r for a, r in removed.items() if a.endswith("@in_app")} == {"app"}
    assert all(r == "app" for a, r in removed.items() if a.endswith("@in_app"))
    # never purchased: days_since_purchase = 999 >= 60 and stage awareness -> eligible
    assert not any(a.startswith("winback_offer@") and r == "lapsed" for a, r in removed.items())
    st.apply(Event("c0", EventType.PURCHASE, NOW - timedelta(days=3), value=1))
    removed = _removed(catalog, doc, st)
    assert removed["winback_offer@email"] == "lapsed"


def test_progression_requires_and_not_within(catalog: Catalog) -> None:
    doc = {"progression": [
        {"name": "after_tips", "message": "referral_invite", "requires": ["onboarding_tips"]},
        {"name": "no_repeat", "message": "welcome", "not_within_days": 30},
    ]}
    st = _states(catalog)
    removed = _removed(catalog, doc, st)
    assert removed["referral_invite@in_app"] == "after_tips"
    assert "welcome@email" not in removed
    st.apply(Event("c0", EventType.SENT, NOW - timedelta(days=10), channel="in_app",
                   message_id="onboarding_tips"))
    st.apply(Event("c0", EventType.SENT, NOW - timedelta(days=29), channel="email",
                   message_id="welcome"))
    removed = _removed(catalog, doc, st)
    assert "referral_invite@in_app" not in removed
    assert removed["welcome@push"] == "no_repeat"
    assert "welcome@push" not in _removed(catalog, doc, st, NOW + timedelta(days=2))


@pytest.mark.parametrize(("sends", "blocked"), [(0, False), (1, True)])
def test_frequency_cap_per_channel(catalog: Catalog, sends: int, blocked: bool) -> None:
    st = _states(catalog)
    for _ in range(sends):
        st.apply(Event("c0", EventType.SENT, NOW - timedelta(days=3), channel="sms"))
    doc = {"frequency_caps": [{"name": "sms_weekly", "channel": "sms", "max": 1,
                               "window_days": 7}]}
    removed = _removed(catalog, doc, st)
    assert (removed.get("brand_story@sms") == "sms_weekly") is blocked
    assert "brand_story@email" not in removed


def test_overall_cap_counts_every_channel(catalog: Catalog) -> None:
    st = _states(catalog)
    st.apply(Event("c0", EventType.SENT, NOW - timedelta(hours=2), channel="email"))
    doc = {"frequency_caps": [{"name": "daily", "max": 1, "window_days": 1}]}
    removed = _removed(catalog, doc, st)
    assert len(removed) == len(catalog.actions) - 1 and set(removed.values()) == {"daily"}
    assert _removed(catalog, doc, st, NOW + timedelta(hours=13)) == {}  # a new UTC day


def test_min_gap_and_first_rule_reported(catalog: Catalog) -> None:
    st = _states(catalog)
    st.apply(Event("c0", EventType.SENT, NOW - timedelta(hours=2), channel="sms"))
    doc = {"min_gap": [{"name": "gap", "hours": 3}, {"name": "sms_gap", "hours": 48,
                                                     "channel": "sms"}],
           "frequency_caps": [{"name": "sms_daily", "channel": "sms", "max": 1,
                               "window_days": 1}]}
    removed = _removed(catalog, doc, st)
    assert removed["brand_story@email"] == "gap"
    assert removed["brand_story@sms"] == "sms_daily"  # caps come before gaps
    later = _removed(catalog, doc, st, NOW + timedelta(hours=13))
    assert later == {f"{a.message_id}@sms": "sms_gap" for a in catalog.actions.actions
                     if a.channel == "sms"}


def test_quiet_hours_wrap_midnight_in_local_time(catalog: Catalog) -> None:
    doc = {"quiet_hours": [{"name": "night", "start": "21:00", "end": "08:00",
                            "channels": ["sms"]}]}
    tokyo = _states(catalog, timezones=["Asia/Tokyo"])  # 12:00 UTC = 21:00 in Tokyo
    assert _removed(catalog, doc, tokyo)["brand_story@sms"] == "night"
    paris = _states(catalog, timezones=["Europe/Paris"])  # 13:00 in Paris
    assert "brand_story@sms" not in _removed(catalog, doc, paris)


def test_budget_removes_channel_when_exhausted(catalog: Catalog) -> None:
    doc = {"budgets": [{"name": "sms_budget", "channel": "sms", "max_per_day": 10}]}
    st = _states(catalog)
    assert "brand_story@sms" not in _removed(catalog, doc, st)
    assert _removed(catalog, doc, st, budget_left={"sms": 0})["brand_story@sms"] == "sms_budget"


def test_holdout_is_stable_and_close_to_share(catalog: Catalog) -> None:
    ids = np.array([f"c{i}" for i in range(20_000)], dtype=object)
    draw = holdout_draw(ids, "salt")
    assert abs((draw < 0.05).mean() - 0.05) < 0.006
    np.testing.assert_array_equal(draw, holdout_draw(ids, "salt"))
    g = Guardrails(parse_guardrails({"holdout": {"share": 0.5, "salt": "x"}}, catalog), catalog)
    st = _states(catalog, n=200)
    res = g.evaluate(st.signals(NOW))
    held = res.holdout
    assert 60 < held.sum() < 140
    assert not res.allowed[held, 1:].any() and res.allowed[~held, 1:].any()
    assert (res.reason[held, 1:] == res.rule_names.index("holdout")).all()
