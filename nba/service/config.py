"""Configuration administration: the settings checked, the database seeded from the
configured files, documents read and replaced (validated together, versioned, audited),
and the audit log read back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from nba.catalog import Catalog
from nba.clock import iso
from nba.config import load_document
from nba.exceptions import ConfigError, InputError, NBAError, NotFoundError
from nba.goals import parse_goal
from nba.guardrails import parse_guardrails
from nba.settings import Settings
from nba.store import config as stored
from nba.store.db import STARTUP_LOCK, Store

from .runtime import CONFIG_KINDS, Runtimes, compile_runtime
from .serving import rules_policy

__all__ = ["AuditRecord", "ConfigAdmin", "check_settings", "seed_configs"]

log = logging.getLogger(__name__)


def check_settings(settings: Settings) -> None:
    """Refuse unsafe settings outside development.

    Raises
    ------
    ConfigError
        If ``NBA_ENV`` is not ``development`` and no ``NBA_ADMIN_KEY`` is set,
        or the admin key is too short to resist guessing.

    Examples
    --------
    >>> check_settings(Settings(env="production"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.ConfigError: `NBA_ENV=production` requires `NBA_ADMIN_KEY` ...
    """
    if settings.env == "development":
        return
    if settings.admin_key is None:
        raise ConfigError(
            f"`NBA_ENV={settings.env}` requires `NBA_ADMIN_KEY` (the first admin key); "
            "set it, or use NBA_ENV=development for local use"
        )
    if len(settings.admin_key.get_secret_value()) < 24:
        raise ConfigError(
            f"`NBA_ADMIN_KEY`: expected at least 24 random characters with NBA_ENV={settings.env}"
        )


def seed_configs(store: Store, settings: Settings) -> None:
    """Seed the database from the configured files the first time (several processes
    may start at once: one seeds, the others see its documents)."""
    with store.write() as conn:
        store.serialize(conn, STARTUP_LOCK)
        found = {k: stored.latest_config(conn, k) for k in CONFIG_KINDS}
        missing = [k for k, row in found.items() if row is None]
        if not missing:
            _warn_of_config_files(settings, found)
            return
        docs = {k: load_document(getattr(settings, k)) for k in CONFIG_KINDS}
        cat = Catalog.from_dict(docs["catalog"], str(settings.catalog))
        parse_guardrails(docs["guardrails"], cat, str(settings.guardrails))
        parse_goal(docs["goal"], cat, str(settings.goal))
        now = time.time()
        for kind in missing:
            stored.put_config(conn, kind, docs[kind], "startup", now)
            stored.add_audit(conn, "startup", "create", kind, None, docs[kind], now)


def _warn_of_config_files(settings: Settings, found: dict[str, Any]) -> None:
    """Say so when a configured file (``NBA_CATALOG``, ...) is not what the database
    holds: the files only seed an empty database; later the database (changed
    through the API, versioned and audited) is the configuration."""
    for kind in CONFIG_KINDS:
        path = getattr(settings, kind)
        try:
            same = load_document(path) == found[kind].document
        except NBAError as exc:
            log.warning("`NBA_%s` (%s) cannot be read: %s", kind.upper(), path, exc)
            continue
        if not same:
            log.warning(
                "`NBA_%s` (%s) differs from the %s in the database (version %s), which "
                "is the one used: configuration files only seed an empty database; "
                "change it with PUT /v1/%s",
                kind.upper(),
                path,
                kind,
                found[kind].version,
                kind,
            )


@dataclass(frozen=True)
class AuditRecord:
    """One change of the audit log: who (a key id, ``env-admin``, ``startup`` or
    ``cli``), when, what (``action`` on ``target``), before and after."""

    id: int
    at: str
    who: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ConfigAdmin:
    """Read and replace the configuration documents; read the audit log."""

    def __init__(self, store: Store, runtimes: Runtimes, settings: Settings) -> None:
        self.store = store
        self.runtimes = runtimes
        self.settings = settings

    def get_config(self, kind: str) -> tuple[int, Any]:
        """The current version and document of ``catalog``, ``guardrails`` or ``goal``."""
        _check_kind(kind)
        with self.store.read() as conn:
            rt = self.runtimes.current(conn)
        return rt.versions[kind], rt.documents[kind]

    def put_config(self, kind: str, document: Any, who: str) -> int:
        """Validate and store a new version of a configuration document.

        The new document is checked together with the other two (a catalog
        change must keep the guardrails and goal valid). Effective on the next
        decision, in every process. Returns the new version.

        Raises
        ------
        ConfigError
            Naming the document and field at fault; nothing is stored.
        """
        _check_kind(kind)
        with self.store.write() as conn:
            rt = self.runtimes.current(conn)
            docs = dict(rt.documents)
            docs[kind] = document
            new = compile_runtime(docs, rt.versions, rt.head)  # raises before anything is stored
            try:  # the rule baseline every decision may fall back to must still work
                rules_policy(self.settings).check(new.catalog.actions)
            except ConfigError as exc:
                raise InputError(
                    f"this {kind} would break the rule baseline (`NBA_RULES`): {exc}"
                ) from None
            now = time.time()
            version = stored.put_config(conn, kind, document, who, now)
            stored.add_audit(conn, who, "update", kind, rt.documents[kind], document, now)
        return version

    def audit(self, target: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """The audit log, newest first."""
        with self.store.read() as conn:
            rows = stored.list_audit(conn, target, limit)
        return [
            AuditRecord(r.id, iso(r.at), r.who, r.action, r.target, r.before, r.after) for r in rows
        ]


def _check_kind(kind: str) -> None:
    if kind not in CONFIG_KINDS:
        raise NotFoundError(f"unknown configuration `{kind}`; expected one of {CONFIG_KINDS}")
