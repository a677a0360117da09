"""Caps and budgets stay exact under concurrency, across server processes.

50 simultaneous decisions for one customer with a cap of 1 per day give
exactly one contact — on SQLite (two processes sharing the file) and on a
real PostgreSQL server shared by three processes. Daily budgets hold across
customers the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

NOW = "2026-03-02T10:00:00Z"
ONE_A_DAY = {"frequency_caps": [{"name": "one_a_day", "max": 1, "window_days": 1}]}
BUDGETS = {
    "budgets": [
        {"name": "web_budget", "channel": "web", "max_per_day": 4},
        {"name": "in_app_budget", "channel": "in_app", "max_per_day": 3},
    ]
}


def _fire(urls: list[str], headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[Any]:
    clients = [httpx2.Client(base_url=u, headers=headers, timeout=60) for u in urls]
    try:
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            futures = [
                pool.submit(clients[i % len(clients)].post, "/v1/decisions", json=b)
                for i, b in enumerate(bodies)
            ]
            responses = [f.result() for f in futures]
    finally:
        for c in clients:
            c.close()
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
    return [r.json() for r in responses]


def _cap_and_budget(servers: list[Any], headers: dict[str, str]) -> None:
    r = httpx2.put(servers[0].url + "/v1/guardrails", json=ONE_A_DAY, headers=headers)
    assert r.status_code == 200, r.text
    urls = [s.url for s in servers]
    # an existing customer: nothing but the lock serialises the decisions
    r = httpx2.put(
        servers[0].url + "/v1/customers/c-hot",
        json={"attributes": {"device": "mobile"}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out = _fire(urls, headers, [{"customer_id": "c-hot", "now": NOW}] * 50)
    contacts = [d for d in out if d["action"] is not None]
    assert len(contacts) == 1
    assert sum("one_a_day" in {s["rule"] for s in d["suppressed"]} for d in out) == 49
    detail = httpx2.get(
        servers[1].url + "/v1/customers/c-hot", params={"now": NOW}, headers=headers
    ).json()
    assert detail["signals"]["contacts_1d"] == 1.0
    assert len(detail["decisions"]) == 20  # the 20 most recent of 50 are listed

    r = httpx2.put(servers[-1].url + "/v1/guardrails", json=BUDGETS, headers=headers)
    assert r.status_code == 200, r.text
    out = _fire(urls, headers, [{"customer_id": f"b{i}", "now": NOW} for i in range(30)])
    channels = [d["action"]["channel"] for d in out if d["action"] is not None]
    assert channels.count("web") == 4
    assert channels.count("in_app") == 3
    assert len(channels) == 7


@pytest.mark.slow
def test_sqlite_two_processes_cap_and_budget(
    start_server: Callable[..., Any], admin_headers: dict[str, str]
) -> None:
    first = start_server()
    second = start_server()
    _cap_and_budget([first, second], admin_headers)


@pytest.mark.slow
def test_postgres_three_processes_cap_and_budget(
    start_server: Callable[..., Any], postgres_url: str, admin_headers: dict[str, str]
) -> None:
    servers = [start_server(postgres_url, wait=False) for _ in range(3)]
    for s in servers:
        s.wait()
    _cap_and_budget(servers, admin_headers)
    health = httpx2.get(servers[2].url + "/healthz").json()
    assert health["database"] == "postgresql"
    assert health["config_versions"]["guardrails"] == 3  # the file, then two PUTs
