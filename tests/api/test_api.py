"""The HTTP API in process (real app, real SQLite file): keys and roles, bad
input, configuration changes, events, customers, health."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nba.api.app import create_app
from nba.exceptions import ConfigError
from nba.settings import Settings

ADMIN = "test-admin-key-0123456789abcdef"
NOW = "2026-03-02T10:00:00Z"


def make_client(tmp_path: Path, **overrides: Any) -> TestClient:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN, **overrides)
    return TestClient(create_app(s, learn_interval=0, champion_lookup=False, random_state=0))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN}"
        yield c


def key_for(client: TestClient, role: str) -> dict[str, str]:
    r = client.post("/v1/keys", json={"role": role})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == role
    return {"Authorization": f"Bearer {r.json()['key']}"}


# -- keys and roles ---------------------------------------------------------------------
ROUTES = [
    ("post", "/v1/decisions", {"customer_id": "c1"}, "app"),
    (
        "post",
        "/v1/events",
        {"events": [{"event_id": "x", "customer_id": "c1", "type": "opened", "timestamp": NOW}]},
        "app",
    ),
    ("get", "/v1/customers/c1", None, "app"),
    ("get", "/v1/guardrails", None, "marketer"),
    ("get", "/v1/metrics", None, "marketer"),
    ("get", "/v1/audit", None, "marketer"),
    ("post", "/v1/keys", {"role": "app"}, "admin"),
    ("post", "/v1/model/promote", {"model_uri": "rules"}, "admin"),
]


def test_no_key_401_wrong_role_403(client: TestClient) -> None:
    keys = {role: key_for(client, role) for role in ("app", "marketer")}
    client.post("/v1/decisions", json={"customer_id": "c1"})  # c1 exists for GET
    for method, path, body, role in ROUTES:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        r = getattr(client, method)(path, headers={"Authorization": ""}, **kwargs)
        assert r.status_code == 401, (path, r.text)
        r = getattr(client, method)(path, headers={"Authorization": "Bearer nope"}, **kwargs)
        assert r.status_code == 401, (path, r.text)
        for other, headers in keys.items():
            r = getattr(client, method)(path, headers=headers, **kwargs)
            allowed = other == role or (path.startswith("/v1/customers") and other == "marketer")
            assert r.status_code == (200 if allowed else 403), (path, other, r.text)
    assert "needs one of" in client.get("/v1/audit", headers=keys["app"]).json()["detail"]


def test_keys_are_hashed_and_revocable(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/v1/keys", json={"role": "app"})
    key, key_id = r.json()["key"], r.json()["key_id"]
    assert key.encode() not in (tmp_path / "nba.db").read_bytes()
    h = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/decisions", json={"customer_id": "c"}, headers=h).status_code == 200
    assert client.delete(f"/v1/keys/{key_id}").status_code == 204
    assert client.post("/v1/decisions", json={"customer_id": "c"}, headers=h).status_code == 401
    assert client.delete(f"/v1/keys/{key_id}").status_code == 404
    assert client.post("/v1/keys", json={"role": "root"}).status_code == 422


def test_production_without_admin_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NBA_ADMIN_KEY"):
        create_app(Settings(env="production", database_url=f"sqlite:///{tmp_path}/x.db"))


# -- bad input ------------------------------------------------------------------------------
BAD = [
    ("/v1/decisions", {}, "customer_id"),
    ("/v1/decisions", {"customer_id": "c", "now": "yesterday"}, "now"),
    ("/v1/decisions", {"customer_id": "c", "extra": 1}, "extra"),
    ("/v1/decisions/batch", {"customer_ids": []}, "customer_ids"),
    ("/v1/decisions/batch", {"customer_ids": ["a", "b", "a"]}, "customer_ids"),
    ("/v1/decisions/batch", {"customer_ids": ["a", "x" * 201]}, "customer_ids"),
    (
        "/v1/events",
        {"events": [{"event_id": "e", "customer_id": "c", "type": "teleported", "timestamp": NOW}]},
        "events.0.type",
    ),
    (
        "/v1/events",
        {
            "events": [
                {
                    "event_id": "e",
                    "customer_id": "c",
                    "type": "opened",
                    "timestamp": NOW,
                    "channel": "fax",
                }
            ]
        },
        "events[0].channel",
    ),
    (  # a consent withdrawal sent as text must not read as a grant
        "/v1/events",
        {
            "events": [
                {
                    "event_id": "e",
                    "customer_id": "c",
                    "type": "consent_changed",
                    "timestamp": NOW,
                    "channel": "email",
                    "properties": {"consent": "false"},
                }
            ]
        },
        "events[0].properties.consent",
    ),
    (
        "/v1/events",
        {
            "events": [
                {"event_id": "e", "customer_id": "c", "type": "consent_changed", "timestamp": NOW}
            ]
        },
        "events[0].properties.consent",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD)
def test_bad_input_names_the_field(client: TestClient, path: str, body: Any, field: str) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_event_batch_is_all_or_nothing(client: TestClient) -> None:
    good = {"event_id": "ok", "customer_id": "c", "type": "opened", "timestamp": NOW}
    bad = {
        "event_id": "bad",
        "customer_id": "c",
        "type": "opened",
        "timestamp": NOW,
        "channel": "fax",
    }
    assert client.post("/v1/events", json={"events": [good, bad]}).status_code == 422
    assert client.get("/v1/customers/c").status_code == 404  # nothing stored
    r = client.post("/v1/events", json={"events": [good]})
    assert r.json()["accepted"] == 1


def test_batch_keeps_order_and_can_leave_explanations_out(client: TestClient) -> None:
    ids = [f"o{i}" for i in range(30)]
    full = client.post("/v1/decisions/batch", json={"customer_ids": ids, "now": NOW}).json()
    assert [d["customer_id"] for d in full["decisions"]] == ids
    assert all("suppressed" in d and "distribution" in d for d in full["decisions"])
    lean = client.post(
        "/v1/decisions/batch", json={"customer_ids": ids[::-1], "now": NOW, "explain": False}
    ).json()["decisions"]
    assert [d["customer_id"] for d in lean] == ids[::-1]
    assert all("suppressed" not in d and "propensity" in d for d in lean)
    logged = client.get(f"/v1/decisions/{lean[0]['decision_id']}").json()
    assert logged["suppressed"] and logged["distribution"]  # still in the log


def test_batch_over_limit_is_413(client: TestClient) -> None:
    r = client.post("/v1/decisions/batch", json={"customer_ids": [f"c{i}" for i in range(10_001)]})
    assert r.status_code == 413
    assert "at most 10000" in r.json()["detail"]
    e = {"customer_id": "c", "type": "opened", "timestamp": NOW}
    r = client.post(
        "/v1/events", json={"events": [e | {"event_id": f"e{i}"} for i in range(10_001)]}
    )
    assert r.status_code == 413 and "`events`: at most 10000" in r.json()["detail"]


# -- events ----------------------------------------------------------------------------------
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "e"]),
            st.sampled_from(["opened", "clicked", "page_view"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_event_ingestion_is_idempotent(client: TestClient, evs: list[tuple[str, str]]) -> None:
    prefix = f"h{abs(hash(tuple(evs)))}-"
    said: dict[str, str] = {}  # an id repeated in a batch says the same (else: 422, below)
    body = {
        "events": [
            {
                "event_id": prefix + k,
                "customer_id": "idem",
                "type": said.setdefault(k, t),
                "timestamp": NOW,
            }
            for k, t in evs
        ]
    }
    before = len(client.get("/v1/customers/idem").json().get("events", []))
    first = client.post("/v1/events", json=body).json()
    distinct = len({k for k, _ in evs})
    new = first["accepted"]
    assert new <= distinct and first["accepted"] + first["duplicates"] == len(evs)
    second = client.post("/v1/events", json=body).json()
    assert second == {"accepted": 0, "duplicates": len(evs), "late": 0, "unknown_decision": 0}
    after = client.get("/v1/customers/idem").json()["events"]
    assert len(after) == min(50, before + new)


def test_one_id_for_two_different_events_is_refused(client: TestClient) -> None:
    e = {"event_id": "same", "customer_id": "c", "type": "opened", "timestamp": NOW}
    r = client.post("/v1/events", json={"events": [e, e | {"type": "clicked"}]})
    assert r.status_code == 422 and "events[1].event_id" in r.json()["detail"]
    assert client.post("/v1/events", json={"events": [e, e]}).json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"timestamp": "9999-12-31T23:59:59-05:00"}, "events[0].timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, "events[0].timestamp"),
        ({"value": 1.7e308, "type": "purchase"}, "events[0].value"),
    ],
)
def test_events_out_of_range_are_refused(client: TestClient, event: Any, field: str) -> None:
    e = {"event_id": "x", "customer_id": "c", "type": "opened", "timestamp": NOW} | event
    r = client.post("/v1/events", json={"events": [e]})
    assert r.status_code == 422 and field in r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/decisions", {"customer_id": "c", "now": "0001-01-01T00:00:00+05:00"}),
        ("post", "/v1/decisions", {"customer_id": "c", "now": "9999-12-31T23:59:59"}),
        ("post", "/v1/decisions/batch", {"customer_ids": ["c"], "now": "9999-12-31T23:59:59"}),
        ("post", "/v1/admin/learn", {"now": "9999-12-31T23:59:59"}),
        ("post", "/v1/guardrails/dry-run", {"guardrails": {}, "now": "0001-01-01T00:00:00Z"}),
        ("get", "/v1/metrics?now=0001-01-01T00:00:00", None),
    ],
)
def test_a_clock_out_of_range_is_a_422(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 422 and "`now`" in r.json()["detail"], r.text


def test_an_event_long_before_its_decision_is_not_its_effect(client: TestClient) -> None:
    d = client.post("/v1/decisions/batch", json={"customer_ids": ["e1"], "now": NOW}).json()
    d = d["decisions"][0]
    e = {"customer_id": "e1", "type": "purchase", "decision_id": d["decision_id"], "value": 5.0}
    early = e | {"event_id": "early", "timestamp": "2026-03-02T09:00:00Z"}  # an hour before
    skew = e | {"event_id": "skew", "timestamp": "2026-03-02T09:58:00Z"}  # clocks differ
    r = client.post("/v1/events", json={"events": [early, skew]}).json()
    assert r["late"] == 1


def test_unsubscribe_applies_to_the_next_decision(client: TestClient) -> None:
    # real time throughout: the consent PUT and the unsubscribe are ordered by the clock
    client.put("/v1/customers/u1", json={"consent": {"email": True, "push": True}})
    client.put("/v1/guardrails", json={})  # no rules but consent (and no holdout)
    first = client.post("/v1/decisions", json={"customer_id": "u1"}).json()
    assert first["action"]["channel"] == "email"
    r = client.post(
        "/v1/events",
        json={
            "events": [
                {
                    "event_id": "u",
                    "customer_id": "u1",
                    "type": "unsubscribed",
                    "timestamp": datetime.now(UTC).isoformat(),
                    "channel": "email",
                }
            ]
        },
    )
    assert r.status_code == 200
    nxt = client.post("/v1/decisions", json={"customer_id": "u1"}).json()
    assert nxt["action"]["channel"] != "email"
    assert {"message_id": "welcome", "channel": "email", "rule": "consent"} in nxt["suppressed"]
    # and opting in again applies to the next decision too
    regrant = {
        "event_id": "g",
        "customer_id": "u1",
        "type": "consent_changed",
        "timestamp": datetime.now(UTC).isoformat(),
        "channel": "email",
        "properties": {"consent": True},
    }
    assert client.post("/v1/events", json={"events": [regrant]}).status_code == 200
    assert client.get("/v1/customers/u1").json()["consent"]["email"] is True
    after = client.post("/v1/decisions", json={"customer_id": "u1", "dry_run": True}).json()
    assert {"message_id": "welcome", "channel": "email", "rule": "consent"} not in after[
        "suppressed"
    ]


def test_an_event_naming_an_unlogged_decision_waits_for_it(tmp_path: Path) -> None:
    """Last-touch attribution never credits it to another decision of the customer, and
    the decision it names, once logged, gets it only if it is the same customer's."""
    h = {"Authorization": f"Bearer {ADMIN}"}
    goal = {"weights": {"purchase": 1.0}, "attribution": "last_touch"}
    guard = {"frequency_caps": []}  # no holdout: every decision below is a contact
    later = "2026-03-02T11:00:00Z"

    def purchase(event_id: str, customer: str, decision_id: str | None) -> dict[str, Any]:
        tag = {"decision_id": decision_id} if decision_id else {}
        return {
            "event_id": event_id,
            "customer_id": customer,
            "type": "purchase",
            "timestamp": later,
            "value": 10.0,
        } | tag

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    def setup(c: TestClient) -> None:
        assert c.put("/v1/goal", json=goal, headers=h).status_code == 200
        assert c.put("/v1/guardrails", json=guard, headers=h).status_code == 200

    with make_client(tmp_path / "a") as c:  # where the decision ids come from
        setup(c)
        mine = c.post("/v1/decisions", json={"customer_id": "k", "now": NOW}, headers=h).json()
        assert mine["action"] is not None
        r = c.post(
            "/v1/events",
            json={
                "events": [
                    {"event_id": "v", "customer_id": "k", "type": "page_view", "timestamp": later},
                    purchase("p", "k", "not-logged-yet"),
                ]
            },
            headers=h,
        ).json()
        assert r["unknown_decision"] == 1
        joined = c.get(f"/v1/decisions/{mine['decision_id']}", headers=h).json()["events"]
        assert [e["event_id"] for e in joined] == ["v"]  # the page view, not the purchase
        other = c.post("/v1/decisions", json={"customer_id": "b", "now": NOW}, headers=h).json()

    with make_client(tmp_path / "b") as c:  # same seed: the same ids, decided after the event
        setup(c)
        c.post("/v1/decisions", json={"customer_id": "k", "now": NOW}, headers=h)
        r = c.post(
            "/v1/events", json={"events": [purchase("p", "a", other["decision_id"])]}, headers=h
        ).json()
        assert r["unknown_decision"] == 1
        again = c.post("/v1/decisions", json={"customer_id": "b", "now": NOW}, headers=h).json()
        assert again["decision_id"] == other["decision_id"]
        assert c.post("/v1/admin/learn", json={"now": later}, headers=h).json()["rejoined"] == 0
        assert c.get(f"/v1/decisions/{other['decision_id']}", headers=h).json()["events"] == []


