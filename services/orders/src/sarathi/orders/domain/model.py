"""What the broker says, in domain terms: orders, trades, positions and super orders.

These are built from Dhan's venue schemas by `sarathi.orders.adapters.mapping` (one function per
schema) and are all the domain ever sees of the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import Leg, OrderStatus, Side

OPEN_STATUSES = frozenset({OrderStatus.TRANSIT, OrderStatus.PENDING, OrderStatus.PART_TRADED})
TERMINAL_STATUSES = frozenset(
    {OrderStatus.TRADED, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.CLOSED}
)


def parse_status(text: str) -> OrderStatus | None:
    """Dhan's status in any casing (`Part_Traded`, `TRADED`), or None for one we do not know."""
    try:
        return OrderStatus(text.strip().upper())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """One order (or super-order leg) as the broker last reported it.

    `leg` is ENTRY / TARGET / STOP_LOSS for super-order legs and None for a plain order.
    `filled_quantity` is cumulative; `last_fill_price` is the latest trade's price when known.
    """

    broker_order_id: str
    correlation_id: str
    contract: ContractKey
    side: Side
    leg: Leg | None
    status: OrderStatus | None
    quantity: int
    filled_quantity: int
    average_price: Decimal | None = None
    last_fill_price: Decimal | None = None
    reason: str | None = None
    parent_broker_order_id: str | None = None
    updated_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> int:
        return max(0, self.quantity - self.filled_quantity) if self.is_open else 0


@dataclass(frozen=True, slots=True)
class BrokerTrade:
    """One trade (execution) of an order."""

    broker_order_id: str
    trade_id: str
    contract: ContractKey
    side: Side
    quantity: int
    price: Decimal
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """The broker's net quantity in one contract and product (negative = short)."""

    contract: ContractKey
    product: str
    net_quantity: int


@dataclass(frozen=True, slots=True)
class BrokerLeg:
    """A target or stop-loss leg of a super order: PENDING while resting, TRIGGERED once fired."""

    leg: Leg
    status: OrderStatus | None
    quantity: int
    triggered_quantity: int

    @property
    def resting(self) -> bool:
        return self.status is OrderStatus.PENDING


@dataclass(frozen=True, slots=True)
class BrokerSuperOrder:
    """A super order as the super-order list shows it: the entry and its exit legs."""

    broker_order_id: str
    correlation_id: str
    contract: ContractKey
    status: OrderStatus | None
    quantity: int
    filled_quantity: int
    legs: tuple[BrokerLeg, ...]

    @property
    def entry_open(self) -> bool:
        return self.status in OPEN_STATUSES
