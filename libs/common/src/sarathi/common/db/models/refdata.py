"""Reference data from Dhan's scrip master (schema `refdata`), written only by the instrument-sync job.

Every service reads these tables; an order for a security id not in `derivative` is refused
(ARCHITECTURE §6). Dhan recycles security ids after expiry, so a derivative is identified by
(exchange segment, security id, expiry), not by the security id alone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field

from sarathi.common.db.base import MONEY, TIMESTAMPTZ, SarathiTable, Schema, id_field, one_of


class OptionTypeCode(StrEnum):
    """Stored spelling of an option type (same as `domain.instruments.OptionType`)."""

    CALL = "CE"
    PUT = "PE"


class SyncStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Instrument(SarathiTable, table=True):
    """A non-derivative instrument: an index (IDX_I) or an equity, keyed by segment and security id."""

    __tablename__: ClassVar[str] = "instrument"
    __table_args__ = (
        UniqueConstraint("exchange_segment", "security_id"),
        {"schema": Schema.REFDATA.value},
    )

    id: int | None = id_field()
    security_id: str
    exchange_segment: str  # Dhan's REST spelling: IDX_I, NSE_EQ, ...
    symbol: str = Field(index=True)
    name: str | None = None
    instrument_kind: str  # Dhan's INSTRUMENT: INDEX, EQUITY, ...
    tick_size: Decimal = Field(sa_type=MONEY)
    lot_size: int
    synced_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Derivative(SarathiTable, table=True):
    """An index option contract, as the scrip master lists it on the day of the sync."""

    __tablename__: ClassVar[str] = "derivative"
    __table_args__ = (
        UniqueConstraint("exchange_segment", "security_id", "expiry"),
        Index(None, "underlying", "expiry", "option_type", "strike"),
        one_of("option_type", [t.value for t in OptionTypeCode]),
        {"schema": Schema.REFDATA.value},
    )

    id: int | None = id_field()
    security_id: str
    exchange_segment: str  # NSE_FNO or BSE_FNO
    underlying: str  # NIFTY, BANKNIFTY, SENSEX
    underlying_security_id: str | None = None  # the index's IDX_I id (the option chain's UnderlyingScrip)
    expiry: date
    strike: Decimal = Field(sa_type=MONEY)
    option_type: str  # CE or PE
    lot_size: int
    tick_size: Decimal = Field(sa_type=MONEY)
    freeze_quantity: int | None = None
    trading_symbol: str
    display_name: str | None = None
    synced_at: datetime = Field(sa_type=TIMESTAMPTZ)


class SyncRun(SarathiTable, table=True):
    """One run of the instrument-sync job: when, how many rows, and how it ended."""

    __tablename__: ClassVar[str] = "sync_run"
    __table_args__ = (
        one_of("status", [s.value for s in SyncStatus]),
        {"schema": Schema.REFDATA.value},
    )

    id: int | None = id_field()
    started_at: datetime = Field(sa_type=TIMESTAMPTZ)
    finished_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    status: str
    instrument_rows: int = 0
    derivative_rows: int = 0
    source: str | None = None  # where the scrip master came from (URL or file)
    message: str | None = Field(default=None, sa_type=Text)


__all__ = ["Derivative", "Instrument", "OptionTypeCode", "SyncRun", "SyncStatus"]
