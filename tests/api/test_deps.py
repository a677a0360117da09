"""Authentication on the event loop: a known key needs neither the database nor
a worker thread; an unknown one is looked up once, off the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nba.api import deps
from nba.api.app import create_app
from nba.exceptions import AuthError
from nba.service import DecisionService, Principal
from nba.service.auth import KeyRing
from nba.settings import Settings

ADMIN = "test-admin-key-0123456789abcdef"


def test_known_principal_needs_no_lookup_once_a_key_is_known(tmp_path: Path) -> None:
    svc = DecisionService(
        Settings(database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN),
        champion_lookup=False,
    )
    svc.key_ttl = 3600.0  # however slow the machine
    assert svc.known_principal(ADMIN) == Principal("env-admin", "admin")
    with pytest.raises(AuthError, match="missing API key"):
        svc.known_principal(None)
    made = svc.create_key("app", "test")
    assert svc.known_principal(made.key) is None  # never seen: look it up
    principal = svc.authenticate(made.key)
    assert principal.role == "app"
    assert svc.known_principal(made.key) == principal
    with pytest.raises(AuthError, match="unknown or revoked"):
        svc.authenticate("nba_nope")
    with pytest.raises(AuthError, match="unknown or revoked"):
        svc.known_principal("nba_nope")  # remembered as unknown
    svc.revoke_key(made.key_id, "test")
    assert svc.known_principal(made.key) is None  # revocation forgets what was known
    with pytest.raises(AuthError, match="unknown or revoked"):
        svc.authenticate(made.key)
    svc.stop()


def test_only_an_unknown_key_goes_to_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[Any] = []
    real = deps.run_in_threadpool

    async def counting(func: Any, *args: Any) -> Any:
        lookups.append(func)
        return await real(func, *args)

    monkeypatch.setattr(deps, "run_in_threadpool", counting)
    monkeypatch.setattr(KeyRing, "key_ttl", 3600.0)  # however slow the machine
    s = Settings(database_url=f"sqlite:///{tmp_path / 'nba.db'}", admin_key=ADMIN)
    with TestClient(create_app(s, learn_interval=0, champion_lookup=False)) as c:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        key = c.post("/v1/keys", json={"role": "app"}, headers=admin).json()["key"]
        app = {"Authorization": f"Bearer {key}"}
        for _ in range(3):
            assert c.post("/v1/decisions", json={"customer_id": "c"}, headers=app).is_success
        assert c.post("/v1/decisions", json={"customer_id": "c"}, headers=admin).is_success
    assert len(lookups) == 1
