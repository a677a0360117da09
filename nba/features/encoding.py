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
    def feature_names(self) -> tuple[str, ...]:
        """Column names of the encoded context."""
        names = ["bias"]
        for c in self.catalog.channel_ids:
            names += [
                f"log_{c}_sends_30d",
                f"log_{c}_opens_30d",
                f"log_{c}_clicks_30d",
                f"log_{c}_days_since_contact",
                f"{c}_consent",
            ]
        names += [f"log_{g}" for g in _GLOBAL_LOG]
        names += [f"stage={s}" for s in STAGES]
        names += ["hour_sin", "hour_cos"]
        for a, spec in self.catalog.attributes.items():
            if spec.type == "numeric":
                names.append(a)
            else:
                names += [f"{a}={v}" for v in spec.values]
        return tuple(names)

    def encode(self, signals: Signals) -> Context:
        """Encode n customers' signals.

        Returns
        -------
        Context
            ``X`` has shape (n_customers, len(feature_names)).
        """
        n = len(signals)
        cols: list[np.ndarray] = [np.ones(n)]
        v = signals.values
        for c in self.catalog.channel_ids:
            cols += [
                np.log1p(v[f"{c}_sends_30d"]),
                np.log1p(v[f"{c}_opens_30d"]),
                np.log1p(v[f"{c}_clicks_30d"]),
                np.log1p(v[f"{c}_days_since_contact"]),
                v[f"{c}_consent"],
            ]
        cols += [np.log1p(np.maximum(v[g], 0.0)) for g in _GLOBAL_LOG]
        stage = v["stage"].astype(np.int64)
        cols += [(stage == i).astype(np.float64) for i in range(len(STAGES))]
        angle = v["local_hour"] * (2 * np.pi / 24.0)
        cols += [np.sin(angle), np.cos(angle)]
        for a, spec in self.catalog.attributes.items():
            raw = signals.attributes.get(a)
            if spec.type == "numeric":
                cols.append(np.full(n, spec.default) if raw is None else raw.astype(np.float64))
            else:
                for value in spec.values:
                    cols.append(np.zeros(n) if raw is None else (raw == value).astype(np.float64))
        X = np.column_stack(cols) if n else np.zeros((0, len(self.feature_names)))
        return Context(
            X=X, actions=self.catalog.actions, feature_names=self.feature_names, signals=signals
        )
