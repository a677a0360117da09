"""The fast decision JSON (nba.service.render) says what ``Decision.to_dict()`` says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nba.config import load_document
from nba.features.state import CustomerStates
from nba.pipeline import Decider
from nba.policies.spec import make_policy
from nba.service import render
from nba.service.runtime import CONFIG_KINDS, compile_runtime
from nba.settings import Settings

_S = Settings()
RT = compile_runtime(
    {k: load_document(getattr(_S, k)) for k in CONFIG_KINDS}, dict.fromkeys(CONFIG_KINDS, 1), 3
)
START = datetime(2026, 3, 2, tzinfo=UTC)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12, unique=True),
    seed=st.integers(0, 2**16),
    hours=st.integers(0, 24 * 30),
    explain=st.booleans(),
    row_by_row=st.booleans(),
)
def test_rendered_decisions_equal_to_dict(
    ids: list[str], seed: int, hours: int, explain: bool, row_by_row: bool
) -> None:
    states = CustomerStates(RT.catalog, ids)
    decider = Decider(
        RT.catalog, RT.guardrails, make_policy("random"), encoder=RT.encoder, random_state=seed
    )
    batch = decider.decide(states, START + timedelta(hours=hours))
    few = len(batch) if row_by_row else 0  # both renderings: row by row and whole-batch
    old, render._FEW = render._FEW, few
    try:
        rendered = render.decisions_json(RT, batch, explain=explain)
    finally:
        render._FEW = old
    for text, decision in zip(rendered, batch.to_decisions(RT.catalog), strict=True):
        expected = decision.to_dict()
        if not explain:
            del expected["suppressed"], expected["distribution"]
        assert json.loads(text) == expected
