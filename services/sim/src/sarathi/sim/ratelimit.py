"""Dhan's rate limits (REFERENCE §1.7), enforced by the emulator.

Which seconds they count is a setting (`sim_rate_limit_time`, `RateLimitTime`): market seconds
by default, so a day run at 200x meets the limits a real day would (the option chain's
one-per-3-s rule in wall time would hold a chain for ten market minutes), or the monotonic wall
clock, as the real broker does. Services count the same seconds on their side in `sim` mode
(`sarathi.common.clock_source.rate_limit_pacing`). Windows slide: a request is refused when the
number of requests already admitted within any window of its category has reached its cap.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class RateLimitTime(StrEnum):
    MARKET = "market"  # the simulation clock's seconds (paused: nothing new is admitted)
    WALL = "wall"  # real seconds, whatever the simulation speed


class Category(StrEnum):
    ORDERS = "orders"  # place / modify / cancel of normal and super orders
    DATA = "data"  # historical and intraday charts
    QUOTE = "quote"  # /marketfeed/*
    NON_TRADING = "non_trading"  # everything else (order book reads, positions, funds ...)


# (window seconds, cap) per category, from the current table (orders 10/s since 21 Mar 2026).
LIMITS: dict[Category, tuple[tuple[float, int], ...]] = {
    Category.ORDERS: ((1, 10), (60, 250), (3600, 1000), (86400, 7000)),
    Category.DATA: ((1, 5), (86400, 100_000)),
    Category.QUOTE: ((1, 1),),
    Category.NON_TRADING: ((1, 20),),
}
OPTION_CHAIN_UNIQUE_SECONDS = 3.0


@dataclass
class RateLimiter:
    """Admits or refuses requests per category; `option_chain` limits each unique request."""

    monotonic: Callable[[], float] = time.monotonic
    limits: dict[Category, tuple[tuple[float, int], ...]] = field(default_factory=lambda: dict(LIMITS))
    _admitted: dict[Category, deque[float]] = field(default_factory=dict)
    _chain_last: dict[tuple[str, str], float] = field(default_factory=dict)

    def admit(self, category: Category) -> bool:
        now = self.monotonic()
        windows = self.limits[category]
        history = self._admitted.setdefault(category, deque())
        longest = max(seconds for seconds, _ in windows)
        while history and now - history[0] >= longest:
            history.popleft()
        if any(self._reached(history, now, seconds, cap) for seconds, cap in windows):
            return False
        history.append(now)
        return True

    @staticmethod
    def _reached(history: deque[float], now: float, seconds: float, cap: int) -> bool:
        """Whether `cap` requests were admitted within the last `seconds` (newest first, stops early)."""
        for count, admitted_at in enumerate(reversed(history), start=1):
            if now - admitted_at >= seconds:
                return False
            if count >= cap:
                return True
        return False

    def admit_option_chain(self, underlying: str, expiry: str) -> bool:
        """One unique (underlying, expiry) request per 3 seconds; different ones run freely."""
        now = self.monotonic()
        key = (underlying, expiry)
        last = self._chain_last.get(key)
        if last is not None and now - last < OPTION_CHAIN_UNIQUE_SECONDS:
            return False
        self._chain_last[key] = now
        return True

    def reset(self) -> None:
        self._admitted.clear()
        self._chain_last.clear()
