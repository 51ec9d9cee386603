"""Reconnect backoff: capped exponential with jitter, and both an attempt and a time cap.

`delay(attempt)` for the n-th consecutive failed attempt (1-based) is
`min(maximum, initial × multiplier^(n-1))`, reduced by up to `jitter` of itself at random
(so many clients do not reconnect in lock-step), never below `floor` (used after Dhan's
805 "too many connections", where reconnecting quickly makes things worse).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial_seconds: float = 0.05
    maximum_seconds: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    max_attempts: int = 0  # 0: no attempt cap
    max_elapsed_seconds: float = 0.0  # 0: no time cap

    def __post_init__(self) -> None:
        if self.initial_seconds < 0 or self.maximum_seconds < self.initial_seconds or self.multiplier < 1:
            raise ValueError(f"invalid backoff policy {self}")
        if not 0 <= self.jitter <= 1 or self.max_attempts < 0 or self.max_elapsed_seconds < 0:
            raise ValueError(f"invalid backoff policy {self}")

    def delay(self, attempt: int, rng: random.Random, floor: float = 0.0) -> float:
        """Seconds to wait before attempt `attempt + 1`, after `attempt` consecutive failures."""
        exponent = min(max(attempt, 1) - 1, 64)
        base = min(self.maximum_seconds, self.initial_seconds * self.multiplier**exponent)
        return max(floor, base * (1.0 - self.jitter * rng.random()))

    def exhausted(self, attempts: int, elapsed_seconds: float) -> bool:
        """True once either cap is reached: stop retrying and report the feed unhealthy."""
        if self.max_attempts and attempts >= self.max_attempts:
            return True
        return bool(self.max_elapsed_seconds and elapsed_seconds >= self.max_elapsed_seconds)
