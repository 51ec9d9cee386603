"""Request handlers: `feed.subscribe`, `feed.unsubscribe`, `feed.snapshot` (decode → book → reply)."""

from __future__ import annotations

from sarathi.common.clock import Clock
from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import Message, decode_as, envelope
from sarathi.common.messages.market import (
    InstrumentRef,
    RefusedInstrument,
    SubscribeReply,
    SubscribeRequest,
    Tick,
    TickSnapshot,
    TickSnapshotRequest,
    UnsubscribeReply,
    UnsubscribeRequest,
)
from sarathi.feed.manager import FeedManager

log = get_logger(__name__)


def _instrument(ref: InstrumentRef) -> FeedInstrument:
    return FeedInstrument(ref.segment, ref.security_id)


def _ref(instrument: FeedInstrument) -> InstrumentRef:
    return InstrumentRef(segment=instrument.segment, security_id=instrument.security_id)


class FeedHandlers:
    def __init__(self, manager: FeedManager, clock: Clock) -> None:
        self._manager = manager
        self._clock = clock

    def _reply_envelope(self, request: Message) -> dict[str, object]:
        return envelope(
            correlation_id=request.correlation_id,
            causation_id=request.message_id,
            event_time=self._clock.now(),
        )

    async def subscribe(self, message: SubscribeRequest) -> Message:
        outcome = self._manager.subscribe(message.requester, map(_instrument, message.instruments))
        log.info(
            "subscribe", requester=message.requester, correlation_id=message.correlation_id,
            accepted=len(outcome.accepted), refused=len(outcome.refused),
        )  # fmt: skip
        return SubscribeReply(
            **self._reply_envelope(message),
            subscribed=tuple(map(_ref, outcome.accepted)),
            refused=tuple(
                RefusedInstrument(segment=key.segment, security_id=key.security_id, reason=reason)
                for key, reason in outcome.refused
            ),
        )

    async def unsubscribe(self, message: UnsubscribeRequest) -> Message:
        outcome = self._manager.unsubscribe(message.requester, map(_instrument, message.instruments))
        log.info("unsubscribe", requester=message.requester, released=len(outcome.accepted))
        return UnsubscribeReply(
            **self._reply_envelope(message), unsubscribed=tuple(map(_ref, outcome.accepted))
        )

    async def snapshot(self, message: TickSnapshotRequest) -> Message:
        cache = self._manager.processor.cache
        ticks: list[Tick] = []
        missing: list[InstrumentRef] = []
        for ref in message.instruments:
            payload = cache.get(_instrument(ref))
            if payload is None:
                missing.append(ref)
            else:
                ticks.append(decode_as(payload, Tick))
        return TickSnapshot(**self._reply_envelope(message), ticks=tuple(ticks), missing=tuple(missing))
