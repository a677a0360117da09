"""Single decisions of one event-loop turn are decided in groups (nba.api.grouping)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nba.api.grouping import MAX_GROUP, DecisionGroups
from nba.service import DecisionService
from nba.settings import Settings

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DecisionService]:
    svc = DecisionService(
        Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}"),
        champion_lookup=False,
        random_state=0,
        learn_interval=0,
    )
    yield svc
    svc.stop()


def _logged(service: DecisionService) -> int:
    m = service.metrics(now=NOW)
    return int(m.served.decisions + m.holdout.decisions)


def _together(groups: DecisionGroups, calls: list[dict[str, Any]]) -> list[str | None]:
    async def run() -> list[str | None]:
        return list(await asyncio.gather(*(groups.decide(**c) for c in calls)))

    return asyncio.run(run())


def test_one_turn_is_one_group_logged_like_separate_decisions(service: DecisionService) -> None:
    groups = DecisionGroups(service)
    out = _together(groups, [{"customer_id": f"c{i}", "now": NOW} for i in range(10)])
    assert list(groups.sizes) == [10]
    docs = [json.loads(o) for o in out if o is not None]
    assert [d["customer_id"] for d in docs] == [f"c{i}" for i in range(10)]
    for d in docs:  # every decision is in the log, as if asked for alone
        assert service.get_decision(d["decision_id"]).customer_id == d["customer_id"]


def test_a_customer_twice_goes_into_a_later_group_and_caps_stay_exact(
    service: DecisionService,
) -> None:
    service.put_config(
        "guardrails", {"frequency_caps": [{"name": "daily", "max": 1, "window_days": 1}]}, "test"
    )
    service.decide(["other"], NOW)  # the new rules are loaded (decide_now does not wait for it)
    groups = DecisionGroups(service)
    out = _together(groups, [{"customer_id": "hot", "now": NOW}] * 5)
    assert list(groups.sizes) == [1] * 5
    docs = [json.loads(o) for o in out if o is not None]
    assert len(docs) == 5
    assert sum(d["action"] is not None for d in docs) == 1


def test_requests_asking_differently_are_not_mixed(service: DecisionService) -> None:
    groups = DecisionGroups(service)
    calls = [
        {"customer_id": "a", "now": NOW},
        {"customer_id": "b", "now": NOW, "context": {"page": "cart"}},
        {"customer_id": "c", "now": NOW, "dry_run": True},
        {"customer_id": "d", "now": NOW},
        {"customer_id": "e", "now": NOW, "context": {"page": "cart"}},
    ]
    out = _together(groups, calls)
    assert sorted(groups.sizes) == [1, 2, 2]
    assert [json.loads(o)["customer_id"] for o in out if o] == ["a", "b", "c", "d", "e"]
    assert _logged(service) == 4  # the dry run was not logged


def test_groups_are_bounded(service: DecisionService) -> None:
    groups = DecisionGroups(service)
    _together(groups, [{"customer_id": f"c{i}", "now": NOW} for i in range(MAX_GROUP + 3)])
    assert list(groups.sizes) == [MAX_GROUP, 3]


def test_a_group_that_would_wait_is_decided_in_a_worker_thread(
    service: DecisionService, writer_elsewhere: Any
) -> None:
    groups = DecisionGroups(service)

    async def run() -> list[str | None]:
        with writer_elsewhere(service.store) as release:  # another writer holds the lock
            calls = [groups.decide(f"c{i}", NOW) for i in range(3)]
            pending = asyncio.gather(*calls)
            await asyncio.sleep(0.05)
            assert not pending.done()  # the group waits in a thread, not on the loop
            release.set()
            return list(await pending)

    out = asyncio.run(run())
    assert list(groups.sizes) == [3]
    assert [json.loads(o)["customer_id"] for o in out if o] == ["c0", "c1", "c2"]
    assert _logged(service) == 3


def test_a_group_that_fails_is_handed_back(service: DecisionService) -> None:
    bad = {"customer_id": "a", "now": NOW, "context": {"device": "toaster"}}
    out = _together(DecisionGroups(service), [bad, bad | {"customer_id": "b"}])
    assert out == [None, None]  # the endpoint then decides each alone: each gets the 422
    assert _logged(service) == 0
