"""The orders schema's tables as SQLAlchemy Core objects, and the rows the application reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import RowMapping

from sarathi.common.db.models.orders import Command, Fill, Order, Outbox
from sarathi.common.db.models.refdata import Derivative
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.domain.commands import CommandKind, CommandStatus
from sarathi.orders.domain.order_spec import OrderSpec

ORDER = cast(Table, Order.__table__)  # type: ignore[attr-defined]
FILL = cast(Table, Fill.__table__)  # type: ignore[attr-defined]
COMMAND = cast(Table, Command.__table__)  # type: ignore[attr-defined]
OUTBOX = cast(Table, Outbox.__table__)  # type: ignore[attr-defined]
DERIVATIVE = cast(Table, Derivative.__table__)  # type: ignore[attr-defined]  # reference data: read only

# Order rows keep Dhan's leg names; our own exit sells are plain orders marked EXIT.
LEG_NAMES = {
    Leg.ENTRY: "ENTRY_LEG",
    Leg.TARGET: "TARGET_LEG",
    Leg.STOP_LOSS: "STOP_LOSS_LEG",
    Leg.EXIT: "EXIT",
}
LEGS_BY_NAME = {name: leg for leg, name in LEG_NAMES.items()}


@dataclass(frozen=True, slots=True)
class CommandRow:
    id: int
    command_id: str
    kind: CommandKind
    status: CommandStatus
    correlation_id: str
    payload: dict[str, Any]
    broker_order_id: str | None
    attempts: int
    detail: str | None

    @classmethod
    def of(cls, row: RowMapping) -> CommandRow:
        return cls(
            id=row["id"],
            command_id=row["command_id"],
            kind=CommandKind(row["kind"]),
            status=CommandStatus(row["status"]),
            correlation_id=row["correlation_id"],
            payload=dict(row["payload"]),
            broker_order_id=row["broker_order_id"],
            attempts=row["attempts"],
            detail=row["detail"],
        )


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    client_order_id: str
    broker_order_id: str | None
    command_id: str
    contract: ContractKey
    side: Side
    status: OrderStatus
    quantity: int
    filled_quantity: int
    leg: Leg | None
    parent_order_id: int | None
    underlying: str | None
    correlation_id: str | None
    exit_reason: str | None
    price: Decimal | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> OrderRow:
        return cls(
            id=row["id"],
            client_order_id=row["client_order_id"],
            broker_order_id=row["broker_order_id"],
            command_id=row["command_id"],
            contract=ContractKey(ExchangeSegment.from_wire(row["exchange_segment"]), row["security_id"]),
            side=Side(row["side"]),
            status=OrderStatus(row["status"]),
            quantity=row["quantity"],
            filled_quantity=row["filled_quantity"],
            leg=LEGS_BY_NAME.get(row["leg_name"] or ""),
            parent_order_id=row["parent_order_id"],
            underlying=row["underlying"],
            correlation_id=row["correlation_id"],
            exit_reason=row["exit_reason"],
            price=row["price"],
            created_at=row["created_at"],
        )


def order_values(spec: OrderSpec, now: datetime) -> dict[str, Any]:
    """The order row of `spec` as first written (no fills yet): the one place an order row is built."""
    return {
        "client_order_id": spec.client_order_id,
        "broker_order_id": spec.broker_order_id,
        "command_id": spec.command_id,
        "security_id": spec.contract.security_id,
        "exchange_segment": spec.contract.segment.wire,
        "side": spec.side.value,
        "product": spec.product,
        "order_type": spec.order_type,
        "quantity": spec.quantity,
        "price": spec.price,
        "target_price": spec.target_price,
        "stop_loss_price": spec.stop_loss_price,
        "status": spec.status.value,
        "leg_name": LEG_NAMES[spec.leg] if spec.leg is not None else None,
        "parent_order_id": spec.parent_order_id,
        "filled_quantity": 0,
        "correlation_id": spec.correlation_id,
        "underlying": spec.underlying,
        "exit_reason": spec.exit_reason,
        "created_at": now,
        "updated_at": now,
    }


def unstored_row(spec: OrderSpec, now: datetime) -> OrderRow:
    """The row `spec` would have (id 0): what an event names for an order the broker never took."""
    values = order_values(spec, now)
    return OrderRow.of({column.name: values.get(column.name) for column in ORDER.columns} | {"id": 0})  # type: ignore[arg-type]
