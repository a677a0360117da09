"""The guardrails file: the marketer's rules, validated against the catalog.

Kinds, in the order they are evaluated (an action removed by several rules
is reported with the first):

``holdout``
    ``{share: 0.05, salt: "2026"}`` — a stable share of customers (by a hash
    of their id) that gets nothing, to measure the lift of contacting at all.
consent (always on)
    A channel whose catalog entry ``requires_consent`` is used only with the
    customer's consent (rule name ``consent``).
``suitability``
    ``[{name, channel?, content_type?, topic?}]`` — forbid content type /
    topic × channel combinations.
``eligibility``
    ``[{name, messages?, channels?, when: [{field, op, value}]}]`` — the
    actions in scope are allowed only when every condition holds. ``field``
    is a signal (see ``nba.features.signals.signal_definitions``) or a
    catalog attribute; ``op`` one of ``== != < <= > >= in not_in``;
    ``stage`` compares by stage name.
``progression``
    ``[{name, message, requires: [ids]}]`` — only after the listed messages
    were sent; or ``[{name, message, not_within_days: N, of: [ids]}]`` — not
    within N days of them (default: of the message itself).
``frequency_caps``
    ``[{name, channel?, max, window_days}]`` — at most ``max`` sends on the
    channel (or on all channels) in 1, 7, 30 or 90 days.
``min_gap``
    ``[{name, hours, channel?}]`` — hours since the last send.
``quiet_hours``
    ``[{name, start, end, channels?}]`` — no sends between ``start`` and
    ``end`` ("HH:MM" or hour) in the customer's local time; may wrap midnight.
``budgets``
    ``[{name, channel, max_per_day}]`` — sends per channel per UTC day across
    all customers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nba.catalog import CONTENT_TYPES, STAGES, Catalog
from nba.config import load_document, validate
from nba.exceptions import GuardrailsError
from nba.features.signals import WINDOWS, signal_definitions

__all__ = [
    "Condition",
    "Holdout",
    "SuitabilityRule",
    "EligibilityRule",
    "ProgressionRule",
    "FrequencyCap",
    "MinGap",
    "QuietHours",
    "Budget",
    "GuardrailsSpec",
    "parse_guardrails",
    "load_guardrails",
    "CAP_WINDOWS",
]

#: The windows (days) a frequency cap may use.
CAP_WINDOWS: tuple[int, ...] = (1, *WINDOWS)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(min_length=1)


class Condition(BaseModel):
    """One test on a signal or attribute, e.g. ``days_since_purchase >= 60``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    field: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]
    value: bool | int | float | str | list[int | float | str]

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"`value` must be a list for op `{self.op}`, got {self.value!r}")
        if self.op not in ("in", "not_in") and isinstance(self.value, list):
            raise ValueError(f"`value` must be a single value for op `{self.op}`")
        return self


