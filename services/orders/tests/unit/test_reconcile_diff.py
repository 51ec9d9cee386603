"""Reconciliation diff: what differs between our books and the broker's."""

from __future__ import annotations

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import OrderStatus, Side
from sarathi.orders.domain.model import BrokerOrder, BrokerPosition
from sarathi.orders.domain.reconcile import OurOrder, PositionMismatch, diff_orders, diff_positions

CALL = ContractKey(ExchangeSegment.NSE_FNO, "47317")
PUT = ContractKey(ExchangeSegment.NSE_FNO, "47318")


def a_broker_order(order_id: str, status: OrderStatus, filled: int = 0) -> BrokerOrder:
    return BrokerOrder(order_id, "c", CALL, Side.BUY, None, status, 65, filled)


def test_identical_books_have_no_drift() -> None:
    drift = diff_orders(
        [OurOrder("1", OrderStatus.TRADED, 65)], [a_broker_order("1", OrderStatus.TRADED, 65)]
    )

    assert drift.size == 0


def test_a_broker_order_we_never_recorded_is_new() -> None:
    drift = diff_orders([], [a_broker_order("9", OrderStatus.PENDING)])

    assert drift.new_at_broker == ("9",)


def test_a_fill_we_missed_is_a_change() -> None:
    drift = diff_orders(
        [OurOrder("1", OrderStatus.PENDING, 0)], [a_broker_order("1", OrderStatus.TRADED, 65)]
    )

    assert drift.changed == ("1",)


def test_our_open_order_the_broker_no_longer_lists_is_missing_but_closed_ones_are_not() -> None:
    ours = [OurOrder("1", OrderStatus.PENDING, 0), OurOrder("2", OrderStatus.TRADED, 65)]

    assert diff_orders(ours, []).missing_at_broker == ("1",)


def test_positions_are_compared_per_contract_over_all_products() -> None:
    broker = [
        BrokerPosition(CALL, "INTRADAY", 65),
        BrokerPosition(CALL, "MARGIN", 65),
        BrokerPosition(PUT, "INTRADAY", 0),
    ]

    assert diff_positions({CALL: 130}, broker) == ()
    assert diff_positions({CALL: 65, PUT: 65}, broker) == (
        PositionMismatch(CALL, 65, 130),
        PositionMismatch(PUT, 65, 0),
    )
