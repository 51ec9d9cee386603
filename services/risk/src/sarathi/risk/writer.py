"""Write-behind persistence of trackers: the tick path marks, a task writes, checks flush.

A tick that raises a high-water mark must not wait for PostgreSQL (the exit latency budget is a
few milliseconds), so it only marks the tracker dirty; the writer task saves the latest state of
every dirty tracker, coalescing bursts. The 5-second check and every position event `flush()`
before they return, so what a durable consumer acks is on disk. A crash can lose at most the last
few milliseconds of high-water-mark moves; exits are safe regardless (deterministic command ids).
"""

from __future__ import annotations

import asyncio

from sarathi.common.clock import Clock
from sarathi.common.logging import get_logger
from sarathi.risk.adapters.store import RiskStore
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.metrics import RiskMetrics

log = get_logger(__name__)
RETRY_SECONDS = 1.0


class TrackerWriter:
    def __init__(self, store: RiskStore, clock: Clock, metrics: RiskMetrics) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._dirty: dict[str, TrackedPosition] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def mark(self, position: TrackedPosition) -> None:
        self._dirty[position.entry_order_id] = position
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._dirty)

    async def flush(self) -> None:
        """Save every dirty tracker now; raises if the store fails (they stay dirty)."""
        async with self._lock:
            if not self._dirty:
                return
            batch = dict(self._dirty)
            try:
                await self._store.save(list(batch.values()))
            except Exception:
                self._metrics.store_errors.inc()
                raise
            for key, position in batch.items():
                if self._dirty.get(key) is position:  # not changed again while saving
                    del self._dirty[key]

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # the store is down: keep the state, retry on market time
                log.error("tracker_write_failed", error=repr(exc), pending=self.pending)
                await self._clock.sleep(RETRY_SECONDS)
                self._wake.set()
