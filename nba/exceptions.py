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
