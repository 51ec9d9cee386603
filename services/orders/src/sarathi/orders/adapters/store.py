"""PostgreSQL access for the orders service: commands, orders, fills and the event outbox.

Everything that changes together is written in one transaction (`Store.transaction()`): an order's
new state, its new fills and the events that announce them. Uniqueness makes repetition harmless:
a command id is stored once, a fill once per (order, trade key), an event once per message id.
Transactions that touch a contract's fills take a transaction-scoped advisory lock on the contract
first, so the socket, reconciliation and placement never compute a position from a half-written book.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import OrderStatus, Side
from sarathi.common.messages.base import Message
from sarathi.orders.adapters.tables import (
    COMMAND,
    DERIVATIVE,
    FILL,
    ORDER,
    OUTBOX,
    CommandRow,
    OrderRow,
    order_values,
)
from sarathi.orders.domain import commands
from sarathi.orders.domain.commands import CommandKind, CommandStatus
from sarathi.orders.domain.order_spec import OrderSpec
from sarathi.orders.domain.position import PositionFill

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def _lock_key(*parts: str) -> int:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Tx:
    """One open transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.c = connection

    async def lock(self, *parts: str) -> None:
        """Serialize with every other transaction that locks the same parts (until commit)."""
        await self.c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(*parts)})

    async def lock_contract(self, contract: ContractKey) -> None:
        await self.lock("contract", contract.segment.wire, contract.security_id)

    # commands -------------------------------------------------------------------------------------

    async def insert_command(
        self,
        *,
        command_id: str,
        kind: CommandKind,
        correlation_id: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> CommandRow:
        """Store the command unless it is already stored; return its row, locked."""
        await self.c.execute(
            insert(COMMAND)
            .values(
                command_id=command_id,
                kind=kind.value,
                status=CommandStatus.RECEIVED.value,
                correlation_id=correlation_id,
                payload=payload,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["command_id"])
        )
        row = await self.command(command_id, for_update=True)
        assert row is not None
        return row

    async def command(self, command_id: str, *, for_update: bool = False) -> CommandRow | None:
        query = select(COMMAND).where(COMMAND.c.command_id == command_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.c.execute(query)).mappings().first()
        return CommandRow.of(row) if row is not None else None

    async def update_command(
        self, command_id: str, now: datetime, status: CommandStatus, **values: Any
    ) -> None:
        """Move the command to `status` (with `values`) if the transition table allows it from the
        status it has; raises `IllegalTransitionError` (nothing written) if not, `LookupError` if
        there is no such command."""
        allowed = [s.value for s in commands.sources(status)]
        query = (
            update(COMMAND)
            .where(and_(COMMAND.c.command_id == command_id, COMMAND.c.status.in_(allowed)))
            .values(updated_at=now, status=status.value, **values)
            .returning(COMMAND.c.id)
        )
        if (await self.c.execute(query)).first() is not None:
            return
        current = await self.command(command_id)
        if current is None:
            raise LookupError(f"no command {command_id} to move to {status}")
        commands.check(command_id, current.status, status)  # raises: `current` is not a source

    # orders ---------------------------------------------------------------------------------------

    async def order_by_broker_id(self, broker_order_id: str) -> OrderRow | None:
        query = select(ORDER).where(ORDER.c.broker_order_id == broker_order_id).with_for_update()
        row = (await self.c.execute(query)).mappings().first()
        return OrderRow.of(row) if row is not None else None

    async def order_by_key(self, client_order_id: str) -> OrderRow | None:
        query = select(ORDER).where(ORDER.c.client_order_id == client_order_id).with_for_update()
        row = (await self.c.execute(query)).mappings().first()
        return OrderRow.of(row) if row is not None else None

    async def ensure_order(self, spec: OrderSpec, now: datetime) -> OrderRow:
        """Insert the order row of `spec` unless its key has one; return the row, locked."""
        await self.c.execute(
            insert(ORDER)
            .values(**order_values(spec, now))
            .on_conflict_do_nothing(index_elements=["client_order_id"])
        )
        row = await self.order_by_key(spec.client_order_id)
        assert row is not None
        return row

    async def update_order(self, order_id: int, now: datetime, **values: Any) -> None:
        await self.c.execute(update(ORDER).where(ORDER.c.id == order_id).values(updated_at=now, **values))

    async def orders_with_broker_ids(self) -> list[OrderRow]:
        rows = await self.c.execute(select(ORDER).where(ORDER.c.broker_order_id.is_not(None)))
        return [OrderRow.of(row) for row in rows.mappings()]

    async def duplicate_entries(self) -> list[OrderRow]:
        """Entries recorded as duplicates (`ids.duplicate_key`), oldest first."""
        query = (
            select(ORDER)
            .where(and_(ORDER.c.client_order_id.like("dup/%"), ORDER.c.leg_name == "ENTRY_LEG"))
            .order_by(ORDER.c.id)
        )
        rows = await self.c.execute(query)
        return [OrderRow.of(row) for row in rows.mappings()]

    async def orders_of_command(self, command_id: str) -> list[OrderRow]:
        rows = await self.c.execute(select(ORDER).where(ORDER.c.command_id == command_id))
        return [OrderRow.of(row) for row in rows.mappings()]

    async def underlying_of(self, contract: ContractKey) -> str | None:
        query = select(ORDER.c.underlying).where(
            and_(
                ORDER.c.security_id == contract.security_id,
                ORDER.c.exchange_segment == contract.segment.wire,
                ORDER.c.underlying.is_not(None),
            )
        )
        return (await self.c.execute(query.limit(1))).scalar()

    async def order_limits(self, contract: ContractKey) -> tuple[int, int] | None:
        """(lot size, exchange freeze quantity) of the contract from the latest instrument sync
        (`refdata.derivative`, read only); None when it is not listed or has no freeze published."""
        query = (
            select(DERIVATIVE.c.lot_size, DERIVATIVE.c.freeze_quantity)
            .where(
                and_(
                    DERIVATIVE.c.security_id == contract.security_id,
                    DERIVATIVE.c.exchange_segment == contract.segment.wire,
                )
            )
            .order_by(DERIVATIVE.c.synced_at.desc(), DERIVATIVE.c.expiry.desc())
            .limit(1)
        )
        row = (await self.c.execute(query)).first()
        if row is None or not row.freeze_quantity or row.freeze_quantity <= 0 or row.lot_size <= 0:
            return None
        return int(row.lot_size), int(row.freeze_quantity)

    # fills ----------------------------------------------------------------------------------------

    async def filled_value(self, order_id: int) -> Decimal:
        query = select(func.coalesce(func.sum(FILL.c.quantity * FILL.c.price), 0)).where(
            FILL.c.order_id == order_id
        )
        return Decimal((await self.c.execute(query)).scalar_one())

    async def insert_fill(
        self, *, order_id: int, key: str, quantity: int, price: Decimal, at: datetime
    ) -> bool:
        result = await self.c.execute(
            insert(FILL)
            .values(order_id=order_id, broker_trade_id=key, quantity=quantity, price=price, traded_at=at)
            .on_conflict_do_nothing(index_elements=["order_id", "broker_trade_id"])
            .returning(FILL.c.id)
        )
        return result.first() is not None

    async def contract_fills(self, contract: ContractKey, since: datetime) -> list[PositionFill]:
        """The fills of a contract since `since`, in the order they were recorded."""
        query = (
            select(ORDER.c.side, FILL.c.quantity, FILL.c.price)
            .join(ORDER, ORDER.c.id == FILL.c.order_id)
            .where(
                and_(
                    ORDER.c.security_id == contract.security_id,
                    ORDER.c.exchange_segment == contract.segment.wire,
                    FILL.c.traded_at >= since,
                )
            )
            .order_by(FILL.c.id)
        )
        rows = await self.c.execute(query)
        return [PositionFill(Side(side), quantity, Decimal(price)) for side, quantity, price in rows]

    async def nets_since(self, since: datetime) -> dict[ContractKey, int]:
        """Our net quantity per contract from the fills since `since`."""
        signed = func.sum(case((ORDER.c.side == Side.BUY.value, FILL.c.quantity), else_=-FILL.c.quantity))
        query = (
            select(ORDER.c.exchange_segment, ORDER.c.security_id, signed)
            .join(ORDER, ORDER.c.id == FILL.c.order_id)
            .where(FILL.c.traded_at >= since)
            .group_by(ORDER.c.exchange_segment, ORDER.c.security_id)
        )
        rows = await self.c.execute(query)
        return {ContractKey(ExchangeSegment.from_wire(seg), sid): int(net) for seg, sid, net in rows}

    # outbox ---------------------------------------------------------------------------------------

    async def add_event(self, subject: str, message: Message, now: datetime) -> bool:
        """Queue `message` for publication unless its id was queued before."""
        result = await self.c.execute(
            insert(OUTBOX)
            .values(
                message_id=message.message_id,
                subject=subject,
                payload=message.encode().decode(),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(OUTBOX.c.id)
        )
        return result.first() is not None


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self.engine.begin() as connection:
            yield Tx(connection)

    async def unpublished(self, limit: int = 200) -> list[tuple[int, str, str, str]]:
        """(id, message id, subject, payload) of queued events, oldest first."""
        query = (
            select(OUTBOX.c.id, OUTBOX.c.message_id, OUTBOX.c.subject, OUTBOX.c.payload)
            .where(OUTBOX.c.published_at.is_(None))
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def unpublished_count(self) -> int:
        """How many queued events are not yet published: committed rows with no `published_at`.

        Cheap enough to ask often: `published_at` is indexed, and only the (few) NULL entries are read.
        """
        query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.published_at.is_(None))
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def mark_published(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            async with self.engine.begin() as connection:
                await connection.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(published_at=now))


OPEN_ORDER_STATUSES = (OrderStatus.TRANSIT.value, OrderStatus.PENDING.value, OrderStatus.PART_TRADED.value)
