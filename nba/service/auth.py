"""Keys and principals: who calls (a bearer key's id and role), what a role may do,
and keys created and revoked (stored hashed, audited)."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from nba.exceptions import AuthError, ForbiddenError, InputError, NotFoundError
from nba.settings import Settings
from nba.store import config as stored_config
from nba.store import keys
from nba.store.db import Store

__all__ = ["KeyRing", "NewKey", "Principal", "create_key", "require"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: key id and role."""

    key_id: str
    role: str


def require(principal: Principal, *roles: str) -> None:
    """Raise ForbiddenError unless the principal has one of ``roles`` (admin always may).

    Examples
    --------
    >>> require(Principal("k", "admin"), "app")
    >>> require(Principal("k", "app"), "marketer")
    Traceback (most recent call last):
    ...
    nba.exceptions.ForbiddenError: role `app` may not do this; needs one of marketer
    """
    if principal.role != "admin" and principal.role not in roles:
        raise ForbiddenError(
            f"role `{principal.role}` may not do this; needs one of {', '.join(roles)}"
        )


@dataclass(frozen=True)
class NewKey:
    """A key just created: its id, the key itself (shown once, stored hashed), its role."""

    key_id: str
    key: str
    role: str


def create_key(store: Store, role: str, who: str, *, field: str = "role") -> NewKey:
    """Create a key for ``role``; the key itself is returned once and stored hashed.

    ``field`` is what an error calls the role (``--role`` on the command line).

    Raises
    ------
    InputError
        If the role is unknown.
    """
    if role not in keys.ROLES:
        raise InputError(f"`{field}`: expected one of {', '.join(keys.ROLES)}, got {role!r}")
    now = time.time()
    with store.write() as conn:
        key_id, key = keys.create_key(conn, role, now)
        stored_config.add_audit(
            conn, who, "create", "key", None, {"key_id": key_id, "role": role}, now
        )
    return NewKey(key_id, key, role)


class KeyRing:
    """Bearer keys to principals: the admin key of the settings, stored keys looked up
    and remembered for :attr:`key_ttl` seconds."""

    #: Seconds a key's lookup is remembered: a revocation reaches other processes
    #: within this time.
    key_ttl: float = 2.0

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        self._admin_hash = keys.hash_key(admin) if admin else None
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def authenticate(self, key: str | None) -> Principal:
        """The principal of a bearer key.

        Raises
        ------
        AuthError
            If the key is missing, unknown or revoked.
        """
        principal = self.known_principal(key)
        if principal is not None:
            return principal
        assert key  # known_principal raised otherwise
        with self.store.read() as conn:
            found = keys.role_of_key(conn, key)
        principal = None if found is None else Principal(*found)
        if len(self._cache) > 10_000:  # bounded, even under a flood of bad keys
            self._cache.clear()
        self._cache[keys.hash_key(key)] = (time.monotonic() + self.key_ttl, principal)
        if principal is None:
            raise AuthError("unknown or revoked API key")
        return principal

    def known_principal(self, key: str | None) -> Principal | None:
        """The principal of a key when it is known without the database (the
        admin key, or a recent lookup); None when :meth:`authenticate` must look.

        The HTTP layer calls this on the event loop, so that most requests
        authenticate without a hop to a worker thread.

        Raises
        ------
        AuthError
            If the key is missing, or was recently found unknown or revoked.
        """
        if not key:
            raise AuthError("missing API key: send `Authorization: Bearer <key>`")
        h = keys.hash_key(key)
        if self._admin_hash is not None and hmac.compare_digest(h, self._admin_hash):
            return Principal("env-admin", "admin")
        hit = self._cache.get(h)
        if hit is None or hit[0] <= time.monotonic():
            return None
        if hit[1] is None:
            raise AuthError("unknown or revoked API key")
        return hit[1]

    def create_key(self, role: str, who: str) -> NewKey:
        """:func:`create_key` in this key ring's store."""
        return create_key(self.store, role, who)

    def revoke_key(self, key_id: str, who: str) -> None:
        """Revoke a key.

        Raises
        ------
        NotFoundError
            If there is no such live key.
        """
        now = time.time()
        with self.store.write() as conn:
            if not keys.revoke_key(conn, key_id):
                raise NotFoundError(f"no live API key with id `{key_id}`")
            stored_config.add_audit(conn, who, "revoke", "key", {"key_id": key_id}, None, now)
        self._cache.clear()
