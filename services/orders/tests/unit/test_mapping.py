"""Venue schemas into the domain: segments, sides, legs and statuses in Dhan's many spellings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sarathi.common.dhan.schemas import OrderRecord, OrderUpdateAlert, SuperOrderRecord, parse
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.adapters.mapping import (
    UnmappableReportError,
    order_from_alert,
    order_from_record,
    super_order_from_record,
)


def an_alert(**fields: object) -> OrderUpdateAlert:
    data: dict[str, object] = {
        "Exchange": "NSE", "Segment": "D", "SecurityId": "47317", "OrderNo": "59002", "TxnType": "S",
        "Quantity": 65, "TradedQty": 65, "TradedPrice": 89.95, "AvgTradedPrice": 89.95, "Status": "Traded",
        "AlgoOrdNo": "59001", "LegNo": 2, "Remarks": "Super Order", "CorrelationId": "sub-1",
        "ReasonDescription": "CONFIRMED",
    }  # fmt: skip
    data.update(fields)
    return parse(OrderUpdateAlert, data)


def test_a_stop_loss_leg_alert_maps_to_a_sell_of_the_stop_loss_leg_under_its_entry() -> None:
    report = order_from_alert(an_alert())

    assert report.contract.segment is ExchangeSegment.NSE_FNO
    assert report.side is Side.SELL
    assert report.leg is Leg.STOP_LOSS
    assert report.parent_broker_order_id == "59001"
    assert report.status is OrderStatus.TRADED
    assert report.last_fill_price == Decimal("89.95")
    assert report.reason is None  # "CONFIRMED" is no reason


@pytest.mark.parametrize(("leg_no", "leg"), [(1, Leg.ENTRY), (2, Leg.STOP_LOSS), (3, Leg.TARGET)])
def test_leg_numbers_follow_dhans_convention(leg_no: int, leg: Leg) -> None:
    assert order_from_alert(an_alert(LegNo=leg_no)).leg is leg


def test_a_plain_order_has_no_leg_and_sensex_options_are_bse_fno() -> None:
    report = order_from_alert(an_alert(Exchange="BSE", Remarks="", AlgoOrdNo="", LegNo=1))

    assert report.leg is None
    assert report.contract.segment is ExchangeSegment.BSE_FNO


def test_an_unknown_segment_is_not_guessed() -> None:
    with pytest.raises(UnmappableReportError):
        order_from_alert(an_alert(Exchange="XYZ"))


def test_an_order_book_row_names_its_leg_and_reason() -> None:
    row = parse(
        OrderRecord,
        {"orderId": "11", "correlationId": "x", "orderStatus": "REJECTED", "transactionType": "BUY",
         "exchangeSegment": "NSE_FNO", "securityId": "47317", "quantity": 65, "legName": "NA",
         "omsErrorDescription": "RMS: Insufficient funds"},
    )  # fmt: skip

    report = order_from_record(row)

    assert report.leg is None
    assert report.status is OrderStatus.REJECTED
    assert report.reason == "RMS: Insufficient funds"


def test_a_super_order_row_lists_its_legs() -> None:
    row = parse(
        SuperOrderRecord,
        {"orderId": "59", "orderStatus": "CLOSED", "transactionType": "BUY", "exchangeSegment": "NSE_FNO",
         "securityId": "47317", "quantity": 65, "filledQty": 65,
         "legDetails": [{"legName": "STOP_LOSS_LEG", "orderStatus": "TRIGGERED", "totalQuatity": 65},
                        {"legName": "TARGET_LEG", "orderStatus": "CANCELLED", "remainingQuantity": 0}]},
    )  # fmt: skip

    so = super_order_from_record(row)

    assert so.status is OrderStatus.CLOSED
    assert [(leg.leg, leg.resting) for leg in so.legs] == [(Leg.STOP_LOSS, False), (Leg.TARGET, False)]