def test_context_and_trigger_inform_the_decision(client: TestClient) -> None:
    """Context values of declared attributes (and the trigger, when the catalog declares
    a `trigger` attribute) stand for this decision: rules and features see them."""

    def suppressed_by(rule: str, **ask: Any) -> set[str]:
        body = {"customer_id": "ctx", "now": NOW, "dry_run": True} | ask
        r = client.post("/v1/decisions", json=body)
        assert r.status_code == 200, r.text
        return {
            f"{s['message_id']}@{s['channel']}" for s in r.json()["suppressed"] if s["rule"] == rule
        }

    assert suppressed_by("in_app_needs_app")  # nothing known: no app
    assert not suppressed_by("in_app_needs_app", context={"has_app": "yes", "page": "/cart"})
    r = client.post("/v1/decisions", json={"customer_id": "ctx", "context": {"device": "toaster"}})
    assert r.status_code == 422 and "context.device" in r.json()["detail"]

    catalog = client.get("/v1/catalog").json()["document"]
    catalog["attributes"]["trigger"] = {
        "type": "categorical",
        "values": ["cart_abandoned", "browse"],
    }
    assert client.put("/v1/catalog", json=catalog).status_code == 200
    guard = client.get("/v1/guardrails").json()["document"]
    guard["eligibility"].append(
        {
            "name": "social_proof_on_abandon",
            "messages": ["social_proof"],
            "when": [{"field": "trigger", "op": "==", "value": "cart_abandoned"}],
        }
    )
    assert client.put("/v1/guardrails", json=guard).status_code == 200
    assert "social_proof@web" in suppressed_by("social_proof_on_abandon", trigger="browse")
    assert not suppressed_by("social_proof_on_abandon", trigger="cart_abandoned")
    r = client.post("/v1/decisions", json={"customer_id": "ctx", "trigger": "teleport"})
    assert r.status_code == 422 and "trigger" in r.json()["detail"]


