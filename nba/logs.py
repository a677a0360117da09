"""The decision log: what learning and off-policy evaluation read, whoever wrote it.

:class:`LoggedDecisions` is the one in-memory form of logged decisions. The
service (:class:`StoredDecisions`, the rows it stores), the simulator
(:meth:`LoggedDecisions.from_decisions`) and log files
(:mod:`nba.evaluation.logs`, :mod:`nba.evaluation.mapping`) all give it; the
evaluation, training and export read it. It lives outside both the simulator
and the evaluation so that each imports it without importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from nba.catalog import ActionSpace
from nba.clock import epoch
from nba.events import parse_timestamp
from nba.exceptions import NBAError
from nba.features.codec import SignalCodec
from nba.features.context import Context
from nba.features.signals import Signals
from nba.policies.base import LoggedBatch

if TYPE_CHECKING:
    from nba.pipeline import DecisionBatch

__all__ = [
    "LogError",
    "LoggedDecisions",
    "StoredDecisions",
    "action_indices",
    "check_propensity",
    "float_column",
    "timestamps_column",
]


class LogError(NBAError):
    """A log of decisions is unreadable or inconsistent (missing columns, bad values)."""


@dataclass(frozen=True)
class LoggedDecisions:
    """Logged decisions with their metadata.

    Attributes
    ----------
    batch
        Context, allowed mask, chosen action, propensity and reward.
    decision_ids, customer_ids
        Shape (n,) object.
    timestamps
        Shape (n,) epoch seconds of each decision.
    policy
        Shape (n,) object: the logging policy's name (and version).
    expected_reward
        Shape (n, n_actions) ground truth E[reward | context, action] when the
        logs come from the simulator, else ``None``.
    probs
        Shape (n, n_actions): the logging policy's full distribution when it
        was logged (nba's own decisions), else ``None``.
    columns
        Other columns of the source table by name, each shape (n,) (e.g. a
        segment column of an external log).
    """

    batch: LoggedBatch
    decision_ids: np.ndarray
    customer_ids: np.ndarray
    timestamps: np.ndarray
    policy: np.ndarray
    expected_reward: np.ndarray | None = None
    probs: np.ndarray | None = None
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.batch)

    @property
    def actions(self) -> ActionSpace:
        """The action space."""
        return self.batch.context.actions

    @property
    def has_signals(self) -> bool:
        """True when the raw signals are logged (rule policies and what-if need them)."""
        return self.batch.context.signals is not None

    def take(self, rows: np.ndarray) -> LoggedDecisions:
        """A subset of the decisions (index or boolean mask)."""
        return LoggedDecisions(
            self.batch.take(rows),
            self.decision_ids[rows],
            self.customer_ids[rows],
            self.timestamps[rows],
            self.policy[rows],
            None if self.expected_reward is None else self.expected_reward[rows],
            None if self.probs is None else self.probs[rows],
            {k: v[rows] for k, v in self.columns.items()},
        )

    @classmethod
    def from_decisions(
        cls,
        decisions: DecisionBatch,
        reward: np.ndarray,
        *,
        expected_reward: np.ndarray | None = None,
        policy: str | None = None,
    ) -> LoggedDecisions:
        """Logged decisions from a pipeline :class:`~nba.pipeline.DecisionBatch` and rewards.

        The full distribution (``probs``) and the raw signals are kept.

        Parameters
        ----------
        decisions
            What :meth:`nba.pipeline.Decider.decide` returned.
        reward
            Shape (n,): each decision's joined reward.
        expected_reward
            Shape (n, n_actions) ground truth, when known (simulator).
        policy
            The logging policy's label on every row (default: the batch's
            ``name@version``).
        """
        n = len(decisions)
        ctx = decisions.context
        return cls(
            batch=LoggedBatch(
                ctx,
                decisions.guardrails.allowed,
                np.asarray(decisions.action, dtype=np.int64),
                np.asarray(decisions.propensity, dtype=np.float64),
                np.asarray(reward, dtype=np.float64),
            ),
            decision_ids=np.asarray(decisions.decision_ids, dtype=object),
            customer_ids=np.asarray(decisions.signals.customer_ids, dtype=object),
            timestamps=np.full(n, decisions.created_at.timestamp()),
            policy=np.full(
                n, policy or f"{decisions.policy_name}@{decisions.policy_version}", dtype=object
            ),
            expected_reward=expected_reward,
            probs=np.asarray(decisions.probs, dtype=np.float64),
        )

    @classmethod
    def concat(cls, parts: list[LoggedDecisions]) -> LoggedDecisions:
        """Several logs with the same action space and features, one after the other.

        Raises
        ------
        LogError
            If ``parts`` is empty or the parts differ in actions or features.
        """
        if not parts:
            raise LogError("nothing to concatenate")
        first = parts[0]
        for p in parts[1:]:
            if p.actions.ids != first.actions.ids or (
                p.batch.context.feature_names != first.batch.context.feature_names
            ):
                raise LogError("cannot concatenate logs with different actions or features")

        def cat(xs: list[np.ndarray | None]) -> np.ndarray | None:
            return None if any(x is None for x in xs) else np.concatenate(xs)  # type: ignore[arg-type]

        sigs = [p.batch.context.signals for p in parts]
        signals = Signals.concat(sigs) if all(s is not None for s in sigs) else None  # type: ignore[arg-type]
        ctx = Context(
            X=np.concatenate([p.batch.context.X for p in parts]),
            actions=first.actions,
            feature_names=first.batch.context.feature_names,
            signals=signals,
        )
        keys = set(first.columns).intersection(*(p.columns for p in parts[1:]))
        return cls(
            batch=LoggedBatch(
                ctx,
                np.concatenate([p.batch.allowed for p in parts]),
                np.concatenate([p.batch.action for p in parts]),
                np.concatenate([p.batch.propensity for p in parts]),
                np.concatenate([p.batch.reward for p in parts]),
            ),
            decision_ids=np.concatenate([p.decision_ids for p in parts]),
            customer_ids=np.concatenate([p.customer_ids for p in parts]),
            timestamps=np.concatenate([p.timestamps for p in parts]),
            policy=np.concatenate([p.policy for p in parts]),
            expected_reward=cat([p.expected_reward for p in parts]),
            probs=cat([p.probs for p in parts]),
            columns={k: np.concatenate([p.columns[k] for p in parts]) for k in keys},
        )

    def column(self, name: str) -> np.ndarray:
        """A column by name: an extra column, a signal (``s.x`` or ``x``) or attribute.

        Raises
        ------
        LogError
            If the logs have no such column.
        """
        if name in self.columns:
            return self.columns[name]
        sig = self.batch.context.signals
        bare = name.split(".", 1)[1] if name[:2] in ("s.", "a.") else name
        if sig is not None and bare in sig:
            return sig[bare]
        if name == "policy":
            return self.policy
        if name == "action":
            return np.asarray(self.actions.ids, dtype=object)[self.batch.action]
        known = sorted(
            [*self.columns, "policy", "action"]
            + ([f"s.{k}" for k in sig.values] + [f"a.{k}" for k in sig.attributes] if sig else [])
        )
        raise LogError(f"the logs have no column `{name}`; expected one of {', '.join(known)}")

    def split(
        self, fraction: float | None = None, *, by_time: bool = False
    ) -> tuple[LoggedDecisions, LoggedDecisions]:
        """Split into a training and an evaluation part.

        Parameters
        ----------
        fraction
            Share of decisions in the first (training) part, in (0, 1);
            default 0.5.
        by_time
            Sort by timestamp first, so the evaluation part is the later
            decisions; otherwise rows are split in file order.

        Raises
        ------
        LogError
            If ``fraction`` is not in (0, 1) or a part would be empty.
        """
        f = 0.5 if fraction is None else fraction
        if not 0.0 < f < 1.0:
            raise LogError(f"`--split`: expected a fraction in (0, 1), got {f}")
        order = np.argsort(self.timestamps, kind="stable") if by_time else np.arange(len(self))
        cut = int(round(f * len(self)))
        if cut == 0 or cut == len(self):
            raise LogError(f"split {f} of {len(self)} decisions leaves one part empty")
        return self.take(order[:cut]), self.take(order[cut:])


def float_column(cols: Mapping[str, np.ndarray], name: str, source: str) -> np.ndarray:
    """Column ``name`` as float64, with an error naming the row of a missing or bad value."""
    raw = cols[name]
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next((v for v in raw if not _is_number(v)), None)
        raise LogError(f"{source}: column `{name}` must be numeric, got {bad!r}") from None
    if np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr))[0])
        raise LogError(f"{source}: column `{name}` has a missing value (row {row + 1})")
    return arr


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def check_propensity(p: np.ndarray, source: str, name: str = "propensity") -> None:
    """Raise :class:`LogError` unless every propensity is in (0, 1]."""
    bad = ~((p > 0) & (p <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LogError(
            f"{source}: column `{name}` must be in (0, 1], got {p[row]:g} (row {row + 1})"
        )


def action_indices(
    values: np.ndarray, space: ActionSpace, source: str, column: str = "action"
) -> np.ndarray:
    """Map action ids to indices, with a clear error on an unknown id."""
    lookup = {a: i for i, a in enumerate(space.ids)}
    out = np.empty(len(values), dtype=np.int64)
    for r, v in enumerate(values):
        k = lookup.get(str(v))
        if k is None:
            raise LogError(
                f"{source}: column `{column}` has unknown action `{v}` (row {r + 1}); "
                f"expected one of {', '.join(space.ids)}"
            )
        out[r] = k
    return out


def timestamps_column(cols: Mapping[str, np.ndarray], name: str, n: int, source: str) -> np.ndarray:
    """Column ``name`` (ISO-8601 text or epoch seconds) as epoch seconds; zeros without it."""
    if name not in cols:
        return np.zeros(n)
    raw = cols[name]
    if raw.dtype != object:
        return np.asarray(raw, dtype=np.float64)
    out = np.empty(n)
    for r, v in enumerate(raw):
        try:
            out[r] = float(v) if _is_number(v) else epoch(parse_timestamp(str(v)))
        except ValueError:
            raise LogError(
                f"{source}: column `{name}` must hold ISO-8601 timestamps or epoch seconds, "
                f"got {v!r} (row {r + 1})"
            ) from None
    return out


@dataclass(frozen=True)
class StoredDecisions:
    """Decisions as the service stores them, one entry per decision: the one decoder of
    stored decisions into :class:`LoggedDecisions` (learning, export).

    Attributes
    ----------
    customer_ids
        The customers.
    x
        float32 bytes of each decision's encoded context, (n_features,).
    allowed
        ``np.packbits`` bytes of each decision's allowed mask, (n_actions,).
    action, propensity, reward
        The chosen action's index, its propensity, the joined reward.
    signals
        :class:`~nba.features.codec.SignalCodec` float32 bytes of the raw
        signals, or ``None`` (then no decision's signals are decoded).
    probs
        float32 bytes of the full distribution, (n_actions,), or ``None``.
    decision_ids, created_at, policy
        Ids, epoch seconds and ``name@version`` of the logging policy, or
        ``None`` when the reader does not need them (learning).
    """

    customer_ids: Sequence[str]
    x: Sequence[bytes]
    allowed: Sequence[bytes]
    action: Sequence[int]
    propensity: Sequence[float]
    reward: Sequence[float]
    signals: Sequence[bytes | None] | None = None
    probs: Sequence[bytes] | None = None
    decision_ids: Sequence[str] | None = None
    created_at: Sequence[float] | None = None
    policy: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.customer_ids)

    def decode(
        self,
        actions: ActionSpace,
        feature_names: tuple[str, ...],
        codec: SignalCodec,
        now: datetime,
        outcomes: Mapping[str, np.ndarray] | None = None,
    ) -> LoggedDecisions:
        """The decisions as :class:`LoggedDecisions`.

        Parameters
        ----------
        actions, feature_names
            The action space and features the decisions were made with.
        codec
            Decodes the stored signals (its catalog's layout).
        now
            The decoded signals' ``now``.
        outcomes
            What each decision led to (:func:`nba.goals.close_rewards`),
            kept on the batch for funnel learners.

        Examples
        --------
        >>> from datetime import UTC
        >>> from nba.catalog import Catalog
        >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
        ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
        >>> row = StoredDecisions(["c1"], [np.float32([0.5]).tobytes()],
        ...     [np.packbits([True, True]).tobytes()], [1], [0.5], [1.0])
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> logs = row.decode(cat.actions, ("f",), SignalCodec(cat), now)
        >>> logs.batch.context.X.tolist(), logs.batch.allowed.tolist(), logs.probs is None
        ([[0.5]], [[True, True]], True)
        """
        n, n_act = len(self), len(actions)

        def floats(blobs: Sequence[bytes | None], width: int) -> np.ndarray:
            if not n:
                return np.zeros((0, width), dtype=np.float32)
            return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(n, -1)  # type: ignore[arg-type]

        allowed = (
            np.unpackbits(
                np.frombuffer(b"".join(self.allowed), dtype=np.uint8).reshape(n, -1),
                axis=1,
                count=n_act,
            ).astype(bool)
            if n
            else np.zeros((0, n_act), dtype=bool)
        )
        customer_ids = np.asarray(self.customer_ids, dtype=object)
        signals = None
        # policies that need the raw signals (rules, a guarded rollout's comparison)
        # get them only when every decision was logged with them
        if n and self.signals is not None and all(s is not None for s in self.signals):
            signals = codec.decode(floats(self.signals, 0), customer_ids, now)
        X = floats(self.x, len(feature_names)).astype(np.float64)
        batch = LoggedBatch(
            Context(X, actions, feature_names, signals),
            allowed,
            np.asarray(self.action, dtype=np.int64),
            np.asarray(self.propensity, dtype=float),
            np.asarray(self.reward, dtype=float),
            outcomes,
        )
        return LoggedDecisions(
            batch,
            decision_ids=np.asarray(
                customer_ids if self.decision_ids is None else self.decision_ids, dtype=object
            ),
            customer_ids=customer_ids,
            timestamps=np.zeros(n)
            if self.created_at is None
            else np.asarray(self.created_at, float),
            policy=np.asarray(
                np.full(n, "unknown") if self.policy is None else self.policy, dtype=object
            ),
            probs=None if self.probs is None else floats(self.probs, n_act).astype(np.float64),
        )
