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
from operator import itemgetter

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.features.context import Context
from nba.features.signals import Signals

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

    The column layout is fixed by the catalog, so it is worked out once; an
    encoding is then a few numpy operations whatever the number of customers
    (one customer is a batch of one).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from nba.catalog import Catalog
    >>> from nba.features.state import CustomerStates
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> enc = Encoder(cat)
    >>> ctx = enc.encode(CustomerStates(cat, ["a", "b"]).signals(datetime(2026, 1, 1, tzinfo=UTC)))
    >>> ctx.X.shape == (2, len(enc.feature_names))
    True
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        n_ch = len(catalog.channel_ids)
        logs = 1 + len(self._log_inputs)
        self._logs = slice(1, logs)
        self._get_logged = itemgetter(*self._log_inputs)  # >= 9 names: gives a tuple
        self._consent = slice(logs, logs + n_ch)
        self._stages = slice(self._consent.stop, self._consent.stop + len(STAGES))
        self._sin, self._cos = self._stages.stop, self._stages.stop + 1
        # attributes, in catalog order: numeric ones one column each;
        # categorical ones one-hot, compared at once against every
        # (attribute, value) column
        col = self._cos + 1
        self._numeric: list[tuple[str, float, int]] = []  # (attribute, default, column)
        categorical: list[str] = []
        onehot: list[int] = []  # the one-hot columns, and per column:
        rows: list[int] = []  # its attribute's row among the stacked categorical values
        values: list[str] = []  # the value it stands for
        for a, spec in catalog.attributes.items():
            if spec.type == "numeric":
                self._numeric.append((a, spec.default, col))
                col += 1
            else:
                onehot += range(col, col + len(spec.values))
                rows += [len(categorical)] * len(spec.values)
                values += spec.values
                categorical.append(a)
                col += len(spec.values)
        self._categorical = tuple(categorical)
        # the usual case, one block of columns, is written faster as a slice
        self._onehot: slice | np.ndarray = (
            slice(onehot[0], onehot[-1] + 1)
            if onehot and onehot[-1] - onehot[0] == len(onehot) - 1
            else np.array(onehot, dtype=np.intp)
        )
        self._onehot_rows = np.array(rows, dtype=np.intp)
        self._onehot_values = np.array(values, dtype=object).reshape(-1, 1)
        self._n_features = col

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

    def encode(self, signals: Signals) -> Context:
        """Encode n customers' signals.

        Returns
        -------
        Context
            ``X`` has shape (n_customers, len(feature_names)).
        """
        n = len(signals)
        v = signals.values
        # Built transposed, (n_features, n): each block is a run of contiguous
        # rows that numpy writes in one call (ufuncs straight into them with
        # `out`), then turned into the C-ordered (n, n_features) policies use.
        XT = np.empty((self._n_features, n))
        XT[0] = 1.0
        logs = XT[self._logs]
        np.concatenate(self._get_logged(v), out=logs.reshape(-1))
        np.maximum(logs, 0.0, out=logs)
        np.log1p(logs, out=logs)
        XT[self._consent] = signals.consent.T
        np.equal(v["stage"], _STAGE_CODES, out=XT[self._stages])
        angle = v["local_hour"] * (2 * np.pi / 24.0)
        np.sin(angle, out=XT[self._sin])
        np.cos(angle, out=XT[self._cos])
        attrs = signals.attributes
        for a, default, col in self._numeric:
            XT[col] = attrs[a] if a in attrs else default
        if self._categorical:
            # an attribute not given matches no value: its columns stay 0
            raw = [
                attrs[a] if a in attrs else np.full(n, None, dtype=object)
                for a in self._categorical
            ]
            stacked = np.concatenate(raw).reshape(len(raw), n)[self._onehot_rows]
            if isinstance(self._onehot, slice):
                np.equal(stacked, self._onehot_values, out=XT[self._onehot])
            else:
                XT[self._onehot] = stacked == self._onehot_values
        X = np.ascontiguousarray(XT.T)
        return Context(
            X=X, actions=self.catalog.actions, feature_names=self.feature_names, signals=signals
        )


#: Stage index of each one-hot column (the ``stage`` signal holds the index).
_STAGE_CODES = np.arange(len(STAGES), dtype=np.float64).reshape(-1, 1)
