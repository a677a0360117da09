"""The logged-decision format: what learning and off-policy evaluation read.

One row per decision: ids, time, logging policy, the allowed actions, the
chosen action and its propensity, the joined reward, the encoded context
(``x.<feature>``), and when available the raw signals (``s.<name>``),
attributes (``a.<name>``), days since each message was last sent
(``m.<message_id>``) and, from the simulator, the true expected reward of
every action (``e.<action_id>``) and the logging policy's full distribution
(``p.<action_id>``).

Columns of a file written by :func:`write_logs`:

=====================  =========================================================
``decision_id``        str
``customer_id``        str
``timestamp``          float, seconds since the epoch (UTC)
``policy``             str, the logging policy (``name@version``)
``action``             str, the chosen action's id (``message@channel``,
                       ``no_contact``)
``propensity``         float in (0, 1]
``reward``             float
``allowed.<id>``       bool, one column per action, in action-space order
``x.<feature>``        float, the encoded context
``s.<signal>``         float, optional raw signals (rule policies, what-if)
``a.<attribute>``      optional profile attributes
``m.<message_id>``     float, optional days since the message was sent
``e.<id>``, ``p.<id>`` float, optional ground truth / logging distribution
=====================  =========================================================

Parquet files carry the action space (ids, channels, action features) in
their schema metadata; CSV and JSON-lines files carry it in a sidecar
``FILE.meta.json``. Without it the action space is rebuilt from the
``allowed.*`` columns with :meth:`ActionSpace.from_labels`.

External logs (another tool's randomized campaign) are read through a
mapping file, see :mod:`nba.evaluation.mapping`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nba.catalog import Action, ActionSpace
from nba.exceptions import ConfigError, NBAError
from nba.features.context import Context
from nba.policies.base import LoggedBatch

if TYPE_CHECKING:
    from nba.evaluation.mapping import LogMapping
    from nba.features.signals import Signals
    from nba.pipeline import DecisionBatch

__all__ = [
    "LoggedDecisions",
    "LogError",
    "MappingError",
    "LOG_FORMATS",
    "write_logs",
    "read_logs",
    "read_table",
    "logs_from_table",
    "logs_to_table",
]

#: File suffixes and the format they select.
LOG_FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_REQUIRED = ("action", "propensity", "reward")
_META_KEY = b"nba.logs"


class LogError(NBAError):
    """A log of decisions is unreadable or inconsistent (missing columns, bad values)."""


class MappingError(ConfigError):
    """A log mapping file is invalid."""


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
            policy=np.full(n, f"{decisions.policy_name}@{decisions.policy_version}", dtype=object),
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
        signals = None
        if all(s is not None for s in sigs):
            from nba.features.signals import Signals

            s0 = sigs[0]
            assert s0 is not None
            signals = Signals(
                customer_ids=np.concatenate([s.customer_ids for s in sigs]),  # type: ignore[union-attr]
                now=max(s.now for s in sigs),  # type: ignore[union-attr]
                channels=s0.channels,
                message_ids=s0.message_ids,
                values={k: np.concatenate([s.values[k] for s in sigs]) for k in s0.values},  # type: ignore[union-attr]
                consent=np.concatenate([s.consent for s in sigs]),  # type: ignore[union-attr]
                days_since_message=np.concatenate([s.days_since_message for s in sigs]),  # type: ignore[union-attr]
                attributes={
                    k: np.concatenate([s.attributes[k] for s in sigs])  # type: ignore[union-attr]
                    for k in s0.attributes
                },
            )
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


# -- tables ---------------------------------------------------------------------------
def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("parquet", "csv", "jsonl"):
            raise LogError(f"log format `{fmt}`: expected parquet, csv or jsonl")
        return fmt
    try:
        return LOG_FORMATS[path.suffix.lower()]
    except KeyError:
        raise LogError(
            f"{path}: cannot tell the log format from the suffix `{path.suffix}`; "
            f"expected one of {', '.join(LOG_FORMATS)}"
        ) from None


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def read_table(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """Read a Parquet, CSV or JSON-lines file into columns.

    Returns
    -------
    columns, meta
        Column name -> shape (n,) array; the nba metadata (action space) when
        the file carries it, else ``None``.

    Raises
    ------
    LogError
        If the file is missing or unreadable.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    p = Path(path)
    fmt = _format(p, None)
    if not p.is_file():
        raise LogError(f"{p}: file not found")
    meta: dict[str, Any] | None = None
    try:
        if fmt == "parquet":
            table = pq.read_table(p)
            raw = (table.schema.metadata or {}).get(_META_KEY)
            meta = json.loads(raw) if raw else None
        elif fmt == "csv":
            table = pacsv.read_csv(p)
        else:
            table = pajson.read_json(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise LogError(f"{p}: cannot read {fmt} file ({exc})") from None
    if meta is None and _meta_path(p).is_file():
        meta = json.loads(_meta_path(p).read_text())
    cols: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_null(col.type):
            arr = np.full(len(col), np.nan)
        elif pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            arr = col.to_numpy(zero_copy_only=False)
            if col.null_count:
                arr = np.where(col.is_null().to_numpy(zero_copy_only=False), np.nan, arr)
        elif pa.types.is_timestamp(col.type):
            arr = (
                col.cast(pa.int64()).to_numpy(zero_copy_only=False)
                / {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[col.type.unit]
            )
        else:
            arr = np.asarray(col.to_pylist(), dtype=object)
            if pa.types.is_boolean(col.type) and not col.null_count:
                arr = arr.astype(bool)
        cols[name] = arr
    return cols, meta


def _space_meta(space: ActionSpace) -> dict[str, Any]:
    return {
        "actions": [[a.message_id, a.channel] for a in space.actions],
        "features": space.features.tolist(),
        "feature_names": list(space.feature_names),
        "message_index": space.message_index.tolist(),
        "channel_index": space.channel_index.tolist(),
    }


def _space_from_meta(meta: Mapping[str, Any]) -> ActionSpace:
    return ActionSpace(
        actions=tuple(Action(m, c) for m, c in meta["actions"]),
        features=np.asarray(meta["features"], dtype=float),
        feature_names=tuple(meta["feature_names"]),
        message_index=np.asarray(meta["message_index"], dtype=np.int64),
        channel_index=np.asarray(meta["channel_index"], dtype=np.int64),
    )


def logs_to_table(logs: LoggedDecisions) -> dict[str, np.ndarray]:
    """The columns :func:`write_logs` writes, in order (see the module docstring)."""
    b = logs.batch
    ids = logs.actions.ids
    cols: dict[str, np.ndarray] = {
        "decision_id": np.asarray(logs.decision_ids, dtype=object).astype(str),
        "customer_id": np.asarray(logs.customer_ids, dtype=object).astype(str),
        "timestamp": np.asarray(logs.timestamps, dtype=np.float64),
        "policy": np.asarray(logs.policy, dtype=object).astype(str),
        "action": np.asarray(ids, dtype=object)[b.action].astype(str),
        "propensity": np.asarray(b.propensity, dtype=np.float64),
        "reward": np.asarray(b.reward, dtype=np.float64),
    }
    for k, a in enumerate(ids):
        cols[f"allowed.{a}"] = b.allowed[:, k].astype(bool)
    names = b.context.feature_names or tuple(f"f{j}" for j in range(b.context.X.shape[1]))
    for j, name in enumerate(names):
        cols[f"x.{name}"] = b.context.X[:, j].astype(np.float64)
    sig = b.context.signals
    if sig is not None:
        for name, v in sig.values.items():
            cols[f"s.{name}"] = np.asarray(v, dtype=np.float64)
        for name, v in sig.attributes.items():
            cols[f"a.{name}"] = np.asarray(v)
        for j, m in enumerate(sig.message_ids):
            cols[f"m.{m}"] = sig.days_since_message[:, j].astype(np.float64)
    for prefix, arr in (("e", logs.expected_reward), ("p", logs.probs)):
        if arr is not None:
            for k, a in enumerate(ids):
                cols[f"{prefix}.{a}"] = arr[:, k].astype(np.float64)
    for name, v in logs.columns.items():
        cols.setdefault(name, np.asarray(v))
    return cols


def write_logs(path: str | Path, logs: LoggedDecisions, *, fmt: str | None = None) -> Path:
    """Write logged decisions as Parquet, CSV or JSON lines.

    Parameters
    ----------
    path
        Output file; the format follows the suffix (``.parquet``, ``.csv``,
        ``.jsonl``) unless ``fmt`` is given.
    logs
        The decisions.
    fmt
        ``"parquet"``, ``"csv"`` or ``"jsonl"``.

    Returns
    -------
    The path written. CSV and JSON lines also get ``FILE.meta.json`` with the
    action space.

    Examples
    --------
    >>> import tempfile
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> logs = synthetic_logs(50, seed=0)
    >>> out = write_logs(tempfile.mkdtemp() + "/logs.parquet", logs)
    >>> len(read_logs(out)) == 50
    True
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    p = Path(path)
    kind = _format(p, fmt)
    cols = logs_to_table(logs)
    meta = {"format": 1, "action_space": _space_meta(logs.actions)}
    sig = logs.batch.context.signals
    if sig is not None:
        meta["channels"] = list(sig.channels)
        meta["message_ids"] = list(sig.message_ids)
    p.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        names = list(cols)
        lists = [cols[k].tolist() for k in names]
        with open(p, "w", encoding="utf-8") as f:
            for row in zip(*lists, strict=True):
                rec = {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in zip(names, row, strict=True)
                }
                f.write(json.dumps(rec) + "\n")
    else:
        arrays = {}
        for k, v in cols.items():
            arrays[k] = pa.array(v.tolist() if v.dtype == object else v)
        table = pa.table(arrays)
        if kind == "parquet":
            table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
            pq.write_table(table, p)
        else:
            pacsv.write_csv(table, p)
    if kind != "parquet":
        _meta_path(p).write_text(json.dumps(meta))
    return p


def read_logs(
    path: str | Path,
    mapping: str | Path | LogMapping | None = None,
) -> LoggedDecisions:
    """Read logged decisions written by :func:`write_logs`, or external logs via a mapping.

    Parameters
    ----------
    path
        Parquet, CSV or JSON-lines file.
    mapping
        A log mapping (file or parsed, see :mod:`nba.evaluation.mapping`) for
        logs from another tool; ``None`` for nba's own format.

    Raises
    ------
    LogError
        Missing columns, propensities outside (0, 1], unknown or disallowed
        actions, missing values.
    MappingError
        If the mapping file is invalid.
    """
    cols, meta = read_table(path)
    if mapping is not None:
        from nba.evaluation.mapping import LogMapping, apply_mapping, load_mapping

        m = mapping if isinstance(mapping, LogMapping) else load_mapping(mapping)
        return apply_mapping(cols, m, source=str(path))
    return logs_from_table(cols, meta, source=str(path))


def _require(cols: Mapping[str, np.ndarray], names: tuple[str, ...], source: str) -> None:
    missing = [c for c in names if c not in cols]
    if missing:
        raise LogError(
            f"{source}: missing column(s) {', '.join(f'`{c}`' for c in missing)}; nba logs need "
            f"{', '.join(_REQUIRED)}, `allowed.<action>` and `x.<feature>` columns "
            "(for another tool's logs pass a mapping file with --mapping)"
        )


def _float_column(cols: Mapping[str, np.ndarray], name: str, source: str) -> np.ndarray:
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


def _timestamps(cols: Mapping[str, np.ndarray], name: str, n: int, source: str) -> np.ndarray:
    if name not in cols:
        return np.zeros(n)
    raw = cols[name]
    if raw.dtype != object:
        return np.asarray(raw, dtype=np.float64)
    out = np.empty(n)
    for r, v in enumerate(raw):
        try:
            out[r] = float(v) if _is_number(v) else _parse_ts(str(v))
        except ValueError:
            raise LogError(
                f"{source}: column `{name}` must hold ISO-8601 timestamps or epoch seconds, "
                f"got {v!r} (row {r + 1})"
            ) from None
    return out


def _parse_ts(text: str) -> float:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _nan_to_inf(x: np.ndarray) -> np.ndarray:
    # "never sent" is inf in Signals; JSON lines store it as null
    return np.where(np.isnan(x), np.inf, x)


def _signals_from_columns(
    cols: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None,
    customer_ids: np.ndarray,
    timestamps: np.ndarray,
) -> Signals | None:
    from nba.features.signals import Signals

    values = {k[2:]: np.asarray(v, dtype=np.float64) for k, v in cols.items() if k.startswith("s.")}
    if not values:
        return None
    if meta and "channels" in meta:
        channels = tuple(meta["channels"])
    else:
        channels = tuple(k[: -len("_consent")] for k in values if k.endswith("_consent"))
    message_cols = [k for k in cols if k.startswith("m.")]
    message_ids = (
        tuple(meta["message_ids"])
        if meta and "message_ids" in meta
        else tuple(k[2:] for k in message_cols)
    )
    n = len(customer_ids)
    dsm = (
        np.column_stack([_nan_to_inf(np.asarray(cols[f"m.{m}"], float)) for m in message_ids])
        if message_ids
        else np.zeros((n, 0))
    )
    consent = (
        np.column_stack([values.get(f"{c}_consent", np.zeros(n)) > 0.5 for c in channels])
        if channels
        else np.zeros((n, 0), dtype=bool)
    )
    attributes = {k[2:]: np.asarray(v) for k, v in cols.items() if k.startswith("a.")}
    now = datetime.fromtimestamp(float(timestamps.max()) if n else 0.0, UTC)
    return Signals(
        customer_ids=np.asarray(customer_ids, dtype=object),
        now=now,
        channels=channels,
        message_ids=message_ids,
        values=values,
        consent=consent,
        days_since_message=dsm,
        attributes=attributes,
    )


def logs_from_table(
    cols: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
    *,
    source: str = "<logs>",
) -> LoggedDecisions:
    """Build :class:`LoggedDecisions` from columns in nba's log format.

    Raises
    ------
    LogError
        Naming the source, the column and the row at fault.
    """
    _require(cols, _REQUIRED, source)
    allowed_cols = [k for k in cols if k.startswith("allowed.")]
    if meta and "action_space" in meta:
        space = _space_from_meta(meta["action_space"])
    elif allowed_cols:
        space = ActionSpace.from_labels([k[len("allowed.") :] for k in allowed_cols])
    else:
        raise LogError(
            f"{source}: missing the `allowed.<action>` columns (one per action); "
            "for another tool's logs pass a mapping file with --mapping"
        )
    n = len(cols["action"])
    action = action_indices(cols["action"], space, source)
    propensity = _float_column(cols, "propensity", source)
    check_propensity(propensity, source)
    reward = _float_column(cols, "reward", source)
    if not np.isfinite(reward).all():
        row = int(np.flatnonzero(~np.isfinite(reward))[0])
        raise LogError(
            f"{source}: column `reward` must be finite, got {reward[row]} (row {row + 1})"
        )
    allowed = np.ones((n, len(space)), dtype=bool)
    for k, a in enumerate(space.ids):
        if f"allowed.{a}" in cols:
            allowed[:, k] = np.asarray(cols[f"allowed.{a}"]).astype(bool)
    if not allowed[np.arange(n), action].all():
        row = int(np.flatnonzero(~allowed[np.arange(n), action])[0])
        raise LogError(
            f"{source}: row {row + 1}: the chosen action `{space.ids[action[row]]}` is not "
            "among the row's allowed actions"
        )
    feat = [k for k in cols if k.startswith("x.")]
    X = (
        np.column_stack([_float_column(cols, k, source) for k in feat])
        if feat
        else np.zeros((n, 0))
    )
    ids = cols.get("decision_id")
    decision_ids = (
        np.asarray(ids, dtype=object)
        if ids is not None
        else np.arange(n).astype(str).astype(object)
    )
    cust = cols.get("customer_id")
    customer_ids = np.asarray(cust, dtype=object) if cust is not None else decision_ids.copy()
    timestamps = _timestamps(cols, "timestamp", n, source)
    pol = cols.get("policy")
    policy = np.asarray(pol, dtype=object) if pol is not None else np.full(n, "unknown", object)
    signals = _signals_from_columns(cols, meta, customer_ids, timestamps)

    def matrix(prefix: str) -> np.ndarray | None:
        if not all(f"{prefix}.{a}" in cols for a in space.ids):
            return None
        return np.column_stack([np.asarray(cols[f"{prefix}.{a}"], float) for a in space.ids])

    known = {"decision_id", "customer_id", "timestamp", "policy", *_REQUIRED}
    extra = {
        k: np.asarray(v)
        for k, v in cols.items()
        if k not in known and k.split(".", 1)[0] not in ("allowed", "x", "s", "a", "m", "e", "p")
    }
    context = Context(
        X=X,
        actions=space,
        feature_names=tuple(k[2:] for k in feat),
        signals=signals,
    )
    return LoggedDecisions(
        batch=LoggedBatch(context, allowed, action, propensity, reward),
        decision_ids=decision_ids,
        customer_ids=customer_ids,
        timestamps=timestamps,
        policy=policy,
        expected_reward=matrix("e"),
        probs=matrix("p"),
        columns=extra,
    )
