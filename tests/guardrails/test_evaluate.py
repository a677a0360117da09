"""Each kind of guardrail removes exactly what it should, with its name as reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nba.catalog import Catalog
from nba.events import EVENT_CODES, Event, EventType
from nba.features.state import CustomerStates
from nba.guardrails import Guardrails, holdout_draw, parse_guardrails
from nba.guardrails.evaluate import _holdout_below

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 12:00 UTC


def _states(catalog: Catalog, n: int = 1, **kw: object) -> CustomerStates:
    consent = np.ones((n, len(catalog.channels)), dtype=bool)
    return CustomerStates(catalog, [f"c{i}" for i in range(n)], consent=consent, **kw)


def _removed(
    catalog: Catalog, doc: dict, states: CustomerStates, now: datetime = NOW, **kw: object
) -> dict[str, str]:
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
    removed = _removed(
        catalog,
        {"suitability": [{"name": "s", "channel": "sms", "topic": "promo"}]},
        _states(catalog),
    )
    assert removed == {"first_order_offer@sms": "s", "winback_offer@sms": "s"}


def test_eligibility_on_signal_and_attribute(catalog: Catalog) -> None:
    st = _states(catalog, attributes={"has_app": np.array(["no"], dtype=object)})
    doc = {
        "eligibility": [
            {
                "name": "app",
                "channels": ["in_app"],
                "when": [{"field": "has_app", "op": "==", "value": "yes"}],
            },
            {
                "name": "lapsed",
                "messages": ["winback_offer"],
                "when": [
                    {"field": "days_since_purchase", "op": ">=", "value": 60},
                    {"field": "stage", "op": "in", "value": ["winback", "awareness"]},
                ],
            },
        ]
    }
    removed = _removed(catalog, doc, st)
    assert {r for a, r in removed.items() if a.endswith("@in_app")} == {"app"}
    assert all(r == "app" for a, r in removed.items() if a.endswith("@in_app"))
    # never purchased: days_since_purchase = 999 >= 60 and stage awareness -> eligible
    assert not any(a.startswith("winback_offer@") and r == "lapsed" for a, r in removed.items())
    st.apply(Event("c0", EventType.PURCHASE, NOW - timedelta(days=3), value=1))
    removed = _removed(catalog, doc, st)
    assert removed["winback_offer@email"] == "lapsed"


def test_progression_requires_and_not_within(catalog: Catalog) -> None:
    doc = {
        "progression": [
            {"name": "after_tips", "message": "referral_invite", "requires": ["onboarding_tips"]},
            {"name": "no_repeat", "message": "welcome", "not_within_days": 30},
        ]
    }
    st = _states(catalog)
    removed = _removed(catalog, doc, st)
    assert removed["referral_invite@in_app"] == "after_tips"
    assert "welcome@email" not in removed
    st.apply(
        Event(
            "c0",
            EventType.SENT,
            NOW - timedelta(days=10),
            channel="in_app",
            message_id="onboarding_tips",
        )
    )
    st.apply(
        Event("c0", EventType.SENT, NOW - timedelta(days=29), channel="email", message_id="welcome")
    )
    removed = _removed(catalog, doc, st)
    assert "referral_invite@in_app" not in removed
    assert removed["welcome@push"] == "no_repeat"
    assert "welcome@push" not in _removed(catalog, doc, st, NOW + timedelta(days=2))


@pytest.mark.parametrize(("sends", "blocked"), [(0, False), (1, True)])
def test_frequency_cap_per_channel(catalog: Catalog, sends: int, blocked: bool) -> None:
    st = _states(catalog)
    for _ in range(sends):
        st.apply(Event("c0", EventType.SENT, NOW - timedelta(days=3), channel="sms"))
    doc = {"frequency_caps": [{"name": "sms_weekly", "channel": "sms", "max": 1, "window_days": 7}]}
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
    doc = {
        "min_gap": [
            {"name": "gap", "hours": 3},
            {"name": "sms_gap", "hours": 48, "channel": "sms"},
        ],
        "frequency_caps": [{"name": "sms_daily", "channel": "sms", "max": 1, "window_days": 1}],
    }
    removed = _removed(catalog, doc, st)
    assert removed["brand_story@email"] == "gap"
    assert removed["brand_story@sms"] == "sms_daily"  # caps come before gaps
    later = _removed(catalog, doc, st, NOW + timedelta(hours=13))
    assert later == {
        f"{a.message_id}@sms": "sms_gap" for a in catalog.actions.actions if a.channel == "sms"
    }


def test_quiet_hours_wrap_midnight_in_local_time(catalog: Catalog) -> None:
    doc = {
        "quiet_hours": [{"name": "night", "start": "21:00", "end": "08:00", "channels": ["sms"]}]
    }
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


def test_quiet_hours_within_a_day(catalog: Catalog) -> None:
    doc = {"quiet_hours": [{"name": "lunch", "start": "12:30", "end": 14, "channels": ["sms"]}]}
    paris = _states(catalog, timezones=["Europe/Paris"])  # 13:00 in Paris
    assert _removed(catalog, doc, paris)["brand_story@sms"] == "lunch"
    assert _removed(catalog, doc, paris, NOW + timedelta(hours=1)) == {}  # 14:00: over
    assert _removed(catalog, doc, paris, NOW - timedelta(minutes=31)) == {}  # 12:29: not yet


def test_more_rules_than_bits_in_a_word(catalog: Catalog) -> None:
    """Rules past the 64th are reported too, and the first rule still wins."""

    def caps(fire: set[int]) -> dict:
        return {
            "frequency_caps": [
                {
                    "name": f"cap{i}",
                    "channel": "sms",
                    "window_days": 7,
                    "max": 0 if i in fire else 5,
                }
                for i in range(80)
            ]
        }

    st = _states(catalog)
    assert _removed(catalog, caps({70}), st)["brand_story@sms"] == "cap70"
    assert _removed(catalog, caps({70, 3}), st)["brand_story@sms"] == "cap3"
    assert _removed(catalog, caps({70}), CustomerStates(catalog, ["c"]))["brand_story@sms"] == (
        "consent"
    )
    assert "brand_story@email" not in _removed(catalog, caps(set(range(80))), st)


def test_many_customers_at_once_equal_one_at_a_time(
    catalog: Catalog, guardrails: Guardrails
) -> None:
    rng = np.random.default_rng(3)
    n = 5000  # more than one block of the evaluation
    st = CustomerStates(
        catalog,
        [f"c{i}" for i in range(n)],
        consent=rng.random((n, len(catalog.channels))) < 0.8,
        timezones=rng.choice(["UTC", "Asia/Tokyo", "America/Denver"], n),
        attributes={"has_app": rng.choice(np.array(["yes", "no"], object), n)},
    )
    k = 6 * n
    types = [EventType.SENT, EventType.PURCHASE, EventType.CART_ADD, EventType.PAGE_VIEW]
    st.apply_arrays(
        rng.integers(0, n, k),
        NOW.timestamp() - rng.random(k) * 90 * 86400,
        rng.choice([EVENT_CODES[t] for t in types], k),
        rng.integers(0, len(catalog.channels), k),
        rng.integers(0, len(catalog.messages), k),
        rng.random(k) * 20,
    )
    sig = st.signals(NOW)
    for left in (None, {"sms": 0.0}):
        res = guardrails.evaluate(sig, left)
        assert res.holdout.any() and not res.allowed[:, 1:].all()
        for i in range(0, n, 37):
            one = guardrails.evaluate(sig.take(np.array([i])), left)
            np.testing.assert_array_equal(one.allowed, res.allowed[i : i + 1])
            np.testing.assert_array_equal(one.reason, res.reason[i : i + 1])
            np.testing.assert_array_equal(one.holdout, res.holdout[i : i + 1])


@given(st.floats(0.0, 1.0, exclude_max=True))
def test_holdout_threshold_on_the_digest_is_the_draw_threshold(share: float) -> None:
    below = _holdout_below(share)
    digests = np.array(
        [0, max(below - 1, 0), below, min(below + 1, 2**64 - 1), 2**64 - 1, 2**63, 2**53 + 1],
        dtype=np.uint64,
    )
    np.testing.assert_array_equal(digests < below, digests / 2.0**64 < share)


def test_every_kind_of_rule_has_its_compilation():
    from nba.guardrails.kinds import KINDS
    from nba.guardrails.rules import RULE_KINDS, GuardrailsSpec

    assert list(KINDS) == list(RULE_KINDS)
    assert set(RULE_KINDS) == set(GuardrailsSpec.model_fields) - {"holdout"}
