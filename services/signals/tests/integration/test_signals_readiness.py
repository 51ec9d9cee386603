"""`/readyz` of signals: ready once every underlying is warmed up (enough bars for every indicator
of the decision); a history that could not be loaded keeps it not ready, saying why."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sarathi.common.clock import IST
from sarathi.common.db import migrate
from sarathi.common.dhan.replies import read_replies
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.app import build_app
from sarathi.signals.settings import SignalsSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True, sim_start_paused=True, sim_publish_clock=True, nats_url=jetstream_clean)
    finally:
        pool.close()


def settings_for(
    sim: ServedSim, nats_url: str, database_url: str, token: str = TOKEN, recording: Path | None = None
) -> SignalsSettings:
    return SignalsSettings(
        nats_url=nats_url, database_url=database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_client_id=CLIENT_ID, dhan_access_token=token, underlyings=(Underlying.NIFTY,),
        recorder_directory=recording,
    )  # fmt: skip


@asynccontextmanager
async def readyz(app: FastAPI) -> AsyncIterator[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://signals") as client:
            yield await client.get("/readyz")


async def test_signals_whose_history_could_not_be_loaded_is_not_ready_and_says_why(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    settings = settings_for(sim, jetstream_clean, fresh_database_url, "wrong", recording=tmp_path)
    async with readyz(build_app(settings)) as reply:
        assert reply.status_code == 503
        reason = reply.json()["checks"]["signals"]
        assert reason.startswith("NIFTY warming up: 0 of ")
        assert "(history could not be loaded: " in reason
    today = runtime_of(sim).controller.now().astimezone(IST).date()
    assert read_replies(tmp_path, today) == []  # a refused reply is not recorded


async def test_signals_warmed_up_from_history_is_ready(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str
) -> None:
    migrate.upgrade(fresh_database_url)
    async with readyz(build_app(settings_for(sim, jetstream_clean, fresh_database_url))) as reply:
        assert reply.status_code == 200, reply.text
        assert reply.json()["checks"]["signals"] == "ok"


async def test_signals_with_a_recorder_records_the_warm_up_history_it_read(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    settings = settings_for(sim, jetstream_clean, fresh_database_url, recording=tmp_path / "recording")
    async with readyz(build_app(settings)) as reply:
        assert reply.status_code == 200, reply.text

    today = runtime_of(sim).controller.now().astimezone(IST).date()
    (history,) = read_replies(tmp_path / "recording", today)
    assert (history.service, history.kind) == ("signals", "intraday")
    assert history.request["underlying"] == "NIFTY"
    assert (history.request["to"], history.request["interval"]) == (today.isoformat(), 5)
    assert history.request["from"] < history.request["to"]
    assert len(history.body["timestamp"]) == len(history.body["close"]) > 0  # Dhan's arrays, as sent
    assert history.at.astimezone(IST).date() == today  # market time, not the wall clock
