"""The hot path on a fake clock and an in-memory sink; the token never reaches a log line."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

from sarathi.common.backoff import Backoff
from sarathi.common.clock import IST, FakeClock
from sarathi.common.dhan import feed_codec as codec
from sarathi.common.dhan.recording import read_frames
from sarathi.common.logging import configure_logging
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.market import Tick
from sarathi.common.metrics import ServiceMetrics
from sarathi.feed.adapters.recorder import DailyRecorder
from sarathi.feed.connection import ConnectionConfig, FeedConnection
from sarathi.feed.domain.staleness import StalenessWatchdog
from sarathi.feed.metrics import FeedMetrics
from sarathi.feed.pipeline import FrameProcessor

TEN_AM = datetime(2026, 9, 15, 10, 0, 5, tzinfo=IST)


class ListSink:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, payload: bytes) -> None:
        self.published.append((subject, payload))


def a_processor(tmp_path: Path | None = None) -> tuple[FrameProcessor, ListSink, FeedMetrics]:
    sink, metrics = ListSink(), FeedMetrics(ServiceMetrics("feed"))
    recorder = DailyRecorder(tmp_path, metrics) if tmp_path is not None else None
    clock = FakeClock(TEN_AM)
    return FrameProcessor(sink, clock, metrics, StalenessWatchdog(10, 5), recorder), sink, metrics


def _count(metrics: FeedMetrics, name: str, **labels: str) -> float:
    return float(metrics.registry.get_sample_value(name, labels or None) or 0)


async def test_every_packet_of_a_multi_packet_frame_becomes_one_tick_on_its_subject(tmp_path: Path) -> None:
    processor, sink, metrics = a_processor(tmp_path)
    epoch = int(TEN_AM.timestamp())
    frame = (
        codec.encode(codec.Ticker(0, 13, 2481235, epoch))
        + codec.encode(codec.OpenInterest(2, 47317, 3060785))
        + codec.encode(
            codec.Quote(2, 47317, 350, 65, epoch, 424, 69015245, 1820000, 1500000, 700, 0, 740, 305)
        )
        + codec.encode(codec.Disconnect(0, 0, 807))
    )
    reasons = await processor.process(0, [frame], TEN_AM)
    assert reasons == [807]
    subjects = [subject for subject, _ in sink.published]
    assert subjects == ["md.tick.IDX_I.13", "md.tick.NSE_FNO.47317"]
    index, option = (decode_as(payload, Tick) for _, payload in sink.published)
    assert str(index.ltp) == "24812.35"
    assert index.exchange_time == TEN_AM
    assert (str(option.ltp), option.ltq, option.volume, option.oi) == ("3.50", 65, 69015245, 3060785)
    assert _count(metrics, "sarathi_feed_ticks_published_total", segment="NSE_FNO") == 1
    assert _count(metrics, "sarathi_feed_ticks_received_total", segment="IDX_I") == 1
    processor.recorder.flush()  # type: ignore[union-attr]
    (recorded,) = read_frames(tmp_path / "feed-20260915.rec")
    assert recorded.frame == frame
    assert recorded.received_ns == int(TEN_AM.timestamp()) * 10**9


async def test_garbage_and_off_tick_prices_are_counted_not_published() -> None:
    processor, sink, metrics = a_processor()
    off_tick = codec.encode(codec.Ticker(2, 47317, 351, int(TEN_AM.timestamp())))
    await processor.process(0, [b"\x63\x08\x00\x00\x00\x00\x00\x00", b"\x02\x10", off_tick], TEN_AM)
    assert sink.published == []
    assert _count(metrics, "sarathi_feed_decode_errors_total", kind="unknown") == 1
    assert _count(metrics, "sarathi_feed_decode_errors_total", kind="truncated") == 1
    assert _count(metrics, "sarathi_feed_decode_errors_total", kind="off_tick") == 1


async def test_the_access_token_in_the_feed_url_never_reaches_the_log() -> None:
    stream = io.StringIO()
    configure_logging("feed", stream=stream)
    processor, _, metrics = a_processor()
    url = "ws://127.0.0.1:9/feed?version=2&token=SECRET-TOKEN-123&clientId=1&authType=2"
    config = ConnectionConfig(url, Backoff(max_attempts=1), cool_off_seconds=0, handshake_timeout_seconds=1)
    stopped = []
    connection = FeedConnection(
        0, config, clock=FakeClock(TEN_AM), processor=processor, metrics=metrics,
        subscriptions=lambda _: (), on_stopped=lambda n, v: stopped.append(v),
    )  # fmt: skip
    await connection.run()  # the port refuses; one attempt allowed; gives up
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert stopped
    assert "gave up after 1 attempts" in stopped[0].message
    assert any("token=***" in line.get("url", "") for line in lines)
    assert "SECRET-TOKEN-123" not in stream.getvalue()
    assert "SECRET-TOKEN-123" not in connection.redacted_url
