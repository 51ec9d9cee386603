"""The execution service's message handling: decode → decide → store → publish → ack.

Four durable consumers: signals (`SIGNALS`, `signal.>`), position events (`ORDER_EVT`,
`position.evt.>`), rejected orders (`ORDER_EVT`, `order.evt.OrderRejected`: a rejected entry frees
its pyramiding slot and is recorded as a REJECTED decision with Dhan's reason) and the daily-loss
event (`RISK_EVT`). A signal is acked only after its
decision row is stored and, when placed, its `SubmitEntry` is published with `Nats-Msg-Id` = the
command id. A signal already decided is not decided again: a PLACED one has its stored command
re-published (JetStream drops the duplicate), a REFUSED one is simply acked. One lock serialises
decisions and book changes, so a position event never changes the book mid-decision.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.port import Bus, Subscription, one_of
from sarathi.common.clock import Clock
from sarathi.common.db.models.execution import DecisionOutcome
from sarathi.common.domain.instruments import OptionType
from sarathi.common.domain.trading import Leg, Side
from sarathi.common.logging import bound, get_logger
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.orders import (
    OrderRejected,
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
    SubmitEntry,
)
from sarathi.common.messages.risk import DailyLossBreached
from sarathi.common.messages.signals import Signal
from sarathi.execution.adapters.book_store import BookStore
from sarathi.execution.adapters.decisions import DecisionRecord, Decisions
from sarathi.execution.adapters.derivatives import DerivativeLookup
from sarathi.execution.decide import Decided, EntryDecider
from sarathi.execution.domain.book import HeldPosition, PositionBook
from sarathi.execution.metrics import ExecutionMetrics

log = get_logger(__name__)

SIGNALS_CONSUMER = "execution-signals"
POSITIONS_CONSUMER = "execution-positions"
RISK_CONSUMER = "execution-risk"
REJECTIONS_CONSUMER = "execution-rejections"
POSITIONS = subjects.POSITION_EVENTS_ALL
REJECTIONS = subjects.order_event("OrderRejected")
DAILY_LOSS = subjects.risk_event("DailyLossBreached")


class ExecutionService:
    def __init__(
        self,
        *,
        bus: Bus,
        clock: Clock,
        decider: EntryDecider,
        derivatives: DerivativeLookup,
        decisions: Decisions,
        books: BookStore,
        metrics: ExecutionMetrics,
        pending_ttl_seconds: float,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._decider = decider
        self._derivatives = derivatives
        self._decisions = decisions
        self._books = books
        self._metrics = metrics
        self._pending_ttl = timedelta(seconds=pending_ttl_seconds)
        self._book = PositionBook()
        self._lock = asyncio.Lock()
        self._subscriptions: list[Subscription] = []

    @property
    def book(self) -> PositionBook:
        return self._book

    async def start(self) -> None:
        self._book = await self._books.load()
        consume = self._bus.consume
        self._subscriptions = [
            await consume(
                streams.ORDER_EVT.name,
                POSITIONS_CONSUMER,
                POSITIONS,
                self.on_position_event,
                accepts=one_of(PositionOpened, PositionChanged, PositionClosed),
            ),
            await consume(
                streams.ORDER_EVT.name,
                REJECTIONS_CONSUMER,
                REJECTIONS,
                self.on_order_rejected,
                accepts=OrderRejected,
            ),
            await consume(
                streams.RISK_EVT.name,
                RISK_CONSUMER,
                DAILY_LOSS,
                self.on_risk_event,
                accepts=DailyLossBreached,
            ),
            await consume(
                streams.SIGNALS.name, SIGNALS_CONSUMER, subjects.SIGNALS_ALL, self.on_signal, accepts=Signal
            ),
        ]

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()

    # --- signals -------------------------------------------------------------------------------

    async def on_signal(self, message: Signal) -> None:
        started = time.perf_counter()
        with bound(correlation_id=message.signal_id, message_id=message.message_id):
            async with self._lock:
                existing = await self._decisions.find(message.signal_id)
                if existing is not None:
                    await self._redelivered(existing)
                    return
                now = self._clock.now()
                if self._book.expire_pending(now, self._pending_ttl):
                    await self._books.save(self._book)
                decided = await self._decider.decide(message, self._book, now)
                await self._record(message, decided)
        self._metrics.decision_seconds.observe(time.perf_counter() - started)

    async def _record(self, signal: Signal, decided: Decided) -> None:
        now = self._clock.now()
        underlying = signal.underlying
        if decided.command is None or decided.pending is None:
            refusal = decided.refusal
            assert refusal is not None
            record = DecisionRecord(
                signal.signal_id, underlying, DecisionOutcome.REFUSED, refusal.reason, None,
                {"gate": refusal.gate.value, **decided.details}, now,
            )  # fmt: skip
            await self._decisions.save(record)
            self._metrics.decisions.labels(underlying.value, "refused", refusal.gate.value).inc()
            log.info(
                "entry_refused", underlying=underlying.value, gate=refusal.gate.value, reason=refusal.reason
            )
            return
        command = decided.command
        reason = (
            f"placed level {command.pyramid_level}: {command.lots} lot(s) of {command.contract.strike} "
            f"{command.contract.option_type.value} {command.contract.expiry} at {command.entry_price}"
            f"{_loss_note(decided, command.lots)}"
        )
        record = DecisionRecord(
            signal.signal_id, underlying, DecisionOutcome.PLACED, reason, command.message_id,
            {"gate": None, **decided.details}, now,
        )  # fmt: skip
        await self._decisions.save(record)
        self._book.record_entry(decided.pending)
        await self._books.save(self._book)
        result = await self._bus.publish_durable(subjects.ORDER_CMD_SUBMIT, command)
        self._metrics.decisions.labels(underlying.value, "placed", "").inc()
        self._metrics.open_entries.labels(underlying.value).set(self._book.campaign(underlying).entries)
        log.info("entry_placed", command_id=command.message_id, reason=reason, duplicate=result.duplicate)

    async def _redelivered(self, existing: DecisionRecord) -> None:
        self._metrics.duplicates.inc()
        stored = existing.details.get("command")
        if existing.outcome is DecisionOutcome.PLACED and stored is not None:
            command = decode_as(_json(stored), SubmitEntry)
            result = await self._bus.publish_durable(subjects.ORDER_CMD_SUBMIT, command)
            log.info(
                "signal_redelivered_command_republished",
                command_id=command.message_id,
                duplicate=result.duplicate,
            )
        else:
            log.info("signal_already_decided", outcome=existing.outcome.value, reason=existing.reason)

    # --- position and risk events ------------------------------------------------------------

    async def on_position_event(self, message: PositionEvent) -> None:
        async with self._lock:
            match message:
                case PositionOpened() | PositionChanged():
                    option_type = await self._option_type(message)
                    held = HeldPosition(
                        message.security_id, message.segment.wire, message.underlying, option_type,
                        message.net_quantity, message.average_price,
                    )  # fmt: skip
                    self._book.position_opened_or_grew(message.message_id, held)
                case PositionClosed():
                    self._book.position_closed(message.message_id, message.security_id, message.underlying)
            await self._books.save(self._book)
            self._metrics.open_entries.labels(message.underlying.value).set(
                self._book.campaign(message.underlying).entries
            )

    async def on_order_rejected(self, message: OrderRejected) -> None:
        """Our entry (the BUY of a super order's entry leg) refused by the broker: free its slot
        and record the refusal beside its decision. Anything else rejected is not ours to count."""
        if message.leg is not Leg.ENTRY or message.side is not Side.BUY:
            return
        command_id = str(message.client_order_id)
        with bound(correlation_id=message.correlation_id, message_id=message.message_id):
            async with self._lock:
                freed = self._book.entry_rejected(command_id)
                if freed is not None:
                    await self._books.save(self._book)
                    self._metrics.open_entries.labels(freed.underlying.value).set(
                        self._book.campaign(freed.underlying).entries
                    )
                rows = await self._decisions.for_command(command_id)
                placed = next((r for r in rows if r.outcome is DecisionOutcome.PLACED), None)
                if placed is None or any(r.outcome is DecisionOutcome.REJECTED for r in rows):
                    log.info("entry_rejection_seen", command_id=command_id, freed=freed is not None)
                    return
                reason = f"rejected by the broker: {_dhan_reason(message)}"
                details = {
                    "gate": None, "error_code": message.error_code, "error_message": message.error_message,
                    "broker_order_id": message.broker_order_id, "slot_freed": freed is not None,
                }  # fmt: skip
                record = DecisionRecord(
                    placed.signal_id, placed.underlying, DecisionOutcome.REJECTED, reason, command_id,
                    details, self._clock.now(),
                )  # fmt: skip
                await self._decisions.save(record)
        self._metrics.decisions.labels(placed.underlying.value, "rejected", "").inc()
        log.warning("entry_rejected", command_id=command_id, reason=reason, slot_freed=freed is not None)

    async def _option_type(self, message: PositionOpened | PositionChanged) -> OptionType | None:
        pending = next((e for e in self._book.pending.values() if e.security_id == message.security_id), None)
        if pending is not None:
            return pending.option_type
        listed = await self._derivatives.by_security_id(message.underlying, message.security_id)
        return listed.contract.option_type if listed is not None else None

    async def on_risk_event(self, message: DailyLossBreached) -> None:
        async with self._lock:
            self._book.daily_loss_breached(message.trading_day)
            await self._books.save(self._book)
        log.warning("daily_loss_breached", trading_day=message.trading_day.isoformat())


def _dhan_reason(message: OrderRejected) -> str:
    code = f"{message.error_code} " if message.error_code else ""
    return f"{code}{message.error_message}"


def _loss_note(decided: Decided, lots: int) -> str:
    """What the entry loses at its stop, against which cap, and whether the lots were cut."""
    details = decided.details
    if "loss_at_stop" not in details:
        return ""
    note = (
        f"; ₹{details['loss_at_stop']} lost if stopped out "
        f"(cap ₹{details['loss_cap']}, {details['loss_cap_source']})"
    )
    wanted = details.get("lots_wanted")
    if isinstance(wanted, int) and wanted > lots:
        note += f"; {wanted} lot(s) wanted, cut by the caps and the loss bound"
    return note


def _json(document: object) -> str:
    import json

    return json.dumps(document)
