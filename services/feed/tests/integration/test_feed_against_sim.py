"""The feed service against the real sim (toy market) and a real NATS server."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.clock import IST
from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.dhan.recording import read_frames
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.base import envelope
from sarathi.common.messages.market import (
    InstrumentRef,
    SubscribeReply,
    SubscribeRequest,
    Tick,
    TickSnapshot,
    TickSnapshotRequest,
)
from sarathi.sim.testing.harness import SimPool, runtime_of

from .conftest import FAST_SIM, feed_settings, publishing_clock, running_feed, tapping

INDICES = {"13", "25", "51"}


def _envelope() -> dict[str, object]:
    return envelope(correlation_id="test", event_time=datetime.now(IST))


def fifty_options(sims_runtime: object) -> list[InstrumentRef]:
    universe = sims_runtime.universe  # type: ignore[attr-defined]
    options = [*universe.options(Underlying.NIFTY), *universe.options(Underlying.BANKNIFTY)]
    assert len(options) >= 50
    return [InstrumentRef(segment=o.segment, security_id=o.security_id) for o in options[:50]]


def _counter(service: object, name: str, **labels: str) -> float:
    value = service.metrics.registry.get_sample_value(name, labels or None)  # type: ignore[attr-defined]
    return float(value or 0.0)


async def test_three_indices_and_fifty_options_tick_on_nats_with_the_values_the_sim_sent(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**FAST_SIM, **publishing_clock(jetstream_clean))
    runtime = runtime_of(served)
    options = fifty_options(runtime)
    wanted = INDICES | {o.security_id for o in options}
    async with (
        tapping(jetstream_clean) as tap,
        running_feed(feed_settings(served, jetstream_clean, tmp_path)) as feed,
    ):
        bus = await NatsBus.connect(jetstream_clean, name="test-execution")
        try:
            reply = await bus.request(
                subjects.FEED_SUBSCRIBE,
                SubscribeRequest(**_envelope(), requester="execution", instruments=tuple(options)),
                timeout_seconds=5,
            )
            assert isinstance(reply, SubscribeReply)
            assert len(reply.subscribed) == 50
            assert not reply.refused
            await tap.wait_for(lambda ticks: wanted <= {t.security_id for t in ticks})
            snapshot = await bus.request(
                subjects.FEED_SNAPSHOT,
                TickSnapshotRequest(**_envelope(), requester="risk", instruments=tuple(options[:3])),
                timeout_seconds=5,
            )
        finally:
            await bus.close()
        assert feed.recorder is not None
        assert feed.recorder.path is not None
        recording = feed.recorder.path
    for tick in tap.ticks:
        instrument = runtime.universe.get(tick.security_id)
        quote = runtime.market.quote(instrument, tick.exchange_time.astimezone(IST))
        assert tick.ltp == quote.ltp, tick
        if not instrument.is_index:  # contracts in full mode: book top, volume and OI too
            assert (tick.bid, tick.ask, tick.volume, tick.oi) == (
                quote.bid,
                quote.ask,
                quote.volume,
                quote.oi,
            )
            assert tick.bid_qty == quote.bid_qty
            assert tick.ask_qty == quote.ask_qty
    assert isinstance(snapshot, TickSnapshot)
    assert {t.security_id for t in snapshot.ticks} == {o.security_id for o in options[:3]}
    assert not snapshot.missing
    assert sum(1 for _ in read_frames(recording)) > len(tap.ticks) // 2


async def test_drop_feed_reconnects_and_resubscribes_within_two_seconds_without_duplicate_ticks(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**FAST_SIM, **publishing_clock(jetstream_clean))
    options = fifty_options(runtime_of(served))
    wanted = INDICES | {o.security_id for o in options}
    settings = feed_settings(served, jetstream_clean, tmp_path)
    async with tapping(jetstream_clean) as tap, running_feed(settings) as feed:
        assert feed.manager is not None
        feed.manager.subscribe("execution", [ref_to_instrument(o) for o in options])
        await tap.wait_for(lambda ticks: wanted <= {t.security_id for t in ticks})
        connection = feed.manager.connections[0]
        sessions = connection.sessions
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            mark = len(tap.ticks)
            started = time.monotonic()
            assert (await http.post("/sim/faults", json={"kind": "drop_feed"})).status_code == 200
        await tap.wait_for(
            lambda ticks: (
                connection.sessions > sessions
                and wanted <= {t.security_id for t in _after(ticks, mark, connection)}
            ),
            limit_seconds=10,
        )
        elapsed = time.monotonic() - started
        assert _counter(feed, "sarathi_feed_reconnects_total", connection="0") >= 1
    assert elapsed < 2.0, f"resubscribed after {elapsed:.2f}s"
    ids = [t.message_id for t in tap.ticks]
    assert len(ids) == len(set(ids))
    seen = [(t.security_id, t.exchange_time) for t in tap.ticks]
    assert len(seen) == len(set(seen)), "a tick was published twice"


def _after(ticks: list[Tick], mark: int, connection: object) -> list[Tick]:
    return ticks[mark:] if connection.connected.is_set() else []  # type: ignore[attr-defined]


def ref_to_instrument(ref: InstrumentRef) -> FeedInstrument:
    return FeedInstrument(ref.segment, ref.security_id)
