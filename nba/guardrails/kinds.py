"""How each kind of guardrail rule is compiled for :class:`~nba.guardrails.Guardrails`.

:data:`KINDS` maps every kind of :data:`~nba.guardrails.rules.RULE_KINDS` to
the actions it is about (its scope) and the tests that fire it, filed by how
they are computed: most compare a signal (or a sum of signals) with a
constant and are computed for every rule at once, one numpy call per
operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.features.signals import Signals
from nba.guardrails.rules import (
    Budget,
    Condition,
    EligibilityRule,
    FrequencyCap,
    MinGap,
    ProgressionRule,
    QuietHours,
    SuitabilityRule,
)

__all__ = [
    "COMPARE",
    "Compare",
    "Tests",
    "Actions",
    "Kind",
    "KINDS",
    "condition_value",
    "condition",
]


#: Comparisons on numeric signals, as ufuncs that write into the per-call table.
COMPARE: dict[str, np.ufunc] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
# the general path keeps Python's operators: `x == v` falls back where no ufunc loop exists
OPS: dict[str, Callable[[np.ndarray, object], np.ndarray]] = {
    "==": lambda x, v: x == v,
    "!=": lambda x, v: x != v,
    "<": lambda x, v: x < v,
    "<=": lambda x, v: x <= v,
    ">": lambda x, v: x > v,
    ">=": lambda x, v: x >= v,
    "in": lambda x, v: np.isin(x, np.asarray(v, dtype=x.dtype if x.dtype != object else object)),
    "not_in": lambda x, v: (
        ~np.isin(x, np.asarray(v, dtype=x.dtype if x.dtype != object else object))
    ),
}


@dataclass(frozen=True)
class Compare:
    """A term comparing ``scale * sum(signals)`` with ``value``.

    Its operator is the group it is filed under.
    """

    slot: int | None  # the bit it sets; None for a helper combined into another term
    signals: tuple[str, ...]
    value: float
    scale: float = 1.0
    negate: bool = False  # fires when the comparison fails


@dataclass
class Tests:
    """The tests of a rule set, sorted by how they are computed."""

    channels: tuple[str, ...]  # the catalog's
    messages: tuple[str, ...]
    signal_names: set[str]
    compare: dict[str, list[Compare]]  # by operator
    # quiet hours that do not wrap midnight: both tests must hold
    between: list[tuple[Compare, Compare]] = field(default_factory=list)
    general: list[tuple[int, Condition, object]] = field(default_factory=list)
    requires: list[tuple[int, int]] = field(default_factory=list)  # (slot, message column)
    not_within: list[tuple[int, int, float]] = field(default_factory=list)  # (.., days)
    always: list[int] = field(default_factory=list)  # slots that fire for everyone
    budgets: list[tuple[str, int]] = field(default_factory=list)  # (channel, slot): no budget


@dataclass(frozen=True)
class Actions:
    """The catalog's actions as the rule scopes read them, shape (n_actions,) each."""

    catalog: Catalog
    is_contact: np.ndarray
    channel: np.ndarray  # object: channel id ("" for no contact)
    message: np.ndarray  # object: message id ("" for no contact)


@dataclass(frozen=True)
class Kind:
    """How a kind of rule is compiled: the actions it is about, within the contacts,
    and the tests that fire its slot's bit."""

    scope: Callable[[Any, Actions], np.ndarray | bool]
    tests: Callable[[Any, int, Tests], None]


def _in(ids: np.ndarray, wanted: str | tuple[str, ...] | None) -> np.ndarray | bool:
    """Which of ``ids`` are ``wanted`` (all when ``None``)."""
    if wanted is None:
        return True
    return np.isin(ids, [wanted] if isinstance(wanted, str) else list(wanted))


