"""Recording what the broker reports: order rows, fills, and their events, in one transaction.

`Recorder.record(report, trades)` is the one way broker facts enter our books, whoever saw them
(the order-update socket, the order book after a reconnect, reconciliation, a placement reply).
It finds (or creates) the order's row — by Dhan's order id, else by the correlation id we placed
it under, else as an external order — applies the report through the pure state machine, writes
the new fills, and queues their events: `OrderFilled`, `OrderCancelled`, `OrderRejected`,
`OrderAccepted` (once per command) and the position event each fill causes. Applying the same
facts again writes nothing and queues nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.common.logging import get_logger
from sarathi.common.messages.fields import Leg, OrderStatus
from sarathi.orders import events
from sarathi.orders.adapters.store import Store, Tx
from sarathi.orders.adapters.tables import LEG_NAMES, OrderRow
from sarathi.orders.domain import ids
from sarathi.orders.domain.model import BrokerOrder, BrokerTrade
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
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_change = on_change  # wakes the outbox publisher
        self._on_short = on_short  # a broken invariant seen: for a metric and an alarm
        self._on_fill = on_fill  # (leg, seconds) of each new fill of ours, once committed
        self.short_positions = 0

    async def record(self, report: BrokerOrder, trades: Sequence[BrokerTrade] = ()) -> Recorded:
        async with self._store.transaction() as tx:
            await tx.lock_contract(report.contract)
            row = await self._row_for(tx, report)
            result = await self._apply(tx, row, report, trades)
        if result.changed:
            self._on_change()
        for leg, seconds in result.times_to_fill:
            self._on_fill(leg, seconds)
        return result

    # finding the row ------------------------------------------------------------------------------

    def _values(self, report: BrokerOrder, **values: Any) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "broker_order_id": report.broker_order_id,
            "security_id": report.contract.security_id,
            "exchange_segment": report.contract.segment.wire,
            "side": report.side.value,
            "product": "INTRADAY",
            "order_type": "MARKET",
            "quantity": max(report.quantity, 1),
            "status": OrderStatus.TRANSIT.value,
            "filled_quantity": 0,
            "created_at": now,
            "updated_at": now,
            **values,
        }

    async def _row_for(self, tx: Tx, report: BrokerOrder) -> OrderRow:
        row = await tx.order_by_broker_id(report.broker_order_id)
        if row is not None:
            return row
        command = await tx.command(report.correlation_id) if report.correlation_id else None
        if command is None:
            key = ids.external_order_key(report.broker_order_id)
            return await tx.ensure_order(
                self._values(report, client_order_id=key, command_id=ids.EXTERNAL_COMMAND)
            )
        payload = command.payload
        common = {
            "command_id": command.command_id,
            "correlation_id": command.correlation_id,
            "underlying": payload.get("underlying"),
        }
        if command.kind == "SUBMIT" and report.leg in (Leg.TARGET, Leg.STOP_LOSS):
            entry = await tx.order_by_key(ids.order_key(command.command_id, None))
            key = ids.order_key(command.command_id, report.leg)
            values = self._values(
                report,
                client_order_id=key,
                leg_name=LEG_NAMES[report.leg],
                parent_order_id=entry.id if entry is not None else None,
                **common,
            )
            return await tx.ensure_order(values)
        leg = Leg.ENTRY if command.kind == "SUBMIT" else Leg.EXIT
        row = await tx.ensure_order(
            self._values(
                report,
                client_order_id=command.command_id,
                leg_name=LEG_NAMES[leg],
                exit_reason=payload.get("reason"),
                **common,
            )
        )
        if row.broker_order_id != report.broker_order_id:
            await tx.update_order(row.id, self._clock.now(), broker_order_id=report.broker_order_id)
            row = await tx.order_by_key(row.client_order_id) or row
        return row

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
