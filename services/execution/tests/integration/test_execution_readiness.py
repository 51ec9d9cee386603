"""`/readyz` of execution: not ready until the instrument table lists today's expiries for every
configured underlying; the instrument sync at start fills it and execution turns ready."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from sarathi.common.clock import IST
from sarathi.common.db import migrate
from sarathi.execution.app import build_app
from sarathi.execution.settings import ExecutionSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool
from sarathi.sim.testing.server import ServedSim

from .waits import eventually

START = datetime(2026, 9, 15, 9, 0, tzinfo=IST)


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True, sim_start=START, sim_publish_clock=True, nats_url=jetstream_clean)
    finally:
        pool.close()


def settings_for(
    sim: ServedSim, nats_url: str, database_url: str, *, sync_on_start: bool
) -> ExecutionSettings:
    return ExecutionSettings(
        nats_url=nats_url, database_url=database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN, instrument_sync_on_start=sync_on_start,
        instrument_master_url=f"{sim.http_url}/api-data/api-scrip-master-detailed.csv",
        instrument_min_option_rows=10,
    )  # fmt: skip


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://execution") as client:
            yield client


async def test_execution_without_todays_expiries_in_the_instrument_table_is_not_ready(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str
) -> None:
    migrate.upgrade(fresh_database_url)
    settings = settings_for(sim, jetstream_clean, fresh_database_url, sync_on_start=False)
    async with running(build_app(settings)) as client:
        reply = await client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["execution"] == (
        "instruments not loaded for today: no NIFTY expiry on or after 2026-09-15 in the Derivative table"
    )


async def test_execution_turns_ready_once_its_instrument_sync_at_start_listed_todays_expiries(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str
) -> None:
    migrate.upgrade(fresh_database_url)
    settings = settings_for(sim, jetstream_clean, fresh_database_url, sync_on_start=True)
    async with running(build_app(settings)) as client:

        async def ready() -> httpx.Response | None:
            reply = await client.get("/readyz")
            return reply if reply.status_code == 200 else None

        reply = await eventually(ready, "execution ready after its instrument sync", within=60)

    assert reply.json()["checks"]["execution"] == "ok"
