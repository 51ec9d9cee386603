"""Decisions in PostgreSQL (`execution.decision`, owned by this service), and reading them back.

One row per signal acted on: PLACED with the command id (and the command itself in `details`,
so a redelivered signal re-publishes exactly the same command), or REFUSED with the gate and the
reason; a placed entry the broker then rejects gets a second row, REJECTED, with Dhan's code and
reason. `find` reads a signal's first row. `GET /decisions` reads the latest rows of an underlying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.db.base import SarathiTable
from sarathi.common.db.models.execution import DecisionOutcome
from sarathi.common.domain.instruments import Underlying


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    signal_id: str
    underlying: Underlying
    outcome: DecisionOutcome
    reason: str
    command_id: str | None
    details: dict[str, Any]
    decided_at: datetime

    @property
    def gate(self) -> str | None:
        gate = self.details.get("gate")
        return str(gate) if gate is not None else None

    def as_json(self) -> dict[str, Any]:
        return {
            "signal_id": self.signal_id, "underlying": self.underlying.value, "outcome": self.outcome.value,
            "gate": self.gate, "reason": self.reason, "command_id": self.command_id,
            "decided_at": self.decided_at.isoformat(), "details": self.details,
        }  # fmt: skip


_TABLE = SarathiTable.metadata.tables["execution.decision"]


def _record(row: Any) -> DecisionRecord:
    return DecisionRecord(
        signal_id=row["signal_id"], underlying=Underlying(row["underlying"]),
        outcome=DecisionOutcome(row["outcome"]), reason=row["reason"] or "", command_id=row["command_id"],
        details=dict(row["details"] or {}), decided_at=row["decided_at"],
    )  # fmt: skip


class Decisions(Protocol):
    """The decisions port: `DecisionStore` here, `testing.MemoryDecisionStore` in tests and benchmarks."""

    async def find(self, signal_id: str) -> DecisionRecord | None: ...

    async def for_command(self, command_id: str) -> list[DecisionRecord]: ...

    async def save(self, record: DecisionRecord) -> None: ...

    async def recent(self, underlying: Underlying | None, limit: int) -> list[DecisionRecord]: ...


class DecisionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def find(self, signal_id: str) -> DecisionRecord | None:
        statement = select(_TABLE).where(_TABLE.c.signal_id == signal_id).order_by(_TABLE.c.id).limit(1)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return None if row is None else _record(row)

    async def for_command(self, command_id: str) -> list[DecisionRecord]:
        """Every row of the submit command `command_id` (PLACED, then REJECTED if it was)."""
        statement = select(_TABLE).where(_TABLE.c.command_id == command_id).order_by(_TABLE.c.id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [_record(row) for row in rows]

    async def save(self, record: DecisionRecord) -> None:
        values = {
            "signal_id": record.signal_id, "underlying": record.underlying.value,
            "outcome": record.outcome.value, "reason": record.reason, "command_id": record.command_id,
            "details": record.details, "decided_at": record.decided_at,
        }  # fmt: skip
        async with self._engine.begin() as connection:
            await connection.execute(insert(_TABLE).values(**values))

    async def recent(self, underlying: Underlying | None, limit: int) -> list[DecisionRecord]:
        statement = select(_TABLE).order_by(_TABLE.c.decided_at.desc(), _TABLE.c.id.desc()).limit(limit)
        if underlying is not None:
            statement = statement.where(_TABLE.c.underlying == underlying.value)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [_record(row) for row in rows]
