"""Latest ticks from the feed's cache (`feed.snapshot`, core request/reply), for staleness and profit.

A feed that does not answer is not an error here: the caller gets no ticks, and the staleness
gate refuses the entry ("no tick of the underlying").
"""

from __future__ import annotations

from collections.abc import Iterable

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, BusError
from sarathi.common.clock import Clock
from sarathi.common.domain.instruments import ContractKey, SecurityId
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import new_message_id
from sarathi.common.messages.market import InstrumentRef, Tick, TickSnapshot, TickSnapshotRequest

log = get_logger(__name__)


class FeedPrices:
    def __init__(self, bus: Bus, clock: Clock, *, timeout_seconds: float) -> None:
        self._bus = bus
        self._clock = clock
        self._timeout = timeout_seconds

    async def latest(self, instruments: Iterable[ContractKey]) -> dict[ContractKey, Tick]:
        wanted = tuple(dict.fromkeys(instruments))
        if not wanted:
            return {}
        request = TickSnapshotRequest(
            message_id=new_message_id(), correlation_id="execution", event_time=self._clock.now(),
            requester="execution",
            instruments=tuple(
                InstrumentRef(segment=c.segment, security_id=SecurityId(c.security_id)) for c in wanted
            ),
        )  # fmt: skip
        try:
            reply = await self._bus.request(subjects.FEED_SNAPSHOT, request, self._timeout)
        except BusError as exc:
            log.warning("feed_snapshot_failed", error=str(exc))
            return {}
        if not isinstance(reply, TickSnapshot):
            log.warning("feed_snapshot_unexpected", type=reply.type)
            return {}
        return {ContractKey(tick.segment, tick.security_id): tick for tick in reply.ticks}
