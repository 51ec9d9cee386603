"""Sliding-window rate limits, enforced on our side before a call reaches the broker.

A `SlidingWindows` limiter admits a call when, for every window (seconds, cap), fewer than `cap`
calls were stamped in the last `seconds`. `acquire()` waits until that is true, so a burst
queues instead of failing. Time is a `Pacing`: the monotonic wall clock by default. In `sim`
mode services count market seconds instead (`clock_source.rate_limit_pacing`), as the emulator
does, so a day simulated at 200x meets Dhan's per-second limits as a real day would: at 200x
in wall time, the option chain's one-call-per-3-s rule alone would cost ten market minutes.

The broker counts a request when it ARRIVES, which is some time after we admit it (a worker
thread starts, a connection opens). Stamping at admission alone would let a call admitted one
window later arrive less than a window after an earlier one. So `slot()` keeps a call's stamp
at its admission while it runs and moves it to the moment it completes: every call admitted
later arrives at least one window after every earlier call has arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

Window = tuple[float, int]  # (seconds, cap)


@dataclass(frozen=True)
class Pacing:
    """The time a limiter counts in: `monotonic()` seconds, and `sleep` for that many of them."""

    monotonic: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


WALL_PACING = Pacing(monotonic=time.monotonic, sleep=asyncio.sleep)


class SlidingWindows:
    def __init__(
        self,
        windows: tuple[Window, ...],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacing: Pacing | None = None,
    ) -> None:
        if pacing is not None:
            monotonic, sleep = pacing.monotonic, pacing.sleep
        if not windows or any(seconds <= 0 or cap <= 0 for seconds, cap in windows):
            raise ValueError(f"windows must be positive (seconds, cap) pairs, got {windows}")
        self.windows = windows
        self._monotonic = monotonic
        self._sleep = sleep
        self._longest = max(seconds for seconds, _ in windows)
        self._stamps: list[_Stamp] = []
        self._lock = asyncio.Lock()

    def wait_seconds(self) -> float:
        """How long until a call would be admitted (0 if now)."""
        now = self._monotonic()
        self._stamps = [s for s in self._stamps if now - s.at < self._longest]
        times = sorted(s.at for s in self._stamps)
        wait = 0.0
        for seconds, cap in self.windows:
            recent = [t for t in times if now - t < seconds]
            if len(recent) >= cap:
                # The oldest stamp inside the window must age out for one more call to fit.
                wait = max(wait, recent[-cap] + seconds - now)
        return wait

    def try_acquire(self) -> bool:
        if self.wait_seconds() > 0:
            return False
        self._stamps.append(_Stamp(self._monotonic()))
        return True

    async def _admit(self) -> tuple[_Stamp, float]:
        waited = 0.0
        async with self._lock:  # first come, first served
            while (wait := self.wait_seconds()) > 0:
                await self._sleep(wait)
                waited += wait
            stamp = _Stamp(self._monotonic())
            self._stamps.append(stamp)
        return stamp, waited

    async def acquire(self) -> float:
        """Wait until admitted (stamped now); returns the seconds waited (for a metric)."""
        _, waited = await self._admit()
        return waited

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Admit one call for the duration of the block; its stamp moves to when the block ends."""
        stamp, waited = await self._admit()
        try:
            yield waited
        finally:
            stamp.at = self._monotonic()


@dataclass
class _Stamp:
    at: float
