"""Vowpal Wabbit's examples: feature names and lines in its text format, and the parsed
examples a workspace keeps for reuse.

A decision is one multi-line example: the shared line (namespace ``c``, the
customer's non-zero context features) then one line per allowed action
(namespace ``a``); the chosen action's line carries the label
``0:<cost>:<probability>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
from vowpalwabbit import Example

from nba.catalog import ActionSpace
from nba.exceptions import PolicyError

__all__ = [
    "CONTEXT_NS",
    "ACTION_NS",
    "sanitize_feature_name",
    "fmt",
    "context_names",
    "shared_line",
    "action_lines",
    "ActionExamples",
    "ContextHashes",
    "row_pairs",
    "row_frames",
    "text_lines",
]

#: Namespaces: shared (context) and per-action features.
CONTEXT_NS = "c"
ACTION_NS = "a"
#: Rows turned into feature lists at once while learning (bounds memory).
_CHUNK = 2048

_UNSAFE = re.compile(r"[\s:|]")


def sanitize_feature_name(name: str) -> str:
    """A feature name safe in VW's text format (no whitespace, ``:`` or ``|``).

    Examples
    --------
    >>> sanitize_feature_name("stage=new customer|a:b")
    'stage=new_customer_a_b'
    """
    return _UNSAFE.sub("_", str(name)) or "_"


def _unique_names(names: Sequence[str]) -> list[str]:
    """Sanitised names, made unique by suffixing the column index on collisions."""
    out: list[str] = []
    seen: set[str] = set()
    for j, raw in enumerate(names):
        name = sanitize_feature_name(raw)
        if name in seen:
            name = f"{name}#{j}"
        seen.add(name)
        out.append(name)
    return out


def fmt(value: float) -> str:
    """``value`` as VW's text format takes it, exactly.

    repr is the shortest string that round-trips the float64.

    Examples
    --------
    >>> fmt(0.1), fmt(2)
    ('0.1', '2.0')
    """
    return repr(float(value))


def _label(cost: float, probability: float) -> str:
    return f"0:{fmt(cost)}:{fmt(probability)}"


def context_names(feature_names: Sequence[str], d: int) -> list[str]:
    """VW's names of ``d`` context columns: sanitised and unique, ``x<j>`` when not given.

    Raises
    ------
    PolicyError
        If there are names but not ``d`` of them.

    Examples
    --------
    >>> context_names(["a b", "a_b"], 2), context_names((), 2)
    (['a_b', 'a_b#1'], ['x0', 'x1'])
    """
    if feature_names and len(feature_names) != d:
        raise PolicyError(
            f"VWPolicy: `context.feature_names` has {len(feature_names)} names "
            f"for {d} feature columns"
        )
    return _unique_names(feature_names or [f"x{j}" for j in range(d)])


def shared_line(names: Sequence[str], row: np.ndarray) -> str:
    """The shared (context) line of one customer: non-zero features only."""
    nz = np.flatnonzero(row)
    feats = " ".join(
        f"{names[k]}:{v!r}" for k, v in zip(nz.tolist(), row[nz].tolist(), strict=True)
    )
    return f"shared |{CONTEXT_NS} {feats}".rstrip()


def action_lines(space: ActionSpace) -> list[str]:
    """One unlabelled line per action of ``space``: its non-zero features."""
    feats = np.asarray(space.features, dtype=np.float64)
    if feats.shape != (len(space), len(space.feature_names)):
        raise PolicyError(
            f"VWPolicy: action features: expected shape ({len(space)}, "
            f"{len(space.feature_names)}), got {feats.shape}"
        )
    if not np.isfinite(feats).all():
        raise PolicyError("VWPolicy: action features: expected finite values, got NaN or inf")
    names = _unique_names(space.feature_names)
    lines = []
    for row in feats:
        nz = np.flatnonzero(row)
        body = " ".join(
            f"{names[k]}:{v!r}" for k, v in zip(nz.tolist(), row[nz].tolist(), strict=True)
        )
        lines.append(f"|{ACTION_NS} {body}".rstrip())
    return lines


@dataclass
class ActionExamples:
    """The parsed examples of one action space: unlabelled, and labelled ones kept for reuse.

    ``labelled`` maps ``(action, cost, probability, last)`` to a parsed
    labelled example of that action; ``last`` is whether it ends its
    multi-line example (SquareCB treats that position differently, see
    :meth:`VWPolicy.partial_fit`).
    """

    space: ActionSpace
    lines: list[str]
    examples: list[Example]
    labelled: dict[tuple[int, float, float, bool], Example] = field(default_factory=dict)
    seen: set[tuple[int, float, float, bool]] = field(default_factory=set)


@dataclass
class ContextHashes:
    """VW feature ids of the context columns, for one list of feature names.

    ``ids`` holds Python ints (dtype object), so that picking a row's ids
    shares them instead of making new ones.
    """

    feature_names: tuple[str, ...]
    names: list[str]
    ids: np.ndarray


def row_pairs(X: np.ndarray, ids: np.ndarray) -> Iterator[list[tuple[int, float]]]:
    """Each row's non-zero (feature id, value) pairs, made as the rows are consumed.

    The ids and values of a block of rows come from numpy at once; the
    pairs are made row by row because tens of thousands of live tuples
    would set off Python's cyclic garbage collector over and over (a
    fifth of the learning time with few actions).
    """
    if X.shape[0] == 1:  # one decision: the latency path
        (cols,) = np.nonzero(X[0])
        yield list(zip(ids[cols].tolist(), X[0, cols].tolist(), strict=True))
        return
    for start in range(0, X.shape[0], _CHUNK):
        block = X[start : start + _CHUNK]
        rows, cols = np.nonzero(block)
        pairs = zip(ids[cols].tolist(), block[rows, cols].tolist(), strict=True)
        for count in np.bincount(rows, minlength=block.shape[0]).tolist():
            yield list(islice(pairs, count))


def row_frames(
    shared: Example, examples: list[Example], allowed: np.ndarray
) -> Iterator[list[Example]]:
    """Each row's multi-line example without its label: shared, then the allowed actions."""
    everything: list[bool] = np.all(allowed, axis=1).tolist()
    for row, full in zip(allowed, everything, strict=True):
        if full:
            yield [shared, *examples]
        else:
            yield [shared, *(examples[a] for a in np.flatnonzero(row))]


def text_lines(
    names: Sequence[str],
    action_lines: Sequence[str],
    row: np.ndarray,
    allowed_row: np.ndarray,
    label: tuple[int, float, float] | None,
) -> list[str]:
    """One row in VW's text format: the shared line, then the allowed actions' lines."""
    lines = [shared_line(names, row)]
    for j in np.flatnonzero(allowed_row).tolist():
        if label is not None and label[0] == j:
            lines.append(f"{_label(label[1], label[2])} {action_lines[j]}")
        else:
            lines.append(action_lines[j])
    return lines
