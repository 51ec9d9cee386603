"""Sliding-window rate limits, enforced on our side before a call reaches the broker.

A `SlidingWindows` limiter admits a call when, for every window (seconds, cap), fewer than `cap`
calls were admitted in the last `seconds`. `acquire()` waits until that is true, so a burst
queues instead of failing. Broker limits are about real seconds, whatever the simulation
speed, so time here is a monotonic wall clock (injected, with its sleep, for tests).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

Window = tuple[float, int]  # (seconds, cap)


class SlidingWindows:
    def __init__(
        self,
        windows: tuple[Window, ...],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not windows or any(seconds <= 0 or cap <= 0 for seconds, cap in windows):
            raise ValueError(f"windows must be positive (seconds, cap) pairs, got {windows}")
        self.windows = windows
        self._monotonic = monotonic
        self._sleep = sleep
        self._longest = max(seconds for seconds, _ in windows)
        self._admitted: deque[float] = deque()
        self._lock = asyncio.Lock()

    def _forget_old(self, now: float) -> None:
        while self._admitted and now - self._admitted[0] >= self._longest:
            self._admitted.popleft()

    def wait_seconds(self) -> float:
        """How long until a call would be admitted (0 if now)."""
        now = self._monotonic()
        self._forget_old(now)
        wait = 0.0
        for seconds, cap in self.windows:
            recent = [t for t in self._admitted if now - t < seconds]
            if len(recent) >= cap:
                # The oldest call inside the window must age out for one more to fit.
                wait = max(wait, recent[-cap] + seconds - now)
        return wait

    def try_acquire(self) -> bool:
        if self.wait_seconds() > 0:
            return False
        self._admitted.append(self._monotonic())
        return True

    async def acquire(self) -> float:
        """Wait until admitted; returns the seconds waited (for a metric)."""
        waited = 0.0
        async with self._lock:  # first come, first served
            while (wait := self.wait_seconds()) > 0:
                await self._sleep(wait)
                waited += wait
            self._admitted.append(self._monotonic())
        return waited
