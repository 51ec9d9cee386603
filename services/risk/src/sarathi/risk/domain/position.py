"""Risk's view of one position: from the entry fill to the confirmed exit (a `PositionTracker` row).

The broker nets a contract, so at most one tracker per contract is open at a time. Position events
from `orders` carry absolute facts (net quantity, average price, the contract's realized P&L so far
today), so applying one twice changes nothing: redelivery is harmless.

Turnover for charges is derived from those facts: a rise in quantity bought
`new average × new net − old average × old net`; a fall sold `sold × old average + realized change`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.messages.fields import ExitReason

ZERO = Decimal(0)
_MONEY = Decimal("0.0001")  # NUMERIC(18, 4)


class Status(StrEnum):
    OPEN = "OPEN"
    CLOSING = "CLOSING"  # an exit command was sent; not yet confirmed flat
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class Ltp:
    """The latest traded price of a contract and when the feed read it (market time)."""

    price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class TrackedPosition:
    entry_order_id: str
    security_id: str
    segment: ExchangeSegment
    underlying: Underlying
    status: Status
    quantity: int
    average_entry: Decimal
    opened_at: datetime
    correlation_id: str
    trail_armed: bool = False
    hwm: Decimal | None = None
    exit_reason: ExitReason | None = None
    closed_at: datetime | None = None
    realized_pnl: Decimal = ZERO  # gross, of this position only
    realized_base: Decimal = ZERO  # the contract's realized P&L today when this position opened
    buy_value: Decimal = ZERO  # premium turnover bought
    sell_value: Decimal = ZERO  # premium turnover sold

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError(f"a position is never short: quantity {self.quantity}")
        if self.status is not Status.CLOSED and self.quantity == 0:
            raise ValueError("an open position has a positive quantity")
        if self.trail_armed != (self.hwm is not None):
            raise ValueError("the high-water mark exists exactly when the trail is armed")

    @property
    def contract(self) -> tuple[ExchangeSegment, str]:
        return self.segment, self.security_id

    @property
    def is_open(self) -> bool:
        """Held at the broker (OPEN or CLOSING)."""
        return self.status is not Status.CLOSED

    def gross_pnl(self, price: Decimal) -> Decimal:
        """`(price − average entry) × quantity`, in exact Decimal rupees."""
        return (price - self.average_entry) * self.quantity


def opened(
    *,
    entry_order_id: str,
    security_id: str,
    segment: ExchangeSegment,
    underlying: Underlying,
    net_quantity: int,
    average_price: Decimal,
    contract_realized: Decimal,
    at: datetime,
    correlation_id: str,
) -> TrackedPosition:
    """A new tracker for a contract that became long."""
    return TrackedPosition(
        entry_order_id=entry_order_id,
        security_id=security_id,
        segment=segment,
        underlying=underlying,
        status=Status.OPEN,
        quantity=net_quantity,
        average_entry=average_price,
        opened_at=at,
        correlation_id=correlation_id,
        realized_base=contract_realized,
        buy_value=(average_price * net_quantity).quantize(_MONEY),
    )


def changed(
    position: TrackedPosition, *, net_quantity: int, average_price: Decimal, contract_realized: Decimal
) -> TrackedPosition:
    """The position after a fill that left it long (a pyramid, or a partial exit)."""
    realized = contract_realized - position.realized_base
    buy_value, sell_value = position.buy_value, position.sell_value
    if net_quantity > position.quantity:
        old_cost = position.average_entry * position.quantity
        buy_value += average_price * net_quantity - old_cost
    elif net_quantity < position.quantity:
        sold = position.quantity - net_quantity
        sell_value += position.average_entry * sold + (realized - position.realized_pnl)
        average_price = position.average_entry  # selling at average cost leaves the average alone
    return replace(
        position,
        quantity=net_quantity,
        average_entry=average_price,
        realized_pnl=realized,
        buy_value=buy_value.quantize(_MONEY),
        sell_value=sell_value.quantize(_MONEY),
    )


def closed(
    position: TrackedPosition, *, contract_realized: Decimal, reason: ExitReason | None, at: datetime
) -> TrackedPosition:
    """The position went flat. The broker's reason (the order that sold) wins over the one risk sent."""
    if position.status is Status.CLOSED:
        return position
    realized = contract_realized - position.realized_base
    sold = position.quantity
    sell_value = position.sell_value + position.average_entry * sold + (realized - position.realized_pnl)
    return replace(
        position,
        status=Status.CLOSED,
        quantity=0,
        realized_pnl=realized,
        sell_value=sell_value.quantize(_MONEY),
        exit_reason=reason or position.exit_reason,
        closed_at=at,
    )


def closing(position: TrackedPosition, reason: ExitReason) -> TrackedPosition:
    """An exit command for `reason` is (being) sent."""
    return replace(position, status=Status.CLOSING, exit_reason=reason)
