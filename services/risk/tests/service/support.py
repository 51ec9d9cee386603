"""The risk service on the in-memory bus, a fake clock and the in-memory store, plus a fake feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.memory import InMemoryBroker, InMemoryBus
from sarathi.common.clock import FakeClock
from sarathi.common.domain.instruments import (
    Contract,
    ContractKey,
    ExchangeSegment,
    OptionType,
    SecurityId,
    Underlying,
)
from sarathi.common.messages.base import Message, decode, envelope
from sarathi.common.messages.market import (
    SubscribeReply,
    SubscribeRequest,
    TickSnapshot,
    TickSnapshotRequest,
    UnsubscribeReply,
    UnsubscribeRequest,
)
from sarathi.common.messages.orders import ExitPosition
from sarathi.risk.adapters.refdata import ContractNames
from sarathi.risk.adapters.store import MemoryStore
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.service import RiskService
from sarathi.risk.settings import RiskSettings

from ..builders import LOT, NIFTY_CALL, OPEN, a_tick

TOKEN = "test-token"


@dataclass
class FakeFeed:
    """Answers feed.subscribe / unsubscribe / snapshot and remembers what was held."""

    held: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    async def subscribe(self, message: SubscribeRequest) -> Message:
        self.held |= {i.security_id for i in message.instruments}
        self.requests.append("subscribe")
        return SubscribeReply(
            **envelope(correlation_id="feed", event_time=message.event_time), subscribed=message.instruments
        )

    async def unsubscribe(self, message: UnsubscribeRequest) -> Message:
        self.held -= {i.security_id for i in message.instruments}
        self.requests.append("unsubscribe")
        return UnsubscribeReply(
            **envelope(correlation_id="feed", event_time=message.event_time), unsubscribed=message.instruments
        )

    async def snapshot(self, message: TickSnapshotRequest) -> Message:
        return TickSnapshot(**envelope(correlation_id="feed", event_time=message.event_time))


def settings(**overrides: Any) -> RiskSettings:
    values: dict[str, Any] = {"control_token": TOKEN}
    values.update(overrides)
    return RiskSettings(**values)


@dataclass
class Rig:
    bus: InMemoryBus
    clock: FakeClock
    store: MemoryStore
    feed: FakeFeed
    service: RiskService

    async def event(self, message: Message) -> None:
        if message.type.startswith("Position"):
            subject = subjects.position_event(message.type)
        elif message.type.startswith("Order"):
            subject = subjects.order_event(message.type)
        else:
            subject = subjects.ORDER_CMD_EXIT
        await self.bus.publish_durable(subject, message)
        await self.bus.settle()

    async def tick(self, price: str, security_id: str | None = None) -> None:
        now = self.clock.now()
        tick = a_tick(price, now) if security_id is None else a_tick(price, now, security_id)
        await self.bus.publish(subjects.tick(tick.segment, tick.security_id), tick)
        await self.bus.settle()

    async def advance(self, seconds: float, price: str | None = None) -> None:
        """Let market time pass one second at a time (a tick each second when `price` is given)."""
        for _ in range(round(seconds)):
            rounds = self.service.loop.rounds
            self.clock.advance(timedelta(seconds=1))
            due = self.clock.now().timestamp() % self.service.settings.risk_loop_interval_seconds == 0
            if price is not None:
                await self.tick(price)
            if due:
                await wait_for(lambda r=rounds: self.service.loop.rounds > r)
            await self.bus.settle()

    def exits(self) -> list[ExitPosition]:
        return [m for m in self.stored(streams.ORDER_CMD.name) if isinstance(m, ExitPosition)]

    def stored(self, stream: str) -> list[Message]:
        return [decode(m.data) for m in self.bus.broker.messages(stream)]

    def risk_events(self, type_name: str) -> list[Message]:
        return [m for m in self.stored(streams.RISK_EVT.name) if m.type == type_name]


async def wait_for(condition: Any, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a counter the loop bumps; yielding lets it run
            await asyncio.sleep(0)


@asynccontextmanager
async def risk_running(
    *,
    store: MemoryStore | None = None,
    broker: InMemoryBroker | None = None,
    clock: FakeClock | None = None,
    names: ContractNames | None = None,
    bus_type: type[InMemoryBus] = InMemoryBus,
    **overrides: Any,
) -> AsyncIterator[Rig]:
    clock = clock or FakeClock(OPEN)
    bus = bus_type(broker or InMemoryBroker(clock))
    await bus.ensure_streams()
    feed = FakeFeed()
    await bus.serve(subjects.FEED_SUBSCRIBE, feed.subscribe, accepts=SubscribeRequest)
    await bus.serve(subjects.FEED_UNSUBSCRIBE, feed.unsubscribe, accepts=UnsubscribeRequest)
    await bus.serve(subjects.FEED_SNAPSHOT, feed.snapshot, accepts=TickSnapshotRequest)
    store = store if store is not None else MemoryStore()
    service = RiskService(settings(**overrides), bus, clock, store, RiskMetrics(), names=names)
    try:
        async with service.running():
            await bus.settle()
            yield Rig(bus, clock, store, feed, service)
    finally:
        await bus.close()


def pnl(entry: str, price: str, quantity: int) -> Decimal:
    return (Decimal(price) - Decimal(entry)) * quantity


@dataclass
class ListedNames:
    """The Derivative table in memory: contract by (segment, security id)."""

    listed: dict[ContractKey, Contract] = field(default_factory=dict)

    async def contract(self, held: ContractKey, opened_on: date) -> Contract | None:
        return self.listed.get(held)


def a_listed_nifty_call(security_id: str = NIFTY_CALL, strike: str = "24200") -> Contract:
    return Contract(
        security_id=SecurityId(security_id), segment=ExchangeSegment.NSE_FNO, underlying=Underlying.NIFTY,
        expiry=date(2026, 9, 22), strike=Decimal(strike), option_type=OptionType.CALL, lot_size=LOT,
        tick_size=Decimal("0.05"),
    )  # fmt: skip
