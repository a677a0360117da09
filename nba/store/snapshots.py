"""Policy snapshots: the serving policy saved as it learns, so that a restart (or another
process) continues where it stopped. The newest five of each source are kept.

Every function takes an open :class:`sqlalchemy.Connection` inside a transaction
opened by :class:`nba.store.Store`, so a caller composes several into one atomic unit.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from nba.store.schema import policy_snapshots

__all__ = ["save_snapshot", "load_snapshot", "newest_snapshot"]

_KEEP_SNAPSHOTS = 5


def save_snapshot(conn: Connection, policy: Any, source: str, now: float) -> int:
    """Store the policy (its saved directory, as a tar) for a restart to continue.

    The newest five snapshots of a source are kept. Returns the snapshot's id.
    """
    with tempfile.TemporaryDirectory() as tmp:
        policy.save(Path(tmp) / "policy")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(Path(tmp) / "policy", arcname="policy")
    res = conn.execute(
        insert(policy_snapshots).values(
            created_at=now,
            source=source,
            policy_name=policy.name,
            policy_version=policy.version,
            blob=buf.getvalue(),
        )
    )
    key = res.inserted_primary_key
    assert key is not None
    new_id = int(key[0])
    keep = (
        select(policy_snapshots.c.id)
        .where(policy_snapshots.c.source == source)
        .order_by(policy_snapshots.c.id.desc())
        .limit(_KEEP_SNAPSHOTS)
    )
    kept = list(conn.execute(keep).scalars())
    conn.execute(
        delete(policy_snapshots).where(
            policy_snapshots.c.source == source, policy_snapshots.c.id.not_in(kept)
        )
    )
    return new_id


def load_snapshot(conn: Connection, source: str) -> Any | None:
    """The newest snapshot of the policy served from ``source``, or None."""
    from nba.policies.registry import load_policy

    row = conn.execute(
        select(policy_snapshots.c.blob)
        .where(policy_snapshots.c.source == source)
        .order_by(policy_snapshots.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(row.blob), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        return load_policy(Path(tmp) / "policy")


def newest_snapshot(conn: Connection, source: str) -> int | None:
    """The id of the newest snapshot of the policy served from ``source``, or None."""
    newest = conn.execute(
        select(policy_snapshots.c.id)
        .where(policy_snapshots.c.source == source)
        .order_by(policy_snapshots.c.id.desc())
        .limit(1)
    ).scalar()
    return None if newest is None else int(newest)
