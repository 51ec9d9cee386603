"""Orders and fills (schema `orders`), owned by the orders service.

An order row is keyed for us by `client_order_id`: the deterministic id of the command that caused
it, sent to Dhan as `correlationId` (ARCHITECTURE §7), hence unique. Dhan's `orderId` arrives
later and is shared by the legs of a super order (told apart by `leg_name`), so it is indexed but
not unique. A fill is unique per order by the broker's trade id, which makes recording a trade
twice (an order-update replayed after a reconnect) a constraint violation rather than a double fill.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import BigInteger, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field

from sarathi.common.db.base import (
    JSON_DOCUMENT,
    MONEY,
    TIMESTAMPTZ,
    SarathiTable,
    Schema,
    id_field,
    one_of,
)
from sarathi.common.domain.trading import Side


class Order(SarathiTable, table=True):
    """One order we sent (or a leg of a super order), with its latest known broker state."""

    __tablename__: ClassVar[str] = "order"
    __table_args__ = (
        one_of("side", [s.value for s in Side]),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("filled_quantity BETWEEN 0 AND quantity", name="filled_within_quantity"),
        {"schema": Schema.ORDERS.value},
    )

    id: int | None = id_field()
    client_order_id: str = Field(unique=True)  # our id, Dhan's correlationId
    broker_order_id: str | None = Field(default=None, index=True)  # Dhan's orderId
    command_id: str = Field(index=True)  # the bus command that asked for this order
    security_id: str
    exchange_segment: str
    side: str  # BUY or SELL
    product: str  # Dhan's productType: INTRADAY, MARGIN, ...
    order_type: str  # Dhan's orderType: LIMIT, MARKET, STOP_LOSS, STOP_LOSS_MARKET
    quantity: int
    price: Decimal | None = Field(default=None, sa_type=MONEY)  # None for a market order
    trigger_price: Decimal | None = Field(default=None, sa_type=MONEY)
    target_price: Decimal | None = Field(default=None, sa_type=MONEY)  # super order target leg
    stop_loss_price: Decimal | None = Field(default=None, sa_type=MONEY)  # super order stop-loss leg
    status: str  # Dhan's orderStatus: TRANSIT, PENDING, TRADED, REJECTED, CANCELLED, ...
    leg_name: str | None = None  # ENTRY_LEG, TARGET_LEG, STOP_LOSS_LEG for super orders
    parent_order_id: int | None = Field(
        default=None, foreign_key="orders.order.id", index=True, sa_type=BigInteger
    )  # the super order an exit or leg belongs to
    filled_quantity: int = 0
    average_price: Decimal | None = Field(default=None, sa_type=MONEY)
    reject_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)
    # Added in 0002: what the order's events need to name.
    correlation_id: str | None = None  # the bus correlation id of the trade (not Dhan's correlationId)
    underlying: str | None = None  # NIFTY, BANKNIFTY, SENSEX: position events name it
    exit_reason: str | None = None  # for our exit sells: why the position was closed


class Command(SarathiTable, table=True):
    """One command handled by the orders service, stored before any broker call (unique by id)."""

    __tablename__: ClassVar[str] = "command"
    # `kind` and `status` are the orders service's `domain.commands` enums (their CHECK constraints
    # are in migration 0002); the status moves only as that module's transition table allows.
    __table_args__ = ({"schema": Schema.ORDERS.value},)

    id: int | None = id_field()
    command_id: str = Field(unique=True)  # the bus message id = Dhan's correlationId
    kind: str  # CommandKind
    status: str  # CommandStatus
    correlation_id: str  # the bus correlation id of the trade
    payload: dict[str, Any] = Field(sa_type=JSON_DOCUMENT)  # the command message as JSON
    broker_order_id: str | None = None
    attempts: int = 0  # broker placements sent under this id
    detail: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Outbox(SarathiTable, table=True):
    """Events written in the same transaction as the state they describe, published afterwards.

    `message_id` is deterministic (from the broker order id and the status or trade), so a row is
    written once however often the same broker fact is seen, and JetStream de-duplicates a
    republish after a crash between publishing and marking the row published.
    """

    __tablename__: ClassVar[str] = "outbox"
    __table_args__ = ({"schema": Schema.ORDERS.value},)

    id: int | None = id_field()
    message_id: str = Field(unique=True)
    subject: str
    payload: str = Field(sa_type=Text)  # the encoded message, byte for byte
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    published_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ, index=True)


class Fill(SarathiTable, table=True):
    """One trade (partial or full execution) of an order, as the broker reported it."""

    __tablename__: ClassVar[str] = "fill"
    __table_args__ = (
        UniqueConstraint("order_id", "broker_trade_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        {"schema": Schema.ORDERS.value},
    )

    id: int | None = id_field()
    order_id: int = Field(foreign_key="orders.order.id", sa_type=BigInteger)  # indexed by the unique key
    broker_trade_id: str  # Dhan's exchangeTradeId
    quantity: int
    price: Decimal = Field(sa_type=MONEY)
    traded_at: datetime = Field(sa_type=TIMESTAMPTZ)


__all__ = ["Command", "Fill", "Order", "Outbox"]
