"""End to end against a real uvicorn server: decide → events → reward joined →
policy updated → snapshot survives a restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

T0 = "2026-03-02T10:00:00Z"
T_EVENT = "2026-03-02T12:00:00Z"
T_LATE = "2026-03-12T12:00:00Z"  # after the 7-day window
T_CLOSE = "2026-03-10T00:00:00Z"


@pytest.mark.slow
def test_decide_events_join_learn_restart(
    start_server: Callable[..., Any], admin_headers: dict[str, str]
) -> None:
    server = start_server(NBA_MODEL_URI="linucb:alpha=0.5")
    h = admin_headers
    with httpx2.Client(base_url=server.url, headers=h, timeout=30) as c:
        health = c.get("/healthz").json()
        assert health["policy"]["name"] == "linucb"
        assert health["policy"]["version"] == "0"
        assert health["degraded"] is False

        # a customer who consents to email and has the app
        r = c.put(
            "/v1/customers/c0", json={"consent": {"email": True}, "attributes": {"has_app": "yes"}}
        )
        assert r.status_code == 200, r.text
        assert r.json()["consent"]["email"] is True

        batch = c.post(
            "/v1/decisions/batch", json={"customer_ids": [f"c{i}" for i in range(12)], "now": T0}
        )
        assert batch.status_code == 200, batch.text
        decisions = batch.json()["decisions"]
        assert [d["customer_id"] for d in decisions] == [f"c{i}" for i in range(12)]
        contacts = [d for d in decisions if d["action"] is not None]
        assert contacts, "cold customers can be contacted on web/in-app"
        d0 = contacts[0]
        one = c.post(
            "/v1/decisions",
            json={"customer_id": "solo", "now": T0, "trigger": "signup", "context": {"page": "/"}},
        )
        assert one.status_code == 200
        solo = one.json()

        # events naming no decision go to the customer's last contact
        goal = c.get("/v1/goal").json()["document"]
        r = c.put("/v1/goal", json={**goal, "attribution": "last_touch"})
        assert r.status_code == 200, r.text

        events = [
            # a purchase naming its decision
            {
                "event_id": "e1",
                "customer_id": d0["customer_id"],
                "type": "purchase",
                "timestamp": T_EVENT,
                "decision_id": d0["decision_id"],
                "value": 50.0,
            },
            # a click naming no decision: last touch
            {
                "event_id": "e2",
                "customer_id": d0["customer_id"],
                "type": "clicked",
                "timestamp": T_EVENT,
                "channel": d0["action"]["channel"],
            },
            # late: after the window
            {
                "event_id": "e3",
                "customer_id": d0["customer_id"],
                "type": "purchase",
                "timestamp": T_LATE,
                "decision_id": d0["decision_id"],
                "value": 10.0,
            },
            # names a decision the service has not logged (yet)
            {
                "event_id": "e4",
                "customer_id": "ghost",
                "type": "clicked",
                "timestamp": T_EVENT,
                "decision_id": "not-logged-yet",
            },
        ]
        r = c.post("/v1/events", json={"events": events})
        assert r.json() == {"accepted": 4, "duplicates": 0, "late": 1, "unknown_decision": 1}
        again = c.post("/v1/events", json={"events": events[:2]})
        assert again.json() == {"accepted": 0, "duplicates": 2, "late": 0, "unknown_decision": 0}

        open_ = c.get(f"/v1/decisions/{d0['decision_id']}", params={"now": T_EVENT}).json()
        assert open_["window_closed"] is False and open_["reward_final"] is False
        # once the window has ended it has closed, but the reward is final only once joined
        ended = c.get(f"/v1/decisions/{d0['decision_id']}", params={"now": T_CLOSE}).json()
        assert ended["window_closed"] is True and ended["reward_final"] is False
        assert {e["event_id"] for e in open_["events"]} == {"e1", "e2", "e3"}

        step = c.post("/v1/admin/learn", json={"now": T_CLOSE}).json()
        assert step["closed"] == 13
        assert step["learned"] == 13
        assert step["policy"] == {"name": "linucb", "version": "13"}

        closed = c.get(f"/v1/decisions/{d0['decision_id']}").json()
        assert closed["window_closed"] is True and closed["reward_final"] is True
        assert closed["learned"] is True
        cost = {"web": 0.0, "in_app": 0.0, "email": 0.001}[d0["action"]["channel"]]
        # purchase: 1 + 2% of 50; click: 0.05; the late purchase does not count
        assert closed["reward"] == pytest.approx(1.0 + 0.02 * 50 + 0.05 - cost)
        solo_detail = c.get(f"/v1/decisions/{solo['decision_id']}").json()
        assert solo_detail["trigger"] == "signup"
        assert solo_detail["context"] == {"page": "/"}
        assert solo_detail["reward"] == pytest.approx(
            -{None: 0.0, "web": 0.0, "in_app": 0.0}[
                solo["action"]["channel"] if solo["action"] else None
            ]
        )

        assert c.get("/healthz").json()["policy"]["version"] == "13"
        # the next decision is made by the updated policy
        nxt = c.post("/v1/decisions", json={"customer_id": "new", "now": T_CLOSE}).json()
        assert nxt["policy"] == {"name": "linucb", "version": "13"}
        metrics = c.get("/v1/metrics", params={"now": T_CLOSE}).json()
        assert metrics["served"]["decisions"] + metrics["holdout"]["decisions"] == 14
        assert metrics["served"]["conversions"] + metrics["holdout"]["conversions"] == 1
        prom = c.get("/metrics").text
        assert 'nba_decisions_total{outcome="contact"}' in prom
    server.stop()

    # a restart continues from the snapshot
    again_server = start_server(database_url=None, NBA_MODEL_URI="linucb:alpha=0.5")
    health = httpx2.get(again_server.url + "/healthz").json()
    assert health["policy"]["version"] == "13"
