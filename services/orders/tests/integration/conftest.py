"""Fixtures: a fresh real sim, clean JetStream and a migrated, empty database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sarathi.common.db.engine import create_async_engine
from sarathi.orders.adapters.store import Store
from sarathi.sim.testing.harness import SimPool, sim_pool

from .harness import Sim, migrated, start_sim


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


@pytest.fixture
async def sim(sims: SimPool) -> AsyncIterator[Sim]:
    served = start_sim(sims)
    async with httpx.AsyncClient(base_url=served.http_url, timeout=10.0) as http:
        yield Sim(served, http)


@pytest.fixture
async def database(fresh_database_url: str) -> str:
    await migrated(fresh_database_url)
    return fresh_database_url


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    engine = create_async_engine(database)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()
