"""Scenario files: a synthetic population and how it responds.

A scenario (YAML) names the catalog, guardrails, goal and rules it runs on
(paths relative to the scenario file) and describes segments of customers
with hidden traits. Every field is documented on :class:`ScenarioSpec` and
:class:`SegmentSpec`; ``nba/examples/omnichannel/scenario.yaml`` is the
annotated example.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nba.catalog import Catalog, load_catalog
from nba.config import load_document, validate
from nba.exceptions import ConfigError
from nba.goals import Goal, load_goal
from nba.guardrails import GuardrailsSpec, load_guardrails

__all__ = [
    "ScenarioError",
    "SegmentSpec",
    "ScenarioSpec",
    "Scenario",
    "load_scenario",
    "parse_scenario",
]


class ScenarioError(ConfigError):
    """A scenario file is missing or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Prob = Field(ge=0.0, le=1.0)


class SegmentSpec(_Strict):
    """One segment of customers and its hidden traits.

    Rates are per opened/clicked message unless said otherwise; every
    customer's traits are the segment's times log-normal noise
    (``ScenarioSpec.noise``).
    """

    name: str
    share: float = Field(gt=0.0)
    #: observable attributes: attribute -> {value: weight}
    attributes: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: probability of consent per channel that requires it
    consent: dict[str, float] = Field(default_factory=dict)
    #: P(open) of a message per channel (responsiveness)
    open_rate: dict[str, float] = Field(default_factory=dict)
    #: P(click | open) before topic interest and stage fit
    click_rate: float = Field(default=0.2, ge=0.0, le=1.0)
    #: interest multiplier per message topic (default 1)
    interest: dict[str, float] = Field(default_factory=dict)
    #: response multiplier per content type (default 1)
    content: dict[str, float] = Field(default_factory=dict)
    #: P(purchase | click) for a message serving the customer's stage
    conversion: float = Field(default=0.1, ge=0.0, le=1.0)
    #: mean purchase value
    value: float = Field(default=50.0, ge=0.0)
    #: P(site visit) per day, and P(cart add | visit)
    visit_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    cart_rate: float = Field(default=0.2, ge=0.0, le=1.0)
    #: P(organic purchase | visit), no message involved
    organic_purchase: float = Field(default=0.02, ge=0.0, le=1.0)
    #: fatigue: responses are divided by (1 + fatigue * recent contacts)
    fatigue: float = Field(default=0.3, ge=0.0)
    #: P(unsubscribe | open) and P(complaint | open) at rest, before the
    #: over-contact and unsuitability multipliers
    unsubscribe: float = Field(default=0.005, ge=0.0, le=1.0)
    complaint: float = Field(default=0.002, ge=0.0, le=1.0)


class OpportunitySpec(_Strict):
    """When customers get decision opportunities."""

    #: share of customers with a scheduled send opportunity each day (10:00 UTC)
    scheduled_rate: float = Field(default=0.15, ge=0.0, le=1.0)
    #: customers who added to cart yesterday get an opportunity at 10:00
    cart_trigger: bool = True
    #: customers who visit the site before 16:00 get an opportunity at 16:00
    visit_trigger: bool = True


class DelaySpec(_Strict):
    """Response delays (exponential)."""

    #: mean hours from send to open (clicks, unsubscribes, complaints follow)
    open_hours: float = Field(default=6.0, gt=0.0)
    #: mean days from click to purchase (some fall outside the window)
    purchase_days: float = Field(default=1.5, gt=0.0)


class RiskSpec(_Strict):
    """How unsubscribe and complaint risk grows."""

    #: per recent contact: risk *= 1 + over_contact * recent contacts
    over_contact: float = Field(default=0.5, ge=0.0)
    #: risk multiplier when the message does not serve the customer's stage
    unsuitable_content: float = Field(default=2.0, ge=1.0)
    #: risk multiplier per channel (default 1)
    channel: dict[str, float] = Field(default_factory=dict)


class DriftSpec(_Strict):
    """From ``day`` on, segments' traits change (fields as in a segment)."""

    day: int = Field(ge=0)
    segments: dict[str, dict[str, Any]]


class ScenarioSpec(_Strict):
    """A validated scenario file."""

    name: str = "scenario"
    description: str = ""
    catalog: str = "catalog.yaml"
    guardrails: str = "guardrails.yaml"
    goal: str = "goal.yaml"
    rules: str = "rules.yaml"
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)
    #: log-normal sd of customer-level noise on traits
    noise: float = Field(default=0.3, ge=0.0, le=2.0)
    #: probability that an observable attribute is drawn at random, not from the segment
    attribute_noise: float = Field(default=0.2, ge=0.0, le=1.0)
    #: response multiplier when the message does not serve the customer's stage
    stage_mismatch: float = Field(default=0.35, ge=0.0, le=1.0)
    #: days for recent-contact fatigue to fall by 1/e
    fatigue_recovery_days: float = Field(default=4.0, gt=0.0)
    opportunities: OpportunitySpec = OpportunitySpec()
    delays: DelaySpec = DelaySpec()
    risk: RiskSpec = RiskSpec()
    segments: tuple[SegmentSpec, ...] = Field(min_length=1)
    drift: tuple[DriftSpec, ...] = ()

    @model_validator(mode="after")
    def _unique_segments(self) -> ScenarioSpec:
        names = [s.name for s in self.segments]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"segment names must be unique, got `{sorted(dup)[0]}` twice")
        for d in self.drift:
            for seg in d.segments:
                if seg not in names:
                    raise ValueError(
                        f"drift at day {d.day}: unknown segment `{seg}`; expected one of "
                        f"{', '.join(names)}"
                    )
        return self


