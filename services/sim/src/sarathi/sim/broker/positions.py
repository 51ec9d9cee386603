"""Positions per (security id, product), built from fills, with P&L in Decimal.

Dhan's fields (REFERENCE §4.1) are day quantities and averages (`buyQty`, `buyAvg`, ...). The
formula Dhan uses for `costPrice` and the P&L split is UNVERIFIED; this book keeps the cost of the
open quantity (`open_value`, signed: positive for a long, minus the proceeds for a short):

* a fill that adds to the open quantity adds its value to `open_value`;
* a fill that reduces it removes the closed share of `open_value` (to 1/10 000 of a rupee, or all
  of it when the position closes) and books the difference with the fill's cash into `realized`;
  a fill that crosses zero closes the old side and opens the new one at the fill price;
* `cost_price = open_value / net_qty`; `unrealized = ltp × net_qty − open_value` (multiplier 1).

So `realized + unrealized == sell_value − buy_value + net_qty × ltp` holds exactly, always.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from sarathi.sim.broker.models import ZERO, Product, Side
from sarathi.sim.instruments import SimInstrument

COST_QUANTUM = Decimal("0.0001")


@dataclass(eq=False)
class Position:
    instrument: SimInstrument
    product: Product
    buy_qty: int = 0
    buy_value: Decimal = ZERO
    sell_qty: int = 0
    sell_value: Decimal = ZERO
    open_value: Decimal = ZERO  # signed cost of the open quantity
    realized: Decimal = ZERO

    @property
    def net_qty(self) -> int:
        return self.buy_qty - self.sell_qty

    @property
    def buy_avg(self) -> Decimal:
        return self.buy_value / self.buy_qty if self.buy_qty else ZERO

    @property
    def sell_avg(self) -> Decimal:
        return self.sell_value / self.sell_qty if self.sell_qty else ZERO

    @property
    def position_type(self) -> str:
        net = self.net_qty
        return "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED"

    @property
    def cost_price(self) -> Decimal:
        """Average cost of the open quantity (0 when flat)."""
        return self.open_value / self.net_qty if self.net_qty else ZERO

    def unrealized(self, ltp: Decimal) -> Decimal:
        return ltp * self.net_qty - self.open_value

    def apply(self, side: Side, quantity: int, price: Decimal) -> None:
        """Book one fill of `quantity` units at `price`."""
        before = self.net_qty
        if side is Side.BUY:
            self.buy_qty += quantity
            self.buy_value += price * quantity
        else:
            self.sell_qty += quantity
            self.sell_value += price * quantity
        signed = side.sign * quantity
        closing = 0 if before == 0 or (before > 0) == (signed > 0) else min(quantity, abs(before))
        if closing:
            if closing == abs(before):
                share = self.open_value
            else:
                share = (self.open_value * closing / abs(before)).quantize(COST_QUANTUM, ROUND_HALF_EVEN)
            self.realized += -side.sign * closing * price - share
            self.open_value -= share
        opening = quantity - closing
        if opening:
            self.open_value += side.sign * opening * price


class PositionBook:
    """All positions of the day, in the order they were opened."""

    def __init__(self) -> None:
        self._positions: dict[tuple[str, Product], Position] = {}

    def __iter__(self) -> Iterator[Position]:
        return iter(self._positions.values())

    def get(self, security_id: str, product: Product) -> Position | None:
        return self._positions.get((security_id, product))

    def net_qty(self, security_id: str, product: Product) -> int:
        position = self.get(security_id, product)
        return position.net_qty if position is not None else 0

    def apply(
        self, instrument: SimInstrument, product: Product, side: Side, quantity: int, price: Decimal
    ) -> None:
        key = (instrument.security_id, product)
        position = self._positions.get(key)
        if position is None:
            position = self._positions[key] = Position(instrument, product)
        position.apply(side, quantity, price)

    def restore(self, positions: Iterable[Position]) -> None:
        """Put back the positions of a persisted book, in their order."""
        for position in positions:
            self._positions[(position.instrument.security_id, position.product)] = position

    def open_positions(self) -> list[Position]:
        return [p for p in self._positions.values() if p.net_qty != 0]
