"""The order → fill latency: which fills are timed, from when, and the histogram they land in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.common.metrics import ServiceMetrics
from sarathi.orders.adapters.tables import OrderRow
from sarathi.orders.domain import ids
from sarathi.orders.domain.order_state import Fill
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.recorder import time_to_fill

ACCEPTED = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)


def an_order(leg: Leg | None, *, command_id: str = "sub-0001") -> OrderRow:
    return OrderRow(
        id=1, client_order_id=command_id, broker_order_id="B1", command_id=command_id,
        contract=ContractKey(ExchangeSegment.NSE_FNO, "41000"), side=Side.BUY, status=OrderStatus.PENDING,
        quantity=75, filled_quantity=0, leg=leg, parent_order_id=None, underlying="NIFTY",
        correlation_id="trade-1", exit_reason=None, price=None, created_at=ACCEPTED,
    )  # fmt: skip


def a_fill(at: datetime | None) -> Fill:
    return Fill(key="T1", quantity=75, price=Decimal("101.05"), cumulative=75, at=at)


@pytest.mark.parametrize("leg", [Leg.ENTRY, Leg.EXIT])
def test_a_fill_of_our_entry_or_exit_is_timed_from_the_order_row(leg: Leg) -> None:
    fill = a_fill(ACCEPTED + timedelta(seconds=1.5))
    assert time_to_fill(an_order(leg), fill, ACCEPTED + timedelta(seconds=9)) == 1.5


def test_a_fill_without_a_broker_time_is_timed_to_when_it_is_recorded() -> None:
    assert time_to_fill(an_order(Leg.ENTRY), a_fill(None), ACCEPTED + timedelta(seconds=4)) == 4.0


def test_a_broker_time_before_the_row_counts_as_no_wait() -> None:
    fill = a_fill(ACCEPTED - timedelta(seconds=2))
    assert time_to_fill(an_order(Leg.EXIT), fill, ACCEPTED) == 0.0


@pytest.mark.parametrize("leg", [Leg.TARGET, Leg.STOP_LOSS, None])
def test_resting_legs_and_plain_orders_are_not_timed(leg: Leg | None) -> None:
    assert time_to_fill(an_order(leg), a_fill(ACCEPTED + timedelta(minutes=30)), ACCEPTED) is None


def test_orders_that_are_not_ours_are_not_timed() -> None:
    external = an_order(Leg.ENTRY, command_id=ids.EXTERNAL_COMMAND)
    assert time_to_fill(external, a_fill(ACCEPTED + timedelta(seconds=1)), ACCEPTED) is None


def test_observed_fills_land_in_the_time_to_fill_histogram_by_leg() -> None:
    metrics = OrdersMetrics(ServiceMetrics("orders"))
    metrics.observe_fill(Leg.ENTRY, 0.75)
    metrics.observe_fill(Leg.EXIT, 2.0)
    registry = metrics.service.registry
    sample = registry.get_sample_value
    assert sample("sarathi_orders_time_to_fill_seconds_count", {"leg": "entry"}) == 1.0
    assert sample("sarathi_orders_time_to_fill_seconds_sum", {"leg": "entry"}) == 0.75
    assert sample("sarathi_orders_time_to_fill_seconds_bucket", {"leg": "exit", "le": "1.0"}) == 0.0
    assert sample("sarathi_orders_time_to_fill_seconds_bucket", {"leg": "exit", "le": "2.5"}) == 1.0
