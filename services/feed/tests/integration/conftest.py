"""Fixtures of the integration tests: a toy sim on a free port and the feed app against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi import FastAPI
from nats.aio.msg import Msg

from sarathi.common.messages.base import decode_as
from sarathi.common.messages.market import Tick
from sarathi.feed.app import FeedService, build_app
from sarathi.feed.settings import FeedSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, sim_pool
from sarathi.sim.testing.server import ServedSim

FAST_SIM = {"sim_speed": Decimal(50), "sim_strikes_around_atm": 15}  # 3 market s per step, 20 steps/s


def publishing_clock(nats_url: str) -> dict[str, Any]:
    """Sim settings that publish its clock on NATS, which the feed follows in sim mode."""
    return {"sim_publish_clock": True, "nats_url": nats_url}


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


def feed_settings(served: ServedSim, nats_url: str, recordings: Path, **overrides: Any) -> FeedSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "dhan_feed_url": served.feed_url,
        "dhan_client_id": CLIENT_ID,
        "dhan_access_token": TOKEN,
        "feed_recorder_directory": recordings,
        "feed_cool_off_seconds": 1.0,
    }
    values.update(overrides)
    return FeedSettings(**values)


@asynccontextmanager
async def running_feed(settings: FeedSettings) -> AsyncIterator[FeedService]:
    async with running_feed_app(settings) as app:
        yield app.state.feed


@asynccontextmanager
async def running_feed_app(settings: FeedSettings) -> AsyncIterator[FastAPI]:
    """The feed app in its lifespan (its HTTP endpoints through an ASGI transport)."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def eventually(predicate: Callable[[], bool], limit_seconds: float = 15.0) -> None:
    """Wait until `predicate()` holds (checked every 10 ms), or fail after `limit_seconds`."""

    async def loop() -> None:
        while not predicate():  # noqa: ASYNC110 - the service's state has no event to wait on
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), limit_seconds)


class TickTap:
    """Every tick published on `md.tick.>`, decoded, in arrival order."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.raw: list[bytes] = []
        self._changed = asyncio.Event()

    async def on_message(self, msg: Msg) -> None:
        self.raw.append(msg.data)
        self.ticks.append(decode_as(msg.data, Tick))
        self._changed.set()

    async def wait_for(self, predicate: Any, limit_seconds: float = 15.0) -> None:
        async def loop() -> None:
            while not predicate(self.ticks):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), limit_seconds)


@asynccontextmanager
async def tapping(nats_url: str) -> AsyncIterator[TickTap]:
    tap = TickTap()
    nc = await nats.connect(nats_url)
    try:
        await nc.subscribe("md.tick.>", cb=tap.on_message)
        await nc.flush()
        yield tap
    finally:
        await nc.close()
