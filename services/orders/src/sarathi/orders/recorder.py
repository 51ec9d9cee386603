"""Recording what the broker reports: order rows, fills, and their events, in one transaction.

`Recorder.record(report, trades)` is the one way broker facts enter our books, whoever saw them
(the order-update socket, the order book after a reconnect, reconciliation, a placement reply).
It finds (or creates) the order's row — by Dhan's order id, else by the correlation id we placed
it under, else as an external order — applies the report through the pure state machine, writes
the new fills, and queues their events: `OrderFilled`, `OrderCancelled`, `OrderRejected`,
`OrderAccepted` (once per order of ours) and the position event each fill causes. Applying the
same facts again writes nothing and queues nothing.

Adoption: a broker order whose correlation id follows one of our schemes (`ids.scheme_of`) is
ours even when we have no record of it (PostgreSQL lost the commit, or the process died between
the broker call and recording): its command row is re-created when missing, the command is marked
PLACED (so a redelivery never sends it again), and its order is recorded and announced like any
other. A second order under one command id (a resend while the first was unseen) is a duplicate:
recorded under its own key (`ids.duplicate_key`), linked to the command, announced, reported at
error level (`on_duplicate`), and closed by `duplicates.DuplicateCloser`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal

from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import ExitReason, Leg, OrderStatus
from sarathi.common.logging import get_logger
from sarathi.orders import events
from sarathi.orders.adapters.store import Store, Tx
from sarathi.orders.adapters.tables import CommandRow, OrderRow
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import FINISHED, CommandKind, CommandStatus
from sarathi.orders.domain.model import BrokerOrder, BrokerTrade
from sarathi.orders.domain.order_spec import OrderSpec, reported_spec
from sarathi.orders.domain.order_state import Applied, Fill, OrderState, apply_report, apply_trades
from sarathi.orders.domain.position import PositionFill, PositionState, change_between, position_of

log = get_logger(__name__)
_AVERAGE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one report changed: fills added, whether the status moved, and how long each new fill
    of our entry or exit orders took (`time_to_fill`)."""

    fills: int = 0
    status_changed: bool = False
    times_to_fill: tuple[tuple[Leg, float], ...] = ()
    duplicate: bool = False  # the report was a broker order beyond what its command asked for

    @property
    def changed(self) -> bool:
        return self.fills > 0 or self.status_changed


def time_to_fill(row: OrderRow, fill: Fill, now: datetime) -> float | None:
    """Seconds from our order's row (written when the broker accepted or first reported it) to
    `fill`, on the clock's time; None for orders not of ours and for a super order's target and
    stop-loss legs, which rest by design (their wait is the trade's, not the venue's)."""
    if row.command_id == ids.EXTERNAL_COMMAND or row.leg not in (Leg.ENTRY, Leg.EXIT):
        return None
    return max(0.0, ((fill.at or now) - row.created_at).total_seconds())


def day_start(now: datetime) -> datetime:
    """Midnight IST of `now`'s day: positions are intraday, fills before it belong to another day."""
    return datetime.combine(now.astimezone(IST).date(), time(0), tzinfo=IST)