class Holdout(BaseModel):
    """A global holdout share, stable per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    share: float = Field(ge=0.0, lt=1.0)
    salt: str = "nba-holdout"


class SuitabilityRule(_Rule):
    """Forbid a content type and/or topic on a channel."""

    channel: str | None = None
    content_type: str | None = None
    topic: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SuitabilityRule:
        if self.channel is None and self.content_type is None and self.topic is None:
            raise ValueError("needs at least one of `channel`, `content_type`, `topic`")
        if self.content_type is not None and self.content_type not in CONTENT_TYPES:
            raise ValueError(
                f"`content_type` must be one of {', '.join(CONTENT_TYPES)}, "
                f"got {self.content_type!r}"
            )
        return self


class EligibilityRule(_Rule):
    """Actions in scope are allowed only when every condition holds."""

    messages: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    when: tuple[Condition, ...] = Field(min_length=1)


class ProgressionRule(_Rule):
    """Message order: ``requires`` sent before, or not within N days of ``of``."""

    message: str
    requires: tuple[str, ...] = ()
    not_within_days: float | None = Field(default=None, gt=0)
    of: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ProgressionRule:
        if not self.requires and self.not_within_days is None:
            raise ValueError("needs `requires` (a list of messages) or `not_within_days`")
        return self


class FrequencyCap(_Rule):
    """At most ``max`` sends per window, on one channel or all."""

    channel: str | None = None
    max: int = Field(ge=0)
    window_days: int

    @field_validator("window_days")
    @classmethod
    def _window(cls, v: int) -> int:
        if v not in CAP_WINDOWS:
            raise ValueError(
                f"`window_days` must be one of {', '.join(map(str, CAP_WINDOWS))}, got {v}"
            )
        return v


class MinGap(_Rule):
    """At least ``hours`` since the last send (on one channel or any)."""

    hours: float = Field(gt=0, le=24 * 366)
    channel: str | None = None


def _hour(v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        h = float(v)
    elif isinstance(v, str):
        hh, _, mm = v.partition(":")
        try:
            h = int(hh) + (int(mm) / 60.0 if mm else 0.0)
        except ValueError:
            raise ValueError(f'expected an hour such as "21:00" or 21, got {v!r}') from None
    else:
        raise ValueError(f'expected an hour such as "21:00" or 21, got {v!r}')
    if not 0 <= h <= 24:
        raise ValueError(f"expected an hour between 00:00 and 24:00, got {v!r}")
    return h


class QuietHours(_Rule):
    """No sends from ``start`` to ``end`` local time (wraps midnight if start > end)."""

    start: float
    end: float
    channels: tuple[str, ...] | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_hour(cls, v: Any) -> float:
        return _hour(v)


class Budget(_Rule):
    """At most ``max_per_day`` sends on a channel per UTC day, across customers."""

    channel: str
    max_per_day: int = Field(ge=0)


class GuardrailsSpec(BaseModel):
    """A whole guardrails file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    holdout: Holdout | None = None
    suitability: tuple[SuitabilityRule, ...] = ()
    eligibility: tuple[EligibilityRule, ...] = ()
    progression: tuple[ProgressionRule, ...] = ()
    frequency_caps: tuple[FrequencyCap, ...] = ()
    min_gap: tuple[MinGap, ...] = ()
    quiet_hours: tuple[QuietHours, ...] = ()
    budgets: tuple[Budget, ...] = ()

    @property
    def rules(self) -> tuple[_Rule, ...]:
        """Every named rule, in evaluation order."""
        return (
            *self.suitability,
            *self.eligibility,
            *self.progression,
            *self.frequency_caps,
            *self.min_gap,
            *self.quiet_hours,
            *self.budgets,
        )

    def summary(self) -> dict[str, int | float]:
        """Counts of rules by kind (and the holdout share)."""
        out: dict[str, int | float] = {
            k: len(getattr(self, k))
            for k in (
                "suitability",
                "eligibility",
                "progression",
                "frequency_caps",
                "min_gap",
                "quiet_hours",
                "budgets",
            )
        }
        out["holdout_share"] = self.holdout.share if self.holdout else 0.0
        return out


_LABELS = dict.fromkeys(
    (
        "suitability",
        "eligibility",
        "progression",
        "frequency_caps",
        "min_gap",
        "quiet_hours",
        "budgets",
    ),
    "rule",
) | {"when": "condition"}


