"""Settings from ``NBA_``-prefixed environment variables (pydantic-settings).

Built by the cached :func:`get_settings`; tests call ``get_settings.cache_clear()``
after changing the environment. Never instantiated at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from nba.examples import DEFAULT_EXAMPLE, example_dir
from nba.exceptions import ConfigError

__all__ = ["Settings", "get_settings", "EXAMPLE_DIR"]

#: The packaged omnichannel example (catalog, guardrails, rules, goal, scenario, profiles):
#: the default configuration. See :mod:`nba.examples` for the other examples and by-name
#: lookups; this name stays because tests, docstrings and benchmarks build paths from it.
EXAMPLE_DIR: Path = example_dir(DEFAULT_EXAMPLE)


class Settings(BaseSettings):
    """nba's settings; docs/contracts.md lists each with its default.

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
    learn_interval: float = Field(
        default=30.0, ge=0.0, description="Seconds between background learning steps; 0: none."
    )
    champion_lookup: bool = Field(
        default=True, description="Serve `models:/nba@champion` when `NBA_MODEL_URI` is unset."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached).

    Raises
    ------
    ConfigError
        Naming the ``NBA_`` variable whose value does not fit, and what was expected.

    Examples
    --------
    >>> import os
    >>> os.environ["NBA_LEARN_INTERVAL"] = "soon"
    >>> get_settings.cache_clear()
    >>> get_settings()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: `NBA_LEARN_INTERVAL`: Input should be a valid number... (got 'soon')
    >>> del os.environ["NBA_LEARN_INTERVAL"]; get_settings.cache_clear()
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"`NBA_{'_'.join(str(x) for x in e['loc']).upper()}`: {e['msg']} (got {e['input']!r})"
            for e in exc.errors()
        ]
        raise ConfigError("; ".join(problems)) from None
