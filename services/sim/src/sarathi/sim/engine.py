"""The market-time loop: step the paper broker and the feed over a fixed grid of market instants.

The grid starts at the instant the clock was (re)started and advances by `step`: the base
`market_step_seconds`, or a whole multiple of it when the speed would otherwise ask for more
than `max_steps_per_wall_second` steps a wall second. The grid depends only on the clock's start
and speed, never on wall timing: when the loop falls behind it catches up through every grid
point rather than skipping any, and nothing is stepped while the clock is paused. So the same
seed and the same clock settings give byte-identical feed output.

At each grid instant `t`: `broker.step(t)`, then a market-status packet if the session just
opened or closed, then the feed's packets for `t` (only while the session is open; the step
at which it closes carries the day's close).

Other market sources (ARCHITECTURE §1): with a `MarketSource` (a replayed recording) the engine
also steps at each of the source's own instants between grid points, and every step first
advances the source to `t` (its ticks reach the market and the sockets) and then steps the
broker, so orders fill on the quote as of `t`; with `synthetic_feed=False` (replay, paper) the
engine never encodes quotes onto the feed sockets itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.common.messages.sim import SimClockState
from sarathi.sim.broker.port import Broker
from sarathi.sim.clock import SimClockController
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws import packets
from sarathi.sim.ws.feed_hub import FeedHub

log = get_logger(__name__)

_MICROSECOND = timedelta(microseconds=1)


class MarketSource(Protocol):
    """Market data arriving at instants of its own (see `sarathi.sim.replay.ReplayPlayer`)."""

    def restart(self, origin: datetime) -> None:
        """The clock (re)started at `origin`."""
        ...

    def next_instant(self) -> datetime | None:
        """The instant of the next pending event, or None when there is none."""
        ...

    def advance(self, until: datetime) -> None:
        """Apply every event up to and including `until`."""
        ...


def step_for(speed: Decimal, base_seconds: float, max_steps_per_wall_second: float) -> timedelta:
    """The grid step at `speed`: the base step times the smallest whole factor within the rate cap."""
    base_us = max(1, round(base_seconds * 1_000_000))
    factor = max(1, math.ceil(float(speed) / (max_steps_per_wall_second * base_us / 1_000_000) - 1e-9))
    return timedelta(microseconds=base_us * factor)


@dataclass(frozen=True, slots=True)
class Grid:
    origin: datetime
    step: timedelta

    def at(self, index: int) -> datetime:
        return self.origin + self.step * index


def is_restart(previous: SimClockState, state: SimClockState) -> bool:
    """A new clock state that starts a new grid: anything but a pause, the resume of a pause, a
    move of the `run_until` barrier (the same timeline, re-anchored where it stood) or a hold's
    move forward to the next step (`SimClockController.hold_at`)."""
    if state.paused:
        return False
    resumed = (
        previous.paused and state.market_start == previous.market_start and state.speed == previous.speed
    )
    continued = state.speed == previous.speed and state.market_start == previous.market_time_at(
        state.wall_start
    )
    held_forward = (
        state.speed == previous.speed
        and state.run_until == state.market_start
        and state.market_start > previous.market_time_at(state.wall_start)
    )
    return not (resumed or continued or held_forward)


class Engine:
    def __init__(
        self,
        controller: SimClockController,
        broker: Broker,
        hub: FeedHub,
        calendar: MarketCalendar,
        metrics: SimMetrics,
        *,
        base_step_seconds: float,
        max_steps_per_wall_second: float,
        source: MarketSource | None = None,
        synthetic_feed: bool = True,
    ) -> None:
        self._controller = controller
        self._broker = broker
        self._hub = hub
        self._calendar = calendar
        self._metrics = metrics
        self._base = base_step_seconds
        self._max_rate = max_steps_per_wall_second
        self._source = source
        self._synthetic_feed = synthetic_feed
        self._state = controller.state
        self._grid = self._new_grid(self._state)
        self._index = 0
        self._was_open: bool | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        hub.instant = self._grid.origin
        if source is not None:
            source.restart(self._grid.origin)
        controller.subscribe(self._on_clock)

    @property
    def grid(self) -> Grid:
        return self._grid

    @property
    def next_instant(self) -> datetime:
        return self._grid.at(self._index)

    def _new_grid(self, state: SimClockState) -> Grid:
        grid = Grid(state.market_start, step_for(state.speed, self._base, self._max_rate))
        self._metrics.engine_step_size.set(grid.step / _MICROSECOND / 1_000_000)
        return grid

    def _on_clock(self, state: SimClockState) -> None:
        previous, self._state = self._state, state
        if is_restart(previous, state):
            self._grid, self._index, self._was_open = self._new_grid(state), 0, None
            self._hub.instant = self._grid.origin
            if self._source is not None:
                self._source.restart(self._grid.origin)
            log.info("engine_restarted", origin=state.market_start.isoformat(), step=str(self._grid.step))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- one step ----------------------------------------------------------------------------------

    def step(self, at: datetime) -> None:
        """Everything that happens at market instant `at` (synchronous: one step is atomic)."""
        if not self._synthetic_feed:
            self._hub.instant = at  # before the source plays: what it sends is sent "at `at`"
        if self._source is not None:
            try:
                self._source.advance(at)
            except Exception:  # a source bug must not stop the broker; it is logged and counted
                self._metrics.engine_errors.labels(part="source").inc()
                log.exception("source_advance_failed", at=at.isoformat())
        try:
            self._broker.step(at)
        except Exception:  # a broker bug must not stop the market; it is logged and counted
            self._metrics.engine_errors.labels(part="broker").inc()
            log.exception("broker_step_failed", at=at.isoformat())
        if not self._synthetic_feed:
            self._metrics.engine_steps.inc()
            return
        is_open = self._calendar.is_open(at)
        was_open, self._was_open = self._was_open, is_open
        if is_open:
            if was_open is False:
                self._hub.broadcast(packets.market_status())
            self._hub.publish_step(at)
        elif was_open:
            self._hub.publish_step(at, closing=True)
            self._hub.broadcast(packets.market_status())
        else:
            self._hub.instant = at
        self._metrics.engine_steps.inc()

    # -- the loop ----------------------------------------------------------------------------------

    async def _wait_until(self, instant: datetime) -> None:
        """Until the clock reaches `instant` or the clock changes (pause, restart), whichever first."""
        sleeper = asyncio.ensure_future(self._controller.clock.sleep_until(instant))
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, changed):
                task.cancel()
            await asyncio.gather(sleeper, changed, return_exceptions=True)

    after_step: Callable[[datetime], Awaitable[None]] | None = None
    """Awaited after each step, before the next (the state persister: `sarathi.sim.persistence`)."""

    async def run(self) -> None:
        """Step every grid instant as market time reaches it, until cancelled."""
        while True:
            if self._state.paused:
                await self._changed.wait()
                continue
            instant, on_grid = self._grid.at(self._index), True
            upcoming = self._source.next_instant() if self._source is not None else None
            if upcoming is not None and upcoming < instant:
                instant, on_grid = upcoming, False  # a source event between two grid points
            if self._controller.now() < instant:
                await self._wait_until(instant)
                continue  # re-check: the clock may have paused or restarted meanwhile
            self.step(instant)
            self._index += on_grid
            if self.after_step is not None:
                await self.after_step(instant)
            lag = (self._controller.now() - instant).total_seconds()
            self._metrics.engine_lag.set(max(lag, 0.0))
            await asyncio.sleep(0)  # a yield, not a timer: let the sockets drain between steps

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="sim-engine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
