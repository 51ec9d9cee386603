"""The exit protocol's decisions (ARCHITECTURE §6): cancel the resting legs, then sell exactly
what the broker holds, never more, never twice.

`plan_exit` looks at one consistent view of a contract — its super orders, its open orders and
the broker's net quantity — and answers one of:
- `Cancel`: legs or entries still rest; cancel these, then look again (a leg may fire meanwhile:
  cancelling it then answers "Nothing to Cancel", and the next look sees the smaller net);
- `Wait`: an entry is still in TRANSIT (Dhan refuses to cancel it yet): look again shortly;
- `Sell(quantity)`: nothing rests; sell `net − units already being sold` (our earlier exit
  sells, legs that fired and are still working). Zero means nothing to do: flat already.

The quantity is never negative and never above the broker's net, so neither a leg that fires
during an exit nor a second exit command can make the position short or sell it twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.domain.model import BrokerOrder, BrokerSuperOrder


@dataclass(frozen=True, slots=True)
class CancelStep:
    """Cancel a super order's `leg` (ENTRY cancels it whole) or, with `leg` None, a plain order."""

    broker_order_id: str
    leg: Leg | None


@dataclass(frozen=True, slots=True)
class Cancel:
    steps: tuple[CancelStep, ...]


@dataclass(frozen=True, slots=True)
class Wait:
    reason: str


@dataclass(frozen=True, slots=True)
class Sell:
    quantity: int


ExitDecision = Cancel | Wait | Sell


def cancels_for(supers: Iterable[BrokerSuperOrder], orders: Iterable[BrokerOrder]) -> tuple[CancelStep, ...]:
    """What still rests: open entries (cancelling ENTRY_LEG takes its legs too), resting exit legs,
    and open plain buy orders of the contract."""
    steps: list[CancelStep] = []
    for so in supers:
        if so.entry_open:
            steps.append(CancelStep(so.broker_order_id, Leg.ENTRY))
            continue
        steps.extend(CancelStep(so.broker_order_id, leg.leg) for leg in so.legs if leg.resting)
    steps.extend(
        CancelStep(order.broker_order_id, None)
        for order in orders
        if order.is_open and order.leg is None and order.side is Side.BUY
    )
    return tuple(steps)


def being_sold(orders: Iterable[BrokerOrder]) -> int:
    """Units of open sell orders: earlier exit sells and fired legs still working at the exchange."""
    return sum(order.remaining for order in orders if order.is_open and order.side is Side.SELL)


def sell_quantity(net: int, pending_sells: int) -> int:
    """What to sell: the broker's net less what is already being sold; never below zero."""
    return max(0, net - max(pending_sells, 0))


def sell_slices(quantity: int, lot_size: int, freeze_quantity: int) -> list[int]:
    """`quantity` as orders the exchange accepts: whole lots, each below `freeze_quantity` (an
    order at or above it is rejected, REFERENCE §10.5), largest first. A freeze below one lot
    leaves it whole (nothing smaller could be sent)."""
    largest = (freeze_quantity - 1) // lot_size * lot_size if lot_size > 0 else 0
    if quantity <= 0 or largest <= 0 or quantity < freeze_quantity:
        return [quantity] if quantity > 0 else []
    parts = [largest] * (quantity // largest)
    if quantity % largest:
        parts.append(quantity % largest)
    return parts


def plan_exit(net: int, supers: Iterable[BrokerSuperOrder], orders: Iterable[BrokerOrder]) -> ExitDecision:
    supers, orders = tuple(supers), tuple(orders)
    if any(so.status is OrderStatus.TRANSIT for so in supers):
        return Wait("a super order is still in TRANSIT")
    steps = cancels_for(supers, orders)
    if steps:
        return Cancel(steps)
    return Sell(sell_quantity(net, being_sold(orders)))


def units_resting_under(supers: Iterable[BrokerSuperOrder]) -> int:
    """Units that super orders' resting exit legs may still sell: each super order's filled entry
    less what its legs already sold (its target and stop-loss are one-cancels-other: counted once)."""
    return sum(
        max(0, so.filled_quantity - sum(leg.triggered_quantity for leg in so.legs))
        for so in supers
        if any(leg.resting for leg in so.legs)
    )


def plain_sells(orders: Iterable[BrokerOrder]) -> int:
    """Units of open sell orders that are not super-order legs (exit sells, Dhan's exit-all)."""
    return sum(o.remaining for o in orders if o.is_open and o.side is Side.SELL and o.leg is None)


def plan_duplicate_exit(
    duplicate: BrokerSuperOrder | None,
    others: Iterable[BrokerSuperOrder],
    net: int,
    orders: Iterable[BrokerOrder],
) -> ExitDecision:
    """Closing one duplicate entry (a super order beyond what its command asked for), leaving the
    rest of the contract's position alone: cancel the duplicate's entry while it is open (that takes
    its legs) or its resting legs; then sell what it bought less what its own legs already sold —
    never more than the broker's net less the open plain sells and the units the other super
    orders' resting legs may still sell, so nothing can go short. Not listed yet: `Wait`."""
    if duplicate is None:
        return Wait("the duplicate's super order is not listed")
    if duplicate.status is OrderStatus.TRANSIT:
        return Wait("the duplicate entry is still in TRANSIT")
    if duplicate.entry_open:
        return Cancel((CancelStep(duplicate.broker_order_id, Leg.ENTRY),))
    resting = tuple(CancelStep(duplicate.broker_order_id, leg.leg) for leg in duplicate.legs if leg.resting)
    if resting:
        return Cancel(resting)
    own = duplicate.filled_quantity - sum(leg.triggered_quantity for leg in duplicate.legs)
    free = net - plain_sells(orders) - units_resting_under(others)
    return Sell(max(0, min(own, free)))
