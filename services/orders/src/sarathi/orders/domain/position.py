"""A contract's position from its fills: net quantity, average cost, realized P&L.

Average-cost accounting in Decimal: a buy adds its cost; a sell closes units at the current
average cost and books `(sell price − average) × units` as realized P&L. Sarathi only buys, so a
position is never short: `PositionState.net` below zero means the books are broken (an invariant
the caller must treat as a crash-worthy alarm, never publish).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from sarathi.common.domain.trading import Side

ZERO = Decimal(0)
AVERAGE_QUANTUM = Decimal("0.0001")
PAISA = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PositionFill:
    side: Side
    quantity: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class PositionState:
    net: int = 0
    cost: Decimal = ZERO  # cost of the open units
    realized: Decimal = ZERO

    @property
    def average_price(self) -> Decimal:
        if self.net <= 0:
            return ZERO
        return (self.cost / self.net).quantize(AVERAGE_QUANTUM, ROUND_HALF_EVEN)

    @property
    def realized_rupees(self) -> Decimal:
        return self.realized.quantize(PAISA, ROUND_HALF_EVEN)

    def after(self, fill: PositionFill) -> PositionState:
        if fill.side is Side.BUY:
            return PositionState(
                self.net + fill.quantity, self.cost + fill.price * fill.quantity, self.realized
            )
        closing = min(fill.quantity, max(self.net, 0))
        average = self.cost / self.net if self.net > 0 else ZERO
        released = self.cost if closing == self.net else average * closing
        realized = self.realized + (fill.price - average) * closing
        return PositionState(self.net - fill.quantity, self.cost - released, realized)


def position_of(fills: Iterable[PositionFill]) -> PositionState:
    state = PositionState()
    for fill in fills:
        state = state.after(fill)
    return state


class PositionChange(StrEnum):
    OPENED = "PositionOpened"
    CHANGED = "PositionChanged"
    CLOSED = "PositionClosed"


def change_between(before: PositionState, after: PositionState) -> PositionChange | None:
    """Which position event a fill causes (None: no change, or a broken, short book)."""
    if after.net < 0 or before.net < 0 or after.net == before.net:
        return None
    if before.net == 0:
        return PositionChange.OPENED
    if after.net == 0:
        return PositionChange.CLOSED
    return PositionChange.CHANGED
