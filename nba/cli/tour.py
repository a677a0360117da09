"""The end of ``nba demo``: the service, for a moment, on loopback.

After the experiment has registered its champion, :func:`service_tour`
starts the HTTP service on a free loopback port (its own SQLite file in a
temporary directory, the MLflow champion if there is one, else the rules)
and goes through the loop an application goes through: ask for a decision
with the moment's context, report what the customer did, let the learning
step join it as the reward, and read the decision back. It talks HTTP with
the standard library only (the demo runs without the test extras).
"""

from __future__ import annotations

import json
import secrets
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nba.exceptions import NBAError

__all__ = ["service_tour"]

#: The customer the tour asks about, and what the application knows of the moment.
CUSTOMER = "demo-customer-1"
CONTEXT = {"has_app": "yes", "device": "mobile", "page": "/cart"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(workdir: Path, key: str, champion_lookup: bool) -> Iterator[str]:
    """The service on a free loopback port for the ``with`` block; yields its URL."""
    import uvicorn
    from pydantic import SecretStr

    from nba.api.app import create_app
    from nba.settings import Settings

    settings = Settings(database_url=f"sqlite:///{workdir / 'nba.db'}", admin_key=SecretStr(key))
    app = create_app(settings, learn_interval=0, champion_lookup=champion_lookup)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="nba-demo-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise NBAError("the demo service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _call(url: str, key: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise NBAError(f"demo service: {method} {path} -> {exc.code} {exc.read()!r}") from None


def service_tour(workdir: Path | None = None, *, champion_lookup: bool = True) -> dict[str, Any]:
    """Serve for a moment and go through decide -> event -> reward join -> read back.

    Parameters
    ----------
    workdir
        Where the service keeps its database (default: a new temporary directory).
    champion_lookup
        Serve ``models:/nba@champion`` when the MLflow store has one.

    Returns
    -------
    ``{"policy", "decision", "suppressed_by_rule", "event", "learn", "detail"}``: what
    the service answered at each step.

    Raises
    ------
    NBAError
        If the service does not start or answers an error.
    """
    with ExitStack() as stack:
        if workdir is None:  # the demo's own: gone with the tour
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="nba-demo-service-"))
            workdir = Path(tmp)
        return _tour(workdir, champion_lookup)


def _tour(workdir: Path, champion_lookup: bool) -> dict[str, Any]:
    key = secrets.token_urlsafe(32)
    with _serving(workdir, key, champion_lookup) as url:
        health = _call(url, key, "GET", "/healthz")
        decision = _call(
            url,
            key,
            "POST",
            "/v1/decisions",
            {"customer_id": CUSTOMER, "context": CONTEXT, "trigger": "cart_abandoned"},
        )
        made = datetime.fromisoformat(decision["created_at"])
        clicked = {
            "event_id": f"{decision['decision_id']}-click",
            "customer_id": CUSTOMER,
            "type": "clicked" if decision["action"] else "page_view",
            "timestamp": (made + timedelta(minutes=20)).isoformat(),
            "decision_id": decision["decision_id"] if decision["action"] else None,
            "channel": (decision["action"] or {}).get("channel"),
        }
        event = _call(url, key, "POST", "/v1/events", {"events": [clicked]})
        # the attribution window ends a week later: a learning step then joins the reward
        later = (made + timedelta(days=8)).isoformat()
        learn = _call(url, key, "POST", "/v1/admin/learn", {"now": later})
        detail = _call(url, key, "GET", f"/v1/decisions/{decision['decision_id']}")
    by_rule: dict[str, int] = {}
    for s in decision["suppressed"]:
        by_rule[s["rule"]] = by_rule.get(s["rule"], 0) + 1
    return {
        "policy": health["policy"],
        "decision": {k: v for k, v in decision.items() if k not in ("suppressed", "distribution")},
        "suppressed_by_rule": by_rule,
        "event": event,
        "learn": learn,
        "detail": {k: detail[k] for k in ("reward", "window_closed", "reward_final", "learned")},
    }
