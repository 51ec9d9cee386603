"""Time, injected (ARCHITECTURE §5): nothing else in Sarathi reads the wall clock for decisions.

`Clock` is the port. Three adapters:
- `LiveClock`: the wall clock in IST (`live` and `paper` modes).
- `FakeClock`: stands still until a test calls `advance()`; sleepers wake in deadline order.
- `SimClock`: market time = start instant + elapsed wall time × speed, following the state the
  `sim` service publishes (start, speed, paused). A whole trading day runs in a few minutes with
  the 5-second risk loop and 5-minute bars measured in market time.

All instants are timezone-aware; `now()` returns IST.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sarathi.common.domain.calendar import IST, require_aware

__all__ = ["IST", "Clock", "FakeClock", "LiveClock", "SimClock", "SimClockParams"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant (aware, IST)."""
        ...

    async def sleep_until(self, instant: datetime) -> None:
        """Return once `now() >= instant` (immediately if it already is)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds` of this clock's time (market seconds for SimClock)."""
        ...


class LiveClock:
    """The wall clock, in IST."""

    def now(self) -> datetime:
        return datetime.now(IST)

    async def sleep_until(self, instant: datetime) -> None:
        require_aware(instant)
        delay = (instant - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock for tests: time moves only when `advance` or `set` is called."""

    def __init__(self, start: datetime) -> None:
        require_aware(start)
        self._now = start.astimezone(IST)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, instant: datetime) -> None:
        require_aware(instant)
        if instant <= self._now:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (instant, next(self._seq), future))
        await future

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + timedelta(seconds=seconds))

    def advance(self, delta: timedelta | float) -> None:
        """Move time forward and wake every sleeper whose deadline has come, earliest first."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock never moves backwards")
        self.set(self._now + step)

    def set(self, instant: datetime) -> None:
        require_aware(instant)
        if instant < self._now:
            raise ValueError("a clock never moves backwards")
        self._now = instant.astimezone(IST)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def pending_sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())


@dataclass(frozen=True, slots=True)
class SimClockParams:
    """What the sim service publishes: market instant at a wall instant, and the speed."""

    market_start: datetime
    wall_start_monotonic: float
    speed: Decimal
    paused: bool = False


class SimClock:
    """Market time derived from the simulator's published parameters and a monotonic wall clock."""

    def __init__(self, params: SimClockParams, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._params = params
        self._paused_at: datetime | None = self._compute(params) if params.paused else None
        self._changed = asyncio.Event()
        require_aware(params.market_start)
        if params.speed <= 0:
            raise ValueError("speed must be positive")

    def _compute(self, params: SimClockParams) -> datetime:
        elapsed = self._monotonic() - params.wall_start_monotonic
        market = params.market_start + timedelta(seconds=elapsed * float(params.speed))
        return market.astimezone(IST)

    def now(self) -> datetime:
        if self._params.paused and self._paused_at is not None:
            return self._paused_at
        return self._compute(self._params)

    def update(self, params: SimClockParams) -> None:
        """Follow a new published state (restart, speed change, pause, resume)."""
        require_aware(params.market_start)
        if params.speed <= 0:
            raise ValueError("speed must be positive")
        self._params = params
        self._paused_at = params.market_start.astimezone(IST) if params.paused else None
        self._changed.set()
        self._changed = asyncio.Event()

    async def sleep_until(self, instant: datetime) -> None:
        require_aware(instant)
        while True:
            now = self.now()
            if now >= instant:
                return
            changed = self._changed
            if self._params.paused:
                await changed.wait()
                continue
            wall_delay = (instant - now).total_seconds() / float(self._params.speed)
            try:
                await asyncio.wait_for(changed.wait(), timeout=wall_delay)
            except TimeoutError:
                continue

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + timedelta(seconds=seconds))
