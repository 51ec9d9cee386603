"""The signals worker on the in-memory bus with a fake clock: bars close on market time,
signals carry deterministic ids, and a second worker cannot add a duplicate signal."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.clock import IST, FakeClock
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.base import decode
from sarathi.common.messages.market import Bar, Tick
from sarathi.common.messages.signals import Signal
from sarathi.signals.metrics import SignalsMetrics
from sarathi.signals.settings import SignalsSettings
from sarathi.signals.worker import SignalsWorker

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)
NIFTY_ID = Underlying.NIFTY.spec.security_id


def a_nifty_tick(level: Decimal, at: datetime) -> Tick:
    return Tick(
        message_id=f"t-{at:%H%M%S}", correlation_id="feed", event_time=at, segment=ExchangeSegment.IDX_I,
        security_id=NIFTY_ID, ltp=level, exchange_time=at, received_at=at,
    )  # fmt: skip


def a_worker(bus: InMemoryBus, clock: FakeClock) -> SignalsWorker:
    settings = SignalsSettings(underlyings=(Underlying.NIFTY,))
    return SignalsWorker(
        settings,
        bus=bus,
        clock=clock,
        calendar=MarketCalendar(),
        rest=None,
        store=None,
        metrics=SignalsMetrics(),
    )


async def run_up_trend(bus: InMemoryBus, clock: FakeClock, minutes: int) -> None:
    """One tick every 20 s, rising 2 points a tick with a small pullback every third tick."""
    level = Decimal(24000)
    for step in range(minutes * 3):
        at = OPEN + timedelta(seconds=20 * step + 5)
        level += Decimal(-1) if step % 3 == 2 else Decimal(3)
        clock.set(at)
        await bus.publish(subjects.tick(ExchangeSegment.IDX_I, NIFTY_ID), a_nifty_tick(level, at))
        await bus.settle()


def published(bus: InMemoryBus, stream: str) -> list[object]:
    return [decode(m.data) for m in bus.broker.messages(stream)]


async def test_a_steady_up_trend_yields_bullish_signals_at_bar_closes() -> None:
    bus, clock = InMemoryBus(), FakeClock(OPEN - timedelta(minutes=1))
    await bus.ensure_streams()
    worker = a_worker(bus, clock)
    await worker.start()
    await run_up_trend(bus, clock, minutes=180)
    clock.set(OPEN + timedelta(minutes=180, seconds=2))
    await bus.settle()
    await worker.stop()

    bars = [m for m in published(bus, streams.MD_BARS.name) if isinstance(m, Bar)]
    assert len(bars) == 36
    assert (bars[0].start, bars[0].end) == (OPEN, OPEN + timedelta(minutes=5))
    signals = [m for m in published(bus, streams.SIGNALS.name) if isinstance(m, Signal)]
    assert signals, "a clear up-trend must produce a signal once indicators are warm"
    assert {s.direction for s in signals} == {Direction.BULLISH}
    first = signals[0]
    assert first.bar_close_time >= OPEN + timedelta(minutes=5 * 28)  # not before the indicators are warm
    assert first.message_id == f"NIFTY-st_rsi_adx-{first.bar_close_time:%Y%m%dT%H%M}"
    assert len({s.message_id for s in signals}) == len(signals)


async def test_bars_close_on_market_time_even_without_ticks() -> None:
    bus, clock = InMemoryBus(), FakeClock(OPEN)
    await bus.ensure_streams()
    worker = a_worker(bus, clock)
    await worker.start()
    at = OPEN + timedelta(seconds=30)
    clock.set(at)
    await bus.publish(subjects.tick(ExchangeSegment.IDX_I, NIFTY_ID), a_nifty_tick(Decimal("24000.5"), at))
    await bus.settle()
    clock.set(OPEN + timedelta(minutes=5, seconds=2))  # no further tick arrives
    await bus.settle()
    await worker.stop()
    (bar,) = [m for m in published(bus, streams.MD_BARS.name) if isinstance(m, Bar)]
    assert (bar.open, bar.close, bar.end) == (
        Decimal("24000.5"),
        Decimal("24000.5"),
        OPEN + timedelta(minutes=5),
    )


async def test_a_restarted_worker_cannot_publish_a_second_signal_for_the_same_bar() -> None:
    bus, clock = InMemoryBus(), FakeClock(OPEN - timedelta(minutes=1))
    await bus.ensure_streams()
    first = a_worker(bus, clock)
    await first.start()
    await run_up_trend(bus, clock, minutes=180)
    clock.set(OPEN + timedelta(minutes=180, seconds=2))
    await bus.settle()
    await first.stop()
    before = len(published(bus, streams.SIGNALS.name))

    # A second worker replays the same day's ticks and bar closes (as after a restart that
    # rebuilt state): every signal it derives has an id already in the stream.
    second_clock = FakeClock(OPEN - timedelta(minutes=1))
    second = a_worker(bus, second_clock)
    await second.start()
    await run_up_trend(bus, second_clock, minutes=180)
    second_clock.set(OPEN + timedelta(minutes=180, seconds=2))
    await bus.settle()
    await second.stop()
    assert before > 0
    assert len(published(bus, streams.SIGNALS.name)) == before


async def test_the_first_tick_of_the_next_bar_closes_the_bar_before_the_clock_grace() -> None:
    """However late a tick arrives on our clock, it closes by exchange time: same ticks, same bars."""
    bus, clock = InMemoryBus(), FakeClock(OPEN)
    await bus.ensure_streams()
    worker = a_worker(bus, clock)
    await worker.start()
    for seconds, level in ((30, "24000.5"), (295, "24010"), (300, "24020")):
        at = OPEN + timedelta(seconds=seconds)
        clock.set(at)
        await bus.publish(subjects.tick(ExchangeSegment.IDX_I, NIFTY_ID), a_nifty_tick(Decimal(level), at))
        await bus.settle()
    (bar,) = [m for m in published(bus, streams.MD_BARS.name) if isinstance(m, Bar)]
    await worker.stop()
    assert (bar.end, bar.close, bar.tick_count) == (OPEN + timedelta(minutes=5), Decimal(24010), 2)
    assert clock.now() == OPEN + timedelta(minutes=5)  # the clock never reached end + grace


async def test_a_tick_stamped_far_ahead_of_our_clock_closes_nothing() -> None:
    bus, clock = InMemoryBus(), FakeClock(OPEN + timedelta(seconds=30))
    await bus.ensure_streams()
    worker = a_worker(bus, clock)
    await worker.start()
    for seconds in (30, 400):  # the second tick claims 09:21:40 while our clock says 09:15:30
        at = OPEN + timedelta(seconds=seconds)
        await bus.publish(subjects.tick(ExchangeSegment.IDX_I, NIFTY_ID), a_nifty_tick(Decimal(24000), at))
        await bus.settle()
    bars = [m for m in published(bus, streams.MD_BARS.name) if isinstance(m, Bar)]
    await worker.stop()
    assert bars == []
