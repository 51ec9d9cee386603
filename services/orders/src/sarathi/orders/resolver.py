"""Resolving an unknown outcome: look the order up by correlation id until its fate is known.

`resolve(command_id)` answers the order (found) or None — only when the broker has shown no order
under that id for `settle_seconds` and at least `settle_checks` looks in a row (an order still in
TRANSIT is invisible by correlation id, but the order book and super-order list show it). Broker
errors while looking are retried with backoff. When the budget runs out undecided,
`ResolutionPendingError`: the caller must not resubmit; the command comes back later.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from sarathi.common.backoff import Backoff
from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanError
from sarathi.common.logging import get_logger
from sarathi.orders.ports import Broker, Placed

log = get_logger(__name__)


class ResolutionPendingError(RuntimeError):
    """The order's fate could not be established in time; try again later, never resubmit now."""


class Resolver:
    def __init__(
        self,
        broker: Broker,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
        budget_seconds: float = 60.0,
        settle_seconds: float = 3.0,
        settle_checks: int = 2,
        backoff: Backoff | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._broker = broker
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._budget = budget_seconds
        self._settle = settle_seconds
        self._settle_checks = settle_checks
        self._backoff = backoff or Backoff(initial_seconds=0.25, cap_seconds=2.0)
        self._jitter = jitter

    async def resolve(self, command_id: str) -> Placed | None:
        start = self._monotonic()
        first_absent: float | None = None
        absences = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                located = await self._broker.locate(command_id)
            except DhanError as exc:
                log.warning("resolve_lookup_failed", command_id=command_id, error=str(exc))
                absences, first_absent = 0, None  # an error proves nothing either way
            else:
                if located is not None:
                    log.info("resolved_found", command_id=command_id, broker_order_id=located.broker_order_id)
                    return located
                now = self._monotonic()
                first_absent = now if first_absent is None else first_absent
                absences += 1
                if absences >= self._settle_checks and now - first_absent >= self._settle:
                    log.warning("resolved_absent", command_id=command_id, looks=absences)
                    return None
            if self._monotonic() - start >= self._budget:
                raise ResolutionPendingError(f"fate of {command_id} unknown after {self._budget:.0f}s")
            await self._sleep(self._backoff.delay(attempt, self._jitter()))
