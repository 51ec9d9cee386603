"""The guardian: every held position checked on market time (and optionally on each tick).

- Position events (durable, acked after the trackers are saved) open, change and close trackers;
  a newly held contract gets its ticks subscribed (and a snapshot for a first price), a flat one
  released unless an accepted entry in it is still waiting.
- Order events (durable): an entry the broker accepted holds its contract at once, so its ticks
  flow before the fill; one that ended without a fill releases the contract when no position or
  other entry holds it (`domain.entries`).
- Ticks only update the latest price, unless `evaluate_on_tick`: then that one position is
  checked at once (the 5-second loop stays the watchdog for everything else). A tick never
  waits for anything but its own check: not for an exit in flight.
- `check_all` (the loop): each OPEN position is assessed (`domain.trail`); each CLOSING one has
  its exit re-sent (same id) when overdue; everything is exited while HALTED; then today's P&L
  is checked against the daily loss limit.
- An exit marks the tracker CLOSING *before* the first await, so no concurrent check can send a
  second one; the command id is deterministic, so a resend or a restart repeats the same one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import ExitReason
from sarathi.common.logging import bound, get_logger
from sarathi.common.messages.market import Tick
from sarathi.common.messages.orders import OrderEvent, PositionEvent
from sarathi.risk.adapters.feed import FeedLink
from sarathi.risk.book import PositionBook
from sarathi.risk.control import ControlKeeper
from sarathi.risk.domain.control import Action, exit_reason_when_halted
from sarathi.risk.domain.daily import DayPnl, day_pnl
from sarathi.risk.domain.entries import EntryStep, PendingEntries, contract_of, entry_step
from sarathi.risk.domain.pnl import Pnl, position_pnl, trail_pnl
from sarathi.risk.domain.position import Ltp, Status, TrackedPosition, closing
from sarathi.risk.domain.rules import RiskRules
from sarathi.risk.domain.trail import Assessment, ExitDecision, assess
from sarathi.risk.exits import ExitSender
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.subscriptions import TickSubscriptions
from sarathi.risk.writer import TrackerWriter

log = get_logger(__name__)
SERVICE = "risk"


def start_of_day(now: datetime) -> datetime:
    local = now.astimezone(IST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class Guardian:
    def __init__(
        self,
        rules: RiskRules,
        *,
        clock: Clock,
        writer: TrackerWriter,
        feed: FeedLink,
        sender: ExitSender,
        control: ControlKeeper,
        metrics: RiskMetrics,
        subscriptions: TickSubscriptions | None = None,
        calculator: ChargesCalculator | None = None,
        evaluate_on_tick: bool = False,
        exit_resend_seconds: float = 30.0,
    ) -> None:
        self.rules = rules
        self._clock = clock
        self._writer = writer
        self._feed = feed
        self._sender = sender
        self._control = control
        self._metrics = metrics
        self._subs = subscriptions
        self._calculator = calculator or ChargesCalculator()
        self._on_tick = evaluate_on_tick
        self._resend = timedelta(seconds=exit_resend_seconds)
        self.book = PositionBook()
        self.pending = PendingEntries()
        self._ltps: dict[ContractKey, Ltp] = {}
        self._exit_sent: dict[str, datetime] = {}

    def attach(self, subscriptions: TickSubscriptions) -> None:
        self._subs = subscriptions

    # -- start and stop -------------------------------------------------------------------------

    async def resume(self, positions: list[TrackedPosition]) -> None:
        """Take over the stored trackers (restart): hold their contracts, prime their prices."""
        self.book = PositionBook(positions)
        held = [p.contract for p in self.book.open_positions()]
        for contract in held:
            await self._hold(contract)
        await self.prime(held)
        log.info("trackers_resumed", open=len(held), armed=sum(p.trail_armed for p in positions if p.is_open))

    async def prime(self, contracts: list[ContractKey]) -> None:
        for tick in await self._feed.snapshot(contracts):
            self._note(tick)

    async def _hold(self, contract: ContractKey) -> None:
        if self._subs is not None:
            await self._subs.hold(contract)

    # -- reads ----------------------------------------------------------------------------------

    def ltp(self, contract: ContractKey) -> Ltp | None:
        return self._ltps.get(contract)

    def day(self, now: datetime) -> DayPnl:
        prices = {contract: ltp.price for contract, ltp in self._ltps.items()}
        return day_pnl(self.book.all(), prices, self._calculator, now.astimezone(IST).date())

    def position_pnl(self, position: TrackedPosition, now: datetime) -> Pnl:
        """`position`'s P&L at its latest price, as `day` counts it."""
        ltp = self._ltps.get(position.contract)
        price = None if ltp is None else ltp.price
        return position_pnl(position, price, self._calculator, now.astimezone(IST).date())

    def pnl_of(self, position: TrackedPosition, price: Decimal) -> Decimal:
        """P&L on the trail's basis (gross by default; net of charges when configured)."""
        day = self._clock.now().astimezone(IST).date()
        return trail_pnl(position, price, self.rules.pnl_basis, self._calculator, day)

    # -- inputs ---------------------------------------------------------------------------------

    def _note(self, tick: Tick) -> ContractKey:
        contract = ContractKey(tick.segment, str(tick.security_id))
        previous = self._ltps.get(contract)
        if previous is None or tick.received_at >= previous.at:
            self._ltps[contract] = Ltp(tick.ltp, tick.received_at)
        return contract

    async def on_tick(self, message: Tick) -> None:
        self._metrics.ticks.inc()
        contract = self._note(message)
        if self._on_tick:
            position = self.book.open_for(contract)
            if position is not None and position.status is Status.OPEN:
                await self.check(position, self._clock.now(), trigger="tick")

    async def on_position_event(self, message: PositionEvent) -> None:
        with bound(correlation_id=message.correlation_id, message_id=message.message_id):
            change = self.book.apply(message)
            if change is None:
                return
            self._writer.mark(change.position)
            await self._writer.flush()  # durable before the consumer acks
            position = change.position
            log.info(
                "position_tracked",
                message_type=message.type,
                entry_order_id=position.entry_order_id,
                status=position.status.value,
                quantity=position.quantity,
                average_entry=str(position.average_entry),
            )
            if change.opened:
                await self._hold(position.contract)
                if position.contract not in self._ltps:
                    await self.prime([position.contract])
            if change.closed:
                self._exit_sent.pop(position.entry_order_id, None)
                self._metrics.position_pnl.remove(position.security_id, "gross")
                self._metrics.position_pnl.remove(position.security_id, "net")
                if position.trail_armed:
                    self._metrics.position_hwm.remove(position.security_id)
                if self.book.open_for(position.contract) is None:
                    # A later position in this contract must not inherit this one's last tick time.
                    self._ltps.pop(position.contract, None)
                    if not self.pending.waiting(position.contract):
                        await self._release(position.contract)

    async def on_order_event(self, message: OrderEvent) -> None:
        """Hold a contract from its entry's acceptance; release it when the entry ended unfilled
        and nothing else holds it. Events of an earlier day (a consumer created late) are ignored."""
        step = entry_step(message)
        if step is None:
            return
        if message.event_time.astimezone(IST).date() != self._clock.now().astimezone(IST).date():
            return
        order_id, contract = message.client_order_id, contract_of(message)
        with bound(correlation_id=message.correlation_id, message_id=message.message_id):
            if step is EntryStep.ACCEPTED:
                if self.book.has_fill_of(order_id):
                    return  # its position events came first: the position holds (or released) it
                self.pending.accepted(order_id, contract)
                await self._hold(contract)
                self._metrics.entry_holds.labels("held").inc()
                log.info("entry_held", client_order_id=order_id, security_id=contract.security_id)
                return
            was_pending = self.pending.ended(order_id) is not None
            if self.book.open_for(contract) is not None or self.pending.waiting(contract):
                return
            if step is EntryStep.ENDED_UNFILLED:
                # Released even when not pending here if the broker had it: it may have been
                # accepted (and held) before a restart, which forgets pending entries.
                if was_pending or message.broker_order_id is not None:
                    self._ltps.pop(contract, None)
                    await self._release(contract, feed_anyway=True)
                    self._metrics.entry_holds.labels("released").inc()
                    log.info("entry_released", client_order_id=order_id, security_id=contract.security_id)
            elif self.book.has_fill_of(order_id):
                # Filled, and its position opened and closed before this event: the close kept the
                # hold for this entry. Otherwise the coming PositionOpened takes the hold over.
                await self._release(contract)

    async def _release(self, contract: ContractKey, *, feed_anyway: bool = False) -> None:
        if self._subs is not None:
            await self._subs.release(contract, feed_anyway=feed_anyway)

    # -- checks ---------------------------------------------------------------------------------

    async def check(self, position: TrackedPosition, now: datetime, trigger: str) -> Assessment:
        """One check of one position: move its trail, send its exit if one is due."""
        self._metrics.checks.labels(trigger).inc()
        ltp = self._ltps.get(position.contract)
        result = assess(position, ltp, self.rules, now, self.pnl_of)
        moved = result.position
        if moved != position:
            self.book.put(moved)
            self._writer.mark(moved)
            if moved.hwm is not None:
                self._metrics.position_hwm.labels(moved.security_id).set(float(moved.hwm))
        if result.exit is not None:
            await self._exit(moved, result.exit, SERVICE, now)
        if result.armed_now and result.pnl is not None and ltp is not None:
            self._metrics.trails_armed.inc()
            log.info(
                "trail_armed", entry_order_id=moved.entry_order_id, pnl=str(result.pnl), hwm=str(moved.hwm)
            )
            await self._sender.armed(moved, result.pnl, ltp.price, now)
        return result

    async def _exit(
        self, position: TrackedPosition, decision: ExitDecision, requested_by: str, now: datetime
    ) -> None:
        current = self.book.get(position.entry_order_id)
        if current is None or current.status is not Status.OPEN:
            return  # closing already (one exit in flight at a time) or closed
        marked = closing(current, decision.reason)
        self.book.put(marked)  # before any await: no concurrent check can send a second exit
        self._writer.mark(marked)
        self._metrics.exits.labels(decision.reason.value).inc()
        await self._publish_exit(marked, requested_by, now)
        log.warning(
            "exit_triggered",
            entry_order_id=marked.entry_order_id,
            reason=decision.reason.value,
            pnl=None if decision.pnl is None else str(decision.pnl),
            hwm=None if decision.hwm is None else str(decision.hwm),
            detail=decision.detail,
        )
        ltp = self._ltps.get(marked.contract)
        await self._sender.announce(marked, decision, None if ltp is None else ltp.price, now)

    async def _publish_exit(self, position: TrackedPosition, requested_by: str, now: datetime) -> None:
        try:
            await self._sender.send_command(position, requested_by, now)
        except Exception as exc:  # NATS hiccup: the tracker stays CLOSING and the loop re-sends
            log.error("exit_publish_failed", entry_order_id=position.entry_order_id, error=repr(exc))
            return
        self._exit_sent[position.entry_order_id] = now

    async def flatten(self, reason_decision: ExitDecision, requested_by: str) -> list[str]:
        """Exit every OPEN position now for `reason_decision.reason`; returns their entry order ids."""
        now = self._clock.now()
        entries = []
        for position in self.book.open_positions():
            if position.status is Status.OPEN:
                entries.append(position.entry_order_id)
                await self._exit(position, reason_decision, requested_by, now)
        await self._writer.flush()
        return entries

    async def check_all(self, now: datetime) -> DayPnl:
        """The 5-second check of every position, then the daily loss limit."""
        halted = self._control.state is TradingState.HALTED
        for position in self.book.open_positions():
            await asyncio.sleep(0)  # a yield, not a wait: ticks checked on arrival are not held up
            if position.status is Status.CLOSING:
                await self._resend_if_overdue(position, now)
            elif halted:
                reason = exit_reason_when_halted_of(self._control)
                await self._exit(
                    position, ExitDecision(reason, None, position.hwm, "trading is HALTED"), SERVICE, now
                )
            else:
                await self.check(position, now, trigger="loop")
        if self._subs is not None:
            await self._subs.retry()
        day = self.day(now)
        await self._writer.flush()
        return day

    async def _resend_if_overdue(self, position: TrackedPosition, now: datetime) -> None:
        sent = self._exit_sent.get(position.entry_order_id)
        if sent is not None and now - sent < self._resend:
            return
        if sent is not None:
            self._metrics.exit_resends.inc()
            log.warning("exit_resent", entry_order_id=position.entry_order_id, sent_at=sent.isoformat())
        await self._publish_exit(position, SERVICE, now)

    def is_stale(self, position: TrackedPosition, now: datetime) -> bool:
        ltp = self._ltps.get(position.contract)
        since = ltp.at if ltp is not None else position.opened_at
        return (now - since).total_seconds() >= self.rules.stale_after_seconds


def exit_reason_when_halted_of(control: ControlKeeper) -> ExitReason:
    return exit_reason_when_halted(Action.DAILY_LOSS if control.halted_by_daily_loss else None)
