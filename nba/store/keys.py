"""API keys: stored hashed, with a role; looked up, created and revoked.

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, insert, select, update

from nba.store.schema import api_keys

__all__ = ["ROLES", "hash_key", "create_key", "role_of_key", "revoke_key"]

#: The roles a key may have.
ROLES = ("app", "marketer", "admin")


def hash_key(key: str) -> str:
    """sha256 of a key (keys are 256-bit random, so a fast hash is enough).

    Examples
    --------
    >>> len(hash_key("nba_x"))
    64
    """
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, role: str, now: float, key: str | None = None) -> tuple[str, str]:
    """Store a new key for ``role``; returns ``(key_id, key)`` (the key is shown once)."""
    key = key or "nba_" + secrets.token_urlsafe(32)
    key_id = "k_" + secrets.token_hex(6)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id, key_hash=hash_key(key), role=role, created_at=now, revoked=False
        )
    )
    return key_id, key


def role_of_key(conn: Connection, key: str) -> tuple[str, str] | None:
    """``(key_id, role)`` of a live key, or None."""
    row = conn.execute(
        select(api_keys.c.key_id, api_keys.c.role).where(
            api_keys.c.key_hash == hash_key(key), api_keys.c.revoked.is_(False)
        )
    ).first()
    return None if row is None else (row.key_id, row.role)


def revoke_key(conn: Connection, key_id: str) -> bool:
    """Revoke a key; False if there is no such live key."""
    res = conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked.is_(False))
        .values(revoked=True)
    )
    return bool(res.rowcount == 1)