def test_a_catalog_the_rule_baseline_cannot_serve_is_refused(client: TestClient) -> None:
    """Every decision may fall back to the rules: a catalog without a message they name
    would break them all."""
    guard = client.get("/v1/guardrails").json()["document"]
    guard["progression"] = [r for r in guard["progression"] if r["message"] != "welcome"]
    assert client.put("/v1/guardrails", json=guard).status_code == 200
    catalog = client.get("/v1/catalog").json()["document"]
    catalog["messages"] = [m for m in catalog["messages"] if m["id"] != "welcome"]
    r = client.put("/v1/catalog", json=catalog)
    assert r.status_code == 422 and "rule baseline" in r.json()["detail"], r.text
    assert "`welcome`" in r.json()["detail"]
    assert client.post("/v1/decisions", json={"customer_id": "c"}).status_code == 200


def test_a_rules_file_that_cannot_serve_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-such-rules.yaml"):
        make_client(tmp_path, rules=tmp_path / "no-such-rules.yaml")


def test_retiring_a_channel_leaves_the_others_consent_alone(client: TestClient) -> None:
    client.put("/v1/customers/s1", json={"consent": {"sms": True}})
    client.put("/v1/customers/s2", json={"consent": {"email": True}})
    unsub = {"event_id": "u", "customer_id": "s2", "type": "unsubscribed", "timestamp": NOW}
    assert client.post("/v1/events", json={"events": [unsub | {"channel": "sms"}]}).is_success
    assert client.put("/v1/guardrails", json={}).status_code == 200  # rules name sms
    catalog = client.get("/v1/catalog").json()["document"]
    catalog["channels"] = [c for c in catalog["channels"] if c["id"] != "sms"]
    assert client.put("/v1/catalog", json=catalog).status_code == 200
    assert client.get("/v1/customers/s1").json()["consent"] == {
        "email": False,
        "push": False,
        "web": True,
        "in_app": True,
    }
    assert client.get("/v1/customers/s2").json()["consent"] == {
        "email": True,
        "push": False,
        "web": True,
        "in_app": True,
    }


