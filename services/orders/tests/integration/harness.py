"""Test harness: the real sim (Dhan emulator), real NATS (JetStream), real PostgreSQL, and the
orders service wired exactly as in production (`OrdersService`), on the sim's market clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import ConsumerOptions
from sarathi.common.bus.streams import ORDER_CMD, ORDER_EVT
from sarathi.common.clock import FakeClock, SimClock
from sarathi.common.db import migrate
from sarathi.common.db.engine import create_async_engine
from sarathi.common.dhan.rest import DhanRest
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.instruments import ExchangeSegment, SecurityId, Underlying
from sarathi.common.domain.trading import EntryOrderType, ExitReason
from sarathi.common.messages.base import Message, envelope
from sarathi.common.messages.orders import ExitPosition, OptionContract, SubmitEntry
from sarathi.common.metrics import ServiceMetrics
from sarathi.orders.adapters.broker import DhanBroker
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain.commands import CommandKind
from sarathi.orders.service import OrdersService
from sarathi.orders.settings import OrdersSettings
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.testing.harness import SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim

WAIT = 30.0
_ids = itertools.count(1)


class EventLog:
    """Every event the service published, as JetStream stored them (duplicates already dropped)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = asyncio.Event()

    async def handle(self, message: Message) -> None:
        self.messages.append(message)
        self._changed.set()

    def of(self, type_name: str, **fields: Any) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.type == type_name and all(getattr(m, k, None) == v for k, v in fields.items())
        ]

    async def wait_for(self, predicate: Callable[[], object], within: float = WAIT, what: str = "") -> None:
        """Until `predicate()` is true; fails after `within` seconds (a deadline, not a cancellation)."""
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"timed out waiting for {what or 'an event'}"
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait({waiter}, timeout=min(left, 0.5))
            waiter.cancel()


@dataclass
class Sim:
    served: ServedSim
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Any:
        return runtime_of(self.served)

    def clock(self) -> SimClock:
        return SimClock(self.runtime.controller.state)

    def option(self, index: int = 0, underlying: Underlying = Underlying.NIFTY) -> SimInstrument:
        options: list[SimInstrument] = self.runtime.universe.options(underlying)
        return options[len(options) // 2 + index]

    async def script(self, security_id: str, path: list[tuple[float, str]]) -> None:
        reply = await self.http.post("/sim/scenario", json={"security_id": security_id, "path": path})
        assert reply.status_code == 200, reply.text

    async def fault(self, kind: str, **fields: Any) -> None:
        reply = await self.http.post("/sim/faults", json={"kind": kind, **fields})
        assert reply.status_code == 200, reply.text

    async def state(self) -> dict[str, Any]:
        reply = await self.http.get("/sim/state")
        body: dict[str, Any] = reply.json()
        return body

    async def broker_orders(self) -> list[dict[str, Any]]:
        return list((await self.state())["broker"]["orders"])

    async def net(self, security_id: str) -> int:
        positions = (await self.state())["broker"]["positions"]
        return sum(int(p["netQty"]) for p in positions if p["securityId"] == security_id)


def a_submit(
    option: SimInstrument,
    *,
    command_id: str | None = None,
    lots: int = 1,
    entry: str = "101",
    target: str = "130",
    stop: str = "90",
    clock: SimClock,
) -> SubmitEntry:
    command_id = command_id or f"sub-{next(_ids):04d}-{option.security_id[-6:]}"
    return SubmitEntry(
        **envelope(message_id=command_id, correlation_id=f"trade-{command_id}", event_time=clock.now()),
        signal_id=f"sig-{command_id}",
        underlying=option.underlying,
        contract=OptionContract(
            security_id=SecurityId(option.security_id),
            segment=option.segment,
            strike=option.strike or Decimal(1),
            expiry=option.expiry,
            option_type=option.option_type,
        ),
        quantity=lots * option.lot_size,
        lots=lots,
        lot_size=option.lot_size,
        order_type=EntryOrderType.LIMIT,
        entry_price=Decimal(entry),
        target_price=Decimal(target),
        stop_loss_price=Decimal(stop),
        trailing_jump=Decimal(0),
        pyramid_level=0,
    )


def an_entry_id(n: int, underlying: Underlying = Underlying.NIFTY) -> str:
    """An entry command id in execution's scheme (`N2609151020ABCDE-E0`): one that orders
    recognises as its own at the broker even with no record of it."""
    return f"{underlying.value[0]}{2609151000 + n:010d}ABCDE-E0"


def an_exit(option: SimInstrument, *, clock: SimClock, command_id: str | None = None) -> ExitPosition:
    command_id = command_id or f"exit-{next(_ids):04d}-{option.security_id[-6:]}"
    return ExitPosition(
        **envelope(message_id=command_id, correlation_id=f"trade-{command_id}", event_time=clock.now()),
        security_id=SecurityId(option.security_id),
        segment=ExchangeSegment.NSE_FNO
        if option.underlying is not Underlying.SENSEX
        else ExchangeSegment.BSE_FNO,
        underlying=option.underlying,
        reason=ExitReason.TRAILING,
        requested_by="test",
    )


@dataclass
class Orders:
    """One running orders service and what the test needs around it."""

    service: OrdersService
    settings: OrdersSettings
    bus: NatsBus
    events: EventLog
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def ready(self) -> None:
        """Reconciled at start-up, and the first order-update re-read done: the service is quiet."""
        # The start-up pass and the re-read after login (a counter the service does not signal).
        await wait_until(lambda: self.service.reconciler.passes >= 2, what="two reconciliation passes")
        await self.service.reconciler.idle()

    async def send(self, command: Message) -> None:
        subject = {
            "SubmitEntry": subjects.ORDER_CMD_SUBMIT,
            "ExitPosition": subjects.ORDER_CMD_EXIT,
            "CancelOrder": subjects.ORDER_CMD_CANCEL,
        }[command.type]
        await self.bus.publish_durable(subject, command)

    async def sql(self, query: str) -> list[tuple[Any, ...]]:
        async with self.service.store.engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query))]

    async def nets(self) -> dict[str, int]:
        """Our net quantity per security id, from our recorded fills."""
        rows = await self.sql(
            "SELECT o.security_id, sum(CASE WHEN o.side = 'BUY' THEN f.quantity ELSE -f.quantity END)"
            " FROM orders.fill f JOIN orders.order o ON o.id = f.order_id GROUP BY o.security_id"
        )
        return {str(sid): int(net) for sid, net in rows}

    async def command_status(self, command_id: str) -> str | None:
        rows = await self.sql(f"SELECT status FROM orders.command WHERE command_id = '{command_id}'")  # noqa: S608
        return str(rows[0][0]) if rows else None


