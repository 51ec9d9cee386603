"""Where trackers, sticky halts and the audit log live: PostgreSQL (schema `risk`) or memory (tests).

Trackers are upserted by their entry order id, so saving the same state twice is harmless and a
restart resumes every tracker — high-water mark and armed trail included — from `load`. Halts are
rows of `risk.trading_halt`: `load_halts` returns the kill not yet cleared and the daily-loss halt
of the given trading day, so a restart keeps trading halted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.db.models.risk import AuditLog, PositionTracker, TradingHalt
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.domain.trading import ExitReason
from sarathi.risk.domain.control import Halt, HaltCause, Halts
from sarathi.risk.domain.position import Status, TrackedPosition, fills_of, legacy_fills, stored_fills


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One accepted state change: who, when, what, why, from where, and the state around it."""

    actor: str
    at: datetime
    action: str
    reason: str | None
    remote_address: str | None
    old_state: dict[str, Any] | None
    new_state: dict[str, Any] | None


class RiskStore(Protocol):
    async def load(self, closed_since: datetime) -> list[TrackedPosition]:
        """Every open or closing tracker, and those closed at or after `closed_since`."""
        ...

    async def save(self, positions: Sequence[TrackedPosition]) -> None:
        """Upsert these trackers (by entry order id) in one transaction."""
        ...

    async def audit(self, entry: AuditEntry) -> None: ...

    async def load_halts(self, day: date) -> Halts:
        """The kill not yet cleared (the latest) and the daily-loss halt of `day` (the first)."""
        ...

    async def record_halt(self, halt: Halt) -> None: ...

    async def clear_kill(self, at: datetime, actor: str, reason: str) -> int:
        """Mark every uncleared kill cleared; returns how many were."""
        ...


@dataclass(frozen=True, slots=True)
class _ClearedHalt:
    halt: Halt
    cleared: tuple[datetime, str, str] | None = None


def _halts(rows: Sequence[_ClearedHalt], day: date) -> Halts:
    kills = [r.halt for r in rows if r.halt.cause is HaltCause.KILL and r.cleared is None]
    losses = [r.halt for r in rows if r.halt.cause is HaltCause.DAILY_LOSS and r.halt.trading_day == day]
    return Halts(
        kill=max(kills, key=lambda h: h.at) if kills else None,
        daily_loss=min(losses, key=lambda h: h.at) if losses else None,
    )


def _row(position: TrackedPosition) -> dict[str, Any]:
    return {
        "security_id": position.security_id,
        "exchange_segment": position.segment.wire,
        "underlying": position.underlying.value,
        "entry_order_id": position.entry_order_id,
        "status": position.status.value,
        "quantity": position.quantity,
        "average_entry": position.average_entry,
        "high_water_mark": position.hwm,
        "trail_armed": position.trail_armed,
        "exit_reason": position.exit_reason.value if position.exit_reason else None,
        "opened_at": position.opened_at,
        "closed_at": position.closed_at,
        "correlation_id": position.correlation_id,
        "fills": stored_fills(position),
        "contract_realized": position.contract_realized,
        "realized_pnl": position.realized_pnl,
        "buy_value": position.buy_value,
        "sell_value": position.sell_value,
    }


def _position(row: PositionTracker) -> TrackedPosition:
    fills = fills_of(row.fills)
    contract_realized = Decimal(row.contract_realized)
    if not fills:  # saved before trackers kept fills: `contract_realized` is still the base then
        realized = Decimal(row.realized_pnl)
        fills = legacy_fills(
            row.quantity,
            Decimal(row.average_entry),
            realized,
            Decimal(row.buy_value),
            Decimal(row.sell_value),
        )
        contract_realized += realized
    return TrackedPosition(
        entry_order_id=row.entry_order_id,
        security_id=row.security_id,
        segment=ExchangeSegment.from_wire(row.exchange_segment),
        underlying=Underlying(row.underlying),
        status=Status(row.status),
        quantity=row.quantity,
        average_entry=Decimal(row.average_entry),
        opened_at=row.opened_at,
        correlation_id=row.correlation_id,
        trail_armed=row.trail_armed,
        hwm=None if row.high_water_mark is None else Decimal(row.high_water_mark),
        exit_reason=ExitReason(row.exit_reason) if row.exit_reason else None,
        closed_at=row.closed_at,
        fills=fills,
        contract_realized=contract_realized,
    )


class PostgresStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, closed_since: datetime) -> list[TrackedPosition]:
        table = PositionTracker.__table__  # type: ignore[attr-defined]
        query = (
            select(table)
            .where(or_(table.c.status != Status.CLOSED.value, table.c.closed_at >= closed_since))
            .order_by(table.c.opened_at)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_position(PositionTracker.model_validate(dict(row))) for row in rows]

    async def save(self, positions: Sequence[TrackedPosition]) -> None:
        if not positions:
            return
        rows = [_row(p) for p in positions]
        statement = insert(PositionTracker).values(rows)
        updates = {name: statement.excluded[name] for name in rows[0] if name != "entry_order_id"}
        statement = statement.on_conflict_do_update(index_elements=["entry_order_id"], set_=updates)
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def audit(self, entry: AuditEntry) -> None:
        statement = insert(AuditLog).values(
            actor=entry.actor,
            occurred_at=entry.at,
            action=entry.action,
            reason=entry.reason,
            remote_address=entry.remote_address,
            old_state=entry.old_state,
            new_state=entry.new_state,
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def load_halts(self, day: date) -> Halts:
        table = TradingHalt.__table__  # type: ignore[attr-defined]
        query = select(table).where(
            or_(
                (table.c.cause == HaltCause.KILL.value) & table.c.cleared_at.is_(None),
                (table.c.cause == HaltCause.DAILY_LOSS.value) & (table.c.trading_day == day),
            )
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        halts = [
            _ClearedHalt(
                Halt(HaltCause(r["cause"]), r["trading_day"], r["halted_at"], r["actor"], r["reason"])
            )
            for r in rows
        ]
        return _halts(halts, day)

    async def record_halt(self, halt: Halt) -> None:
        statement = insert(TradingHalt).values(
            cause=halt.cause.value,
            trading_day=halt.trading_day,
            halted_at=halt.at,
            actor=halt.actor,
            reason=halt.reason,
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def clear_kill(self, at: datetime, actor: str, reason: str) -> int:
        table = TradingHalt.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.cause == HaltCause.KILL.value, table.c.cleared_at.is_(None))
            .values(cleared_at=at, cleared_by=actor, clear_reason=reason)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount)


@dataclass
class MemoryStore:
    """The same contract in memory, for unit and service tests."""

    rows: dict[str, TrackedPosition] = field(default_factory=dict)
    audits: list[AuditEntry] = field(default_factory=list)
    halts: list[_ClearedHalt] = field(default_factory=list)
    saves: int = 0

    async def load(self, closed_since: datetime) -> list[TrackedPosition]:
        return [
            p
            for p in sorted(self.rows.values(), key=lambda p: p.opened_at)
            if p.is_open or (p.closed_at is not None and p.closed_at >= closed_since)
        ]

    async def save(self, positions: Sequence[TrackedPosition]) -> None:
        self.saves += 1
        for position in positions:
            self.rows[position.entry_order_id] = position

    async def audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    async def load_halts(self, day: date) -> Halts:
        return _halts(self.halts, day)

    async def record_halt(self, halt: Halt) -> None:
        self.halts.append(_ClearedHalt(halt))

    async def clear_kill(self, at: datetime, actor: str, reason: str) -> int:
        cleared = 0
        for i, row in enumerate(self.halts):
            if row.halt.cause is HaltCause.KILL and row.cleared is None:
                self.halts[i] = _ClearedHalt(row.halt, (at, actor, reason))
                cleared += 1
        return cleared
