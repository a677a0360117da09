"""Settings from ``NBA_``-prefixed environment variables (pydantic-settings).

Built by the cached :func:`get_settings`; tests call ``get_settings.cache_clear()``
after changing the environment. Never instantiated at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "EXAMPLE_DIR"]

#: The shipped omnichannel example (catalog, guardrails, rules, goal, scenario).
EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "experiments" / "omnichannel"


class Settings(BaseSettings):
    """nba's settings; see DESIGN.md for the contract of each name.

    Examples
    --------
    >>> Settings(catalog="x.yaml").catalog
    PosixPath('x.yaml')
    """

    model_config = SettingsConfigDict(env_prefix="NBA_", extra="ignore")

    env: str = "development"
    database_url: str = "sqlite:///nba.db"
    admin_key: SecretStr | None = None
    model_uri: str | None = None
    catalog: Path = EXAMPLE_DIR / "catalog.yaml"
    guardrails: Path = EXAMPLE_DIR / "guardrails.yaml"
    goal: Path = EXAMPLE_DIR / "goal.yaml"
    rules: Path = EXAMPLE_DIR / "rules.yaml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached)."""
    return Settings()
