"""Capped exponential backoff with full jitter, and a retry budget (attempts and time)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_seconds: float = 0.25
    factor: float = 2.0
    cap_seconds: float = 5.0
    max_attempts: int = 8
    max_total_seconds: float = 60.0

    def delay(self, attempt: int, jitter: float) -> float:
        """Delay before retry number `attempt` (1-based); `jitter` in [0, 1) picks within the ceiling.

        Full jitter between half the ceiling and the ceiling: never zero, never above the cap.
        """
        ceiling = min(self.cap_seconds, self.initial_seconds * self.factor ** max(attempt - 1, 0))
        return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))

    def exhausted(self, attempt: int, elapsed_seconds: float) -> bool:
        """Whether retry number `attempt` would exceed the attempt or the time budget."""
        return attempt > self.max_attempts or elapsed_seconds >= self.max_total_seconds