def test_dry_run_is_not_logged_or_counted(client: TestClient) -> None:
    client.put(
        "/v1/guardrails", json={"frequency_caps": [{"name": "one", "max": 1, "window_days": 1}]}
    )
    for _ in range(3):
        d = client.post("/v1/decisions", json={"customer_id": "d", "now": NOW, "dry_run": True})
        assert d.json()["action"] is not None
        assert client.get(f"/v1/decisions/{d.json()['decision_id']}").status_code == 404
    real = client.post("/v1/decisions", json={"customer_id": "d", "now": NOW}).json()
    assert real["action"] is not None
    assert (
        client.post("/v1/decisions", json={"customer_id": "d", "now": NOW}).json()["action"] is None
    )


# -- configuration ---------------------------------------------------------------------------
def test_config_put_is_validated_versioned_audited_and_effective(client: TestClient) -> None:
    marketer = key_for(client, "marketer")
    g = client.get("/v1/guardrails", headers=marketer).json()
    assert g["version"] == 1
    bad = {"frequency_caps": [{"name": "sms_cap", "channel": "sms", "max": -1, "window_days": 1}]}
    r = client.put("/v1/guardrails", json=bad, headers=marketer)
    assert r.status_code == 422
    assert "sms_cap" in r.json()["detail"] and "`max`" in r.json()["detail"]
    assert client.get("/v1/guardrails").json()["version"] == 1  # nothing stored

    first = client.post("/v1/decisions", json={"customer_id": "k", "now": NOW}).json()
    assert first["action"] is not None
    no_web = {
        "eligibility": [
            {
                "name": "no_web",
                "channels": ["web", "in_app"],
                "when": [{"field": "tenure_days", "op": ">", "value": 10000}],
            }
        ]
    }
    r = client.put("/v1/guardrails", json=no_web, headers=marketer)
    assert r.status_code == 200 and r.json()["version"] == 2
    nxt = client.post("/v1/decisions", json={"customer_id": "k2", "now": NOW}).json()
    assert nxt["action"] is None
    assert {s["rule"] for s in nxt["suppressed"]} >= {"no_web"}

    goal = client.get("/v1/goal").json()["document"]
    assert client.put("/v1/goal", json=goal | {"attribution_window_days": 0}).status_code == 422
    assert client.put("/v1/goal", json=goal | {"attribution_window_days": 3}).status_code == 200
    bad = client.put("/v1/goal", json=goal | {"attribution": "first_touch"})
    assert bad.status_code == 422 and "`attribution`" in bad.json()["detail"], bad.text
    cat = client.get("/v1/catalog").json()["document"]
    without_web = cat | {"channels": [c for c in cat["channels"] if c["id"] != "web"]}
    r = client.put("/v1/catalog", json=without_web)  # the guardrails still name `web`
    assert r.status_code == 422
    assert "no_web" in r.json()["detail"] and "web" in r.json()["detail"]
    assert client.get("/v1/catalog").json()["version"] == 1
    audit = client.get("/v1/audit", headers=marketer, params={"target": "guardrails"}).json()
    latest, created = audit["entries"][0], audit["entries"][-1]
    assert latest["action"] == "update" and latest["after"] == no_web
    assert latest["before"] == g["document"] and created["after"] == g["document"]
    assert created["who"] == "startup"
    assert latest["who"].startswith("k_")


