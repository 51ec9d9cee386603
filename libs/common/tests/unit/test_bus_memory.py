"""In-memory bus behaviour that only a fake clock can show: nak backoff measured in clock time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.bus.port import ConsumerOptions
from sarathi.common.clock import IST, FakeClock
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.base import Message, register

START = datetime(2026, 9, 15, 9, 20, tzinfo=IST)


@register
class MemoryPing(Message):
    type: Literal["test.MemoryPing"] = "test.MemoryPing"
    n: int


def a_ping(n: int) -> MemoryPing:
    return MemoryPing(message_id=f"mp-{n}", correlation_id="t", event_time=START, n=n)


async def test_a_failed_message_is_redelivered_only_after_its_backoff_in_clock_time() -> None:
    clock = FakeClock(START)
    bus = InMemoryBus(clock=clock)
    await bus.ensure_streams()
    attempts: list[int] = []

    async def flaky(message: MemoryPing) -> None:
        attempts.append(message.n)
        if len(attempts) == 1:
            raise RuntimeError("first delivery fails")

    subject = subjects.signal(Underlying.NIFTY)
    options = ConsumerOptions(ack_wait_seconds=30, max_deliver=3, backoff_seconds=(10,))
    await bus.consume(streams.SIGNALS.name, "flaky", subject, flaky, options, accepts=MemoryPing)
    await bus.publish_durable(subject, a_ping(1))
    await bus.settle()
    assert attempts == [1]

    clock.advance(9)
    await bus.settle()
    assert attempts == [1], "redelivered before the 10 s backoff passed"

    clock.advance(1)
    await bus.settle()
    assert attempts == [1, 1]

    clock.advance(60)
    await bus.settle()
    assert attempts == [1, 1], "acked after success: never delivered again"
    await bus.close()


async def test_settle_returns_once_every_published_message_is_handled() -> None:
    bus = InMemoryBus()
    await bus.ensure_streams()
    seen: list[int] = []

    async def record(message: MemoryPing) -> None:
        seen.append(message.n)

    subject = subjects.signal(Underlying.BANKNIFTY)
    await bus.consume(streams.SIGNALS.name, "recorder", subject, record, accepts=MemoryPing)
    for n in range(5):
        await bus.publish_durable(subject, a_ping(n))
    await bus.settle()
    assert seen == [0, 1, 2, 3, 4]
    await bus.close()
