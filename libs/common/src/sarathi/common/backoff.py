"""Capped exponential backoff with jitter, and a retry budget: Sarathi's one retry primitive.

`delay(n, u)` after the n-th consecutive failure (1-based) is `min(cap, initial × multiplier^(n-1))`
reduced by up to `jitter` of itself (`u` uniform in [0, 1) from the caller's random source, so
tests pass a fixed one): with the default 0.5, between half the ceiling and the ceiling, never
zero. `floor` raises it (the feed's cool-off after Dhan's 805). `exhausted` is the budget: an
attempt cap and a time cap, either 0 for none.

Why not `stamina` (hynek's retry library): our loops are long-lived supervisors whose count resets
on success (feed and order-update sockets, the duplicate closer), state machines that retry on a
decision rather than an exception (exit rounds, resolution), and they sleep on an injected clock
(market time in the simulated day); stamina's decorators and `retry_context` retry on exceptions
over asyncio/time sleeps, with additive jitter. The loops keep their own shape and share this.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_seconds: float = 0.25
    multiplier: float = 2.0
    cap_seconds: float = 5.0
    jitter: float = 0.5  # a delay is reduced by up to this fraction of itself, at random
    max_attempts: int = 0  # failed attempts in all before giving up; 0: no attempt cap
    max_elapsed_seconds: float = 0.0  # 0: no time cap

    def __post_init__(self) -> None:
        if self.initial_seconds < 0 or self.cap_seconds < self.initial_seconds or self.multiplier < 1:
            raise ValueError(f"invalid backoff {self}")
        if not 0 <= self.jitter <= 1 or self.max_attempts < 0 or self.max_elapsed_seconds < 0:
            raise ValueError(f"invalid backoff {self}")

    def delay(self, attempt: int, u: float, floor: float = 0.0) -> float:
        """Seconds to wait after `attempt` consecutive failures; `u` in [0, 1) picks the jitter."""
        exponent = min(max(attempt, 1) - 1, 64)
        ceiling = min(self.cap_seconds, self.initial_seconds * self.multiplier**exponent)
        return max(floor, ceiling * (1.0 - self.jitter * min(max(u, 0.0), 1.0)))

    def exhausted(self, attempts: int, elapsed_seconds: float) -> bool:
        """True once `attempts` failures reach the attempt cap or `elapsed_seconds` the time cap."""
        if self.max_attempts and attempts >= self.max_attempts:
            return True
        return bool(self.max_elapsed_seconds and elapsed_seconds >= self.max_elapsed_seconds)
