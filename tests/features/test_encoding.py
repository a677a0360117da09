"""Encoding: one layout, the same numbers for one customer and for many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from nba.catalog import STAGES, Catalog
from nba.events import EVENT_CODES, EventType
from nba.features.encoding import Encoder
from nba.features.state import CustomerStates

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _population(catalog: Catalog, n: int, seed: int) -> CustomerStates:
    rng = np.random.default_rng(seed)
    n_ch = len(catalog.channels)
    attrs = {
        a: rng.choice(np.array([*spec.values, "unknown"], dtype=object), n)
        for a, spec in catalog.attributes.items()
        if spec.type == "categorical"
    }
    states = CustomerStates(
        catalog,
        [f"c{i}" for i in range(n)],
        consent=rng.random((n, n_ch)) < 0.7,
        attributes=attrs,
        timezones=rng.choice(["UTC", "Asia/Tokyo", "America/Denver"], n),
    )
    k = 8 * n
    codes = rng.choice(
        [
            EVENT_CODES[t]
            for t in (
                EventType.SENT,
                EventType.OPENED,
                EventType.CLICKED,
                EventType.PAGE_VIEW,
                EventType.PURCHASE,
                EventType.CART_ADD,
            )
        ],
        k,
    )
    ts = (NOW - timedelta(days=120)).timestamp() + rng.random(k) * 120 * 86400 - 3600
    states.apply_arrays(
        rng.integers(0, n, k),
        ts,
        codes,
        rng.integers(0, n_ch, k),
        rng.integers(0, len(catalog.messages), k),
        rng.random(k) * 50,
    )
    return states


def test_one_customer_is_a_batch_of_one(catalog: Catalog) -> None:
    sig = _population(catalog, 400, 0).signals(NOW)
    enc = Encoder(catalog)
    X = enc.encode(sig).X
    assert X.shape == (400, len(enc.feature_names)) and X.flags.c_contiguous
    for i in range(0, 400, 7):
        np.testing.assert_array_equal(enc.encode(sig.take(np.array([i]))).X, X[i : i + 1])
    assert enc.encode(sig.take(np.array([], dtype=int))).X.shape == (0, X.shape[1])


def test_columns_follow_the_feature_names() -> None:
    cat = Catalog.from_dict(
        {
            "channels": [
                {"id": "email", "content_types": ["plain"]},
                {"id": "web", "content_types": ["plain"], "requires_consent": False},
            ],
            "messages": [{"id": "hi", "stages": ["awareness"]}],
            "attributes": {
                "tier": {"type": "categorical", "values": ["gold", "silver"]},
                "age": {"type": "numeric", "default": 40.0},
                "device": {"type": "categorical", "values": ["mobile", "desktop"]},
                "score": {"type": "numeric", "default": 0.5},
            },
        }
    )
    states = CustomerStates(
        cat,
        ["a", "b"],
        consent=np.array([[True, True], [False, True]]),
        attributes={
            "tier": np.array(["silver", "bronze"], dtype=object),
            "age": np.array([31.0, 52.0]),
        },
    )
    del states.attributes["device"], states.attributes["score"]  # signals without them
    sig = states.signals(NOW)
    enc = Encoder(cat)
    X = enc.encode(sig).X
    col = {name: X[:, j].tolist() for j, name in enumerate(enc.feature_names)}
    assert col["bias"] == [1.0, 1.0]
    assert col["email_consent"] == [1.0, 0.0] and col["web_consent"] == [1.0, 1.0]
    assert col["tier=gold"] == [0.0, 0.0] and col["tier=silver"] == [1.0, 0.0]
    assert col["age"] == [31.0, 52.0] and col["score"] == [0.5, 0.5]
    assert col["device=mobile"] == col["device=desktop"] == [0.0, 0.0]
    assert col["stage=awareness"] == [1.0, 1.0]
    assert sum(col[f"stage={s}"][0] for s in STAGES) == 1.0
    assert col["log_days_since_contact"] == np.log1p(sig["days_since_contact"]).tolist()
    assert col["hour_cos"] == np.cos(sig["local_hour"] * (2 * np.pi / 24)).tolist()
