"""signals end to end: sim (real market, scripted up-trend) → feed → NATS → signals → JetStream + PostgreSQL.

The sim publishes its clock on NATS; feed and signals follow it, so bars close on the sim's
market time. Signals warms up from the sim's intraday history through our Dhan adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from fastapi import FastAPI

from sarathi.common.bus import streams
from sarathi.common.db import migrate
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.base import decode
from sarathi.common.messages.market import Bar
from sarathi.common.messages.signals import Signal
from sarathi.feed.app import build_app as build_feed
from sarathi.feed.settings import FeedSettings
from sarathi.signals.app import build_app as build_signals
from sarathi.signals.settings import SignalsSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim

SPEED = Decimal(120)  # one 5-minute bar every 2.5 s of wall time
WAIT_SECONDS = 90.0


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True, sim_speed=SPEED, sim_publish_clock=True, nats_url=jetstream_clean)
    finally:
        pool.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


def signals_settings(sim: ServedSim, nats_url: str, database_url: str) -> SignalsSettings:
    return SignalsSettings(
        nats_url=nats_url, database_url=database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN, underlyings=(Underlying.NIFTY,),
    )  # fmt: skip


def feed_settings(sim: ServedSim, nats_url: str, recordings: Path) -> FeedSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url, "dhan_feed_url": sim.feed_url, "dhan_client_id": CLIENT_ID,
        "dhan_access_token": TOKEN, "feed_recorder_directory": recordings,
    }  # fmt: skip
    return FeedSettings(**values)


async def stream_messages(nats_url: str, stream: str) -> list[object]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out: list[object] = []
        if info.state.messages == 0:
            return out
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            out.append(decode((await js.get_msg(stream, seq)).data or b""))
        return out
    finally:
        await nc.close()


async def wait_for_bullish_signal(nats_url: str) -> Signal:
    async def poll() -> Signal:
        while True:
            with_signals = [
                m for m in await stream_messages(nats_url, streams.SIGNALS.name) if isinstance(m, Signal)
            ]
            bullish = [s for s in with_signals if s.direction is Direction.BULLISH]
            if bullish:
                return bullish[0]
            await asyncio.sleep(0.5)  # polling JetStream for a state, bounded by the wait below

    return await asyncio.wait_for(poll(), WAIT_SECONDS)


def script_up_trend(sim: ServedSim) -> None:
    runtime = runtime_of(sim)
    level = runtime.market.index_level(Underlying.NIFTY, runtime.controller.now())
    top = (level * Decimal("1.03")).quantize(Decimal("0.01"))
    body = {"underlying": "NIFTY", "path": [[0, str(level)], [3600, str(top)]]}
    httpx.post(f"{sim.http_url}/sim/scenario", json=body, timeout=5).raise_for_status()


async def test_a_scripted_up_trend_yields_one_bullish_signal_per_bar_even_across_a_restart(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    settings = signals_settings(sim, jetstream_clean, fresh_database_url)
    async with lifespan(build_feed(feed_settings(sim, jetstream_clean, tmp_path))):
        async with lifespan(build_signals(settings)):
            script_up_trend(sim)
            signal = await wait_for_bullish_signal(jetstream_clean)

        # The signal belongs to a bar that was published, and is the decision on that bar's close.
        bars = [m for m in await stream_messages(jetstream_clean, streams.MD_BARS.name) if isinstance(m, Bar)]
        (bar,) = [b for b in bars if b.end == signal.bar_close_time]
        assert (signal.close, signal.underlying) == (bar.close, Underlying.NIFTY)
        assert signal.message_id == f"NIFTY-st_rsi_adx-{signal.bar_close_time:%Y%m%dT%H%M}"
        assert Decimal(signal.indicators["rsi"]) > Decimal(55)

        # Restart signals: it warms up again from history and keeps publishing on new bars.
        async with lifespan(build_signals(settings)):
            await asyncio.sleep(float(Decimal(15 * 60) / SPEED))  # three more bars of market time

    signals = [
        m for m in await stream_messages(jetstream_clean, streams.SIGNALS.name) if isinstance(m, Signal)
    ]
    ids = [s.message_id for s in signals]
    assert len(ids) == len(set(ids)), "no signal id published twice"
    assert sum(1 for s in signals if s.bar_close_time == signal.bar_close_time) == 1
    with psycopg.connect(fresh_database_url) as conn:
        stored = conn.execute("select signal_id, direction from signals.signal").fetchall()
    assert (signal.message_id, "BULLISH") in stored
    assert len({row[0] for row in stored}) == len(stored)
