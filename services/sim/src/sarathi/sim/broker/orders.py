"""Plain orders: validation (with Dhan's errors), placement, modification, cancellation, and what
happens to an order at a market step (TRANSIT → PENDING, market-price protection, matching).

Error codes and messages follow REFERENCE §1.4/§2 and Appendix A; the exact wording Dhan uses for
most validation failures is UNVERIFIED (the codes are what adapters classify on).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sarathi.common.domain.money import is_on_tick
from sarathi.sim.broker import matching
from sarathi.sim.broker.book import ORDER_PREFIX, Book
from sarathi.sim.broker.funds import available_balance
from sarathi.sim.broker.models import (
    ZERO,
    LegName,
    ModifyOrder,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    Validity,
    input_error,
    order_error,
)
from sarathi.sim.instruments import SimInstrument, UnknownInstrumentError

CORRELATION_ID = re.compile(r"^[A-Za-z0-9 _-]+$")
MAX_QUANTITY = 10_000_000
MAX_PRICE = Decimal(10_000_000)


def resolve_instrument(book: Book, security_id: str, segment: str) -> SimInstrument:
    """The tradable instrument named by a body, or DH-905 (unknown id, wrong segment, an index)."""
    try:
        instrument = book.universe.get(security_id)
    except UnknownInstrumentError:
        raise input_error(f"Invalid SecurityId {security_id}") from None
    if instrument.segment.wire != segment:
        raise input_error(f"SecurityId {security_id} is not listed on {segment}")
    if instrument.is_index:
        raise input_error("Orders cannot be placed on an index")
    return instrument


def check_quantity(instrument: SimInstrument, quantity: int, *, slicing: bool = False) -> None:
    if quantity <= 0 or quantity > MAX_QUANTITY:
        raise input_error("Quantity must be a positive number of units")
    if quantity % instrument.lot_size:
        raise input_error(f"Quantity {quantity} is not a multiple of the lot size {instrument.lot_size}")
    if not slicing and instrument.freeze_qty and quantity >= instrument.freeze_qty:
        raise input_error(
            f"Quantity {quantity} reaches the freeze limit {instrument.freeze_qty}; use order slicing"
        )


def check_price(instrument: SimInstrument, value: Decimal, name: str) -> None:
    if value <= 0:
        raise input_error(f"{name} must be greater than 0")
    if value > MAX_PRICE:
        raise input_error(f"{name} {value} is out of range")
    if not is_on_tick(value, instrument.tick_size):
        raise input_error(f"{name} {value} is not a multiple of the tick size {instrument.tick_size}")


def check_terms(
    instrument: SimInstrument, side: Side, order_type: OrderType, price: Decimal, trigger: Decimal
) -> None:
    """Price and trigger rules of each order type."""
    if order_type in (OrderType.LIMIT, OrderType.STOP_LOSS):
        check_price(instrument, price, "Price")
    if order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET):
        check_price(instrument, trigger, "Trigger price")
    if order_type is OrderType.STOP_LOSS:
        wrong_side = trigger > price if side is Side.BUY else trigger < price
        if wrong_side:
            raise input_error(
                "Trigger price must be on the near side of the limit price for a stop-loss order"
            )


def check_correlation_id(book: Book, correlation_id: str | None) -> None:
    if correlation_id is None:
        return
    if len(correlation_id) > book.config.correlation_id_max_len or not CORRELATION_ID.match(correlation_id):
        raise input_error("Invalid correlationId")


def validate(book: Book, command: PlaceOrder, *, slicing: bool = False) -> SimInstrument:
    instrument = resolve_instrument(book, command.security_id, command.segment)
    check_quantity(instrument, command.quantity, slicing=slicing)
    check_terms(instrument, command.side, command.order_type, command.price, command.trigger_price)
    if command.disclosed_quantity < 0 or command.disclosed_quantity > command.quantity:
        raise input_error("Disclosed quantity must be between 0 and the quantity")
    check_correlation_id(book, command.correlation_id)
    return instrument


def create(
    book: Book,
    command: PlaceOrder,
    instrument: SimInstrument,
    *,
    prefix: str = ORDER_PREFIX,
    leg: LegName | None = None,
    super_id: str | None = None,
    order_id: str | None = None,
) -> Order:
    """A new order in TRANSIT, added to the book (one alert)."""
    now = book.now()
    order_id = order_id or book.next_order_id(prefix)
    correlation_id = command.correlation_id or f"{book.config.client_id}-{int(now.timestamp() * 1000)}"
    price = command.price if command.order_type in (OrderType.LIMIT, OrderType.STOP_LOSS) else ZERO
    order = Order(
        order_id=order_id,
        correlation_id=correlation_id,
        instrument=instrument,
        side=command.side,
        product=command.product,
        order_type=command.order_type,
        requested_type=command.order_type,
        validity=command.validity,
        quantity=command.quantity,
        price=price,
        trigger_price=command.trigger_price if command.order_type.value.startswith("STOP") else ZERO,
        created_at=now,
        updated_at=now,
        disclosed_quantity=command.disclosed_quantity,
        after_market=command.after_market,
        leg=leg,
        super_id=super_id,
    )
    book.add(order)
    return order


def modify(book: Book, order: Order, command: ModifyOrder) -> None:
    """Apply a modification (allowed in TRANSIT, PENDING and PART_TRADED; 25 per order)."""
    if not order.status.is_open:
        raise order_error(f"Order is {order.status.value} and cannot be modified")
    if order.modifications >= book.config.max_modifications:
        raise order_error(f"Maximum of {book.config.max_modifications} modifications reached for this order")
    order_type = command.order_type or order.order_type
    quantity = command.quantity if command.quantity else order.quantity
    price = command.price if command.price is not None else order.price
    trigger = command.trigger_price if command.trigger_price is not None else order.trigger_price
    check_quantity(order.instrument, quantity)
    if quantity <= order.filled_qty:
        raise input_error(f"Quantity must exceed the traded quantity {order.filled_qty}")
    check_terms(order.instrument, order.side, order_type, price, trigger)
    if command.disclosed_quantity is not None and not 0 <= command.disclosed_quantity <= quantity:
        raise input_error("Disclosed quantity must be between 0 and the quantity")
    order.order_type = order_type
    if command.order_type is not None:
        order.requested_type = command.order_type
    order.quantity = quantity
    order.price = price if order_type in (OrderType.LIMIT, OrderType.STOP_LOSS) else ZERO
    order.trigger_price = trigger if order.is_stop else ZERO
    order.triggered = False if command.trigger_price is not None else order.triggered
    order.validity = command.validity or order.validity
    if command.disclosed_quantity is not None:
        order.disclosed_quantity = command.disclosed_quantity
    order.modifications += 1
    order.updated_at = book.now()
    book.emit(order, order.updated_at)


def cancel(book: Book, order: Order) -> None:
    if order.status is OrderStatus.TRANSIT:
        raise order_error("Order is in Transit state")
    if not order.status.is_open:
        raise order_error("Nothing to Cancel")
    book.set_status(order, OrderStatus.CANCELLED, book.now())


def _protect(book: Book, order: Order, at: datetime) -> bool:
    """Convert a MARKET order into a LIMIT with market-price protection; False if it was rejected."""
    quote = book.quote(order.instrument, at)
    limit = matching.mpp_limit(order.side, quote, order.instrument.tick_size, book.config.mpp_slabs)
    if limit is None:
        book.set_status(order, OrderStatus.REJECTED, at, "RMS: no market price to protect a market order")
        return False
    order.order_type, order.price = OrderType.LIMIT, limit
    return True


def _funds_ok(book: Book, order: Order, at: datetime) -> bool:
    """RMS: a buy that adds to (or opens) a long must fit in the available balance."""
    if not book.config.check_funds or order.side is not Side.BUY:
        return True
    if book.positions.net_qty(order.instrument.security_id, order.product) < 0:
        return True
    price = order.price if order.price > 0 else order.trigger_price
    return price * order.remaining <= available_balance(book)


def accept(book: Book, order: Order, at: datetime) -> None:
    """TRANSIT → PENDING (or REJECTED by RMS)."""
    if order.order_type is OrderType.MARKET and not _protect(book, order, at):
        return
    if not _funds_ok(book, order, at):
        book.set_status(order, OrderStatus.REJECTED, at, "RMS: Insufficient funds")
        return
    book.accept(order, at)


def match(book: Book, order: Order, at: datetime) -> None:
    """Try to execute an accepted order against the quote at `at` (IOC remainders are cancelled)."""
    if order.status not in (OrderStatus.PENDING, OrderStatus.PART_TRADED):
        return
    quote = book.quote(order.instrument, at)
    order.ref_ltp = quote.ltp
    if order.is_stop and not order.triggered:
        if not matching.stop_touched(order.side, order.trigger_price, quote.ltp):
            return
        order.triggered = True
        if order.order_type is OrderType.STOP_LOSS_MARKET:
            order.order_type = OrderType.MARKET
    if order.order_type is OrderType.MARKET and not _protect(book, order, at):
        return
    if matching.is_marketable(order.side, order.price, quote):
        quantity = order.remaining
        if book.config.respect_touch_quantity:
            available = quote.ask_qty if order.side is Side.BUY else quote.bid_qty
            lot = order.instrument.lot_size
            quantity = min(quantity, available // lot * lot)
        if quantity > 0:
            tick = order.instrument.tick_size
            price = matching.fill_price(order.side, quote, tick, book.config.slippage_ticks, order.price)
            book.fill(order, quantity, price, at)
    if order.validity is Validity.IOC and order.status.is_open:
        book.set_status(order, OrderStatus.CANCELLED, at, "IOC remainder cancelled")


def slice_quantities(instrument: SimInstrument, quantity: int) -> list[int]:
    """Child quantities for `/orders/slicing`: whole lots, each below the freeze quantity."""
    freeze = instrument.freeze_qty
    if not freeze:
        return [quantity]
    lot = instrument.lot_size
    largest = (freeze - 1) // lot * lot
    if largest <= 0:
        raise input_error("Freeze quantity is smaller than one lot")
    parts = [largest] * (quantity // largest)
    if quantity % largest:
        parts.append(quantity % largest)
    return parts


def child_command(command: PlaceOrder, quantity: int) -> PlaceOrder:
    return replace(command, quantity=quantity)
