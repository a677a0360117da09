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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nba.catalog import Action, ActionSpace
from nba.evaluation.mapping import LogMapping, MappingError, apply_mapping, load_mapping
from nba.features.codec import SignalColumns
from nba.features.context import Context
from nba.features.signals import Signals
from nba.logs import (
    LogError,
    LoggedDecisions,
    action_indices,
    check_propensity,
    float_column,
    timestamps_column,
)
from nba.policies.base import LoggedBatch

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
    if b.context.signals is not None:
        cols |= SignalColumns().encode(b.context.signals)
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


def _signals_from_columns(
    cols: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None,
    customer_ids: np.ndarray,
    timestamps: np.ndarray,
) -> Signals | None:
    if not any(k.startswith("s.") for k in cols):
        return None
    if meta and "channels" in meta:
        channels = tuple(meta["channels"])
    else:
        channels = tuple(
            k[2 : -len("_consent")] for k in cols if k.startswith("s.") and k.endswith("_consent")
        )
    if meta and "message_ids" in meta:
        message_ids = tuple(meta["message_ids"])
    else:
        message_ids = tuple(k[2:] for k in cols if k.startswith("m."))
    now = datetime.fromtimestamp(float(timestamps.max()) if len(timestamps) else 0.0, UTC)
    return SignalColumns().decode(cols, customer_ids, now, channels, message_ids)


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
    propensity = float_column(cols, "propensity", source)
    check_propensity(propensity, source)
    reward = float_column(cols, "reward", source)
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
    X = np.column_stack([float_column(cols, k, source) for k in feat]) if feat else np.zeros((n, 0))
    ids = cols.get("decision_id")
    decision_ids = (
        np.asarray(ids, dtype=object)
        if ids is not None
        else np.arange(n).astype(str).astype(object)
    )
    cust = cols.get("customer_id")
    customer_ids = np.asarray(cust, dtype=object) if cust is not None else decision_ids.copy()
    timestamps = timestamps_column(cols, "timestamp", n, source)
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
