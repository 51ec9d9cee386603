"""The outbox publisher: queued events go to JetStream, then are marked published.

Woken after every commit that queued events, and every `poll_seconds` in case a wake-up was lost
(or a previous process crashed with events queued). A crash between publishing and marking
republishes with the same `Nats-Msg-Id`, which JetStream de-duplicates.

`pending()` is how many events are queued and not yet published, read from the outbox itself, so
it is exact whoever queued them (the recorder, placement, an earlier process): a row counts from
its commit until JetStream has acked it and it is marked published.
"""

from __future__ import annotations

import asyncio

from sarathi.common.bus.port import Bus
from sarathi.common.clock import Clock
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import MessageDecodeError, decode
from sarathi.orders.adapters.store import Store
from sarathi.orders.waiting import wait_event

log = get_logger(__name__)


class OutboxPublisher:
    def __init__(self, store: Store, bus: Bus, clock: Clock, *, poll_seconds: float = 1.0) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._flushing = False
        self.published = 0

    @property
    def busy(self) -> bool:
        """Woken and not yet done, or publishing now."""
        return self._wake.is_set() or self._flushing

    def wake(self) -> None:
        self._wake.set()

    async def pending(self) -> int:
        """Events committed to the outbox and not yet published (acked and marked)."""
        return await self._store.unpublished_count()

    async def flush(self) -> int:
        """Publish everything queued now; returns how many events went out."""
        total = 0
        self._flushing = True
        try:
            total = await self._flush()
        finally:
            self._flushing = False
        self.published += total
        return total

    async def _flush(self) -> int:
        total = 0
        while batch := await self._store.unpublished():
            done: list[int] = []
            for row_id, message_id, subject, payload in batch:
                try:
                    message = decode(payload)
                except MessageDecodeError:  # never happens for rows we wrote; do not block the rest
                    log.exception("outbox_row_undecodable", message_id=message_id)
                    done.append(row_id)
                    continue
                await self._bus.publish_durable(subject, message)
                done.append(row_id)
            await self._store.mark_published(done, self._clock.now())
            total += len(done)
        return total

    async def run(self) -> None:
        """Publish until cancelled; a failed round is logged and retried on the next wake-up."""
        while True:
            await wait_event(self._wake, self._poll)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # NATS or the database down: the rows stay queued
                log.exception("outbox_publish_failed")
