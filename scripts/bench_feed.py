"""Helpers of `scripts/bench.py` for the feed: a local WebSocket server process, clients, memory.

`python scripts/bench_feed.py serve COUNT` serves COUNT single-packet frames (the bench mix) to
the first client and prints its port; the measured clients run in the calling process, so the
server's work never counts against them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).parent


# --- the server process ---------------------------------------------------------------------


def _serve(count: int) -> None:
    import logging

    logging.getLogger("picows").setLevel(logging.ERROR)  # it reports every write-buffer pause
    from picows import WSListener, WSMsgType, WSTransport, ws_create_server

    frames = importlib.import_module("bench")._packets(count)

    class Sender(WSListener):
        def on_ws_connected(self, transport: WSTransport) -> None:
            for frame in frames:
                transport.send(WSMsgType.BINARY, frame)
            transport.send_close()
            transport.disconnect()

    async def main() -> None:
        server = await ws_create_server(lambda _: Sender(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await asyncio.sleep(600)

    asyncio.run(main())


@contextmanager
def _server(count: int) -> Any:
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(HERE / "bench_feed.py"), "serve", str(count)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield f"ws://127.0.0.1:{int(process.stdout.readline())}/"
    finally:
        process.kill()
        process.wait()


def _timed(run: Callable[[str], Coroutine[Any, Any, int]], count: int) -> float:
    """Items per second of `run(url)` against a fresh server (best of two)."""
    best = 0.0
    for _ in range(2):
        with _server(count) as url:
            start = time.perf_counter()
            done = asyncio.run(run(url))
            best = max(best, done / (time.perf_counter() - start))
    return best


# --- WebSocket clients ----------------------------------------------------------------------


async def _picows_frames(url: str) -> int:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    class Counter(WSListener):
        frames = 0

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type == WSMsgType.BINARY:
                frame.get_payload_as_bytes()
                self.frames += 1
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.disconnect()

    transport, listener = await ws_connect(Counter, url)
    await transport.wait_disconnected()
    return cast(Counter, listener).frames


async def _aiohttp_frames(url: str) -> int:
    import aiohttp

    frames = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                frames += 1
    return frames


def ws_client_rates(packets: list[bytes]) -> tuple[float, float]:
    return _timed(_picows_frames, len(packets)), _timed(_aiohttp_frames, len(packets))


# --- ingest: socket → decode → NATS ---------------------------------------------------------


async def _ours(url: str, nats_url: str) -> int:
    from sarathi.common.clock import LiveClock
    from sarathi.common.metrics import ServiceMetrics
    from sarathi.feed.adapters.nats_sink import NatsTickSink
    from sarathi.feed.adapters.ws import Batch, open_socket
    from sarathi.feed.domain.staleness import StalenessWatchdog
    from sarathi.feed.metrics import FeedMetrics
    from sarathi.feed.pipeline import FrameProcessor

    sink = await NatsTickSink.connect(nats_url)
    published = 0

    class CountingSink:
        async def publish(self, subject: str, payload: bytes) -> None:
            nonlocal published
            await sink.publish(subject, payload)
            published += 1

    clock = LiveClock()
    processor = FrameProcessor(
        CountingSink(), clock, FeedMetrics(ServiceMetrics("feed")), StalenessWatchdog(10, 5)
    )
    queue: asyncio.Queue[Batch | None] = asyncio.Queue()
    socket = await open_socket(url, queue, clock.now, timeout_seconds=5)
    while (item := await queue.get()) is not None:
        socket.maybe_resume()
        await processor.process(0, *item)
    await sink.close()  # flushed: every tick reached the NATS server
    return published


async def _naive(url: str, nats_url: str) -> int:
    from decimal import Decimal

    import aiohttp
    import nats

    from sarathi.common.clock import IST
    from sarathi.common.dhan.feed_codec import FeedDecoder, Full, Quote, Ticker
    from sarathi.common.domain.instruments import ExchangeSegment
    from sarathi.common.messages.base import new_message_id
    from sarathi.common.messages.market import Tick

    nc = await nats.connect(nats_url)
    decoder = FeedDecoder()
    published = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            for packet in decoder.decode(msg.data):
                if not isinstance(packet, Ticker | Quote | Full):
                    continue
                now = datetime.now(IST)
                segment = ExchangeSegment.from_code(packet.segment)
                mid = new_message_id()
                tick = Tick(
                    message_id=mid, correlation_id=mid, event_time=now, segment=segment,
                    security_id=str(packet.security_id), ltp=Decimal(packet.ltp_paise).scaleb(-2),
                    exchange_time=datetime.fromtimestamp(packet.ltt_epoch, IST), received_at=now,
                )  # fmt: skip
                await nc.publish(f"md.tick.{segment.wire}.{packet.security_id}", tick.encode())
                published += 1
    await nc.flush()
    await nc.close()
    return published


def ingest_rates(packets: list[bytes]) -> tuple[float, float]:
    from sarathi.common import devservers

    server = devservers.start_nats()
    try:
        ours = _timed(lambda url: _ours(url, server.url), len(packets))
        naive = _timed(lambda url: _naive(url, server.url), len(packets))
    finally:
        server.stop()
    return ours, naive


# --- memory ---------------------------------------------------------------------------------


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _memory(count: int) -> None:
    from sarathi.common.clock import IST, FakeClock
    from sarathi.common.dhan.feed_codec import DepthLevel, Full, encode
    from sarathi.common.dhan.feed_requests import FeedInstrument, FeedMode
    from sarathi.common.domain.instruments import ExchangeSegment
    from sarathi.common.metrics import ServiceMetrics
    from sarathi.feed.domain.staleness import StalenessWatchdog
    from sarathi.feed.domain.subscriptions import SubscriptionBook
    from sarathi.feed.metrics import FeedMetrics
    from sarathi.feed.pipeline import FrameProcessor

    class NullSink:
        async def publish(self, subject: str, payload: bytes) -> None:
            return None

    clock = FakeClock(datetime(2026, 9, 15, 10, 0, tzinfo=IST))
    watchdog = StalenessWatchdog(10, 5)
    processor = FrameProcessor(NullSink(), clock, FeedMetrics(ServiceMetrics("feed")), watchdog)
    book = SubscriptionBook(lambda _: FeedMode.FULL)
    before = _rss_bytes()
    instruments = [FeedInstrument(ExchangeSegment.NSE_FNO, str(40_000 + n)) for n in range(count)]
    for change in book.add("execution", instruments).changes:
        for instrument in change.instruments:
            watchdog.track(instrument, change.connection, 0.0)
    epoch = int(clock.now().timestamp())
    depth = tuple(DepthLevel(1300, 975, 5, 4, 10000 - 5 * i, 10000 + 5 * i) for i in range(1, 6))
    frames = [
        encode(Full(2, 40_000 + n, 10000, 65, epoch, 10000, 10**6, 5000, 6000, 4_000_000, 4_100_000,
                    3_900_000, 10000, 0, 10050, 9950, depth))
        for n in range(count)
    ]  # fmt: skip
    asyncio.run(processor.process(0, frames, clock.now()))
    del frames
    assert len(processor.cache) == count
    sys.stdout.write(json.dumps([before, _rss_bytes()]) + "\n")


def memory_with_subscriptions(count: int) -> tuple[int, int]:
    out = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(HERE / "bench_feed.py"), "memory", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = json.loads(out.stdout)
    return int(before), int(after)


if __name__ == "__main__":
    command, argument = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, str(HERE))
    if command == "serve":
        _serve(argument)
    elif command == "memory":
        _memory(argument)
