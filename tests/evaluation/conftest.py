"""Fixtures: synthetic logs with known truth, and real nba logs from the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from nba.catalog import Catalog
from nba.evaluation import LoggedDecisions, synthetic_logs
from nba.features.state import CustomerStates
from nba.guardrails import Guardrails
from nba.pipeline import Decider
from nba.policies.random import RandomPolicy

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def syn_logs() -> LoggedDecisions:
    return synthetic_logs(3000, seed=7)


def make_nba_logs(
    catalog: Catalog, guardrails: Guardrails, n_customers: int = 300, days: int = 3, seed: int = 0
) -> LoggedDecisions:
    """Decisions of the uniform random policy through the real pipeline, over a few days."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in range(n_customers)]
    attrs = {
        name: rng.choice(np.array(spec.values, dtype=object), n_customers)
        for name, spec in catalog.attributes.items()
    }
    states = CustomerStates(
        catalog,
        ids,
        consent=rng.random((n_customers, len(catalog.channels))) < 0.7,
        attributes=attrs,
    )
    decider = Decider(catalog, guardrails, RandomPolicy(), random_state=seed)
    space = catalog.actions
    # a reward that depends on the channel and on the customer's device
    base = 0.05 + 0.03 * np.maximum(space.channel_index, 0)
    base[0] = 0.02
    parts = []
    for day in range(days):
        now = START + timedelta(days=day)
        batch = decider.decide(states, now)
        mobile = (batch.signals["device"] == "mobile").astype(float)
        mu = np.clip(base[None, :] + 0.1 * mobile[:, None] * (space.channel_index == 2), 0, 1)
        n = len(batch)
        reward = (rng.random(n) < mu[np.arange(n), batch.action]).astype(float)
        parts.append(LoggedDecisions.from_decisions(batch, reward, expected_reward=mu))
        sent = batch.contacts()
        states.record_sends(
            sent,
            space.channel_index[batch.action[sent]],
            space.message_index[batch.action[sent]],
            now,
        )
    return LoggedDecisions.concat(parts)


@pytest.fixture(scope="session")
def nba_logs(catalog: Catalog, guardrails: Guardrails) -> LoggedDecisions:
    return make_nba_logs(catalog, guardrails)
