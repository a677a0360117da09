"""Evaluating guardrails for a batch of customers, with the reason for each removal."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.decision import Suppression
from nba.features.signals import Signals
from nba.guardrails.rules import (
    Budget,
    Condition,
    EligibilityRule,
    FrequencyCap,
    GuardrailsSpec,
    MinGap,
    ProgressionRule,
    QuietHours,
    SuitabilityRule,
)

__all__ = ["Guardrails", "GuardrailResult", "holdout_draw"]

CONSENT = "consent"
HOLDOUT = "holdout"


def holdout_draw(customer_ids: np.ndarray, salt: str) -> np.ndarray:
    """A stable uniform number in [0, 1) per customer id (salted hash).

    Examples
    --------
    >>> a = holdout_draw(np.array(["c1", "c2"], dtype=object), "s")
    >>> bool((a == holdout_draw(np.array(["c1", "c2"], dtype=object), "s")).all())
    True
    """
    key = salt.encode()
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(str(c).encode(), digest_size=8, key=key).digest(), "big")
            / 2.0**64
            for c in customer_ids
        ]
    )


@dataclass(frozen=True)
class GuardrailResult:
    """What the guardrails allow for n customers.

    Attributes
    ----------
    allowed
        Shape (n_customers, n_actions) bool; no-contact is always allowed.
    reason
        Shape (n_customers, n_actions) int: index into ``rule_names`` of the
        first rule that removed the action, -1 where allowed.
    rule_names
        Names of the rules, ``reason``'s vocabulary.
    holdout
        Shape (n_customers,) bool: in the global holdout.
    """

    allowed: np.ndarray
    reason: np.ndarray
    rule_names: tuple[str, ...]
    holdout: np.ndarray

    def suppressed(self, i: int, catalog: Catalog) -> tuple[Suppression, ...]:
        """The removed actions of customer ``i``, each with its rule."""
        acts = catalog.actions.actions
        return tuple(
            Suppression(
                acts[a].message_id or "", acts[a].channel or "", self.rule_names[self.reason[i, a]]
            )
            for a in np.flatnonzero(self.reason[i] >= 0)
        )


_OPS: dict[str, Callable[[np.ndarray, object], np.ndarray]] = {
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


def _condition(cond: Condition, signals: Signals) -> np.ndarray:
    x = signals[cond.field]
    value: object = cond.value
    if cond.field == "stage":
        value = (
            [float(STAGES.index(str(v))) for v in cond.value]
            if isinstance(cond.value, list)
            else float(STAGES.index(str(cond.value)))
        )
    if x.dtype == object and not isinstance(value, list):
        value = str(value) if not isinstance(value, bool) else value
    with np.errstate(invalid="ignore"):
        return np.asarray(_OPS[cond.op](x, value), dtype=bool)


class Guardrails:
    """Compiled guardrails for one catalog.

    Parameters
    ----------
    spec
        The validated rules (:func:`nba.guardrails.parse_guardrails`).
    catalog
        The catalog the rules were validated against.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from nba.catalog import Catalog
    >>> from nba.features.signals import CustomerStates
    >>> from nba.guardrails.rules import parse_guardrails
    >>> cat = Catalog.from_dict({"channels": [{"id": "sms", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> g = Guardrails(parse_guardrails({}, cat), cat)
    >>> sig = CustomerStates(cat, ["c1"]).signals(datetime(2026, 1, 1, tzinfo=UTC))
    >>> res = g.evaluate(sig)
    >>> res.allowed.tolist(), [s.rule for s in res.suppressed(0, cat)]
    ([[True, False]], ['consent'])
    """

    def __init__(self, spec: GuardrailsSpec, catalog: Catalog) -> None:
        self.spec = spec
        self.catalog = catalog

    @cached_property
    def rule_names(self) -> tuple[str, ...]:
        """Every rule name, in evaluation order (holdout and consent first)."""
        return (HOLDOUT, CONSENT, *(r.name for r in self.spec.rules))

    @cached_property
    def _scope(self) -> np.ndarray:
        """Shape (n_rules, n_actions): which actions each rule is about."""
        cat, space = self.catalog, self.catalog.actions
        mi, ci = space.message_index, space.channel_index
        is_contact = mi >= 0
        chan_of = np.array([cat.channel_ids[c] if c >= 0 else "" for c in ci], dtype=object)
        msg_of = np.array([cat.message_ids[m] if m >= 0 else "" for m in mi], dtype=object)
        out = np.zeros((len(self.rule_names), len(space)), dtype=bool)
        out[0] = is_contact  # holdout: every contact
        for code, rule in enumerate(self.spec.rules, start=2):
            mask = is_contact.copy()
            if isinstance(rule, SuitabilityRule):
                if rule.channel is not None:
                    mask &= chan_of == rule.channel
                if rule.content_type is not None:
                    mask &= np.array(
                        [m >= 0 and cat.messages[m].content_type == rule.content_type for m in mi]
                    )
                if rule.topic is not None:
                    mask &= np.array([m >= 0 and rule.topic in cat.messages[m].topics for m in mi])
            elif isinstance(rule, EligibilityRule):
                if rule.messages is not None:
                    mask &= np.isin(msg_of, list(rule.messages))
                if rule.channels is not None:
                    mask &= np.isin(chan_of, list(rule.channels))
            elif isinstance(rule, ProgressionRule):
                mask &= msg_of == rule.message
            elif isinstance(rule, FrequencyCap | MinGap):
                if rule.channel is not None:
                    mask &= chan_of == rule.channel
            elif isinstance(rule, QuietHours):
                if rule.channels is not None:
                    mask &= np.isin(chan_of, list(rule.channels))
            else:
                assert isinstance(rule, Budget)
                mask &= chan_of == rule.channel
            out[code] = mask
        return out

    @cached_property
    def _active(self) -> list[tuple[int, object]]:
        """The rules that concern at least one action, with their reason codes."""
        return [
            (code, rule)
            for code, rule in enumerate(self.spec.rules, start=2)
            if self._scope[code].any()
        ]

    @cached_property
    def _consent_channel(self) -> np.ndarray:
        """Per action, the channel index whose consent it needs (-1: none)."""
        needs = np.array([c.requires_consent for c in self.catalog.channels] + [False])
        ci = self.catalog.actions.channel_index
        return np.where(needs[ci], ci, -1)

    def _violations(
        self, rule: object, signals: Signals, budget_left: Mapping[str, float]
    ) -> np.ndarray:
        """Per customer, whether the rule forbids its in-scope actions: shape (n,)."""
        n = len(signals)
        v = signals.values
        if isinstance(rule, SuitabilityRule):
            return np.ones(n, dtype=bool)
        if isinstance(rule, EligibilityRule):
            ok = np.ones(n, dtype=bool)
            for cond in rule.when:
                ok &= _condition(cond, signals)
            return ~ok
        if isinstance(rule, ProgressionRule):
            cols = [signals.message_ids.index(m) for m in rule.requires]
            bad = np.zeros(n, dtype=bool)
            if cols:
                bad |= np.isinf(signals.days_since_message[:, cols]).any(axis=1)
            if rule.not_within_days is not None:
                of = [signals.message_ids.index(m) for m in (rule.of or (rule.message,))]
                bad |= (signals.days_since_message[:, of] < rule.not_within_days).any(axis=1)
            return bad
        if isinstance(rule, FrequencyCap):
            if rule.channel is None:
                count = sum(v[f"{c}_sends_{rule.window_days}d"] for c in signals.channels)
            else:
                count = v[f"{rule.channel}_sends_{rule.window_days}d"]
            return np.asarray(count >= rule.max)
        if isinstance(rule, MinGap):
            key = (
                "days_since_contact"
                if rule.channel is None
                else f"{rule.channel}_days_since_contact"
            )
            return np.asarray(v[key] * 24.0 < rule.hours)
        if isinstance(rule, QuietHours):
            h = v["local_hour"]
            if rule.start <= rule.end:
                return (h >= rule.start) & (h < rule.end)
            return (h >= rule.start) | (h < rule.end)
        assert isinstance(rule, Budget)  # the caller says how many sends are left today
        return np.full(n, budget_left.get(rule.channel, np.inf) <= 0)

    def evaluate(
        self, signals: Signals, budget_left: Mapping[str, float] | None = None
    ) -> GuardrailResult:
        """Allowed actions for n customers, and why the others were removed.

        Parameters
        ----------
        signals
            The customers' signals at decision time.
        budget_left
            Sends left today per channel with a budget (default: the full
            budget). The pipeline allocates budgets within a batch.

        Returns
        -------
        GuardrailResult
        """
        n = len(signals)
        left = (
            dict(budget_left)
            if budget_left is not None
            else {b.channel: float(b.max_per_day) for b in self.spec.budgets}
        )
        # per customer and rule: does the rule fire? (n, n_rules); rule x action scope
        fires = np.zeros((n, len(self.rule_names)), dtype=bool)
        holdout = np.zeros(n, dtype=bool)
        if self.spec.holdout is not None and self.spec.holdout.share > 0:
            holdout = (
                holdout_draw(signals.customer_ids, self.spec.holdout.salt) < self.spec.holdout.share
            )
        fires[:, 0] = holdout
        for code, rule in self._active:
            fires[:, code] = self._violations(rule, signals, left)
        cc = self._consent_channel
        needs = cc >= 0
        allowed = np.empty((n, len(self.catalog.actions)), dtype=bool)
        reason = np.empty(allowed.shape, dtype=np.int16)
        for lo in range(0, n, _CHUNK):  # bounded memory for large batches
            hi = min(n, lo + _CHUNK)
            hit = fires[lo:hi, :, None] & self._scope[None, :, :]
            hit[:, 1, needs] = ~signals.consent[lo:hi][:, cc[needs]]
            removed = hit.any(axis=1)
            allowed[lo:hi] = ~removed
            reason[lo:hi] = np.where(removed, hit.argmax(axis=1), -1)
        return GuardrailResult(allowed, reason, self.rule_names, holdout)


_CHUNK = 16_384
