"""Configuration documents (catalog, guardrails, goal, the promoted model), versioned,
and the audit log of who changed what.

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from nba.store._sql import fetch
from nba.store.schema import audit_log, config_versions

__all__ = [
    "latest_config",
    "config_document",
    "config_head",
    "put_config",
    "add_audit",
    "list_audit",
]

_Q_HEAD = "SELECT COALESCE(MAX(id), 0) FROM config_versions"


def latest_config(conn: Connection, kind: str) -> Any | None:
    """The newest stored version of a config document (row), or None."""
    return conn.execute(
        select(config_versions)
        .where(config_versions.c.kind == kind)
        .order_by(config_versions.c.version.desc())
        .limit(1)
    ).first()


def config_document(conn: Connection, kind: str, version: int) -> Any:
    """The document of one stored version of ``kind``."""
    return conn.execute(
        select(config_versions.c.document).where(
            config_versions.c.kind == kind, config_versions.c.version == version
        )
    ).scalar_one()


def config_head(conn: Connection) -> int:
    """Id of the newest config change of any kind (0 if none): a cheap change check."""
    return int(fetch(conn, _Q_HEAD)[0][0])


def put_config(conn: Connection, kind: str, document: Any, who: str, now: float) -> int:
    """Store a new version of a config document; returns its version number."""
    current = conn.execute(
        select(func.coalesce(func.max(config_versions.c.version), 0)).where(
            config_versions.c.kind == kind
        )
    ).scalar_one()
    version = int(current) + 1
    conn.execute(
        insert(config_versions).values(
            kind=kind, version=version, document=document, created_at=now, created_by=who
        )
    )
    return version


def add_audit(
    conn: Connection, who: str, action: str, target: str, before: Any, after: Any, now: float
) -> None:
    """Record who changed what, with the document before and after."""
    conn.execute(
        insert(audit_log).values(
            at=now, who=who, action=action, target=target, before=before, after=after
        )
    )


def list_audit(conn: Connection, target: str | None = None, limit: int = 100) -> list[Any]:
    """Newest audit entries first."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if target:
        q = q.where(audit_log.c.target == target)
    return list(conn.execute(q).all())
