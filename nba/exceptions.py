"""Errors raised by nba.

Every error a user can cause derives from :class:`NBAError` and carries a
message naming the file, field and value at fault and what was expected.
Only the CLI and the API layer turn them into exit codes or HTTP statuses.
"""

from __future__ import annotations

__all__ = [
    "NBAError",
    "ConfigError",
    "CatalogError",
    "GuardrailsError",
    "ProfileError",
    "PolicyError",
    "PolicySpecError",
    "NotFittedError",
    "ServiceError",
    "InputError",
    "NotFoundError",
    "AuthError",
    "ForbiddenError",
    "TooLargeError",
    "BusyError",
]


class NBAError(Exception):
    """Root of every error nba raises on purpose."""


class ConfigError(NBAError):
    """A configuration file (YAML/JSON) is missing, unreadable or invalid."""


class CatalogError(ConfigError):
    """The catalog of messages and channels is invalid."""


class GuardrailsError(ConfigError):
    """A guardrails file is invalid."""


class ProfileError(ConfigError):
    """A customer profile or event is invalid."""


class PolicyError(NBAError):
    """A policy was used wrongly (bad data, bad hyperparameters, bad file)."""


class PolicySpecError(PolicyError):
    """A policy spec such as ``vw:algo=squarecb`` could not be understood."""


class NotFittedError(PolicyError):
    """A policy that needs learned state was asked to save before learning."""


class ServiceError(NBAError):
    """An error of the decision service (:mod:`nba.service`) or of a command using it."""


class InputError(ServiceError):
    """A request or command's input is well-formed but its content is wrong (names the field)."""


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
