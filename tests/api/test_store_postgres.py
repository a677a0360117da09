"""The store and the service on a real PostgreSQL server (row locks, budgets, snapshots)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime

from nba.events import Event, EventType
from nba.service import DecisionService
from nba.settings import Settings
from nba.store import Store, budgets

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_take_budget_exact_on_postgres(postgres_url: str) -> None:
    store = Store(postgres_url)

    def take() -> bool:
        with store.write() as conn:
            return budgets.take_budget(conn, "sms", 100, 1, 7)

    with ThreadPoolExecutor(20) as pool:
        assert sum(pool.map(lambda _: take(), range(40))) == 7
    with store.write() as conn:  # more than the budget on a new day: nothing counted
        assert not budgets.take_budget(conn, "sms", 101, 8, 7)
        assert budgets.take_budget(conn, "sms", 101, 7, 7)
        assert not budgets.take_budget(conn, "sms", 101, 1, 7)
        assert budgets.budget_used(conn, ["sms"], 101) == {"sms": 7}
    store.dispose()


def test_service_on_postgres_caps_learns_and_restarts(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, model_uri="linucb")
    svc = DecisionService(settings, champion_lookup=False, random_state=0)
    svc.put_config(
        "guardrails", {"frequency_caps": [{"name": "daily", "max": 1, "window_days": 1}]}, "test"
    )
    # an existing customer: only the row lock serialises the decisions
    svc.put_customer(
        "hot", attributes={"device": "mobile"}, consent=None, timezone=None, who="test"
    )
    with ThreadPoolExecutor(25) as pool:
        results = list(pool.map(lambda _: svc.decide(["hot"], NOW)[1], range(50)))
    assert sum(int(b.action[0] != 0) for b in results) == 1
    _, batch = svc.decide([f"c{i}" for i in range(20)], NOW)
    first = next(i for i in range(20) if batch.action[i] != 0)
    counts = svc.ingest_events(
        [
            Event(
                customer_id=f"c{first}",
                type=EventType.PURCHASE,
                timestamp=NOW,
                value=10.0,
                decision_id=batch.decision_ids[first],
                event_id="p1",
            )
        ]
    )
    assert asdict(counts) == {"accepted": 1, "duplicates": 0, "late": 0, "unknown_decision": 0}
    out = svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    assert out.closed == 70 and out.learned == 70
    detail = svc.get_decision(batch.decision_ids[first])
    assert detail.window_closed and detail.reward > 1.0
    svc.stop()
    again = DecisionService(settings, champion_lookup=False)
    assert again.policy_info().version == "70"
    again.stop()


def test_single_decisions_are_grouped_on_postgres(postgres_url: str) -> None:
    """On PostgreSQL a group is decided in a worker thread, as one transaction."""
    import asyncio
    import json

    from nba.api.grouping import DecisionGroups

    svc = DecisionService(Settings(database_url=postgres_url), champion_lookup=False)
    groups = DecisionGroups(svc)

    async def together() -> list[str | None]:
        return list(await asyncio.gather(*(groups.decide(f"g{i}", NOW) for i in range(6))))

    out = asyncio.run(together())
    assert list(groups.sizes) == [6]
    docs = [json.loads(o) for o in out if o is not None]
    assert [d["customer_id"] for d in docs] == [f"g{i}" for i in range(6)]
    for d in docs:
        assert svc.get_decision(d["decision_id"]).customer_id == d["customer_id"]
    svc.stop()
