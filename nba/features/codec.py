"""Signals as columns, and back: the one home of that layout.

- :class:`SignalCodec`: a decision's raw signals as one float32 row (the
  service's stored ``signals`` column, which rule policies, what-ifs and
  offline training read);
- :class:`SignalColumns`: signals as named table columns (a log file's
  ``s.``/``a.``/``m.`` columns, an MLflow model's input rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np

from nba.catalog import Catalog
from nba.features.signals import Signals, signal_definitions

__all__ = ["SignalCodec", "SignalColumns"]


class SignalCodec:
    """A decision's raw signals as one float32 row, and back (the decision log's ``signals``).

    The row holds every numeric signal (in :func:`signal_definitions` order),
    the days since each message was last sent, and each declared attribute:
    numeric as is, categorical as the index of its value in the catalog's
    list (-1 when unknown). Consent is a signal (``<channel>_consent``).

    Examples
    --------
    >>> from datetime import UTC
    >>> from nba.catalog import Catalog
    >>> from nba.features.state import CustomerStates
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}],
    ...                          "attributes": {"tier": {"type": "categorical",
    ...                                                  "values": ["a", "b"]}}})
    >>> st = CustomerStates(cat, ["c"], attributes={"tier": np.array(["b"], dtype=object)})
    >>> sig = st.signals(datetime(2026, 1, 1, tzinfo=UTC))
    >>> codec = SignalCodec(cat)
    >>> back = codec.decode(codec.encode(sig), sig.customer_ids, sig.now)
    >>> back.attributes["tier"].tolist(), back.consent.tolist()  # email needs opt-in
    (['b'], [[False]])
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.names = tuple(d.name for d in signal_definitions(catalog.channel_ids))
        self._get = itemgetter(*self.names)  # dozens of names: gives a tuple
        self.attributes = dict(catalog.attributes)
        self._codes = {
            name: {v: float(c) for c, v in enumerate(spec.values)}
            for name, spec in self.attributes.items()
            if spec.type != "numeric"
        }

    def encode(self, signals: Signals) -> np.ndarray:
        """Shape (n, width) float32."""
        n, k, m = len(signals), len(self.names), len(self.catalog.message_ids)
        out = np.empty((n, k + m + len(self.attributes)), dtype=np.float32)
        # the ~90 signals gathered by one concatenate, written by one (casting) copy
        out[:, :k] = np.concatenate(self._get(signals.values)).reshape(k, n).T
        out[:, k : k + m] = signals.days_since_message
        for j, (name, spec) in enumerate(self.attributes.items()):
            raw = signals.attributes.get(name)
            if spec.type == "numeric":
                out[:, k + m + j] = spec.default if raw is None else raw.astype(np.float64)
            elif raw is None:
                out[:, k + m + j] = -1.0
            else:
                code = self._codes[name]
                out[:, k + m + j] = [code.get(v, -1.0) for v in raw.tolist()]
        return out

    def decode(self, rows: np.ndarray, customer_ids: np.ndarray, now: datetime) -> Signals:
        """:class:`Signals` from rows :meth:`encode` made."""
        rows = np.asarray(rows, dtype=np.float64)
        k, m = len(self.names), len(self.catalog.message_ids)
        values = {name: rows[:, i] for i, name in enumerate(self.names)}
        attributes: dict[str, np.ndarray] = {}
        for j, (name, spec) in enumerate(self.attributes.items()):
            col = rows[:, k + m + j]
            if spec.type == "numeric":
                attributes[name] = col
            else:
                known = np.asarray([*spec.values, ""], dtype=object)
                attributes[name] = known[np.where(col >= 0, col, len(spec.values)).astype(int)]
        channels = self.catalog.channel_ids
        return Signals(
            customer_ids=np.asarray(customer_ids, dtype=object),
            now=now,
            channels=channels,
            message_ids=self.catalog.message_ids,
            values=values,
            consent=np.column_stack([values[f"{c}_consent"] > 0.5 for c in channels]),
            days_since_message=rows[:, k : k + m],
            attributes=attributes,
        )


@dataclass(frozen=True)
class SignalColumns:
    """Signals as named table columns, and back.

    Each numeric signal is a column ``<values><name>``, each attribute
    ``<attributes><name>``, the days since each message was last sent
    ``<days_since><message_id>`` (a missing or empty value means never).

    Examples
    --------
    >>> from datetime import UTC
    >>> from nba.features.state import CustomerStates
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> sig = CustomerStates(cat, ["c"]).signals(datetime(2026, 1, 1, tzinfo=UTC))
    >>> cols = SignalColumns().encode(sig)
    >>> cols["m.hi"].tolist(), "s.email_consent" in cols
    ([inf], True)
    >>> back = SignalColumns().decode(cols, sig.customer_ids, sig.now, sig.channels,
    ...                               sig.message_ids)
    >>> back.consent.tolist(), sorted(back.values) == sorted(sig.values)
    ([[False]], True)
    """

    values: str = "s."
    attributes: str = "a."
    days_since: str = "m."

    def encode(self, signals: Signals) -> dict[str, np.ndarray]:
        """The columns: signals, then attributes, then days since each message."""
        cols = {self.values + k: np.asarray(v, dtype=np.float64) for k, v in signals.values.items()}
        cols |= {self.attributes + k: np.asarray(v) for k, v in signals.attributes.items()}
        for j, m in enumerate(signals.message_ids):
            cols[self.days_since + m] = signals.days_since_message[:, j].astype(np.float64)
        return cols

    def decode(
        self,
        cols: Mapping[str, Any],
        customer_ids: np.ndarray,
        now: datetime,
        channels: tuple[str, ...],
        message_ids: tuple[str, ...],
        *,
        names: Sequence[str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Signals:
        """:class:`Signals` from columns (a mapping or a pandas DataFrame).

        Parameters
        ----------
        cols
            Column name -> shape (n,) values.
        customer_ids, now
            Whose signals, and when.
        channels, message_ids
            The column order of consent and of the days since each message.
        names
            The signals to read (default: every column with the prefix).
        attributes
            The attributes to read, by name -> ``"numeric"`` or other type,
            when present (default: every column with the prefix, as is).
        """
        n = len(customer_ids)
        keys = list(cols.keys())
        if names is None:
            names = [k[len(self.values) :] for k in keys if k.startswith(self.values)]
        values = {k: np.asarray(cols[self.values + k], dtype=np.float64) for k in names}
        if attributes is None:
            attrs = {
                k[len(self.attributes) :]: np.asarray(cols[k])
                for k in keys
                if k.startswith(self.attributes)
            }
        else:
            attrs = {
                k: np.asarray(cols[self.attributes + k]).astype(
                    float if kind == "numeric" else object
                )
                for k, kind in attributes.items()
                if self.attributes + k in cols
            }
        dsm = np.full((n, len(message_ids)), np.inf)
        for j, m in enumerate(message_ids):
            if self.days_since + m in cols:
                dsm[:, j] = np.asarray(cols[self.days_since + m], dtype=np.float64)
        never = np.zeros(n)
        return Signals(
            customer_ids=np.asarray(customer_ids, dtype=object),
            now=now,
            channels=channels,
            message_ids=message_ids,
            values=values,
            consent=np.column_stack(
                [values.get(f"{c}_consent", never) > 0.5 for c in channels]
            ).reshape(n, len(channels)),
            # "never sent" is inf in Signals; JSON lines and CSV store it as null
            days_since_message=np.where(np.isnan(dsm), np.inf, dsm),
            attributes=attrs,
        )
