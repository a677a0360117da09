"""Export logged decisions as Vowpal Wabbit's decision-service JSON (DSJSON).

One JSON document per line, as VW's ``--dsjson`` parser reads it::

    {"_label_cost": -1.0, "_label_probability": 0.4, "_label_Action": 2, "_labelIndex": 1,
     "o": [], "Timestamp": "2026-03-10T12:00:00.000000Z", "Version": "1",
     "EventId": "<decision id>", "a": [2, 1, 3], "p": [0.4, 0.3, 0.3],
     "c": {"c": {"bias": 1.0, ...}, "_multi": [{"a": {"message=welcome": 1.0, ...}}, ...]}}

- ``_label_cost`` is ``-reward`` (VW minimises cost), ``_label_probability``
  the logged propensity;
- ``_multi`` holds one element per **allowed** action, in action-index
  order; ``_labelIndex`` is the chosen action's position among them
  (0-based) and ``_label_Action`` the same, 1-based;
- ``a`` lists the 1-based positions, chosen first then the others, and ``p``
  their probabilities — the logged distribution when the logs carry it;
  otherwise the chosen action's propensity followed by the remaining mass
  spread evenly (``"pdist": "approx"`` marks those lines; VW learns only
  from the label fields);
- the context namespace ``c`` and the action namespace ``a`` use the same
  sanitised feature names and skip zero values exactly as
  :class:`nba.policies.vw.VWPolicy` does, so a VW workspace trained on this
  file with the policy's flags plus ``--dsjson`` learns the same model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nba.logs import LoggedDecisions

__all__ = ["dsjson_lines", "write_dsjson", "vw_feature_names"]


def vw_feature_names(names: Sequence[str]) -> list[str]:
    """Feature names as :class:`~nba.policies.vw.VWPolicy` writes them.

    Sanitised (no whitespace, ``:`` or ``|``) and made unique by suffixing
    the column index on a collision.

    Examples
    --------
    >>> vw_feature_names(["a b", "a_b", "c"])
    ['a_b', 'a_b#1', 'c']
    """
    from nba.policies.vw import sanitize_feature_name

    out: list[str] = []
    seen: set[str] = set()
    for j, raw in enumerate(names):
        name = sanitize_feature_name(raw)
        if name in seen:
            name = f"{name}#{j}"
        seen.add(name)
        out.append(name)
    return out


def _vw_timestamp(ts: float) -> str:
    """VW's own ``Timestamp`` text (microseconds and ``Z``, as its tools write and parse
    it), not :func:`nba.clock.iso`'s ``+00:00``."""
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dsjson_lines(logs: LoggedDecisions) -> Iterator[str]:
    """The DSJSON line of every decision, in order (see the module docstring).

    Examples
    --------
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> line = json.loads(next(dsjson_lines(synthetic_logs(1, seed=0))))
    >>> line["_labelIndex"] + 1 == line["_label_Action"], len(line["c"]["_multi"])
    (True, 4)
    """
    b = logs.batch
    ctx = b.context
    X = np.asarray(ctx.X, dtype=np.float64)
    names = vw_feature_names(ctx.feature_names or [f"x{j}" for j in range(X.shape[1])])
    space = ctx.actions
    act_names = vw_feature_names(space.feature_names)
    feats = np.asarray(space.features, dtype=np.float64)
    action_docs = [
        {"a": {act_names[k]: float(row[k]) for k in np.flatnonzero(row).tolist()}} for row in feats
    ]
    for i in range(len(b)):
        allowed = np.flatnonzero(b.allowed[i]).tolist()
        chosen = int(b.action[i])
        pos = allowed.index(chosen)
        p_chosen = float(b.propensity[i])
        order = [pos] + [k for k in range(len(allowed)) if k != pos]
        doc: dict[str, object] = {
            # 0.0 - r so that a zero reward is cost 0.0, as VWPolicy writes it
            "_label_cost": 0.0 - float(b.reward[i]),
            "_label_probability": p_chosen,
            "_label_Action": pos + 1,
            "_labelIndex": pos,
            "o": [],
            "Timestamp": _vw_timestamp(logs.timestamps[i]),
            "Version": "1",
            "EventId": str(logs.decision_ids[i]),
            "a": [k + 1 for k in order],
        }
        if logs.probs is not None:
            doc["p"] = [float(logs.probs[i, allowed[k]]) for k in order]
        else:
            rest = (1.0 - p_chosen) / (len(allowed) - 1) if len(allowed) > 1 else 0.0
            doc["p"] = [p_chosen] + [rest] * (len(allowed) - 1)
            doc["pdist"] = "approx"
        row = X[i]
        doc["c"] = {
            "c": {names[k]: float(row[k]) for k in np.flatnonzero(row).tolist()},
            "_multi": [action_docs[j] for j in allowed],
        }
        yield json.dumps(doc, separators=(",", ":"))


def write_dsjson(path: str | Path, logs: LoggedDecisions) -> Path:
    """Write logged decisions as DSJSON, one decision per line.

    Parameters
    ----------
    path
        Output file (conventionally ``.json`` or ``.dsjson``).
    logs
        The decisions.

    Returns
    -------
    The path written.

    Examples
    --------
    >>> import tempfile
    >>> from nba.evaluation.synthetic import synthetic_logs
    >>> out = write_dsjson(tempfile.mkdtemp() + "/logs.dsjson", synthetic_logs(3))
    >>> len(out.read_text().splitlines())
    3
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        for line in dsjson_lines(logs):
            f.write(line + "\n")
    return p
