"""Paper mode through the real app on a real NATS: `Tick`s published on `md.tick.<seg>.<id>` (as the
feed service publishes the real Dhan feed) reach the paper broker, which fills at their ask / bid;
the clock is the wall clock and cannot be changed; the sim serves no market feed of its own. With
Dhan's detailed master (`SARATHI_SIM_MASTER_FILE`) the real security ids of the ticks are listed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.clock import IST, wall_clock
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.messages.market import Tick
from sarathi.common.settings import Mode
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.settings import MarketSource
from sarathi.sim.testing import masters
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, feed_url, runtime_of, sim_pool, wait_for
from sarathi.sim.testing.server import ServedSim

TIMEOUT = 15.0


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


def dhan_client(served: ServedSim) -> Any:
    client = dhanhq(DhanContext(CLIENT_ID, TOKEN))
    client.dhan_http.base_url = f"{served.http_url}/v2"
    return client


def a_tick(instrument: SimInstrument, ltp: str, bid: str, ask: str) -> Tick:
    now = wall_clock().astimezone(IST)
    return Tick(
        message_id=f"tick-{instrument.security_id}-{ltp}", correlation_id="feed", event_time=now,
        segment=instrument.segment, security_id=instrument.security_id, ltp=Decimal(ltp), ltq=65,
        exchange_time=now, received_at=now, volume=65_000, oi=130_000, bid=Decimal(bid), bid_qty=650,
        ask=Decimal(ask), ask_qty=650,
    )  # fmt: skip


def filled(dhan: Any, order_id: str) -> dict[str, Any] | None:
    order: dict[str, Any] = dhan.get_order_by_id(order_id)["data"]
    return order if order["orderStatus"] == "TRADED" else None


async def test_a_paper_order_fills_at_the_ask_and_bid_of_the_real_ticks(
    sims: SimPool, jetstream_clean: str
) -> None:
    served = sims.start(
        real=True, mode=Mode.PAPER, nats_url=jetstream_clean, sim_publish_clock=True, sim_start=None
    )
    runtime = runtime_of(served)
    assert runtime.settings.market_source is MarketSource.PAPER
    call = runtime.universe.options(Underlying.NIFTY)[0]
    dhan = dhan_client(served)
    bus = await NatsBus.connect(jetstream_clean, name="test-feed")
    try:
        await bus.publish(
            subjects.tick(call.segment, call.security_id), a_tick(call, "120.5", "120.45", "120.55")
        )
        await asyncio.to_thread(
            wait_for, lambda: runtime.market.quote(call, runtime.controller.now()).ltp, "tick"
        )

        placed = await asyncio.to_thread(
            dhan.place_order, call.security_id, "NSE_FNO", "BUY", 65, "MARKET", "INTRADAY", 0
        )
        bought = await asyncio.to_thread(wait_for, lambda: filled(dhan, placed["data"]["orderId"]), "the buy")
        assert bought["averageTradedPrice"] == 120.55  # the tick's ask

        await bus.publish(
            subjects.tick(call.segment, call.security_id), a_tick(call, "131", "130.95", "131.05")
        )
        await asyncio.to_thread(
            wait_for, lambda: runtime.market.quote(call, runtime.controller.now()).ltp == 131, "tick"
        )
        placed = await asyncio.to_thread(
            dhan.place_order, call.security_id, "NSE_FNO", "SELL", 65, "MARKET", "INTRADAY", 0
        )
        sold = await asyncio.to_thread(wait_for, lambda: filled(dhan, placed["data"]["orderId"]), "the sell")
        assert sold["averageTradedPrice"] == 130.95  # the next tick's bid
    finally:
        await bus.close()

    positions = (await asyncio.to_thread(dhan.get_positions))["data"]
    assert [(p["netQty"], p["realizedProfit"]) for p in positions] == [(0, pytest.approx(65 * 10.4))]


async def test_paper_mode_runs_on_the_wall_clock_and_serves_no_feed(
    sims: SimPool, jetstream_clean: str
) -> None:
    served = sims.start(
        real=True, mode=Mode.PAPER, nats_url=jetstream_clean, sim_publish_clock=True, sim_start=None
    )
    now = runtime_of(served).controller.now()
    assert abs((now - wall_clock()).total_seconds()) < 5
    async with httpx.AsyncClient(base_url=served.http_url, timeout=TIMEOUT) as http:
        refused = await http.post("/sim/clock", json={"start": now.isoformat(), "speed": 10})
        assert (refused.status_code, refused.json()["error"]) == (409, "clock_fixed")
        assert (await http.post("/sim/clock/pause")).status_code == 409
        index = {"IDX_I": [13]}
        ltp = await http.post(
            "/v2/marketfeed/ltp", json=index, headers={"access-token": TOKEN, "client-id": CLIENT_ID}
        )
        assert ltp.json()["data"]["IDX_I"]["13"]["last_price"] == 0  # no tick of it yet
    with pytest.raises(InvalidStatus):
        async with connect(feed_url(served)):
            pass


async def test_with_dhans_master_a_tick_of_a_real_security_id_fills_a_paper_order(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    master = masters.write_master(tmp_path / "api-scrip-master-detailed.csv")
    served = sims.start(
        real=True,
        mode=Mode.PAPER,
        nats_url=jetstream_clean,
        sim_publish_clock=True,
        sim_start=None,
        sim_master_file=master,
    )
    runtime = runtime_of(served)
    assert {i.security_id for i in runtime.universe} == {
        "13",
        "25",
        "51",
        "35084",
        "47317",
        "69787",
        "869699",
    }
    call = runtime.universe.get("47317")  # NIFTY 15 SEP 23950 CALL in Dhan's master
    assert call.segment is ExchangeSegment.NSE_FNO
    dhan = dhan_client(served)
    bus = await NatsBus.connect(jetstream_clean, name="test-feed")
    try:
        await bus.publish(
            subjects.tick(ExchangeSegment.NSE_FNO, "47317"), a_tick(call, "88.15", "88.10", "88.20")
        )
        await asyncio.to_thread(
            wait_for, lambda: runtime.market.quote(call, runtime.controller.now()).ltp, "tick"
        )
        placed = await asyncio.to_thread(
            dhan.place_order, "47317", "NSE_FNO", "BUY", 65, "MARKET", "INTRADAY", 0
        )
        bought = await asyncio.to_thread(wait_for, lambda: filled(dhan, placed["data"]["orderId"]), "the buy")
    finally:
        await bus.close()
    assert (bought["securityId"], bought["averageTradedPrice"]) == ("47317", 88.2)  # the tick's ask
    positions = (await asyncio.to_thread(dhan.get_positions))["data"]
    assert [(p["securityId"], p["netQty"]) for p in positions] == [("47317", 65)]
