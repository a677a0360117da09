"""Reading another tool's logs through a small mapping file (no code needed).

A mapping (YAML or JSON) names the columns of an external log::

    action: {column: segment, values: {"Mens E-Mail": mens, "No E-Mail": none}}
    reward: {column: visit}              # or {sum: {visit: 1.0, conversion: 20.0}}
    propensity: {constant: 0.3333}       # or {column: p}
    features:
      numeric: [recency, history]
      categorical: [zip_code, channel]
    timestamp: {column: ts}              # optional
    decision_id: {column: id}            # optional
    customer_id: {column: user}          # optional

The action values become an :meth:`ActionSpace.from_labels` space (a value
mapped to ``none`` or ``no_contact`` is the no-contact action; without one,
no-contact is never allowed); without ``values`` the column's distinct values
are the labels. Numeric features are used as they are; categorical ones are
one-hot encoded as ``column=value`` (values sorted). Every other column is
kept, e.g. for a per-segment breakdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nba.catalog import ActionSpace
from nba.config import load_document, validate
from nba.exceptions import ConfigError
from nba.features.context import Context
from nba.logs import (
    LogError,
    LoggedDecisions,
    check_propensity,
    float_column,
    timestamps_column,
)
from nba.policies.base import LoggedBatch

__all__ = ["LogMapping", "MappingError", "load_mapping", "parse_mapping", "apply_mapping"]


class MappingError(ConfigError):
    """A log mapping file is invalid."""


_NO_CONTACT = ("none", "no_contact")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Column(_Strict):
    column: str = Field(min_length=1)


class _Action(_Strict):
    column: str = Field(min_length=1)
    values: dict[str, str] | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _str_keys(cls, v: Any) -> Any:
        # YAML reads `0: none` with an int key; log values are compared as text
        if isinstance(v, dict):
            return {str(k): str(val) for k, val in v.items()}
        return v


class _Reward(_Strict):
    column: str | None = None
    sum: dict[str, float] | None = None

    @model_validator(mode="after")
    def _one(self) -> _Reward:
        if (self.column is None) == (self.sum is None):
            raise ValueError("give exactly one of `column` or `sum`")
        if self.sum is not None and not self.sum:
            raise ValueError("`sum` needs at least one column: weight")
        return self


class _Propensity(_Strict):
    column: str | None = None
    constant: float | None = Field(default=None, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _one(self) -> _Propensity:
        if (self.column is None) == (self.constant is None):
            raise ValueError("give exactly one of `column` or `constant`")
        return self


class _Features(_Strict):
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()


class LogMapping(_Strict):
    """A validated log mapping (see the module docstring)."""

    action: _Action
    reward: _Reward
    propensity: _Propensity
    features: _Features = _Features()
    timestamp: _Column | None = None
    decision_id: _Column | None = None
    customer_id: _Column | None = None


def parse_mapping(data: Any, source: str = "<mapping>") -> LogMapping:
    """Validate a parsed mapping document.

    Raises
    ------
    MappingError
        Naming the source and the field at fault.

    Examples
    --------
    >>> m = parse_mapping({"action": {"column": "arm"}, "reward": {"column": "r"},
    ...                    "propensity": {"constant": 0.5}})
    >>> m.propensity.constant
    0.5
    """
    return validate(LogMapping, data, source, MappingError)


def load_mapping(path: str | Path) -> LogMapping:
    """Read and validate a mapping file (YAML or JSON).

    Raises
    ------
    MappingError
        If the file is missing, unreadable or invalid.
    """
    return parse_mapping(load_document(path, MappingError), str(path))


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def apply_mapping(
    cols: Mapping[str, np.ndarray], mapping: LogMapping, *, source: str = "<logs>"
) -> LoggedDecisions:
    """Turn an external log's columns into :class:`LoggedDecisions`.

    Raises
    ------
    LogError
        A column named by the mapping is missing, an action value is not in
        ``values``, a propensity is outside (0, 1], a value is missing or
        not numeric.

    Examples
    --------
    >>> cols = {"arm": np.array(["x", "y", "x"], dtype=object),
    ...         "r": np.array([1.0, 0.0, 1.0]), "age": np.array([30.0, 40.0, 50.0])}
    >>> m = parse_mapping({"action": {"column": "arm"}, "reward": {"column": "r"},
    ...                    "propensity": {"constant": 0.5},
    ...                    "features": {"numeric": ["age"]}})
    >>> logs = apply_mapping(cols, m)
    >>> logs.actions.ids, logs.batch.action.tolist()
    (('no_contact', 'x', 'y'), [1, 2, 1])
    """
    needed = [mapping.action.column]
    needed += [mapping.reward.column] if mapping.reward.column else list(mapping.reward.sum or {})
    needed += [mapping.propensity.column] if mapping.propensity.column else []
    needed += [*mapping.features.numeric, *mapping.features.categorical]
    needed += [c.column for c in (mapping.timestamp, mapping.decision_id, mapping.customer_id) if c]
    missing = [c for c in dict.fromkeys(needed) if c not in cols]
    if missing:
        raise LogError(
            f"{source}: missing column(s) {', '.join(f'`{c}`' for c in missing)} named by the "
            f"mapping; the file has {', '.join(cols) or 'no columns'}"
        )
    raw_action = [_text(v) for v in cols[mapping.action.column]]
    n = len(raw_action)
    values = mapping.action.values
    if values is None:
        values = {v: v for v in sorted(set(raw_action))}
    labels = list(dict.fromkeys(values.values()))
    space = ActionSpace.from_labels(labels)
    index_of = {
        v: space.index("no_contact" if lab in _NO_CONTACT else lab) for v, lab in values.items()
    }
    action = np.empty(n, dtype=np.int64)
    for r, v in enumerate(raw_action):
        k = index_of.get(v)
        if k is None:
            raise LogError(
                f"{source}: column `{mapping.action.column}` has unknown action `{v}` "
                f"(row {r + 1}); the mapping's `values` are {', '.join(values)}"
            )
        action[r] = k
    if mapping.reward.column:
        reward = float_column(cols, mapping.reward.column, source)
    else:
        reward = np.zeros(n)
        for c, w in (mapping.reward.sum or {}).items():
            reward = reward + w * float_column(cols, c, source)
    if mapping.propensity.column:
        propensity = float_column(cols, mapping.propensity.column, source)
        check_propensity(propensity, source, mapping.propensity.column)
    else:
        propensity = np.full(n, float(mapping.propensity.constant or 1.0))
    allowed = np.ones((n, len(space)), dtype=bool)
    if not any(lab in _NO_CONTACT for lab in labels):
        allowed[:, 0] = False
    feats: list[np.ndarray] = []
    names: list[str] = []
    for c in mapping.features.numeric:
        feats.append(float_column(cols, c, source))
        names.append(c)
    for c in mapping.features.categorical:
        text = np.asarray([_text(v) for v in cols[c]], dtype=object)
        for value in sorted(set(text.tolist())):
            feats.append((text == value).astype(np.float64))
            names.append(f"{c}={value}")
    X = np.column_stack(feats) if feats else np.zeros((n, 0))
    ids = (
        np.asarray([_text(v) for v in cols[mapping.decision_id.column]], dtype=object)
        if mapping.decision_id
        else np.arange(n).astype(str).astype(object)
    )
    customers = (
        np.asarray([_text(v) for v in cols[mapping.customer_id.column]], dtype=object)
        if mapping.customer_id
        else ids.copy()
    )
    ts = (
        timestamps_column(cols, mapping.timestamp.column, n, source)
        if mapping.timestamp
        else np.zeros(n)
    )
    if np.isnan(ts).any():
        raise LogError(f"{source}: column `{mapping.timestamp.column}` has missing values")  # type: ignore[union-attr]
    context = Context(X=X, actions=space, feature_names=tuple(names), signals=None)
    return LoggedDecisions(
        batch=LoggedBatch(context, allowed, action, propensity, reward),
        decision_ids=ids,
        customer_ids=customers,
        timestamps=ts,
        policy=np.full(n, "logged", dtype=object),
        columns={k: np.asarray(v) for k, v in cols.items()},
    )
