"""A synthetic population: segments with hidden traits, observable attributes with noise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nba.catalog import Catalog
from nba.simulator.scenario import ScenarioSpec, SegmentSpec

__all__ = ["Traits", "Population", "CONTENT_TYPES"]

CONTENT_TYPES: tuple[str, ...] = ("plain", "rich_media", "interactive")


@dataclass(frozen=True)
class Traits:
    """Hidden traits of n customers (arrays, row = customer).

    Attributes
    ----------
    open_rate
        Shape (n, n_channels): P(open) at rest.
    click_rate, conversion, value, visit_rate, cart_rate, organic_purchase,
    fatigue, unsubscribe, complaint
        Shape (n,) each (see :class:`~nba.simulator.scenario.SegmentSpec`).
    interest
        Shape (n, n_topics): multiplier per topic.
    content
        Shape (n, 3): multiplier per content type (:data:`CONTENT_TYPES`).
    """

    open_rate: np.ndarray
    click_rate: np.ndarray
    interest: np.ndarray
    content: np.ndarray
    conversion: np.ndarray
    value: np.ndarray
    visit_rate: np.ndarray
    cart_rate: np.ndarray
    organic_purchase: np.ndarray
    fatigue: np.ndarray
    unsubscribe: np.ndarray
    complaint: np.ndarray


_SCALARS = (
    "click_rate",
    "conversion",
    "value",
    "visit_rate",
    "cart_rate",
    "organic_purchase",
    "fatigue",
    "unsubscribe",
    "complaint",
)
_PROBS = {"click_rate", "conversion", "visit_rate", "cart_rate", "organic_purchase"}


class Population:
    """Customers drawn from a scenario's segments.

    The hidden traits are the segment's values times customer-level
    log-normal noise, fixed at creation; :meth:`traits` recomputes them from
    (possibly drifted) segment values with the same noise, so a drift moves
    every customer of a segment the same way.

    Parameters
    ----------
    spec
        The scenario.
    catalog
        Channels, topics and attributes.
    n
        Number of customers.
    rng
        Randomness for segments, noise, attributes and consent.

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.scenario import parse_scenario
    >>> sc = parse_scenario({"segments": [{"name": "a", "share": 1.0}]}, EXAMPLE_DIR)
    >>> pop = Population(sc.spec, sc.catalog, 10, np.random.default_rng(0))
    >>> pop.traits().open_rate.shape
    (10, 5)
    """

    def __init__(
        self, spec: ScenarioSpec, catalog: Catalog, n: int, rng: np.random.Generator
    ) -> None:
        self.spec = spec
        self.catalog = catalog
        self.n = n
        self.segment_names = tuple(s.name for s in spec.segments)
        share = np.array([s.share for s in spec.segments], dtype=float)
        self.segment = rng.choice(len(share), size=n, p=share / share.sum())
        self.customer_ids = np.array([f"c{i:06d}" for i in range(n)], dtype=object)
        n_ch, n_top = len(catalog.channel_ids), len(catalog.topics)
        sd = spec.noise
        # one noise draw per trait and customer, reused by every drift
        self._noise: dict[str, np.ndarray] = {
            "open_rate": rng.lognormal(-sd * sd / 2, sd, (n, n_ch)),
            "interest": rng.lognormal(-sd * sd / 2, sd, (n, n_top)),
            "content": rng.lognormal(-sd * sd / 2, sd, (n, len(CONTENT_TYPES))),
        }
        for name in _SCALARS:
            self._noise[name] = rng.lognormal(-sd * sd / 2, sd, n)
        self.attributes = self._draw_attributes(rng)
        self.consent = self._draw_consent(rng)

    def _draw_attributes(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for attr, aspec in self.catalog.attributes.items():
            if aspec.type != "categorical":
                out[attr] = np.full(self.n, aspec.default)
                continue
            values = np.array(aspec.values, dtype=object)
            col = values[rng.integers(0, len(values), self.n)]  # the noise draw
            keep = rng.random(self.n) >= self.spec.attribute_noise
            for k, seg in enumerate(self.spec.segments):
                dist = seg.attributes.get(attr)
                rows = np.flatnonzero((self.segment == k) & keep)
                if not dist or rows.size == 0:
                    continue
                p = np.array([dist.get(v, 0.0) for v in aspec.values], dtype=float)
                col[rows] = values[rng.choice(len(values), size=rows.size, p=p / p.sum())]
            out[attr] = col
        return out

    def _draw_consent(self, rng: np.random.Generator) -> np.ndarray:
        chans = self.catalog.channels
        p = np.array(
            [
                [seg.consent.get(c.id, 0.6) if c.requires_consent else 1.0 for c in chans]
                for seg in self.spec.segments
            ]
        )
        return rng.random((self.n, len(chans))) < p[self.segment]

    def traits(self, segments: tuple[SegmentSpec, ...] | None = None) -> Traits:
        """The customers' hidden traits under the given (default: the scenario's) segments."""
        segs = segments if segments is not None else self.spec.segments
        ch, topics = self.catalog.channel_ids, self.catalog.topics

        def table(rows: list[list[float]]) -> np.ndarray:
            return np.asarray(rows, dtype=float)[self.segment]

        open_rate = table([[s.open_rate.get(c, 0.1) for c in ch] for s in segs])
        interest = table([[s.interest.get(t, 1.0) for t in topics] for s in segs])
        content = table([[s.content.get(t, 1.0) for t in CONTENT_TYPES] for s in segs])
        scal: dict[str, np.ndarray] = {}
        for name in _SCALARS:
            v = table([[float(getattr(s, name))] for s in segs])[:, 0] * self._noise[name]
            scal[name] = np.clip(v, 0.0, 0.95) if name in _PROBS else v
        return Traits(
            open_rate=np.clip(open_rate * self._noise["open_rate"], 0.0, 0.95),
            interest=interest * self._noise["interest"],
            content=content * self._noise["content"],
            **scal,
        )


def drifted_segments(
    segments: tuple[SegmentSpec, ...], overrides: Mapping[str, Mapping[str, Any]]
) -> tuple[SegmentSpec, ...]:
    """Segments with some traits replaced (mappings are merged key by key).

    Examples
    --------
    >>> s = (SegmentSpec(name="a", share=1.0, open_rate={"email": 0.2, "sms": 0.1}),)
    >>> drifted_segments(s, {"a": {"open_rate": {"email": 0.5}}})[0].open_rate
    {'email': 0.5, 'sms': 0.1}
    """
    out = []
    for seg in segments:
        over = overrides.get(seg.name)
        if not over:
            out.append(seg)
            continue
        data = seg.model_dump()
        for key, value in over.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        out.append(SegmentSpec.model_validate(data))
    return tuple(out)
