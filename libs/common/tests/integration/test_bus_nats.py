"""What only a real NATS server can show: durable consumers across broken connections and new
processes, idempotent stream set-up, and the `Nats-Msg-Id` header on the wire.

Connections run through a small TCP proxy so a test can cut them (a network fault or a killed
process) without touching the shared server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal, TypeVar
from urllib.parse import urlparse

import nats
import pytest

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.nats import NatsBus, stream_config
from sarathi.common.bus.port import ConsumerOptions
from sarathi.common.clock import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.base import Message, register

T = TypeVar("T")
WAIT_SECONDS = 15.0
# A short ack_wait: a message held by a client that vanished comes back after about a second.
OPTIONS = ConsumerOptions(ack_wait_seconds=1.0, max_deliver=5, backoff_seconds=(0.05,))


@register
class NatsPing(Message):
    type: Literal["test.NatsPing"] = "test.NatsPing"
    n: int


def a_ping(n: int) -> NatsPing:
    return NatsPing(
        message_id=f"nats-ping-{n}",
        correlation_id="trade-1",
        event_time=datetime(2025, 1, 6, 9, 25, tzinfo=IST),
        n=n,
    )


async def next_item(queue: asyncio.Queue[T]) -> T:
    return await asyncio.wait_for(queue.get(), WAIT_SECONDS)


class TcpProxy:
    """Forwards local connections to the NATS server; `cut()` breaks every open connection."""

    def __init__(self, target_url: str) -> None:
        parsed = urlparse(target_url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 4222
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"nats://127.0.0.1:{port}"
        return self

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(self._host, self._port)
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            self._pipe(client_reader, server_writer),
            self._pipe(server_reader, client_writer),
            return_exceptions=True,
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            self._writers.discard(writer)

    def cut(self) -> None:
        """Abort every proxied connection (the clients see the connection drop)."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        """Stop listening and cut everything: the server becomes unreachable through the proxy."""
        if self._server is not None:
            self._server.close()
        self.cut()


@pytest.fixture
async def proxy(jetstream_clean: str) -> AsyncIterator[TcpProxy]:
    running = await TcpProxy(jetstream_clean).start()
    yield running
    await running.stop()


@pytest.fixture
async def publisher(jetstream_clean: str) -> AsyncIterator[NatsBus]:
    """A client that is never cut: it creates the streams and publishes while others are down."""
    bus = await NatsBus.connect(jetstream_clean, name="test-publisher")
    await bus.ensure_streams()
    yield bus
    await bus.close()


async def test_new_client_gets_the_unacked_message_again_then_the_one_published_while_down(
    proxy: TcpProxy, publisher: NatsBus, jetstream_clean: str
) -> None:
    # A consumer in a first process takes A but dies before acking it.
    first = await NatsBus.connect(proxy.url, name="orders-1", reconnect_wait_seconds=1)
    taken: asyncio.Queue[int] = asyncio.Queue()

    async def dies_holding(message: NatsPing) -> None:
        taken.put_nowait(message.n)
        await asyncio.Event().wait()  # never acks

    await first.consume(
        "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, dies_holding, OPTIONS, accepts=NatsPing
    )
    await publisher.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(1))
    assert await next_item(taken) == 1
    await proxy.stop()  # the process is gone: it can neither ack nor nak
    await publisher.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(2))

    # A new process with the same durable name.
    second = await NatsBus.connect(jetstream_clean, name="orders-2")
    received: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    deliveries: dict[int, int] = {}

    async def handles(message: NatsPing) -> None:
        deliveries[message.n] = deliveries.get(message.n, 0) + 1
        received.put_nowait((message.n, deliveries[message.n]))

    try:
        consumer = await second.consume(
            "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, handles, OPTIONS, accepts=NatsPing
        )
        assert [await next_item(received), await next_item(received)] == [(1, 1), (2, 1)]
        await consumer.stop()

        # Acked messages are not delivered again: a third process resumes after B.
        await publisher.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(3))
        await second.consume(
            "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, handles, OPTIONS, accepts=NatsPing
        )
        assert await next_item(received) == (3, 1)
        assert deliveries == {1: 1, 2: 1, 3: 1}
    finally:
        await second.close()
        await first.close()


async def test_a_consumer_keeps_consuming_across_a_dropped_connection(
    proxy: TcpProxy, publisher: NatsBus
) -> None:
    bus = await NatsBus.connect(proxy.url, name="signals", reconnect_wait_seconds=1)
    received: asyncio.Queue[int] = asyncio.Queue()

    async def handles(message: NatsPing) -> None:
        received.put_nowait(message.n)

    try:
        await bus.consume("MD_BARS", "signals", subjects.BARS_ALL, handles, OPTIONS, accepts=NatsPing)
        await publisher.publish_durable(subjects.bar("5m", Underlying.NIFTY), a_ping(1))
        assert await next_item(received) == 1

        proxy.cut()
        await publisher.publish_durable(subjects.bar("5m", Underlying.NIFTY), a_ping(2))
        await publisher.publish_durable(subjects.bar("5m", Underlying.NIFTY), a_ping(3))

        after_cut = [await next_item(received)]
        while after_cut[-1] != 3:
            after_cut.append(await next_item(received))
        # Nothing lost and in order; 1 may come again if its ack was on the wire when we cut.
        assert after_cut in ([2, 3], [1, 2, 3])
        assert bus.is_connected  # reconnected by itself, same consumer task
    finally:
        await bus.close()
    assert not bus.is_connected


async def test_ensure_streams_twice_is_idempotent_and_keeps_stored_messages(
    publisher: NatsBus, jetstream_clean: str
) -> None:
    stored = await publisher.publish_durable(subjects.signal(Underlying.SENSEX), a_ping(1))
    await publisher.kv_put(streams.TRADING_STATE_KEY, b"PAUSED")

    await publisher.ensure_streams()
    await publisher.ensure_streams()

    raw = await nats.connect(jetstream_clean)
    try:
        js = raw.jetstream()
        names = {info.config.name for info in await js.streams_info()}
        assert {spec.name for spec in streams.STREAMS} | {"KV_control"} <= names
        for spec in streams.STREAMS:
            config = (await js.stream_info(spec.name)).config
            expected = stream_config(spec)
            assert (config.subjects, config.storage, config.duplicate_window, config.max_age) == (
                expected.subjects,
                expected.storage,
                expected.duplicate_window,
                expected.max_age,
            )
        assert (await js.stream_info("SIGNALS")).state.messages == 1
        assert stored.sequence == 1
    finally:
        await raw.close()
    entry = await publisher.kv_get(streams.TRADING_STATE_KEY)
    assert entry is not None
    assert entry.value == b"PAUSED"


async def test_a_durable_publish_carries_the_message_id_as_nats_msg_id(
    publisher: NatsBus, jetstream_clean: str
) -> None:
    result = await publisher.publish_durable(subjects.ORDER_CMD_EXIT, a_ping(9))

    raw = await nats.connect(jetstream_clean)
    try:
        stored = await raw.jetstream().get_msg("ORDER_CMD", result.sequence)
    finally:
        await raw.close()
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == "nats-ping-9"
