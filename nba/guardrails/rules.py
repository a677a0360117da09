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

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Literal

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
    "RULE_KINDS",
    "parse_guardrails",
    "load_guardrails",
    "CAP_WINDOWS",
]

#: The windows (days) a frequency cap may use.
CAP_WINDOWS: tuple[int, ...] = (1, *WINDOWS)


@dataclasses.dataclass
class _CatalogCheck:
    """What checking rules against a catalog needs, and the errors it raises."""

    catalog: Catalog
    source: str
    fields: set[str]
    budgeted: set[str] = dataclasses.field(default_factory=set)  # channels with a budget so far

    def fail(self, rule: _Rule, field: str, msg: str) -> None:
        raise GuardrailsError(f"{self.source}, rule `{rule.name}`: `{field}` {msg}")

    def known(self, rule: _Rule, field: str, value: str | None, pool: set[str], what: str) -> None:
        if value is not None and value not in pool:
            self.fail(
                rule,
                field,
                f"names unknown {what} `{value}`; expected one of {', '.join(sorted(pool))}",
            )


class _Rule(BaseModel):
    """A named rule of one kind; ``kind`` is its list's key in the guardrails file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    kind: ClassVar[str]
    name: str = Field(min_length=1)

    def check_catalog(self, check: _CatalogCheck) -> None:
        """Raise :class:`GuardrailsError` unless the rule's names exist in the catalog."""
        channels, messages = set(check.catalog.channel_ids), set(check.catalog.message_ids)
        for ch in getattr(self, "channels", None) or ():
            check.known(self, "channels", ch, channels, "channel")
        if hasattr(self, "channel"):
            check.known(self, "channel", self.channel, channels, "channel")
        for m in getattr(self, "messages", None) or ():
            check.known(self, "messages", m, messages, "message")


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

    kind: ClassVar[str] = "suitability"
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

    def check_catalog(self, check: _CatalogCheck) -> None:
        super().check_catalog(check)
        if self.topic is not None:
            check.known(self, "topic", self.topic, set(check.catalog.topics), "topic")


class EligibilityRule(_Rule):
    """Actions in scope are allowed only when every condition holds."""

    kind: ClassVar[str] = "eligibility"
    messages: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    when: tuple[Condition, ...] = Field(min_length=1)

    def check_catalog(self, check: _CatalogCheck) -> None:
        super().check_catalog(check)
        attributes = check.catalog.attributes
        for cond in self.when:
            check.known(self, "when.field", cond.field, check.fields, "signal or attribute")
            vals = cond.value if isinstance(cond.value, list) else [cond.value]
            if cond.field == "stage":
                for v in vals:
                    if v not in STAGES:
                        check.fail(
                            self, "when.value", f"must be a stage ({', '.join(STAGES)}), got {v!r}"
                        )
            elif cond.field in attributes:
                kind = attributes[cond.field].type
                if kind == "numeric" and not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in vals
                ):
                    check.fail(
                        self,
                        "when.value",
                        f"must be a number for numeric attribute "
                        f"`{cond.field}`, got {cond.value!r}",
                    )
                known_values = attributes[cond.field].values
                if kind != "numeric" and known_values:
                    for v in vals:  # a value the attribute cannot take never matches
                        if str(v) not in known_values:
                            check.fail(
                                self,
                                "when.value",
                                f"must be one of {', '.join(known_values)} for attribute "
                                f"`{cond.field}`, got {v!r}",
                            )
            elif not all(isinstance(v, int | float) for v in vals):
                check.fail(
                    self,
                    "when.value",
                    f"must be a number for signal `{cond.field}`, got {cond.value!r}",
                )


class ProgressionRule(_Rule):
    """Message order: ``requires`` sent before, or not within N days of ``of``."""

    kind: ClassVar[str] = "progression"
    message: str
    requires: tuple[str, ...] = ()
    not_within_days: float | None = Field(default=None, gt=0)
    of: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ProgressionRule:
        if not self.requires and self.not_within_days is None:
            raise ValueError("needs `requires` (a list of messages) or `not_within_days`")
        return self

    def check_catalog(self, check: _CatalogCheck) -> None:
        super().check_catalog(check)
        messages = set(check.catalog.message_ids)
        check.known(self, "message", self.message, messages, "message")
        for m in (*self.requires, *(self.of or ())):
            check.known(self, "requires" if m in self.requires else "of", m, messages, "message")


class FrequencyCap(_Rule):
    """At most ``max`` sends per window, on one channel or all."""

    kind: ClassVar[str] = "frequency_caps"
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

    kind: ClassVar[str] = "min_gap"
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

    kind: ClassVar[str] = "quiet_hours"
    start: float
    end: float
    channels: tuple[str, ...] | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_hour(cls, v: Any) -> float:
        return _hour(v)


class Budget(_Rule):
    """At most ``max_per_day`` sends on a channel per UTC day, across customers."""

    kind: ClassVar[str] = "budgets"
    channel: str
    max_per_day: int = Field(ge=0)

    def check_catalog(self, check: _CatalogCheck) -> None:
        if self.channel in check.budgeted:
            check.fail(self, "channel", f"`{self.channel}` already has a budget (one per channel)")
        check.budgeted.add(self.channel)
        super().check_catalog(check)


#: Every kind of named rule, in evaluation order, by its key in the guardrails
#: file (the holdout and consent come before them all).
RULE_KINDS: dict[str, type[_Rule]] = {
    r.kind: r
    for r in (
        SuitabilityRule,
        EligibilityRule,
        ProgressionRule,
        FrequencyCap,
        MinGap,
        QuietHours,
        Budget,
    )
}


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
        return tuple(r for kind in RULE_KINDS for r in getattr(self, kind))

    def summary(self) -> dict[str, int | float]:
        """Counts of rules by kind (and the holdout share)."""
        out: dict[str, int | float] = {k: len(getattr(self, k)) for k in RULE_KINDS}
        out["holdout_share"] = self.holdout.share if self.holdout else 0.0
        return out


_LABELS = dict.fromkeys(RULE_KINDS, "rule") | {"when": "condition"}


def _check_against_catalog(spec: GuardrailsSpec, catalog: Catalog, source: str) -> None:
    fields = {d.name for d in signal_definitions(catalog.channel_ids)} | set(catalog.attributes)
    check = _CatalogCheck(catalog, source, fields)
    names: set[str] = set()
    for rule in spec.rules:
        if rule.name in names or rule.name in ("consent", "holdout"):
            check.fail(rule, "name", "must be unique (and not `consent` or `holdout`)")
        names.add(rule.name)
        rule.check_catalog(check)


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
