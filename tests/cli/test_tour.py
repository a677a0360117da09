"""The end of `nba demo`: the real service on loopback, through decide, event, reward."""

from __future__ import annotations

from pathlib import Path

import pytest

from nba.cli.tour import service_tour


def test_the_demo_goes_through_the_loop_an_application_goes_through(tmp_path: Path) -> None:
    tour = service_tour(tmp_path, champion_lookup=False)
    assert tour["policy"]["name"] == "rules"
    decision = tour["decision"]
    assert decision["customer_id"] == "demo-customer-1"
    # the context says the customer has the app: in-app messages are not suppressed
    assert "in_app_needs_app" not in tour["suppressed_by_rule"]
    assert tour["event"]["accepted"] == 1
    assert tour["learn"]["closed"] == 1
    detail = tour["detail"]
    assert detail["reward_final"] and detail["window_closed"]
    costs = {"email": 0.001, "sms": 0.02, "push": 0.002, "web": 0.0, "in_app": 0.0}
    if decision["action"] is not None:  # a click: 0.05 in the example goal, minus the send
        assert detail["reward"] == pytest.approx(0.05 - costs[decision["action"]["channel"]])
    assert (tmp_path / "nba.db").exists()


def test_the_demo_service_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tour = service_tour(champion_lookup=False)
    assert tour["learn"]["closed"] == 1
    assert list(tmp_path.iterdir()) == []
