"""Risk's view of one position: from the entry fill to the confirmed exit (a `PositionTracker` row).

The broker nets a contract, so at most one tracker per contract is open at a time. Position events
from `orders` carry absolute facts (net quantity, average price) and the fill that caused them,
named by its order and that order's cumulative quantity, so applying one twice changes nothing:
redelivery is harmless.

The tracker keeps the position's fills: its P&L and charges come from them through
`sarathi.common.domain.pnl.trade_pnl`, the function the day's report uses on the same fills. An
event without a fill (from a publisher older than the field) books one derived from the change:
a rise in quantity bought `new average × new net − old average × old net`; a fall sold at the old
average plus the change in the contract's realized P&L.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment, Underlying
from sarathi.common.domain.pnl import TradeFill, realized_pnl
from sarathi.common.domain.trading import ExitReason, Side

ZERO = Decimal(0)


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
class BookedFill:
    """A fill of the position and its identity: `<order key>#<order's cumulative quantity>`, or
    the id of the event it was derived from."""

    key: str
    fill: TradeFill


def booked(order_key: str, cumulative_quantity: int, side: Side, quantity: int, price: Decimal) -> BookedFill:
    """A fill as a position event names it."""
    return BookedFill(f"{order_key}#{cumulative_quantity}", TradeFill(order_key, side, quantity, price))


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
    fills: tuple[BookedFill, ...] = ()  # every fill of this position, in the order booked
    contract_realized: Decimal = ZERO  # the contract's realized P&L today, as of the latest event

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError(f"a position is never short: quantity {self.quantity}")
        if self.status is not Status.CLOSED and self.quantity == 0:
            raise ValueError("an open position has a positive quantity")
        if self.trail_armed != (self.hwm is not None):
            raise ValueError("the high-water mark exists exactly when the trail is armed")

    @property
    def contract(self) -> ContractKey:
        return ContractKey(self.segment, self.security_id)

    @property
    def is_open(self) -> bool:
        """Held at the broker (OPEN or CLOSING)."""
        return self.status is not Status.CLOSED

    def gross_pnl(self, price: Decimal) -> Decimal:
        """`(price − average entry) × quantity`, in exact Decimal rupees."""
        return (price - self.average_entry) * self.quantity

    @property
    def trade_fills(self) -> list[TradeFill]:
        return [b.fill for b in self.fills]

    @property
    def realized_pnl(self) -> Decimal:
        """Gross realized P&L of this position (`sarathi.common.domain.pnl.realized_pnl`)."""
        return realized_pnl(self.trade_fills)

    @property
    def buy_value(self) -> Decimal:
        """Premium turnover bought."""
        return sum((b.fill.value for b in self.fills if b.fill.side is Side.BUY), ZERO)

    @property
    def sell_value(self) -> Decimal:
        """Premium turnover sold."""
        return sum((b.fill.value for b in self.fills if b.fill.side is Side.SELL), ZERO)

    def has(self, fill: BookedFill | None) -> bool:
        """Whether `fill` is booked already."""
        return fill is not None and any(b.key == fill.key for b in self.fills)

    def with_fill(self, fill: BookedFill | None) -> TrackedPosition:
        """This position with `fill` booked (once: a fill already booked changes nothing)."""
        if fill is None or self.has(fill):
            return self
        return replace(self, fills=(*self.fills, fill))


def opened(
    *,
    entry_order_id: str,
    security_id: str,
    segment: ExchangeSegment,
    underlying: Underlying,
    net_quantity: int,
    average_price: Decimal,
    at: datetime,
    correlation_id: str,
    contract_realized: Decimal,
    fill: BookedFill,
) -> TrackedPosition:
    """A new tracker for a contract that became long by `fill`."""
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
        fills=(fill,),
        contract_realized=contract_realized,
    )


def changed(
    position: TrackedPosition,
    *,
    net_quantity: int,
    average_price: Decimal,
    contract_realized: Decimal,
    fill: BookedFill | None,
) -> TrackedPosition:
    """The position after a fill that left it long (a pyramid, or a partial exit)."""
    if net_quantity < position.quantity:
        average_price = position.average_entry  # selling at average cost leaves the average alone
    return replace(
        position.with_fill(fill),
        quantity=net_quantity,
        average_entry=average_price,
        contract_realized=contract_realized,
    )


def closed(
    position: TrackedPosition,
    *,
    contract_realized: Decimal,
    fill: BookedFill | None,
    reason: ExitReason | None,
    at: datetime,
) -> TrackedPosition:
    """The position went flat. The broker's reason (the order that sold) wins over the one risk sent."""
    if position.status is Status.CLOSED:
        return position
    return replace(
        position.with_fill(fill),
        status=Status.CLOSED,
        quantity=0,
        exit_reason=reason or position.exit_reason,
        closed_at=at,
        contract_realized=contract_realized,
    )


def closing(position: TrackedPosition, reason: ExitReason) -> TrackedPosition:
    """An exit command for `reason` is (being) sent."""
    return replace(position, status=Status.CLOSING, exit_reason=reason)


def derived_fill(
    key: str,
    position: TrackedPosition | None,
    *,
    net_quantity: int,
    average_price: Decimal,
    contract_realized: Decimal,
) -> BookedFill | None:
    """The fill an event without one implies (see the module text); None when it implies none."""
    held = position.quantity if position is not None else 0
    average = position.average_entry if position is not None else ZERO
    realized_change = contract_realized - position.contract_realized if position is not None else ZERO
    if net_quantity > held:
        quantity = net_quantity - held
        value = average_price * net_quantity - average * held
        side = Side.BUY
    elif net_quantity < held:
        quantity = held - net_quantity
        value = average * quantity + realized_change
        side = Side.SELL
    else:
        return None
    if value <= 0:
        return None
    return BookedFill(key, TradeFill(key, side, quantity, value / quantity))


def legacy_fills(
    quantity: int, average_entry: Decimal, realized: Decimal, buy_value: Decimal, sell_value: Decimal
) -> tuple[BookedFill, ...]:
    """Fills standing in for a tracker saved before trackers kept fills: one buy order, one sell."""
    fills: list[BookedFill] = []
    sold = 0
    if sell_value > 0:
        cost = sell_value - realized
        sold = max(int((cost / average_entry).to_integral_value()), 1) if average_entry > 0 else 1
        fills.append(BookedFill("legacy-sell", TradeFill("legacy-sell", Side.SELL, sold, sell_value / sold)))
    bought = quantity + sold
    if buy_value > 0 and bought > 0:
        fills.insert(
            0, BookedFill("legacy-buy", TradeFill("legacy-buy", Side.BUY, bought, buy_value / bought))
        )
    return tuple(fills)


def fills_of(rows: Iterable[dict[str, str]]) -> tuple[BookedFill, ...]:
    """Fills from their stored form (`stored_fills`)."""
    return tuple(
        BookedFill(
            row["key"],
            TradeFill(row["order"], Side(row["side"]), int(row["quantity"]), Decimal(row["price"])),
        )
        for row in rows
    )


def stored_fills(position: TrackedPosition) -> list[dict[str, str | int]]:
    """The position's fills as a JSON document (prices as strings)."""
    return [
        {
            "key": b.key,
            "order": b.fill.order_id,
            "side": b.fill.side.value,
            "quantity": b.fill.quantity,
            "price": str(b.fill.price),
        }
        for b in position.fills
    ]
