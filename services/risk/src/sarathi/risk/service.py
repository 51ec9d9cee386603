"""The risk service's parts, wired, and what runs while it is up.

`RiskService(settings, bus, clock, store, metrics)` builds without I/O: the control keeper, the
feed link, the writer, the exit sender, the guardian and its tick subscriptions, and the loop;
`names` gives the operator's views contract names (the Derivative table; none in unit tests).
`running()` loads the control state and the trackers, subscribes the held contracts, starts the
writer, the durable consumer of position events and the 5-second loop; leaving it stops them and
flushes the trackers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, ConsumerOptions, Subscription
from sarathi.common.bus.streams import ORDER_EVT
from sarathi.common.clock import Clock
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.logging import get_logger
from sarathi.common.tasks import BackgroundTasks
from sarathi.risk.adapters.feed import FeedLink
from sarathi.risk.adapters.refdata import ContractNames, NoNames
from sarathi.risk.adapters.store import RiskStore
from sarathi.risk.control import ControlKeeper
from sarathi.risk.exits import ExitSender
from sarathi.risk.guardian import Guardian, start_of_day
from sarathi.risk.loop import RiskLoop
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.settings import RiskSettings
from sarathi.risk.subscriptions import TickSubscriptions
from sarathi.risk.writer import TrackerWriter

log = get_logger(__name__)

POSITION_CONSUMER = "risk-positions"
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
        consumer: Subscription | None = None
        await self.control.start()
        try:
            await self.guardian.resume(await self.store.load(start_of_day(self.clock.now())))
            self.tasks.start("writer", self.writer.run())
            consumer = await self.bus.consume(
                ORDER_EVT.name,
                POSITION_CONSUMER,
                subjects.POSITION_EVENTS_ALL,
                self.guardian.on_position_event,
                POSITION_OPTIONS,
            )
            self.tasks.start("loop", self.loop.run())
            log.info(
                "risk_running", state=self.control.state.value, on_tick=self.settings.risk_evaluate_on_tick
            )
            yield self
        finally:
            if consumer is not None:
                await consumer.stop()
            await self.tasks.stop()
            await self.subscriptions.close()
            with contextlib.suppress(Exception):
                await self.writer.flush()
            await self.control.stop()
