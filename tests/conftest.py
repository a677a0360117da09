"""Shared fixtures: the shipped example catalog, guardrails and rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nba.catalog import Catalog, load_catalog
from nba.guardrails import Guardrails, GuardrailsSpec, load_guardrails
from nba.settings import EXAMPLE_DIR


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(EXAMPLE_DIR / "catalog.yaml")


@pytest.fixture(scope="session")
def guardrails_spec(catalog: Catalog) -> GuardrailsSpec:
    return load_guardrails(EXAMPLE_DIR / "guardrails.yaml", catalog)


@pytest.fixture(scope="session")
def guardrails(guardrails_spec: GuardrailsSpec, catalog: Catalog) -> Guardrails:
    return Guardrails(guardrails_spec, catalog)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
