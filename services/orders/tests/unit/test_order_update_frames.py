"""The order-update client's frame count (`frames`), against a real socket on loopback.

The held day's clock protocol compares it with the frames the sim sent, so each frame read counts exactly
once, only after its handling finished, whatever the frame held, and across reconnects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

from structlog.testing import capture_logs
from websockets.asyncio.server import ServerConnection, serve

from sarathi.common.domain.trading import OrderStatus
from sarathi.orders.adapters.order_updates import OrderUpdateClient
from sarathi.orders.domain.model import BrokerOrder

WITHIN = 5.0


def an_alert(order_no: str, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "Exchange": "NSE", "Segment": "D", "SecurityId": "47317", "OrderNo": order_no, "TxnType": "B",
        "Quantity": 75, "TradedQty": 0, "Status": "Pending", "CorrelationId": "sub-1",
    }  # fmt: skip
    data.update(fields)
    return {"Type": "order_alert", "Data": data}


def a_frame(*objects: dict[str, object]) -> str:
    """Several JSON objects back to back, as Dhan may send them in one frame."""
    return "".join(json.dumps(obj) for obj in objects)


class Books:
    """The recorder as the client sees it: reports it was given, optionally held at a gate."""

    def __init__(self, *, hold: str | None = None, fail: bool = False) -> None:
        self.reports: list[BrokerOrder] = []
        self.rereads = 0
        self.holding = asyncio.Event()
        self.gate = asyncio.Event()
        self._hold = hold
        self._fail = fail

    async def record(self, report: BrokerOrder) -> None:
        if report.broker_order_id == self._hold:
            self.holding.set()
            await self.gate.wait()
        if self._fail:
            raise ConnectionError("the database hiccupped")
        self.reports.append(report)

    async def reread(self) -> None:
        self.rereads += 1


@asynccontextmanager
async def a_dhan_socket(frames_per_connection: list[list[str]]) -> AsyncIterator[str]:
    """A loopback order-update socket: after the login, connection n gets the n-th list of frames."""
    connections = iter(frames_per_connection)

    async def handler(socket: ServerConnection) -> None:
        await socket.recv()  # the login
        for frame in next(connections, []):
            await socket.send(frame)
        await socket.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


@asynccontextmanager
async def a_client(url: str, books: Books) -> AsyncIterator[OrderUpdateClient]:
    client = OrderUpdateClient(
        url=url,
        client_id="1100000001",
        token=lambda: "token",
        on_report=books.record,
        on_connected=books.reread,
        reread_delay_seconds=0.0,
    )
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(check: Callable[[], bool], what: str) -> None:
    """Poll `check` until true; fail after WITHIN seconds."""
    deadline = asyncio.get_running_loop().time() + WITHIN
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_frame_counts_once_and_only_after_every_alert_in_it_is_recorded() -> None:
    books = Books(hold="B2")
    frame = a_frame(an_alert("B1"), an_alert("B2"))
    async with a_dhan_socket([[frame]]) as url, a_client(url, books) as client:
        await asyncio.wait_for(books.holding.wait(), WITHIN)  # B1 recorded, B2 being recorded

        assert [r.broker_order_id for r in books.reports] == ["B1"]
        assert client.frames == 0, "a frame half handled is not counted"

        books.gate.set()
        await until(lambda: client.frames == 1, "the frame to be counted")
        assert [r.broker_order_id for r in books.reports] == ["B1", "B2"]


async def test_skipped_frames_count_once_handled_like_recorded_ones() -> None:
    books = Books()
    frames = [
        "not json at all",  # unparseable: skipped, the books re-read
        a_frame(an_alert("B1", Exchange="XYZ")),  # unmappable: skipped
        a_frame({"Type": "heartbeat"}),  # no alert in it
        a_frame(an_alert("B2")),
    ]
    async with a_dhan_socket([frames]) as url, a_client(url, books) as client:
        await until(lambda: client.frames == 4, "four frames to be counted")

        assert [r.broker_order_id for r in books.reports] == ["B2"]
        await until(lambda: books.rereads >= 2, "the re-read after login and after the unparsed frame")


async def test_a_frame_whose_recording_failed_still_counts_as_handled() -> None:
    books = Books(fail=True)  # the reconciliation records what the socket could not
    async with a_dhan_socket([[a_frame(an_alert("B1"))]]) as url, a_client(url, books) as client:
        await until(lambda: client.frames == 1, "the frame to be counted")

        assert books.reports == []


async def test_frames_are_counted_across_reconnects() -> None:
    books = Books()
    first, second = [a_frame(an_alert("B1")), a_frame(an_alert("B2"))], [a_frame(an_alert("B3"))]
    async with a_dhan_socket([first, second]) as url, a_client(url, books) as client:
        await until(lambda: client.frames == 2, "the first connection's frames")

        client.reconnect()
        await until(lambda: client.frames == 3, "the second connection's frame")

        assert client.connections == 2
        assert [r.broker_order_id for r in books.reports] == ["B1", "B2", "B3"]


def in_camel_case(alert: dict[str, object]) -> dict[str, object]:
    """An alert as the socket was seen to send it live: camelCase keys in `Data`."""
    data = alert["Data"]
    assert isinstance(data, dict)
    return {**alert, "Data": {key[0].lower() + key[1:]: value for key, value in data.items()}}


async def test_camel_case_alerts_are_recorded_like_the_documented_pascal_case_ones() -> None:
    books = Books()
    frames = [
        a_frame(in_camel_case(an_alert("C1", Status="Pending"))),
        a_frame(in_camel_case(an_alert("C1", Status="traded", TradedQty=75, AvgTradedPrice=101.5))),
        a_frame(an_alert("P1", Status="TRADED", TradedQty=75, AvgTradedPrice=101.5)),
    ]
    async with a_dhan_socket([frames]) as url, a_client(url, books) as client:
        await until(lambda: client.frames == 3, "three frames to be counted")

    camel_fill, pascal_fill = books.reports[1], books.reports[2]
    assert [r.broker_order_id for r in books.reports] == ["C1", "C1", "P1"]
    assert books.reports[0].status is OrderStatus.PENDING
    assert (camel_fill.status, camel_fill.filled_quantity, camel_fill.average_price) == (
        OrderStatus.TRADED, 75, Decimal("101.5"),
    )  # fmt: skip
    assert (camel_fill.side, camel_fill.contract, camel_fill.correlation_id) == (
        pascal_fill.side, pascal_fill.contract, pascal_fill.correlation_id,
    )  # fmt: skip


async def test_a_frame_that_cannot_be_read_is_logged_raw_and_the_books_are_re_read() -> None:
    books = Books()
    unreadable = '{"Type":"order_alert","Data":{"ordNum":"X9","state":"Traded"}}'  # neither spelling
    with capture_logs() as logs:
        async with a_dhan_socket([[unreadable]]) as url, a_client(url, books) as client:
            await until(lambda: client.frames == 1, "the frame to be counted")
            await until(lambda: books.rereads >= 2, "the re-reads after login and after the frame")

    assert books.reports == []
    unparsed = [entry for entry in logs if entry["event"] == "order_update_frame_unparsed"]
    assert [entry["raw"] for entry in unparsed] == [unreadable]
