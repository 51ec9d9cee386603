"""Placing an order exactly once under a command id (ARCHITECTURE §7).

The command row is stored before any broker call and says how far we got, so a redelivered
command (or a restarted process) resumes instead of repeating:

| row status | what happens now |
|---|---|
| RECEIVED | its order on record (adopted)? PLACED; else send (SENDING first, own durable commit) |
| SENDING / UNKNOWN | a call may have reached Dhan: resolve by correlation id before anything else |
| PLACED / REJECTED / DONE / FAILED | nothing: the outcome and its events are already stored |

Status moves follow `domain.commands`' table (an illegal one is refused, not written).
Outcomes of a send: accepted → PLACED + `OrderAccepted`; `DhanRejectedError` → REJECTED +
`OrderRejected` with Dhan's code and message, never retried; `DhanUnknownOutcomeError` → UNKNOWN +
`OrderStateUnknown`, then resolution; `DhanTransientError` (not sent, or 429) → retried with
backoff within a budget, then FAILED + `OrderRejected` (it never reached the broker). Resolution
that finds the order → PLACED; that proves it absent → the same id is sent again (at most
`max_placements` sends); that cannot decide within its budget → `ResolutionPendingError`, the
command is not acked and comes back later.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from sarathi.common.backoff import Backoff
from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import (
    DhanAuthError,
    DhanRejectedError,
    DhanTransientError,
    DhanUnknownOutcomeError,
)
from sarathi.common.domain.trading import ExitReason, OrderStatus
from sarathi.common.logging import get_logger
from sarathi.orders import events
from sarathi.orders.adapters.store import Store
from sarathi.orders.adapters.tables import unstored_row
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import FINISHED, IN_DOUBT, CommandStatus
from sarathi.orders.domain.order_spec import OrderSpec
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.ports import Placed
from sarathi.orders.resolver import Resolver

log = get_logger(__name__)

Send = Callable[[], Awaitable[Placed]]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: CommandStatus
    broker_order_id: str | None = None


class Placement:
    def __init__(
        self,
        store: Store,
        resolver: Resolver,
        clock: Clock,
        metrics: OrdersMetrics,
        *,
        wake: Callable[[], None],
        sleep: Callable[[float], Awaitable[None]],
        backoff: Backoff | None = None,
        max_placements: int = 3,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.perf_counter,
        on_duplicate: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._resolver = resolver
        self._clock = clock
        self._metrics = metrics
        self._wake = wake
        self._sleep = sleep
        self._backoff = backoff or Backoff(max_attempts=9, max_elapsed_seconds=60.0)  # 1 send + 8 retries
        self._max_placements = max_placements
        self._jitter = jitter
        self._monotonic = monotonic
        self._on_duplicate = on_duplicate

    async def place(self, command_id: str, send: Send, order: OrderSpec) -> Outcome:
        """Drive the command's order to a known outcome. `order` is its order as sent.

        How long that took (wall time, from here to the outcome, resolutions and retries
        included) is observed by outcome; a command already finished is not timed again.
        """
        async with self._store.transaction() as tx:
            command = await tx.command(command_id)
        assert command is not None, "store the command before placing"
        if command.status in FINISHED:
            return Outcome(command.status)
        started = self._monotonic()
        outcome = await self._drive(command_id, command.status, command.attempts, send, order)
        seconds = self._monotonic() - started
        self._metrics.placement_seconds.labels(outcome=outcome.status.lower()).observe(seconds)
        return outcome

    async def _drive(  # noqa: PLR0911 - one return per outcome in the module docstring's table
        self, command_id: str, status: CommandStatus, attempts: int, send: Send, order: OrderSpec
    ) -> Outcome:
        transient_retries = 0
        started = self._clock.now()
        while status not in FINISHED:
            if status in IN_DOUBT:
                located = await self._resolver.resolve(command_id)
                if located is not None:
                    return await self._placed(command_id, located, order)
                log.warning("order_absent_after_unknown_outcome", command_id=command_id, attempts=attempts)
            elif (known := await self._known_order(command_id)) is not None:
                # RECEIVED, yet the broker's order under this id is on record (adopted by
                # reconciliation or reported by the socket): the command was sent, never send again.
                return await self._placed(command_id, known, order)
            if attempts >= self._max_placements:
                return await self._give_up(command_id, order, "too many placements without an order")
            await self._set(command_id, CommandStatus.SENDING, attempts=attempts + 1)
            attempts += 1
            try:
                placed = await send()
            except DhanRejectedError as exc:
                return await self._rejected(command_id, order, exc)
            except DhanUnknownOutcomeError as exc:
                known = await self._known_order(command_id)
                if known is not None:  # the order-update socket already told us: no doubt left
                    return await self._placed(command_id, known, order)
                status = await self._unknown(command_id, order, exc)
                continue
            except DhanAuthError:
                await self._set(command_id, CommandStatus.RECEIVED, attempts=attempts - 1)
                raise
            except DhanTransientError as exc:  # not sent (or refused for rate): safe to send again
                await self._set(command_id, CommandStatus.RECEIVED, attempts=attempts - 1)
                self._metrics.orders.labels(outcome="retried", reason=exc.code or "not_sent").inc()
                attempts -= 1
                transient_retries += 1
                elapsed = (self._clock.now() - started).total_seconds()
                if self._backoff.exhausted(transient_retries, elapsed):
                    return await self._give_up(command_id, order, f"not sent: {exc}")
                await self._sleep(self._backoff.delay(transient_retries, self._jitter()))
                status = CommandStatus.RECEIVED
                continue
            return await self._placed(command_id, placed, order)
        return Outcome(status)

    async def settle_previous(self, command_id: str, order: OrderSpec) -> Outcome | None:
        """Before planning anew: the outcome of an earlier send under `command_id`, if it had one.

        Finished → its outcome. SENDING / UNKNOWN → resolved: found → recorded as PLACED; proven
        absent → back to RECEIVED (None: plan and send again under the same id). RECEIVED → None.
        """
        async with self._store.transaction() as tx:
            command = await tx.command(command_id)
        assert command is not None, "store the command before placing"
        if command.status in FINISHED:
            return Outcome(command.status, command.broker_order_id)
        if command.status in IN_DOUBT:
            located = await self._resolver.resolve(command_id)
            if located is not None:
                found = replace(order, quantity=located.quantity or order.quantity)
                return await self._placed(command_id, located, found)
            await self._set(command_id, CommandStatus.RECEIVED)
        return None

    async def _known_order(self, command_id: str) -> Placed | None:
        """The order the broker already reported under `command_id` (via the socket), if any."""
        async with self._store.transaction() as tx:
            row = await tx.order_by_key(command_id)
        if row is None or row.broker_order_id is None:
            return None
        return Placed(row.broker_order_id, row.status, row.quantity)

    async def _set(self, command_id: str, status: CommandStatus, **values: Any) -> None:
        async with self._store.transaction() as tx:
            await tx.update_command(command_id, self._clock.now(), status, **values)

    async def _placed(self, command_id: str, placed: Placed, order: OrderSpec) -> Outcome:
        now = self._clock.now()
        duplicate = False
        status = placed.status if placed.status in (OrderStatus.TRANSIT, OrderStatus.PENDING) else None
        async with self._store.transaction() as tx:
            # The contract's lock first, as the recorder takes it: it too writes this command's
            # order row and (adopting) its command row, so the two never wait on each other crosswise.
            await tx.lock_contract(order.contract)
            command = await tx.command(command_id)
            first = command.broker_order_id if command is not None else None  # kept: the command's order
            await tx.update_command(
                command_id, now, CommandStatus.PLACED, broker_order_id=first or placed.broker_order_id
            )
            sent = replace(
                order, broker_order_id=placed.broker_order_id, status=status or OrderStatus.TRANSIT
            )
            row = await tx.order_by_broker_id(placed.broker_order_id) or await tx.ensure_order(sent, now)
            if row.broker_order_id is None:
                await tx.update_order(row.id, now, broker_order_id=placed.broker_order_id)
                row = await tx.order_by_key(row.client_order_id) or row
            elif row.broker_order_id != placed.broker_order_id:
                # The command's row holds another broker order already: this one is a duplicate
                # (recorded apart, closed by the duplicate closer), never a re-pointing of the first.
                log.error(
                    "duplicate_order", reason=ExitReason.DUPLICATE.value, command_id=command_id,
                    broker_order_id=placed.broker_order_id, first=row.broker_order_id,
                )  # fmt: skip
                key = ids.duplicate_key(placed.broker_order_id)
                row = await tx.ensure_order(replace(sent, client_order_id=key), now)
                duplicate = True
            await tx.add_event(*events.accepted(row, now), now)
        self._metrics.orders.labels(outcome="placed", reason="").inc()
        if duplicate:
            self._on_duplicate()
        self._wake()
        log.info("order_placed", command_id=command_id, broker_order_id=placed.broker_order_id)
        return Outcome(CommandStatus.PLACED, placed.broker_order_id)

    async def _rejected(self, command_id: str, order: OrderSpec, exc: DhanRejectedError) -> Outcome:
        now = self._clock.now()
        row = unstored_row(replace(order, status=OrderStatus.REJECTED), now)
        async with self._store.transaction() as tx:
            await tx.update_command(command_id, now, CommandStatus.REJECTED, detail=str(exc)[:1000])
            await tx.add_event(*events.rejected(row, code=exc.code, reason=exc.message, now=now), now)
        self._metrics.orders.labels(outcome="rejected", reason=exc.code or "").inc()
        self._wake()
        log.warning("order_rejected", command_id=command_id, code=exc.code, reason=exc.message)
        return Outcome(CommandStatus.REJECTED)

    async def _unknown(
        self, command_id: str, order: OrderSpec, exc: DhanUnknownOutcomeError
    ) -> CommandStatus:
        now = self._clock.now()
        row = unstored_row(replace(order, status=OrderStatus.TRANSIT), now)
        async with self._store.transaction() as tx:
            await tx.update_command(command_id, now, CommandStatus.UNKNOWN, detail=str(exc)[:1000])
            await tx.add_event(*events.unknown(row, operation="PLACE", detail=str(exc), now=now), now)
        self._metrics.orders.labels(outcome="unknown", reason=exc.code or "timeout").inc()
        self._wake()
        log.warning("order_outcome_unknown", command_id=command_id, detail=str(exc))
        return CommandStatus.UNKNOWN

    async def _give_up(self, command_id: str, order: OrderSpec, reason: str) -> Outcome:
        now = self._clock.now()
        row = unstored_row(replace(order, status=OrderStatus.REJECTED), now)
        async with self._store.transaction() as tx:
            await tx.update_command(command_id, now, CommandStatus.FAILED, detail=reason[:1000])
            await tx.add_event(*events.rejected(row, code="NOT_SENT", reason=reason, now=now), now)
        self._metrics.orders.labels(outcome="not_sent", reason="").inc()
        self._wake()
        log.error("order_not_sent", command_id=command_id, reason=reason)
        return Outcome(CommandStatus.FAILED)
