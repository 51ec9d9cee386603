"""What the sim's lockstep reads from `GET /status`, on real PostgreSQL, NATS and the real sim:
`outbox_pending` (events committed to the outbox and not yet on JetStream) and
`order_update_frames` (order-update frames fully handled)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import httpx
import pytest
from fastapi import FastAPI

from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import Bus, PublishResult
from sarathi.common.clock import FakeClock
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.common.messages.base import Message
from sarathi.orders.adapters.publisher import OutboxPublisher
from sarathi.orders.adapters.store import Store
from sarathi.orders.api import build_router
from sarathi.orders.domain.model import BrokerOrder
from sarathi.orders.recorder import Recorder

from .harness import Orders, Sim, a_stored_submit, a_submit, orders_running, settings_for, wait_until

pytestmark = pytest.mark.integration

START = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)  # 09:30 IST
CONTRACT = ContractKey(ExchangeSegment.NSE_FNO, "41000")


@pytest.fixture
async def bus(jetstream_clean: str) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(jetstream_clean, name="orders-test")
    await bus.ensure_streams()
    try:
        yield bus
    finally:
        await bus.close()


class HeldBus:
    """The real bus, each durable publish held until released: JetStream has not acked it yet."""

    def __init__(self, bus: NatsBus) -> None:
        self._bus = bus
        self.publishing = asyncio.Event()
        self.release = asyncio.Event()
        self.acked: list[PublishResult] = []

    async def publish_durable(self, subject: str, msg: Message) -> PublishResult:
        self.publishing.set()
        await self.release.wait()
        result = await self._bus.publish_durable(subject, msg)
        self.acked.append(result)
        return result


def a_filled_entry(command_id: str) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id="B1", correlation_id=command_id, contract=CONTRACT, side=Side.BUY, leg=Leg.ENTRY,
        status=OrderStatus.TRADED, quantity=75, filled_quantity=75, average_price=Decimal("101"),
        updated_at=START,
    )  # fmt: skip


async def test_an_event_is_pending_from_its_commit_until_jetstream_acked_it_and_it_is_marked(
    store: Store, bus: NatsBus
) -> None:
    clock = FakeClock(START)
    held = HeldBus(bus)
    publisher = OutboxPublisher(store, cast(Bus, held), clock)
    recorder = Recorder(store, clock, product="INTRADAY")
    await a_stored_submit(store, "sub-0001", clock)
    assert await publisher.pending() == 0

    await recorder.record(a_filled_entry("sub-0001"))  # OrderAccepted, OrderFilled, PositionOpened
    assert await publisher.pending() == 3

    flushing = asyncio.create_task(publisher.flush())
    await asyncio.wait_for(held.publishing.wait(), 10)
    assert await publisher.pending() == 3, "sent to JetStream but not acked: still pending"

    held.release.set()
    assert await asyncio.wait_for(flushing, 10) == 3
    assert await publisher.pending() == 0
    assert len(held.acked) == 3
    assert not any(result.duplicate for result in held.acked)


def _frames_sent(sim: Sim) -> int:
    """The sim's own count of order-update frames handed to sockets (one socket here: ours)."""
    registry = sim.runtime.metrics.service.registry
    return int(registry.get_sample_value("sarathi_sim_order_updates_sent_total") or 0)


async def _settled(orders: Orders, sim: Sim) -> bool:
    sent = _frames_sent(sim)
    handled = orders.service.updates.frames
    return sent > 0 and handled == sent and await orders.service.publisher.pending() == 0


async def test_status_reports_the_frames_handled_and_the_events_still_to_publish(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    option = sim.option(0)
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock()))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position")
        await wait_until(lambda: _settled(orders, sim), what="every frame handled, every event published")

        app = FastAPI()
        app.include_router(build_router(lambda: orders.service, kill_switch_default=False))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
            reply = await http.get("/status")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["order_update_frames"] == _frames_sent(sim)
    assert body["order_update_frames"] >= 2  # at least the entry's acceptance and its fill
    assert body["outbox_pending"] == 0