@dataclass(frozen=True)
class Scenario:
    """A scenario with its catalog, guardrails, goal and rules resolved."""

    spec: ScenarioSpec
    catalog: Catalog
    guardrails: GuardrailsSpec
    goal: Goal
    rules_path: Path
    source: str
    paths: dict[str, Path]

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name


def _check_names(spec: ScenarioSpec, catalog: Catalog, source: str) -> None:
    channels, topics = set(catalog.channel_ids), set(catalog.topics)
    content = {"plain", "rich_media", "interactive"}
    segs = [(s.name, s.model_dump()) for s in spec.segments]
    segs += [(f"{n} (drift day {d.day})", v) for d in spec.drift for n, v in d.segments.items()]
    for name, seg in segs:
        for fld, known in (
            ("open_rate", channels),
            ("consent", channels),
            ("interest", topics),
            ("content", content),
        ):
            for key in seg.get(fld) or {}:
                if key not in known:
                    raise ScenarioError(
                        f"{source}, segment `{name}`, `{fld}`: unknown key `{key}`; expected "
                        f"one of {', '.join(sorted(known))}"
                    )
        for attr, dist in (seg.get("attributes") or {}).items():
            aspec = catalog.attributes.get(attr)
            if aspec is None or aspec.type != "categorical":
                raise ScenarioError(
                    f"{source}, segment `{name}`, `attributes`: unknown categorical attribute "
                    f"`{attr}`; expected one of {', '.join(sorted(catalog.attributes))}"
                )
            for v in dist:
                if v not in aspec.values:
                    raise ScenarioError(
                        f"{source}, segment `{name}`, attribute `{attr}`: unknown value `{v}`; "
                        f"expected one of {', '.join(aspec.values)}"
                    )
        for key, p in [*(seg.get("open_rate") or {}).items(), *(seg.get("consent") or {}).items()]:
            if not 0.0 <= float(p) <= 1.0:
                raise ScenarioError(
                    f"{source}, segment `{name}`: rate for `{key}` must be in [0, 1], got {p}"
                )
    for ch in spec.risk.channel:
        if ch not in channels:
            raise ScenarioError(
                f"{source}, `risk.channel`: unknown channel `{ch}`; expected one of "
                f"{', '.join(sorted(channels))}"
            )
    fields = set(SegmentSpec.model_fields) - {"name", "share"}
    for d in spec.drift:
        for name, over in d.segments.items():
            for key in over:
                if key not in fields:
                    raise ScenarioError(
                        f"{source}, drift day {d.day}, segment `{name}`: `{key}` is not a "
                        f"segment trait; expected one of {', '.join(sorted(fields))}"
                    )


def parse_scenario(data: Any, base_dir: str | Path = ".", source: str = "<scenario>") -> Scenario:
    """Validate a scenario document and load the files it names.

    Parameters
    ----------
    data
        The parsed document.
    base_dir
        Directory that relative paths are resolved against.
    source
        Name used in error messages.

    Raises
    ------
    ScenarioError
        Naming the source and field (or a ``ConfigError`` from a named file).

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> sc = parse_scenario({"segments": [{"name": "all", "share": 1.0}]}, EXAMPLE_DIR)
    >>> sc.spec.segments[0].click_rate
    0.2
    """
    spec = validate(ScenarioSpec, data, source, ScenarioError, {"segments": "segment"})
    base = Path(base_dir)
    paths = {k: base / getattr(spec, k) for k in ("catalog", "guardrails", "goal", "rules")}
    catalog = load_catalog(paths["catalog"])
    _check_names(spec, catalog, source)
    guardrails = load_guardrails(paths["guardrails"], catalog)
    goal = load_goal(paths["goal"], catalog)
    if not paths["rules"].is_file():
        raise ScenarioError(f"{source}, `rules`: file not found: {paths['rules']}")
    return Scenario(spec, catalog, guardrails, goal, paths["rules"], source, paths)


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file (paths inside are relative to it).

    Raises
    ------
    ScenarioError
        If the file is missing or invalid.
    """
    p = Path(path)
    return parse_scenario(load_document(p, ScenarioError), p.parent, str(p))
