"""The engine's grid: fixed instants, coarsened at speed, caught up when late, still when paused."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.clock import IST
from sarathi.common.dhan import feed_codec as codec
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.clock import SimClockController
from sarathi.sim.engine import Engine, step_for
from sarathi.sim.market.model import MarketModel
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.testing.fakes import RecordingBroker, ToyMarket
from sarathi.sim.universe_builder import UniverseParams, build_universe
from sarathi.sim.ws.feed_hub import FeedHub, StatusOnSubscribe
from sarathi.sim.ws.outbox import Outbox

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)
TIMEOUT = 5.0


class ManualWall:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


class CountingBroker(RecordingBroker):
    """Records steps and lets a test wait for the n-th."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[int, asyncio.Event]] = []

    def step(self, now: datetime) -> None:
        super().step(now)
        for count, event in self._waiters:
            if len(self.steps) >= count:
                event.set()

    async def wait_for_steps(self, count: int) -> None:
        event = asyncio.Event()
        self._waiters.append((count, event))
        if len(self.steps) >= count:
            event.set()
        await asyncio.wait_for(event.wait(), TIMEOUT)


def an_engine(  # type: ignore[no-untyped-def]
    start: datetime,
    speed: int = 1,
    *,
    paused: bool = False,
    status_on_subscribe: StatusOnSubscribe = StatusOnSubscribe.CLOSED,
):
    wall = ManualWall()
    controller = SimClockController(start, Decimal(speed), wall=wall)
    if paused:
        controller.pause()
    calendar = MarketCalendar()
    universe = build_universe(start.date(), calendar, UniverseParams(strikes_each_side=1))
    metrics = SimMetrics(ServiceMetrics("sim"))
    hub = FeedHub(
        universe, ToyMarket(universe), metrics, now=controller.now, status_on_subscribe=status_on_subscribe
    )
    broker = CountingBroker()
    engine = Engine(
        controller, broker, hub, calendar, metrics, base_step_seconds=1.0, max_steps_per_wall_second=20.0
    )
    return engine, controller, wall, broker, hub


@pytest.mark.parametrize(("speed", "step"), [(1, 1), (20, 1), (21, 2), (50, 3), (200, 10), (2000, 100)])
def test_the_step_is_the_base_step_times_the_smallest_factor_within_the_rate_cap(
    speed: int, step: int
) -> None:
    assert step_for(Decimal(speed), 1.0, 20.0) == timedelta(seconds=step)


async def test_a_late_engine_catches_up_through_every_grid_instant_without_skipping() -> None:
    engine, _, wall, broker, _ = an_engine(OPEN)
    wall.advance(10)
    engine.start()
    try:
        await broker.wait_for_steps(11)
    finally:
        await engine.stop()
    assert broker.steps == [OPEN + timedelta(seconds=k) for k in range(11)]


async def test_nothing_steps_while_paused_and_resume_continues_the_same_grid() -> None:
    engine, controller, wall, broker, _ = an_engine(OPEN, paused=True)
    engine.start()
    try:
        for _ in range(20):
            await asyncio.sleep(0)  # give a wrongly running engine every chance to step
        assert broker.steps == []
        controller.resume()
        wall.advance(2.5)
        await broker.wait_for_steps(3)
    finally:
        await engine.stop()
    assert broker.steps == [OPEN, OPEN + timedelta(seconds=1), OPEN + timedelta(seconds=2)]


async def test_setting_the_clock_starts_a_new_grid_at_the_new_start() -> None:
    engine, controller, wall, broker, _ = an_engine(OPEN)
    engine.start()
    try:
        await broker.wait_for_steps(1)
        later = OPEN + timedelta(hours=1, milliseconds=500)
        controller.set(later, Decimal(50))
        wall.advance(6)
        await broker.wait_for_steps(4)
    finally:
        await engine.stop()
    assert broker.steps[1:4] == [later, later + timedelta(seconds=3), later + timedelta(seconds=6)]


async def test_the_session_opening_broadcasts_a_market_status_packet_before_the_ticks() -> None:
    engine, _, wall, broker, hub = an_engine(OPEN - timedelta(seconds=2))
    outbox = Outbox(1000)
    connection = hub.register("1000000001", outbox)
    hub.handle_request(
        connection,
        '{"RequestCode":15,"InstrumentCount":1,"InstrumentList":[{"ExchangeSegment":"IDX_I","SecurityId":"13"}]}',
    )
    wall.advance(3)
    engine.start()
    try:
        await broker.wait_for_steps(4)
    finally:
        await engine.stop()
    frames = [await outbox.get() for _ in range(len(outbox))]
    kinds = [type(codec.FeedDecoder().decode(f)[0]) for f in frames if isinstance(f, bytes)]
    # before the open the subscribe gets prev-close and a market status; at the open, a market status
    assert kinds == [codec.PrevClose, codec.MarketStatus, codec.MarketStatus, codec.Ticker, codec.Ticker]


