"""Shared fixtures: the shipped example catalog, guardrails and rules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

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


@pytest.fixture
def writer_elsewhere() -> Callable[[Any], AbstractContextManager[threading.Event]]:
    """``with writer_elsewhere(store) as release:`` another thread holds the store's
    write transaction until ``release`` is set or the block ends."""

    @contextmanager
    def hold(store: Any) -> Iterator[threading.Event]:
        held, release = threading.Event(), threading.Event()

        def writer() -> None:
            with store.write():
                held.set()
                release.wait(10)

        th = threading.Thread(target=writer)
        th.start()
        held.wait(10)
        try:
            yield release
        finally:
            release.set()
            th.join()

    return hold
