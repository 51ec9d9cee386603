"""Replay through the real composition (build_runtime) on a manual wall clock: every recorded frame
leaves verbatim, at its own market instant, to the sockets that subscribed to it; the run is
deterministic; a later start skips ahead and setting the clock back rewinds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.broker.port import AlertListener, BrokerActivity
from sarathi.sim.runtime import SimParts, SimRuntime, build_runtime
from sarathi.sim.settings import MarketSource, SimSettings
from sarathi.sim.testing import recordings as rec
from sarathi.sim.universe_builder import UniverseParams, build_universe
from sarathi.sim.wiring import real_market
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.outbox import Outbox

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)
TIMEOUT = 5.0


def at(seconds: float) -> datetime:
    return OPEN + timedelta(seconds=seconds)


class ManualWall:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


class StepLog:
    """A broker that only records the instants it is stepped at."""

    def __init__(self) -> None:
        self.steps: list[datetime] = []
        self._stepped = asyncio.Event()

    def step(self, now: datetime) -> None:
        self.steps.append(now)
        self._stepped.set()

    def add_alert_listener(self, listener: AlertListener) -> None:
        del listener

    def snapshot(self) -> dict[str, object]:
        return {}

    def activity(self) -> BrokerActivity:
        return BrokerActivity(0, 0)

    async def until(self, instant: datetime) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not self.steps or self.steps[-1] < instant:
                self._stepped.clear()
                await self._stepped.wait()


class StampingOutbox(Outbox):
    """Remembers the feed's market instant at which each message was queued."""

    def __init__(self, hub: FeedHub) -> None:
        super().__init__(1000)
        self._hub = hub
        self.sent: list[tuple[datetime | None, bytes]] = []

    def put(self, item: bytes | str) -> bool:
        assert isinstance(item, bytes)
        self.sent.append((self._hub.instant, item))
        return super().put(item)


UNIVERSE = build_universe(OPEN.date(), MarketCalendar(), UniverseParams(strikes_each_side=2))
CALL, OTHER = UNIVERSE.options(Underlying.NIFTY)[:2]
NIFTY = UNIVERSE.index(Underlying.NIFTY)

FRAMES: list[rec.Frame] = [
    (at(0), rec.prev_close(CALL, "97.10", 1300)),
    (at(0.4), rec.full(CALL, "101", "100.95", "101.05", at(0))),
    (at(1.25), rec.ticker(NIFTY, "24010.55", at(1))),
    (at(2), rec.quote(CALL, "101.5", at(2)) + rec.open_interest(CALL, 1950)),  # two packets, one message
    (at(2.5), rec.full(OTHER, "55", "54.95", "55.05", at(2))),  # nobody subscribed to it
    (at(3), rec.market_status()),  # to every socket
    (at(4.7), rec.full(CALL, "102.5", "102.45", "102.55", at(4))),
]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return rec.write_recording(tmp_path / "feed-20260915.rec", FRAMES)


def a_replay(recording: Path, **overrides: object) -> tuple[SimRuntime, ManualWall, StepLog]:
    wall, broker = ManualWall(), StepLog()
    values: dict[str, object] = {
        "sim_publish_clock": False,
        "sim_replay_file": recording,
        "sim_strikes_around_atm": 2,
    }
    values.update(overrides)
    settings = SimSettings(**values)  # type: ignore[arg-type]
    parts = SimParts(market=real_market, broker=lambda *_: broker, wall=wall)
    return build_runtime(settings, parts), wall, broker


def subscribe(runtime: SimRuntime) -> StampingOutbox:
    outbox = StampingOutbox(runtime.feed)
    connection = runtime.feed.register("1000000001", outbox)
    for code, segment, instrument in ((21, "NSE_FNO", CALL), (15, "IDX_I", NIFTY)):
        item = f'{{"ExchangeSegment":"{segment}","SecurityId":"{instrument.security_id}"}}'
        runtime.feed.handle_request(
            connection, f'{{"RequestCode":{code},"InstrumentCount":1,"InstrumentList":[{item}]}}'
        )
    return outbox


async def play(runtime: SimRuntime, wall: ManualWall, broker: StepLog, until: datetime) -> None:
    wall.advance((until - runtime.controller.now()).total_seconds())
    runtime.engine.start()
    try:
        await broker.until(until)
    finally:
        await runtime.engine.stop()


async def test_each_frame_leaves_verbatim_at_its_market_instant_to_its_subscribers(recording: Path) -> None:
    runtime, wall, broker = a_replay(recording)
    assert runtime.settings.market_source is MarketSource.REPLAY
    assert runtime.controller.now() == OPEN  # the clock starts at the first frame
    outbox = subscribe(runtime)
    assert outbox.sent == []  # a replaying hub synthesises nothing on subscribe

    await play(runtime, wall, broker, at(6))

    expected = [(instant, frame) for instant, frame in FRAMES if instant != at(2.5)]
    assert outbox.sent == expected
    assert broker.steps == [at(s) for s in (0, 0.4, 1, 1.25, 2, 2.5, 3, 4, 4.7, 5, 6)]
    quote = runtime.market.quote(CALL, at(6))
    assert (quote.ltp, quote.bid, quote.ask, quote.oi) == (
        Decimal("102.5"),
        Decimal("102.45"),
        Decimal("102.55"),
        0,
    )


async def test_the_same_recording_and_clock_give_the_same_output(recording: Path) -> None:
    runs = []
    for _ in range(2):
        runtime, wall, broker = a_replay(recording)
        outbox = subscribe(runtime)
        await play(runtime, wall, broker, at(6))
        runs.append((outbox.sent, broker.steps))
    assert runs[0] == runs[1]


async def test_a_later_start_applies_earlier_frames_silently_and_a_clock_set_back_rewinds(
    recording: Path,
) -> None:
    runtime, wall, broker = a_replay(recording, sim_start=at(2.2))
    outbox = subscribe(runtime)
    await play(runtime, wall, broker, at(3.2))
    assert outbox.sent == [(at(3), FRAMES[5][1])]
    assert broker.steps == [at(2.2), at(2.5), at(3), at(3.2)]  # the grid starts at the start
    quote = runtime.market.quote(CALL, at(3.2))
    assert (quote.ltp, quote.oi) == (Decimal("101.5"), 1950)  # the frames before it reached the market

    runtime.controller.set(OPEN, Decimal(1))
    outbox.sent.clear()
    broker.steps.clear()
    await play(runtime, wall, broker, at(2))
    assert outbox.sent == FRAMES[:4]
    assert runtime.market.quote(CALL, at(2)).ltp == Decimal("101.5")
