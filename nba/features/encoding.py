"""Encoding signals into the numeric context policies learn from.

A compact, fixed encoding (≈ 45 columns for five channels) keeps linear
policies fast: a bias; per channel log-counts of sends, opens and clicks in
30 days, log days since the last contact and consent; log page views, cart
adds, contacts, recency, frequency, monetary and tenure; the journey stage
one-hot; the local hour on the unit circle; and the catalog's declared
attributes (numeric as is, categorical one-hot).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.features.signals import Signals
from nba.policies.base import Context

__all__ = ["Encoder"]

_GLOBAL_LOG = (
    "page_views_7d",
    "page_views_30d",
    "cart_adds_7d",
    "contacts_7d",
    "days_since_contact",
    "days_since_purchase",
    "purchases_total",
    "revenue_90d",
    "tenure_days",
)


class Encoder:
    """Turns :class:`Signals` into a :class:`Context` for a catalog.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from nba.catalog import Catalog
    >>> from nba.features.signals import CustomerStates
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> enc = Encoder(cat)
    >>> ctx = enc.encode(CustomerStates(cat, ["a", "b"]).signals(datetime(2026, 1, 1, tzinfo=UTC)))
    >>> ctx.X.shape == (2, len(enc.feature_names))
    True
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @cached_property
    def _log_inputs(self) -> tuple[str, ...]:
        """Signals encoded as log(1 + x), in column order."""
        names: list[str] = []
        for c in self.catalog.channel_ids:
            names += [
                f"{c}_sends_30d",
                f"{c}_opens_30d",
                f"{c}_clicks_30d",
                f"{c}_days_since_contact",
            ]
        return (*names, *_GLOBAL_LOG)

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        """Column names of the encoded context."""
        names = ["bias", *(f"log_{s}" for s in self._log_inputs)]
        names += [f"{c}_consent" for c in self.catalog.channel_ids]
        names += [f"stage={s}" for s in STAGES]
        names += ["hour_sin", "hour_cos"]
        for a, spec in self.catalog.attributes.items():
            if spec.type == "numeric":
                names.append(a)
            else:
                names += [f"{a}={v}" for v in spec.values]
        return tuple(names)

    @cached_property
    def _categories(self) -> dict[str, np.ndarray]:
        return {
            a: np.array(spec.values, dtype=object)
            for a, spec in self.catalog.attributes.items()
            if spec.type == "categorical"
        }

    def encode(self, signals: Signals) -> Context:
        """Encode n customers' signals.

        Returns
        -------
        Context
            ``X`` has shape (n_customers, len(feature_names)).
        """
        n = len(signals)
        v = signals.values
        logs = np.log1p(np.maximum(np.stack([v[k] for k in self._log_inputs], axis=1), 0.0))
        angle = v["local_hour"] * (2 * np.pi / 24.0)
        blocks = [
            np.ones((n, 1)),
            logs,
            signals.consent.astype(np.float64),
            _STAGE_EYE[v["stage"].astype(np.int64)],
            np.sin(angle)[:, None],
            np.cos(angle)[:, None],
        ]
        for a, spec in self.catalog.attributes.items():
            raw = signals.attributes.get(a)
            if spec.type == "numeric":
                col = np.full(n, spec.default) if raw is None else raw.astype(np.float64)
                blocks.append(col[:, None])
            else:
                cats = self._categories[a]
                blocks.append(
                    np.zeros((n, len(cats)))
                    if raw is None
                    else (raw[:, None] == cats[None, :]).astype(np.float64)
                )
        X = np.concatenate(blocks, axis=1)
        return Context(
            X=X, actions=self.catalog.actions, feature_names=self.feature_names, signals=signals
        )


_STAGE_EYE = np.eye(len(STAGES))
