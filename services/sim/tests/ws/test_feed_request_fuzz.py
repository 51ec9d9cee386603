"""Arbitrary client frames never crash the feed: the hub's handling, and over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from sarathi.common.clock import IST
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.testing.fakes import ToyMarket
from sarathi.sim.testing.harness import feed_url, sim_pool
from sarathi.sim.testing.server import ServedSim
from sarathi.sim.universe_builder import UniverseParams, build_universe
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.outbox import Outbox

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)
UNIVERSE = build_universe(OPEN.date(), MarketCalendar(), UniverseParams(strikes_each_side=1))
IDS = [i.security_id for i in UNIVERSE] + ["0", "13", "99999999999", "-1", "abc", ""]
SEGMENTS = ["IDX_I", "NSE_FNO", "BSE_FNO", "NSE_EQ", "MCX_COMM", "nse_fno", "", "X"]

instrument = st.fixed_dictionaries(
    {
        "ExchangeSegment": st.sampled_from(SEGMENTS) | st.integers(),
        "SecurityId": st.sampled_from(IDS) | st.integers(),
    }
) | st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3)
subscribe = st.fixed_dictionaries(
    {
        "RequestCode": st.sampled_from([11, 12, 13, 15, 16, 17, 18, 19, 21, 22, 23, 24, 25]) | st.integers(),
        "InstrumentCount": st.integers(-1, 200),
        "InstrumentList": st.lists(instrument, max_size=110) | st.none() | st.text(max_size=5),
    }
)
frames = st.one_of(
    subscribe.map(json.dumps),
    st.text(max_size=50),
    st.binary(max_size=50),
    st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3)).map(
        json.dumps
    ),
)


def a_hub() -> FeedHub:
    return FeedHub(UNIVERSE, ToyMarket(UNIVERSE), SimMetrics(ServiceMetrics("sim")), now=lambda: OPEN)


@settings(max_examples=400, deadline=None)
@given(batch=st.lists(frames, min_size=1, max_size=8))
def test_any_sequence_of_frames_is_handled_without_an_exception(batch: list[Any]) -> None:
    hub = a_hub()
    connection = hub.register("1000000001", Outbox(100_000))
    for frame in batch:
        hub.handle_request(connection, frame)
        hub.publish_step(OPEN)
    assert len(connection.subscriptions) <= 5000


@pytest.fixture(scope="module")
def shared() -> Iterator[ServedSim]:
    for pool in sim_pool():
        yield pool.start()


async def _send_all(served: ServedSim, batch: list[Any]) -> None:
    async with connect(feed_url(served)) as ws:
        try:
            for frame in batch:
                await ws.send(frame)
            await ws.send(json.dumps({"RequestCode": 12}))
            while True:  # drain until the server closes (it honours RequestCode 12)
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed:
            pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=5))
def test_the_served_feed_survives_any_frames_and_keeps_serving(shared: ServedSim, batch: list[Any]) -> None:
    asyncio.run(_send_all(shared, batch))
    asyncio.run(_still_serves(shared))


async def _still_serves(served: ServedSim) -> None:
    item = {"ExchangeSegment": "IDX_I", "SecurityId": "13"}
    async with connect(feed_url(served)) as ws:
        await ws.send(json.dumps({"RequestCode": 15, "InstrumentCount": 1, "InstrumentList": [item]}))
        assert isinstance(await asyncio.wait_for(ws.recv(), 10), bytes)