def test_guardrails_dry_run(client: TestClient) -> None:
    client.post("/v1/decisions/batch", json={"customer_ids": ["a", "b", "c"], "now": NOW})
    nobody = {
        "eligibility": [
            {
                "name": "nobody",
                "channels": ["web", "in_app"],
                "when": [{"field": "tenure_days", "op": ">", "value": 10000}],
            }
        ]
    }
    r = client.post("/v1/guardrails/dry-run", json={"guardrails": nobody, "now": NOW})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["customers"] == 3
    assert out["proposed"]["contacts_by_channel"] == {"no_contact": 3}
    # a sample is of the customers decided for most recently, not the first by name
    later = "2026-03-02T11:00:00Z"
    client.post("/v1/decisions/batch", json={"customer_ids": ["y", "z"], "now": later})
    r = client.post(
        "/v1/guardrails/dry-run",
        json={"guardrails": nobody, "now": "2026-03-03T11:00:00Z", "sample": 2},
    )
    assert r.status_code == 200, r.text
    assert r.json()["customers"] == 2
    assert {e["customer_id"] for e in r.json()["examples"]} == {"y", "z"}


def test_metrics_compare_served_customers_with_the_holdout(client: TestClient) -> None:
    """Holdout customers are never contacted, yet their conversions and unsubscribes
    count: the comparison is per customer, not through attributed events."""
    guard = {"holdout": {"share": 0.5, "salt": "metrics-test"}, "frequency_caps": []}
    assert client.put("/v1/guardrails", json=guard).status_code == 200
    ids = [f"m{i}" for i in range(40)]
    client.post("/v1/decisions/batch", json={"customer_ids": ids, "now": NOW})
    before, after = "2026-03-01T10:00:00Z", "2026-03-02T12:00:00Z"
    evs = [  # a purchase each, untagged; one before the decisions (not counted)
        {"event_id": f"p{c}", "customer_id": c, "type": "purchase", "timestamp": after} for c in ids
    ] + [
        {"event_id": "early", "customer_id": ids[0], "type": "purchase", "timestamp": before},
        {"event_id": "u", "customer_id": ids[1], "type": "unsubscribed", "timestamp": after},
    ]
    assert client.post("/v1/events", json={"events": evs}).status_code == 200
    m = client.get("/v1/metrics", params={"now": "2026-03-03T00:00:00Z"}).json()
    served, held = m["served"], m["holdout"]
    assert served["customers"] + held["customers"] == 40
    assert served["customers"] > 5 and held["customers"] > 5
    assert held["contacts"] == {} and held["conversions"] == held["customers"]
    assert served["conversions"] == served["customers"]
    assert served["unsubscribes"] + held["unsubscribes"] == 1
    lift = m["lift"]["conversions_per_customer"]
    assert lift["served"] == lift["holdout"] == 1.0 and lift["difference"] == 0.0
    day = served["by_day"][0]
    assert (
        day["day"] == "2026-03-02" and sum(day["contacts_by_channel"].values()) == day["contacts"]
    )
    assert sum(served["contacts"].values()) == day["contacts"] > 0


