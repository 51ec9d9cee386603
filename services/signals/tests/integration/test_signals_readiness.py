"""`/readyz` of signals: ready once every underlying is warmed up (enough bars for every indicator
of the decision); a history that could not be loaded keeps it not ready, saying why."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from sarathi.common.db import migrate
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.app import build_app
from sarathi.signals.settings import SignalsSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool
from sarathi.sim.testing.server import ServedSim


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True, sim_start_paused=True, sim_publish_clock=True, nats_url=jetstream_clean)
    finally:
        pool.close()


def settings_for(sim: ServedSim, nats_url: str, database_url: str, token: str = TOKEN) -> SignalsSettings:
    return SignalsSettings(
        nats_url=nats_url, database_url=database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_client_id=CLIENT_ID, dhan_access_token=token, underlyings=(Underlying.NIFTY,),
    )  # fmt: skip


@asynccontextmanager
async def readyz(app: FastAPI) -> AsyncIterator[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://signals") as client:
            yield await client.get("/readyz")


async def test_signals_whose_history_could_not_be_loaded_is_not_ready_and_says_why(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str
) -> None:
    migrate.upgrade(fresh_database_url)
    async with readyz(build_app(settings_for(sim, jetstream_clean, fresh_database_url, "wrong"))) as reply:
        assert reply.status_code == 503
        reason = reply.json()["checks"]["signals"]
        assert reason.startswith("NIFTY warming up: 0 of ")
        assert "(history could not be loaded: " in reason


async def test_signals_warmed_up_from_history_is_ready(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str
) -> None:
    migrate.upgrade(fresh_database_url)
    async with readyz(build_app(settings_for(sim, jetstream_clean, fresh_database_url))) as reply:
        assert reply.status_code == 200, reply.text
        assert reply.json()["checks"]["signals"] == "ok"
