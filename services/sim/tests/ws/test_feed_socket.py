"""The market-feed WebSocket over a real socket: auth, subscriptions, packets, limits, faults."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sarathi.common.clock import IST
from sarathi.common.dhan import feed_codec as codec
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.testing.harness import SimPool, feed_url, runtime_of
from sarathi.sim.testing.server import ServedSim

TIMEOUT = 10.0
FAST: dict[str, Any] = {"sim_speed": Decimal(50)}  # a 3-second grid at 20 steps a wall second


def request(code: int, *instruments: tuple[str, str]) -> str:
    items = [{"ExchangeSegment": seg, "SecurityId": sid} for seg, sid in instruments]
    return json.dumps({"RequestCode": code, "InstrumentCount": len(items), "InstrumentList": items})


async def next_packet(ws: ClientConnection) -> tuple[bytes, codec.Packet]:
    frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(frame, bytes)
    packets = codec.FeedDecoder().decode(frame)
    assert len(packets) == 1, "one packet per WebSocket message"
    return frame, packets[0]


async def packets_until_closed(ws: ClientConnection) -> list[codec.Packet]:
    out: list[codec.Packet] = []
    try:
        while True:
            _, packet = await next_packet(ws)
            out.append(packet)
    except ConnectionClosed:
        return out


def option(served: ServedSim) -> Any:
    return runtime_of(served).universe.options(Underlying.NIFTY)[0]


async def test_subscribing_a_ticker_sends_prev_close_then_ticks_at_the_markets_prices(sims: SimPool) -> None:
    served = sims.start(**FAST)
    market = runtime_of(served).market
    index = runtime_of(served).universe.index(Underlying.NIFTY)
    async with connect(feed_url(served)) as ws:
        await ws.send(request(15, ("IDX_I", "13")))
        _, first = await next_packet(ws)
        assert isinstance(first, codec.PrevClose)
        assert (first.segment, first.security_id, first.prev_close_paise) == (0, 13, 2395055)
        for _ in range(3):
            _, tick = await next_packet(ws)
            assert isinstance(tick, codec.Ticker)
            at = datetime.fromtimestamp(tick.ltt_epoch, IST)
            assert tick.ltp_paise == int(market.quote(index, at).ltp * 100)


async def test_quote_mode_on_a_derivative_sends_quote_then_oi_packets(sims: SimPool) -> None:
    served = sims.start(**FAST)
    contract = option(served)
    async with connect(feed_url(served)) as ws:
        await ws.send(request(17, ("NSE_FNO", contract.security_id)))
        kinds = [type((await next_packet(ws))[1]) for _ in range(5)]
    assert kinds == [codec.PrevClose, codec.Quote, codec.OpenInterest, codec.Quote, codec.OpenInterest]


async def test_full_mode_packets_are_162_bytes_with_five_depth_levels(sims: SimPool) -> None:
    served = sims.start(**FAST)
    contract = option(served)
    async with connect(feed_url(served)) as ws:
        await ws.send(request(21, ("NSE_FNO", contract.security_id)))
        await next_packet(ws)  # prev close
        frame, full = await next_packet(ws)
    assert isinstance(full, codec.Full)
    assert len(frame) == 162
    assert full.depth[0].bid_paise < full.depth[0].ask_paise
    assert full.oi > 0


async def test_unknown_instruments_are_ignored_and_unsubscribe_stops_the_packets(sims: SimPool) -> None:
    served = sims.start(**FAST)
    async with connect(feed_url(served)) as ws:
        await ws.send(request(15, ("NSE_FNO", "999"), ("IDX_I", "13")))
        _, first = await next_packet(ws)
        assert isinstance(first, codec.PrevClose)
        assert first.security_id == 13
        await next_packet(ws)
        await ws.send(request(16, ("IDX_I", "13")))
        await ws.send(request(15, ("IDX_I", "25")))  # a marker: after it only BANKNIFTY flows
        while (await next_packet(ws))[1].security_id != 25:
            pass
        for _ in range(3):
            assert (await next_packet(ws))[1].security_id == 25


@pytest.mark.parametrize(
    ("token", "client_id", "reason"),
    [("wrong", "1000000001", 809), ("sim-token", "42", 808), ("", "1000000001", 809)],
)
async def test_bad_credentials_get_a_disconnect_packet_and_the_socket_closes(
    sims: SimPool, token: str, client_id: str, reason: int
) -> None:
    served = sims.start()
    async with connect(feed_url(served, token=token, client_id=client_id)) as ws:
        packets = await packets_until_closed(ws)
    assert packets == [codec.Disconnect(0, 0, reason)]


async def test_a_sixth_connection_drops_the_oldest_with_805(sims: SimPool) -> None:
    served = sims.start()
    sockets = [await connect(feed_url(served)) for _ in range(5)]
    try:
        for ws in sockets:  # every one is registered before the sixth arrives
            await ws.send(request(15, ("IDX_I", "13")))
            assert isinstance((await next_packet(ws))[1], codec.PrevClose)
        async with connect(feed_url(served)) as sixth:
            assert await packets_until_closed(sockets[0]) == [codec.Disconnect(0, 0, 805)]
            await sixth.send(request(15, ("IDX_I", "13")))
            assert isinstance((await next_packet(sixth))[1], codec.PrevClose)
            for ws in sockets[1:]:
                await ws.ping()  # still open
    finally:
        for ws in sockets:
            await ws.close()


async def test_more_than_100_instruments_in_one_message_disconnects_with_804(sims: SimPool) -> None:
    served = sims.start()
    async with connect(feed_url(served)) as ws:
        await ws.send(request(15, *[("IDX_I", "13")] * 101))
        assert await packets_until_closed(ws) == [codec.Disconnect(0, 0, 804)]


async def test_request_code_12_closes_the_socket(sims: SimPool) -> None:
    served = sims.start()
    async with connect(feed_url(served)) as ws:
        await ws.send(json.dumps({"RequestCode": 12}))
        assert await packets_until_closed(ws) == []
    assert ws.close_code == 1000


async def test_drop_feed_fault_closes_every_socket(sims: SimPool) -> None:
    served = sims.start()
    sockets = [await connect(feed_url(served)) for _ in range(3)]
    for ws in sockets:
        await ws.send(request(15, ("IDX_I", "13")))
        await next_packet(ws)
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        response = await http.post("/sim/faults", json={"kind": "drop_feed"})
    assert response.status_code == 200
    for ws in sockets:
        await packets_until_closed(ws)
        assert ws.close_code == 1001


async def test_expire_token_sends_807_and_new_connections_are_refused_with_807(sims: SimPool) -> None:
    served = sims.start()
    async with connect(feed_url(served)) as ws:
        await ws.send(request(15, ("IDX_I", "13")))
        await next_packet(ws)
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            assert (await http.post("/sim/faults", json={"kind": "expire_token"})).status_code == 200
        assert (await packets_until_closed(ws))[-1] == codec.Disconnect(0, 0, 807)
    async with connect(feed_url(served)) as again:
        assert await packets_until_closed(again) == [codec.Disconnect(0, 0, 807)]


async def fault(served: ServedSim, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        return await http.post("/sim/faults", json=body)


async def test_restore_token_lets_the_same_token_connect_again(sims: SimPool) -> None:
    served = sims.start(**FAST)
    assert (await fault(served, kind="expire_token")).status_code == 200
    assert (await fault(served, kind="restore_token")).status_code == 200
    async with connect(feed_url(served)) as ws:
        await ws.send(request(15, ("IDX_I", "13")))
        _, packet = await next_packet(ws)
    assert packet.security_id == 13


async def test_renew_token_admits_the_new_token_and_refuses_the_old_one_as_expired(sims: SimPool) -> None:
    served = sims.start(**FAST)
    async with connect(feed_url(served)) as before:
        reply = await fault(served, kind="renew_token", token="renewed-42")
        assert (await packets_until_closed(before))[-1] == codec.Disconnect(0, 0, 807)
    assert reply.status_code == 200
    assert "renewed-42" not in reply.text  # a token is never echoed
    async with connect(feed_url(served)) as old:
        assert await packets_until_closed(old) == [codec.Disconnect(0, 0, 807)]
    async with connect(feed_url(served, token="renewed-42")) as new:
        await new.send(request(15, ("IDX_I", "13")))
        _, packet = await next_packet(new)
    assert packet.security_id == 13


@pytest.mark.parametrize(("refusal", "status"), [("http_401", 401), ("http_429", 429)])
async def test_the_http_refusal_variants_refuse_the_handshake_of_an_expired_token(
    sims: SimPool, refusal: str, status: int
) -> None:
    served = sims.start(sim_feed_auth_refusal=refusal)
    async with connect(feed_url(served)) as ws:  # a good token still connects
        await ws.send(request(15, ("IDX_I", "13")))
        await next_packet(ws)
        assert (await fault(served, kind="expire_token")).status_code == 200
        assert (await packets_until_closed(ws))[-1] == codec.Disconnect(0, 0, 807)  # open sockets: 807
    with pytest.raises(InvalidStatus) as refused:
        await connect(feed_url(served))
    assert refused.value.response.status_code == status
