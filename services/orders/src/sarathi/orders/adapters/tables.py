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
    kind: str
    status: str
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
            kind=row["kind"],
            status=row["status"],
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
