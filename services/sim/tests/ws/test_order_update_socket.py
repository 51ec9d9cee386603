"""The order-update WebSocket: login, alert delivery, status casing, the pause fault."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from sarathi.sim.testing.fakes import RecordingBroker
from sarathi.sim.testing.harness import SimPool, login_frame, runtime_of
from sarathi.sim.testing.server import ServedSim

TIMEOUT = 10.0


def an_alert(order_no: str, status: str = "TRADED", **fields: Any) -> dict[str, Any]:
    return {
        "OrderNo": order_no,
        "Status": status,
        "SecurityId": "13",
        "Quantity": 65,
        "TradedQty": 65,
        **fields,
    }


async def logged_in(served: ServedSim) -> ClientConnection:
    ws = await connect(served.order_update_url)
    await ws.send(login_frame())
    # No acknowledgement exists; wait until the hub has registered the socket.
    await served.run(runtime_of(served).order_updates.wait_for_connections(1), TIMEOUT)
    return ws


async def emit(served: ServedSim, alert: dict[str, Any]) -> None:
    """Hand the broker an alert on the server's own loop (as a broker step would)."""
    broker = runtime_of(served).broker
    assert isinstance(broker, RecordingBroker)
    await served.call(broker.emit, alert)


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return message


async def test_a_logged_in_socket_receives_each_alert_with_title_case_status(sims: SimPool) -> None:
    served = sims.start()
    ws = await logged_in(served)
    try:
        await emit(served, an_alert("1", "PART_TRADED"))
        await emit(served, an_alert("2", "TRADED"))
        first, second = await next_message(ws), await next_message(ws)
    finally:
        await ws.close()
    assert first == {"Type": "order_alert", "Data": an_alert("1", "Part_Traded")}
    assert second["Data"]["Status"] == "Traded"


async def test_upper_case_status_is_a_setting(sims: SimPool) -> None:
    served = sims.start(sim_order_update_status_case="upper")
    ws = await logged_in(served)
    try:
        await emit(served, an_alert("1", "Traded"))
        assert (await next_message(ws))["Data"]["Status"] == "TRADED"
    finally:
        await ws.close()


async def test_camel_case_keys_are_a_setting(sims: SimPool) -> None:
    served = sims.start(sim_order_update_keys="camel")
    ws = await logged_in(served)
    try:
        await emit(served, an_alert("7", "PENDING", TradedQty=0, AlgoOrdNo="6"))
        message = await next_message(ws)
    finally:
        await ws.close()
    assert message["Type"] == "order_alert"  # the envelope as the SDK reads it
    assert message["Data"] == {
        "orderNo": "7", "status": "Pending", "securityId": "13", "quantity": 65, "tradedQty": 0,
        "algoOrdNo": "6",
    }  # fmt: skip


@pytest.mark.parametrize(
    "frame",
    [
        login_frame(token="wrong"),
        login_frame(client_id="42"),
        json.dumps(
            {"LoginReq": {"MsgCode": 41, "ClientId": "1000000001", "Token": "sim-token"}, "UserType": "SELF"}
        ),
        json.dumps(
            {"LoginReq": {"MsgCode": 42, "ClientId": "1000000001"}, "UserType": "PARTNER", "Secret": "x"}
        ),
        "not json",
        "[]",
    ],
)
async def test_a_bad_login_closes_the_socket(sims: SimPool, frame: str) -> None:
    served = sims.start()
    async with connect(served.order_update_url) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == 1008


async def test_pause_order_updates_holds_alerts_then_delivers_them_in_order(sims: SimPool) -> None:
    served = sims.start()
    ws = await logged_in(served)
    try:
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            paused = await http.post("/sim/faults", json={"kind": "pause_order_updates", "seconds": 0.5})
            assert paused.status_code == 200
            for number in ("1", "2", "3"):
                await emit(served, an_alert(number))
            assert runtime_of(served).order_updates.held == 3  # emit() returns once the hub has it
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.1)  # nothing while paused
            received = [(await next_message(ws))["Data"]["OrderNo"] for _ in range(3)]
    finally:
        await ws.close()
    assert received == ["1", "2", "3"]


async def test_reset_fault_releases_held_alerts_at_once(sims: SimPool) -> None:
    served = sims.start()
    ws = await logged_in(served)
    try:
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            await http.post("/sim/faults", json={"kind": "pause_order_updates", "seconds": 3600})
            await emit(served, an_alert("7"))
            assert runtime_of(served).order_updates.held == 1
            await http.post("/sim/faults", json={"kind": "reset"})
        assert (await next_message(ws))["Data"]["OrderNo"] == "7"
    finally:
        await ws.close()
