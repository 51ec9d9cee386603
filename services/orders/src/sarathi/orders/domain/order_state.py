"""The order state machine: broker reports in, fills and status changes out, idempotently.

Reports arrive from the order-update socket, the order book and the trade book, possibly twice,
late, or out of order. The rules that make any such sequence safe:

- **Fills are cumulative marks.** An order's filled quantity only grows: a report whose
  cumulative quantity is not above what we hold adds nothing, so the same fill seen twice (or
  seen first on the socket, then in the trade book) is counted once. A new fill is the
  difference between the reported cumulative quantity and ours, named by the cumulative mark it
  reaches (`cum<n>`) or by the exchange trade id when it comes from the trade book.
- **Status moves forward**, as `ORDER_TRANSITIONS` lists: TRANSIT < PENDING / TRIGGERED <
  PART_TRADED < terminal. A report of a status that is not a move from ours is late (a `Pending`
  after `Cancelled`, a second terminal status) and changes nothing; the first terminal status
  sticks. Fills are facts: a fill reported after a terminal status still counts. A move the table
  does not list is never written (`transition` raises `IllegalOrderTransitionError`).
- Quantities stay consistent: `0 ≤ filled ≤ quantity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from sarathi.common.domain.money import OPTION_TICK, Rounding, round_to_tick
from sarathi.common.domain.trading import OrderStatus
from sarathi.orders.domain.model import TERMINAL_STATUSES, BrokerOrder, BrokerTrade

ZERO = Decimal(0)
_TERMINAL = frozenset(TERMINAL_STATUSES)
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        OrderStatus.TRANSIT: frozenset({OrderStatus.PENDING, OrderStatus.TRIGGERED, OrderStatus.PART_TRADED})
        | _TERMINAL,
        OrderStatus.PENDING: frozenset({OrderStatus.PART_TRADED}) | _TERMINAL,
        OrderStatus.TRIGGERED: frozenset({OrderStatus.PART_TRADED}) | _TERMINAL,
        OrderStatus.PART_TRADED: _TERMINAL,
        **{status: frozenset() for status in _TERMINAL},
    }
)
"""The statuses an order may move to from each (staying put is always allowed)."""


class IllegalOrderTransitionError(RuntimeError):
    """An order status move `ORDER_TRANSITIONS` does not list: a broken invariant, never written."""


def transition(current: OrderStatus, to: OrderStatus) -> OrderStatus:
    """`to`, if the order may move there from `current`; raises `IllegalOrderTransitionError` if not."""
    if to is not current and to not in ORDER_TRANSITIONS[current]:
        raise IllegalOrderTransitionError(f"order status {current} → {to} is not allowed")
    return to


@dataclass(frozen=True, slots=True)
class Fill:
    """A new execution: `quantity` at `price`, bringing the order to `cumulative`."""

    key: str  # exchange trade id, or `cum<n>` when only the cumulative quantity is known
    quantity: int
    price: Decimal
    cumulative: int
    at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderState:
    status: OrderStatus
    quantity: int
    filled: int = 0
    filled_value: Decimal = ZERO  # Σ quantity × price of the recorded fills

    def __post_init__(self) -> None:
        if not 0 <= self.filled <= self.quantity:
            raise ValueError(f"filled {self.filled} outside 0..{self.quantity}")

    @property
    def average_price(self) -> Decimal | None:
        return self.filled_value / self.filled if self.filled else None


@dataclass(frozen=True, slots=True)
class Applied:
    """The state after a report, the fills it revealed and the terminal status it reached (if new)."""

    state: OrderState
    fills: tuple[Fill, ...] = ()
    terminal: OrderStatus | None = None

    @property
    def changed(self) -> bool:
        return bool(self.fills) or self.terminal is not None


def new_state(report: BrokerOrder) -> OrderState:
    """The state of an order before any report of it was applied."""
    return OrderState(status=OrderStatus.TRANSIT, quantity=max(report.quantity, 1))


def _status_after(current: OrderStatus, reported: OrderStatus | None) -> OrderStatus:
    """The reported status when it is a move from `current`; else `current` (a late report)."""
    return reported if reported is not None and reported in ORDER_TRANSITIONS[current] else current


def _implied_by_fills(status: OrderStatus, filled: int, quantity: int) -> OrderStatus:
    if status in TERMINAL_STATUSES or filled == 0:
        return status
    if filled >= quantity:
        return OrderStatus.TRADED
    return _status_after(status, OrderStatus.PART_TRADED)


def _fill_price(state: OrderState, report: BrokerOrder, quantity: int) -> Decimal:
    """The price of the `quantity` units a report adds: from the reported average when it has
    one (exact for a single trade, the average of the trades otherwise), else the last price."""
    price: Decimal | None = None
    if report.average_price is not None and report.average_price > 0:
        total = report.average_price * report.filled_quantity
        price = (total - state.filled_value) / quantity
    if (price is None or price <= 0) and report.last_fill_price is not None and report.last_fill_price > 0:
        price = report.last_fill_price
    if price is None or price <= 0:
        price = report.average_price or report.last_fill_price or OPTION_TICK
    return round_to_tick(price, OPTION_TICK, Rounding.NEAREST)


def _finish(state: OrderState, status: OrderStatus, fills: list[Fill], quantity: int) -> Applied:
    filled = state.filled + sum(fill.quantity for fill in fills)
    value = state.filled_value + sum((fill.price * fill.quantity for fill in fills), start=ZERO)
    quantity = max(quantity, filled, 1)
    status = transition(state.status, _implied_by_fills(status, filled, quantity))
    terminal = status if status in TERMINAL_STATUSES and state.status not in TERMINAL_STATUSES else None
    after = OrderState(status=status, quantity=quantity, filled=filled, filled_value=value)
    return Applied(after, tuple(fills), terminal)


def apply_report(state: OrderState, report: BrokerOrder) -> Applied:
    """Apply one order report (socket alert or order-book row)."""
    status = _status_after(state.status, report.status)
    quantity = report.quantity if report.quantity > 0 else state.quantity
    fills: list[Fill] = []
    added = report.filled_quantity - state.filled
    if added > 0:
        price = _fill_price(state, report, added)
        fills.append(
            Fill(f"cum{report.filled_quantity}", added, price, report.filled_quantity, report.updated_at)
        )
    return _finish(state, status, fills, quantity)


def apply_trades(state: OrderState, trades: Iterable[BrokerTrade]) -> Applied:
    """Apply the trade book of one order: trades beyond what we hold become fills."""
    ordered = sorted(
        trades, key=lambda t: (t.at is None, t.at.timestamp() if t.at else 0.0, t.trade_id.zfill(32))
    )
    fills: list[Fill] = []
    cumulative = 0
    held = state.filled
    for trade in ordered:
        start, cumulative = cumulative, cumulative + trade.quantity
        if cumulative <= held:
            continue
        quantity = cumulative - max(start, held)
        key = trade.trade_id if quantity == trade.quantity else f"{trade.trade_id}-{cumulative}"
        fills.append(Fill(key, quantity, trade.price, cumulative, trade.at))
    return _finish(state, state.status, fills, state.quantity)


def with_quantity(state: OrderState, quantity: int) -> OrderState:
    """The state with the order's quantity as placed (before any report)."""
    return replace(state, quantity=max(quantity, state.filled, 1))
