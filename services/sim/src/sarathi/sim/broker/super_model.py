"""A super order (REFERENCE §3): an entry order plus a target leg and a stop-loss leg that work as
one-cancels-other once the entry has filled, and the step-wise trailing rule of §3.6.

Trailing (BUY entry; mirrored for SELL): the reference starts at the entry's average fill price
(UNVERIFIED: Dhan may use the LTP when the leg goes live); whenever the LTP has moved a whole
number `k` of `trailing_jump`s beyond the reference, the stop and the reference both move by
`k × trailing_jump`. The stop never moves back. The target is not trailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sarathi.sim.broker.models import ZERO, LegName, Order, OrderStatus, Side, input_error


@dataclass(eq=False)
class ExitLeg:
    """The target or stop-loss leg; its `order` appears in the order book once the entry fills."""

    name: LegName
    price: Decimal  # absolute target price, or stop trigger price
    status: OrderStatus = OrderStatus.PENDING  # PENDING, TRIGGERED (fired) or CANCELLED
    order: Order | None = None
    triggered_qty: int = 0
    modifications: int = 0

    @property
    def live(self) -> bool:
        return self.status is OrderStatus.PENDING


@dataclass(eq=False)
class SuperOrder:
    entry: Order
    target: ExitLeg | None
    stop: ExitLeg | None
    trailing_jump: Decimal = ZERO
    trail_ref: Decimal | None = None  # set when the entry first fills
    exited_qty: int = 0  # units sold (bought) by the exit legs
    closed: bool = False
    last_ltp: Decimal = ZERO

    @property
    def order_id(self) -> str:
        return self.entry.order_id

    @property
    def exit_side(self) -> Side:
        return self.entry.side.opposite

    @property
    def open_qty(self) -> int:
        """Entry units filled and not yet exited by a leg: the most a leg may ever close."""
        return self.entry.filled_qty - self.exited_qty

    @property
    def status(self) -> OrderStatus:
        return OrderStatus.CLOSED if self.closed else self.entry.status

    def legs(self) -> list[ExitLeg]:
        return [leg for leg in (self.stop, self.target) if leg is not None]

    def live_legs(self) -> list[ExitLeg]:
        return [leg for leg in self.legs() if leg.live]

    def leg(self, name: LegName) -> ExitLeg | None:
        return self.target if name is LegName.TARGET_LEG else self.stop


def check_bracket(side: Side, price: Decimal, target: Decimal, stop: Decimal) -> None:
    """The SDK's rules (REFERENCE §3.2): one of target/stop > 0; BUY target > price > stop, SELL mirrored.
    `price` 0 (a market entry) skips the comparisons with the entry price."""
    if target <= 0 and stop <= 0:
        raise input_error("At least one of targetPrice or stopLossPrice must be greater than 0")
    if side is Side.BUY:
        if target > 0 and price > 0 and not target > price:
            raise input_error("For BUY: targetPrice must be > price")
        if stop > 0 and price > 0 and not stop < price:
            raise input_error("For BUY: stopLossPrice must be < price")
        if target > 0 and stop > 0 and not target > stop:
            raise input_error("For BUY: targetPrice must be > stopLossPrice")
    else:
        if target > 0 and price > 0 and not target < price:
            raise input_error("For SELL: targetPrice must be < price")
        if stop > 0 and price > 0 and not stop > price:
            raise input_error("For SELL: stopLossPrice must be > price")
        if target > 0 and stop > 0 and not target < stop:
            raise input_error("For SELL: targetPrice must be < stopLossPrice")


def trail(
    entry_side: Side, stop: Decimal, ref: Decimal, jump: Decimal, ltp: Decimal
) -> tuple[Decimal, Decimal]:
    """(stop, reference) after `ltp` (§3.6). Moves only in whole jumps and only favourably."""
    if jump <= 0 or ltp <= 0:
        return stop, ref
    gain = ltp - ref if entry_side is Side.BUY else ref - ltp
    steps = (gain / jump).to_integral_value(rounding=ROUND_FLOOR)
    if steps < 1:
        return stop, ref
    move = steps * jump
    if entry_side is Side.BUY:
        return stop + move, ref + move
    return stop - move, ref - move


def target_touched(exit_side: Side, target: Decimal, ltp: Decimal) -> bool:
    """A SELL target fires when LTP ≥ target, a BUY target (short entry) when LTP ≤ target."""
    if ltp <= 0:
        return False
    return ltp >= target if exit_side is Side.SELL else ltp <= target
