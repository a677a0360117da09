"""Errors of the service layer, and their HTTP statuses (one table, one handler)."""

from __future__ import annotations

from nba.exceptions import ConfigError, NBAError, PolicyError

__all__ = [
    "ServiceError",
    "InputError",
    "NotFoundError",
    "AuthError",
    "ForbiddenError",
    "TooLargeError",
    "BusyError",
    "status_of",
]


class ServiceError(NBAError):
    """An error of the decision service."""


class InputError(ServiceError):
    """A request is well-formed JSON but its content is wrong (names the field)."""


class NotFoundError(ServiceError):
    """The thing asked for does not exist."""


class AuthError(ServiceError):
    """No API key, or an unknown or revoked one."""


class ForbiddenError(ServiceError):
    """The key's role may not do this."""


class TooLargeError(ServiceError):
    """A request asks for more than the service accepts in one call."""


class BusyError(ServiceError):
    """The service could not do it now, nothing was stored, and the same request may
    be retried (HTTP 503 with ``Retry-After``)."""


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