def test_a_configuration_file_the_database_overrides_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The files only seed an empty database: a changed one is not silently ignored."""
    from nba.service import DecisionService

    url = f"sqlite:///{tmp_path / 'nba.db'}"
    DecisionService(Settings(database_url=url), champion_lookup=False, learn_interval=0).stop()
    goal = tmp_path / "goal.yaml"
    goal.write_text("weights: {purchase: 2.0}\n")
    with caplog.at_level(logging.WARNING, logger="nba.service.config"):
        DecisionService(
            Settings(database_url=url, goal=goal), champion_lookup=False, learn_interval=0
        ).stop()
    assert "`NBA_GOAL`" in caplog.text and "PUT /v1/goal" in caplog.text
    assert "NBA_CATALOG" not in caplog.text and "NBA_GUARDRAILS" not in caplog.text


# -- health and model -------------------------------------------------------------------------
def test_a_policy_that_failed_is_tried_again_after_a_configuration_change(
    tmp_path: Path,
) -> None:
    h = {"Authorization": f"Bearer {ADMIN}"}
    with make_client(tmp_path, model_uri="linucb") as c:
        c.post("/v1/decisions/batch", json={"customer_ids": ["a", "b"], "now": NOW}, headers=h)
        assert (
            c.post("/v1/admin/learn", json={"now": "2026-03-10T10:00:00Z"}, headers=h).json()[
                "learned"
            ]
            == 2
        )  # the model now knows the catalog's features
        catalog = c.get("/v1/catalog", headers=h).json()["document"]
        wider = json.loads(json.dumps(catalog))
        wider["attributes"]["tier"] = {"type": "numeric"}  # one feature more
        assert c.put("/v1/catalog", json=wider, headers=h).status_code == 200
        d = c.post("/v1/decisions", json={"customer_id": "c"}, headers=h).json()
        health = c.get("/healthz").json()
        assert d["policy"]["name"] == "rules" and health["degraded"] is True
        assert "policy `linucb` failed" in health["reason"]
        assert c.put("/v1/catalog", json=catalog, headers=h).status_code == 200
        d = c.post("/v1/decisions", json={"customer_id": "d"}, headers=h).json()
        assert d["policy"]["name"] == "linucb" and c.get("/healthz").json()["degraded"] is False


def test_healthz_degraded_when_model_unloadable(tmp_path: Path) -> None:
    with make_client(tmp_path, model_uri="/no/such/policy") as c:
        h = c.get("/healthz").json()
        assert h["degraded"] is True and h["status"] == "degraded"
        assert "/no/such/policy" in h["reason"]
        assert h["policy"]["name"] == "rules"
        r = c.post(
            "/v1/decisions",
            json={"customer_id": "c", "now": NOW},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 200
        assert r.json()["policy"]["name"] == "rules"


@pytest.mark.slow
def test_mlflow_champion_is_served_else_degraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from nba.policies.spec import make_policy
    from nba.settings import EXAMPLE_DIR
    from nba.tracking.models import log_policy_model, register_policy

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    s = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", admin_key=ADMIN)
    # nothing registered: the rule baseline, not degraded (no model was asked for)
    with TestClient(create_app(s, learn_interval=0, champion_lookup=True)) as c:
        h = c.get("/healthz").json()
        assert h["policy"]["name"] == "rules" and h["degraded"] is False

    with mlflow.start_run() as run:
        pass
    model_uri = log_policy_model(
        make_policy("random", random_state=0),
        run_id=run.info.run_id,
        catalog_path=EXAMPLE_DIR / "catalog.yaml",
        guardrails_path=EXAMPLE_DIR / "guardrails.yaml",
    )
    register_policy(model_uri, champion=True)
    s = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", admin_key=ADMIN)
    with TestClient(create_app(s, learn_interval=0, champion_lookup=True)) as c:
        h = c.get("/healthz").json()
        assert h["policy"]["name"] == "random" and h["policy"]["source"] == "models:/nba@champion"
        d = c.post(
            "/v1/decisions",
            json={"customer_id": "c", "now": NOW},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()
        assert d["policy"]["name"] == "random"

    # the champion's files are gone: the rule baseline, and /healthz says why
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    version = MlflowClient().get_model_version_by_alias("nba", "champion")
    shutil.rmtree(download_artifacts(version.source))
    s = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", admin_key=ADMIN)
    with TestClient(create_app(s, learn_interval=0, champion_lookup=True)) as c:
        h = c.get("/healthz").json()
        assert h["policy"]["name"] == "rules"
        assert h["degraded"] is True and "models:/nba@champion" in h["reason"]

    s = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", admin_key=ADMIN, model_uri="models:/nba@nope"
    )
    with TestClient(create_app(s, learn_interval=0)) as c:
        h = c.get("/healthz").json()
        assert h["degraded"] is True and "models:/nba@nope" in h["reason"]
        assert h["policy"]["name"] == "rules"


def test_promotion_reaches_every_process_and_survives_restart(tmp_path: Path) -> None:
    h = {"Authorization": f"Bearer {ADMIN}"}
    with make_client(tmp_path) as a, make_client(tmp_path) as b:  # two apps, one database
        assert (
            a.post("/v1/model/promote", json={"model_uri": "random"}, headers=h).status_code == 200
        )
        d = b.post("/v1/decisions", json={"customer_id": "x", "now": NOW}, headers=h).json()
        assert d["policy"]["name"] == "random"
    with make_client(tmp_path) as c:
        assert c.get("/healthz").json()["policy"]["name"] == "random"


def test_promote(client: TestClient) -> None:
    r = client.post("/v1/model/promote", json={"model_uri": "linucb"})
    assert r.status_code == 200 and r.json()["name"] == "linucb"
    d = client.post("/v1/decisions", json={"customer_id": "p", "now": NOW}).json()
    assert d["policy"]["name"] == "linucb"
    assert client.post("/v1/model/promote", json={"model_uri": "nope"}).status_code == 422
    assert client.get("/v1/audit", params={"target": "model"}).json()["entries"][0]["after"] == {
        "model_uri": "linucb"
    }


def test_openapi_documents_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/decisions",
        "/v1/decisions/batch",
        "/v1/decisions/{decision_id}",
        "/v1/events",
        "/v1/customers/{customer_id}",
        "/v1/catalog",
        "/v1/guardrails",
        "/v1/goal",
        "/v1/audit",
        "/v1/guardrails/dry-run",
        "/v1/metrics",
        "/healthz",
        "/metrics",
        "/v1/keys",
        "/v1/keys/{key_id}",
        "/v1/model/promote",
    ):
        assert path in spec["paths"], path
    events_doc = spec["paths"]["/v1/events"]["post"]
    assert "all-or-nothing" in events_doc["description"]
    assert "examples" in spec["components"]["schemas"]["DecisionRequest"]


def test_background_worker_learns(tmp_path: Path) -> None:
    s = Settings(
        database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN, model_uri="linucb"
    )
    h = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(s, learn_interval=0.2, champion_lookup=False)) as c:
        ids = [f"w{i}" for i in range(5)]
        # decided in the past: their windows have ended by the wall clock
        c.post("/v1/decisions/batch", json={"customer_ids": ids, "now": NOW}, headers=h)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if c.get("/healthz").json()["policy"]["version"] == "5":
                break
            time.sleep(0.1)
        assert c.get("/healthz").json()["policy"]["version"] == "5"


def test_learning_goes_on_across_catalog_changes(tmp_path: Path) -> None:
    """Decisions made with an earlier catalog are learned from when its actions and
    features are today's, each closed with its own catalog's send costs; decisions
    whose catalog had other actions are set aside, not left pending for ever."""
    s = Settings(
        database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN, model_uri="linucb"
    )
    h = {"Authorization": f"Bearer {ADMIN}"}
    week, fortnight = "2026-03-10T10:00:00Z", "2026-03-18T10:00:00Z"
    with TestClient(create_app(s, learn_interval=0, champion_lookup=False)) as c:
        catalog = c.get("/v1/catalog", headers=h).json()["document"]

        def with_costs(cost: float) -> dict[str, Any]:
            doc = json.loads(json.dumps(catalog))
            for ch in doc["channels"]:
                ch["cost"] = cost
            return doc

        def decide(ids: list[str], now: str) -> list[dict[str, Any]]:
            r = c.post("/v1/decisions/batch", json={"customer_ids": ids, "now": now}, headers=h)
            return list(r.json()["decisions"])

        def learn(now: str) -> dict[str, Any]:
            return dict(c.post("/v1/admin/learn", json={"now": now}, headers=h).json())

        assert c.put("/v1/catalog", json=with_costs(0.01), headers=h).status_code == 200
        first = decide([f"a{i}" for i in range(6)], NOW)
        cheaper = with_costs(0.5)
        cheaper["messages"][0]["value"] = 7.0  # the same actions and features
        assert c.put("/v1/catalog", json=cheaper, headers=h).status_code == 200
        second = decide([f"b{i}" for i in range(4)], NOW)
        assert learn(week) | {"policy": None} == {
            "rejoined": 0,
            "closed": 10,
            "learned": 10,
            "policy": None,
        }
        contacts = 0
        for batch, cost in ((first, 0.01), (second, 0.5)):
            for d in batch:
                got = c.get(f"/v1/decisions/{d['decision_id']}", headers=h).json()
                assert got["reward"] == pytest.approx(0.0 if d["action"] is None else -cost)
                contacts += d["action"] is not None
        assert contacts > 0

        third = decide([f"c{i}" for i in range(3)], week)
        more = json.loads(json.dumps(cheaper))
        more["messages"].append(dict(more["messages"][1], id="spring_sale"))
        assert c.put("/v1/catalog", json=more, headers=h).status_code == 200
        assert learn(fortnight)["learned"] == 0
        for d in third:
            assert c.get(f"/v1/decisions/{d['decision_id']}", headers=h).json()["learned"]
        assert c.get("/healthz").json()["policy"]["version"] == "10"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consent": {"fax": True}}, "consent.fax"),
        ({"attributes": {"device": "toaster"}}, "attributes.device"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"consent": {"email": "maybe"}}, "consent.email"),
    ],
)
def test_customer_put_names_the_field(client: TestClient, body: Any, field: str) -> None:
    r = client.put("/v1/customers/p1", json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert client.get("/v1/customers/p1").status_code == 404  # nothing stored


def test_any_customer_id_a_decision_takes_is_a_customer_path(client: TestClient) -> None:
    odd = "a/b c/ü"
    assert client.post("/v1/decisions", json={"customer_id": odd, "now": NOW}).is_success
    quoted = "a%2Fb%20c/%C3%BC"
    assert client.get(f"/v1/customers/{quoted}").json()["customer_id"] == odd
    assert client.put(f"/v1/customers/{quoted}", json={"timezone": "Europe/Paris"}).is_success
    r = client.put(f"/v1/customers/{'x' * 201}", json={"timezone": "Europe/Paris"})
    assert r.status_code == 422 and "customer_id" in r.json()["detail"]


def test_customer_history_in_one_place(client: TestClient) -> None:
    r = client.put(
        "/v1/customers/h1",
        json={
            "attributes": {"device": "mobile", "vip": None},
            "timezone": "Europe/Paris",
            "consent": {"sms": True},
        },
    )
    assert r.status_code == 200, r.text
    d = client.post("/v1/decisions", json={"customer_id": "h1", "now": NOW}).json()
    client.post(
        "/v1/events",
        json={
            "events": [
                {"event_id": "h-e1", "customer_id": "h1", "type": "page_view", "timestamp": NOW}
            ]
        },
    )
    doc = client.get("/v1/customers/h1", params={"now": NOW}).json()
    assert doc["attributes"] == {"device": "mobile", "vip": None}
    assert doc["timezone"] == "Europe/Paris" and doc["consent"]["sms"] is True
    assert doc["signals"]["page_views_7d"] == 1.0
    assert doc["signals"]["local_hour"] == 11.0  # 10:00 UTC in Paris (winter time)
    assert doc["decisions"][0]["decision_id"] == d["decision_id"]
    assert {e["event_id"] for e in doc["events"]} >= {"h-e1"}


def test_background_worker_gives_funnel_learners_the_outcomes(tmp_path: Path) -> None:
    s = Settings(
        database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN, model_uri="funnel"
    )
    h = {"Authorization": f"Bearer {ADMIN}"}
    app = create_app(s, learn_interval=0.2, champion_lookup=False)
    with TestClient(app) as c:
        ids = [f"f{i}" for i in range(6)]
        made = c.post("/v1/decisions/batch", json={"customer_ids": ids, "now": NOW}, headers=h)
        contacts = [d for d in made.json()["decisions"] if d["action"] is not None]
        assert contacts, made.text
        opened = [
            {
                "event_id": f"o{i}",
                "customer_id": d["customer_id"],
                "type": "opened",
                "timestamp": "2026-03-02T11:00:00Z",
                "decision_id": d["decision_id"],
            }
            for i, d in enumerate(contacts)
        ]
        r = c.post("/v1/events", json={"events": opened}, headers=h)
        assert r.json()["accepted"] == len(contacts), r.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if c.get("/healthz").json()["policy"]["version"] == "6":
                break
            time.sleep(0.1)
        assert c.get("/healthz").json()["policy"]["version"] == "6"
        policy = app.state.service.serving.policy
        assert policy.uses_outcomes_
        assert int(policy.models_["open"].count.sum()) == len(contacts)
        # column 0 is the encoder's bias: X^T y there sums the opens learned
        assert float(policy.models_["open"].xty[:, 0].sum()) == len(contacts)


def test_decision_waits_in_a_worker_thread_while_the_store_is_busy(
    client: TestClient, writer_elsewhere: Any
) -> None:
    """A decision runs on the event loop only when nothing holds the write lock;
    otherwise it waits for it off the loop, and is as exact."""
    store = client.app.state.service.store  # type: ignore[attr-defined]
    with writer_elsewhere(store) as release:
        threading.Timer(0.3, release.set).start()
        t = time.perf_counter()
        r = client.post("/v1/decisions", json={"customer_id": "busy", "now": NOW})
    assert r.status_code == 200, r.text
    assert time.perf_counter() - t >= 0.25  # it did wait for the lock
    assert client.get("/v1/decisions/" + r.json()["decision_id"]).status_code == 200
