import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.clock import IST, FakeClock, LiveClock, SimClock
from sarathi.common.clock_source import SIM_CLOCK_KEY, ClockUnavailableError, rate_limit_pacing, running_clock
from sarathi.common.messages.sim import SimClockState
from sarathi.common.ratelimit import WALL_PACING, SlidingWindows
from sarathi.common.settings import Mode

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)


def a_state(market: datetime, *, paused: bool = True) -> SimClockState:
    return SimClockState(
        message_id=f"clock-{market:%H%M}", correlation_id="sim-clock", event_time=market,
        market_start=market, wall_start=datetime.now(UTC), speed=Decimal(100), paused=paused,
    )  # fmt: skip


async def test_live_and_paper_modes_run_on_the_wall_clock() -> None:
    bus = InMemoryBus()
    async with running_clock(Mode.PAPER, bus) as clock:
        assert isinstance(clock, LiveClock)


async def test_sim_mode_follows_the_published_state_and_its_changes() -> None:
    bus = InMemoryBus()
    await bus.ensure_streams()
    await bus.kv_put(SIM_CLOCK_KEY, a_state(OPEN).encode())
    async with running_clock(Mode.SIM, bus, wait_seconds=5) as clock:
        assert isinstance(clock, SimClock)
        assert clock.now() == OPEN
        later = OPEN + timedelta(hours=2)
        await bus.kv_put(SIM_CLOCK_KEY, a_state(later).encode())
        for _ in range(100):
            if clock.now() == later:
                break
            await asyncio.sleep(0.01)
        assert clock.now() == later


async def test_sim_mode_without_a_published_clock_fails_clearly() -> None:
    bus = InMemoryBus()
    await bus.ensure_streams()
    with pytest.raises(ClockUnavailableError, match="is sim running"):
        async with running_clock(Mode.SIM, bus, wait_seconds=0.2):
            pass


async def test_rate_limits_count_market_seconds_in_sim_mode() -> None:
    """At 200x, Dhan's one-option-chain-per-3-s rule waits 3 market seconds (15 ms), not 3 s."""
    clock = FakeClock(OPEN)
    pacing = rate_limit_pacing(Mode.SIM, clock)
    chain = SlidingWindows(((3, 1),), monotonic=pacing.monotonic, sleep=pacing.sleep)
    assert chain.try_acquire()
    assert chain.wait_seconds() == 3
    waiting = asyncio.create_task(chain.acquire())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    clock.advance(2.9)
    await asyncio.sleep(0.01)
    assert not waiting.done()
    clock.advance(0.1)
    await asyncio.wait_for(waiting, 1)


def test_rate_limits_count_wall_seconds_outside_sim_mode() -> None:
    clock = FakeClock(OPEN)
    for mode in (Mode.PAPER, Mode.LIVE):
        assert rate_limit_pacing(mode, clock) is WALL_PACING