class Recorder:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        on_change: Callable[[], None] = lambda: None,
        on_short: Callable[[], None] = lambda: None,
        on_fill: Callable[[Leg, float], None] = lambda _leg, _seconds: None,
        product: str,
        on_duplicate: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._product = product  # Dhan's productType of our orders (what the broker is sent)
        self._on_change = on_change  # wakes the outbox publisher
        self._on_short = on_short  # a broken invariant seen: for a metric and an alarm
        self._on_fill = on_fill  # (leg, seconds) of each new fill of ours, once committed
        self._on_duplicate = on_duplicate  # a duplicate order recorded (committed): alert, close it
        self.short_positions = 0

    async def record(self, report: BrokerOrder, trades: Sequence[BrokerTrade] = ()) -> Recorded:
        async with self._store.transaction() as tx:
            await tx.lock_contract(report.contract)
            row, new_duplicate = await self._row_for(tx, report)
            result = await self._apply(tx, row, report, trades)
        if new_duplicate:
            result = replace(result, duplicate=True)
            self._on_duplicate()
        if result.changed or new_duplicate:
            self._on_change()
        for leg, seconds in result.times_to_fill:
            self._on_fill(leg, seconds)
        return result

    # finding the row ------------------------------------------------------------------------------

    async def _row_for(self, tx: Tx, report: BrokerOrder) -> tuple[OrderRow, bool]:
        """The report's row, and whether it is a duplicate seen for the first time."""
        row = await tx.order_by_broker_id(report.broker_order_id)
        if row is not None:
            return row, False
        command = await tx.command(report.correlation_id) if report.correlation_id else None
        if command is None:
            command = await self._adopt_command(tx, report)
        if command is None:
            key = ids.external_order_key(report.broker_order_id)
            external = reported_spec(
                report, client_order_id=key, command_id=ids.EXTERNAL_COMMAND, product=self._product, leg=None
            )
            return await tx.ensure_order(external, self._clock.now()), False
        payload = command.payload
        is_leg = command.kind is CommandKind.SUBMIT and report.leg in (Leg.TARGET, Leg.STOP_LOSS)
        leg = report.leg if is_leg else (Leg.ENTRY if command.kind is CommandKind.SUBMIT else Leg.EXIT)
        assert leg is not None
        key = ids.order_key(command.command_id, leg if is_leg else None)
        spec = reported_spec(
            report, client_order_id=key, command_id=command.command_id, product=self._product, leg=leg,
            correlation_id=command.correlation_id, underlying=payload.get("underlying"),
        )  # fmt: skip
        taken = await tx.order_by_key(key)
        if taken is not None and taken.broker_order_id not in (None, report.broker_order_id):
            # A second broker order under one command: never re-point the first one's row. Its
            # legs are recorded apart too; the entry (or sell) is what counts as one duplicate.
            return await self._duplicate(tx, report, spec), not is_leg
        if is_leg:
            entry = await tx.order_by_key(ids.order_key(command.command_id, None))
            spec = replace(spec, parent_order_id=entry.id if entry is not None else None)
        else:
            spec = replace(spec, exit_reason=payload.get("reason"))
        row = await tx.ensure_order(spec, self._clock.now())
        if row.broker_order_id != report.broker_order_id:
            await tx.update_order(row.id, self._clock.now(), broker_order_id=report.broker_order_id)
            row = await tx.order_by_key(row.client_order_id) or row
        if not is_leg and command.status not in FINISHED:
            # The broker has the command's order: a redelivery must not send it again.
            await tx.update_command(
                command.command_id,
                self._clock.now(),
                CommandStatus.PLACED,
                broker_order_id=report.broker_order_id,
            )
            # SENDING: the socket told us before the reply did (usual, so not news); otherwise the
            # record was lost.
            level = "debug" if command.status is CommandStatus.SENDING else "warning"
            getattr(log, level)(
                "order_adopted", command_id=command.command_id, broker_order_id=report.broker_order_id,
                command_status=command.status,
            )  # fmt: skip
        return row, False

    async def _adopt_command(self, tx: Tx, report: BrokerOrder) -> CommandRow | None:
        """Re-create the command row of an order carrying our correlation-id scheme that we have no
        record of (its commit was lost); None for an order that is not ours."""
        kind = ids.scheme_of(report.correlation_id)
        if kind is None:
            return None
        underlying = ids.underlying_of_entry(report.correlation_id) or await tx.underlying_of(report.contract)
        payload = {
            "adopted_from": report.broker_order_id,
            "security_id": report.contract.security_id,
            "segment": report.contract.segment.wire,
            "underlying": underlying.value if isinstance(underlying, Underlying) else underlying,
        }
        now = self._clock.now()
        command = await tx.insert_command(
            command_id=report.correlation_id,
            kind=kind,
            correlation_id=report.correlation_id,
            payload=payload,
            now=now,
        )
        log.error(
            "orphan_adopted", command_id=command.command_id, kind=kind.value,
            broker_order_id=report.broker_order_id, security_id=report.contract.security_id,
        )  # fmt: skip
        return command

    async def _duplicate(self, tx: Tx, report: BrokerOrder, spec: OrderSpec) -> OrderRow:
        key = ids.duplicate_key(report.broker_order_id)
        reason = ExitReason.DUPLICATE.value if spec.leg is Leg.EXIT else None
        getattr(log, "warning" if spec.leg in (Leg.TARGET, Leg.STOP_LOSS) else "error")(
            "duplicate_order", reason=ExitReason.DUPLICATE.value, command_id=spec.command_id,
            broker_order_id=report.broker_order_id, leg=str(spec.leg),
            security_id=report.contract.security_id,
        )  # fmt: skip
        return await tx.ensure_order(
            replace(spec, client_order_id=key, exit_reason=reason), self._clock.now()
        )

    # applying -------------------------------------------------------------------------------------

    async def _apply(
        self, tx: Tx, row: OrderRow, report: BrokerOrder, trades: Sequence[BrokerTrade]
    ) -> Recorded:
        now = self._clock.now()
        state = OrderState(
            status=row.status,
            quantity=max(row.quantity, row.filled_quantity, 1),
            filled=row.filled_quantity,
            filled_value=await tx.filled_value(row.id),
        )
        applied = apply_report(state, report)
        if trades:
            more = apply_trades(applied.state, trades)
            applied = Applied(more.state, applied.fills + more.fills, applied.terminal or more.terminal)
        after = applied.state
        await tx.update_order(
            row.id,
            now,
            status=after.status.value,
            quantity=after.quantity,
            filled_quantity=after.filled,
            average_price=after.average_price.quantize(_AVERAGE) if after.average_price else None,
            reject_reason=report.reason if after.status is OrderStatus.REJECTED else None,
        )
        ours = row.command_id != ids.EXTERNAL_COMMAND
        if ours and row.leg in (Leg.ENTRY, Leg.EXIT):
            await tx.add_event(*events.accepted(row, now), now)
        position = position_of(await tx.contract_fills(row.contract, day_start(now)))
        underlying = await self._underlying(tx, row)
        times: list[tuple[Leg, float]] = []
        for fill in applied.fills:
            if row.leg is not None and (seconds := time_to_fill(row, fill, now)) is not None:
                times.append((row.leg, seconds))
            await tx.insert_fill(
                order_id=row.id, key=fill.key, quantity=fill.quantity, price=fill.price, at=fill.at or now
            )
            if ours:
                await tx.add_event(*events.filled(row, fill, after.quantity, now), now)
            next_position = position.after(PositionFill(row.side, fill.quantity, fill.price))
            await self._position_event(
                tx, row, fill=fill, before=position, after=next_position, underlying=underlying, now=now
            )
            position = next_position
        if ours and applied.terminal in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            event = events.cancelled(
                row, filled_quantity=after.filled, quantity=after.quantity, reason=report.reason, now=now
            )
            await tx.add_event(*event, now)
        if ours and applied.terminal is OrderStatus.REJECTED:
            await tx.add_event(*events.rejected(row, code=None, reason=report.reason, now=now), now)
        return Recorded(
            fills=len(applied.fills),
            status_changed=after.status is not row.status,
            times_to_fill=tuple(times),
        )

    async def _underlying(self, tx: Tx, row: OrderRow) -> Underlying | None:
        name = row.underlying or await tx.underlying_of(row.contract)
        try:
            return Underlying(name) if name else None
        except ValueError:
            return None

    async def _position_event(
        self,
        tx: Tx,
        row: OrderRow,
        *,
        fill: Fill,
        before: PositionState,
        after: PositionState,
        underlying: Underlying | None,
        now: datetime,
    ) -> None:
        if after.net < 0:
            self.short_positions += 1
            self._on_short()
            log.critical(
                "position_short",
                security_id=row.contract.security_id,
                net=after.net,
                order=row.broker_order_id,
            )
            return
        change = change_between(before, after)
        if change is None:
            return
        if underlying is None:
            log.warning("position_event_without_underlying", security_id=row.contract.security_id)
            return
        event = events.position(change, row=row, fill=fill, underlying=underlying, state=after, now=now)
        await tx.add_event(*event, now)
