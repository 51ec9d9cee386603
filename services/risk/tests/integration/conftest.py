"""Fixtures: a fresh real sim publishing its clock on a clean JetStream, a migrated empty database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sarathi.common.db import migrate
from sarathi.sim.testing.harness import SimPool
from sarathi.sim.testing.server import ServedSim


def start_sim(pool: SimPool, nats_url: str, **overrides: Any) -> ServedSim:
    values: dict[str, Any] = {"sim_speed": Decimal(10), "sim_publish_clock": True, "nats_url": nats_url}
    values.update(overrides)
    return pool.start(real=True, **values)


@pytest.fixture
def sims() -> Iterator[SimPool]:
    pool = SimPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
async def database(fresh_database_url: str) -> str:
    await asyncio.to_thread(migrate.upgrade, fresh_database_url)
    return fresh_database_url
