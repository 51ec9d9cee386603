"""The feed's request/reply (`feed.subscribe`, `feed.unsubscribe`, `feed.snapshot`) for held contracts.

Failures are reported as False / empty, never raised: the guardian retries subscriptions on its
next check, and a contract without ticks is caught by the stale-price rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, BusError
from sarathi.common.clock import Clock
from sarathi.common.domain.instruments import ContractKey, SecurityId
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope
from sarathi.common.messages.market import (
    InstrumentRef,
    SubscribeReply,
    SubscribeRequest,
    Tick,
    TickSnapshot,
    TickSnapshotRequest,
    UnsubscribeRequest,
)

log = get_logger(__name__)


def _refs(contracts: Iterable[ContractKey]) -> tuple[InstrumentRef, ...]:
    return tuple(InstrumentRef(segment=c.segment, security_id=SecurityId(c.security_id)) for c in contracts)


class FeedLink:
    def __init__(
        self, bus: Bus, clock: Clock, *, requester: str = "risk", timeout_seconds: float = 2.0
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._requester = requester
        self._timeout = timeout_seconds

    def _envelope(self) -> dict[str, object]:
        return envelope(correlation_id=f"{self._requester}-feed", event_time=self._clock.now())

    async def subscribe(self, contract: ContractKey) -> bool:
        request = SubscribeRequest(
            **self._envelope(), requester=self._requester, instruments=_refs([contract])
        )
        try:
            reply = await self._bus.request(subjects.FEED_SUBSCRIBE, request, self._timeout)
        except BusError as exc:
            log.warning("feed_subscribe_failed", security_id=contract.security_id, error=repr(exc))
            return False
        if not isinstance(reply, SubscribeReply) or reply.refused:
            log.warning(
                "feed_subscribe_refused", security_id=contract.security_id, reply=reply.model_dump_json()
            )
            return False
        return True

    async def unsubscribe(self, contract: ContractKey) -> bool:
        request = UnsubscribeRequest(
            **self._envelope(), requester=self._requester, instruments=_refs([contract])
        )
        try:
            await self._bus.request(subjects.FEED_UNSUBSCRIBE, request, self._timeout)
        except BusError as exc:
            log.warning("feed_unsubscribe_failed", security_id=contract.security_id, error=repr(exc))
            return False
        return True

    async def snapshot(self, contracts: Iterable[ContractKey]) -> list[Tick]:
        refs = _refs(contracts)
        if not refs:
            return []
        request = TickSnapshotRequest(**self._envelope(), requester=self._requester, instruments=refs)
        try:
            reply = await self._bus.request(subjects.FEED_SNAPSHOT, request, self._timeout)
        except BusError as exc:
            log.warning("feed_snapshot_failed", error=repr(exc))
            return []
        return list(reply.ticks) if isinstance(reply, TickSnapshot) else []
