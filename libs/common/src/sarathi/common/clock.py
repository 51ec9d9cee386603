"""Time, injected (ARCHITECTURE §5): nothing else in Sarathi reads the wall clock for decisions.

`Clock` is the port. Three adapters:
- `LiveClock`: the wall clock in IST (`live` and `paper` modes).
- `FakeClock`: stands still until a test calls `advance()`; sleepers wake in deadline order.
- `SimClock`: market time = start instant + elapsed wall time × speed, following the
  `SimClockState` that the `sim` service publishes (anchor, speed, paused). A whole trading
  day runs in a few minutes with the 5-second risk loop and 5-minute bars in market time.

All instants are timezone-aware; `now()` returns IST.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sarathi.common.domain.calendar import IST, require_aware
from sarathi.common.messages.sim import ClockHeld, SimClockState

__all__ = ["IST", "Clock", "FakeClock", "HoldHooks", "LiveClock", "SimClock", "wall_clock"]


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


def wall_clock() -> datetime:
    """The real wall clock (UTC); only clocks read it."""
    return datetime.now(UTC)


@dataclass
class HoldHooks:
    """What a service adds to the clock protocol of the held day (`sarathi.common.clock_hold`).

    Only a `SimClock` has them, so nothing here exists in paper or live mode.
    - `checks`: name → what is still pending for a `ClockHeld` (None: nothing);
    - `published`: counts of messages sent other than through the bus (the feed's tick socket);
    - `sent_to_sim`: counts of requests sent on the sim's sockets (the feed's subscriptions);
    - `flushes`: awaited before answering, so what was sent is routed before the answer;
    - `relay`: where a lead relays the question (the connection its messages went out on).
    """

    checks: dict[str, Callable[[ClockHeld], str | None]] = field(default_factory=dict)
    published: list[Callable[[], int]] = field(default_factory=list)
    sent_to_sim: list[Callable[[], int]] = field(default_factory=list)  # requests on sim sockets
    flushes: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    relay: Callable[[str, bytes], Awaitable[None]] | None = None  # publish, when leading
    stirred: asyncio.Event = field(default_factory=asyncio.Event)  # something a check reads moved

    def stir(self) -> None:
        """Wake a participant waiting to answer: a handler finished, a loop went to sleep, ..."""
        self.stirred.set()


class SimClock:
    """Market time from the simulator's published `SimClockState` and the wall clock.

    Each state is an anchor (market instant at a wall instant) and a speed; the simulator
    publishes a new one on every start, pause, resume or speed change and `update` follows it,
    waking sleepers so they re-plan against the new anchor.

    For the held day's clock protocol it knows which tasks sleep until when (`waiting_past`)
    and which tasks are market-time loops (`track`, `busy_loops`).
    """

    def __init__(self, state: SimClockState, wall: Callable[[], datetime] = wall_clock) -> None:
        self._wall = wall
        self._state = state
        self._changed = asyncio.Event()
        self._sleeping: dict[asyncio.Task[object], datetime] = {}
        self._loops: set[asyncio.Task[object]] = set()
        self.hooks = HoldHooks()

    def track(self, task: asyncio.Task[object]) -> None:
        """Count `task` as a market-time loop: busy at T unless it sleeps until after T."""
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)

    def waiting_past(self, task: asyncio.Task[object], at: datetime) -> bool:
        """Whether `task` is asleep on this clock until an instant after `at`."""
        until = self._sleeping.get(task)
        return until is not None and until > at

    def busy_loops(self, at: datetime) -> list[str]:
        """The tracked loops that still have work due at or before `at`."""
        return sorted(task.get_name() for task in self._loops if not self.waiting_past(task, at))

    @property
    def state(self) -> SimClockState:
        return self._state

    def now(self) -> datetime:
        return self._state.market_time_at(self._wall()).astimezone(IST)

    def update(self, state: SimClockState) -> None:
        """Follow a newly published state (restart, speed change, pause, resume)."""
        self._state = state
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def sleep_until(self, instant: datetime) -> None:
        require_aware(instant)
        task = asyncio.current_task()
        if task is not None:
            self._sleeping[task] = instant
            if task in self._loops:
                self.hooks.stir()
        try:
            await self._sleep_until(instant)
        finally:
            if task is not None:
                self._sleeping.pop(task, None)

    async def _sleep_until(self, instant: datetime) -> None:
        while True:
            now = self.now()
            if now >= instant:
                return
            changed = self._changed
            if self._state.stopped_at(now):  # paused, or held at the barrier: only a change moves it
                await changed.wait()
                continue
            wall_delay = (instant - now).total_seconds() / float(self._state.speed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=wall_delay)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + timedelta(seconds=seconds))
