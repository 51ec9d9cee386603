"""The hot path: a batch of raw frames → recorded, decoded, ticks published, cache and watchdog fed.

One call per socket read (`FrameProcessor.process`). No pydantic, no JetStream, no flush: each
tick is one core-NATS publish of hand-built JSON (nats-py buffers and its flusher writes). Clock
reads, metric updates and the lag observation happen once per batch, not per tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sarathi.common.clock import Clock
from sarathi.common.dhan.feed_codec import FeedCode
from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.feed.domain.batch_decode import BatchDecoder, Columns
from sarathi.feed.domain.staleness import StalenessWatchdog
from sarathi.feed.domain.ticks import TickEncoder, iso
from sarathi.feed.metrics import FeedMetrics


class TickSink(Protocol):
    """Where tick payloads go (core NATS in the service, a list in unit tests)."""

    async def publish(self, subject: str, payload: bytes) -> None: ...


class FrameRecorder(Protocol):
    def write(self, received: datetime, frames: list[bytes]) -> None: ...


@dataclass
class FrameProcessor:
    sink: TickSink
    clock: Clock
    metrics: FeedMetrics
    watchdog: StalenessWatchdog
    recorder: FrameRecorder | None = None
    decoder: BatchDecoder = field(default_factory=BatchDecoder)
    encoder: TickEncoder = field(default_factory=TickEncoder)
    cache: dict[FeedInstrument, bytes] = field(default_factory=dict)  # the last tick's JSON
    open_interest: dict[FeedInstrument, int] = field(default_factory=dict)
    _errors: dict[str, int] = field(default_factory=dict)
    frames_done: int = 0  # socket frames handled, ticks published (the held day's clock protocol)
    on_frames: Callable[[], None] = field(default=lambda: None)  # after each batch (ditto)

    async def process(self, connection: int, frames: list[bytes], received: datetime) -> list[int]:
        """Handle one batch; returns the reasons of any disconnect packets in it."""
        if self.recorder is not None:
            self.recorder.write(received, frames)
        try:
            return await self._process(connection, frames, received)
        finally:
            self._count_errors()
            self.frames_done += len(frames)
            self.on_frames()

    async def _process(self, connection: int, frames: list[bytes], received: datetime) -> list[int]:
        batch = self.decoder.decode(frames)
        received_s = received.timestamp()
        self.watchdog.connection_data[connection] = received_s
        if not batch.packets:
            return []
        oi = batch.get(FeedCode.OI)
        if oi is not None:
            self._remember_oi(oi)
        prev_close = batch.get(FeedCode.PREV_CLOSE)
        if prev_close is not None:
            self._answered(prev_close)
        now = self.clock.now()
        stamp = (iso(now), iso(received), received_s)
        received_n: Counter[str] = Counter()
        published: Counter[str] = Counter()
        newest = 0
        for code in (FeedCode.TICKER, FeedCode.QUOTE, FeedCode.FULL):
            columns = batch.get(code)
            if columns is not None:
                newest = max(newest, int(columns["ltt"].max()))
                await self._publish(code, columns, stamp, received_n, published)
        for segment, count in received_n.items():
            self.metrics.ticks_received.labels(segment).inc(count)
        for segment, count in published.items():
            self.metrics.ticks_published.labels(segment).inc(count)
        if newest:
            self.metrics.lag.observe(max(0.0, now.timestamp() - newest))
        disconnects = batch.get(FeedCode.DISCONNECT)
        return disconnects["reason"].tolist() if disconnects is not None else []

    def _remember_oi(self, columns: Columns) -> None:
        route, answered = self.encoder.route, self.watchdog.answered
        for segment, security_id, value in zip(
            columns["segment"].tolist(), columns["security_id"].tolist(), columns["oi"].tolist(), strict=True
        ):
            found = route(segment, security_id)
            if found is not None:
                self.open_interest[found.instrument] = value
                answered.add(found.instrument)

    def _answered(self, columns: Columns) -> None:
        """Prev-close packets (one per instrument on subscribe): Dhan knows these instruments."""
        route, answered = self.encoder.route, self.watchdog.answered
        ids = zip(columns["segment"].tolist(), columns["security_id"].tolist(), strict=True)
        for segment, security_id in ids:
            found = route(segment, security_id)
            if found is not None:
                answered.add(found.instrument)

    async def _publish(
        self,
        code: int,
        columns: Columns,
        stamp: tuple[str, str, float],
        received_n: Counter[str],
        published: Counter[str],
    ) -> None:
        event_time, received_at, received_s = stamp
        encode, route_of, publish = self.encoder.encode, self.encoder.route, self.sink.publish
        cache, seen, oi_of = self.cache, self.watchdog.seen, self.open_interest
        n = columns.count
        ltq = columns["ltq"].tolist() if code != FeedCode.TICKER else [None] * n
        volume = columns["volume"].tolist() if code != FeedCode.TICKER else [None] * n
        full = code == FeedCode.FULL
        oi = columns["oi"].tolist() if full else [None] * n
        bid = columns["bid0"].tolist() if full else [None] * n
        bid_qty = columns["bid_qty0"].tolist() if full else [None] * n
        ask = columns["ask0"].tolist() if full else [None] * n
        ask_qty = columns["ask_qty0"].tolist() if full else [None] * n
        rows = zip(
            columns["segment"].tolist(), columns["security_id"].tolist(), columns["ltp"].tolist(),
            columns["ltt"].tolist(), ltq, volume, oi, bid, bid_qty, ask, ask_qty, strict=True,
        )  # fmt: skip
        for segment, security_id, ltp, ltt, q, vol, full_oi, b, bq, a, aq in rows:
            route = route_of(segment, security_id)
            if route is None:
                self._errors["unknown_segment"] = self._errors.get("unknown_segment", 0) + 1
                continue
            instrument = route.instrument
            received_n[route.segment] += 1
            o = oi_of.get(instrument) if code == FeedCode.QUOTE else full_oi
            payload = encode(
                route, event_time=event_time, received_at=received_at, ltp=ltp, exchange_epoch=ltt,
                ltq=q, volume=vol, oi=o, bid=b, bid_qty=bq, ask=a, ask_qty=aq,
            )  # fmt: skip
            if payload is None:
                self._errors["off_tick"] = self._errors.get("off_tick", 0) + 1
                continue
            try:
                await publish(route.subject, payload)
            except Exception:  # NATS buffer full or closed: count, keep the feed running
                self.metrics.publish_errors.inc()
                continue
            cache[instrument] = payload
            seen[instrument] = received_s
            published[route.segment] += 1

    def _count_errors(self) -> None:
        d = self.decoder
        totals = {
            "unknown": d.unknown_packets,
            "truncated": d.truncated_packets,
            "invalid_price": d.invalid_packets,
            "unknown_segment": self._errors.get("unknown_segment", 0),
            "off_tick": self._errors.get("off_tick", 0),
        }
        for kind, total in totals.items():
            last = self._errors.get(f"reported:{kind}", 0)
            if total > last:
                self.metrics.decode_errors.labels(kind).inc(total - last)
                self._errors[f"reported:{kind}"] = total
