"""Test data builders for risk: positions, ticks, order and position events, on the ₹0.05 tick."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import (
    BrokerOrderId,
    ClientOrderId,
    ExchangeSegment,
    SecurityId,
    Underlying,
)
from sarathi.common.domain.trading import ExitReason, Leg, OrderStatus, Side
from sarathi.common.messages.base import envelope
from sarathi.common.messages.market import Tick
from sarathi.common.messages.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionChanged,
    PositionClosed,
    PositionFill,
    PositionOpened,
)
from sarathi.risk.domain.position import Ltp, Status, TrackedPosition, booked

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)  # a Tuesday session open
NIFTY_CALL = "52175"
LOT = 65


def a_nifty_call(
    *,
    entry: str = "100",
    quantity: int = 2 * LOT,
    entry_order_id: str = "sub-0001",
    security_id: str = NIFTY_CALL,
    opened_at: datetime = OPEN,
    **changes: Any,
) -> TrackedPosition:
    values: dict[str, Any] = {
        "entry_order_id": entry_order_id,
        "security_id": security_id,
        "segment": ExchangeSegment.NSE_FNO,
        "underlying": Underlying.NIFTY,
        "status": Status.OPEN,
        "quantity": quantity,
        "average_entry": Decimal(entry),
        "opened_at": opened_at,
        "correlation_id": f"trade-{entry_order_id}",
    }
    if quantity > 0:
        values["fills"] = (booked(entry_order_id, quantity, Side.BUY, quantity, Decimal(entry)),)
    values.update(changes)
    return TrackedPosition(**values)


def at(price: str | Decimal, when: datetime) -> Ltp:
    return Ltp(Decimal(price), when)


def a_tick(price: str | Decimal, when: datetime, security_id: str = NIFTY_CALL) -> Tick:
    return Tick(
        message_id=f"t-{security_id}-{when.timestamp()}",
        correlation_id="feed",
        event_time=when,
        segment=ExchangeSegment.NSE_FNO,
        security_id=SecurityId(security_id),
        ltp=Decimal(price),
        exchange_time=when,
        received_at=when,
    )


def a_fill(order: str, side: Side, quantity: int, price: str, cumulative: int | None = None) -> PositionFill:
    """The fill a position event names: `quantity` at `price` of order `order`."""
    return PositionFill(
        order_key=order,
        side=side,
        quantity=quantity,
        price=Decimal(price),
        cumulative_quantity=quantity if cumulative is None else cumulative,
    )


def _position_fields(
    *,
    event_id: str,
    cause: str,
    when: datetime,
    security_id: str,
    net: int,
    average: str,
    realized: str,
    fill: PositionFill | None = None,
) -> dict[str, Any]:
    return {
        **envelope(message_id=event_id, correlation_id=f"trade-{cause}", causation_id=cause, event_time=when),
        "security_id": SecurityId(security_id),
        "segment": ExchangeSegment.NSE_FNO,
        "underlying": Underlying.NIFTY,
        "net_quantity": net,
        "average_price": Decimal(average),
        "realized_pnl": Decimal(realized),
        "fill": fill,
    }


def position_opened(
    cause: str = "sub-0001",
    *,
    when: datetime = OPEN,
    security_id: str = NIFTY_CALL,
    net: int = 2 * LOT,
    average: str = "100",
    realized: str = "0",
) -> PositionOpened:
    fields = _position_fields(
        event_id=f"pos-{cause}-o",
        cause=cause,
        when=when,
        security_id=security_id,
        net=net,
        average=average,
        realized=realized,
        fill=a_fill(cause, Side.BUY, net, average),
    )
    return PositionOpened(**fields)


def position_changed(
    cause: str,
    *,
    when: datetime,
    net: int,
    average: str,
    realized: str = "0",
    security_id: str = NIFTY_CALL,
    fill: PositionFill | None = None,
) -> PositionChanged:
    """Without `fill`: as a publisher older than the field sends it."""
    fields = _position_fields(
        event_id=f"pos-{cause}-{net}",
        cause=cause,
        when=when,
        security_id=security_id,
        net=net,
        average=average,
        realized=realized,
        fill=fill,
    )
    return PositionChanged(**fields)


def position_closed(
    cause: str,
    *,
    when: datetime,
    realized: str,
    reason: ExitReason | None = None,
    security_id: str = NIFTY_CALL,
    fill: PositionFill | None = None,
) -> PositionClosed:
    """Without `fill`: as a publisher older than the field sends it."""
    fields = _position_fields(
        event_id=f"pos-{cause}-c",
        cause=cause,
        when=when,
        security_id=security_id,
        net=0,
        average="0",
        realized=realized,
        fill=fill,
    )
    return PositionClosed(**fields, exit_reason=reason)


def _order_fields(
    order: str, kind: str, when: datetime, *, security_id: str, leg: Leg = Leg.ENTRY, side: Side = Side.BUY
) -> dict[str, Any]:
    return {
        **envelope(
            message_id=f"{kind}-{order}", correlation_id=f"trade-{order}", causation_id=order, event_time=when
        ),
        "client_order_id": ClientOrderId(order),
        "security_id": SecurityId(security_id),
        "segment": ExchangeSegment.NSE_FNO,
        "leg": leg,
        "side": side,
        "broker_order_id": BrokerOrderId(f"b-{order}"),
    }


def order_accepted(
    order: str = "sub-0001",
    *,
    when: datetime = OPEN,
    security_id: str = NIFTY_CALL,
    leg: Leg = Leg.ENTRY,
    side: Side = Side.BUY,
) -> OrderAccepted:
    """The broker took order `order` (by default our entry in the NIFTY call)."""
    fields = _order_fields(order, "acc", when, security_id=security_id, leg=leg, side=side)
    return OrderAccepted(**fields, status=OrderStatus.PENDING, quantity=2 * LOT, price=Decimal("100"))


def order_rejected(
    order: str = "sub-0001", *, when: datetime = OPEN, security_id: str = NIFTY_CALL, at_broker: bool = True
) -> OrderRejected:
    """Our entry refused; `at_broker=False`: before the broker gave it an id (never accepted)."""
    fields = _order_fields(order, "rej", when, security_id=security_id)
    if not at_broker:
        fields["broker_order_id"] = None
    return OrderRejected(
        **fields, quantity=2 * LOT, error_code="DH-906", error_message="RMS: margin shortfall"
    )


def order_cancelled(
    order: str = "sub-0001", *, when: datetime = OPEN, security_id: str = NIFTY_CALL, filled: int = 0
) -> OrderCancelled:
    """Our entry cancelled after `filled` units traded."""
    fields = _order_fields(order, "cxl", when, security_id=security_id)
    return OrderCancelled(**fields, filled_quantity=filled, cancelled_quantity=2 * LOT - filled)


def order_filled(
    order: str = "sub-0001",
    *,
    when: datetime = OPEN,
    security_id: str = NIFTY_CALL,
    cumulative: int = 2 * LOT,
    price: str = "100",
) -> OrderFilled:
    """Our entry (of 2 lots) filled up to `cumulative` units, in one trade."""
    fields = _order_fields(order, f"fill{cumulative}", when, security_id=security_id)
    return OrderFilled(
        **fields,
        trade_id=f"t-{order}-{cumulative}",
        fill_quantity=cumulative,
        fill_price=Decimal(price),
        cumulative_quantity=cumulative,
        order_quantity=2 * LOT,
    )
