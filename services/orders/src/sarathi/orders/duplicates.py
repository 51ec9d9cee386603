"""Closing duplicate entries: a second broker entry under one command id is sold at once.

A duplicate happens when an order reached the broker but its record did not survive (a crash
between the broker call and recording it, a lost commit) and the command was sent again. The
recorder keeps such an order apart (`ids.duplicate_key`) and announces it, so risk and our books
count its units; this closer then takes it back to what the command asked for: it cancels the
duplicate's own resting legs (or its entry, while open) and sells exactly what the duplicate
bought and still holds — never more than the broker's net less what is being sold, so nothing
goes short — under the command id `xDU-<broker order id>` (exit reason DUPLICATE), exactly once
through `Placement` like every sell. The original entry and its legs are left alone.

`wake()` asks for a pass (the recorder saw a duplicate, a reconciliation finished); `run()`
passes on each wake, retrying with backoff while a close cannot finish (legs still resting,
broker or database down).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from sarathi.common.backoff import Backoff
from sarathi.common.clock import Clock
from sarathi.common.domain.trading import ExitReason
from sarathi.common.logging import get_logger
from sarathi.orders.adapters.store import Store
from sarathi.orders.adapters.tables import OrderRow
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import FINISHED, CommandKind
from sarathi.orders.exits import ExitProtocol
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.placement import Outcome
from sarathi.orders.waiting import raise_if_cancelling

log = get_logger(__name__)


class DuplicateCloser:
    def __init__(
        self,
        store: Store,
        exits: ExitProtocol,
        clock: Clock,
        metrics: OrdersMetrics,
        *,
        wall_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff | None = None,
    ) -> None:
        self._store = store
        self._exits = exits
        self._clock = clock
        self._metrics = metrics
        self._wall_sleep = wall_sleep
        self._backoff = backoff or Backoff(initial_seconds=0.5, cap_seconds=15.0)
        self._wanted = asyncio.Event()
        self.closed = 0  # duplicates closed by this process (sold, or found with nothing to sell)

    def wake(self) -> None:
        self._wanted.set()

    async def open_duplicates(self) -> list[OrderRow]:
        """Duplicate entries whose closing command has not finished."""
        async with self._store.transaction() as tx:
            rows = await tx.duplicate_entries()
            open_rows = []
            for row in rows:
                command = await tx.command(ids.duplicate_exit_command_id(row.broker_order_id or ""))
                if command is None or command.status not in FINISHED:
                    open_rows.append(row)
        return open_rows

    async def close_all(self) -> list[Outcome]:
        """Close every open duplicate; raises when one cannot be closed now (retry later)."""
        return [await self.close(row) for row in await self.open_duplicates()]

    async def close(self, row: OrderRow) -> Outcome:
        assert row.broker_order_id is not None
        command_id = ids.duplicate_exit_command_id(row.broker_order_id)
        async with self._store.transaction() as tx:
            command = await tx.insert_command(
                command_id=command_id,
                kind=CommandKind.EXIT,
                correlation_id=row.correlation_id or row.command_id,
                payload={
                    "reason": ExitReason.DUPLICATE.value,
                    "duplicate_of": row.command_id,
                    "broker_order_id": row.broker_order_id,
                    "security_id": row.contract.security_id,
                    "segment": row.contract.segment.wire,
                    "underlying": row.underlying,
                },
                now=self._clock.now(),
            )
        if command.status in FINISHED:
            return Outcome(command.status, command.broker_order_id)
        log.error(
            "duplicate_closing", reason=ExitReason.DUPLICATE.value, command_id=row.command_id,
            broker_order_id=row.broker_order_id, security_id=row.contract.security_id,
        )  # fmt: skip
        outcome = await self._exits.run(
            command_id=command_id,
            contract=row.contract,
            underlying=row.underlying,
            reason=ExitReason.DUPLICATE.value,
            correlation_id=row.correlation_id or row.command_id,
            quantity=lambda: self._exits.duplicate_sell_quantity(row.contract, row.broker_order_id or ""),
        )
        self.closed += 1
        self._metrics.duplicates_closed.labels(outcome=outcome.status.lower()).inc()
        log.warning(
            "duplicate_closed", command_id=row.command_id, broker_order_id=row.broker_order_id,
            outcome=outcome.status, sell_order=outcome.broker_order_id,
        )  # fmt: skip
        return outcome

    async def run(self) -> None:
        """Close duplicates whenever woken, until cancelled."""
        attempt = 0
        while True:
            await self._wanted.wait()
            raise_if_cancelling()
            self._wanted.clear()
            try:
                await self.close_all()
            except Exception:  # legs still resting, broker or database down: try again later
                attempt += 1
                log.exception("duplicate_close_failed", attempt=attempt)
                self._wanted.set()
                await self._wall_sleep(self._backoff.delay(attempt, random.random()))  # noqa: S311
            else:
                attempt = 0
