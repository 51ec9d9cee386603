"""`/readyz` of the feed: connected to Dhan, and while the market is open also subscribed.

Dhan acknowledges a subscription only with data, a prev-close packet first (REFERENCE §6.5); it
ignores an instrument it does not know (REFERENCE §6.2, UNVERIFIED; the sim does the same). A
feed subscribed only to such an id is connected but receives nothing: outside market hours that
is ready, while the market is open it is not.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.testing.harness import SimPool

from .conftest import eventually, feed_settings, publishing_clock, running_feed_app

UNKNOWN_INDEX = "IDX_I:99999"
NIFTY = FeedInstrument(ExchangeSegment.IDX_I, "13")


async def _readyz(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feed") as client:
        return await client.get("/readyz")


def _paused_at(at: datetime, nats_url: str) -> dict[str, object]:
    return {"sim_start": at, "sim_start_paused": True, **publishing_clock(nats_url)}


async def test_feed_connected_but_without_data_in_market_hours_is_not_ready_until_a_subscription_answers(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**_paused_at(datetime(2026, 1, 7, 10, 0, tzinfo=IST), jetstream_clean))
    settings = feed_settings(served, jetstream_clean, tmp_path, feed_indices=UNKNOWN_INDEX)
    async with running_feed_app(settings) as app:
        manager = app.state.feed.manager
        await eventually(lambda: manager.connections[0].ready)

        not_ready = await _readyz(app)
        assert not_ready.status_code == 503
        reason = not_ready.json()["checks"]["feed"]
        assert reason.startswith("connected to Dhan but not subscribed: no data yet on connection 0")

        manager.subscribe("test", [NIFTY])  # the sim answers with a prev-close packet
        await eventually(lambda: manager.connections[0].has_data)
        assert (await _readyz(app)).status_code == 200


async def test_feed_connected_outside_market_hours_is_ready_without_data(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**_paused_at(datetime(2026, 1, 7, 8, 30, tzinfo=IST), jetstream_clean))
    settings = feed_settings(served, jetstream_clean, tmp_path, feed_indices=UNKNOWN_INDEX)
    async with running_feed_app(settings) as app:
        manager = app.state.feed.manager
        await eventually(lambda: manager.connections[0].ready)

        ready = await _readyz(app)
        assert ready.status_code == 200, ready.text
        assert not manager.connections[0].has_data


async def test_a_dead_feed_task_makes_the_feed_not_ready(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**_paused_at(datetime(2026, 1, 7, 8, 30, tzinfo=IST), jetstream_clean))
    async with running_feed_app(feed_settings(served, jetstream_clean, tmp_path)) as app:
        service = app.state.feed
        await eventually(lambda: service.manager.connections[0].ready)
        assert (await _readyz(app)).status_code == 200

        async def broken() -> None:
            raise RuntimeError("disk full")

        service.tasks.start("recorder-flush-2", broken())
        await eventually(lambda: bool(service.tasks.dead))

        not_ready = await _readyz(app)
        assert not_ready.status_code == 503
        said = not_ready.json()["checks"]["feed"]
        assert said == "task recorder-flush-2 died: RuntimeError: disk full"
