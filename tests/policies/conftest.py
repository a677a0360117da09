"""Fixtures shared by the policy tests."""

from __future__ import annotations

import pytest

from nba.policies import registry


@pytest.fixture(autouse=True)
def _registrations_end_with_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    # register_policy is process-wide, and some tests list the known names exactly
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))