def _suitability_scope(rule: SuitabilityRule, a: Actions) -> np.ndarray | bool:
    mask = _in(a.channel, rule.channel)
    messages = a.catalog.messages
    mi = a.catalog.actions.message_index
    if rule.content_type is not None:
        mask &= np.array([m >= 0 and messages[m].content_type == rule.content_type for m in mi])
    if rule.topic is not None:
        mask &= np.array([m >= 0 and rule.topic in messages[m].topics for m in mi])
    return mask


def _frequency_cap_tests(rule: FrequencyCap, slot: int, t: Tests) -> None:
    chans = t.channels if rule.channel is None else (rule.channel,)
    names = tuple(f"{c}_sends_{rule.window_days}d" for c in chans)
    t.compare[">="].append(Compare(slot, names, float(rule.max)))


def _min_gap_tests(rule: MinGap, slot: int, t: Tests) -> None:
    c = "" if rule.channel is None else f"{rule.channel}_"
    t.compare["<"].append(Compare(slot, (f"{c}days_since_contact",), rule.hours, scale=24.0))


def _quiet_hours_tests(rule: QuietHours, slot: int, t: Tests) -> None:
    after = Compare(slot, ("local_hour",), rule.start)
    before = Compare(slot, ("local_hour",), rule.end)
    if rule.start > rule.end:  # wraps midnight: either fires the rule
        t.compare[">="].append(after)
        t.compare["<"].append(before)
    else:
        t.between.append((after, before))


def _eligibility_tests(rule: EligibilityRule, slot: int, t: Tests) -> None:
    for cond in rule.when:  # the test: the condition fails
        value = condition_value(cond)
        if (
            cond.op in COMPARE
            and cond.field in t.signal_names
            and isinstance(value, bool | int | float)
        ):
            t.compare[cond.op].append(Compare(slot, (cond.field,), float(value), negate=True))
        else:
            t.general.append((slot, cond, value))


def _progression_tests(rule: ProgressionRule, slot: int, t: Tests) -> None:
    t.requires += [(slot, t.messages.index(m)) for m in rule.requires]
    if rule.not_within_days is not None:
        t.not_within += [
            (slot, t.messages.index(m), rule.not_within_days) for m in (rule.of or (rule.message,))
        ]


#: How each kind of rule (:data:`~nba.guardrails.rules.RULE_KINDS`) is compiled.
KINDS: dict[str, Kind] = {
    SuitabilityRule.kind: Kind(_suitability_scope, lambda r, slot, t: t.always.append(slot)),
    EligibilityRule.kind: Kind(
        lambda r, a: _in(a.message, r.messages) & _in(a.channel, r.channels), _eligibility_tests
    ),
    ProgressionRule.kind: Kind(lambda r, a: a.message == r.message, _progression_tests),
    FrequencyCap.kind: Kind(lambda r, a: _in(a.channel, r.channel), _frequency_cap_tests),
    MinGap.kind: Kind(lambda r, a: _in(a.channel, r.channel), _min_gap_tests),
    QuietHours.kind: Kind(lambda r, a: _in(a.channel, r.channels), _quiet_hours_tests),
    Budget.kind: Kind(
        lambda r, a: a.channel == r.channel,
        lambda r, slot, t: t.budgets.append((r.channel, slot)),
    ),
}


def condition_value(cond: Condition) -> object:
    """A condition's value as the signal holds it (stages as their index)."""
    if cond.field != "stage":
        return cond.value
    if isinstance(cond.value, list):
        return [float(STAGES.index(str(v))) for v in cond.value]
    return float(STAGES.index(str(cond.value)))


def condition(cond: Condition, value: object, signals: Signals) -> np.ndarray:
    """Shape (n,): whether each customer meets ``cond`` (``value`` from :func:`condition_value`).

    The general path, for attributes and ``in`` / ``not_in``; comparisons of
    numeric signals are vectorised over all rules by :class:`Guardrails`.
    """
    x = signals[cond.field]
    if x.dtype == object and not isinstance(value, list):
        value = str(value) if not isinstance(value, bool) else value
    return np.asarray(OPS[cond.op](x, value), dtype=bool)
