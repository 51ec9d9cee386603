"""Test data builders for risk: positions, ticks and position events, on the ₹0.05 tick."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import ExchangeSegment, SecurityId, Underlying
from sarathi.common.domain.trading import ExitReason, Side
from sarathi.common.messages.base import envelope
from sarathi.common.messages.market import Tick
from sarathi.common.messages.orders import PositionChanged, PositionClosed, PositionFill, PositionOpened
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
