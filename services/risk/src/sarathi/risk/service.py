"""The risk service's parts, wired, and what runs while it is up.

`RiskService(settings, bus, clock, store, metrics)` builds without I/O: the control keeper, the
feed link, the writer, the exit sender, the guardian and its tick subscriptions, and the loop;
`names` gives the operator's views contract names (the Derivative table; none in unit tests).
`running()` loads the control state and the trackers, subscribes the held contracts, starts the
writer, the durable consumers of position and order events and the 5-second loop; leaving it stops them and
flushes the trackers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, ConsumerOptions, Subscription, one_of
from sarathi.common.bus.streams import ORDER_EVT, RISK_EVT
from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import TradingState
from sarathi.common.logging import get_logger
from sarathi.common.messages.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStateUnknown,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from sarathi.common.messages.risk import BrokerRefusedOrders
from sarathi.common.tasks import BackgroundTasks
from sarathi.risk.adapters.feed import FeedLink
from sarathi.risk.adapters.refdata import ContractNames, NoNames
from sarathi.risk.adapters.store import RiskStore
from sarathi.risk.control import ControlKeeper
from sarathi.risk.domain.control import Action
from sarathi.risk.exits import ExitSender
from sarathi.risk.guardian import Guardian, start_of_day
from sarathi.risk.loop import RiskLoop
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.settings import RiskSettings
from sarathi.risk.subscriptions import TickSubscriptions
from sarathi.risk.writer import TrackerWriter

log = get_logger(__name__)

POSITION_CONSUMER = "risk-positions"
ENTRY_CONSUMER = "risk-entries"  # order events: hold a contract from its entry's acceptance
BROKER_REFUSAL_CONSUMER = "risk-broker-refusals"
# A position event must never be dead-lettered for a passing database outage: retry for long.
POSITION_OPTIONS = ConsumerOptions(
    ack_wait_seconds=30.0, max_deliver=1000, backoff_seconds=(0.5, 1.0, 2.0, 5.0)
)


class RiskService:
    def __init__(
        self,
        settings: RiskSettings,
        bus: Bus,
        clock: Clock,
        store: RiskStore,
        metrics: RiskMetrics,
        *,
        names: ContractNames | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.store = store
        self.metrics = metrics
        self.names: ContractNames = names or NoNames()
        self.calculator = ChargesCalculator()
        self.control = ControlKeeper(
            bus, clock, store, metrics, initial_state=settings.risk_initial_trading_state
        )
        self.feed = FeedLink(bus, clock, timeout_seconds=settings.risk_feed_timeout_seconds)
        self.writer = TrackerWriter(store, clock, metrics)
        self.guardian = Guardian(
            settings.rules(),
            clock=clock,
            writer=self.writer,
            feed=self.feed,
            sender=ExitSender(bus),
            control=self.control,
            metrics=metrics,
            calculator=self.calculator,
            evaluate_on_tick=settings.risk_evaluate_on_tick,
            exit_resend_seconds=settings.risk_exit_resend_seconds,
        )
        self.subscriptions = TickSubscriptions(bus, self.feed, self.guardian.on_tick, metrics)
        self.guardian.attach(self.subscriptions)
        self.loop = RiskLoop(
            self.guardian,
            self.control,
            bus,
            clock,
            metrics,
            interval_seconds=settings.risk_loop_interval_seconds,
        )
        self.tasks = BackgroundTasks("risk")

    async def ready(self) -> None:
        """Readiness: its tasks alive and the 5-second loop checking within
        `risk_ready_loop_periods` of its period (market time)."""
        await self.tasks.ready()
        self.loop.ready(self.clock.now(), self.settings.risk_ready_loop_periods)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RiskService]:
        consumers: list[Subscription] = []
        await self.control.start()
        try:
            await self.guardian.resume(await self.store.load(start_of_day(self.clock.now())))
            self.tasks.start("writer", self.writer.run())
            consumers.append(
                await self.bus.consume(
                    ORDER_EVT.name,
                    POSITION_CONSUMER,
                    subjects.POSITION_EVENTS_ALL,
                    self.guardian.on_position_event,
                    POSITION_OPTIONS,
                    accepts=one_of(PositionOpened, PositionChanged, PositionClosed),
                )
            )
            consumers.append(
                await self.bus.consume(
                    ORDER_EVT.name,
                    ENTRY_CONSUMER,
                    subjects.ORDER_EVENTS_ALL,
                    self.guardian.on_order_event,
                    POSITION_OPTIONS,
                    accepts=one_of(
                        OrderAccepted, OrderRejected, OrderFilled, OrderCancelled, OrderStateUnknown
                    ),
                )
            )
            consumers.append(
                await self.bus.consume(
                    RISK_EVT.name,
                    BROKER_REFUSAL_CONSUMER,
                    subjects.BROKER_REFUSED_ORDERS,
                    self.on_broker_refused,
                    POSITION_OPTIONS,
                    accepts=BrokerRefusedOrders,
                )
            )
            self.tasks.start("loop", self.loop.run())
            log.info(
                "risk_running", state=self.control.state.value, on_tick=self.settings.risk_evaluate_on_tick
            )
            yield self
        finally:
            for consumer in consumers:
                await consumer.stop()
            await self.tasks.stop()
            await self.subscriptions.close()
            with contextlib.suppress(Exception):
                await self.writer.flush()
            await self.control.stop()

    async def on_broker_refused(self, message: BrokerRefusedOrders) -> None:
        """Dhan refuses our order calls (orders' `BrokerRefusedOrders`): HALTED with the reason,
        once; a refusal of an earlier trading day (a consumer created late) changes nothing."""
        today = self.clock.now().astimezone(IST).date()
        if message.event_time.astimezone(IST).date() != today:
            log.info("broker_refusal_of_another_day", at=message.event_time.isoformat())
            return
        if self.control.state is TradingState.HALTED:
            log.info("broker_refusal_while_halted", code=message.error_code, target=message.target)
            return
        reason = (
            f"broker refused orders: {message.error_code} {message.reason} "
            f"({message.operation.lower()} {message.target}); fix the static IP at Dhan, then resume"
        )
        await self.control.act(
            Action.BROKER_REFUSED,
            actor="orders",
            reason=reason,
            remote_address=None,
            daily_loss_breached=False,
        )
        self.metrics.broker_refusal_halts.inc()
        log.critical("trading_halted_broker_refused", code=message.error_code, reason=message.reason)
