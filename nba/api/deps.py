"""Dependencies shared by the routers: the service, and the caller's key and role."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .services import DecisionService, Principal

__all__ = ["get_service", "require"]

_bearer = HTTPBearer(auto_error=False, description="An nba API key: `Authorization: Bearer <key>`.")


def get_service(request: Request) -> DecisionService:
    """The app's :class:`DecisionService`."""
    service: DecisionService = request.app.state.service
    return service


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks its role (admin may do all)."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Principal:
        service = get_service(request)
        principal = service.authenticate(credentials.credentials if credentials else None)
        service.require(principal, *roles)
        return principal

    return dependency
