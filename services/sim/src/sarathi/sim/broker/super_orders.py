"""Super-order operations: place, modify per leg, cancel per leg, and the step that arms, trails
and fires the exit legs (REFERENCE §3).

Choices where Dhan is silent (all UNVERIFIED):
* Both triggers compare the **LTP** (stop: LTP ≤ stop for a long; target: LTP ≥ target); the leg
  that fires is executed at once at the touch (a sell at the bid) with the configured slippage,
  as a market order would. With no bid (ask for a short) the leg waits for the next step.
* The exit legs' quantity is the entry's filled quantity; a leg never closes more than the
  super order's open quantity, nor more than the position still holds in that direction (so the
  broker's own legs can never turn a position short, whatever else traded it).
* When a leg fires while the entry is still partly open, the entry's remainder is cancelled.
* Exit-leg orders appear in the order book (own ids, `legName`) once the entry first fills; in
  `legDetails` the `orderId` is the parent's, as in the docs' sample.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sarathi.common.domain.money import is_on_tick
from sarathi.sim.broker import matching, orders
from sarathi.sim.broker.book import SUPER_PREFIX, Book
from sarathi.sim.broker.models import (
    ZERO,
    LegName,
    ModifyOrder,
    ModifySuperOrder,
    Order,
    OrderStatus,
    OrderType,
    PlaceSuperOrder,
    Side,
    input_error,
    order_error,
)
from sarathi.sim.broker.super_model import ExitLeg, SuperOrder, check_bracket, target_touched, trail
from sarathi.sim.instruments import SimInstrument


def _check_jump(instrument: SimInstrument, jump: Decimal) -> None:
    if jump < 0 or (jump > 0 and not is_on_tick(jump, instrument.tick_size)):
        raise input_error("trailingJump must be 0 or a positive multiple of the tick size")


def place(book: Book, command: PlaceSuperOrder) -> SuperOrder:
    entry = command.entry
    if entry.order_type not in (OrderType.LIMIT, OrderType.MARKET):
        raise input_error("Super order entry must be LIMIT or MARKET")
    instrument = orders.validate(book, entry)
    for value, name in ((command.target_price, "targetPrice"), (command.stop_loss_price, "stopLossPrice")):
        if value < 0 or (value > 0 and not is_on_tick(value, instrument.tick_size)):
            raise input_error(f"{name} must be a positive multiple of the tick size")
    price = entry.price if entry.order_type is OrderType.LIMIT else ZERO
    check_bracket(entry.side, price, command.target_price, command.stop_loss_price)
    _check_jump(instrument, command.trailing_jump)
    order_id = book.next_order_id(SUPER_PREFIX)
    order = orders.create(
        book, entry, instrument, leg=LegName.ENTRY_LEG, super_id=order_id, order_id=order_id
    )
    target = ExitLeg(LegName.TARGET_LEG, command.target_price) if command.target_price > 0 else None
    stop = ExitLeg(LegName.STOP_LOSS_LEG, command.stop_loss_price) if command.stop_loss_price > 0 else None
    return SuperOrder(order, target, stop, command.trailing_jump)


def _set_leg_price(book: Book, leg: ExitLeg, price: Decimal) -> None:
    leg.price = price
    if leg.order is not None:
        if leg.name is LegName.TARGET_LEG:
            leg.order.price = price
        else:
            leg.order.trigger_price = price
        leg.order.updated_at = book.now()
        book.emit(leg.order, leg.order.updated_at)


def _count(book: Book, leg: ExitLeg) -> None:
    if leg.modifications >= book.config.max_modifications:
        raise order_error(f"Maximum of {book.config.max_modifications} modifications reached for this leg")
    leg.modifications += 1


def _live_leg(so: SuperOrder, name: LegName) -> ExitLeg:
    leg = so.leg(name)
    if so.closed or leg is None or not leg.live:
        raise order_error("Nothing to Modify")
    return leg


def _live_price(leg: ExitLeg | None) -> Decimal:
    return leg.price if leg is not None and leg.live else ZERO


def modify(book: Book, so: SuperOrder, command: ModifySuperOrder) -> None:
    """Modify one leg (REFERENCE §3.3); `None` (and 0 for prices) keeps the current value."""
    if command.leg is LegName.ENTRY_LEG:
        _modify_entry(book, so, command)
    elif command.leg is LegName.TARGET_LEG:
        leg = _live_leg(so, LegName.TARGET_LEG)
        value = command.target_price or ZERO
        orders.check_price(so.entry.instrument, value, "targetPrice")
        check_bracket(so.entry.side, ZERO, value, _live_price(so.stop))
        _count(book, leg)
        _set_leg_price(book, leg, value)
    else:
        _modify_stop(book, so, command)


def _modify_entry(book: Book, so: SuperOrder, command: ModifySuperOrder) -> None:
    """The whole super order, only while the entry is PENDING or PART_TRADED."""
    if so.entry.status not in (OrderStatus.PENDING, OrderStatus.PART_TRADED):
        raise order_error("Entry leg can be modified only while it is PENDING or PART_TRADED")
    order_type = command.order_type or so.entry.order_type
    if order_type not in (OrderType.LIMIT, OrderType.MARKET):
        raise input_error("Super order entry must be LIMIT or MARKET")
    price = command.price if command.price else so.entry.price
    target, stop = _live_price(so.target), _live_price(so.stop)
    new_target = command.target_price if command.target_price and target else target
    new_stop = command.stop_loss_price if command.stop_loss_price and stop else stop
    for value in (new_target, new_stop):
        if value and not is_on_tick(value, so.entry.instrument.tick_size):
            raise input_error("Leg prices must be multiples of the tick size")
    check_bracket(so.entry.side, price if order_type is OrderType.LIMIT else ZERO, new_target, new_stop)
    if command.trailing_jump is not None:
        _check_jump(so.entry.instrument, command.trailing_jump)
    change = ModifyOrder(order_type=order_type, quantity=command.quantity, price=price)
    orders.modify(book, so.entry, change)
    if so.target is not None and so.target.live and new_target != target:
        _set_leg_price(book, so.target, new_target)
    if so.stop is not None and so.stop.live and new_stop != stop:
        _set_leg_price(book, so.stop, new_stop)
    if command.trailing_jump is not None:
        so.trailing_jump = command.trailing_jump


def _modify_stop(book: Book, so: SuperOrder, command: ModifySuperOrder) -> None:
    """Stop price and trail; an omitted or zero `trailingJump` cancels trailing (§3.3)."""
    leg = _live_leg(so, LegName.STOP_LOSS_LEG)
    value = command.stop_loss_price if command.stop_loss_price else leg.price
    orders.check_price(so.entry.instrument, value, "stopLossPrice")
    check_bracket(so.entry.side, ZERO, _live_price(so.target), value)
    jump = command.trailing_jump or ZERO
    _check_jump(so.entry.instrument, jump)
    _count(book, leg)
    if jump > 0 and so.trailing_jump <= 0 and so.trail_ref is not None:
        so.trail_ref = so.last_ltp or so.trail_ref  # trailing (re)starts from the current price
    so.trailing_jump = jump
    if value != leg.price:
        _set_leg_price(book, leg, value)


def _cancel_leg(book: Book, leg: ExitLeg, at: datetime) -> None:
    leg.status = OrderStatus.CANCELLED
    if leg.order is not None and leg.order.status.is_open:
        book.set_status(leg.order, OrderStatus.CANCELLED, at)


def cancel(book: Book, so: SuperOrder, name: LegName) -> None:
    """Cancel one leg; ENTRY_LEG cancels the entry's remainder and every live leg (§3.4)."""
    at = book.now()
    if name is LegName.ENTRY_LEG:
        if so.entry.status is OrderStatus.TRANSIT:
            raise order_error("Order is in Transit state")
        if so.closed or (not so.entry.status.is_open and not so.live_legs()):
            raise order_error("Nothing to Cancel")
        if so.entry.status.is_open:
            book.set_status(so.entry, OrderStatus.CANCELLED, at)
        for live in so.live_legs():
            _cancel_leg(book, live, at)
        return
    leg = so.leg(name)
    if so.closed or leg is None or not leg.live:
        raise order_error("Nothing to Cancel")
    _cancel_leg(book, leg, at)


