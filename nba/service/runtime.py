"""The configuration compiled into a :class:`Runtime` (catalog, guardrails, goal, encoder,
and the JSON fragments decisions are rendered from), and :class:`Runtimes`, which keeps
the current one in step with the database and older ones for old decisions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from nba.catalog import Catalog
from nba.exceptions import NBAError, NotFoundError
from nba.features.codec import SignalCodec
from nba.features.encoding import Encoder
from nba.goals import Goal, parse_goal
from nba.guardrails import Guardrails, parse_guardrails
from nba.store import config as stored_config
from nba.store.db import Store

__all__ = [
    "CONFIG_KINDS",
    "Runtime",
    "Runtimes",
    "WouldWait",
    "compile_runtime",
    "load_runtime",
    "same_layout",
]

#: The configuration documents, versioned in the database.
CONFIG_KINDS = ("catalog", "guardrails", "goal")


class WouldWait(Exception):
    """A call that must not wait would have to (a lock, a configuration reload)."""


@dataclass(frozen=True)
class Runtime:
    """One consistent configuration: what decides, until the next change."""

    head: int
    versions: dict[str, int]
    documents: dict[str, Any]
    catalog: Catalog
    guardrails: Guardrails
    goal: Goal
    encoder: Encoder
    action_ids: tuple[str, ...]
    action_channel: tuple[str | None, ...]
    action_message: tuple[str | None, ...]
    action_json: tuple[str, ...]  # per action: its JSON ("null" for no-contact)
    dist_key: tuple[str, ...]  # per action: '"<id>":'
    sup_json: np.ndarray  # (n_actions, n_rules) object: suppression JSON fragments
    codec: SignalCodec


def compile_runtime(docs: dict[str, Any], versions: dict[str, int], head: int) -> Runtime:
    """Compile the three documents into a :class:`Runtime`.

    Raises
    ------
    ConfigError
        Naming the document and field at fault.

    Examples
    --------
    >>> from nba.config import load_document
    >>> from nba.settings import Settings
    >>> s = Settings()
    >>> docs = {k: load_document(getattr(s, k)) for k in CONFIG_KINDS}
    >>> rt = compile_runtime(docs, dict.fromkeys(CONFIG_KINDS, 1), 3)
    >>> rt.action_json[0], rt.dist_key[0]
    ('null', '"no_contact":')
    """
    cat = Catalog.from_dict(docs["catalog"], "catalog")
    guard = Guardrails(parse_guardrails(docs["guardrails"], cat, "guardrails"), cat)
    goal = parse_goal(docs["goal"], cat, "goal")
    acts = cat.actions.actions
    names = guard.rule_names
    sup = np.empty((len(acts), len(names)), dtype=object)
    for a, act in enumerate(acts):
        for r, rule in enumerate(names):
            sup[a, r] = json.dumps(
                {"message_id": act.message_id or "", "channel": act.channel or "", "rule": rule}
            )
    return Runtime(
        head=head,
        versions=versions,
        documents=docs,
        catalog=cat,
        guardrails=guard,
        goal=goal,
        encoder=Encoder(cat),
        action_ids=cat.actions.ids,
        action_channel=tuple(a.channel for a in acts),
        action_message=tuple(a.message_id for a in acts),
        action_json=tuple(
            "null"
            if a.is_no_contact
            else json.dumps({"message_id": a.message_id, "channel": a.channel})
            for a in acts
        ),
        dist_key=tuple(json.dumps(i) + ":" for i in cat.actions.ids),
        sup_json=sup,
        codec=SignalCodec(cat),
    )


def load_runtime(conn: Connection) -> Runtime:
    """The stored configuration's newest versions, compiled.

    Raises
    ------
    NotFoundError
        When the database holds no configuration (no service has run on it).
    """
    docs, versions = {}, {}
    for kind in CONFIG_KINDS:
        row = stored_config.latest_config(conn, kind)
        if row is None:
            raise NotFoundError(
                f"no {kind} is stored in this database: no service has run on it "
                "(`NBA_DATABASE_URL` names the service's database)"
            )
        docs[kind], versions[kind] = row.document, int(row.version)
    return compile_runtime(docs, versions, stored_config.config_head(conn))


def same_layout(old: Runtime, rt: Runtime) -> bool:
    """Whether decisions made with ``old``'s catalog read the same with ``rt``'s:
    the same actions in the same order, the same features and logged signals."""
    return (
        old.catalog.actions.ids == rt.catalog.actions.ids
        and old.encoder.feature_names == rt.encoder.feature_names
        and old.codec.names == rt.codec.names
        and old.catalog.message_ids == rt.catalog.message_ids
        and old.catalog.attributes == rt.catalog.attributes
    )


class Runtimes:
    """The current :class:`Runtime`, reloaded when any process changed the configuration,
    and the (catalog, guardrails) pairs of older decisions, compiled once each.

    Parameters
    ----------
    store
        The database the configuration is read from.
    lock
        Held while the runtime is reloaded (shared with the serving policy, which
        follows promotions in the same step).
    on_change
        Called (under ``lock``, in the reading transaction) after each reload.
    """

    def __init__(
        self,
        store: Store,
        lock: threading.RLock,
        on_change: Callable[[Connection], None] = lambda conn: None,
    ) -> None:
        self.store = store
        self.lock = lock
        self.on_change = on_change
        self._old: dict[tuple[int, int], Runtime] = {}
        with store.read() as conn:
            self.latest = load_runtime(conn)

    def current(self, conn: Connection, *, reload: bool = True) -> Runtime:
        """The runtime, reloaded if any process changed the configuration
        (``reload=False``: raise :class:`WouldWait` instead)."""
        head = stored_config.config_head(conn)
        rt = self.latest
        if head != rt.head:
            if not reload:
                raise WouldWait()
            with self.lock:
                if self.latest.head != head:
                    self.latest = load_runtime(conn)
                    self.on_change(conn)
                rt = self.latest
        return rt

    def at(self, catalog_version: int, guardrails_version: int, rt: Runtime) -> Runtime:
        """The (catalog, guardrails) of an older decision, with ``rt``'s goal (cached)."""
        if rt.versions["catalog"] == catalog_version and (
            rt.versions["guardrails"] == guardrails_version
        ):
            return rt
        key = (catalog_version, guardrails_version)
        hit = self._old.get(key)
        if hit is None:
            docs = dict(rt.documents)
            with self.store.read() as conn:
                for kind, v in (("catalog", catalog_version), ("guardrails", guardrails_version)):
                    docs[kind] = stored_config.config_document(conn, kind, v)
            try:
                hit = compile_runtime(docs, rt.versions, rt.head)
            except NBAError:  # the old pair with today's goal may not compile: drop the goal
                docs["goal"] = {"weights": {"purchase": 1.0}}
                hit = compile_runtime(docs, rt.versions, rt.head)
            self._old[key] = hit
        return hit
