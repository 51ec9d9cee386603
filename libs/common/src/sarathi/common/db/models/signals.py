"""Signal history (schema `signals`), owned by the signals service.

A signal's id is deterministic (derived from underlying, strategy and bar close), so the unique
constraint on `signal_id` makes re-publishing a signal after a restart idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Index
from sqlmodel import Field

from sarathi.common.db.base import JSON_DOCUMENT, TIMESTAMPTZ, SarathiTable, Schema, id_field, one_of
from sarathi.common.domain.trading import Direction


class Signal(SarathiTable, table=True):
    """The trend decision taken at one bar close, with the indicator values it was based on."""

    __tablename__: ClassVar[str] = "signal"
    __table_args__ = (
        one_of("direction", [d.value for d in Direction]),
        Index(None, "underlying", "bar_close_at"),
        {"schema": Schema.SIGNALS.value},
    )

    id: int | None = id_field()
    signal_id: str = Field(unique=True)
    underlying: str
    strategy: str
    bar_close_at: datetime = Field(sa_type=TIMESTAMPTZ)
    direction: str
    indicators: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_DOCUMENT, nullable=False)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


__all__ = ["Signal"]