def cancel_all(book: Book, so: SuperOrder, at: datetime) -> None:
    """Exit-all: the entry's remainder (TRANSIT included) and every live leg, with no refusals."""
    if so.entry.status.is_open:
        book.set_status(so.entry, OrderStatus.CANCELLED, at)
    for leg in so.live_legs():
        _cancel_leg(book, leg, at)


def _arm(book: Book, so: SuperOrder, at: datetime) -> None:
    """Create or resize the exit-leg orders to the entry's filled quantity."""
    if so.trail_ref is None:
        so.trail_ref = so.entry.average_price
    for leg in so.live_legs():
        quantity = so.open_qty
        if leg.order is None:
            is_target = leg.name is LegName.TARGET_LEG
            leg.order = Order(
                order_id=book.next_order_id(SUPER_PREFIX),
                correlation_id=so.entry.correlation_id,
                instrument=so.entry.instrument,
                side=so.exit_side,
                product=so.entry.product,
                order_type=OrderType.LIMIT if is_target else OrderType.STOP_LOSS_MARKET,
                requested_type=OrderType.LIMIT if is_target else OrderType.STOP_LOSS_MARKET,
                validity=so.entry.validity,
                quantity=quantity,
                price=leg.price if is_target else ZERO,
                trigger_price=ZERO if is_target else leg.price,
                created_at=at,
                updated_at=at,
                leg=leg.name,
                super_id=so.order_id,
            )
            book.orders[leg.order.order_id] = leg.order
            book.accept(leg.order, at)
        elif leg.order.quantity != quantity and leg.order.status.is_open:
            leg.order.quantity = quantity
            leg.order.updated_at = at
            book.emit(leg.order, at)


