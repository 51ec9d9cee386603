"""One contract, two buses: every case runs on `InMemoryBus` and on `NatsBus` over a real server.

What passes here is what services may rely on, whichever bus their tests or production use.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

import nats
import pytest

from sarathi.common.bus import delivery, streams, subjects
from sarathi.common.bus.memory import InMemoryBroker, InMemoryBus
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import (
    Bus,
    ConsumerOptions,
    NoRespondersError,
    RequestFailedError,
    one_of,
)
from sarathi.common.clock import IST
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.messages.base import Message, register

T = TypeVar("T")
WAIT_SECONDS = 10.0
FAST = ConsumerOptions(ack_wait_seconds=5.0, max_deliver=3, backoff_seconds=(0.05,))


@register
class ContractPing(Message):
    type: Literal["test.ContractPing"] = "test.ContractPing"
    n: int


@register
class ContractPong(Message):
    type: Literal["test.ContractPong"] = "test.ContractPong"
    n: int


def a_ping(n: int, message_id: str | None = None) -> ContractPing:
    return ContractPing(
        message_id=message_id or f"ping-{n}",
        correlation_id="trade-1",
        event_time=datetime(2025, 1, 6, 9, 20, tzinfo=IST),
        n=n,
    )


@dataclass(frozen=True)
class DeadLetter:
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass
class Harness:
    """A bus plus what only a test needs: raw durable publishes and a look at the dead letters."""

    bus: Bus
    publish_raw_durable: Callable[[str, bytes], Awaitable[None]]
    dead_letters: Callable[[], Awaitable[list[DeadLetter]]]


@pytest.fixture
async def memory_harness() -> AsyncIterator[Harness]:
    broker = InMemoryBroker()
    bus = InMemoryBus(broker)

    async def publish_raw(subject: str, data: bytes) -> None:
        await broker.append(subject, data, {}, None)

    async def dead_letters() -> list[DeadLetter]:
        return [DeadLetter(m.subject, m.data, m.headers) for m in broker.messages(streams.DEAD_LETTER.name)]

    try:
        yield Harness(bus, publish_raw, dead_letters)
    finally:
        await bus.close()


@pytest.fixture
async def nats_harness(jetstream_clean: str) -> AsyncIterator[Harness]:
    bus = await NatsBus.connect(jetstream_clean, name="contract-test")
    raw = await nats.connect(jetstream_clean)
    js = raw.jetstream()

    async def publish_raw(subject: str, data: bytes) -> None:
        await js.publish(subject, data)

    async def dead_letters() -> list[DeadLetter]:
        info = await js.stream_info(streams.DEAD_LETTER.name)
        letters: list[DeadLetter] = []
        if not info.state.messages:
            return letters
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(streams.DEAD_LETTER.name, seq)
            letters.append(DeadLetter(msg.subject or "", msg.data or b"", dict(msg.headers or {})))
        return letters

    try:
        yield Harness(bus, publish_raw, dead_letters)
    finally:
        await bus.close()
        await raw.close()


@pytest.fixture(params=["memory", "nats"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """The same cases on both buses (a sync fixture: it may set up either async one)."""
    ready: Harness = request.getfixturevalue(f"{request.param}_harness")
    return ready


@pytest.fixture
async def bus(harness: Harness) -> Bus:
    await harness.bus.ensure_streams()
    return harness.bus


async def next_item(queue: asyncio.Queue[T]) -> T:
    return await asyncio.wait_for(queue.get(), WAIT_SECONDS)


def collector() -> tuple[asyncio.Queue[ContractPing], Callable[[ContractPing], Awaitable[None]]]:
    queue: asyncio.Queue[ContractPing] = asyncio.Queue()

    async def handler(message: ContractPing) -> None:
        queue.put_nowait(message)

    return queue, handler


def numbers(messages: list[ContractPing]) -> list[int]:
    return [m.n for m in messages]


def a_pong(n: int) -> ContractPong:
    return ContractPong(
        message_id=f"pong-{n}",
        correlation_id="trade-1",
        event_time=datetime(2025, 1, 6, 9, 20, tzinfo=IST),
        n=n,
    )


async def test_core_publish_reaches_a_wildcard_subscriber(bus: Bus) -> None:
    received, handler = collector()
    await bus.subscribe(subjects.tick_wildcard(ExchangeSegment.NSE_FNO), handler, accepts=ContractPing)

    await bus.publish(subjects.tick(ExchangeSegment.NSE_FNO, "35001"), a_ping(1))

    assert await next_item(received) == a_ping(1)


async def test_request_is_answered_by_the_server_of_its_subject(bus: Bus) -> None:
    async def answer(message: ContractPing) -> Message:
        return a_ping(message.n + 1, message_id="pong")

    await bus.serve(subjects.FEED_SUBSCRIBE, answer, accepts=ContractPing)

    reply = await bus.request(subjects.FEED_SUBSCRIBE, a_ping(41), timeout_seconds=WAIT_SECONDS)

    assert reply == a_ping(42, message_id="pong")


async def test_request_without_a_server_fails_fast(bus: Bus) -> None:
    with pytest.raises(NoRespondersError):
        await bus.request(subjects.FEED_UNSUBSCRIBE, a_ping(1), timeout_seconds=WAIT_SECONDS)


async def test_request_whose_handler_raises_gets_a_typed_failure(bus: Bus) -> None:
    async def broken(_: ContractPing) -> Message:
        raise RuntimeError("feed is down")

    await bus.serve(subjects.FEED_SUBSCRIBE, broken, accepts=ContractPing)

    with pytest.raises(RequestFailedError, match="feed is down"):
        await bus.request(subjects.FEED_SUBSCRIBE, a_ping(1), timeout_seconds=WAIT_SECONDS)


async def test_durable_publish_with_the_same_message_id_is_stored_once(bus: Bus) -> None:
    first = await bus.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(1, message_id="cmd-1"))
    again = await bus.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(1, message_id="cmd-1"))
    other = await bus.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(2, message_id="cmd-2"))
    received, handler = collector()

    await bus.consume("ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, handler, FAST, accepts=ContractPing)

    assert (first.stream, first.duplicate) == ("ORDER_CMD", False)
    assert (again.sequence, again.duplicate) == (first.sequence, True)
    assert other.sequence == first.sequence + 1
    assert numbers([await next_item(received), await next_item(received)]) == [1, 2]
    assert received.empty()


async def test_a_failing_handler_gets_the_message_again_until_it_succeeds(bus: Bus) -> None:
    attempts: dict[int, int] = {}
    done: asyncio.Queue[int] = asyncio.Queue()

    async def flaky(message: ContractPing) -> None:
        attempts[message.n] = attempts.get(message.n, 0) + 1
        if message.n == 1 and attempts[1] < 3:
            raise RuntimeError("database briefly unavailable")
        done.put_nowait(message.n)

    await bus.consume("SIGNALS", "execution", subjects.SIGNALS_ALL, flaky, FAST, accepts=ContractPing)
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_ping(1))
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_ping(2))

    assert [await next_item(done), await next_item(done)] == [1, 2]
    assert attempts == {1: 3, 2: 1}  # acked once handled: message 1 is not delivered a fourth time


async def test_an_undecodable_payload_is_dead_lettered_and_the_next_message_flows(harness: Harness) -> None:
    bus = harness.bus
    await bus.ensure_streams()
    received, handler = collector()
    await bus.consume("ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, handler, FAST, accepts=ContractPing)

    await harness.publish_raw_durable(subjects.ORDER_CMD_SUBMIT, b"{not json")
    await bus.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(7))

    assert numbers([await next_item(received)]) == [7]
    [letter] = await harness.dead_letters()
    assert letter.subject == "dlq.order.cmd.submit"
    assert letter.data == b"{not json"
    assert letter.headers[delivery.DLQ_REASON].startswith("undecodable")
    assert letter.headers[delivery.DLQ_STREAM] == "ORDER_CMD"


async def test_a_message_failing_max_deliver_times_is_dead_lettered(harness: Harness) -> None:
    bus = harness.bus
    await bus.ensure_streams()
    attempts: list[int] = []
    received: asyncio.Queue[int] = asyncio.Queue()

    async def poisoned_by_one(message: ContractPing) -> None:
        if message.n == 1:
            attempts.append(1)
            raise ValueError("cannot handle this one")
        received.put_nowait(message.n)

    await bus.consume(
        "RISK_EVT", "risk-audit", subjects.RISK_EVENTS_ALL, poisoned_by_one, FAST, accepts=ContractPing
    )
    await bus.publish_durable(subjects.risk_event("ExitTriggered"), a_ping(1))
    await bus.publish_durable(subjects.risk_event("ExitTriggered"), a_ping(2))

    assert await next_item(received) == 2
    assert len(attempts) == FAST.max_deliver
    [letter] = await harness.dead_letters()
    assert letter.subject == "dlq.risk.evt.ExitTriggered"
    assert letter.headers[delivery.DLQ_DELIVERIES] == str(FAST.max_deliver)


async def test_a_durable_consumer_resumes_after_the_last_acked_message(bus: Bus) -> None:
    received, handler = collector()
    consumer = await bus.consume(
        "ORDER_EVT", "risk", subjects.ORDER_EVENTS_ALL, handler, FAST, accepts=ContractPing
    )
    await bus.publish_durable(subjects.order_event("OrderFilled"), a_ping(1))
    assert numbers([await next_item(received)]) == [1]
    await consumer.stop()

    await bus.publish_durable(subjects.order_event("OrderFilled"), a_ping(2))
    await bus.consume("ORDER_EVT", "risk", subjects.ORDER_EVENTS_ALL, handler, FAST, accepts=ContractPing)

    assert numbers([await next_item(received)]) == [2]


async def test_a_message_interrupted_mid_handler_is_delivered_again_on_resume(bus: Bus) -> None:
    started: asyncio.Queue[int] = asyncio.Queue()
    never = asyncio.Event()

    async def stuck(message: ContractPing) -> None:
        started.put_nowait(message.n)
        await never.wait()

    consumer = await bus.consume("MD_BARS", "signals", subjects.BARS_ALL, stuck, FAST, accepts=ContractPing)
    await bus.publish_durable(subjects.bar("5m", Underlying.NIFTY), a_ping(1))
    assert await next_item(started) == 1
    await consumer.stop()
    received, handler = collector()

    await bus.consume("MD_BARS", "signals", subjects.BARS_ALL, handler, FAST, accepts=ContractPing)

    assert numbers([await next_item(received)]) == [1]


async def test_a_control_change_is_seen_by_a_watcher(bus: Bus) -> None:
    await bus.kv_put(streams.TRADING_STATE_KEY, TradingState.ACTIVE.encode())
    seen: asyncio.Queue[bytes] = asyncio.Queue()

    async def watch() -> None:
        async for entry in bus.kv_watch(streams.TRADING_STATE_KEY):
            seen.put_nowait(entry.value)

    watcher = asyncio.create_task(watch())
    try:
        assert await next_item(seen) == b"ACTIVE"  # the current state first
        revision = await bus.kv_put(streams.TRADING_STATE_KEY, TradingState.HALTED.encode())
        assert await next_item(seen) == b"HALTED"
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    current = await bus.kv_get(streams.TRADING_STATE_KEY)
    assert current is not None
    assert (current.value, current.revision) == (b"HALTED", revision)
    assert await bus.kv_get("no_such_key") is None


async def test_a_message_of_another_type_is_dead_lettered_and_the_handler_never_sees_it(
    harness: Harness,
) -> None:
    bus = harness.bus
    await bus.ensure_streams()
    seen: asyncio.Queue[Message] = asyncio.Queue()

    async def pings_only(message: ContractPing) -> None:
        seen.put_nowait(message)

    await bus.consume("SIGNALS", "execution", subjects.SIGNALS_ALL, pings_only, FAST, accepts=ContractPing)
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_pong(1))
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_ping(2))

    assert await next_item(seen) == a_ping(2)
    assert seen.empty()
    [letter] = await harness.dead_letters()
    assert letter.subject == "dlq.signal.NIFTY"
    assert letter.data == a_pong(1).encode()
    assert letter.headers[delivery.DLQ_REASON] == (
        "unexpected type: expected test.ContractPing, got test.ContractPong"
    )


async def test_a_handler_of_several_types_gets_each_of_them(harness: Harness) -> None:
    bus = harness.bus
    await bus.ensure_streams()
    seen: asyncio.Queue[Message] = asyncio.Queue()

    async def both(message: ContractPing | ContractPong) -> None:
        seen.put_nowait(message)

    await bus.consume(
        "SIGNALS", "execution", subjects.SIGNALS_ALL, both, FAST, accepts=one_of(ContractPing, ContractPong)
    )
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_pong(1))
    await bus.publish_durable(subjects.signal(Underlying.NIFTY), a_ping(2))

    assert [await next_item(seen), await next_item(seen)] == [a_pong(1), a_ping(2)]
    assert await harness.dead_letters() == []


async def test_a_core_message_of_another_type_is_dropped_with_a_warning_not_handled(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    seen: asyncio.Queue[Message] = asyncio.Queue()

    async def pings_only(message: ContractPing) -> None:
        seen.put_nowait(message)

    await bus.subscribe(subjects.tick_wildcard(ExchangeSegment.NSE_FNO), pings_only, accepts=ContractPing)
    await bus.publish(subjects.tick(ExchangeSegment.NSE_FNO, "35001"), a_pong(1))
    await bus.publish(subjects.tick(ExchangeSegment.NSE_FNO, "35001"), a_ping(2))

    assert await next_item(seen) == a_ping(2)
    assert seen.empty()
    assert "expected test.ContractPing, got test.ContractPong" in caplog.text


async def test_a_request_of_another_type_gets_a_typed_failure_naming_both_types(bus: Bus) -> None:
    called: list[Message] = []

    async def answer(message: ContractPing) -> Message:
        called.append(message)
        return a_ping(message.n + 1, message_id="pong")

    await bus.serve(subjects.FEED_SUBSCRIBE, answer, accepts=ContractPing)

    expected = re.escape("unexpected request: expected test.ContractPing, got test.ContractPong")
    with pytest.raises(RequestFailedError, match=expected):
        await bus.request(subjects.FEED_SUBSCRIBE, a_pong(1), timeout_seconds=WAIT_SECONDS)
    assert called == []
