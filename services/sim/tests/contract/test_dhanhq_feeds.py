"""Contract: the OFFICIAL dhanhq 2.3.0 feed classes against the sim's WebSockets.

`MarketFeed` (its own event loop, so it runs in a thread) subscribes ticker, quote and full, and
must decode every packet to the values the market model gave for that step; `OrderUpdate` logs
in and receives a fill. The sim starts paused so the steps the SDK sees are known exactly: the
grid from the start instant, 3 market seconds apart at speed 50.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dhanhq.dhan_context import DhanContext
from dhanhq.dhanhq import dhanhq
from dhanhq.marketfeed import MarketFeed
from dhanhq.orderupdate import OrderUpdate

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.view import Quote
from sarathi.sim.testing.harness import CLIENT_ID, OPEN, TOKEN, SimPool, runtime_of, sim_pool
from sarathi.sim.testing.server import ServedSim
from sarathi.sim.ws import packets

TIMEOUT = 15.0
STEP = timedelta(seconds=3)  # speed 50 with 20 steps a wall second at most
STEPS = 4


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def hms(at: datetime) -> str:
    return at.astimezone(IST).strftime("%H:%M:%S")


def run_market_feed(served: ServedSim, instruments: list[tuple[int, str, int]], count: int) -> list[Any]:
    """Connect the official MarketFeed, read `count` messages (resuming the clock once the three
    prev-close packets are in), and disconnect. Runs in its own thread: the SDK owns a loop."""
    received: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        feed = MarketFeed(DhanContext(CLIENT_ID, TOKEN), instruments, version="v2")
        try:
            feed.loop.run_until_complete(feed.connect())
            while len(received) < count:
                received.append(
                    feed.loop.run_until_complete(asyncio.wait_for(feed.get_instrument_data(), TIMEOUT))
                )
                if len(received) == len(instruments):
                    httpx.post(f"{served.http_url}/sim/clock/resume", timeout=TIMEOUT).raise_for_status()
            feed.close_connection()
        except BaseException as exc:  # reported to the test thread
            failure.append(exc)
        finally:
            feed.loop.close()

    thread = threading.Thread(target=run, name="dhanhq-marketfeed", daemon=True)
    thread.start()
    thread.join(TIMEOUT * 2)
    assert not thread.is_alive(), "the official MarketFeed did not finish"
    if failure:
        raise failure[0]
    return received


def expected_ticker(instrument: SimInstrument, quote: Quote) -> dict[str, Any]:
    return {
        "type": "Ticker Data",
        "exchange_segment": instrument.segment.code,
        "security_id": int(instrument.security_id),
        "LTP": money(quote.ltp),
        "LTT": hms(quote.last_trade_time),
    }


def expected_quote(instrument: SimInstrument, quote: Quote) -> dict[str, Any]:
    book = packets.depth(instrument, quote)
    return {
        "type": "Quote Data",
        "exchange_segment": instrument.segment.code,
        "security_id": int(instrument.security_id),
        "LTP": money(quote.ltp),
        "LTQ": quote.last_qty,
        "LTT": hms(quote.last_trade_time),
        "avg_price": money(quote.average_price),
        "volume": quote.volume,
        "total_sell_quantity": sum(level.ask_qty for level in book),
        "total_buy_quantity": sum(level.bid_qty for level in book),
        "open": money(quote.open),
        "close": "0.00",  # during the session
        "high": money(quote.high),
        "low": money(quote.low),
    }


def expected_full(instrument: SimInstrument, quote: Quote) -> dict[str, Any]:
    head = {k: v for k, v in expected_quote(instrument, quote).items() if k != "type"}
    depth = [
        {
            "bid_quantity": level.bid_qty,
            "ask_quantity": level.ask_qty,
            "bid_orders": level.bid_orders,
            "ask_orders": level.ask_orders,
            "bid_price": money(Decimal(level.bid_paise) / 100),
            "ask_price": money(Decimal(level.ask_paise) / 100),
        }
        for level in packets.depth(instrument, quote)
    ]
    return {
        "type": "Full Data",
        **head,
        "OI": quote.oi,
        "oi_day_high": max(quote.oi, quote.prev_oi),
        "oi_day_low": min(quote.oi, quote.prev_oi) if quote.prev_oi else quote.oi,
        "depth": depth,
    }


def test_the_official_market_feed_decodes_ticker_quote_and_full_packets_to_the_models_values(
    sims: SimPool,
) -> None:
    served = sims.start(sim_start_paused=True, sim_speed=Decimal(50))
    runtime = runtime_of(served)
    index = runtime.universe.index(Underlying.NIFTY)
    quoted, full = runtime.universe.options(Underlying.NIFTY)[:2]
    subscriptions = [
        (MarketFeed.IDX, index.security_id, MarketFeed.Ticker),
        (MarketFeed.NSE_FNO, quoted.security_id, MarketFeed.Quote),
        (MarketFeed.NSE_FNO, full.security_id, MarketFeed.Full),
    ]
    per_step = 4  # ticker, quote, OI, full
    original = MarketFeed.market_feed_wss
    MarketFeed.market_feed_wss = served.feed_url
    try:
        received = run_market_feed(served, subscriptions, 3 + per_step * STEPS)
    finally:
        MarketFeed.market_feed_wss = original

    market = runtime.market
    start_quotes = {i.security_id: market.quote(i, OPEN) for i in (index, quoted, full)}
    assert received[:3] == [
        {
            "type": "Previous Close",
            "exchange_segment": i.segment.code,
            "security_id": int(i.security_id),
            "prev_close": money(start_quotes[i.security_id].prev_close),
            "prev_OI": start_quotes[i.security_id].prev_oi,
        }
        for i in (index, quoted, full)
    ]
    for step in range(STEPS):
        at = OPEN + STEP * step
        got = received[3 + per_step * step : 3 + per_step * (step + 1)]
        quote_of_quoted = market.quote(quoted, at)
        assert got == [
            expected_ticker(index, market.quote(index, at)),
            expected_quote(quoted, quote_of_quoted),
            {
                "type": "OI Data",
                "exchange_segment": 2,
                "security_id": int(quoted.security_id),
                "OI": quote_of_quoted.oi,
            },
            expected_full(full, market.quote(full, at)),
        ], f"step {step} at {at}"


def test_the_official_market_feed_reports_a_disconnect_packet_through_on_close(sims: SimPool) -> None:
    served = sims.start()
    closed = threading.Event()
    original = MarketFeed.market_feed_wss
    MarketFeed.market_feed_wss = served.feed_url

    def run() -> None:
        feed = MarketFeed(
            DhanContext(CLIENT_ID, "not-the-token"), [(0, "13", 15)], on_close=lambda _: closed.set()
        )
        try:
            feed.loop.run_until_complete(feed.connect())
            feed.loop.run_until_complete(asyncio.wait_for(feed.get_instrument_data(), TIMEOUT))
        finally:
            if feed.ws is not None:
                feed.loop.run_until_complete(feed.ws.close())  # no keepalive task left behind
            feed.loop.close()

    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        assert closed.wait(TIMEOUT), "the SDK saw no disconnect packet"
    finally:
        thread.join(TIMEOUT)
        MarketFeed.market_feed_wss = original


def test_the_official_order_update_client_receives_a_fill(sims: SimPool) -> None:
    served = sims.start()
    runtime = runtime_of(served)
    updates: list[dict[str, Any]] = []
    got_one = threading.Event()
    client = OrderUpdate(DhanContext(CLIENT_ID, TOKEN))
    client.order_feed_wss = served.order_update_url

    def on_update(message: dict[str, Any]) -> None:
        updates.append(message)
        got_one.set()

    client.on_update = on_update
    thread = threading.Thread(
        target=client.connect_to_dhan_websocket_sync, name="dhanhq-orderupdate", daemon=True
    )
    thread.start()
    try:
        asyncio.run(served.run(runtime.order_updates.wait_for_connections(1), TIMEOUT))  # no login ack exists
        fill = {
            "OrderNo": "1126091500001",
            "Status": "TRADED",
            "TxnType": "B",
            "TradedQty": 65,
            "AvgTradedPrice": 112.0,
        }
        asyncio.run(served.call(runtime.broker.emit, fill))  # type: ignore[attr-defined]
        assert got_one.wait(TIMEOUT), "no order update arrived"
    finally:
        httpx.post(
            f"{served.http_url}/sim/faults", json={"kind": "expire_token"}, timeout=TIMEOUT
        )  # closes it
        thread.join(TIMEOUT)
    assert updates == [{"Type": "order_alert", "Data": {**fill, "Status": "Traded"}}]


def test_the_official_order_update_client_receives_the_fill_of_an_order_placed_with_the_official_rest_client(
    sims: SimPool,
) -> None:
    served = sims.start(real=True, sim_speed=Decimal(20))
    runtime = runtime_of(served)
    contract = runtime.universe.options(Underlying.NIFTY)[0]
    updates: list[dict[str, Any]] = []
    traded = threading.Event()
    client = OrderUpdate(DhanContext(CLIENT_ID, TOKEN))
    client.order_feed_wss = served.order_update_url

    def on_update(message: dict[str, Any]) -> None:
        updates.append(message)
        if str(message["Data"].get("Status")).upper() == "TRADED":
            traded.set()

    client.on_update = on_update
    thread = threading.Thread(
        target=client.connect_to_dhan_websocket_sync, name="dhanhq-orderupdate", daemon=True
    )
    thread.start()
    try:
        asyncio.run(served.run(runtime.order_updates.wait_for_connections(1), TIMEOUT))
        context = DhanContext(CLIENT_ID, TOKEN)
        context.dhan_http.base_url = f"{served.http_url}/v2"
        placed = dhanhq(context).place_order(
            security_id=contract.security_id,
            exchange_segment="NSE_FNO",
            transaction_type="BUY",
            quantity=contract.lot_size,
            order_type="MARKET",
            product_type="INTRADAY",
            price=0,
            tag="contract-fill-1",
        )
        assert placed["status"] == "success", placed
        assert traded.wait(TIMEOUT), f"no fill arrived; got {updates}"
    finally:
        httpx.post(f"{served.http_url}/sim/faults", json={"kind": "expire_token"}, timeout=TIMEOUT)
        thread.join(TIMEOUT)
    fill = next(u["Data"] for u in updates if str(u["Data"]["Status"]).upper() == "TRADED")
    assert fill["OrderNo"] == placed["data"]["orderId"]
    assert (fill["SecurityId"], fill["TxnType"], fill["TradedQty"]) == (
        contract.security_id,
        "B",
        contract.lot_size,
    )
    assert fill["CorrelationId"] == "contract-fill-1"