def _check_against_catalog(spec: GuardrailsSpec, catalog: Catalog, source: str) -> None:
    channels, messages = set(catalog.channel_ids), set(catalog.message_ids)
    fields = {d.name for d in signal_definitions(catalog.channel_ids)} | set(catalog.attributes)
    names: set[str] = set()

    def fail(rule: _Rule, field: str, msg: str) -> None:
        raise GuardrailsError(f"{source}, rule `{rule.name}`: `{field}` {msg}")

    def known(rule: _Rule, field: str, value: str | None, pool: set[str], what: str) -> None:
        if value is not None and value not in pool:
            fail(
                rule,
                field,
                f"names unknown {what} `{value}`; expected one of {', '.join(sorted(pool))}",
            )

    budgeted: set[str] = set()
    for rule in spec.rules:
        if rule.name in names or rule.name in ("consent", "holdout"):
            fail(rule, "name", "must be unique (and not `consent` or `holdout`)")
        names.add(rule.name)
        if isinstance(rule, Budget):
            if rule.channel in budgeted:
                fail(rule, "channel", f"`{rule.channel}` already has a budget (one per channel)")
            budgeted.add(rule.channel)
        for ch in getattr(rule, "channels", None) or ():
            known(rule, "channels", ch, channels, "channel")
        if hasattr(rule, "channel"):
            known(rule, "channel", rule.channel, channels, "channel")
        for m in getattr(rule, "messages", None) or ():
            known(rule, "messages", m, messages, "message")
        if isinstance(rule, SuitabilityRule) and rule.topic is not None:
            known(rule, "topic", rule.topic, set(catalog.topics), "topic")
        if isinstance(rule, ProgressionRule):
            known(rule, "message", rule.message, messages, "message")
            for m in (*rule.requires, *(rule.of or ())):
                known(rule, "requires" if m in rule.requires else "of", m, messages, "message")
        if isinstance(rule, EligibilityRule):
            for cond in rule.when:
                known(rule, "when.field", cond.field, fields, "signal or attribute")
                if cond.field == "stage":
                    vals = cond.value if isinstance(cond.value, list) else [cond.value]
                    for v in vals:
                        if v not in STAGES:
                            fail(
                                rule,
                                "when.value",
                                f"must be a stage ({', '.join(STAGES)}), got {v!r}",
                            )
                elif cond.field in catalog.attributes:
                    kind = catalog.attributes[cond.field].type
                    vals = cond.value if isinstance(cond.value, list) else [cond.value]
                    if kind == "numeric" and not all(
                        isinstance(v, int | float) and not isinstance(v, bool) for v in vals
                    ):
                        fail(
                            rule,
                            "when.value",
                            f"must be a number for numeric attribute "
                            f"`{cond.field}`, got {cond.value!r}",
                        )
                    known_values = catalog.attributes[cond.field].values
                    if kind != "numeric" and known_values:
                        for v in vals:  # a value the attribute cannot take never matches
                            if str(v) not in known_values:
                                fail(
                                    rule,
                                    "when.value",
                                    f"must be one of {', '.join(known_values)} for attribute "
                                    f"`{cond.field}`, got {v!r}",
                                )
                else:
                    vals = cond.value if isinstance(cond.value, list) else [cond.value]
                    if not all(isinstance(v, int | float) for v in vals):
                        fail(
                            rule,
                            "when.value",
                            f"must be a number for signal `{cond.field}`, got {cond.value!r}",
                        )


def parse_guardrails(data: Any, catalog: Catalog, source: str = "<guardrails>") -> GuardrailsSpec:
    """Validate a parsed guardrails document against a catalog.

    Raises
    ------
    GuardrailsError
        Naming the source, the rule, the field and what was expected.

    Examples
    --------
    >>> from nba.catalog import Catalog
    >>> cat = Catalog.from_dict({"channels": [{"id": "sms", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> parse_guardrails({"frequency_caps": [{"name": "sms_cap", "channel": "sms", "max": -1,
    ...                   "window_days": 1}]}, cat, "g.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nba.exceptions.GuardrailsError: g.yaml, rule `sms_cap`, `max`: Input should be ... 0, got -1
    """
    spec = validate(GuardrailsSpec, data, source, GuardrailsError, item_labels=_LABELS)
    _check_against_catalog(spec, catalog, source)
    return spec


def load_guardrails(path: str | Path, catalog: Catalog) -> GuardrailsSpec:
    """Load and validate a guardrails file.

    Raises
    ------
    GuardrailsError
        If the file is missing or invalid.
    """
    return parse_guardrails(load_document(path, GuardrailsError), catalog, str(path))
