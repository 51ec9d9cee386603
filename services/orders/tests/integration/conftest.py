"""Fixtures: a fresh real sim, clean JetStream and a migrated, empty database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

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
