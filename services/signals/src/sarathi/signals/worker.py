"""The signals worker: index ticks in; bars and signals out, on market time.

At start: warm up every underlying's bar builder from Dhan's intraday history (a failure leaves
that underlying "warming up" and is logged and counted; it does not stop the service), then
listen to the index ticks. The first tick at or after a bar's end closes the bar (see
`domain.bars`); a loop sleeping on the Clock until each bar end plus a grace closes bars no tick
closed — a quiet market still closes bars. Each closed bar is published as
`md.bar.<n>m.<underlying>`; the decision is made on closed bars only and stored and, when it is
BULLISH or BEARISH, published as a `Signal` whose id is deterministic, so a restart cannot produce
a second signal for the same bar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, Subscription
from sarathi.common.clock import Clock
from sarathi.common.clock_hold import track_loop
from sarathi.common.dhan.errors import DhanError
from sarathi.common.dhan.rest import DhanRest
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.domain.signal_ids import signal_id
from sarathi.common.domain.trading import Direction
from sarathi.common.logging import bound, get_logger
from sarathi.common.messages.market import Bar, Tick
from sarathi.common.messages.signals import Signal
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError
from sarathi.signals.adapters.history import fetch_history
from sarathi.signals.adapters.store import SignalStore
from sarathi.signals.domain import BarBuilder, ClosedBar, TrendSettings, decide, warming_up
from sarathi.signals.metrics import SignalsMetrics
from sarathi.signals.settings import SignalsSettings

log = get_logger(__name__)
_LOOKAHEAD_DAYS = 10  # the next bar end is always within this many days (weekends, holidays)
FUTURE_TICK_TOLERANCE = timedelta(seconds=5)  # how far ahead of our clock a tick may close bars


@dataclass
class _Underlying:
    underlying: Underlying
    builder: BarBuilder
    warm_up_error: str | None = None  # why its history could not be loaded at start


class SignalsWorker:
    def __init__(
        self,
        settings: SignalsSettings,
        *,
        bus: Bus,
        clock: Clock,
        calendar: MarketCalendar,
        rest: DhanRest | None,
        store: SignalStore | None,
        metrics: SignalsMetrics,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._clock = clock
        self._calendar = calendar
        self._rest = rest
        self._store = store
        self._metrics = metrics
        self._trend: TrendSettings = settings.trend()
        grace = timedelta(seconds=settings.close_grace_seconds)
        self._grace = grace
        self._by_index_id = {
            u.spec.security_id: _Underlying(
                u, BarBuilder(u, calendar, minutes=settings.bar_minutes, close_grace=grace)
            )
            for u in settings.underlyings
        }
        self._subscriptions: list[Subscription] = []
        self.tasks = BackgroundTasks("signals")

    @property
    def interval(self) -> str:
        return f"{self._settings.bar_minutes}m"

    async def start(self) -> None:
        now = self._clock.now()
        for entry in self._by_index_id.values():
            await self._warm_up(entry, now)
        for security_id in self._by_index_id:
            subject = subjects.tick(ExchangeSegment.IDX_I, security_id)
            self._subscriptions.append(await self._bus.subscribe(subject, self.on_tick, accepts=Tick))
        self.tasks.start("bar-loop", self._run())

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()
        await self.tasks.stop()

    async def ready(self) -> None:
        """Readiness: the bar loop runs and every underlying is warmed up (enough bars, from
        history or live, for every indicator of the decision)."""
        await self.tasks.ready()
        for entry in self._by_index_id.values():
            have = len(entry.builder.history)
            if have < self._trend.warm_up_bars:
                failed = entry.warm_up_error
                error = f" (history could not be loaded: {failed})" if failed else ""
                raise NotReadyError(f"{entry.underlying.value} {warming_up(have, self._trend)}{error}")

    async def _warm_up(self, entry: _Underlying, now: datetime) -> None:
        name = entry.underlying.value
        if self._rest is None:
            self._metrics.warm_up.labels(name).set(0)
            return
        try:
            history = await fetch_history(
                self._rest, self._calendar, entry.underlying,
                minutes=self._settings.bar_minutes, now=now, trading_days=self._settings.warm_up_days,
            )  # fmt: skip
        except (DhanError, ValueError) as exc:
            log.error("warm_up_failed", underlying=name, error=str(exc))
            entry.warm_up_error = str(exc)[:200]
            self._metrics.warm_up.labels(name).set(0)
            return
        entry.builder.seed(history)
        ready = len(history) >= self._trend.warm_up_bars
        self._metrics.warm_up.labels(name).set(1 if ready else 0)
        log.info("warmed_up", underlying=name, bars=len(history), ready=ready)

    async def on_tick(self, message: Tick) -> None:
        entry = self._by_index_id.get(message.security_id)
        if entry is None:
            return
        outcome = entry.builder.on_tick(message.ltp, message.exchange_time, message.received_at)
        self._metrics.ticks.labels(entry.underlying.value, outcome.value).inc()
        now = self._clock.now()
        if message.exchange_time > now + FUTURE_TICK_TOLERANCE:
            return  # a clock or exchange-time glitch must not close bars early
        for bar in entry.builder.close_through(message.exchange_time):
            await self._on_bar(entry, bar, now)

    def next_bar_end(self, now: datetime) -> datetime | None:
        grids = (entry.builder.grid for entry in self._by_index_id.values())
        ends = [next(grid.bar_ends(now, now + timedelta(days=_LOOKAHEAD_DAYS)), None) for grid in grids]
        present = [end for end in ends if end is not None]
        return min(present) if present else None

    async def _run(self) -> None:
        track_loop(self._clock)  # the held day waits for the bars due at T (sim mode only)
        while True:
            now = self._clock.now()
            end = self.next_bar_end(now - self._grace)
            if end is None:
                log.error("no_bar_end_ahead", now=now.isoformat())
                return
            await self._clock.sleep_until(end + self._grace)
            await self.close_due(self._clock.now())

    async def close_due(self, now: datetime) -> None:
        """Close, publish and decide every bar due at market time `now`."""
        for entry in self._by_index_id.values():
            for bar in entry.builder.close_due(now):
                await self._on_bar(entry, bar, now)

    async def _on_bar(self, entry: _Underlying, bar: ClosedBar, now: datetime) -> None:
        underlying = entry.underlying
        started = time.perf_counter()
        sid = signal_id(underlying, self._trend.strategy, bar.end)
        with bound(correlation_id=sid):
            await self._bus.publish_durable(
                subjects.bar(self.interval, underlying), self._bar_message(bar, sid, now)
            )
            self._metrics.bars_closed.labels(underlying.value).inc()
            decision = decide(entry.builder.history_until(bar.end), self._trend)
            if self._store is not None:
                await self._store.save(sid, underlying, self._trend.strategy, decision, now)
            self._metrics.decisions.labels(underlying.value, decision.direction.value).inc()
            if decision.direction is not Direction.NEUTRAL:
                signal = Signal(
                    message_id=sid, correlation_id=sid, event_time=now, underlying=underlying,
                    strategy=self._trend.strategy, direction=decision.direction, interval=self.interval,
                    bar_close_time=bar.end, close=bar.close, indicators=decision.indicator_decimals(),
                )  # fmt: skip
                result = await self._bus.publish_durable(subjects.signal(underlying), signal)
                log.info(
                    "signal",
                    direction=decision.direction.value,
                    reason=decision.reason,
                    duplicate=result.duplicate,
                )
            else:
                log.info(
                    "no_signal",
                    underlying=underlying.value,
                    reason=decision.reason,
                    bar_end=bar.end.isoformat(),
                )
        self._metrics.decision_seconds.observe(time.perf_counter() - started)

    def _bar_message(self, bar: ClosedBar, sid: str, now: datetime) -> Bar:
        return Bar(
            message_id=f"bar-{sid}", correlation_id=sid, event_time=now, underlying=bar.underlying,
            interval=self.interval, start=bar.start, end=bar.end, open=bar.open, high=bar.high, low=bar.low,
            close=bar.close, tick_count=bar.tick_count, volume=bar.volume,
        )  # fmt: skip
