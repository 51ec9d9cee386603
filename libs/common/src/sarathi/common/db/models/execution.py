"""Entry decisions (schema `execution`), owned by the execution service.

One row per signal considered: whether an entry was placed or refused and why, with the gate
values behind the decision in `details`, so "why did it not trade?" has an answer in the database.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import Index, Text
from sqlmodel import Field

from sarathi.common.db.base import JSON_DOCUMENT, TIMESTAMPTZ, SarathiTable, Schema, id_field, one_of


class DecisionOutcome(StrEnum):
    PLACED = "PLACED"
    REFUSED = "REFUSED"
    REJECTED = "REJECTED"  # the broker refused a placed entry (a row after its PLACED one)


class Decision(SarathiTable, table=True):
    """What execution did with one signal."""

    __tablename__: ClassVar[str] = "decision"
    __table_args__ = (
        one_of("outcome", [o.value for o in DecisionOutcome]),
        Index(None, "underlying", "decided_at"),
        {"schema": Schema.EXECUTION.value},
    )

    id: int | None = id_field()
    signal_id: str = Field(index=True)
    underlying: str
    outcome: str  # PLACED, REFUSED or REJECTED
    reason: str | None = Field(default=None, sa_type=Text)  # the refusing gate, or a note
    command_id: str | None = None  # the submit command, when placed
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_DOCUMENT, nullable=False)
    decided_at: datetime = Field(sa_type=TIMESTAMPTZ)


__all__ = ["Decision", "DecisionOutcome"]