def _closable(book: Book, so: SuperOrder) -> int:
    net = book.positions.net_qty(so.entry.instrument.security_id, so.entry.product)
    held = net if so.exit_side is Side.SELL else -net
    return max(0, min(so.open_qty, held))


def _fire(book: Book, so: SuperOrder, leg: ExitLeg, at: datetime) -> None:
    quote = book.quote(so.entry.instrument, at)
    if matching.touch(so.exit_side, quote) <= 0:
        return  # nobody to trade with: the leg waits for the next step
    quantity = _closable(book, so)
    order = leg.order
    assert order is not None
    order.ref_ltp = quote.ltp
    if quantity > 0:
        order.quantity = order.filled_qty + quantity
        tick = so.entry.instrument.tick_size
        price = matching.fill_price(so.exit_side, quote, tick, book.config.slippage_ticks, None)
        leg.status, leg.triggered_qty = OrderStatus.TRIGGERED, quantity
        so.exited_qty += quantity
        book.fill(order, quantity, price, at)
    else:
        _cancel_leg(book, leg, at)
    for other in so.live_legs():
        _cancel_leg(book, other, at)
    if so.entry.status.is_open:
        book.set_status(so.entry, OrderStatus.CANCELLED, at, "Cancelled: exit leg executed")
    so.closed = True


def step(book: Book, so: SuperOrder, at: datetime) -> None:
    """Arm the legs after entry fills, trail the stop, and fire at most one leg (OCO)."""
    if so.closed or so.entry.filled_qty == 0 or not so.live_legs():
        return
    _arm(book, so, at)
    ltp = book.ltp(so.entry.instrument, at)
    so.last_ltp = ltp
    stop = so.stop if so.stop is not None and so.stop.live else None
    if stop is not None and so.trail_ref is not None:
        new_stop, so.trail_ref = trail(so.entry.side, stop.price, so.trail_ref, so.trailing_jump, ltp)
        if new_stop != stop.price:
            _set_leg_price(book, stop, new_stop)
    if stop is not None and matching.stop_touched(so.exit_side, stop.price, ltp):
        _fire(book, so, stop, at)
        return
    target = so.target if so.target is not None and so.target.live else None
    if target is not None and target_touched(so.exit_side, target.price, ltp):
        _fire(book, so, target, at)
