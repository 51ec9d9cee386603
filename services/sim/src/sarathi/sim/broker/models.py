"""The paper broker's vocabulary: Dhan's enumerations (REFERENCE §2.2), orders, trades, the
commands the REST layer hands in, and the one error type the broker raises.

Prices and amounts are `Decimal` rupees throughout; floats appear only in `views` and `alerts`,
at the JSON edge. Orders are mutable records owned by the broker; commands and trades are frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sarathi.sim.instruments import SimInstrument

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the change of net quantity per unit filled."""
        return 1 if self is Side.BUY else -1


class Product(StrEnum):
    CNC = "CNC"
    INTRADAY = "INTRADAY"
    MARGIN = "MARGIN"
    MTF = "MTF"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_MARKET = "STOP_LOSS_MARKET"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"


class OrderStatus(StrEnum):
    TRANSIT = "TRANSIT"
    PENDING = "PENDING"
    PART_TRADED = "PART_TRADED"
    TRADED = "TRADED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    CLOSED = "CLOSED"  # super-order parent: entry and one exit leg completed
    TRIGGERED = "TRIGGERED"  # super-order exit leg that fired

    @property
    def is_open(self) -> bool:
        return self in _OPEN


_OPEN = frozenset({OrderStatus.TRANSIT, OrderStatus.PENDING, OrderStatus.PART_TRADED})


class LegName(StrEnum):
    ENTRY_LEG = "ENTRY_LEG"
    TARGET_LEG = "TARGET_LEG"
    STOP_LOSS_LEG = "STOP_LOSS_LEG"

    @property
    def leg_no(self) -> int:
        """`LegNo` of the order-update stream: 1 entry, 2 stop-loss, 3 target (REFERENCE §3.7)."""
        return {LegName.ENTRY_LEG: 1, LegName.STOP_LOSS_LEG: 2, LegName.TARGET_LEG: 3}[self]


class BrokerError(Exception):
    """A refusal answered as Dhan does: HTTP status, `errorCode` and `errorMessage`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def input_error(message: str) -> BrokerError:
    return BrokerError(400, "DH-905", message)


def order_error(message: str, status: int = 400) -> BrokerError:
    return BrokerError(status, "DH-906", message)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """`POST /orders` (and the entry of `POST /super/orders`), already parsed into Decimals."""

    security_id: str
    segment: str
    side: Side
    product: Product
    order_type: OrderType
    quantity: int
    price: Decimal = ZERO
    trigger_price: Decimal = ZERO
    validity: Validity = Validity.DAY
    disclosed_quantity: int = 0
    correlation_id: str | None = None
    after_market: bool = False


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """`PUT /orders/{id}`: `None` keeps the current value; `quantity` is the new total."""

    order_type: OrderType | None = None
    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    disclosed_quantity: int | None = None
    validity: Validity | None = None


@dataclass(frozen=True, slots=True)
class PlaceSuperOrder:
    entry: PlaceOrder
    target_price: Decimal
    stop_loss_price: Decimal
    trailing_jump: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ModifySuperOrder:
    """`PUT /super/orders/{id}` for one leg; `None` keeps the current value."""

    leg: LegName
    order_type: OrderType | None = None
    quantity: int | None = None
    price: Decimal | None = None
    target_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    trailing_jump: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    order: Order
    quantity: int
    price: Decimal
    at: datetime


@dataclass(eq=False)
class Order:
    """One order of the book, a plain order or one leg of a super order."""

    order_id: str
    correlation_id: str
    instrument: SimInstrument
    side: Side
    product: Product
    order_type: OrderType  # as shown now (a MARKET order shows LIMIT once Dhan converts it)
    requested_type: OrderType  # as the client asked
    validity: Validity
    quantity: int
    price: Decimal
    trigger_price: Decimal
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.TRANSIT
    disclosed_quantity: int = 0
    after_market: bool = False
    exchange_order_id: str = ""
    exchange_time: datetime | None = None
    filled_qty: int = 0
    filled_value: Decimal = ZERO
    last_fill_price: Decimal = ZERO
    modifications: int = 0
    triggered: bool = False  # a stop order whose trigger has been touched
    leg: LegName | None = None
    super_id: str | None = None
    oms_error: str = ""
    ref_ltp: Decimal = ZERO
    trades: list[Trade] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_qty

    @property
    def average_price(self) -> Decimal:
        return self.filled_value / self.filled_qty if self.filled_qty else ZERO

    @property
    def is_stop(self) -> bool:
        return self.order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET)
