"""Latency metrics on a real PostgreSQL: a placement is timed by its outcome, and the recorder
reports each new fill of our entry (not of its resting legs) once it is committed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from sarathi.common.clock import FakeClock
from sarathi.common.dhan.errors import DhanRejectedError
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.common.metrics import ServiceMetrics
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain.model import BrokerOrder
from sarathi.orders.domain.order_spec import OrderSpec
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.placement import Placement
from sarathi.orders.ports import Placed
from sarathi.orders.recorder import Recorder
from sarathi.orders.resolver import Resolver

from .harness import a_stored_submit

pytestmark = pytest.mark.integration

START = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)  # 09:30 IST
CONTRACT = ContractKey(ExchangeSegment.NSE_FNO, "41000")


def entry_values(command_id: str) -> OrderSpec:
    """The entry order as the command handler describes it."""
    return OrderSpec(
        client_order_id=command_id, command_id=command_id, contract=CONTRACT, side=Side.BUY,
        product="INTRADAY", order_type="MARKET", quantity=75, leg=Leg.ENTRY, target_price=Decimal("130"),
        stop_loss_price=Decimal("90"), underlying="NIFTY", correlation_id=f"trade-{command_id}",
    )  # fmt: skip


def a_placement(
    store: Store, clock: FakeClock, metrics: OrdersMetrics, readings: Iterator[float]
) -> Placement:
    async def no_sleep(_: float) -> None:
        return None

    # A fresh command is never looked up, so the resolver is never consulted here.
    return Placement(
        store, cast(Resolver, None), clock, metrics, wake=lambda: None, sleep=no_sleep,
        monotonic=lambda: next(readings),
    )  # fmt: skip


async def test_a_placement_is_timed_from_the_first_send_to_its_outcome(store: Store) -> None:
    clock = FakeClock(START)
    metrics = OrdersMetrics(ServiceMetrics("orders"))
    placement = a_placement(store, clock, metrics, iter([10.0, 10.25, 20.0, 20.5]))
    await a_stored_submit(store, "sub-0001", clock)
    await a_stored_submit(store, "sub-0002", clock)

    async def accepted() -> Placed:
        return Placed("B1", OrderStatus.PENDING)

    async def refused() -> Placed:
        raise DhanRejectedError("margin shortfall", code="DH-906")

    assert (await placement.place("sub-0001", accepted, entry_values("sub-0001"))).status == "PLACED"
    assert (await placement.place("sub-0002", refused, entry_values("sub-0002"))).status == "REJECTED"
    again = await placement.place("sub-0001", accepted, entry_values("sub-0001"))  # a redelivery

    sample = metrics.service.registry.get_sample_value
    assert again.status == "PLACED"
    assert sample("sarathi_orders_placement_seconds_count", {"outcome": "placed"}) == 1.0
    assert sample("sarathi_orders_placement_seconds_sum", {"outcome": "placed"}) == 0.25
    assert sample("sarathi_orders_placement_seconds_sum", {"outcome": "rejected"}) == 0.5


async def test_the_recorder_times_the_entry_fill_but_not_a_resting_leg(store: Store) -> None:
    clock = FakeClock(START)
    metrics = OrdersMetrics(ServiceMetrics("orders"))
    timed: list[tuple[Leg, float]] = []
    recorder = Recorder(
        store, clock, product="INTRADAY", on_fill=lambda leg, seconds: timed.append((leg, seconds))
    )
    await a_stored_submit(store, "sub-0001", clock)
    placement = a_placement(store, clock, metrics, iter([0.0, 0.1]))

    async def accepted() -> Placed:
        return Placed("B1", OrderStatus.PENDING)

    await placement.place("sub-0001", accepted, entry_values("sub-0001"))  # the row: accepted at START
    clock.advance(timedelta(seconds=5))

    def report(broker_id: str, leg: Leg, side: Side, at: datetime) -> BrokerOrder:
        return BrokerOrder(
            broker_order_id=broker_id, correlation_id="sub-0001", contract=CONTRACT, side=side, leg=leg,
            status=OrderStatus.TRADED, quantity=75, filled_quantity=75, average_price=Decimal("101"),
            updated_at=at, parent_broker_order_id=None if leg is Leg.ENTRY else "B1",
        )  # fmt: skip

    entry = await recorder.record(report("B1", Leg.ENTRY, Side.BUY, START + timedelta(seconds=1.5)))
    target = await recorder.record(report("B1-T", Leg.TARGET, Side.SELL, START + timedelta(minutes=20)))
    replayed = await recorder.record(report("B1", Leg.ENTRY, Side.BUY, START + timedelta(seconds=1.5)))

    assert (entry.fills, target.fills, replayed.fills) == (1, 1, 0)
    assert timed == [(Leg.ENTRY, 1.5)], "one entry fill, timed from acceptance; the target leg rests"
