"""Replay mode through the real app: the OFFICIAL dhanhq `MarketFeed` receives the recorded packets
in order, a market order placed with the official REST client fills at the replayed quote, and the
parts that need the synthetic market (charts, scenarios) say so."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq
from dhanhq.marketfeed import MarketFeed

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.testing import recordings as rec
from sarathi.sim.testing.harness import CLIENT_ID, OPEN, TOKEN, SimPool, runtime_of, sim_pool, wait_for
from sarathi.sim.testing.server import ServedSim
from sarathi.sim.universe_builder import UniverseParams, build_universe

TIMEOUT = 15.0
UNIVERSE = build_universe(OPEN.date(), MarketCalendar(), UniverseParams(strikes_each_side=2))
CALL = UNIVERSE.options(Underlying.NIFTY)[0]
NIFTY = UNIVERSE.index(Underlying.NIFTY)
DHAN_HEADERS = {"access-token": TOKEN, "client-id": CLIENT_ID}


def at(seconds: float) -> datetime:
    return OPEN + timedelta(seconds=seconds)


FRAMES: list[rec.Frame] = [
    (at(0), rec.prev_close(CALL, "97.10", 1300)),
    (at(0.4), rec.full(CALL, "101", "100.95", "101.05", at(0), volume=650, oi=13000)),
    (at(1.25), rec.ticker(NIFTY, "24010.55", at(1))),
    (at(2), rec.quote(CALL, "101.5", at(2)) + rec.open_interest(CALL, 1950)),
    (at(3), rec.market_status()),
    (at(4.7), rec.full(CALL, "102.5", "102.45", "102.55", at(4), volume=1300, oi=13650)),
]


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


@pytest.fixture
def replaying(sims: SimPool, tmp_path: Path) -> ServedSim:
    recording = rec.write_recording(tmp_path / "feed-20260915.rec", FRAMES)
    return sims.start(real=True, sim_replay_file=recording, sim_start_paused=True, sim_speed=Decimal(5))


def dhan_client(served: ServedSim) -> Any:
    client = dhanhq(DhanContext(CLIENT_ID, TOKEN))
    client.dhan_http.base_url = f"{served.http_url}/v2"
    return client


def subscriptions(served: ServedSim) -> int:
    runtime = runtime_of(served)
    counts = asyncio.run(served.call(lambda: [len(c.subscriptions) for c in runtime.feed]))
    return sum(counts)


def read_market_feed(served: ServedSim, count: int) -> list[Any]:
    """The official MarketFeed subscribes the call (full) and NIFTY (ticker); once the sim holds
    both subscriptions the clock is resumed and `count` messages are read."""
    received: list[Any] = []
    failure: list[BaseException] = []
    connected = threading.Event()

    def run() -> None:
        instruments = [
            (MarketFeed.NSE_FNO, CALL.security_id, MarketFeed.Full),
            (MarketFeed.IDX, "13", MarketFeed.Ticker),
        ]
        feed = MarketFeed(DhanContext(CLIENT_ID, TOKEN), instruments, version="v2")
        try:
            feed.loop.run_until_complete(feed.connect())
            connected.set()
            while len(received) < count:
                data = asyncio.wait_for(feed.get_instrument_data(), TIMEOUT)
                received.append(feed.loop.run_until_complete(data))
            feed.close_connection()
        except BaseException as exc:  # reported to the test thread
            failure.append(exc)
        finally:
            connected.set()
            feed.loop.close()

    original = MarketFeed.market_feed_wss
    MarketFeed.market_feed_wss = served.feed_url
    thread = threading.Thread(target=run, name="dhanhq-marketfeed", daemon=True)
    try:
        thread.start()
        assert connected.wait(TIMEOUT)
        wait_for(lambda: subscriptions(served) == 2 or failure, "both subscriptions")
        httpx.post(f"{served.http_url}/sim/clock/resume", timeout=TIMEOUT).raise_for_status()
        thread.join(TIMEOUT * 2)
    finally:
        MarketFeed.market_feed_wss = original
    assert not thread.is_alive(), "the official MarketFeed did not finish"
    if failure:
        raise failure[0]
    return received


def test_the_official_market_feed_receives_the_recorded_packets_in_order(replaying: ServedSim) -> None:
    received = read_market_feed(replaying, len(FRAMES))

    assert [m if isinstance(m, str) else m["type"] for m in received] == [
        "Previous Close",
        "Full Data",
        "Ticker Data",
        "Quote Data",
        "Markets Open",
        "Full Data",
    ]  # fmt: skip  (the SDK decodes the first packet of a message only: the OI after the quote is not seen)
    assert (received[0]["prev_close"], received[0]["prev_OI"]) == ("97.10", 1300)
    assert (received[1]["LTP"], received[1]["depth"][0]["ask_price"], received[1]["OI"]) == (
        "101.00",
        "101.05",
        13000,
    )
    assert (received[2]["security_id"], received[2]["LTP"], received[2]["LTT"]) == (
        13,
        "24010.55",
        "09:15:01",
    )
    assert received[3]["LTP"] == "101.50"
    assert (received[5]["LTP"], received[5]["depth"][0]["bid_price"], received[5]["volume"]) == (
        "102.50",
        "102.45",
        1300,
    )


def test_a_market_order_fills_at_the_replayed_quote(replaying: ServedSim) -> None:
    runtime = runtime_of(replaying)
    dhan = dhan_client(replaying)
    httpx.post(f"{replaying.http_url}/sim/clock/resume", timeout=TIMEOUT).raise_for_status()
    wait_for(lambda: runtime.controller.now() > at(5), "the last frame to be replayed")

    bought = dhan.place_order(CALL.security_id, "NSE_FNO", "BUY", 65, "MARKET", "INTRADAY", 0)
    sold = dhan.place_order(CALL.security_id, "NSE_FNO", "SELL", 65, "MARKET", "INTRADAY", 0)

    def traded(order_id: str) -> dict[str, Any] | None:
        order: dict[str, Any] = dhan.get_order_by_id(order_id)["data"]
        return order if order["orderStatus"] == "TRADED" else None

    fills = [wait_for(partial(traded, o["data"]["orderId"]), "the fill") for o in (bought, sold)]
    assert [f["averageTradedPrice"] for f in fills] == [102.55, 102.45]  # the replayed ask, then bid

    with httpx.Client(base_url=replaying.http_url, headers=DHAN_HEADERS, timeout=TIMEOUT) as http:
        ltp = http.post("/v2/marketfeed/ltp", json={"NSE_FNO": [int(CALL.security_id)], "IDX_I": [13]}).json()
        assert ltp["data"]["NSE_FNO"][CALL.security_id]["last_price"] == 102.5
        assert ltp["data"]["IDX_I"]["13"]["last_price"] == 24010.55
        body = {"securityId": "13", "exchangeSegment": "IDX_I", "instrument": "INDEX", "interval": "5",
                "fromDate": "2026-09-15 09:15:00", "toDate": "2026-09-15 10:15:00"}  # fmt: skip
        chart = http.post("/v2/charts/intraday", json=body)
        assert (chart.status_code, chart.json()["errorCode"]) == (400, "DH-907")
        script = http.post("/sim/scenario", json={"security_id": CALL.security_id, "path": [[0, 100]]})
        assert (script.status_code, script.json()["error"]) == (409, "scenario_unavailable")


def test_the_clock_starts_at_the_first_frame_by_default(sims: SimPool, tmp_path: Path) -> None:
    recording = rec.write_recording(tmp_path / "feed.rec", [(at(7.5), rec.market_status())])
    served = sims.start(real=True, sim_replay_file=recording, sim_start=None, sim_start_paused=True)
    state = httpx.get(f"{served.http_url}/sim/clock", timeout=TIMEOUT).json()
    assert datetime.fromisoformat(state["next_step"]) == at(7.5)  # the engine's grid starts there
    assert at(7.5) <= datetime.fromisoformat(state["now"]) < at(8.5)  # (paused a moment after the start)
