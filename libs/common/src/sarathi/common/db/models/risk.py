"""Position trackers and the operator audit log (schema `risk`), owned by the risk service.

A `PositionTracker` is risk's view of one position opened by one entry order: quantity, average
entry, the trailing stop's high-water mark and, once closed, why. `AuditLog` records every state
change made through the operator API: who, when, what, why and from where (ARCHITECTURE §8).
`TradingHalt` records each sticky halt (a daily-loss halt holds for its trading day, a kill until an
operator clears it with a reason), so a restarted risk service keeps trading halted.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, Index, Text, text
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


def _money_column(name: str) -> Column[Decimal]:
    """A NOT NULL money column defaulting to 0 in the database too (rows older than the column)."""
    return Column(name, MONEY, nullable=False, server_default=text("0"))


class PositionStatus(StrEnum):
    OPEN = "OPEN"
    CLOSING = "CLOSING"  # exit sent, not yet confirmed flat
    CLOSED = "CLOSED"


class PositionTracker(SarathiTable, table=True):
    """One position, from the entry fill to the confirmed exit."""

    __tablename__: ClassVar[str] = "position_tracker"
    __table_args__ = (
        one_of("status", [s.value for s in PositionStatus]),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("status <> 'CLOSED' OR closed_at IS NOT NULL", name="closed_has_closed_at"),
        Index(None, "status", "underlying"),
        {"schema": Schema.RISK.value},
    )

    id: int | None = id_field()
    security_id: str
    exchange_segment: str
    underlying: str  # NIFTY, BANKNIFTY, SENSEX: pyramiding is counted per underlying
    entry_order_id: str = Field(unique=True)  # client order id of the entry; one position per entry
    status: str  # OPEN, CLOSING, CLOSED
    quantity: int  # net long quantity; never negative (buy side only)
    average_entry: Decimal = Field(sa_type=MONEY)
    high_water_mark: Decimal | None = Field(default=None, sa_type=MONEY)  # best pnl once armed
    trail_armed: bool = False
    exit_reason: str | None = None
    opened_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    correlation_id: str = Field(index=True)  # follows the trade from signal to close
    # P&L facts that must survive a restart (the daily loss limit counts realized losses). The
    # fills are the source (`sarathi.common.domain.pnl`); the three sums beside them are derived
    # from them, for readers of the table. Rows older than `fills` have `[]` there.
    fills: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column("fills", JSON_DOCUMENT, nullable=False, server_default=text("'[]'::jsonb")),
    )
    contract_realized: Decimal = Field(
        default=Decimal(0), sa_column=_money_column("contract_realized")
    )  # the contract's realized P&L today as of the latest event (before fills: as of the open)
    realized_pnl: Decimal = Field(default=Decimal(0), sa_column=_money_column("realized_pnl"))
    buy_value: Decimal = Field(default=Decimal(0), sa_column=_money_column("buy_value"))
    sell_value: Decimal = Field(default=Decimal(0), sa_column=_money_column("sell_value"))


class AuditLog(SarathiTable, table=True):
    """One operator action (pause, resume, flatten, kill, ...), recorded when it was accepted."""

    __tablename__: ClassVar[str] = "audit_log"
    __table_args__ = (
        Index(None, "occurred_at"),
        {"schema": Schema.RISK.value},
    )

    id: int | None = id_field()
    actor: str  # who: the identity behind the bearer token
    occurred_at: datetime = Field(sa_type=TIMESTAMPTZ)
    action: str
    reason: str | None = Field(default=None, sa_type=Text)
    remote_address: str | None = None  # the caller's address
    old_state: Any | None = Field(default=None, sa_type=JSON_DOCUMENT)
    new_state: Any | None = Field(default=None, sa_type=JSON_DOCUMENT)


class HaltCauseCode(StrEnum):
    DAILY_LOSS = "DAILY_LOSS"  # holds for the rest of `trading_day`
    KILL = "KILL"  # holds until cleared (cleared_at set)


class TradingHalt(SarathiTable, table=True):
    """One sticky halt: set by the daily loss limit or a kill; a kill is cleared by an operator."""

    __tablename__: ClassVar[str] = "trading_halt"
    __table_args__ = (
        one_of("cause", [c.value for c in HaltCauseCode]),
        CheckConstraint(
            "(cleared_at IS NULL) = (cleared_by IS NULL AND clear_reason IS NULL)", name="cleared_whole"
        ),
        Index(None, "cause", "trading_day"),
        {"schema": Schema.RISK.value},
    )

    id: int | None = id_field()
    cause: str  # DAILY_LOSS or KILL
    trading_day: date  # IST
    halted_at: datetime = Field(sa_type=TIMESTAMPTZ)
    actor: str  # who halted: `risk` for the daily loss limit, the operator for a kill
    reason: str = Field(sa_type=Text)
    cleared_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    cleared_by: str | None = None
    clear_reason: str | None = Field(default=None, sa_type=Text)


__all__ = ["AuditLog", "HaltCauseCode", "PositionStatus", "PositionTracker", "TradingHalt"]