async def test_a_run_until_barrier_holds_the_engine_there_and_moving_it_continues_the_same_grid() -> None:
    engine, controller, wall, broker, _ = an_engine(OPEN)
    controller.run_until(OPEN + timedelta(seconds=2))
    engine.start()
    try:
        wall.advance(60)  # a minute of wall time: the market still stands at the barrier
        await broker.wait_for_steps(3)
        for _ in range(20):
            await asyncio.sleep(0)
        assert controller.now() == OPEN + timedelta(seconds=2)
        assert broker.steps == [OPEN + timedelta(seconds=k) for k in range(3)]
        controller.run_until(OPEN + timedelta(seconds=4))
        wall.advance(60)
        await broker.wait_for_steps(5)
        for _ in range(20):
            await asyncio.sleep(0)
    finally:
        await engine.stop()
    assert broker.steps == [OPEN + timedelta(seconds=k) for k in range(5)]  # none twice, none skipped


SUBSCRIBE_NIFTY = (
    '{"RequestCode":15,"InstrumentCount":1,"InstrumentList":[{"ExchangeSegment":"IDX_I","SecurityId":"13"}]}'
)


async def kinds_after_steps(
    start: datetime, steps: int, status_on_subscribe: StatusOnSubscribe = StatusOnSubscribe.CLOSED
) -> list[type]:
    """Subscribe NIFTY at `start`, let the engine step `steps` times; the packet kinds sent."""
    engine, _, wall, broker, hub = an_engine(start, status_on_subscribe=status_on_subscribe)
    outbox = Outbox(1000)
    hub.handle_request(hub.register("1000000001", outbox), SUBSCRIBE_NIFTY)
    wall.advance(steps - 1)
    engine.start()
    try:
        await broker.wait_for_steps(steps)
    finally:
        await engine.stop()
    frames = [await outbox.get() for _ in range(len(outbox))]
    return [type(codec.FeedDecoder().decode(f)[0]) for f in frames if isinstance(f, bytes)]


@pytest.mark.parametrize(
    "start",
    [OPEN.replace(hour=8), OPEN.replace(hour=15, minute=31), datetime(2026, 9, 19, 11, 0, tzinfo=IST)],
    ids=["08:00", "15:31", "saturday"],
)
async def test_outside_the_session_a_subscribe_gets_prev_close_and_market_status_and_then_no_ticks(
    start: datetime,
) -> None:
    assert await kinds_after_steps(start, 5) == [codec.PrevClose, codec.MarketStatus]


async def test_during_the_session_a_subscribe_gets_no_market_status_unless_always() -> None:
    assert await kinds_after_steps(OPEN, 2) == [codec.PrevClose, codec.Ticker, codec.Ticker]
    always = await kinds_after_steps(OPEN, 2, StatusOnSubscribe.ALWAYS)
    assert always == [codec.PrevClose, codec.MarketStatus, codec.Ticker, codec.Ticker]


async def test_before_the_open_the_prev_close_packet_carries_the_last_sessions_close() -> None:
    calendar = MarketCalendar()
    day = date(2026, 9, 16)
    universe = build_universe(day, calendar, UniverseParams(strikes_each_side=1))
    model = MarketModel(universe, calendar, seed=42, anchor_day=day)
    index = universe.index(Underlying.NIFTY)
    last_close = model.quote(index, datetime(2026, 9, 15, 15, 30, tzinfo=IST)).ltp

    async def prev_close_at(at: datetime) -> codec.PrevClose:
        hub = FeedHub(universe, model, SimMetrics(ServiceMetrics("sim")), now=lambda: at)
        outbox = Outbox(10)
        hub.handle_request(hub.register("1000000001", outbox), SUBSCRIBE_NIFTY)
        frame = await outbox.get()
        assert isinstance(frame, bytes)
        packet = codec.FeedDecoder().decode(frame)[0]
        assert isinstance(packet, codec.PrevClose)
        return packet

    early = await prev_close_at(datetime(2026, 9, 16, 8, 0, tzinfo=IST))
    during = await prev_close_at(datetime(2026, 9, 16, 10, 0, tzinfo=IST))
    assert early.prev_close_paise == during.prev_close_paise == int(last_close * 100)
