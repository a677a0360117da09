"""The decision service: the flow behind the HTTP API (no HTTP here).

:class:`DecisionService` owns the store, the configuration (catalog,
guardrails, goal: versioned in the database, effective on the next decision
in every process) and the serving policy. Every decision goes through the
one pipeline: the customers' :class:`~nba.features.signals.CustomerStates`
are built from the stored profile, events and recorded contacts;
:meth:`nba.pipeline.Decider.decide` decides; the decision is logged and a
chosen contact counted against caps and budgets in the same transaction.

The learning loop (:meth:`DecisionService.learn`) joins events to decisions,
closes decisions whose attribution window has ended (reward from the goal),
lets the policy learn from them on a copy that is then swapped in, and
snapshots the policy so that a restart continues where it stopped.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import math
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, select, update

from nba.catalog import Catalog
from nba.clock import DAY, epoch, iso
from nba.config import load_document
from nba.events import Event, EventType
from nba.exceptions import ConfigError, NBAError
from nba.features.codec import SignalCodec
from nba.features.context import Context
from nba.features.encoding import Encoder
from nba.features.signals import EVENT_CODES, CustomerStates
from nba.goals import Goal, attribute_events, outcome_counts, parse_goal
from nba.guardrails import Guardrails, parse_guardrails
from nba.pipeline import Decider, DecisionBatch
from nba.policies.base import LoggedBatch, Policy
from nba.policies.registry import load_policy
from nba.policies.rules import RulePolicy
from nba.settings import Settings
from nba.stats import difference_interval
from nba.store import repo
from nba.store.db import LEARNER_LOCK, STARTUP_LOCK, Store, WriterBusy
from nba.store.schema import (
    DECISIONS_UNLEARNED,
    EVENTS_UNKNOWN,
    decisions,
    events,
    policy_snapshots,
)

from .errors import (
    AuthError,
    BusyError,
    ForbiddenError,
    InputError,
    NotFoundError,
    TooLargeError,
)

__all__ = [
    "DecisionService",
    "Runtime",
    "MAX_BATCH",
    "MAX_EVENTS",
    "CONFIG_KINDS",
    "Principal",
    "check_settings",
]

log = logging.getLogger(__name__)

MAX_BATCH = 10_000
#: Events per ingestion call: one transaction, which decisions wait for (~0.4 s at most).
MAX_EVENTS = 10_000
_FEW = 4  # decisions_json renders up to this many decisions row by row
CONFIG_KINDS = ("catalog", "guardrails", "goal")
_RULES_SOURCE = "rules"
_CHAMPION = "models:/nba@champion"


class _BudgetRace(Exception):
    """Another process spent the budget between our read and our write; retry."""


class _WouldWait(Exception):
    """:meth:`DecisionService.decide_now` would have to wait (a lock, a reload)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: key id and role."""

    key_id: str
    role: str


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


@dataclass
class _Serving:
    """The serving policy and where it came from."""

    policy: Policy
    source: str
    requested: str | None
    degraded: bool = False
    reason: str | None = None
    #: Degraded because the policy failed on a decision (not at loading): a
    #: configuration change may mend it, so it is tried again then.
    failed: bool = False
    snapshot_id: int = 0
    learned: int = 0
    last_learn: dict[str, Any] = field(default_factory=dict)


#: The largest event value (a purchase amount) the service accepts: sums of values stay
#: finite, and so do rewards and the signals that add them up (in float32).
MAX_VALUE = 1e9
#: The times the service accepts (a decision's ``now``, an event's timestamp): from the
#: Unix epoch to 2200 (later ones would not survive an attribution window's end).
EARLIEST, LATEST = 0.0, 7_258_118_400.0


def _clock(now: datetime | None, field: str = "now") -> float:
    """``now`` in epoch seconds (default: the wall clock), checked.

    Raises
    ------
    InputError
        Naming ``field`` when the time is before 1970 or from 2200 on.

    Examples
    --------
    >>> _clock(datetime(2026, 3, 2, tzinfo=UTC))
    1772409600.0
    >>> _clock(datetime(9999, 12, 31), "events[0].timestamp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.api.errors.InputError: `events[0].timestamp`: expected a time from 1970 to 2199, got 9...
    """
    if now is None:
        return time.time()
    t = epoch(now)
    if not EARLIEST <= t < LATEST:
        raise InputError(f"`{field}`: expected a time from 1970 to 2199, got {now.isoformat()}")
    return t


def _checked_ids(customer_ids: Sequence[str]) -> list[str]:
    """The ids of a decision request, as strings: 1 to MAX_BATCH distinct ids of 1 to 200 chars.

    Raises
    ------
    InputError, TooLargeError
        Naming ``customer_ids`` and what is wrong.
    """
    ids = [str(c) for c in customer_ids]
    if not ids:
        raise InputError("`customer_ids`: expected at least one customer id")
    if len(ids) > MAX_BATCH:
        raise TooLargeError(
            f"`customer_ids`: at most {MAX_BATCH} customers per call, got {len(ids)}; "
            "split the list"
        )
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(c for c in ids if c in seen or seen.add(c))  # type: ignore[func-returns-value]
        raise InputError(f"`customer_ids`: customer `{dup}` appears more than once")
    bad = next((c for c in ids if not c or len(c) > 200), None)
    if bad is not None:
        raise InputError(
            f"`customer_ids`: ids must be 1 to 200 characters, got {bad[:40]!r}"
            + ("…" if len(bad) > 40 else "")
        )
    return ids


def _copy_policy(policy: Policy) -> Policy:
    """A copy to learn on while the original keeps serving."""
    try:
        return copy.deepcopy(policy)
    except Exception:  # native state (e.g. a VW workspace): go through save/load
        with tempfile.TemporaryDirectory() as tmp:
            policy.save(Path(tmp) / "p")
            return load_policy(Path(tmp) / "p")


class DecisionService:
    """Decisions, events, reward join, learning, configuration and keys.

    Parameters
    ----------
    settings
        nba's settings (database URL, admin key, model URI, config files).
    random_state
        Seed for sampling (``None``: from the OS).
    learn_interval
        Seconds between background learning steps; ``None`` or 0 disables
        the background worker (call :meth:`learn` yourself).
    champion_lookup
        Look for ``models:/nba@champion`` when no model URI is set.

    Raises
    ------
    ConfigError
        If the settings are unsafe outside development (no admin key) or a
        configuration file is invalid.
    """

    #: Seconds a key's lookup is remembered: a revocation reaches other processes
    #: within this time.
    key_ttl: float = 2.0

    def __init__(
        self,
        settings: Settings,
        *,
        random_state: int | None = None,
        learn_interval: float | None = None,
        champion_lookup: bool = True,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.store = Store(settings.database_url, background_checkpoints=True)
        self._rng = np.random.default_rng(random_state)
        self._lock = threading.RLock()
        self._learn_lock = threading.Lock()
        self._pipeline_lock = threading.Lock()
        self._key_cache: dict[str, tuple[float, Principal | None]] = {}
        self._old_runtimes: dict[tuple[int, int], Runtime] = {}
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        self._admin_hash = repo.hash_key(admin) if admin else None
        self.started_at = time.time()
        self.counters: dict[str, Any] = {}
        self._bootstrap_configs()
        with self.store.read() as conn:
            self._runtime = self._load_runtime(conn)
        self._model_seen = 0
        self._serving = self._load_policy(champion_lookup)
        self._fallback = self._rules_policy()
        self._fallback.check(self._runtime.catalog.actions)  # every decision may fall back
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.learn_interval = learn_interval

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the background learner (if an interval is set)."""
        if self.learn_interval and self._worker is None:
            self._worker = threading.Thread(
                target=self._run_worker, name="nba-learner", daemon=True
            )
            self._worker.start()

    def stop(self) -> None:
        """Stop the background learner and close the database connections."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
            self._worker = None
        self.store.dispose()

    def _run_worker(self) -> None:
        assert self.learn_interval
        while not self._stop.wait(self.learn_interval):
            try:
                self.learn()
            except Exception:  # the learner must never take the service down
                log.exception("background learning step failed")

    # -- configuration ---------------------------------------------------------------
    def _bootstrap_configs(self) -> None:
        """Seed the database from the configured files the first time."""
        s = self.settings
        with self.store.write() as conn:
            self.store.serialize(conn, STARTUP_LOCK)  # several processes may start at once
            stored = {k: repo.latest_config(conn, k) for k in CONFIG_KINDS}
            missing = [k for k, row in stored.items() if row is None]
            if not missing:
                self._warn_of_config_files(stored)
                return
            docs = {
                "catalog": load_document(s.catalog),
                "guardrails": load_document(s.guardrails),
                "goal": load_document(s.goal),
            }
            cat = Catalog.from_dict(docs["catalog"], str(s.catalog))
            parse_guardrails(docs["guardrails"], cat, str(s.guardrails))
            parse_goal(docs["goal"], cat, str(s.goal))
            now = time.time()
            for kind in missing:
                repo.put_config(conn, kind, docs[kind], "startup", now)
                repo.add_audit(conn, "startup", "create", kind, None, docs[kind], now)

    def _warn_of_config_files(self, stored: dict[str, Any]) -> None:
        """Say so when a configured file (``NBA_CATALOG``, ...) is not what the database
        holds: the files only seed an empty database; later the database (changed
        through the API, versioned and audited) is the configuration."""
        for kind in ("catalog", "guardrails", "goal"):
            path = getattr(self.settings, kind)
            try:
                same = load_document(path) == stored[kind].document
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
                    stored[kind].version,
                    kind,
                )

    def _load_runtime(self, conn: Connection) -> Runtime:
        docs, versions = {}, {}
        for kind in CONFIG_KINDS:
            row = repo.latest_config(conn, kind)
            assert row is not None
            docs[kind], versions[kind] = row.document, int(row.version)
        return self._compile(docs, versions, repo.config_head(conn))

    @staticmethod
    def _compile(docs: dict[str, Any], versions: dict[str, int], head: int) -> Runtime:
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

    def _current(self, conn: Connection, *, reload: bool = True) -> Runtime:
        """The runtime, reloaded if any process changed the configuration
        (``reload=False``: raise _WouldWait instead)."""
        head = repo.config_head(conn)
        rt = self._runtime
        if head != rt.head:
            if not reload:
                raise _WouldWait()
            with self._lock:
                if self._runtime.head != head:
                    self._runtime = self._load_runtime(conn)
                    self._on_config_change()
                    self._follow_promotion(conn)
                rt = self._runtime
        return rt

    def _runtime_at(self, catalog_version: int, guardrails_version: int, rt: Runtime) -> Runtime:
        """The (catalog, guardrails) of an older decision, to render it (cached)."""
        if rt.versions["catalog"] == catalog_version and (
            rt.versions["guardrails"] == guardrails_version
        ):
            return rt
        key = (catalog_version, guardrails_version)
        hit = self._old_runtimes.get(key)
        if hit is None:
            from nba.store.schema import config_versions as cv

            docs = dict(rt.documents)
            with self.store.read() as conn:
                for kind, v in (("catalog", catalog_version), ("guardrails", guardrails_version)):
                    doc = conn.execute(
                        select(cv.c.document).where(cv.c.kind == kind, cv.c.version == v)
                    ).scalar_one()
                    docs[kind] = doc
            try:
                hit = self._compile(docs, rt.versions, rt.head)
            except NBAError:  # the old pair with today's goal may not compile: drop the goal
                docs["goal"] = {"weights": {"purchase": 1.0}}
                hit = self._compile(docs, rt.versions, rt.head)
            self._old_runtimes[key] = hit
        return hit

    def _on_config_change(self) -> None:
        self._fallback = self._rules_policy()
        serving = self._serving
        if serving.failed:  # the policy gets another chance with the new configuration
            serving.degraded = serving.failed = False
            serving.reason = None

    def get_config(self, kind: str) -> tuple[int, Any]:
        """The current version and document of ``catalog``, ``guardrails`` or ``goal``."""
        self._check_kind(kind)
        with self.store.read() as conn:
            rt = self._current(conn)
        return rt.versions[kind], rt.documents[kind]

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in CONFIG_KINDS:
            raise NotFoundError(f"unknown configuration `{kind}`; expected one of {CONFIG_KINDS}")

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
        self._check_kind(kind)
        with self.store.write() as conn:
            rt = self._current(conn)
            docs = dict(rt.documents)
            docs[kind] = document
            new = self._compile(docs, rt.versions, rt.head)  # raises before anything is stored
            try:  # the rule baseline every decision may fall back to must still work
                self._rules_policy().check(new.catalog.actions)
            except ConfigError as exc:
                raise InputError(
                    f"this {kind} would break the rule baseline (`NBA_RULES`): {exc}"
                ) from None
            now = time.time()
            version = repo.put_config(conn, kind, document, who, now)
            repo.add_audit(conn, who, "update", kind, rt.documents[kind], document, now)
        return version

    def audit(self, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The audit log, newest first."""
        with self.store.read() as conn:
            rows = repo.list_audit(conn, target, limit)
        return [
            {
                "id": r.id,
                "at": iso(r.at),
                "who": r.who,
                "action": r.action,
                "target": r.target,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]

    # -- policy ----------------------------------------------------------------------
    def _rules_policy(self) -> RulePolicy:
        return RulePolicy(rules=str(self.settings.rules))

    def _open_model(self, uri: str) -> Policy:
        """Load the model at ``uri``: an MLflow model URI, a saved policy directory or a
        spec (built with the configured rules, for the policies that follow them)."""
        if "://" in uri or uri.startswith(("models:/", "runs:/")):
            import mlflow  # lazy: MLflow is slow to import

            from nba.tracking.models import load_policy
            from nba.tracking.runs import default_tracking_uri

            mlflow.set_tracking_uri(default_tracking_uri())
            policy: Policy = load_policy(uri)
            return policy
        from nba.policies.spec import make_policy

        return make_policy(uri, rules=str(self.settings.rules))

    def _load_policy(self, champion_lookup: bool) -> _Serving:
        """The policy to serve at start: ``NBA_MODEL_URI``, else the last promoted
        model, else the registered champion, else the rule baseline."""
        requested = self.settings.model_uri
        with self.store.read() as conn:
            promoted = repo.latest_config(conn, "model")
        if promoted is not None:
            self._model_seen = int(promoted.id)
            if requested is None:
                requested = str(promoted.document["model_uri"])
        uri = requested or (_CHAMPION if champion_lookup and _mlflow_store_exists() else None)
        serving = _Serving(self._rules_policy(), _RULES_SOURCE, requested)
        if uri is not None:
            try:
                serving = _Serving(self._open_model(uri), uri, requested)
            except Exception as exc:
                from nba.tracking.models import champion_registered  # (MLflow: lazy)

                # no champion is no fault; a champion that cannot be loaded is one
                if requested is not None or champion_registered():
                    serving.degraded = True
                    serving.reason = f"cannot load model `{uri}`: {exc}"
                    log.warning("serving the rule baseline: %s", serving.reason)
        self._restore_snapshot(serving)
        return serving

    def _restore_snapshot(self, serving: _Serving) -> None:
        """Continue from the newest snapshot of what ``serving`` serves, if any."""
        with self.store.read() as conn:
            snap = conn.execute(
                select(policy_snapshots.c.id)
                .where(policy_snapshots.c.source == serving.source)
                .order_by(policy_snapshots.c.id.desc())
                .limit(1)
            ).first()
            if snap is None:
                return
            try:
                loaded = repo.load_snapshot(conn, serving.source)
            except Exception as exc:
                log.warning("cannot load the policy snapshot: %s", exc)
                return
        if loaded is not None:
            serving.policy = loaded
            serving.snapshot_id = int(snap.id)

    def _follow_promotion(self, conn: Connection) -> None:
        """Serve a model another process promoted (called when the config changed)."""
        row = repo.latest_config(conn, "model")
        if row is None or int(row.id) <= self._model_seen:
            return
        self._model_seen = int(row.id)
        uri = str(row.document["model_uri"])
        if uri == self._serving.source:
            return
        try:
            serving = _Serving(self._open_model(uri), uri, uri)
        except Exception as exc:  # keep serving what we serve, and say so in /healthz
            self._serving.degraded = True
            self._serving.reason = f"cannot serve the promoted model `{uri}`: {exc}"
            log.warning("%s", self._serving.reason)
            return
        self._restore_snapshot(serving)
        self._serving = serving

    def promote(self, model_uri: str, who: str) -> dict[str, Any]:
        """Serve another model from now on, in every process (versioned, audited).

        Raises
        ------
        InputError
            If the model cannot be loaded (the current policy keeps serving).
        """
        try:
            serving = _Serving(self._open_model(model_uri), model_uri, model_uri)
        except Exception as exc:
            raise InputError(f"`model_uri`: cannot load model {model_uri!r}: {exc}") from None
        self._restore_snapshot(serving)
        now = time.time()
        with self.store.write() as conn:
            before = self._serving.source
            repo.put_config(conn, "model", {"model_uri": model_uri}, who, now)
            repo.add_audit(
                conn, who, "promote", "model", {"model_uri": before}, {"model_uri": model_uri}, now
            )
            row = repo.latest_config(conn, "model")
        with self._lock:
            self._serving = serving
            if row is not None:
                self._model_seen = int(row.id)
        return self.policy_info()

    def policy_info(self) -> dict[str, Any]:
        """Which policy serves, and whether the service is degraded."""
        s = self._serving
        return {
            "name": s.policy.name,
            "version": s.policy.version,
            "source": s.source,
            "requested_model": s.requested,
            "degraded": s.degraded,
            "reason": s.reason,
        }

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` document."""
        with self.store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
            rt = self._current(conn)
        info = self.policy_info()
        return {
            "status": "degraded" if info["degraded"] else "ok",
            "degraded": info["degraded"],
            "reason": info["reason"],
            "policy": info,
            "config_versions": rt.versions,
            "database": self.store.dialect,
            "uptime_seconds": time.time() - self.started_at,
        }

    # -- keys ------------------------------------------------------------------------
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
            found = repo.role_of_key(conn, key)
        principal = None if found is None else Principal(*found)
        if len(self._key_cache) > 10_000:  # bounded, even under a flood of bad keys
            self._key_cache.clear()
        self._key_cache[repo.hash_key(key)] = (time.monotonic() + self.key_ttl, principal)
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
        h = repo.hash_key(key)
        if self._admin_hash is not None and hmac.compare_digest(h, self._admin_hash):
            return Principal("env-admin", "admin")
        hit = self._key_cache.get(h)
        if hit is None or hit[0] <= time.monotonic():
            return None
        if hit[1] is None:
            raise AuthError("unknown or revoked API key")
        return hit[1]

    @staticmethod
    def require(principal: Principal, *roles: str) -> None:
        """Raise ForbiddenError unless the principal has one of ``roles`` (admin always may)."""
        if principal.role != "admin" and principal.role not in roles:
            raise ForbiddenError(
                f"role `{principal.role}` may not do this; needs one of {', '.join(roles)}"
            )

    def create_key(self, role: str, who: str) -> dict[str, str]:
        """Create a key for ``role``; the key itself is returned once and stored hashed.

        Raises
        ------
        InputError
            If the role is unknown.
        """
        if role not in repo.ROLES:
            raise InputError(f"`role`: expected one of {', '.join(repo.ROLES)}, got {role!r}")
        now = time.time()
        with self.store.write() as conn:
            key_id, key = repo.create_key(conn, role, now)
            repo.add_audit(conn, who, "create", "key", None, {"key_id": key_id, "role": role}, now)
        return {"key_id": key_id, "key": key, "role": role}

    def revoke_key(self, key_id: str, who: str) -> None:
        """Revoke a key.

        Raises
        ------
        NotFoundError
            If there is no such live key.
        """
        now = time.time()
        with self.store.write() as conn:
            if not repo.revoke_key(conn, key_id):
                raise NotFoundError(f"no live API key with id `{key_id}`")
            repo.add_audit(conn, who, "revoke", "key", {"key_id": key_id}, None, now)
        self._key_cache.clear()

    # -- decisions -------------------------------------------------------------------
    def decide(
        self,
        customer_ids: Sequence[str],
        now: datetime | None = None,
        *,
        trigger: str | None = None,
        context: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Runtime, DecisionBatch]:
        """Decide for customers and, unless ``dry_run``, log and count the contacts.

        Parameters
        ----------
        customer_ids
            One or many (<= :data:`MAX_BATCH`) distinct customer ids; unknown
            customers are decided from a cold start.
        now
            Decision time (default: the clock).
        trigger, context
            What the calling application says about the moment; logged. Context
            values of attributes the catalog declares (and the trigger, if it
            declares ``trigger``) stand for the customers' stored ones in this
            decision.
        dry_run
            Decide without logging or counting anything.

        Returns
        -------
        (Runtime, DecisionBatch)
            The configuration used and the decisions, in input order.

        Raises
        ------
        InputError, TooLargeError
            On an empty, duplicated or too long id list.
        """
        ids = _checked_ids(customer_ids)
        t = _clock(now)
        when = datetime.fromtimestamp(t, UTC)
        for _attempt in range(10):
            try:
                return self._decide_once(ids, when, t, trigger, context, dry_run)
            except _BudgetRace:
                continue
        raise BusyError(
            "concurrent decisions kept taking the same daily budget (10 attempts); nothing "
            "was stored: try again"
        )

    def decide_now(
        self,
        customer_ids: Sequence[str],
        now: datetime | None = None,
        *,
        trigger: str | None = None,
        context: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Runtime, DecisionBatch] | None:
        """:meth:`decide` for a few customers, if it can be done without waiting; else None.

        For the HTTP server's event loop: a few decisions on SQLite are a
        short transaction of a few hundred microseconds, less than handing it
        to a worker thread costs. It does not wait (beyond 2 ms): when the write lock is
        taken (by a thread of this process or by another process), another
        decision is computing, or the configuration must be reloaded, it
        returns None having changed nothing, and the caller runs
        :meth:`decide` in a worker thread. PostgreSQL always gets None (its
        statements wait on the network), and so do ids :meth:`decide` would
        refuse (it words the error).
        """
        if self.store.dialect != "sqlite":
            return None
        try:
            ids = _checked_ids(customer_ids)
        except NBAError:
            return None
        t = _clock(now)
        when = datetime.fromtimestamp(t, UTC)
        try:
            return self._decide_once(ids, when, t, trigger, context, dry_run, wait=False)
        except (WriterBusy, _WouldWait, _BudgetRace):
            return None

    def _decide_once(
        self,
        ids: list[str],
        when: datetime,
        t: float,
        trigger: str | None,
        context: dict[str, Any] | None,
        dry_run: bool,
        *,
        wait: bool = True,
    ) -> tuple[Runtime, DecisionBatch]:
        """One attempt; with ``wait=False`` it raises WriterBusy or _WouldWait rather
        than wait for a lock (rolling back what it did)."""
        if dry_run:
            tx = self.store.read()
        else:
            tx = self.store.write() if wait else self.store.write_now()
        with tx as conn:
            rt = self._current(conn, reload=wait)
            wall = time.time()
            if dry_run:
                rows = repo.load_customers(conn, ids)
            elif self.store.dialect == "postgresql":
                repo.ensure_customers(conn, ids, wall)
                rows = repo.lock_customers(conn, ids)
            else:  # SQLite: the transaction already excludes every other writer
                rows = repo.load_customers(conn, ids)
                repo.ensure_customers(conn, [c for c in ids if c not in rows], wall)
            hist = repo.load_history(conn, rt.catalog, ids)
            states = hist.to_states(rt.catalog, ids, rows)
            if context or trigger is not None:
                _apply_context(states, rt.catalog, context, trigger)
            budgets = rt.guardrails.spec.budgets
            day = int(math.floor(t / DAY))
            used = repo.budget_used(conn, [b.channel for b in budgets], day)
            left = {b.channel: float(b.max_per_day - used[b.channel]) for b in budgets}
            batch = self._run_pipeline(rt, states, when, left, wait=wait)
            if not dry_run:
                chan = rt.catalog.actions.channel_index
                for b in budgets:
                    j = rt.catalog.channel_ids.index(b.channel)
                    k = int((chan[batch.action] == j).sum())
                    if k and not repo.take_budget(conn, b.channel, day, k, b.max_per_day):
                        raise _BudgetRace()
                repo.insert_decisions(
                    conn, len(batch), self._decision_columns(rt, batch, t, trigger, context)
                )
        self._count_decisions(batch, dry_run)
        return rt, batch

    def _run_pipeline(
        self,
        rt: Runtime,
        states: Any,
        when: datetime,
        left: dict[str, float],
        *,
        wait: bool = True,
    ) -> DecisionBatch:
        serving = self._serving
        # Policies are not required to be thread-safe (lazy state, VW workspaces): the
        # pipeline's compute runs under one lock; the database work around it does not.
        if not self._pipeline_lock.acquire(blocking=wait):
            raise _WouldWait()
        try:
            return self._pipeline_locked(serving, rt, states, when, left)
        finally:
            self._pipeline_lock.release()

    def _pipeline_locked(
        self, serving: _Serving, rt: Runtime, states: Any, when: datetime, left: dict[str, float]
    ) -> DecisionBatch:
        try:
            decider = Decider(
                rt.catalog,
                rt.guardrails,
                serving.policy,
                encoder=rt.encoder,
                random_state=self._rng,
            )
            return decider.decide(states, when, budget_left=dict(left))
        except Exception as exc:  # decisions never fail because of the model
            if serving.policy is self._fallback:
                raise
            log.warning(
                "policy `%s` failed (%s); deciding with the rule baseline", serving.policy.name, exc
            )
            serving.degraded = serving.failed = True
            serving.reason = f"policy `{serving.policy.name}` failed: {exc}"
            decider = Decider(
                rt.catalog,
                rt.guardrails,
                self._fallback,
                encoder=rt.encoder,
                random_state=self._rng,
            )
            return decider.decide(states, when, budget_left=dict(left))

    def _decision_columns(
        self,
        rt: Runtime,
        batch: DecisionBatch,
        t: float,
        trigger: str | None,
        context: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The decision log's columns for a batch (lists, or one value for all rows)."""
        X = np.ascontiguousarray(batch.context.X, dtype=np.float32)
        allowed = np.packbits(batch.guardrails.allowed, axis=1)
        probs = np.ascontiguousarray(batch.probs, dtype=np.float32)
        reason = np.ascontiguousarray(batch.guardrails.reason, dtype=np.int16)
        action = batch.action.tolist()
        return {
            "decision_id": list(batch.decision_ids),
            "customer_id": [str(c) for c in batch.signals.customer_ids],
            "created_at": t,
            "action": action,
            "action_id": [rt.action_ids[a] for a in action],
            "channel": [rt.action_channel[a] for a in action],
            "message_id": [rt.action_message[a] for a in action],
            "propensity": batch.propensity.tolist(),
            "probs": [r.tobytes() for r in probs],
            "policy_name": batch.policy_name,
            "policy_version": batch.policy_version,
            "explored": batch.explored.tolist(),
            "holdout": batch.guardrails.holdout.tolist(),
            "reason": [r.tobytes() for r in reason],
            "guardrails_version": rt.versions["guardrails"],
            "trigger": trigger,
            "request_context": None if context is None else json.dumps(context),
            "catalog_version": rt.versions["catalog"],
            "x": [r.tobytes() for r in X],
            "signals": [r.tobytes() for r in rt.codec.encode(batch.signals)],
            "allowed": [r.tobytes() for r in allowed],
            "window_end": t + rt.goal.window_seconds,
            "reward": None,
            "closed": False,
            "learned": False,
        }

    @staticmethod
    def decisions_json(rt: Runtime, batch: DecisionBatch, *, explain: bool = True) -> list[str]:
        """The decisions as JSON objects (DESIGN.md's shape, plus ``holdout`` and
        ``distribution``), rendered from the arrays without per-field objects.

        With ``explain=False`` the bulky ``suppressed`` and ``distribution``
        fields are left out (campaign lists that only need the actions).
        """
        heads = DecisionService._json_heads(rt, batch)
        if not explain:
            return [h + "}" for h in heads]
        n = len(batch)
        if n <= _FEW:
            return [DecisionService._json_tail(rt, batch, i, heads[i]) for i in range(n)]
        # row i's suppressions are sup[sup_end[i-1]:sup_end[i]], its distribution
        # dist[dist_end[i-1]:dist_end[i]] (flat lists: slicing beats a list of arrays)
        reason = batch.guardrails.reason
        rr, rc = np.nonzero(reason >= 0)
        sup = rt.sup_json[rc, reason[rr, rc]].tolist()
        sup_end = np.cumsum(np.bincount(rr, minlength=n)).tolist()
        ar, ac = np.nonzero(batch.guardrails.allowed)
        keys = np.asarray(rt.dist_key, dtype=object)[ac]
        vals = batch.probs[ar, ac].tolist()
        dist = [k + repr(v) for k, v in zip(keys.tolist(), vals, strict=True)]
        dist_end = np.cumsum(np.bincount(ar, minlength=n)).tolist()
        out = []
        s_lo = d_lo = 0
        for i in range(n):
            s_hi, d_hi = sup_end[i], dist_end[i]
            out.append(
                f'{heads[i]},"suppressed":[{",".join(sup[s_lo:s_hi])}],'
                f'"distribution":{{{",".join(dist[d_lo:d_hi])}}}}}'
            )
            s_lo, d_lo = s_hi, d_hi
        return out

    @staticmethod
    def _json_tail(rt: Runtime, batch: DecisionBatch, i: int, head: str) -> str:
        """Row ``i``'s JSON from its head, row by row: for a few decisions, cheaper
        than :meth:`decisions_json`'s whole-batch arrays (same text)."""
        sup, keys = rt.sup_json, rt.dist_key
        reason = batch.guardrails.reason[i].tolist()
        allowed = batch.guardrails.allowed[i].tolist()
        probs = batch.probs[i].tolist()
        s = ",".join([sup[a, r] for a, r in enumerate(reason) if r >= 0])
        d = ",".join([keys[a] + repr(probs[a]) for a, ok in enumerate(allowed) if ok])
        return f'{head},"suppressed":[{s}],"distribution":{{{d}}}}}'

    @staticmethod
    def _json_heads(rt: Runtime, batch: DecisionBatch) -> list[str]:
        """Each decision's JSON object up to (not including) its closing brace, without
        the ``suppressed`` and ``distribution`` fields."""
        policy = json.dumps({"name": batch.policy_name, "version": batch.policy_version})
        created = json.dumps(batch.created_at.isoformat())
        ids = batch.decision_ids
        cust = batch.signals.customer_ids
        action = batch.action.tolist()
        prop = batch.propensity.tolist()
        explored = batch.explored.tolist()
        holdout = batch.guardrails.holdout.tolist()
        return [
            f'{{"decision_id":"{ids[i]}","customer_id":{json.dumps(str(cust[i]))},'
            f'"action":{rt.action_json[action[i]]},"propensity":{prop[i]!r},'
            f'"policy":{policy},"explored":{"true" if explored[i] else "false"},'
            f'"created_at":{created},"holdout":{"true" if holdout[i] else "false"}'
            for i in range(len(action))
        ]

    def _count_decisions(self, batch: DecisionBatch, dry_run: bool) -> None:
        hook = self.counters.get("decisions")
        if hook is not None:
            hook(batch, dry_run)

    def get_decision(self, decision_id: str, now: datetime | None = None) -> dict[str, Any]:
        """A logged decision with its joined events, reward so far and window state.

        The window has closed once ``now`` (default: the clock) is past its end;
        the reward is final (``reward_final``) once the learning loop's reward
        join has closed the decision, which it does after the window's end.

        Raises
        ------
        NotFoundError
            If no such decision was logged.
        """
        t = _clock(now)
        with self.store.read() as conn:
            rt = self._current(conn)
            row = conn.execute(
                select(decisions).where(decisions.c.decision_id == decision_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no decision with id `{decision_id}`")
            evs = conn.execute(
                select(events).where(events.c.attributed_to == decision_id).order_by(events.c.ts)
            ).all()
        old = self._runtime_at(row.catalog_version, row.guardrails_version, rt)
        names = old.guardrails.rule_names
        msg_of, chan_of, ids_of = old.action_message, old.action_channel, old.action_ids
        reason = np.frombuffer(row.reason, dtype=np.int16)
        probs = np.frombuffer(row.probs, dtype=np.float32)
        goal = old.goal  # today's goal, with the decision's own catalog (its action costs)
        so_far = -float(goal.action_cost[row.action]) if row.action < len(goal.action_cost) else 0.0
        joined = []
        for e in evs:
            r = goal.event_reward(e.type, e.value or 0.0)
            if not e.late:
                so_far += r
            joined.append(_event_dict(e) | {"reward": r})
        return {
            "decision_id": row.decision_id,
            "customer_id": row.customer_id,
            "action": None
            if row.action == 0
            else {"message_id": row.message_id, "channel": row.channel},
            "propensity": row.propensity,
            "policy": {"name": row.policy_name, "version": row.policy_version},
            "explored": row.explored,
            "suppressed": [
                {"message_id": msg_of[a] or "", "channel": chan_of[a] or "", "rule": names[r]}
                for a, r in enumerate(reason.tolist())
                if r >= 0
            ],
            "created_at": iso(row.created_at),
            "holdout": row.holdout,
            "distribution": {
                ids_of[a]: float(probs[a]) for a in np.flatnonzero(reason < 0) if a < len(ids_of)
            },
            "trigger": row.trigger,
            "context": None if row.request_context is None else json.loads(row.request_context),
            "events": joined,
            "reward": row.reward if row.closed else so_far,
            "window_end": iso(row.window_end),
            "window_closed": bool(row.closed) or t >= row.window_end,
            "reward_final": bool(row.closed),
            "learned": bool(row.learned),
        }

    # -- events ----------------------------------------------------------------------
    def ingest_events(self, evs: Sequence[Event], now: datetime | None = None) -> dict[str, int]:
        """Store events (idempotent by ``event_id``), joined to their decisions.

        All-or-nothing: the batch is validated first; an invalid event rejects
        the whole batch and nothing is stored.

        Returns
        -------
        ``{"accepted", "duplicates", "late", "unknown_decision"}`` counts.

        Raises
        ------
        InputError
            Naming the event (by position) and the field at fault.
        """
        if len(evs) > MAX_EVENTS:
            raise TooLargeError(
                f"`events`: at most {MAX_EVENTS} events per call, got {len(evs)}; split the batch"
            )
        with self.store.read() as conn:
            rt = self._current(conn)
        chans = set(rt.catalog.channel_ids)
        for i, e in enumerate(evs):
            if not e.event_id:
                raise InputError(f"`events[{i}].event_id`: expected a non-empty string")
            if not e.customer_id:
                raise InputError(f"`events[{i}].customer_id`: expected a non-empty string")
            if e.channel is not None and e.channel not in chans:
                raise InputError(
                    f"`events[{i}].channel`: unknown channel {e.channel!r}; expected one of "
                    f"{', '.join(rt.catalog.channel_ids)}"
                )
            if not abs(float(e.value or 0.0)) <= MAX_VALUE:  # (NaN too)
                raise InputError(
                    f"`events[{i}].value`: expected a number within ±{MAX_VALUE:g}, got {e.value!r}"
                )
            _clock(e.timestamp, f"events[{i}].timestamp")
            if e.type == EventType.CONSENT_CHANGED:
                consent = (e.properties or {}).get("consent")
                if not isinstance(consent, bool):  # "false" must not read as a grant
                    raise InputError(
                        f"`events[{i}].properties.consent`: expected true or false for a "
                        f"`consent_changed` event, got {consent!r}"
                    )
        wall = _clock(now)
        first: dict[str, Event] = {}
        at: dict[str, int] = {}
        for i, e in enumerate(evs):
            kept = first.setdefault(str(e.event_id), e)
            at.setdefault(str(e.event_id), i)
            if kept is not e and _event_key(kept) != _event_key(e):
                raise InputError(
                    f"`events[{i}].event_id`: `{e.event_id}` is also the id of events"
                    f"[{at[str(e.event_id)]}], which says something else (an id names one event)"
                )
        with self.store.write() as conn:
            existing: set[str] = set()
            ids = list(first)
            for part in repo.chunks(ids):
                existing |= set(
                    conn.execute(select(events.c.event_id).where(events.c.event_id.in_(part)))
                    .scalars()
                    .all()
                )
            new = [e for k, e in first.items() if k not in existing]
            rows = self._join_new_events(conn, rt, new, wall)
            if rows:
                stmt = repo.insert_ignore(conn, events, ["event_id"])
                for part in repo.chunks(rows):
                    conn.execute(stmt, list(part))
                repo.ensure_customers(conn, sorted({r["customer_id"] for r in rows}), wall)
        out = {
            "accepted": len(rows),
            "duplicates": len(evs) - len(rows),
            "late": sum(r["late"] for r in rows),
            "unknown_decision": sum(r["unknown_decision"] for r in rows),
        }
        hook = self.counters.get("events")
        if hook is not None:
            hook(out)
        return out

    def _join_new_events(
        self, conn: Connection, rt: Runtime, new: Sequence[Event], wall: float
    ) -> list[dict[str, Any]]:
        if not new:
            return []
        named = sorted({e.decision_id for e in new if e.decision_id})
        free_customers = sorted({e.customer_id for e in new if not e.decision_id})
        cols = (
            decisions.c.decision_id,
            decisions.c.customer_id,
            decisions.c.created_at,
            decisions.c.window_end,
            decisions.c.closed,
            decisions.c.action,
        )
        known: dict[str, Any] = {}
        for part in repo.chunks(named):
            for r in conn.execute(select(*cols).where(decisions.c.decision_id.in_(part))):
                known[r.decision_id] = r
        contacts: list[Any] = []
        for part in repo.chunks(free_customers):
            contacts += conn.execute(
                select(*cols).where(decisions.c.customer_id.in_(part), decisions.c.action != 0)
            ).all()
        dec = list(known.values()) + [c for c in contacts if c.decision_id not in known]
        pos = {d.decision_id: i for i, d in enumerate(dec)}
        cust_code: dict[str, int] = {}
        for d in dec:
            cust_code.setdefault(d.customer_id, len(cust_code))
        for e in new:
            cust_code.setdefault(e.customer_id, len(cust_code))
        ev_ts = np.array([epoch(e.timestamp) for e in new])
        if dec:
            target, _ = attribute_events(
                np.array([cust_code[d.customer_id] for d in dec]),
                np.array([d.created_at for d in dec]),
                np.array([d.action != 0 for d in dec]),
                np.array([cust_code[e.customer_id] for e in new]),
                ev_ts,
                np.array([pos.get(e.decision_id, -1) if e.decision_id else -1 for e in new]),
                rt.goal.window_seconds,
                last_touch=rt.goal.last_touch,
            )
        else:
            target = np.full(len(new), -1)
        rows = []
        for i, e in enumerate(new):
            unknown = bool(e.decision_id) and e.decision_id not in known
            # an event naming a decision not logged (yet) waits for it: never credited
            # to another decision of the customer by last-touch attribution
            d = dec[target[i]] if target[i] >= 0 and not unknown else None
            if d is not None and e.decision_id and d.customer_id != e.customer_id:
                raise InputError(
                    f"`events[{i}].decision_id`: decision `{e.decision_id}` belongs to another "
                    "customer"
                )
            late = d is not None and _late(ev_ts[i], d)
            rows.append(
                {
                    "event_id": str(e.event_id),
                    "customer_id": e.customer_id,
                    "type": EventType(e.type).value,
                    "ts": float(ev_ts[i]),
                    "decision_id": e.decision_id,
                    "channel": e.channel,
                    "message_id": e.message_id,
                    "value": float(e.value or 0.0),
                    "properties": json.dumps(dict(e.properties or {})),
                    "received_at": wall,
                    "attributed_to": None if d is None else d.decision_id,
                    "late": bool(late),
                    "unknown_decision": unknown,
                }
            )
        return rows

    # -- customers -------------------------------------------------------------------
    def get_customer(self, customer_id: str, now: datetime | None = None) -> dict[str, Any]:
        """Attributes, consent, signals, recent decisions and events of a customer.

        Raises
        ------
        NotFoundError
            If the service never heard of the customer.
        """
        t = _clock(now)
        with self.store.read() as conn:
            rt = self._current(conn)
            rows = repo.load_customers(conn, [customer_id])
            if customer_id not in rows:
                raise NotFoundError(f"no customer with id `{customer_id}`")
            hist = repo.load_history(conn, rt.catalog, [customer_id])
            recent_d = conn.execute(
                select(decisions)
                .where(decisions.c.customer_id == customer_id)
                .order_by(decisions.c.created_at.desc())
                .limit(20)
            ).all()
            recent_e = conn.execute(
                select(events)
                .where(events.c.customer_id == customer_id)
                .order_by(events.c.ts.desc())
                .limit(50)
            ).all()
        row = rows[customer_id]
        states = hist.to_states(rt.catalog, [customer_id], rows)
        sig = states.signals(datetime.fromtimestamp(t, UTC))
        consent = {c: bool(sig.consent[0, j]) for j, c in enumerate(sig.channels)}
        return {
            "customer_id": customer_id,
            "timezone": row.timezone,
            "attributes": json.loads(row.attributes or "{}"),
            "consent": consent,
            "signals": sig.row(0),
            "decisions": [
                {
                    "decision_id": d.decision_id,
                    "created_at": iso(d.created_at),
                    "action": None
                    if d.action == 0
                    else {"message_id": d.message_id, "channel": d.channel},
                    "propensity": d.propensity,
                    "policy": {"name": d.policy_name, "version": d.policy_version},
                    "reward": d.reward,
                    "window_closed": bool(d.closed) or t >= d.window_end,
                }
                for d in recent_d
            ],
            "events": [_event_dict(e) for e in recent_e],
        }

    def put_customer(
        self,
        customer_id: str,
        *,
        attributes: dict[str, Any] | None,
        consent: dict[str, bool] | None,
        timezone: str | None,
        who: str,
    ) -> dict[str, Any]:
        """Set a customer's attributes, consent and time zone (merged into what is stored).

        A consent given here is also recorded as a ``consent_changed`` event
        so that it overrides older unsubscribes, and applies to the next decision.

        Raises
        ------
        InputError
            Naming the channel, attribute or time zone at fault.
        """
        if not 1 <= len(customer_id) <= 200:  # (what a decision request accepts)
            raise InputError(
                f"`customer_id`: ids must be 1 to 200 characters, got {len(customer_id)}"
            )
        with self.store.read() as conn:
            rt = self._current(conn)
        cat = rt.catalog
        for ch in consent or {}:
            if ch not in cat.channel_ids:
                raise InputError(
                    f"`consent.{ch}`: unknown channel; expected one of {', '.join(cat.channel_ids)}"
                )
        _declared_attributes(cat, attributes or {}, "attributes")
        if timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(
                    f"`timezone`: unknown time zone {timezone!r}; expected an IANA name such as "
                    "'Europe/Paris'"
                ) from None
        from nba.store.schema import customers

        now = time.time()
        with self.store.write() as conn:
            repo.ensure_customers(conn, [customer_id], now)
            row = repo.lock_customers(conn, [customer_id])[customer_id]
            attrs = json.loads(row.attributes or "{}") | dict(attributes or {})
            cons = json.loads(row.consent or "{}") | dict(consent or {})
            values: dict[str, Any] = {
                "attributes": json.dumps(attrs),
                "consent": json.dumps(cons),
                "updated_at": now,
            }
            if timezone is not None:
                values["timezone"] = timezone
            conn.execute(
                update(customers).where(customers.c.customer_id == customer_id).values(**values)
            )
            if consent:
                stmt = repo._insert(conn, events)
                conn.execute(
                    stmt,
                    [
                        {
                            "event_id": f"consent:{customer_id}:{ch}:{now:.6f}",
                            "customer_id": customer_id,
                            "type": EventType.CONSENT_CHANGED.value,
                            "ts": now,
                            "decision_id": None,
                            "channel": ch,
                            "message_id": None,
                            "value": 0.0,
                            "properties": json.dumps(
                                {"consent": bool(v), "source": f"PUT by {who}"}
                            ),
                            "received_at": now,
                            "attributed_to": None,
                            "late": False,
                            "unknown_decision": False,
                        }
                        for ch, v in consent.items()
                    ],
                )
        return self.get_customer(customer_id)

    # -- learning loop ---------------------------------------------------------------
    def learn(self, now: datetime | None = None) -> dict[str, Any]:
        """One step of the learning loop: join, close, learn, snapshot.

        1. events that named a decision not yet logged are joined again;
        2. decisions whose attribution window ended by ``now`` are closed
           with their reward (goal weights of their on-time events, minus the
           send cost; 0 minus cost when nothing happened);
        3. the serving policy learns from closed decisions not learned yet
           (``partial_fit`` on a copy, swapped in when done) and is snapshotted.

        Parameters
        ----------
        now
            The clock to close windows against (default: the wall clock).

        Returns
        -------
        ``{"rejoined", "closed", "learned", "policy": {"name", "version"}}``.
        """
        t = _clock(now)
        rejoined = closed = learned = 0
        with self._learn_lock, self.store.try_session_lock(LEARNER_LOCK) as held:
            if held:  # else another process is learning; its snapshot is picked up next time
                self._refresh_from_snapshot()
                rejoined, closed = self._join_and_close(t)
                learned = self._learn_closed(t)
            else:
                self._refresh_from_snapshot()
        s = self._serving
        out = {
            "rejoined": rejoined,
            "closed": closed,
            "learned": learned,
            "policy": {"name": s.policy.name, "version": s.policy.version},
        }
        s.last_learn = out | {"at": iso(time.time())}
        return out

    def _join_and_close(self, t: float) -> tuple[int, int]:
        with self.store.write() as conn:
            rt = self._current(conn)
            pending = conn.execute(
                select(
                    events.c.event_id, events.c.customer_id, events.c.decision_id, events.c.ts
                ).where(EVENTS_UNKNOWN)
            ).all()
            rejoined = 0
            if pending:
                names = sorted({p.decision_id for p in pending})
                found: dict[str, Any] = {}
                for part in repo.chunks(names):
                    for r in conn.execute(
                        select(
                            decisions.c.decision_id,
                            decisions.c.customer_id,
                            decisions.c.created_at,
                            decisions.c.window_end,
                            decisions.c.closed,
                        ).where(decisions.c.decision_id.in_(part))
                    ):
                        found[r.decision_id] = r
                upd = []
                for p in pending:
                    d = found.get(p.decision_id)
                    if d is None:
                        continue
                    if d.customer_id != p.customer_id:  # not its decision: never joined
                        log.warning(
                            "event `%s` of customer `%s` names decision `%s` of another "
                            "customer: not joined",
                            p.event_id,
                            p.customer_id,
                            d.decision_id,
                        )
                    upd.append(
                        {
                            "k": p.event_id,
                            "to": d.decision_id if d.customer_id == p.customer_id else None,
                            "late": _late(p.ts, d),
                        }
                    )
                if upd:
                    conn.execute(
                        update(events)
                        .where(events.c.event_id == bindparam("k"))
                        .values(
                            attributed_to=bindparam("to"),
                            late=bindparam("late"),
                            unknown_decision=False,
                        ),
                        upd,
                    )
                rejoined = sum(u["to"] is not None for u in upd)
            due = repo.open_decisions_due(conn, t)
            if not due:
                return rejoined, 0
            ids = [d.decision_id for d in due]
            idx = {d: i for i, d in enumerate(ids)}
            # the send cost of each decision's action in the catalog it was decided with
            # (a later catalog may have other actions, in another order, at other costs)
            reward = np.zeros(len(due))
            action = np.array([d.action for d in due])
            made_with = [(d.catalog_version, d.guardrails_version) for d in due]
            for pair in set(made_with):
                cost = self._runtime_at(*pair, rt).goal.action_cost
                rows = np.array([m == pair for m in made_with])
                reward[rows] = -cost[np.minimum(action[rows], len(cost) - 1)]
            for part in repo.chunks(ids):
                evs = conn.execute(
                    select(events.c.attributed_to, events.c.type, events.c.value).where(
                        events.c.attributed_to.in_(part), events.c.late.is_(False)
                    )
                ).all()
                if evs:
                    codes = np.array([EVENT_CODES[EventType(e.type)] for e in evs])
                    vals = np.array([e.value or 0.0 for e in evs])
                    gained = rt.goal.event_rewards(codes, vals)
                    np.add.at(reward, np.array([idx[e.attributed_to] for e in evs]), gained)
            conn.execute(
                update(decisions)
                .where(decisions.c.decision_id == bindparam("k"))
                .values(reward=bindparam("r"), closed=True),
                [{"k": k, "r": float(reward[i])} for i, k in enumerate(ids)],
            )
        return rejoined, len(ids)

    def _refresh_from_snapshot(self) -> None:
        """Serve the newest snapshot of our source if another process wrote it."""
        serving = self._serving
        with self.store.read() as conn:
            newest = conn.execute(
                select(policy_snapshots.c.id)
                .where(policy_snapshots.c.source == serving.source)
                .order_by(policy_snapshots.c.id.desc())
                .limit(1)
            ).scalar()
            if newest is None or int(newest) <= serving.snapshot_id:
                return
            loaded = repo.load_snapshot(conn, serving.source)
        if loaded is not None:
            with self._lock:
                if self._serving is serving:
                    serving.policy = loaded
                    serving.snapshot_id = int(newest)

    def _learn_closed(self, t: float) -> int:
        serving = self._serving
        with self.store.read() as conn:
            rt = self._current(conn)
            rows = conn.execute(
                select(
                    decisions.c.decision_id,
                    decisions.c.customer_id,
                    decisions.c.x,
                    decisions.c.signals,
                    decisions.c.allowed,
                    decisions.c.action,
                    decisions.c.propensity,
                    decisions.c.reward,
                    decisions.c.catalog_version,
                    decisions.c.guardrails_version,
                )
                .where(DECISIONS_UNLEARNED)
                .order_by(decisions.c.created_at)
                .limit(50_000)
            ).all()
        # decisions made with another catalog are learned from when they line up with
        # today's (same actions, same features: e.g. only a message's text or value
        # changed); the others cannot be, and are set aside (marked learned, unused)
        fits = {
            pair: self._same_layout(self._runtime_at(*pair, rt), rt)
            for pair in {(r.catalog_version, r.guardrails_version) for r in rows}
        }
        # and one whose features or reward are not finite numbers would fail every step
        finite = np.isfinite(np.array([r.reward for r in rows], dtype=float))
        if rows:
            x = np.frombuffer(b"".join(r.x for r in rows), dtype=np.float32)
            finite &= np.isfinite(x.reshape(len(rows), -1)).all(axis=1)
        usable = [
            bool(ok) and fits[(r.catalog_version, r.guardrails_version)]
            for r, ok in zip(rows, finite, strict=True)
        ]
        aside = [r.decision_id for r, ok in zip(rows, usable, strict=True) if not ok]
        if aside:
            log.warning(
                "%d closed decisions were made with a catalog whose actions or features "
                "differ from today's, or have features or a reward that are not finite: "
                "set aside, not learned from",
                len(aside),
            )
            rows = [r for r, ok in zip(rows, usable, strict=True) if ok]
        with self.store.read() as conn:
            # what each decision led to (opens, clicks, purchases…), for funnel learners
            at = {r.decision_id: i for i, r in enumerate(rows)}
            led_to: list[Any] = []
            for part in repo.chunks(list(at)):
                led_to += conn.execute(
                    select(events.c.attributed_to, events.c.type, events.c.value).where(
                        events.c.attributed_to.in_(part), events.c.late.is_(False)
                    )
                ).all()
        if not rows:
            if aside:
                self._mark_learned(aside)
            return 0
        outcomes = outcome_counts(
            np.array([at[e.attributed_to] for e in led_to], dtype=np.int64),
            np.array([EVENT_CODES[EventType(e.type)] for e in led_to], dtype=np.int64),
            np.array([e.value or 0.0 for e in led_to], dtype=float),
            len(rows),
        )
        n_act = len(rt.catalog.actions)
        X = np.frombuffer(b"".join(r.x for r in rows), dtype=np.float32).reshape(len(rows), -1)
        allowed = np.unpackbits(
            np.frombuffer(b"".join(r.allowed for r in rows), dtype=np.uint8).reshape(len(rows), -1),
            axis=1,
            count=n_act,
        ).astype(bool)
        # the raw signals too, for policies that need them (the rules a guarded rollout
        # compares its challenger with); None when some decision was logged without them
        signals = None
        if all(r.signals is not None for r in rows):
            raw = np.frombuffer(b"".join(r.signals for r in rows), dtype=np.float32)
            signals = rt.codec.decode(
                raw.reshape(len(rows), -1),
                np.array([r.customer_id for r in rows], dtype=object),
                datetime.fromtimestamp(t, UTC),
            )
        batch = LoggedBatch(
            Context(X.astype(np.float64), rt.catalog.actions, rt.encoder.feature_names, signals),
            allowed,
            np.array([r.action for r in rows], dtype=np.int64),
            np.array([r.propensity for r in rows], dtype=float),
            np.array([r.reward for r in rows], dtype=float),
            outcomes,
        )
        learner = _copy_policy(serving.policy)
        learner.partial_fit(batch)
        with self.store.write() as conn:
            self._mark_learned([r.decision_id for r in rows] + aside, conn)
            snapshot = None
            if learner.kind == "learned":
                snapshot = repo.save_snapshot(conn, learner, serving.source, time.time())
        with self._lock:
            if self._serving is serving:
                serving.policy = learner  # swap: decisions in flight keep the old object
                serving.learned += len(rows)
                if snapshot is not None:
                    serving.snapshot_id = snapshot
        return len(rows)

    @staticmethod
    def _same_layout(old: Runtime, rt: Runtime) -> bool:
        """Whether decisions made with ``old``'s catalog read the same with ``rt``'s:
        the same actions in the same order, the same features and logged signals."""
        return (
            old.catalog.actions.ids == rt.catalog.actions.ids
            and old.encoder.feature_names == rt.encoder.feature_names
            and old.codec.names == rt.codec.names
            and old.catalog.message_ids == rt.catalog.message_ids
            and old.catalog.attributes == rt.catalog.attributes
        )

    def _mark_learned(self, ids: Sequence[str], conn: Connection | None = None) -> None:
        """Mark decisions as learned from (in ``conn``'s transaction, else in a new one)."""
        if conn is None:
            with self.store.write() as conn:
                self._mark_learned(ids, conn)
            return
        conn.execute(
            update(decisions).where(decisions.c.decision_id == bindparam("k")).values(learned=True),
            [{"k": k} for k in ids],
        )

    # -- metrics ---------------------------------------------------------------------
    def metrics(self, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
        """Decisions, contacts by channel, reward, conversions and unsubscribes per day,
        for served customers and the global holdout, and how the two groups compare.

        A customer belongs to the group its decisions of the period put it in
        (the holdout flag logged with its latest decision). Conversions
        (``purchase``, ``converted``) and unsubscribes are those of the group's
        customers from their first decision of the period on, whether or not
        an event names a decision: a holdout customer is never contacted, so
        nothing it does is ever attributed to a decision, and the comparison
        is per customer. ``lift`` gives, per customer, served minus holdout
        with a 95 % interval (normal approximation, unequal variances), and
        the relative change.

        Examples
        --------
        >>> import tempfile
        >>> from nba.settings import Settings
        >>> d = tempfile.mkdtemp()
        >>> service = DecisionService(Settings(database_url=f"sqlite:///{d}/nba.db"),
        ...                           champion_lookup=False, learn_interval=0)
        >>> when = datetime(2026, 3, 2, 10, tzinfo=UTC)
        >>> _ = service.decide([f"c{i}" for i in range(100)], when)
        >>> m = service.metrics(now=when)
        >>> m["served"]["customers"] + m["holdout"]["customers"], sorted(m["lift"])
        (100, ['conversions_per_customer', 'unsubscribes_per_customer'])
        >>> service.stop()
        """
        t = _clock(now)
        since = t - days * DAY
        in_period = (decisions.c.created_at >= since, decisions.c.created_at <= t)
        outcomes = {
            EventType.PURCHASE.value: "conversions",
            EventType.CONVERTED.value: "conversions",
            EventType.UNSUBSCRIBED.value: "unsubscribes",
        }
        with self.store.read() as conn:
            drows = conn.execute(
                select(
                    decisions.c.customer_id,
                    decisions.c.created_at,
                    decisions.c.holdout,
                    decisions.c.channel,
                    decisions.c.reward,
                    decisions.c.closed,
                )
                .where(*in_period)
                .order_by(decisions.c.created_at)
            ).all()
            erows = conn.execute(
                select(events.c.customer_id, events.c.ts, events.c.type).where(
                    events.c.ts >= since,
                    events.c.ts <= t,
                    events.c.type.in_(sorted(outcomes)),
                    events.c.customer_id.in_(select(decisions.c.customer_id).where(*in_period)),
                )
            ).all()
        first: dict[str, float] = {}
        holdout: dict[str, bool] = {}
        for d in drows:  # in time order: the latest decision's flag wins
            first.setdefault(d.customer_id, d.created_at)
            holdout[d.customer_id] = bool(d.holdout)

        def day_of(g: dict[str, Any], ts: float) -> dict[str, Any]:
            """Group ``g``'s counts for the day of ``ts``."""
            return g["by_day"].setdefault(
                datetime.fromtimestamp(ts, UTC).date().isoformat(),
                {
                    "decisions": 0,
                    "contacts": 0,
                    "contacts_by_channel": {},
                    "reward": 0.0,
                    "conversions": 0,
                    "unsubscribes": 0,
                },
            )

        groups: dict[str, dict[str, Any]] = {}
        for name in ("served", "holdout"):
            groups[name] = {
                "customers": 0,
                "decisions": 0,
                "contacts": {},
                "closed": 0,
                "reward": 0.0,
                "conversions": 0,
                "unsubscribes": 0,
                "by_day": {},
            }
        for d in drows:
            g = groups["holdout" if holdout[d.customer_id] else "served"]
            day = day_of(g, d.created_at)
            g["decisions"] += 1
            day["decisions"] += 1
            if d.channel:
                g["contacts"][d.channel] = g["contacts"].get(d.channel, 0) + 1
                day["contacts"] += 1
                day["contacts_by_channel"][d.channel] = (
                    day["contacts_by_channel"].get(d.channel, 0) + 1
                )
            if d.closed and d.reward is not None:
                g["closed"] += 1
                g["reward"] += d.reward
                day["reward"] += d.reward
        per_customer = {key: dict.fromkeys(first, 0) for key in ("conversions", "unsubscribes")}
        for e in erows:
            if e.ts < first[e.customer_id]:  # before the customer was first decided for
                continue
            key = outcomes[e.type]
            g = groups["holdout" if holdout[e.customer_id] else "served"]
            g[key] += 1
            day_of(g, e.ts)[key] += 1
            per_customer[key][e.customer_id] += 1
        for name, g in groups.items():
            g["customers"] = sum(h == (name == "holdout") for h in holdout.values())
            g["reward_per_decision"] = g["reward"] / g["closed"] if g["closed"] else None
            g["by_day"] = [{"day": k} | v for k, v in sorted(g["by_day"].items())]
        is_holdout = np.array([holdout[c] for c in first], dtype=bool)
        lift = {
            f"{key}_per_customer": _lift(
                np.array([per_customer[key][c] for c in first], dtype=float), is_holdout
            )
            for key in ("conversions", "unsubscribes")
        }
        return {"since": iso(since), "until": iso(t), **groups, "lift": lift}

    # -- guardrails dry run ----------------------------------------------------------
    def guardrails_dry_run(
        self, document: Any, sample: int = 200, now: datetime | None = None
    ) -> dict[str, Any]:
        """How a proposed guardrails document would change decisions for recent customers.

        Nothing is stored. Both rule sets decide for the same customers, at the
        same instant, with the serving policy.

        Raises
        ------
        GuardrailsError
            If the proposed document is invalid (naming the rule and field).
        """
        t = _clock(now)
        when = datetime.fromtimestamp(t, UTC)
        with self.store.read() as conn:
            rt = self._current(conn)
            proposed = Guardrails(
                parse_guardrails(document, rt.catalog, "proposed guardrails"), rt.catalog
            )
            ids = list(
                conn.execute(  # the customers decided for most recently
                    select(decisions.c.customer_id)
                    .group_by(decisions.c.customer_id)
                    .order_by(func.max(decisions.c.created_at).desc(), decisions.c.customer_id)
                    .limit(sample)
                ).scalars()
            )
            if not ids:
                return {"customers": 0, "changed": 0, "current": {}, "proposed": {}, "examples": []}
            rows = repo.load_customers(conn, ids)
            hist = repo.load_history(conn, rt.catalog, ids)
        states = hist.to_states(rt.catalog, ids, rows)
        signals = states.signals(when)
        policy = self._serving.policy
        out: dict[str, Any] = {"customers": len(ids)}
        actions = {}
        for name, guard in (("current", rt.guardrails), ("proposed", proposed)):
            decider = Decider(rt.catalog, guard, policy, encoder=rt.encoder, random_state=0)
            b = decider.decide_signals(signals)
            actions[name] = b.action
            counts: dict[str, int] = {}
            for a in b.action:
                ch = rt.action_channel[int(a)] or "no_contact"
                counts[ch] = counts.get(ch, 0) + 1
            out[name] = {
                "contacts_by_channel": counts,
                "allowed_actions_mean": float(b.guardrails.allowed.sum(1).mean()),
            }
        changed = np.flatnonzero(actions["current"] != actions["proposed"])
        out["changed"] = int(changed.size)
        out["examples"] = [
            {
                "customer_id": ids[i],
                "current": rt.action_ids[int(actions["current"][i])],
                "proposed": rt.action_ids[int(actions["proposed"][i])],
            }
            for i in changed[:20]
        ]
        return out

    # -- export ----------------------------------------------------------------------
    def logged_decisions(self) -> Any:
        """Closed decisions (current catalog version) as :class:`LoggedDecisions`."""
        from nba.evaluation.logs import LoggedDecisions

        with self.store.read() as conn:
            rt = self._current(conn)
            rows = conn.execute(
                select(
                    decisions.c.decision_id,
                    decisions.c.customer_id,
                    decisions.c.created_at,
                    decisions.c.policy_name,
                    decisions.c.policy_version,
                    decisions.c.x,
                    decisions.c.allowed,
                    decisions.c.action,
                    decisions.c.propensity,
                    decisions.c.reward,
                    decisions.c.probs,
                    decisions.c.signals,
                )
                .where(
                    decisions.c.closed.is_(True),
                    decisions.c.catalog_version == rt.versions["catalog"],
                )
                .order_by(decisions.c.created_at)
            ).all()
        n, n_act = len(rows), len(rt.catalog.actions)
        n_feat = len(rt.encoder.feature_names)
        X = (
            np.frombuffer(b"".join(r.x for r in rows), dtype=np.float32).reshape(n, n_feat)
            if n
            else np.zeros((0, n_feat), dtype=np.float32)
        )
        allowed = (
            np.unpackbits(
                np.frombuffer(b"".join(r.allowed for r in rows), dtype=np.uint8).reshape(n, -1),
                axis=1,
                count=n_act,
            ).astype(bool)
            if n
            else np.zeros((0, n_act), dtype=bool)
        )
        signals = None
        if n and all(r.signals is not None for r in rows):
            signals = rt.codec.decode(
                np.frombuffer(b"".join(r.signals for r in rows), dtype=np.float32).reshape(n, -1),
                np.array([r.customer_id for r in rows], dtype=object),
                datetime.fromtimestamp(rows[-1].created_at, UTC),
            )
        batch = LoggedBatch(
            Context(X.astype(np.float64), rt.catalog.actions, rt.encoder.feature_names, signals),
            allowed,
            np.array([r.action for r in rows], dtype=np.int64),
            np.array([r.propensity for r in rows], dtype=float),
            np.array([r.reward for r in rows], dtype=float),
        )
        return LoggedDecisions(
            batch,
            np.array([r.decision_id for r in rows], dtype=object),
            np.array([r.customer_id for r in rows], dtype=object),
            np.array([r.created_at for r in rows], dtype=float),
            np.array([f"{r.policy_name}@{r.policy_version}" for r in rows], dtype=object),
            probs=(
                np.frombuffer(b"".join(r.probs for r in rows), dtype=np.float32)
                .reshape(n, n_act)
                .astype(np.float64)
                if n
                else np.zeros((0, n_act))
            ),
        )


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


def _apply_context(
    states: CustomerStates, catalog: Catalog, context: dict[str, Any] | None, trigger: str | None
) -> None:
    """What the calling application says about the moment, for this decision: context
    values (and the trigger, as ``trigger``) of attributes the catalog declares replace
    the customers' stored ones, for the policy's features and the guardrails' rules
    alike. Other context keys are only logged.

    Raises
    ------
    InputError
        Naming ``context.<attribute>`` (or ``trigger``) when a value does not fit.
    """
    given = _declared_attributes(catalog, dict(context or {}), "context")
    if trigger is not None:
        given |= _declared_attributes(catalog, {"trigger": trigger}, "")
    n = len(states)
    for k, v in given.items():
        states.attributes[k] = np.full(n, v, dtype=float if isinstance(v, float) else object)


def _declared_attributes(catalog: Catalog, values: dict[str, Any], where: str) -> dict[str, Any]:
    """The values of ``values`` that are attributes the catalog declares, checked
    (a number for a numeric one, one of its values for a categorical one);
    ``where`` prefixes the field names errors give (none when empty).

    Raises
    ------
    InputError
        Naming ``<where>.<attribute>`` and what was expected.

    Examples
    --------
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}],
    ...                          "attributes": {"device": {"type": "categorical",
    ...                                                    "values": ["mobile", "desktop"]}}})
    >>> _declared_attributes(cat, {"device": "mobile", "page": "/cart"}, "context")
    {'device': 'mobile'}
    >>> _declared_attributes(cat, {"device": "toaster"}, "context")
    Traceback (most recent call last):
    ...
    nba.api.errors.InputError: `context.device`: expected one of mobile, desktop, got 'toaster'
    """
    out: dict[str, Any] = {}
    for k, v in values.items():
        spec = catalog.attributes.get(k)
        if spec is None or v is None:
            continue
        name = f"{where}.{k}" if where else k
        if spec.type == "numeric":
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                raise InputError(f"`{name}`: expected a number, got {v!r}") from None
        else:
            if spec.values and str(v) not in spec.values:
                raise InputError(f"`{name}`: expected one of {', '.join(spec.values)}, got {v!r}")
            out[k] = str(v)
    return out


def _lift(per_customer: np.ndarray, holdout: np.ndarray) -> dict[str, Any]:
    """Served minus holdout mean of a per-customer count, with a 95 % interval
    (normal approximation, unequal variances) and the change relative to the
    holdout; None where a group is empty (or too small for an interval).

    Examples
    --------
    >>> out = _lift(np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
    ...             np.array([False, False, False, True, True, True]))
    >>> [round(out[k], 3) for k in ("served", "holdout", "difference", "relative")]
    [0.667, 0.333, 0.333, 1.0]
    >>> [round(x, 3) for x in out["ci95"]]
    [-0.591, 1.257]
    """
    served, held = per_customer[~holdout], per_customer[holdout]
    s_mean = float(served.mean()) if served.size else None
    h_mean = float(held.mean()) if held.size else None
    diff = ci = relative = None
    if s_mean is not None and h_mean is not None:
        diff, ci = difference_interval(served, held)
        relative = diff / h_mean if h_mean > 0 else None
    return {
        "served": s_mean,
        "holdout": h_mean,
        "difference": diff,
        "ci95": ci,
        "relative": relative,
    }


#: How much earlier than its decision an event naming it may be dated (the clocks of
#: the application and the service differ a little); an earlier one cannot be its effect.
CLOCK_SKEW = 300.0


def _late(ts: float, d: Any) -> bool:
    """Whether an event at ``ts`` is outside decision ``d``'s attribution window (after
    its end or its closing, or before the decision beyond clock skew): kept, flagged
    late, not counted in the reward."""
    return bool(ts > d.window_end or d.closed or ts < d.created_at - CLOCK_SKEW)


def _event_key(e: Event) -> tuple[Any, ...]:
    """What an event says (two events with one id must say the same)."""
    return (
        e.customer_id,
        EventType(e.type),
        epoch(e.timestamp),
        e.decision_id,
        e.channel,
        e.message_id,
        e.value,
        json.dumps(e.properties or {}, sort_keys=True, default=str),
    )


def _event_dict(e: Any) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "type": e.type,
        "timestamp": iso(e.ts),
        "decision_id": e.decision_id,
        "channel": e.channel,
        "message_id": e.message_id,
        "value": e.value,
        "properties": json.loads(e.properties or "{}"),
        "attributed_to": e.attributed_to,
        "late": bool(e.late),
        "unknown_decision": bool(e.unknown_decision),
    }


def _mlflow_store_exists() -> bool:
    """Whether there is an MLflow store to look for the champion in: a tracking
    URI is set, or the local default (``mlflow.db`` in the working directory)
    exists. Looking elsewhere would create an empty store at every start."""
    import os

    return bool(os.environ.get("MLFLOW_TRACKING_URI")) or (Path.cwd() / "mlflow.db").exists()
