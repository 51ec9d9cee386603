"""Dhan's venue schemas into the orders domain: one function per schema.

The schemas (`sarathi.common.dhan.schemas`) keep Dhan's spelling; here it gets its meaning:
segments from `exchangeSegment` or the socket's `Exchange` + `Segment` letters, sides from
`BUY`/`B`, legs from `legName` or the socket's `LegNo` (1 entry, 2 stop-loss, 3 target),
statuses in any casing. A report that cannot be mapped raises `UnmappableReportError`.
"""

from __future__ import annotations

from sarathi.common.dhan.schemas import (
    OrderRecord,
    OrderUpdateAlert,
    PositionRecord,
    SuperLegRecord,
    SuperOrderRecord,
    TradeRecord,
)
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, Side
from sarathi.orders.domain.model import (
    BrokerLeg,
    BrokerOrder,
    BrokerPosition,
    BrokerSuperOrder,
    BrokerTrade,
    parse_status,
)


class UnmappableReportError(ValueError):
    """A broker report with a segment, side or leg we do not understand."""


_SOCKET_SEGMENTS = {
    ("NSE", "D"): ExchangeSegment.NSE_FNO,
    ("BSE", "D"): ExchangeSegment.BSE_FNO,
    ("NSE", "E"): ExchangeSegment.NSE_EQ,
    ("BSE", "E"): ExchangeSegment.BSE_EQ,
    ("NSE", "C"): ExchangeSegment.NSE_CURRENCY,
    ("BSE", "C"): ExchangeSegment.BSE_CURRENCY,
    ("MCX", "M"): ExchangeSegment.MCX_COMM,
    ("NSE", "I"): ExchangeSegment.IDX_I,
}
_REST_LEGS = {"ENTRY_LEG": Leg.ENTRY, "TARGET_LEG": Leg.TARGET, "STOP_LOSS_LEG": Leg.STOP_LOSS}
_SOCKET_LEGS = {1: Leg.ENTRY, 2: Leg.STOP_LOSS, 3: Leg.TARGET}
DHAN_LEG_NAMES = {Leg.ENTRY: "ENTRY_LEG", Leg.TARGET: "TARGET_LEG", Leg.STOP_LOSS: "STOP_LOSS_LEG"}


def _segment(wire: str) -> ExchangeSegment:
    try:
        return ExchangeSegment.from_wire(wire)
    except ValueError as exc:
        raise UnmappableReportError(str(exc)) from None


def _side(text: str) -> Side:
    if text in ("BUY", "B"):
        return Side.BUY
    if text in ("SELL", "S"):
        return Side.SELL
    raise UnmappableReportError(f"unknown transaction type {text!r}")


def _reason(text: str) -> str | None:
    return text if text and text.upper() not in ("CONFIRMED", "NA") else None


def order_from_record(record: OrderRecord) -> BrokerOrder:
    """An order-book row (or the order by id / by correlation id)."""
    return BrokerOrder(
        broker_order_id=record.order_id,
        correlation_id=record.correlation_id,
        contract=ContractKey(_segment(record.exchange_segment), record.security_id),
        side=_side(record.transaction_type),
        leg=_REST_LEGS.get(record.leg_name),
        status=parse_status(record.order_status),
        quantity=record.quantity,
        filled_quantity=record.filled_qty,
        average_price=record.average_traded_price or None,
        reason=_reason(record.oms_error_description),
        updated_at=record.update_time,
    )


def order_from_alert(alert: OrderUpdateAlert) -> BrokerOrder:
    """An order-update socket alert."""
    segment = _SOCKET_SEGMENTS.get((alert.exchange, alert.segment))
    if segment is None:
        raise UnmappableReportError(f"unknown exchange/segment {alert.exchange}/{alert.segment}")
    leg = _SOCKET_LEGS.get(alert.leg_no) if alert.is_super_order_leg else None
    parent = alert.algo_ord_no if alert.is_super_order_leg and alert.algo_ord_no else None
    return BrokerOrder(
        broker_order_id=alert.order_no,
        correlation_id=alert.correlation_id,
        contract=ContractKey(segment, alert.security_id),
        side=_side(alert.txn_type),
        leg=leg,
        status=parse_status(alert.status),
        quantity=alert.quantity,
        filled_quantity=alert.traded_qty,
        average_price=alert.avg_traded_price or None,
        last_fill_price=alert.traded_price or None,
        reason=_reason(alert.reason_description),
        parent_broker_order_id=parent,
        updated_at=alert.last_updated_time,
    )


def trade_from_record(record: TradeRecord) -> BrokerTrade:
    if record.traded_price is None:
        raise UnmappableReportError(f"trade {record.exchange_trade_id} has no price")
    return BrokerTrade(
        broker_order_id=record.order_id,
        trade_id=record.exchange_trade_id,
        contract=ContractKey(_segment(record.exchange_segment), record.security_id),
        side=_side(record.transaction_type),
        quantity=record.traded_quantity,
        price=record.traded_price,
        at=record.exchange_time or record.create_time,
    )


def position_from_record(record: PositionRecord) -> BrokerPosition:
    return BrokerPosition(
        contract=ContractKey(_segment(record.exchange_segment), record.security_id),
        product=record.product_type,
        net_quantity=record.net_qty,
    )


def leg_from_record(record: SuperLegRecord) -> BrokerLeg:
    leg = _REST_LEGS.get(record.leg_name)
    if leg not in (Leg.TARGET, Leg.STOP_LOSS):
        raise UnmappableReportError(f"unknown super-order leg {record.leg_name!r}")
    return BrokerLeg(
        leg=leg,
        status=parse_status(record.order_status),
        quantity=record.quantity,
        triggered_quantity=record.triggered_quantity,
    )


def super_order_from_record(record: SuperOrderRecord) -> BrokerSuperOrder:
    return BrokerSuperOrder(
        broker_order_id=record.order_id,
        correlation_id=record.correlation_id,
        contract=ContractKey(_segment(record.exchange_segment), record.security_id),
        status=parse_status(record.order_status),
        quantity=record.quantity,
        filled_quantity=record.filled_qty,
        legs=tuple(leg_from_record(leg) for leg in record.leg_details),
    )
