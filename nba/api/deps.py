"""Dependencies shared by the routers: the service, and the caller's key and role.

Both are ``async``: FastAPI runs a sync dependency in its thread pool, and
each such hop (a queue hand-off, a thread wake-up, a wake-up of the event
loop) costs more than a decision's own work in the database. Neither blocks:
the key's principal is usually known in memory, and a database lookup when
it is not goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from nba.service import DecisionService, Principal

from .grouping import DecisionGroups

__all__ = ["get_groups", "get_service", "require"]

_bearer = HTTPBearer(auto_error=False, description="An nba API key: `Authorization: Bearer <key>`.")


async def get_service(request: Request) -> DecisionService:
    """The app's :class:`DecisionService`."""
    service: DecisionService = request.app.state.service
    return service


async def get_groups(request: Request) -> DecisionGroups:
    """The app's :class:`~nba.api.grouping.DecisionGroups` (single decisions, grouped)."""
    groups: DecisionGroups = request.app.state.decision_groups
    return groups


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks its role (admin may do all)."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Principal:
        service: DecisionService = request.app.state.service
        key = credentials.credentials if credentials else None
        principal = service.known_principal(key)
        if principal is None:  # a database lookup: not on the event loop
            principal = await run_in_threadpool(service.authenticate, key)
        service.require(principal, *roles)
        return principal

    return dependency
