"""nba's errors as HTTP statuses: one table, and the one exception handler that uses it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from nba.exceptions import (
    AuthError,
    BusyError,
    ConfigError,
    ForbiddenError,
    InputError,
    NBAError,
    NotFoundError,
    PolicyError,
    TooLargeError,
)

__all__ = ["status_of", "nba_error_handler"]

_STATUS: tuple[tuple[type[NBAError], int], ...] = (
    (AuthError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (TooLargeError, 413),
    (InputError, 422),
    (ConfigError, 422),
    (PolicyError, 422),
    (BusyError, 503),
)
_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": "1"}}


def status_of(exc: NBAError) -> int:
    """The HTTP status of an nba error (400 when nothing more specific applies).

    Examples
    --------
    >>> status_of(NotFoundError("x")), status_of(BusyError("x")), status_of(NBAError("x"))
    (404, 503, 400)
    """
    for klass, status in _STATUS:
        if isinstance(exc, klass):
            return status
    return 400


async def nba_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """The response to an nba error: ``{"detail": message}`` with its status (and
    ``WWW-Authenticate`` on 401, ``Retry-After`` on 503)."""
    assert isinstance(exc, NBAError)
    status = status_of(exc)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=_HEADERS.get(status))