def settings_for(sim: Sim, nats_url: str, database_url: str, **overrides: Any) -> OrdersSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database_url,
        "dhan_rest_url": f"{sim.served.http_url}/v2",
        "dhan_order_update_url": sim.served.order_update_url,
        "orders_rest_timeout_seconds": 2.0,
        "orders_resolve_settle_seconds": 1.0,
        "orders_reconcile_interval_seconds": 600.0,
        "orders_submit_wait_reconciled_seconds": 20.0,
    }
    values.update(overrides)
    return OrdersSettings(**values)


def a_broker(sim: Sim) -> DhanBroker:
    """Our Dhan adapter on the sim, outside any orders service: the call of a process that is gone."""
    settings = OrdersSettings(dhan_rest_url=f"{sim.served.http_url}/v2")
    return DhanBroker(
        DhanTrading(
            DhanRest(
                client_id=settings.dhan_client_id,
                access_token=settings.dhan_access_token,
                base_url=settings.dhan_rest_url,
            )
        ),
        product_type=settings.orders_product_type,
    )


async def migrated(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)


@asynccontextmanager
async def orders_running(
    sim: Sim, settings: OrdersSettings, *, events: EventLog | None = None
) -> AsyncIterator[Orders]:
    """Start an orders service (and an event log consuming ORDER_EVT) until the block ends."""
    async with AsyncExitStack() as stack:
        bus = await NatsBus.connect(settings.nats_url, name="orders-test")
        stack.push_async_callback(bus.close)
        await bus.ensure_streams()
        engine = create_async_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        log = events or EventLog()
        options = ConsumerOptions(ack_wait_seconds=10.0)
        for name, wildcard in (
            ("test-order-evt", subjects.ORDER_EVENTS_ALL),
            ("test-pos-evt", subjects.POSITION_EVENTS_ALL),
        ):
            await bus.consume(ORDER_EVT.name, name, wildcard, log.handle, options, accepts=Message)
        service = OrdersService(settings, bus, engine, sim.clock(), ServiceMetrics("orders"))
        await stack.enter_async_context(service.running())
        yield Orders(service, settings, bus, log)


async def wait_until(check: Callable[[], Any], within: float = WAIT, what: str = "") -> None:
    """Poll an async or sync condition (e.g. the sim's books) until true; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what or 'a condition'}"
        await asyncio.sleep(0.1)


def start_sim(pool: SimPool, speed: int = 10, **overrides: Any) -> ServedSim:
    return pool.start(real=True, sim_speed=Decimal(speed), **overrides)


__all__ = [
    "ORDER_CMD",
    "EventLog",
    "Orders",
    "Sim",
    "a_broker",
    "a_submit",
    "an_entry_id",
    "an_exit",
    "migrated",
    "orders_running",
    "settings_for",
    "start_sim",
    "wait_until",
]


async def a_stored_submit(store: Store, command_id: str, clock: FakeClock) -> None:
    async with store.transaction() as tx:
        await tx.insert_command(
            command_id=command_id, kind=CommandKind.SUBMIT, correlation_id=f"trade-{command_id}",
            payload={"underlying": "NIFTY"}, now=clock.now(),
        )  # fmt: skip


def never_short(messages: list[Message]) -> bool:
    """No position event in `messages` shows a net quantity below zero."""
    kinds = ("PositionOpened", "PositionChanged", "PositionClosed")
    return all(m.net_quantity >= 0 for m in messages if m.type in kinds)  # type: ignore[attr-defined]
